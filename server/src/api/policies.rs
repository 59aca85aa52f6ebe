//! The policy API for tenants' own systems (GitOps) and platform staff: list, get, create, update
//! and delete, as JSON or YAML, validated by the engine and checked against the parent scopes.

use axum::extract::{FromRequest, Query, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use charter_policy::{DelegationIssue, Format, Policy};
use charter_store::{Actor, Role, StoredPolicy};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::read_body;
use super::caller::{path_param, tenant_access, Caller};
use super::error::ApiError;
use super::ApiState;

/// A policy document in the body, JSON or YAML by its content type.
pub struct PolicyBody(pub Policy);

impl FromRequest<ApiState> for PolicyBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &ApiState) -> Result<Self, ApiError> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let format = if content_type.starts_with("application/json") {
            Format::Json
        } else if ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"].iter().any(|t| content_type.starts_with(t)) {
            Format::Yaml
        } else {
            return Err(ApiError::UnsupportedMediaType("send the policy as `application/json` or `application/yaml`".to_owned()));
        };
        let bytes = read_body(req, state).await?;
        let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::bad_request(None, "the body is not UTF-8 text"))?;
        Ok(PolicyBody(Policy::parse(text, format)?))
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub scope: String,
    pub agent: Option<String>,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
    /// The policy document (the language of docs/policy-language.md) as JSON.
    #[schema(value_type = Object)]
    pub document: Value,
    /// Delegation warnings from the save (empty on reads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<DelegationIssue>,
}

impl PolicyView {
    fn new(stored: StoredPolicy, warnings: Vec<DelegationIssue>) -> PolicyView {
        PolicyView {
            document: serde_json::from_str(&stored.document).unwrap_or(Value::Null),
            id: stored.id,
            scope: stored.scope,
            agent: stored.agent,
            name: stored.name,
            description: stored.description,
            version: stored.version,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            updated_by: stored.updated_by,
            warnings,
        }
    }
}

/// Whose policies a call works on: a tenant's, or the platform's (`tenant_id` `None`).
struct Owner {
    tenant_id: Option<String>,
    actor: Actor,
    writable: bool,
}

async fn owner(state: &ApiState, caller: Caller, params: &RawPathParams, platform: bool) -> Result<Owner, ApiError> {
    if !platform {
        let access = tenant_access(state, caller, path_param(params, "slug")).await?;
        return Ok(Owner { tenant_id: Some(access.tenant_id), actor: access.actor, writable: access.writable });
    }
    // Platform policies are for platform staff only; to everyone else they do not exist.
    match &caller {
        Caller::User(user) if user.role.is_platform_wide() => {
            Ok(Owner { tenant_id: None, actor: caller.actor(), writable: user.role == Role::PlatformAdmin })
        }
        _ => Err(ApiError::NotFound("no platform policies here".to_owned())),
    }
}

fn require_write(owner: &Owner) -> Result<(), ApiError> {
    if owner.writable {
        Ok(())
    } else {
        Err(ApiError::Forbidden("this account is read-only".to_owned()))
    }
}

/// The version the caller last read: `If-Match`, else the document's own `version`.
fn expected_version(headers: &HeaderMap, policy: &Policy) -> Result<i64, ApiError> {
    if let Some(value) = headers.get(header::IF_MATCH) {
        let text = value.to_str().unwrap_or("").trim().trim_matches('"');
        return text.parse().map_err(|_| ApiError::bad_request(Some("If-Match"), format!("`If-Match` must be the policy version, got `{text}`")));
    }
    if policy.version > 0 {
        return i64::try_from(policy.version).map_err(|_| ApiError::invalid("version", "is too large"));
    }
    Err(ApiError::PreconditionRequired("send the version you read, as `If-Match: <version>` or `version` in the document, so no update is lost".to_owned()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    /// `json` (default) or `yaml`: the document alone, in that language.
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", responses((status = 200, body = Vec<PolicyView>)))]
pub async fn list(State(state): State<ApiState>, caller: Caller, params: RawPathParams) -> Result<Json<Vec<PolicyView>>, ApiError> {
    list_for(state, caller, params, false).await
}

#[utoipa::path(get, path = "/api/v1/platform/policies", tag = "platform", responses((status = 200, body = Vec<PolicyView>), (status = 404)))]
pub async fn list_platform(State(state): State<ApiState>, caller: Caller, params: RawPathParams) -> Result<Json<Vec<PolicyView>>, ApiError> {
    list_for(state, caller, params, true).await
}

async fn list_for(state: ApiState, caller: Caller, params: RawPathParams, platform: bool) -> Result<Json<Vec<PolicyView>>, ApiError> {
    let owner = owner(&state, caller, &params, platform).await?;
    let policies = state.store.list_policies(owner.tenant_id.as_deref()).await?;
    Ok(Json(policies.into_iter().map(|p| PolicyView::new(p, Vec::new())).collect()))
}

#[utoipa::path(get, path = "/api/v1/policies/export", tag = "policies", params(FormatQuery),
    responses((status = 200, description = "Every policy of the tenant as a `charter.policies/v1` file, to download and import elsewhere")))]
pub async fn export(State(state): State<ApiState>, caller: Caller, params: RawPathParams, query: Result<Query<FormatQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, ApiError> {
    export_for(state, caller, params, query, false).await
}

#[utoipa::path(get, path = "/api/v1/platform/policies/export", tag = "platform", params(FormatQuery),
    responses((status = 200, description = "Every platform policy as a `charter.policies/v1` file"), (status = 404)))]
pub async fn export_platform(State(state): State<ApiState>, caller: Caller, params: RawPathParams, query: Result<Query<FormatQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, ApiError> {
    export_for(state, caller, params, query, true).await
}

/// The owner's policies as one file, YAML or JSON, served as a download.
async fn export_for(state: ApiState, caller: Caller, params: RawPathParams, query: Result<Query<FormatQuery>, axum::extract::rejection::QueryRejection>, platform: bool) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad_request(None, err.body_text()))?;
    let format = match query.format.as_deref() {
        None | Some("yaml") => Format::Yaml,
        Some("json") => Format::Json,
        Some(other) => return Err(ApiError::bad_request(Some("format"), format!("`format` must be json or yaml, got `{other}`"))),
    };
    let owner = owner(&state, caller, &params, platform).await?;
    let label = match &owner.tenant_id {
        Some(tenant_id) => state.tenant_slug(tenant_id).await?,
        None => "platform".to_owned(),
    };
    let policies = state
        .store
        .list_policies(owner.tenant_id.as_deref())
        .await?
        .iter()
        .map(charter_store::to_engine_policy)
        .collect::<Result<Vec<_>, _>>()?;
    let text = charter_policy::PolicyBundle::new(label.clone(), policies).to_text(format).map_err(|_| ApiError::Internal)?;
    let (content_type, extension) = match format {
        Format::Yaml => ("application/yaml", "yaml"),
        Format::Json => ("application/json", "json"),
    };
    let disposition = format!("attachment; filename=\"charter-{label}-policies.{extension}\"");
    Ok(([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], text).into_response())
}

#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path), FormatQuery),
    responses((status = 200, body = PolicyView), (status = 404)))]
pub async fn get(State(state): State<ApiState>, caller: Caller, params: RawPathParams, query: Result<Query<FormatQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, ApiError> {
    get_for(state, caller, params, query, false).await
}

#[utoipa::path(get, path = "/api/v1/platform/policies/{id}", tag = "platform", params(("id" = String, Path), FormatQuery),
    responses((status = 200, body = PolicyView), (status = 404)))]
pub async fn get_platform(State(state): State<ApiState>, caller: Caller, params: RawPathParams, query: Result<Query<FormatQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, ApiError> {
    get_for(state, caller, params, query, true).await
}

async fn get_for(state: ApiState, caller: Caller, params: RawPathParams, query: Result<Query<FormatQuery>, axum::extract::rejection::QueryRejection>, platform: bool) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|err| ApiError::bad_request(None, err.body_text()))?;
    let owner = owner(&state, caller, &params, platform).await?;
    let id = path_param(&params, "id").unwrap_or_default();
    let stored = state.store.get_policy(owner.tenant_id.as_deref(), &id).await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(PolicyView::new(stored, Vec::new())).into_response()),
        Some("yaml") => {
            let policy = charter_store::to_engine_policy(&stored)?;
            let yaml = policy.to_yaml().map_err(|_| ApiError::Internal)?;
            Ok(([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response())
        }
        Some(other) => Err(ApiError::bad_request(Some("format"), format!("`format` must be json or yaml, got `{other}`"))),
    }
}

#[utoipa::path(post, path = "/api/v1/policies", tag = "policies", request_body(content = Object, content_type = "application/json"),
    responses((status = 201, body = PolicyView), (status = 400), (status = 409), (status = 415), (status = 422, description = "Invalid policy, delegation error or quota exceeded")))]
pub async fn create(State(state): State<ApiState>, caller: Caller, params: RawPathParams, PolicyBody(policy): PolicyBody) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    create_for(state, caller, params, policy, false).await
}

#[utoipa::path(post, path = "/api/v1/platform/policies", tag = "platform", request_body(content = Object, content_type = "application/json"),
    responses((status = 201, body = PolicyView), (status = 403), (status = 422)))]
pub async fn create_platform(State(state): State<ApiState>, caller: Caller, params: RawPathParams, PolicyBody(policy): PolicyBody) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    create_for(state, caller, params, policy, true).await
}

async fn create_for(state: ApiState, caller: Caller, params: RawPathParams, policy: Policy, platform: bool) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    let owner = owner(&state, caller, &params, platform).await?;
    require_write(&owner)?;
    let (stored, report) = state.store.create_policy(&owner.actor, owner.tenant_id.as_deref(), &policy).await?;
    Ok((StatusCode::CREATED, Json(PolicyView::new(stored, report.warnings))))
}

#[utoipa::path(put, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "the version you read")),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = PolicyView), (status = 404), (status = 409, description = "Stale version"), (status = 422), (status = 428)))]
pub async fn update(State(state): State<ApiState>, caller: Caller, params: RawPathParams, headers: HeaderMap, PolicyBody(policy): PolicyBody) -> Result<Json<PolicyView>, ApiError> {
    update_for(state, caller, params, headers, policy, false).await
}

#[utoipa::path(put, path = "/api/v1/platform/policies/{id}", tag = "platform", params(("id" = String, Path)),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = PolicyView), (status = 409), (status = 422)))]
pub async fn update_platform(State(state): State<ApiState>, caller: Caller, params: RawPathParams, headers: HeaderMap, PolicyBody(policy): PolicyBody) -> Result<Json<PolicyView>, ApiError> {
    update_for(state, caller, params, headers, policy, true).await
}

async fn update_for(state: ApiState, caller: Caller, params: RawPathParams, headers: HeaderMap, policy: Policy, platform: bool) -> Result<Json<PolicyView>, ApiError> {
    let owner = owner(&state, caller, &params, platform).await?;
    require_write(&owner)?;
    let id = path_param(&params, "id").unwrap_or_default();
    let expected = expected_version(&headers, &policy)?;
    let (stored, report) = state.store.update_policy(&owner.actor, owner.tenant_id.as_deref(), &id, expected, &policy).await?;
    Ok(Json(PolicyView::new(stored, report.warnings)))
}

#[utoipa::path(delete, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete(State(state): State<ApiState>, caller: Caller, params: RawPathParams, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    delete_for(state, caller, params, headers, false).await
}

#[utoipa::path(delete, path = "/api/v1/platform/policies/{id}", tag = "platform", params(("id" = String, Path)),
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete_platform(State(state): State<ApiState>, caller: Caller, params: RawPathParams, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    delete_for(state, caller, params, headers, true).await
}

async fn delete_for(state: ApiState, caller: Caller, params: RawPathParams, headers: HeaderMap, platform: bool) -> Result<StatusCode, ApiError> {
    let owner = owner(&state, caller, &params, platform).await?;
    require_write(&owner)?;
    let id = path_param(&params, "id").unwrap_or_default();
    let expected = match headers.get(header::IF_MATCH) {
        Some(value) => {
            let text = value.to_str().unwrap_or("").trim().trim_matches('"');
            Some(text.parse().map_err(|_| ApiError::bad_request(Some("If-Match"), format!("`If-Match` must be the policy version, got `{text}`")))?)
        }
        None => None,
    };
    state.store.delete_policy(&owner.actor, owner.tenant_id.as_deref(), &id, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}
