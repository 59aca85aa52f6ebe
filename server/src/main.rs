//! Starts Charter: reads configuration, opens and migrates the database, seeds the demo on a first
//! start, and serves the console until Ctrl-C.

// The console's view types nest deeply; rendering them on the server needs more than the default.
#![recursion_limit = "512"]

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use charter_server::demo::{login_banner, seed_if_empty};
use charter_server::{app, Config, Services};
use charter_store::{SessionRecords, Store};
use leptos::prelude::get_configuration;
use tower_sessions::session_store::ExpiredDeletion;
use tracing_subscriber::EnvFilter;

/// The decision path allocates many small, short-lived values on several threads; mimalloc
/// handles that markedly better than glibc's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("charter: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let leptos = get_configuration(None).map_err(|err| format!("leptos configuration: {err}"))?;
    let options = leptos.leptos_options;
    let config = Config::from_env().map_err(|err| err.to_string())?;
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|err| format!("cannot open the database: {err}"))?;
    tracing::info!(backend = ?store.backend(), "database ready");

    let url = format!("http://{}", options.site_addr);
    if config.seed_demo {
        if let Some(logins) = seed_if_empty(&store, &config.demo_password).await.map_err(|err| format!("seeding demo data: {err}"))? {
            println!("{}", login_banner(&logins, &config.demo_password, &url));
        }
    }

    // Expired sessions are refused on load anyway; this only keeps the table small.
    let expired = SessionRecords::new(store.clone());
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every_hour.tick().await;
            if let Err(err) = expired.delete_expired().await {
                tracing::warn!(error = %err, "could not delete expired sessions");
            }
        }
    });

    let router = app(options.clone(), Services::new(store, &config), config.secure_cookies);
    let listener = tokio::net::TcpListener::bind(options.site_addr)
        .await
        .map_err(|err| format!("cannot listen on {}: {err}", options.site_addr))?;
    println!("  Charter is listening on {url}");
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|err| format!("server error: {err}"))
}
