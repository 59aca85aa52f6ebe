//! API keys: tenant admins manage their own tenant's keys, platform admins any tenant's.
//! The secret is in the answer to the create call and nowhere else, ever.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use charter_store::ApiKeyInfo;
use serde::{Deserialize, Serialize};

use super::body::JsonBody;
use super::caller::{Caller, TenantPath};
use super::error::ApiError;
use super::ApiState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// What the key is for, e.g. `support-bot production`.
    pub name: String,
    /// The agents the key acts for. A bound key's calls are its agent's whatever the request's
    /// `agent` says (a call naming another agent is denied); with several agents, each call names
    /// one. Empty (the default): the key acts for the agent each request names, unless the tenant
    /// requires bound keys.
    #[serde(default)]
    pub agents: Vec<String>,
    /// What the key may do: `decide` (decisions, polling the approvals they asked for, the MCP
    /// gateway), `policies:read`, `policies:write`, `records:read` (receipts, approvals, audit).
    /// Left out: every scope. Give an agent `decide` alone, and a script only what it needs.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// The public part, e.g. `chk_ab12cd34ef`: enough to recognise a key, useless to use it.
    pub prefix: String,
    /// The agents the key acts for, in their one spelling (trimmed, lower-cased); empty when the
    /// key is not bound.
    pub agents: Vec<String>,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
    /// When the key last authenticated a call (milliseconds since the epoch), to within 30
    /// seconds; null if it never has.
    pub last_used_at: Option<i64>,
    /// What the key may do.
    pub scopes: Vec<String>,
}

impl From<ApiKeyInfo> for KeyView {
    fn from(k: ApiKeyInfo) -> KeyView {
        KeyView {
            id: k.id.into_string(),
            name: k.name,
            prefix: format!("chk_{}", k.prefix),
            agents: k.agents.0,
            created_at: k.created_at,
            created_by: k.created_by,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
            scopes: k.scopes.iter().map(|scope| scope.as_str().to_owned()).collect(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyView,
    /// The whole key. Shown this once; store it now.
    pub secret: String,
}

#[utoipa::path(get, path = "/api/v1/keys", tag = "keys", operation_id = "list_keys", responses((status = 200, body = Vec<KeyView>), (status = 403)))]
pub async fn list(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<Vec<KeyView>>, ApiError> {
    Ok(Json(state.core.list_keys(&access, path.target()).await?.into_iter().map(KeyView::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/keys", tag = "keys", operation_id = "create_key", request_body = CreateKey, responses((status = 201, body = CreatedKey), (status = 403), (status = 422)))]
pub async fn create(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    JsonBody(body): JsonBody<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let created = state.core.create_key(&access, path.target(), &body.name, &body.agents, body.scopes.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(CreatedKey { key: created.info.into(), secret: created.secret })))
}

#[utoipa::path(delete, path = "/api/v1/keys/{id}", tag = "keys", operation_id = "revoke_key", params(("id" = String, Path)), responses((status = 200, body = KeyView), (status = 404)))]
pub async fn revoke(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(state.core.revoke_key(&access, path.target(), &path.id()).await?.into()))
}
