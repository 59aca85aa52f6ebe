//! The axum router: the console's pages and server functions behind the session layer.

use axum::routing::get;
use axum::Router;
use charter_app::auth::server::LoginThrottle;
use charter_app::{shell, App};
use charter_store::{SessionRecords, Store};

use crate::api::ApiState;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "charter_session";
/// A session ends after this long without a request.
const SESSION_IDLE_HOURS: i64 = 8;

/// What the server's handlers and server functions share.
#[derive(Clone, Debug)]
pub struct Services {
    pub store: Store,
    pub throttle: LoginThrottle,
    pub api: ApiState,
}

impl Services {
    /// Must run inside a tokio runtime: it starts the receipt writer.
    pub fn new(store: Store) -> Services {
        Services { api: ApiState::new(store.clone()), store, throttle: LoginThrottle::default() }
    }

    /// Puts the services into the context of a server function or a page render.
    fn provide(&self) {
        provide_context(self.store.clone());
        provide_context(self.throttle.clone());
    }
}

/// Builds the whole application router. Tests drive it with `oneshot`; `main` serves it.
pub fn app(leptos_options: LeptosOptions, services: Services, secure_cookies: bool) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let services = services.clone();
        move || services.provide()
    };
    let sessions = SessionManagerLayer::new(SessionRecords::new(services.store.clone()))
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(SESSION_IDLE_HOURS)));

    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest("/api/v1", crate::api::router(services.api.clone()))
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .layer(sessions)
        .with_state(leptos_options)
}
