//! The axum router: the console's pages and server functions behind the session layer.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use charter_app::auth::server::{resolve_session, SessionAccess};
use charter_app::flash::PendingFlash;
use charter_app::{shell, App, SignedIn};
use charter_core::LoginThrottle;
use charter_core::{Core, Counters, PublicUrl, RedisCounters};

use crate::metrics::MetricsAccess;
use charter_store::Store;

use crate::api::ApiState;
use crate::client_address::{record_client_address, TrustedProxyHeader};
use crate::csrf::{same_origin_only, OwnOrigin};
use crate::Config;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "charter_session";
/// A session ends after this long without a request.
const SESSION_IDLE_HOURS: i64 = 8;

/// What the server's handlers and server functions share.
#[derive(Clone, Debug)]
pub struct Services {
    pub core: Core,
    pub throttle: LoginThrottle,
    pub api: ApiState,
    pub own_origin: OwnOrigin,
    pub proxy: TrustedProxyHeader,
    pub metrics: MetricsAccess,
    pub public_url: PublicUrl,
}

/// Why the services could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Redis(#[from] charter_core::RedisError),
    #[error("cannot read the secret the replicas share: {0}")]
    SharedSecret(#[from] charter_store::StoreError),
}

impl Services {
    /// Must run inside a tokio runtime: the core starts the receipt writer. Fails for a Redis
    /// address that cannot be read, or a database that cannot give the replicas' shared secret.
    pub async fn new(store: Store, config: &Config) -> Result<Services, StartError> {
        let counters = match &config.redis_url {
            Some(url) => {
                // Every replica names sign-in records in Redis with the same keyed hash.
                let secret = store.server_secret("sign_in_keys").await?;
                Counters::Shared(std::sync::Arc::new(RedisCounters::new(url, &config.redis_prefix, secret.as_bytes())?))
            }
            None => Counters::default(),
        };
        let throttle = counters.login_throttle();
        store.set_policy_cache_budget(config.policy_cache_bytes);
        let core = Core::with_counters(store, counters).with_upstream_timeout(config.upstream_timeout);
        Ok(Services {
            api: ApiState { core: core.clone() },
            core,
            throttle,
            own_origin: OwnOrigin(config.public_url.clone()),
            proxy: TrustedProxyHeader(config.client_ip_header.clone()),
            metrics: MetricsAccess::new(config.metrics_token.as_deref()),
            public_url: PublicUrl(config.public_url.clone()),
        })
    }

    /// Puts the services into the context of a server function or a page render.
    fn provide(&self) {
        provide_context(self.core.clone());
        provide_context(self.throttle.clone());
        provide_context(self.public_url.clone());
    }
}

/// Builds the whole application router. Tests drive it with `oneshot`; `main` serves it.
pub fn app(leptos_options: LeptosOptions, services: Services, secure_cookies: bool) -> Router {
    let routes = generate_route_list(App);
    let context = {
        let services = services.clone();
        move || services.provide()
    };
    let sessions = SessionManagerLayer::new(services.core.sessions())
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(SESSION_IDLE_HOURS)));

    // The console's pages and server functions, each request with its signed-in user resolved once.
    let console = Router::new()
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), {
            let leptos_options = leptos_options.clone();
            move || shell(leptos_options.clone())
        })
        .route_layer(middleware::from_fn_with_state(services.core.clone(), sign_in_from_session))
        .layer(middleware::from_fn(crate::body_limit::limit_bodies));

    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get({
                let core = services.core.clone();
                move || readiness(core.clone())
            }),
        )
        .route(
            "/metrics",
            get({
                let access = services.metrics.clone();
                move |request| crate::metrics::metrics(access.clone(), request)
            }),
        )
        .nest("/api/v1", crate::api::router(services.api.clone()))
        .merge(crate::mcp::router(services.core.clone(), services.public_url.clone()))
        .merge(crate::oauth::router(crate::oauth::OAuthState { core: services.core.clone(), public_url: services.public_url.clone() }))
        .merge(console)
        .fallback(leptos_axum::file_and_error_handler_with_context(context, shell))
        .layer(middleware::from_fn_with_state(services.own_origin.clone(), same_origin_only))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(services.proxy.clone(), record_client_address));
    // Outermost, so refusals and errors from the layers above carry the headers too.
    crate::headers::with_security_headers(router, secure_cookies).with_state(leptos_options)
}

/// For a load balancer: 200 when this replica can serve (its database answers and it hears the
/// other replicas' changes), else 503 saying which part is missing.
async fn readiness(core: Core) -> Response {
    let readiness = core.readiness().await;
    let status = if readiness.ready() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "ready": readiness.ready(),
        "database": if readiness.database { "ok" } else { "unreachable" },
        "changes": match (readiness.changes, readiness.current) {
            (false, _) => "not listening",
            (true, false) => "not confirmed current",
            (true, true) => "listening",
        },
        "counters": match readiness.counters { None => "in this process", Some(true) => "ok", Some(false) => "unreachable" },
    });
    (status, axum::Json(body)).into_response()
}

/// Resolves the session's user and access before the console renders a page or runs a server
/// function, so the page knows who is signed in before its first byte (see
/// `charter_app::SessionContext`) and every server function finds the caller's access ready. A
/// database that cannot answer gets a 503: nothing is rendered for an unknown user.
async fn sign_in_from_session(State(core): State<Core>, session: Session, mut request: Request, next: Next) -> Response {
    match resolve_session(&core, &session).await {
        Ok((user, access)) => {
            request.extensions_mut().insert(SignedIn(user));
            request.extensions_mut().insert(SessionAccess(access));
            // A page shows the messages a plain form post left for it; server functions leave them.
            if request.method() == Method::GET && !request.uri().path().starts_with("/api/") {
                request.extensions_mut().insert(PendingFlash(charter_app::flash::server::take(&session).await));
            }
            next.run(request).await
        }
        Err(err) => {
            tracing::error!(error = %err, "could not resolve the session's user");
            (StatusCode::SERVICE_UNAVAILABLE, "Charter cannot reach its database; try again in a moment.").into_response()
        }
    }
}
