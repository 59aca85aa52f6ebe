//! Policy history over HTTP: a policy's versions, one version, the difference between two, and
//! restoring one as the next version. Each exists for a tenant's policy (`/api/v1/policies/{id}/…`,
//! or under `/api/v1/tenants/{slug}` for platform staff) and for the platform's.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use charter_core::{Access, PolicyDiff, Target};
use charter_store::{PolicyId, PolicyVersion};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::caller::{Caller, TenantPath};
use super::error::ApiError;
use super::policies::{if_match, PolicyView};
use super::{ApiState, QueryParams};

/// One saved version of a policy.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionView {
    pub version: i64,
    pub name: String,
    pub description: String,
    pub scope: String,
    pub agent: Option<String>,
    pub saved_at: i64,
    pub saved_by: String,
    /// The document as it was saved (the language of docs/policy-language.md), as JSON.
    #[schema(value_type = Object)]
    pub document: Value,
}

impl From<PolicyVersion> for VersionView {
    fn from(v: PolicyVersion) -> VersionView {
        VersionView {
            document: serde_json::from_str(&v.document).unwrap_or(Value::Null),
            version: v.version,
            name: v.name,
            description: v.description,
            scope: v.scope.to_string(),
            agent: v.agent,
            saved_at: v.saved_at,
            saved_by: v.saved_by,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DiffLineView {
    /// `+`, `-` or a space.
    pub sign: String,
    pub text: String,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DiffView {
    pub from: i64,
    pub to: i64,
    /// The changes rule by rule, in words.
    pub changes: Vec<String>,
    /// The two documents as YAML, line by line.
    pub lines: Vec<DiffLineView>,
}

impl From<PolicyDiff> for DiffView {
    fn from(diff: PolicyDiff) -> DiffView {
        DiffView {
            from: diff.from,
            to: diff.to,
            changes: diff.changes,
            lines: diff.lines.into_iter().map(|line| DiffLineView { sign: line.sign.to_string(), text: line.text }).collect(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The earlier version.
    pub from: i64,
    /// The later version.
    pub to: i64,
}

/// Whose policy a history route names: the platform's, or a tenant's (its own, or `{slug}`).
fn owner_of<'a>(path: &'a TenantPath, platform: bool) -> Target<'a> {
    if platform {
        Target::Platform
    } else {
        path.target()
    }
}

async fn versions_of(state: &ApiState, access: &Access, target: Target<'_>, id: &PolicyId) -> Result<Json<Vec<VersionView>>, ApiError> {
    Ok(Json(state.core.policy_history(access, target, id).await?.into_iter().map(VersionView::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/policies/{id}/versions", tag = "policies", operation_id = "list_policy_versions", params(("id" = String, Path)),
    responses((status = 200, body = Vec<VersionView>, description = "Newest first"), (status = 404)))]
pub async fn list(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<Vec<VersionView>>, ApiError> {
    versions_of(&state, &access, owner_of(&path, false), &path.id()).await
}

#[utoipa::path(get, path = "/api/v1/platform/policies/{id}/versions", tag = "platform", operation_id = "list_platform_policy_versions", params(("id" = String, Path)),
    responses((status = 200, body = Vec<VersionView>), (status = 403), (status = 404)))]
pub async fn list_platform(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<Vec<VersionView>>, ApiError> {
    versions_of(&state, &access, owner_of(&path, true), &path.id()).await
}

#[utoipa::path(get, path = "/api/v1/policies/{id}/versions/{version}", tag = "policies", operation_id = "get_policy_version",
    params(("id" = String, Path), ("version" = i64, Path)), responses((status = 200, body = VersionView), (status = 400), (status = 404)))]
pub async fn get(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<VersionView>, ApiError> {
    Ok(Json(state.core.policy_version(&access, owner_of(&path, false), &path.id(), path.version()?).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/platform/policies/{id}/versions/{version}", tag = "platform", operation_id = "get_platform_policy_version",
    params(("id" = String, Path), ("version" = i64, Path)), responses((status = 200, body = VersionView), (status = 400), (status = 403), (status = 404)))]
pub async fn get_platform(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<VersionView>, ApiError> {
    Ok(Json(state.core.policy_version(&access, owner_of(&path, true), &path.id(), path.version()?).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/policies/{id}/diff", tag = "policies", operation_id = "diff_policy_versions", params(("id" = String, Path), DiffQuery),
    responses((status = 200, body = DiffView), (status = 400), (status = 404)))]
pub async fn diff(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<DiffQuery>,
) -> Result<Json<DiffView>, ApiError> {
    Ok(Json(state.core.diff_policy_versions(&access, owner_of(&path, false), &path.id(), query.from, query.to).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/platform/policies/{id}/diff", tag = "platform", operation_id = "diff_platform_policy_versions", params(("id" = String, Path), DiffQuery),
    responses((status = 200, body = DiffView), (status = 400), (status = 403), (status = 404)))]
pub async fn diff_platform(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<DiffQuery>,
) -> Result<Json<DiffView>, ApiError> {
    Ok(Json(state.core.diff_policy_versions(&access, owner_of(&path, true), &path.id(), query.from, query.to).await?.into()))
}

/// The version the caller read, which a restore replaces: `If-Match` is required.
fn expected(headers: &HeaderMap) -> Result<i64, ApiError> {
    if_match(headers)?
        .ok_or_else(|| ApiError::PreconditionRequired("send the policy's current version as `If-Match: <version>`, so no update is lost".to_owned()))
}

#[utoipa::path(post, path = "/api/v1/policies/{id}/versions/{version}/restore", tag = "policies", operation_id = "restore_policy_version",
    params(("id" = String, Path), ("version" = i64, Path), ("If-Match" = String, Header, description = "the policy's current version")),
    responses((status = 200, body = PolicyView, description = "The policy, saved again with the old document as its next version"), (status = 404), (status = 409), (status = 422), (status = 428)))]
pub async fn restore(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath, headers: HeaderMap) -> Result<Json<PolicyView>, ApiError> {
    let saved = state.core.restore_policy_version(&access, owner_of(&path, false), &path.id(), path.version()?, expected(&headers)?).await?;
    Ok(Json(PolicyView::saved(saved)))
}

#[utoipa::path(post, path = "/api/v1/platform/policies/{id}/versions/{version}/restore", tag = "platform", operation_id = "restore_platform_policy_version",
    params(("id" = String, Path), ("version" = i64, Path), ("If-Match" = String, Header, description = "the policy's current version")),
    responses((status = 200, body = PolicyView), (status = 403), (status = 404), (status = 409), (status = 422), (status = 428)))]
pub async fn restore_platform(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    headers: HeaderMap,
) -> Result<Json<PolicyView>, ApiError> {
    let saved = state.core.restore_policy_version(&access, owner_of(&path, true), &path.id(), path.version()?, expected(&headers)?).await?;
    Ok(Json(PolicyView::saved(saved)))
}
