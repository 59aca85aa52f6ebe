//! The HTTP API under `/api/v1`: decisions for agents, and policies, receipts, approvals, keys,
//! settings and the audit log for tenants' own systems and platform staff. Every handler is a thin
//! adapter over the application core: parse, call, map the answer.
//!
//! Tenant-scoped routes exist twice: at `/api/v1/...`, where the tenant is the API key's (or the
//! signed-in tenant user's), and at `/api/v1/tenants/{slug}/...`, where platform staff name it.
//! The OpenAPI document lists both.

mod body;
pub mod caller;
pub mod decide;
pub mod error;
mod history;
mod keys;
mod platform;
mod policies;
pub(crate) mod records;
mod releases;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use charter_core::Core;
use serde::de::DeserializeOwned;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Object, Required};
use utoipa::{Modify, OpenApi};

use error::ApiError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What the API's handlers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    pub core: Core,
}

/// Query parameters with the API's error shape: an unknown or malformed parameter is a 400 that
/// names it.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await.map_err(|err| ApiError::bad_request(None, err.body_text()))?;
        Ok(QueryParams(value))
    }
}

/// The routes of one tenant's data, mounted at `/api/v1` and at `/api/v1/tenants/{slug}`.
const TENANT_PATHS: &[&str] = &[
    "/policies",
    "/policies/export",
    "/policies/{id}",
    "/policies/{id}/versions",
    "/policies/{id}/versions/{version}",
    "/policies/{id}/versions/{version}/restore",
    "/policies/{id}/diff",
    "/receipts",
    "/receipts/{id}",
    "/approvals",
    "/approvals/{id}",
    "/approvals/{id}/resolve",
    "/keys",
    "/keys/{id}",
    "/audit",
    "/settings",
    "/rollout",
    "/revisions",
    "/revisions/{version}",
    "/revisions/replay",
    "/shadow",
    "/baselines",
];

fn tenant_routes() -> Router<ApiState> {
    Router::new()
        .route("/policies", get(policies::list).post(policies::create))
        .route("/policies/export", get(policies::export))
        .route("/policies/{id}", get(policies::get).put(policies::update).delete(policies::delete))
        .route("/policies/{id}/versions", get(history::list))
        .route("/policies/{id}/versions/{version}", get(history::get))
        .route("/policies/{id}/versions/{version}/restore", post(history::restore))
        .route("/policies/{id}/diff", get(history::diff))
        .route("/receipts", get(records::list_receipts))
        .route("/receipts/{id}", get(records::get_receipt))
        .route("/approvals", get(records::list_approvals))
        .route("/approvals/{id}", get(records::get_approval))
        .route("/approvals/{id}/resolve", post(records::resolve_approval))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}", axum::routing::delete(keys::revoke))
        .route("/audit", get(records::list_audit))
        .route("/settings", get(platform::get_tenant_settings).put(platform::put_tenant_settings))
        .route("/rollout", get(releases::rollout).put(releases::pin_revision))
        .route("/revisions", get(releases::revisions))
        .route("/revisions/{version}", get(releases::revision))
        .route("/revisions/replay", post(releases::replay_revision))
        .route("/shadow", get(releases::shadow_diff).put(releases::set_revision_shadow))
        .route("/baselines", get(releases::baselines))
}

/// The `/api/v1` router, with its state applied.
pub fn router<S: Clone + Send + Sync + 'static>(state: ApiState) -> Router<S> {
    Router::new()
        .route("/decide", post(decide::decide))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/platform/policies", get(policies::list_platform).post(policies::create_platform))
        .route("/platform/policies/export", get(policies::export_platform))
        .route("/platform/policies/{id}", get(policies::get_platform).put(policies::update_platform).delete(policies::delete_platform))
        .route("/platform/policies/{id}/versions", get(history::list_platform))
        .route("/platform/policies/{id}/versions/{version}", get(history::get_platform))
        .route("/platform/policies/{id}/versions/{version}/restore", post(history::restore_platform))
        .route("/platform/policies/{id}/diff", get(history::diff_platform))
        .route("/platform/settings", get(platform::get_settings).put(platform::put_settings))
        .route("/tenants/{slug}/quota", axum::routing::put(platform::put_quota))
        .route("/tenants/{slug}/retention", axum::routing::put(platform::put_retention))
        .route("/tenants/{slug}/release", axum::routing::put(releases::pin_release))
        .route("/platform/releases", get(releases::list).post(releases::publish))
        .route("/platform/releases/draft", get(releases::draft))
        .route("/platform/releases/replay", post(releases::replay_release))
        .route("/platform/releases/{number}", get(releases::get))
        .route("/platform/releases/{number}/promote", post(releases::promote))
        .route("/platform/rollout", get(releases::rollouts))
        .route("/platform/shadow", axum::routing::put(releases::set_release_shadow))
        .merge(tenant_routes())
        .nest("/tenants/{slug}", tenant_routes())
        .fallback(|| async { ApiError::NotFound("no such API route".to_owned()) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("A tenant API key, `chk_<prefix>_<secret>`")).build()),
        );
    }
}

/// Lists every tenant route a second time under `/api/v1/tenants/{slug}`, as platform staff call
/// it, with the `slug` parameter and an operation id of its own.
struct PlatformStaffPaths;

impl Modify for PlatformStaffPaths {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let slug: Parameter = ParameterBuilder::new()
            .name("slug")
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some("The tenant, for platform staff"))
            .schema(Some(Object::with_type(utoipa::openapi::schema::Type::String)))
            .build();
        let mut added = Vec::new();
        for tail in TENANT_PATHS {
            let Some(item) = openapi.paths.paths.get(&format!("/api/v1{tail}")) else { continue };
            let mut item = item.clone();
            for operation in [&mut item.get, &mut item.put, &mut item.post, &mut item.delete].into_iter().flatten() {
                operation.operation_id = operation.operation_id.as_ref().map(|id| format!("{id}_of_tenant"));
                operation.parameters.get_or_insert_with(Vec::new).insert(0, slug.clone());
            }
            added.push((format!("/api/v1/tenants/{{slug}}{tail}"), item));
        }
        openapi.paths.paths.extend(added);
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Charter API", description = "Decisions for agents' tool calls, and the policies, receipts, approvals, keys and audit log behind them. Every tenant-scoped path also exists under /api/v1/tenants/{slug}/ for platform staff."),
    paths(
        decide::decide,
        records::list_receipts, records::get_receipt,
        records::list_approvals, records::get_approval, records::resolve_approval,
        records::list_audit,
        policies::list, policies::export, policies::export_platform, policies::get, policies::create, policies::update, policies::delete,
        policies::list_platform, policies::get_platform, policies::create_platform, policies::update_platform, policies::delete_platform,
        history::list, history::get, history::diff, history::restore,
        history::list_platform, history::get_platform, history::diff_platform, history::restore_platform,
        keys::list, keys::create, keys::revoke,
        platform::get_settings, platform::put_settings, platform::put_quota, platform::put_retention,
        platform::get_tenant_settings, platform::put_tenant_settings,
        releases::list, releases::publish, releases::draft, releases::get, releases::promote, releases::rollouts, releases::pin_release,
        releases::rollout, releases::pin_revision, releases::revisions, releases::revision, releases::replay_release, releases::replay_revision,
        releases::set_release_shadow, releases::set_revision_shadow, releases::shadow_diff, releases::baselines,
    ),
    modifiers(&BearerKey, &PlatformStaffPaths)
)]
pub struct ApiDoc;
