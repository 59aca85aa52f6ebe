//! `POST /api/v1/decide`: the call agents make before every tool call.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use charter_policy::{Basis, Decision, DecisionRequest, EffectiveLimit, MatchedRule, NearMiss, Obligation, Principal, Verdict};
use charter_store::{now_ms, Approval, Receipt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::body::JsonBody;
use super::caller::Caller;
use super::error::ApiError;
use super::ApiState;

/// How long a pending approval waits for its approvers.
pub const APPROVAL_TTL_MS: i64 = 24 * 60 * 60 * 1000;

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
    /// Facts about the call; `tenant_id` is always overwritten with the key's tenant.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: Map<String, Value>,
    /// Optional; when present it must be the key's tenant (id or slug), or the call is denied.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// The answer as sent; [`DecideResponse`] documents the same shape for the OpenAPI document.
#[derive(Serialize)]
struct DecideAnswer<'a> {
    decision: &'static str,
    reason: &'a str,
    matched: &'a [MatchedRule],
    near_misses: &'a [NearMiss],
    limits: &'a [EffectiveLimit],
    obligations: &'a [Obligation],
    approvers: &'a [String],
    receipt_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval_id: Option<&'a str>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DecideResponse {
    /// `allow`, `deny` or `require_approval`.
    pub decision: String,
    pub reason: String,
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
}

/// Canonical JSON: object keys sorted at every depth, no whitespace. Digests of equal arguments
/// are equal whatever order the agent sent the keys in.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> = map.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

pub fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A request that reaches across tenants is denied before any policy is consulted.
fn cross_tenant_denial(reason: String) -> Decision {
    Decision {
        verdict: Verdict::Deny,
        reason: format!("cross-tenant request denied: {reason}"),
        basis: Basis::ExplicitDeny,
        matched: Vec::new(),
        near_misses: Vec::new(),
        limits: Vec::new(),
        obligations: Vec::new(),
        approvers: Vec::new(),
    }
}

fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Allow => "allow",
        Verdict::Deny => "deny",
        Verdict::RequireApproval => "require_approval",
    }
}

/// A tenant id named in the body or in the arguments that is not the key's tenant.
fn foreign_tenant(body: &DecideRequest, tenant_id: &str, tenant_slug: &str) -> Option<String> {
    let is_own = |named: &str| named == tenant_id || named == tenant_slug;
    if let Some(named) = body.tenant_id.as_deref().filter(|named| !is_own(named)) {
        return Some(format!("the request names tenant `{named}`, but the API key belongs to another tenant"));
    }
    match body.args.get("tenant_id") {
        Some(Value::String(named)) if !is_own(named) => {
            Some(format!("`args.tenant_id` is `{named}`, but the API key belongs to another tenant"))
        }
        Some(Value::String(_)) | None => None,
        Some(other) => Some(format!("`args.tenant_id` is `{other}`, not this tenant")),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/decide",
    tag = "decisions",
    request_body = DecideRequest,
    responses(
        (status = 200, description = "The decision, with its receipt id", body = DecideResponse),
        (status = 400, description = "Malformed body or unknown field"),
        (status = 401, description = "Missing or invalid API key"),
        (status = 413, description = "Body too large"),
    ),
    security(("api_key" = []))
)]
pub async fn decide(State(state): State<ApiState>, caller: Caller, headers: HeaderMap, JsonBody(body): JsonBody<DecideRequest>) -> Result<Response, ApiError> {
    let started = Instant::now();
    let Caller::Key(key) = caller else {
        return Err(ApiError::Forbidden("decisions are asked with a tenant API key".to_owned()));
    };
    if body.tool.trim().is_empty() {
        return Err(ApiError::bad_request(Some("tool"), "`tool` must name the tool to call"));
    }
    let now = now_ms();
    let tenant_slug = state.tenant_slug(&key.tenant_id).await?;
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());

    let mut context = body.context.clone();
    context.insert("tenant_id".into(), Value::String(key.tenant_id.clone()));
    context.insert("tenant".into(), Value::String(tenant_slug.clone()));
    context.insert("request_id".into(), Value::String(request_id));
    context.entry("time").or_insert_with(|| Value::from(now));
    let request = DecisionRequest { tool: body.tool.clone(), args: body.args.clone(), agent: body.agent.clone(), principal: body.principal.clone(), context };

    let compiled = state.store.policy_set(&key.tenant_id).await?;
    let decision = match foreign_tenant(&body, &key.tenant_id, &tenant_slug) {
        Some(reason) => cross_tenant_denial(reason),
        None => compiled.set.decide(&request, state.rate.as_ref(), u64::try_from(now).unwrap_or(0)),
    };

    let receipt_id = uuid::Uuid::now_v7().to_string();
    let args_json = canonical_json(&request.args);
    let args_digest = digest(&args_json);
    let policy_versions = serde_json::to_string(&compiled.versions).map_err(|_| ApiError::Internal)?;
    let principal = serde_json::to_string(&request.principal).map_err(|_| ApiError::Internal)?;
    let approval = (decision.verdict == Verdict::RequireApproval).then(|| Approval {
        id: uuid::Uuid::now_v7().to_string(),
        tenant_id: key.tenant_id.clone(),
        receipt_id: receipt_id.clone(),
        agent: request.agent.clone(),
        principal: principal.clone(),
        tool: request.tool.clone(),
        args: args_json.clone(),
        args_digest: args_digest.clone(),
        approvers: serde_json::to_string(&decision.approvers).unwrap_or_else(|_| "[]".to_owned()),
        matched: serde_json::to_string(&decision.matched).unwrap_or_else(|_| "[]".to_owned()),
        policy_versions: policy_versions.clone(),
        reason: decision.reason.clone(),
        status: "pending".to_owned(),
        requested_at: now,
        expires_at: now + APPROVAL_TTL_MS,
        resolved_at: None,
        resolved_by: None,
        comment: None,
        votes: "[]".to_owned(),
    });
    let approval_id = approval.as_ref().map(|a| a.id.clone());
    let receipt = Receipt {
        id: receipt_id.clone(),
        tenant_id: key.tenant_id.clone(),
        api_key_id: Some(key.key_id.clone()),
        agent: request.agent.clone(),
        principal,
        tool: request.tool.clone(),
        args: args_json,
        args_digest,
        verdict: verdict_name(decision.verdict).to_owned(),
        reason: decision.reason.clone(),
        decision: serde_json::to_string(&decision).map_err(|_| ApiError::Internal)?,
        policy_versions,
        approval_id: approval_id.clone(),
        latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
        created_at: now,
    };
    // The answer waits for durability: an acknowledged decision always has its receipt.
    state.receipts.write(receipt, approval).await.map_err(|err| {
        tracing::error!(error = %err, "could not record a receipt");
        ApiError::Unavailable
    })?;
    // Serialised straight from the engine's decision: no intermediate JSON trees on the hot path.
    let answer = DecideAnswer {
        decision: verdict_name(decision.verdict),
        reason: &decision.reason,
        matched: &decision.matched,
        near_misses: &decision.near_misses,
        limits: &decision.limits,
        obligations: &decision.obligations,
        approvers: &decision.approvers,
        receipt_id: &receipt_id,
        approval_id: approval_id.as_deref(),
    };
    let body = serde_json::to_vec(&answer).map_err(|_| ApiError::Internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"y": [ {"d": 1, "c": 2} ], "x": null}});
        let b = json!({"a": {"x": null, "y": [ {"c": 2, "d": 1} ]}, "b": 1});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[{"c":2,"d":1}]},"b":1}"#);
        assert_ne!(digest(&canonical_json(&a)), digest(&canonical_json(&json!({"b": 2}))));
    }
}
