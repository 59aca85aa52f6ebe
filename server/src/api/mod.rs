//! The HTTP API under `/api/v1`: decisions for agents, and policies, receipts, approvals, keys
//! and the audit log for tenants' own systems and platform staff.
//!
//! Tenant-scoped routes exist twice: at `/api/v1/...`, where the tenant is the API key's (or the
//! signed-in tenant user's), and at `/api/v1/tenants/{slug}/...`, where platform staff name it.

mod body;
pub mod caller;
pub mod decide;
pub mod error;
mod keys;
mod platform;
mod policies;
mod records;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Json, Router};
use charter_policy::InMemoryRateCounter;
use charter_store::{ReceiptWriter, Store};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use error::ApiError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What the API's handlers share.
#[derive(Clone, Debug)]
pub struct ApiState {
    pub store: Store,
    pub receipts: ReceiptWriter,
    /// Rate-limit counters of this process (one node; a shared store backs several).
    pub rate: Arc<InMemoryRateCounter>,
    slugs: Arc<RwLock<HashMap<String, String>>>,
}

impl ApiState {
    /// Starts the receipt writer on the current runtime.
    pub fn new(store: Store) -> ApiState {
        ApiState { receipts: ReceiptWriter::start(store.clone()), store, rate: Arc::default(), slugs: Arc::default() }
    }

    /// A tenant's slug by id, remembered: slugs never change.
    pub async fn tenant_slug(&self, tenant_id: &str) -> Result<String, ApiError> {
        if let Some(slug) = self.slugs.read().ok().and_then(|slugs| slugs.get(tenant_id).cloned()) {
            return Ok(slug);
        }
        let tenant = self.store.tenant_by_id(tenant_id).await?.ok_or(ApiError::Internal)?;
        if let Ok(mut slugs) = self.slugs.write() {
            slugs.insert(tenant_id.to_owned(), tenant.slug.clone());
        }
        Ok(tenant.slug)
    }
}

fn tenant_routes() -> Router<ApiState> {
    Router::new()
        .route("/policies", get(policies::list).post(policies::create))
        .route("/policies/export", get(policies::export))
        .route("/policies/{id}", get(policies::get).put(policies::update).delete(policies::delete))
        .route("/receipts", get(records::list_receipts))
        .route("/receipts/{id}", get(records::get_receipt))
        .route("/approvals", get(records::list_approvals))
        .route("/approvals/{id}", get(records::get_approval))
        .route("/approvals/{id}/resolve", post(records::resolve_approval))
        .route("/keys", get(keys::list).post(keys::create))
        .route("/keys/{id}", axum::routing::delete(keys::revoke))
        .route("/audit", get(records::list_audit))
}

/// The `/api/v1` router, with its state applied.
pub fn router<S: Clone + Send + Sync + 'static>(state: ApiState) -> Router<S> {
    Router::new()
        .route("/decide", post(decide::decide))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/platform/policies", get(policies::list_platform).post(policies::create_platform))
        .route("/platform/policies/export", get(policies::export_platform))
        .route("/platform/policies/{id}", get(policies::get_platform).put(policies::update_platform).delete(policies::delete_platform))
        .route("/platform/settings", get(platform::get_settings).put(platform::put_settings))
        .route("/tenants/{slug}/quota", axum::routing::put(platform::put_quota))
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
        components.add_security_scheme("api_key", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("A tenant API key, `chk_<prefix>_<secret>`")).build()));
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
        keys::list, keys::create, keys::revoke,
        platform::get_settings, platform::put_settings, platform::put_quota,
    ),
    modifiers(&BearerKey)
)]
pub struct ApiDoc;
