//! Settings: the platform's (default behaviour, enabled tools) for platform staff, each tenant's
//! quota for platform admins, and a tenant's own settings (its time zone). Changes are audited. A
//! tenant's apply to its next decision; the platform's default behaviour is part of its draft and
//! reaches tenants in a release (see `releases.rs`).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::Json;
use charter_policy::DefaultBehaviour;
use charter_store::{AgentKeys, Tenant};
use serde::{Deserialize, Serialize};

use super::body::JsonBody;
use super::caller::{Caller, TenantPath};
use super::error::ApiError;
use super::ApiState;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsView {
    /// `allow` or `deny`: what applies when no rule in any scope decides.
    #[schema(value_type = String)]
    pub default: DefaultBehaviour,
    /// The tools enabled on the platform; absent or null means every tool is enabled.
    #[serde(default)]
    pub enabled_tools: Option<BTreeSet<String>>,
    /// The settings' version (read only; ignored on writes).
    #[serde(default)]
    pub version: i64,
}

#[utoipa::path(get, path = "/api/v1/platform/settings", tag = "platform", operation_id = "get_platform_settings", responses((status = 200, body = SettingsView), (status = 404)))]
pub async fn get_settings(State(state): State<ApiState>, Caller(access): Caller) -> Result<Json<SettingsView>, ApiError> {
    let (settings, version) = state.core.platform_settings(&access).await?;
    Ok(Json(SettingsView { default: settings.default, enabled_tools: settings.enabled_tools, version }))
}

#[utoipa::path(put, path = "/api/v1/platform/settings", tag = "platform", operation_id = "put_platform_settings", request_body = SettingsView,
    responses((status = 200, body = SettingsView), (status = 400), (status = 403), (status = 404), (status = 422)))]
pub async fn put_settings(
    State(state): State<ApiState>,
    Caller(access): Caller,
    JsonBody(body): JsonBody<SettingsView>,
) -> Result<Json<SettingsView>, ApiError> {
    let version = state.core.set_platform_settings(&access, body.default, body.enabled_tools.clone()).await?;
    Ok(Json(SettingsView { default: body.default, enabled_tools: body.enabled_tools, version }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaView {
    /// How many policies (tenant and agent scope) the tenant may keep.
    pub policy_quota: i64,
}

#[utoipa::path(put, path = "/api/v1/tenants/{slug}/quota", tag = "platform", operation_id = "put_tenant_quota", params(("slug" = String, Path)), request_body = QuotaView,
    responses((status = 200, body = QuotaView), (status = 403), (status = 404), (status = 422)))]
pub async fn put_quota(
    State(state): State<ApiState>,
    Caller(access): Caller,
    axum::extract::Path(slug): axum::extract::Path<String>,
    JsonBody(body): JsonBody<QuotaView>,
) -> Result<Json<QuotaView>, ApiError> {
    let tenant = state.core.set_quota(&access, &slug, body.policy_quota).await?;
    Ok(Json(QuotaView { policy_quota: tenant.policy_quota }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionView {
    /// How many days the tenant's receipts are kept (1-3650; 90 by default). Older receipts are
    /// deleted within the hour.
    pub receipt_retention_days: i64,
}

#[utoipa::path(put, path = "/api/v1/tenants/{slug}/retention", tag = "platform", operation_id = "put_tenant_retention", params(("slug" = String, Path)), request_body = RetentionView,
    responses((status = 200, body = RetentionView), (status = 403), (status = 404), (status = 422)))]
pub async fn put_retention(
    State(state): State<ApiState>,
    Caller(access): Caller,
    axum::extract::Path(slug): axum::extract::Path<String>,
    JsonBody(body): JsonBody<RetentionView>,
) -> Result<Json<RetentionView>, ApiError> {
    let tenant = state.core.set_receipt_retention(&access, &slug, body.receipt_retention_days).await?;
    Ok(Json(RetentionView { receipt_retention_days: tenant.receipt_retention_days }))
}

/// A tenant's own settings.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettingsView {
    /// The time zone `context.hour`, `context.weekday` and `context.date` are read in, such as
    /// `UTC` (the default) or `Europe/Zurich`.
    pub time_zone: String,
    /// `required` when every API key of the tenant must be bound to agents (unbound keys are
    /// refused, and get no decisions); `optional` (the default) otherwise.
    #[schema(value_type = String, example = "optional")]
    pub agent_keys: AgentKeys,
    /// How many days the tenant's receipts are kept; the platform sets it.
    pub receipt_retention_days: i64,
}

/// A change of a tenant's settings: the fields left out stay as they are.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettingsChange {
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "required")]
    pub agent_keys: Option<AgentKeys>,
    /// Accepted so that what was read can be sent back; only platform admins may change it (here
    /// at `/api/v1/tenants/{slug}/settings`, or at `.../retention`).
    #[serde(default)]
    pub receipt_retention_days: Option<i64>,
}

impl From<Tenant> for TenantSettingsView {
    fn from(tenant: Tenant) -> TenantSettingsView {
        TenantSettingsView { time_zone: tenant.time_zone, agent_keys: tenant.agent_keys, receipt_retention_days: tenant.receipt_retention_days }
    }
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings", operation_id = "get_tenant_settings", responses((status = 200, body = TenantSettingsView), (status = 404)))]
pub async fn get_tenant_settings(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<TenantSettingsView>, ApiError> {
    Ok(Json(state.core.get_tenant(&access, path.target()).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/settings", tag = "settings", operation_id = "put_tenant_settings", request_body = TenantSettingsChange,
    responses((status = 200, body = TenantSettingsView), (status = 403), (status = 404), (status = 422, description = "Not a time zone")))]
pub async fn put_tenant_settings(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    JsonBody(body): JsonBody<TenantSettingsChange>,
) -> Result<Json<TenantSettingsView>, ApiError> {
    let mut tenant = None;
    // First, so a change the caller may not make refuses the whole request before anything is written.
    if let Some(days) = body.receipt_retention_days {
        let current = state.core.get_tenant(&access, path.target()).await?;
        if days != current.receipt_retention_days {
            tenant = Some(state.core.set_receipt_retention(&access, &current.slug, days).await?);
        }
    }
    if let Some(zone) = &body.time_zone {
        tenant = Some(state.core.set_time_zone(&access, path.target(), zone).await?);
    }
    if let Some(agent_keys) = body.agent_keys {
        tenant = Some(state.core.set_agent_keys(&access, path.target(), agent_keys).await?);
    }
    let tenant = match tenant {
        Some(tenant) => tenant,
        None => state.core.get_tenant(&access, path.target()).await?,
    };
    Ok(Json(tenant.into()))
}
