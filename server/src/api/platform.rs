//! Platform-wide settings for platform staff: the default behaviour and the enabled-tool catalog,
//! and each tenant's policy quota. Changes are audited and apply to the next decision.

use axum::extract::{RawPathParams, State};
use axum::Json;
use charter_policy::{DefaultBehaviour, PlatformSettings};
use charter_store::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use super::body::JsonBody;
use super::caller::{path_param, Caller};
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

/// Platform staff only; everyone else is told there is nothing here.
fn platform_staff(caller: &Caller) -> Result<bool, ApiError> {
    match caller {
        Caller::User(user) if user.role.is_platform_wide() => Ok(user.role == Role::PlatformAdmin),
        _ => Err(ApiError::NotFound("no platform settings here".to_owned())),
    }
}

#[utoipa::path(get, path = "/api/v1/platform/settings", tag = "platform", responses((status = 200, body = SettingsView), (status = 404)))]
pub async fn get_settings(State(state): State<ApiState>, caller: Caller) -> Result<Json<SettingsView>, ApiError> {
    platform_staff(&caller)?;
    let (settings, version) = state.store.platform_settings().await?;
    Ok(Json(SettingsView { default: settings.default, enabled_tools: settings.enabled_tools, version }))
}

#[utoipa::path(put, path = "/api/v1/platform/settings", tag = "platform", request_body = SettingsView,
    responses((status = 200, body = SettingsView), (status = 400), (status = 403), (status = 404)))]
pub async fn put_settings(State(state): State<ApiState>, caller: Caller, JsonBody(body): JsonBody<SettingsView>) -> Result<Json<SettingsView>, ApiError> {
    if !platform_staff(&caller)? {
        return Err(ApiError::Forbidden("this account is read-only".to_owned()));
    }
    if let Some(bad) = body.enabled_tools.iter().flatten().find(|tool| tool.trim().is_empty()) {
        return Err(ApiError::invalid("enabled_tools", format!("`{bad}` is not a tool name")));
    }
    let settings = PlatformSettings { default: body.default, enabled_tools: body.enabled_tools };
    let version = state.store.set_platform_settings(&caller.actor(), &settings).await?;
    Ok(Json(SettingsView { default: settings.default, enabled_tools: settings.enabled_tools, version }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaView {
    /// How many policies (tenant and agent scope) the tenant may keep.
    pub policy_quota: i64,
}

#[utoipa::path(put, path = "/api/v1/tenants/{slug}/quota", tag = "platform", params(("slug" = String, Path)), request_body = QuotaView,
    responses((status = 200, body = QuotaView), (status = 403), (status = 404), (status = 422)))]
pub async fn put_quota(State(state): State<ApiState>, caller: Caller, params: RawPathParams, JsonBody(body): JsonBody<QuotaView>) -> Result<Json<QuotaView>, ApiError> {
    let writable = match &caller {
        Caller::User(user) if user.role.is_platform_wide() => user.role == Role::PlatformAdmin,
        _ => return Err(ApiError::Forbidden("only platform admins change quotas".to_owned())),
    };
    if !writable {
        return Err(ApiError::Forbidden("this account is read-only".to_owned()));
    }
    let slug = path_param(&params, "slug").unwrap_or_default();
    let tenant = state.store.tenant_by_slug(&slug).await?.ok_or_else(|| ApiError::NotFound(format!("tenant `{slug}` not found")))?;
    let tenant = state.store.set_policy_quota(&caller.actor(), &tenant.id, body.policy_quota).await?;
    Ok(Json(QuotaView { policy_quota: tenant.policy_quota }))
}
