//! `POST /api/v1/decide`: the call agents make before every tool call.

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use charter_core::{CallFacts, ClientAddress, DecideInput};
use charter_policy::{Basis, EffectiveLimit, MatchedRule, NearMiss, Obligation, Principal};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::body::JsonBody;
use super::caller::Caller;
use super::error::ApiError;
use super::ApiState;

/// The request body. Unknown fields are refused so a misspelling cannot skip a condition.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideRequest {
    /// The tool the agent wants to call, e.g. `expense.submit`.
    pub tool: String,
    /// The tool call's arguments.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub args: Value,
    /// The agent making the call.
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub principal: Principal,
    /// The caller's own facts about the call. The server sets `tenant_id`, `tenant`, `request_id`,
    /// `time`, `hour`, `weekday`, `date` and `ip` itself; a request that sends one is refused (422).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: Map<String, Value>,
    /// Optional; when present it must be the key's tenant (id or slug), or the call is denied.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The agent runtime's session id (at most 200 characters): `session.called` and
    /// `session.count` conditions read what earlier calls of this session did.
    #[serde(default)]
    pub session: Option<String>,
    /// A revision of the tenant's own policies to decide with instead of the one the tenant runs
    /// (every answer names the revision it ran in `policy_version`). Honoured only if the key's
    /// tenant has that revision, else 422. The platform's boundaries are always those of the
    /// release the tenant runs.
    #[serde(default)]
    pub policy_version: Option<i64>,
}

/// The answer as sent; [`DecideResponse`] documents the same shape for the OpenAPI document.
#[derive(Serialize)]
struct DecideAnswer<'a> {
    decision: String,
    reason: &'a str,
    basis: Basis,
    matched: &'a [MatchedRule],
    near_misses: &'a [NearMiss],
    limits: &'a [EffectiveLimit],
    obligations: &'a [Obligation],
    approvers: &'a [String],
    receipt_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval_id: Option<&'a str>,
    policy_version: i64,
    platform_release: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecideResponse {
    /// `allow`, `deny` or `require_approval`.
    pub decision: String,
    pub reason: String,
    /// Which step of the decision procedure decided: `tool_disabled`, `explicit_deny`,
    /// `requirement`, `cap`, `rate_limit`, `rules` or `default`.
    pub basis: String,
    #[schema(value_type = Vec<Object>)]
    pub matched: Value,
    #[schema(value_type = Vec<Object>)]
    pub near_misses: Value,
    #[schema(value_type = Vec<Object>)]
    pub limits: Value,
    #[schema(value_type = Vec<Object>)]
    pub obligations: Value,
    pub approvers: Vec<String>,
    pub receipt_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// The revision of the tenant's own policies the decision ran.
    pub policy_version: i64,
    /// The platform release the decision ran.
    pub platform_release: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/api/v1/decide",
    tag = "decisions",
    operation_id = "decide",
    request_body = DecideRequest,
    responses(
        (status = 200, description = "The decision, with its receipt id", body = DecideResponse),
        (status = 400, description = "Malformed body or unknown field"),
        (status = 401, description = "Missing or invalid API key"),
        (status = 413, description = "Body too large"),
        (status = 422, description = "A field the server owns (such as `context.time`) was sent, `tool` is empty, or `policy_version` is not a revision of the key's tenant"),
        (status = 503, description = "The receipt could not be recorded; nothing was decided"),
    ),
    security(("api_key" = []))
)]
pub async fn decide(
    State(state): State<ApiState>,
    Caller(access): Caller,
    Extension(ClientAddress(ip)): Extension<ClientAddress>,
    JsonBody(body): JsonBody<DecideRequest>,
) -> Result<Response, ApiError> {
    let facts = CallFacts::from_ip(ip);
    let input = DecideInput {
        tool: body.tool,
        args: body.args,
        agent: body.agent,
        principal: body.principal,
        context: body.context,
        tenant_id: body.tenant_id,
        session: body.session,
        policy_version: body.policy_version,
    };
    let recorded = state.core.decide(&access, input, facts).await?;
    let decision = &recorded.decision;
    // Serialised straight from the engine's decision: no intermediate JSON trees on the hot path.
    let answer = DecideAnswer {
        decision: decision.verdict.to_string(),
        reason: &decision.reason,
        basis: decision.basis,
        matched: &decision.matched,
        near_misses: &decision.near_misses,
        limits: &decision.limits,
        obligations: &decision.obligations,
        approvers: &decision.approvers,
        receipt_id: recorded.receipt_id.as_str(),
        approval_id: recorded.approval_id.as_ref().map(|id| id.as_str()),
        policy_version: recorded.ran.revision,
        platform_release: recorded.ran.release,
    };
    let body = serde_json::to_vec(&answer).map_err(|_| ApiError::Internal)?;
    let request_id = HeaderValue::from_str(&recorded.request_id).map_err(|_| ApiError::Internal)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json")), (HeaderName::from_static("x-request-id"), request_id)], body).into_response())
}
