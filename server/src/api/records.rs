//! Receipts, approvals and the audit log: read per tenant; approvals resolved by their approvers.

use axum::extract::State;
use axum::Json;
use charter_core::{AuditOf, ReceiptsOf};
use charter_policy::Verdict;
use charter_store::{Approval, AuditEntry, Receipt, ReceiptFilter, Resolution};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::body::JsonBody;
use super::caller::{Caller, TenantPath};
use super::error::ApiError;
use super::{ApiState, QueryParams};

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 500;

fn page_size(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(Some("limit"), format!("`limit` must be 1-{MAX_PAGE}, got `{n}`"))),
    }
}

fn verdict_of(name: &str) -> Result<Verdict, ApiError> {
    name.parse().map_err(|_| ApiError::bad_request(Some("verdict"), format!("`verdict` must be allow, deny or require_approval, got `{name}`")))
}

fn json_field(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    pub agent: Option<String>,
    pub tool: Option<String>,
    /// `allow`, `deny` or `require_approval`.
    pub verdict: Option<String>,
    /// Inclusive, milliseconds since the Unix epoch.
    pub from: Option<i64>,
    /// Exclusive, milliseconds since the Unix epoch.
    pub to: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiptView {
    pub id: String,
    pub agent: Option<String>,
    pub tool: String,
    #[schema(value_type = Object)]
    pub principal: Value,
    #[schema(value_type = Object)]
    pub args: Value,
    pub args_digest: String,
    pub verdict: String,
    pub reason: String,
    #[schema(value_type = Object)]
    pub decision: Value,
    #[schema(value_type = Object)]
    pub policy_versions: Value,
    pub approval_id: Option<String>,
    pub latency_us: i64,
    pub created_at: i64,
    /// The platform release the decision ran (absent on receipts from before releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_release: Option<i64>,
    /// The revision of the tenant's own policies the decision ran (absent on receipts from before
    /// revisions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<i64>,
    /// What a candidate running in shadow decided, beside the enforced verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<ShadowView>,
    /// For a call the MCP gateway forwarded: SHA-256 of the canonical JSON of the upstream's
    /// answer (before masking).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_digest: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShadowView {
    /// The candidate, in words.
    pub candidate: Option<String>,
    pub verdict: String,
    /// The rule that settled it, in words.
    pub rule: Option<String>,
}

impl From<Receipt> for ReceiptView {
    fn from(r: Receipt) -> ReceiptView {
        ReceiptView {
            principal: json_field(&r.principal),
            args: json_field(&r.args),
            decision: json_field(&r.decision),
            policy_versions: json_field(&r.policy_versions),
            id: r.id.into_string(),
            agent: r.agent,
            tool: r.tool,
            args_digest: r.args_digest,
            verdict: r.verdict.to_string(),
            reason: r.reason,
            approval_id: r.approval_id.map(|id| id.into_string()),
            latency_us: r.latency_us,
            created_at: r.created_at,
            platform_release: r.platform_release,
            policy_version: r.tenant_revision,
            shadow: r.shadow_verdict.0.map(|verdict| ShadowView { candidate: r.shadow_of, verdict: verdict.to_string(), rule: r.shadow_rule }),
            result_digest: r.result_digest,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiptPage {
    pub receipts: Vec<ReceiptView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/receipts", tag = "receipts", operation_id = "list_receipts", params(ReceiptQuery),
    responses((status = 200, body = ReceiptPage), (status = 400), (status = 401)))]
pub async fn list_receipts(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<ReceiptQuery>,
) -> Result<Json<ReceiptPage>, ApiError> {
    let limit = page_size(query.limit)?;
    let verdict = query.verdict.as_deref().map(verdict_of).transpose()?;
    let filter = ReceiptFilter { agent: query.agent, tool: query.tool, verdict, from_ms: query.from, to_ms: query.to, before: query.cursor.map(Into::into) };
    let receipts = state.core.list_receipts(&access, ReceiptsOf::Tenant(path.target()), &filter, limit).await?;
    let next_cursor = (receipts.len() as i64 == limit).then(|| receipts.last().map(|r| r.id.to_string())).flatten();
    Ok(Json(ReceiptPage { receipts: receipts.into_iter().map(ReceiptView::from).collect(), next_cursor }))
}

#[utoipa::path(get, path = "/api/v1/receipts/{id}", tag = "receipts", operation_id = "get_receipt", params(("id" = String, Path)),
    responses((status = 200, body = ReceiptView), (status = 404)))]
pub async fn get_receipt(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<ReceiptView>, ApiError> {
    Ok(Json(state.core.get_receipt(&access, path.target(), &path.id()).await?.into()))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalView {
    pub id: String,
    /// `pending`, `approved`, `rejected` or `expired`.
    pub status: String,
    pub receipt_id: String,
    pub agent: Option<String>,
    pub tool: String,
    #[schema(value_type = Object)]
    pub args: Value,
    pub args_digest: String,
    pub approvers: Vec<String>,
    #[schema(value_type = Vec<Object>)]
    pub matched: Value,
    #[schema(value_type = Object)]
    pub policy_versions: Value,
    pub reason: String,
    pub requested_at: i64,
    pub expires_at: i64,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub comment: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub votes: Value,
    /// When the MCP gateway let the approved call through (an approval serves one call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed_at: Option<i64>,
}

impl From<Approval> for ApprovalView {
    fn from(a: Approval) -> ApprovalView {
        ApprovalView {
            args: json_field(&a.args),
            approvers: serde_json::from_str(&a.approvers).unwrap_or_default(),
            matched: json_field(&a.matched),
            policy_versions: json_field(&a.policy_versions),
            votes: json_field(&a.votes),
            id: a.id.into_string(),
            status: a.status.to_string(),
            receipt_id: a.receipt_id.into_string(),
            agent: a.agent,
            tool: a.tool,
            args_digest: a.args_digest,
            reason: a.reason,
            requested_at: a.requested_at,
            expires_at: a.expires_at,
            resolved_at: a.resolved_at,
            resolved_by: a.resolved_by,
            comment: a.comment,
            consumed_at: a.consumed_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "approvals", operation_id = "get_approval", params(("id" = String, Path)),
    responses((status = 200, body = ApprovalView), (status = 404)))]
pub async fn get_approval(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<ApprovalView>, ApiError> {
    Ok(Json(state.core.get_approval(&access, path.target(), &path.id()).await?.into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApprovalQuery {
    /// Only approvals still waiting (the default), or all with `false`.
    pub pending: Option<bool>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/approvals", tag = "approvals", operation_id = "list_approvals", params(ApprovalQuery),
    responses((status = 200, body = Vec<ApprovalView>)))]
pub async fn list_approvals(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<ApprovalQuery>,
) -> Result<Json<Vec<ApprovalView>>, ApiError> {
    let approvals = state.core.list_approvals(&access, path.target(), query.pending.unwrap_or(true), page_size(query.limit)?).await?;
    Ok(Json(approvals.into_iter().map(ApprovalView::from).collect()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// `approve` or `reject`.
    #[schema(value_type = String)]
    pub resolution: Resolution,
    pub comment: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/approvals/{id}/resolve", tag = "approvals", operation_id = "resolve_approval", params(("id" = String, Path)), request_body = ResolveRequest,
    responses((status = 200, body = ApprovalView), (status = 403), (status = 404), (status = 422)))]
pub async fn resolve_approval(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    JsonBody(body): JsonBody<ResolveRequest>,
) -> Result<Json<ApprovalView>, ApiError> {
    Ok(Json(state.core.resolve_approval(&access, path.target(), &path.id(), body.resolution, body.comment).await?.into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// The id of the last entry of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditView {
    pub id: String,
    pub actor: String,
    pub actor_kind: String,
    pub action: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub before: Value,
    #[schema(value_type = Object)]
    pub after: Value,
    pub created_at: i64,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> AuditView {
        AuditView {
            before: e.before.as_deref().map(json_field).unwrap_or(Value::Null),
            after: e.after.as_deref().map(json_field).unwrap_or(Value::Null),
            id: e.id.into_string(),
            actor: e.actor,
            actor_kind: e.actor_kind.as_str().to_owned(),
            action: e.action,
            target: e.target,
            created_at: e.created_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", operation_id = "list_audit", params(AuditQuery), responses((status = 200, body = Vec<AuditView>)))]
pub async fn list_audit(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<Vec<AuditView>>, ApiError> {
    let entries = state.core.search_audit(&access, AuditOf::Tenant(path.target()), None, query.cursor.as_deref(), page_size(query.limit)?).await?;
    Ok(Json(entries.into_iter().map(AuditView::from).collect()))
}
