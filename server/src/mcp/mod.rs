//! Charter's own MCP server at `/mcp`: a tenant's AI assistant (or a script) manages the tenant's
//! policies, previews and what-ifs, reads its tool catalog, approvals and receipts, in
//! conversation. It is an edge like the HTTP API: every tool is a thin adapter over one core
//! operation, with the caller's access; nothing here decides who may do what.
//!
//! Transport: MCP's Streamable HTTP through the official SDK (`rmcp`), stateless (no MCP session
//! is kept between requests), so any replica answers any request. Answers are plain JSON, not an
//! event stream, since every tool answers at once. A client's `GET` opens the stream on which
//! `notifications/tools/list_changed` arrives (see `changes`).
//!
//! `/mcp/gateway` is the MCP gateway (see `gateway`): agents, with their tenant API key, call the
//! tools of the upstream MCP servers the platform connected, every call decided by Charter.
//!
//! The caller authenticates with `Authorization: Bearer <token>`: an OAuth access token of an
//! assistant a tenant user connected (see `crate::oauth`; the user's role applies, narrowed to the
//! scopes they granted), or a tenant API key for scripts. A request without one, or with one that
//! is not valid, gets 401 before MCP sees it, with a `WWW-Authenticate` header pointing at the
//! protected resource metadata, from which a client finds how to get a token.

mod changes;
mod gateway;
mod tools;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use changes::Offer;
use charter_core::{is_access_token, Access, Core, CoreError, PublicUrl};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

pub use changes::close_streams;
pub use gateway::Gateway;
pub use tools::CharterTools;

/// The largest request body `/mcp` reads, as for the HTTP API: a policy document and more.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The caller of one MCP request, as its bearer key authenticated it.
#[derive(Clone, Debug)]
pub(crate) struct McpCaller(pub Access);

/// What the authentication layer needs.
#[derive(Clone, Debug)]
struct Gate {
    core: Core,
    public_url: PublicUrl,
    /// Set once Charter's tools are in the catalog (see [`register_tools`]).
    registered: Arc<tokio::sync::OnceCell<()>>,
}

/// What the gateway says to a credential it does not take.
const AGENTS_ONLY: &str = "the MCP gateway serves agents: send `Authorization: Bearer <tenant API key>`";

impl Gate {
    /// The access a credential gives at `offer`'s endpoint: an assistant's OAuth access token (at
    /// `/mcp` only) or a tenant API key.
    async fn access_of(&self, presented: &str, resource: &str, offer: Offer) -> Result<Access, CoreError> {
        match (is_access_token(presented), offer) {
            (true, Offer::CharterTools) => self.core.access_for_token(presented, resource).await,
            (true, Offer::Gateway) => Err(CoreError::Unauthenticated(AGENTS_ONLY)),
            (false, _) => self.core.access_for_key(presented).await,
        }
    }
}

/// The bearer credential a request carries, if any.
fn bearer(request: &Request) -> Option<String> {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, credential)| credential.trim().to_owned())
}

/// Puts the tools this server serves into the catalog as the "Charter policy tools" source, so
/// the platform can expose them and tenants switch them off. `main` runs it at start; the first
/// MCP request of a process makes sure of it too.
pub async fn register_tools(core: &Core) -> Result<(), charter_core::CoreError> {
    core.ensure_charter_tools(&CharterTools::catalog()).await.map(drop)
}

/// `/mcp`, ready to merge into the application router.
pub fn router<S: Clone + Send + Sync + 'static>(core: Core, public_url: PublicUrl) -> Router<S> {
    let tools_core = core.clone();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        // rmcp checks `Host` against loopback names by default, against DNS rebinding of a local
        // server that trusts whoever reaches it. Every call here carries a key, and the console's
        // own origin checks apply, so the public host name must be accepted.
        .disable_allowed_hosts()
        .with_max_request_body_bytes(MAX_BODY_BYTES);
    let service = StreamableHttpService::new(move || Ok(CharterTools::new(tools_core.clone())), Arc::new(NeverSessionManager::default()), config.clone());
    let gateway_core = core.clone();
    let gateway = StreamableHttpService::new(move || Ok(Gateway::new(gateway_core.clone())), Arc::new(NeverSessionManager::default()), config);
    let gate = Gate { core, public_url, registered: Arc::default() };
    // CORS outermost: a browser's preflight carries no credential. Tokens are bearer headers, never
    // cookies, so any origin may call.
    // GET opens the stream of `tools/list_changed` notifications; the rest is the SDK's.
    let tools = Router::new()
        .route("/mcp", get(changes::stream).fallback_service(service).with_state((gate.clone(), Offer::CharterTools)))
        .layer(middleware::from_fn_with_state(gate.clone(), authenticate));
    let gateway = Router::new()
        .route("/mcp/gateway", get(changes::stream).fallback_service(gateway).with_state((gate.clone(), Offer::Gateway)))
        .layer(middleware::from_fn_with_state(gate, authenticate_agent));
    tools.merge(gateway).layer(crate::oauth::cors())
}

/// Resolves the bearer token or key into the caller's access, or answers 401 saying how to
/// authenticate.
async fn authenticate(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let metadata = format!("{}/.well-known/oauth-protected-resource/mcp", gate.public_url.base(crate::oauth::host(request.headers())));
    let resource = gate.public_url.mcp_resource(crate::oauth::host(request.headers()));
    let Some(presented) = bearer(&request) else {
        let challenge = format!(r#"Bearer realm="charter", resource_metadata="{metadata}", scope="{}""#, all_scopes());
        return unauthorised(challenge, "connect with OAuth (see the resource metadata) or send `Authorization: Bearer <tenant API key>`");
    };
    if let Err(err) = gate.registered.get_or_try_init(|| register_tools(&gate.core)).await {
        return crate::api::error::ApiError::from(err).into_response();
    }
    match gate.access_of(&presented, &resource, Offer::CharterTools).await {
        Ok(access) => {
            request.extensions_mut().insert(McpCaller(access));
            next.run(request).await
        }
        Err(charter_core::CoreError::Unauthenticated(message)) => {
            let challenge = format!(r#"Bearer realm="charter", error="invalid_token", resource_metadata="{metadata}""#);
            unauthorised(challenge, message)
        }
        Err(err) => crate::api::error::ApiError::from(err).into_response(),
    }
}

/// Resolves the tenant API key of an agent calling through the gateway, or answers 401. The
/// gateway serves agents only: an assistant's OAuth token is for `/mcp`.
async fn authenticate_agent(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let challenge = r#"Bearer realm="charter-gateway""#.to_owned();
    let Some(presented) = bearer(&request) else {
        return unauthorised(challenge, AGENTS_ONLY);
    };
    let resource = gate.public_url.mcp_resource(crate::oauth::host(request.headers()));
    match gate.access_of(&presented, &resource, Offer::Gateway).await {
        Ok(access) => {
            request.extensions_mut().insert(McpCaller(access));
            next.run(request).await
        }
        Err(charter_core::CoreError::Unauthenticated(message)) => unauthorised(format!(r#"{challenge}, error="invalid_token""#), message),
        Err(err) => crate::api::error::ApiError::from(err).into_response(),
    }
}

/// Every scope, as a client should ask for them when it knows nothing else (MCP, 2025-11-25).
fn all_scopes() -> String {
    charter_store::ScopeSet::new(charter_store::OAuthScope::ALL).to_string()
}

fn unauthorised(challenge: String, message: &str) -> Response {
    let body = axum::Json(serde_json::json!({ "error": { "code": "unauthenticated", "message": message } }));
    (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, challenge)], body).into_response()
}
