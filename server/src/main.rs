//! Starts Charter: reads configuration, opens and migrates the database, seeds the demo when asked,
//! and serves the console until Ctrl-C. `charter admin create-owner` gives a fresh database its
//! first platform admin.

// The console's view types nest deeply; rendering them on the server needs more than the default.
#![recursion_limit = "512"]

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use charter_core::Core;
use charter_server::config::LogFormat;
use charter_server::demo::traffic::Traffic;
use charter_server::demo::week::record_week;
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

const USAGE: &str = "usage:
  charter                       serve the console and the API
  charter admin create-owner    create a platform admin (CHARTER_OWNER_EMAIL, CHARTER_OWNER_NAME and
                                CHARTER_OWNER_PASSWORD, or asked for on the terminal)
  charter balance LISTEN REPLICA...
                                a tiny round-robin load balancer for a local cluster (scripts/cluster),
                                e.g. `charter balance 127.0.0.1:3000 127.0.0.1:3101 127.0.0.1:3102`
  charter demo traffic [--url URL] [--rate PER_SECOND] [--count N]
                                a gentle live stream of the demo tenants' agents' calls against a
                                running demo (default: CHARTER_ADDR, 2 decisions a second)";

#[tokio::main]
async fn main() -> ExitCode {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    match LogFormat::from_env() {
        Ok(LogFormat::Json) => tracing_subscriber::fmt().json().with_current_span(false).with_env_filter(filter()).init(),
        Ok(LogFormat::Text) => tracing_subscriber::fmt().with_env_filter(filter()).init(),
        Err(err) => {
            eprintln!("charter: {err}");
            return ExitCode::FAILURE;
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] | ["serve"] => serve().await,
        ["admin", "create-owner"] => create_owner().await,
        ["balance", listen, replicas @ ..] => balance(listen, replicas).await,
        ["demo", "traffic", options @ ..] => demo_traffic(options).await,
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown command `{}`\n{USAGE}", args.join(" "))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("charter: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn open_store(config: &Config) -> Result<Store, String> {
    let store = Store::connect(&config.database_url).await.map_err(|err| format!("cannot open the database: {err}"))?;
    tracing::info!(backend = ?store.backend(), "database ready");
    Ok(store)
}

async fn serve() -> Result<(), String> {
    let leptos = get_configuration(None).map_err(|err| format!("leptos configuration: {err}"))?;
    let options = leptos.leptos_options;
    let config = Config::from_env().map_err(|err| err.to_string())?;
    let store = open_store(&config).await?;

    let url = format!("http://{}", options.site_addr);
    let fresh_demo = match config.seed_demo {
        true => seed_if_empty(&store, &config.demo_password).await.map_err(|err| format!("seeding demo data: {err}"))?,
        false => None,
    };

    let services = Services::new(store.clone(), &config).await.map_err(|err| err.to_string())?;
    if let Some(logins) = fresh_demo {
        println!("{}", login_banner(&logins, &config.demo_password, &url));
        // A fresh demo comes with a recorded week of its agents' calls, decided as they came. The
        // demo is usable without it, so a failure is said and the server starts anyway.
        match record_week(&services.core, &config.demo_password).await {
            Ok(week) => tracing::info!(decisions = week.decisions, approvals_resolved = week.approvals_resolved, "the demo's week is recorded"),
            Err(err) => tracing::warn!(error = %err, "the demo's week could not be recorded; the demo starts without it"),
        }
    }
    if let Some(url) = &config.redis_url {
        tracing::info!(redis = %url.split('@').next_back().unwrap_or(url), "rate limits, budgets and sessions are counted in Redis");
    }
    // Fail closed: nobody could administer a platform without an admin, and no default password
    // is ever created for one.
    if !services.core.has_platform_admin().await.map_err(|err| err.to_string())? {
        return Err("the database has no platform admin yet. Create the first one with\n\n    charter admin create-owner\n\n\
             (it asks for an email and a password, or reads CHARTER_OWNER_EMAIL, CHARTER_OWNER_NAME and \
             CHARTER_OWNER_PASSWORD), then start Charter again. For a demo with sample tenants and logins, \
             start it with CHARTER_SEED_DEMO=true instead."
            .to_owned());
    }

    // Expired sessions are refused on load anyway; this only keeps the table small.
    let expired = SessionRecords::new(store);
    every_hour("could not delete expired sessions", move || {
        let expired = expired.clone();
        async move { expired.delete_expired().await.map(drop).map_err(|err| err.to_string()) }
    });
    // Receipts past their tenant's retention go within the hour.
    let retention = services.core.clone();
    every_hour("could not delete receipts past their retention", move || {
        let retention = retention.clone();
        async move { retention.enforce_retention().await.map(drop).map_err(|err| err.to_string()) }
    });
    // Expired OAuth codes and tokens, and clients nobody connected, go within the hour.
    let oauth = services.core.clone();
    every_hour("could not delete expired OAuth records", move || {
        let oauth = oauth.clone();
        async move { oauth.purge_expired_oauth().await.map(drop).map_err(|err| err.to_string()) }
    });

    // Charter's own MCP tools, in the catalog for the platform to expose and tenants to switch.
    charter_server::mcp::register_tools(&services.core).await.map_err(|err| format!("cannot register Charter's MCP tools in the catalog: {err}"))?;
    let core = services.core.clone();
    let router = app(options.clone(), services, config.secure_cookies);
    let listener = tokio::net::TcpListener::bind(options.site_addr).await.map_err(|err| format!("cannot listen on {}: {err}", options.site_addr))?;
    println!("  Charter is listening on {url}");
    // Graceful: on Ctrl-C or SIGTERM the server stops accepting, ends the MCP notification streams,
    // lets every request in flight finish (a decision answers only once its receipt is durable),
    // then waits for the receipts of decisions whose clients went away before it exits.
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async {
            shutdown_signal().await;
            charter_server::mcp::close_streams();
        })
        .await
        .map_err(|err| format!("server error: {err}"))?;
    if core.drain(SHUTDOWN_DRAIN).await {
        tracing::info!("every receipt is written; stopped");
        Ok(())
    } else {
        Err(format!("stopped with receipts still unwritten after {} s", SHUTDOWN_DRAIN.as_secs()))
    }
}

/// Runs `job` now and then every hour for as long as the process lives, logging its failures.
fn every_hour<F, Fut>(failure: &'static str, job: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(Duration::from_secs(3600));
        loop {
            hourly.tick().await;
            if let Err(error) = job().await {
                tracing::warn!(%error, "{failure}");
            }
        }
    });
}

async fn balance(listen: &str, replicas: &[&str]) -> Result<(), String> {
    let replicas = replicas
        .iter()
        .map(|replica| replica.parse::<SocketAddr>().map_err(|_| format!("`{replica}` is not an address such as 127.0.0.1:3101")))
        .collect::<Result<Vec<_>, _>>()?;
    let listener = tokio::net::TcpListener::bind(listen).await.map_err(|err| format!("cannot listen on {listen}: {err}"))?;
    println!("  balancing {listen} over {} replicas", replicas.len());
    tokio::select! {
        outcome = charter_server::balance::balance(listener, replicas) => outcome.map_err(|err| format!("balancer: {err}")),
        () = shutdown_signal() => Ok(()),
    }
}

/// How long a shutdown waits for the receipt writer once requests have finished.
const SHUTDOWN_DRAIN: Duration = Duration::from_secs(30);

/// Ctrl-C, or SIGTERM (what a container orchestrator sends).
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

/// `CHARTER_<name>`, or the answer to `question` on the terminal.
fn setting(name: &str, question: &str, secret: bool) -> Result<String, String> {
    if let Some(value) = std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
        return Ok(value);
    }
    if !std::io::stdin().is_terminal() {
        return Err(format!("set `{name}`: there is no terminal to ask on"));
    }
    if secret {
        return rpassword::prompt_password(question).map_err(|err| format!("reading the password: {err}"));
    }
    print!("{question}");
    std::io::stdout().flush().map_err(|err| err.to_string())?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|err| err.to_string())?;
    Ok(line.trim().to_owned())
}

async fn create_owner() -> Result<(), String> {
    let config = Config::from_env().map_err(|err| err.to_string())?;
    let email = setting("CHARTER_OWNER_EMAIL", "Email of the platform admin: ", false)?;
    let name = setting("CHARTER_OWNER_NAME", "Their name: ", false).unwrap_or_default();
    let password = setting("CHARTER_OWNER_PASSWORD", "Password (8 characters or more): ", true)?;
    let store = open_store(&config).await?;
    let user = Core::new(store).create_owner(&email, &name, &password).await.map_err(|err| format!("cannot create the platform admin: {err}"))?;
    println!("  Platform admin {} created. Start Charter and sign in with that email.", user.username);
    Ok(())
}

/// `charter demo traffic`: asks a running demo for decisions until interrupted.
async fn demo_traffic(options: &[&str]) -> Result<(), String> {
    let address = std::env::var("CHARTER_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let config = Config::from_env().map_err(|err| err.to_string())?;
    let traffic = Traffic::from_args(options, &format!("http://{address}"), &config.demo_password)?;
    tokio::select! {
        tally = charter_server::demo::traffic::run(&traffic) => tally.map(drop),
        () = shutdown_signal() => Ok(()),
    }
}
