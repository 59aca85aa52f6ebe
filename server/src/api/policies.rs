//! The policy API for tenants' own systems (GitOps) and platform staff: list, get, create, update
//! and delete, as JSON or YAML, validated by the engine and checked against the parent scopes.
//! Each operation exists for a tenant (`/api/v1/policies`, or `/api/v1/tenants/{slug}/policies`
//! for platform staff) and for the platform (`/api/v1/platform/policies`).

use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use charter_core::{Access, Saved, Target};
use charter_policy::{DelegationIssue, Format, Policy};
use charter_store::{PolicyId, StoredPolicy};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::read_body;
use super::caller::{Caller, TenantPath};
use super::error::ApiError;
use super::{ApiState, QueryParams};

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
        Ok(PolicyBody(state.core.read_policy(text.to_owned(), Some(format)).await?))
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
    /// `platform_default` or `customer_defined`, as the platform view labels the policy.
    pub label: String,
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
            label: charter_store::PolicyLabel::of_scope(stored.scope).as_str().to_owned(),
            id: stored.id.into_string(),
            scope: stored.scope.to_string(),
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

    pub(super) fn saved(saved: Saved) -> PolicyView {
        PolicyView::new(saved.policy, saved.warnings)
    }
}

/// The version the caller last read: `If-Match`, else the document's own `version`.
fn expected_version(headers: &HeaderMap, policy: &Policy) -> Result<i64, ApiError> {
    if let Some(version) = if_match(headers)? {
        return Ok(version);
    }
    if policy.version > 0 {
        return i64::try_from(policy.version).map_err(|_| ApiError::bad_request(Some("version"), "`version` is too large"));
    }
    Err(ApiError::PreconditionRequired("send the version you read, as `If-Match: <version>` or `version` in the document, so no update is lost".to_owned()))
}

pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let text = value.to_str().unwrap_or("").trim().trim_matches('"');
    text.parse().map(Some).map_err(|_| ApiError::bad_request(Some("If-Match"), format!("`If-Match` must be the policy version, got `{text}`")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FormatQuery {
    /// `json` (default for one policy) or `yaml`: the document alone, in that language. Exports
    /// default to `yaml`.
    pub format: Option<String>,
}

fn format_of(query: &FormatQuery, default: Format) -> Result<Format, ApiError> {
    match query.format.as_deref() {
        None => Ok(default),
        Some("yaml") => Ok(Format::Yaml),
        Some("json") => Ok(Format::Json),
        Some(other) => Err(ApiError::bad_request(Some("format"), format!("`format` must be json or yaml, got `{other}`"))),
    }
}

async fn list_for(state: &ApiState, access: &Access, target: Target<'_>) -> Result<Json<Vec<PolicyView>>, ApiError> {
    let policies = state.core.list_policies(access, target).await?;
    Ok(Json(policies.into_iter().map(|p| PolicyView::new(p, Vec::new())).collect()))
}

#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", operation_id = "list_policies", responses((status = 200, body = Vec<PolicyView>)))]
pub async fn list(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<Vec<PolicyView>>, ApiError> {
    list_for(&state, &access, path.target()).await
}

#[utoipa::path(get, path = "/api/v1/platform/policies", tag = "platform", operation_id = "list_platform_policies", responses((status = 200, body = Vec<PolicyView>), (status = 404)))]
pub async fn list_platform(State(state): State<ApiState>, Caller(access): Caller) -> Result<Json<Vec<PolicyView>>, ApiError> {
    list_for(&state, &access, Target::Platform).await
}

async fn export_for(state: &ApiState, access: &Access, target: Target<'_>, query: &FormatQuery) -> Result<Response, ApiError> {
    let exported = state.core.export_policies(access, target, format_of(query, Format::Yaml)?).await?;
    let (content_type, extension) = match exported.format {
        Format::Yaml => ("application/yaml", "yaml"),
        Format::Json => ("application/json", "json"),
    };
    let disposition = format!("attachment; filename=\"charter-{}-policies.{extension}\"", exported.label);
    Ok(([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], exported.text).into_response())
}

#[utoipa::path(get, path = "/api/v1/policies/export", tag = "policies", operation_id = "export_policies", params(FormatQuery),
    responses((status = 200, description = "Every policy of the tenant as a `charter.policies/v1` file, to download and import elsewhere")))]
pub async fn export(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<FormatQuery>,
) -> Result<Response, ApiError> {
    export_for(&state, &access, path.target(), &query).await
}

#[utoipa::path(get, path = "/api/v1/platform/policies/export", tag = "platform", operation_id = "export_platform_policies", params(FormatQuery),
    responses((status = 200, description = "Every platform policy as a `charter.policies/v1` file"), (status = 404)))]
pub async fn export_platform(
    State(state): State<ApiState>,
    Caller(access): Caller,
    QueryParams(query): QueryParams<FormatQuery>,
) -> Result<Response, ApiError> {
    export_for(&state, &access, Target::Platform, &query).await
}

async fn get_for(state: &ApiState, access: &Access, target: Target<'_>, id: &PolicyId, query: &FormatQuery) -> Result<Response, ApiError> {
    let format = format_of(query, Format::Json)?;
    let stored = state.core.get_policy(access, target, id).await?;
    match format {
        Format::Json => Ok(Json(PolicyView::new(stored, Vec::new())).into_response()),
        Format::Yaml => {
            let policy = charter_store::to_engine_policy(&stored).map_err(|_| ApiError::Internal)?;
            let yaml = policy.to_yaml().map_err(|_| ApiError::Internal)?;
            Ok(([(header::CONTENT_TYPE, "application/yaml")], yaml).into_response())
        }
    }
}

#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "policies", operation_id = "get_policy", params(("id" = String, Path), FormatQuery),
    responses((status = 200, body = PolicyView), (status = 404)))]
pub async fn get(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<FormatQuery>,
) -> Result<Response, ApiError> {
    get_for(&state, &access, path.target(), &path.id(), &query).await
}

#[utoipa::path(get, path = "/api/v1/platform/policies/{id}", tag = "platform", operation_id = "get_platform_policy", params(("id" = String, Path), FormatQuery),
    responses((status = 200, body = PolicyView), (status = 404)))]
pub async fn get_platform(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<FormatQuery>,
) -> Result<Response, ApiError> {
    get_for(&state, &access, Target::Platform, &path.id(), &query).await
}

#[utoipa::path(post, path = "/api/v1/policies", tag = "policies", operation_id = "create_policy", request_body(content = Object, content_type = "application/json"),
    responses((status = 201, body = PolicyView), (status = 400), (status = 409), (status = 415), (status = 422, description = "Invalid policy, delegation error or quota exceeded")))]
pub async fn create(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    PolicyBody(policy): PolicyBody,
) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    let saved = state.core.create_policy(&access, path.target(), &policy).await?;
    Ok((StatusCode::CREATED, Json(PolicyView::saved(saved))))
}

#[utoipa::path(post, path = "/api/v1/platform/policies", tag = "platform", operation_id = "create_platform_policy", request_body(content = Object, content_type = "application/json"),
    responses((status = 201, body = PolicyView), (status = 403), (status = 422)))]
pub async fn create_platform(
    State(state): State<ApiState>,
    Caller(access): Caller,
    PolicyBody(policy): PolicyBody,
) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    let saved = state.core.create_policy(&access, Target::Platform, &policy).await?;
    Ok((StatusCode::CREATED, Json(PolicyView::saved(saved))))
}

#[utoipa::path(put, path = "/api/v1/policies/{id}", tag = "policies", operation_id = "update_policy", params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "the version you read")),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = PolicyView), (status = 404), (status = 409, description = "Stale version"), (status = 422), (status = 428)))]
pub async fn update(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    headers: HeaderMap,
    PolicyBody(policy): PolicyBody,
) -> Result<Json<PolicyView>, ApiError> {
    let expected = expected_version(&headers, &policy)?;
    Ok(Json(PolicyView::saved(state.core.update_policy(&access, path.target(), &path.id(), expected, &policy).await?)))
}

#[utoipa::path(put, path = "/api/v1/platform/policies/{id}", tag = "platform", operation_id = "update_platform_policy", params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "the version you read")),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 200, body = PolicyView), (status = 409), (status = 422)))]
pub async fn update_platform(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    headers: HeaderMap,
    PolicyBody(policy): PolicyBody,
) -> Result<Json<PolicyView>, ApiError> {
    let expected = expected_version(&headers, &policy)?;
    Ok(Json(PolicyView::saved(state.core.update_policy(&access, Target::Platform, &path.id(), expected, &policy).await?)))
}

#[utoipa::path(delete, path = "/api/v1/policies/{id}", tag = "policies", operation_id = "delete_policy", params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "the version you read")),
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    state.core.delete_policy(&access, path.target(), &path.id(), if_match(&headers)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/api/v1/platform/policies/{id}", tag = "platform", operation_id = "delete_platform_policy", params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "the version you read")),
    responses((status = 204), (status = 404), (status = 409)))]
pub async fn delete_platform(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath, headers: HeaderMap) -> Result<StatusCode, ApiError> {
    state.core.delete_policy(&access, Target::Platform, &path.id(), if_match(&headers)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
