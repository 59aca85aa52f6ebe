//! The OAuth 2.1 endpoints MCP clients expect (MCP authorisation specification): protected
//! resource metadata (RFC 9728) and authorisation server metadata (RFC 8414) under
//! `/.well-known/`, dynamic client registration (RFC 7591), the authorisation endpoint (which
//! hands the user to the console's consent page), the token endpoint and revocation (RFC 7009).
//! Thin adapters: every check is the core's (`charter_core::oauth`).
//!
//! None of these reads the session cookie, so browser-based clients may call them from their own
//! origin (CORS allows any origin, without credentials).

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, PRAGMA};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use charter_core::{ClientAddress, ClientMetadata, Core, CoreError, OAuthError, PublicUrl, TokenRequest};
use charter_store::OAuthScope;
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};

/// What the OAuth endpoints share.
#[derive(Clone, Debug)]
pub struct OAuthState {
    pub core: Core,
    pub public_url: PublicUrl,
}

/// The host a request was sent to, for URLs when no public URL is configured.
pub(crate) fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::HOST).and_then(|value| value.to_str().ok())
}

/// The metadata, registration, authorisation, token and revocation endpoints.
pub fn router<S: Clone + Send + Sync + 'static>(state: OAuthState) -> Router<S> {
    Router::new()
        .route("/.well-known/oauth-protected-resource/mcp", get(protected_resource))
        .route("/.well-known/oauth-authorization-server", get(authorization_server))
        .route("/oauth/register", post(register))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .layer(cors())
        .route("/oauth/authorize", get(authorize))
        .with_state(state)
}

const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");

/// Any origin may read the metadata and call registration, token and revocation: they carry no
/// cookie, and a browser-based client lives on its own origin.
pub(crate) fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([CONTENT_TYPE, axum::http::header::AUTHORIZATION, MCP_PROTOCOL_VERSION, MCP_SESSION_ID])
        .expose_headers([axum::http::header::WWW_AUTHENTICATE, MCP_SESSION_ID])
}

fn scopes_supported() -> Vec<&'static str> {
    OAuthScope::ALL.into_iter().map(OAuthScope::as_str).collect()
}

/// RFC 9728: where the MCP server's tokens come from.
async fn protected_resource(State(state): State<OAuthState>, headers: HeaderMap) -> Response {
    let base = state.public_url.base(host(&headers));
    Json(json!({
        "resource": state.public_url.mcp_resource(host(&headers)),
        "authorization_servers": [base],
        "scopes_supported": scopes_supported(),
        "bearer_methods_supported": ["header"],
        "resource_name": "Charter",
        "resource_documentation": format!("{base}/assistant"),
    }))
    .into_response()
}

/// RFC 8414: the endpoints and what they support.
async fn authorization_server(State(state): State<OAuthState>, headers: HeaderMap) -> Response {
    let base = state.public_url.base(host(&headers));
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "registration_endpoint": format!("{base}/oauth/register"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "scopes_supported": scopes_supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
    }))
    .into_response()
}

/// RFC 7591: a client registers itself and gets its public id.
async fn register(State(state): State<OAuthState>, address: Option<Extension<ClientAddress>>, body: Result<Json<ClientMetadata>, JsonRejection>) -> Response {
    let metadata = match body {
        Ok(Json(metadata)) => metadata,
        Err(rejection) => {
            return oauth_error(&OAuthError::InvalidClientMetadata(format!("the body is not client metadata as JSON: {}", rejection.body_text())))
        }
    };
    let address = address.map(|Extension(address)| address).unwrap_or_default();
    match state.core.register_client(metadata, &address).await {
        Ok(client) => (
            StatusCode::CREATED,
            no_store(),
            Json(json!({
                "client_id": client.id,
                "client_id_issued_at": client.created_at / 1000,
                "client_name": client.name,
                "redirect_uris": client.redirect_uris,
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            })),
        )
            .into_response(),
        Err(err) => oauth_error(&err),
    }
}

/// The authorisation endpoint hands every request to the console's consent page, which asks the
/// person to sign in if need be, checks the request and shows what is wrong with it. Nothing is
/// redirected to the client before the person has answered (RFC 9700, 4.11.2): anyone may
/// register a client with any redirect URI.
async fn authorize(RawQuery(query): RawQuery) -> Response {
    found(&format!("/oauth/consent?{}", query.unwrap_or_default()))
}

/// The token endpoint: a code with its PKCE verifier, or a refresh token, for a new pair.
async fn token(State(state): State<OAuthState>, headers: HeaderMap, form: Result<Form<TokenRequest>, FormRejection>) -> Response {
    let request = match form {
        Ok(Form(request)) => request,
        Err(rejection) => {
            return oauth_error(&OAuthError::InvalidRequest(format!("the body must be form-encoded token request fields: {}", rejection.body_text())))
        }
    };
    let resource = state.public_url.mcp_resource(host(&headers));
    match state.core.token(&request, &resource).await {
        Ok(tokens) => (
            StatusCode::OK,
            no_store(),
            Json(json!({
                "access_token": tokens.access_token,
                "token_type": "Bearer",
                "expires_in": tokens.expires_in_ms / 1000,
                "refresh_token": tokens.refresh_token,
                "scope": tokens.scopes.to_string(),
            })),
        )
            .into_response(),
        Err(err) => oauth_error(&err),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
struct RevocationRequest {
    token: Option<String>,
    client_id: Option<String>,
}

/// RFC 7009: the client disconnects itself. The answer is the same whether or not the token was
/// known, so it tells a stranger nothing.
async fn revoke(State(state): State<OAuthState>, form: Result<Form<RevocationRequest>, FormRejection>) -> Response {
    let Ok(Form(request)) = form else { return oauth_error(&OAuthError::InvalidRequest("the body must be form-encoded: `token` and `client_id`".into())) };
    let Some(token) = request.token.filter(|token| !token.trim().is_empty()) else {
        return oauth_error(&OAuthError::InvalidRequest("`token` is missing".into()));
    };
    match state.core.revoke_token(&token, request.client_id.as_deref()).await {
        Ok(()) => (StatusCode::OK, no_store()).into_response(),
        Err(err) => oauth_error(&OAuthError::Core(err)),
    }
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::FOUND, [(LOCATION, value)]).into_response(),
        Err(_) => oauth_error(&OAuthError::InvalidRequest("the redirect URI cannot be sent back".into())),
    }
}

fn no_store() -> [(HeaderName, HeaderValue); 2] {
    [(CACHE_CONTROL, HeaderValue::from_static("no-store")), (PRAGMA, HeaderValue::from_static("no-cache"))]
}

/// An OAuth error answer: `{ "error", "error_description" }` with the status RFC 6749 gives it.
fn oauth_error(err: &OAuthError) -> Response {
    let status = match err {
        OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
        OAuthError::TooManyRegistrations => StatusCode::TOO_MANY_REQUESTS,
        OAuthError::RegistrationPaused => StatusCode::SERVICE_UNAVAILABLE,
        OAuthError::Core(CoreError::DatabaseUnavailable | CoreError::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
        OAuthError::Core(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    // Internal failures were logged by the core, and their message says nothing more.
    (status, no_store(), Json(json!({ "error": err.code(), "error_description": err.to_string() }))).into_response()
}
