//! Charter's application core: every operation a person or an agent can perform — save, delete,
//! import and export policies; decide and record; resolve approvals; manage the tool catalog,
//! keys, tenants and users — each taking the caller's [`Access`], checking it once, calling the
//! engine and the store, and returning typed results or one [`CoreError`].
//!
//! The edges (the `/api/v1` HTTP API, the console's server functions, and the MCP edges to come)
//! are thin adapters: they parse, build an [`Access`] from a key or a session, call the core and
//! map the answer. None of them reaches the store except through here.

mod access;
mod approvals;
mod catalog;
mod counters;
mod decisions;
mod error;
mod facts;
mod gateway;
mod history;
mod insight;
mod keys;
mod masking;
mod oauth;
mod policies;
mod records;
mod releases;
mod replay;
mod tenant_view;
mod tenants;
mod throttle;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use charter_store::{Owner, ReceiptWriter, Store, Tenant, TenantId, UserId};

pub use access::{Access, Action, AgentKey, Grant, Person, Target};
pub use approvals::QueueEntry;
pub use catalog::{Catalog, ExposureChoice, CHARTER_SOURCE, CHARTER_TOOL_PREFIX, TOOL_USAGE_DAYS};
pub use counters::{Counters, RedisCounters, RedisError};
pub use decisions::{CallFacts, DecideInput, Recorded, SERVER_OWNED_CONTEXT};
pub use error::CoreError;
pub use facts::{derive_clock, ClientAddress, Clock};
pub use gateway::{GatewayCall, GatewayOutcome, NewUpstream, DEFAULT_UPSTREAM_TIMEOUT};
pub use history::{DiffLine, PolicyDiff};
pub use insight::insight_target;
pub use masking::MASKED;
pub use oauth::{is_access_token, AuthorizationRefused, AuthorizationRequest, ClientMetadata, OAuthError, PendingConsent, PublicUrl, TokenRequest};
pub use policies::{Exported, Saved, Shown, Validation};
pub use records::{AuditOf, ReceiptsOf};
pub use releases::{describe_release, PromoteTo};
pub use replay::{Candidate, FlipExample, FlipGroup, ReplayReport, ReplayRequest, MAX_REPLAY_DAYS};
pub use tenants::TenantOverview;
pub use throttle::{InProcessSignIns, LoginAttempt, LoginThrottle, Refusal, SignInRecords};

/// How long a pending approval waits for its approvers.
pub const APPROVAL_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// The core's handle. Cheap to clone: clones share the store, the receipt writer and the counters.
#[derive(Clone, Debug)]
pub struct Core {
    store: Store,
    receipts: ReceiptWriter,
    rate: Arc<Counters>,
    /// Tenants by id, remembered for the decision path: a tenant's slug and time zone rarely change,
    /// and every change goes through here, which forgets the entry.
    tenants: Arc<RwLock<HashMap<TenantId, Arc<Tenant>>>>,
    /// The connections to the MCP gateway's upstream servers.
    upstreams: Arc<gateway::Upstreams>,
}

impl Core {
    /// Starts the receipt writer on the current tokio runtime; counters in this process.
    pub fn new(store: Store) -> Core {
        Core::with_counters(store, Counters::default())
    }

    /// A core whose rate limits, budgets and sessions are counted in `counters` (Redis, for several
    /// replicas).
    pub fn with_counters(store: Store, counters: Counters) -> Core {
        let tenants: Arc<RwLock<HashMap<TenantId, Arc<Tenant>>>> = Arc::default();
        forget_changed_tenants(store.subscribe_changes(), Arc::downgrade(&tenants));
        let upstreams = Arc::new(gateway::Upstreams::new(DEFAULT_UPSTREAM_TIMEOUT));
        Core { receipts: ReceiptWriter::start(store.clone()), store, rate: Arc::new(counters), tenants, upstreams }
    }

    /// The same core, waiting at most `timeout` for an upstream MCP server behind the gateway.
    pub fn with_upstream_timeout(mut self, timeout: std::time::Duration) -> Core {
        self.upstreams = Arc::new(gateway::Upstreams::new(timeout));
        self
    }

    /// Every change this replica applies or hears of from the others, for the edges that tell
    /// clients (MCP's `tools/list_changed`).
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<charter_store::Invalidation> {
        self.store.subscribe_changes()
    }

    /// The store of console sessions, for the session layer.
    pub fn sessions(&self) -> charter_store::SessionRecords {
        charter_store::SessionRecords::new(self.store.clone())
    }

    /// Who a console session belongs to: the signed-in user, loaded afresh so a changed role or a
    /// deleted user takes effect on the very next request.
    pub async fn session_user(&self, user_id: &UserId) -> Result<Option<(charter_store::User, Option<Tenant>)>, CoreError> {
        let Some(user) = self.store.user_by_id(user_id).await? else { return Ok(None) };
        let tenant = match &user.tenant_id {
            Some(tenant_id) => self.store.tenant_by_id(tenant_id).await?,
            None => None,
        };
        Ok(Some((user, tenant)))
    }

    /// The access of an API key presented as `Authorization: Bearer <key>`.
    pub async fn access_for_key(&self, presented: &str) -> Result<Access, CoreError> {
        match self.store.authenticate_api_key(presented.trim()).await? {
            Some(key) => Ok(Access::for_key(key)),
            None => Err(CoreError::Unauthenticated("the API key is not valid or has been revoked")),
        }
    }

    /// Checks a console sign-in. A wrong password and an unknown user give the same answer in the
    /// same time.
    pub async fn sign_in(&self, username: &str, password: &str) -> Result<Option<charter_store::User>, CoreError> {
        Ok(self.store.verify_login(username, password).await?)
    }

    /// Resolves what `target` names for this caller and checks that they may do `action` there.
    /// A tenant caller naming another tenant, and anyone but platform staff naming the platform,
    /// gets "not found", exactly as for something that does not exist.
    pub(crate) async fn owner(&self, access: &Access, target: Target<'_>, action: Action) -> Result<Owner, CoreError> {
        // What the caller's role forbids wherever it is done is refused before any lookup (the
        // platform's data is simply not there for anyone but platform staff).
        if target != Target::Platform {
            access.may(action, &access.home())?;
        }
        let owner = match (target, access.own_tenant()) {
            (Target::Platform, _) if access.is_platform_staff() => Owner::Platform,
            (Target::Platform, _) => return Err(CoreError::NotFound { what: "platform data", id: String::new() }),
            (Target::Own, Some(own)) => Owner::Tenant(own.clone()),
            (Target::Own, None) => return Err(CoreError::TenantRequired),
            (Target::Tenant(slug), own) => {
                let not_found = || CoreError::NotFound { what: "tenant", id: slug.to_owned() };
                let tenant = self.store.tenant_by_slug(slug.trim()).await?.ok_or_else(not_found)?;
                if own.is_some_and(|own| *own != tenant.id) {
                    return Err(not_found());
                }
                Owner::Tenant(tenant.id)
            }
        };
        access.may(action, &owner)?;
        Ok(owner)
    }

    /// The tenant `owner` names (`None` for the platform).
    pub(crate) async fn tenant_of(&self, owner: &Owner) -> Result<Option<Arc<Tenant>>, CoreError> {
        match owner {
            Owner::Platform => Ok(None),
            Owner::Tenant(tenant_id) => self.tenant(tenant_id).await.map(Some),
        }
    }

    /// A tenant by id, remembered.
    pub(crate) async fn tenant(&self, tenant_id: &TenantId) -> Result<Arc<Tenant>, CoreError> {
        if let Some(tenant) = self.tenants.read().ok().and_then(|tenants| tenants.get(tenant_id).cloned()) {
            return Ok(tenant);
        }
        let tenant = Arc::new(self.store.tenant_by_id(tenant_id).await?.ok_or_else(|| CoreError::NotFound { what: "tenant", id: tenant_id.to_string() })?);
        if let Ok(mut tenants) = self.tenants.write() {
            tenants.insert(tenant_id.clone(), tenant.clone());
        }
        Ok(tenant)
    }

    /// Whether this replica can serve, for a load balancer: the database answers, and the replica
    /// hears the other replicas' changes (on PostgreSQL; a single SQLite node always does), and the
    /// shared counters answer (when they are in Redis).
    pub async fn readiness(&self) -> Readiness {
        Readiness {
            database: self.store.database_answers().await,
            changes: self.store.hears_changes(),
            current: self.store.confirmed_current(),
            counters: self.rate.answer().await,
        }
    }

    /// Waits, at most `within`, until every receipt handed to the writer is committed: the last step
    /// of a graceful shutdown, after the server has stopped taking requests. Says whether it got
    /// there.
    pub async fn drain(&self, within: std::time::Duration) -> bool {
        self.receipts.flush(within).await
    }

    /// Forgets a remembered tenant after a change to it.
    pub(crate) fn forget_tenant(&self, tenant_id: &TenantId) {
        if let Ok(mut tenants) = self.tenants.write() {
            tenants.remove(tenant_id);
        }
    }
}

/// What `/readyz` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Readiness {
    pub database: bool,
    /// The change listener is connected.
    pub changes: bool,
    /// This replica confirmed lately that it missed no change (see `Store::confirmed_current`).
    pub current: bool,
    /// Whether Redis answers; absent when the counters are in this process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counters: Option<bool>,
}

impl Readiness {
    pub fn ready(self) -> bool {
        self.database && self.changes && self.current && self.counters != Some(false)
    }
}

/// Forgets remembered tenants whenever the store applies a change to one, made here or announced by
/// another replica; everything when announcements were missed. Ends with the core.
fn forget_changed_tenants(
    mut changes: tokio::sync::broadcast::Receiver<charter_store::Invalidation>,
    tenants: std::sync::Weak<RwLock<HashMap<TenantId, Arc<Tenant>>>>,
) {
    use charter_store::Invalidation;
    use tokio::sync::broadcast::error::RecvError;
    tokio::spawn(async move {
        loop {
            let change = changes.recv().await;
            let Some(tenants) = tenants.upgrade() else { break };
            let Ok(mut tenants) = tenants.write() else { break };
            match change {
                Ok(Invalidation::Tenant(tenant_id)) => {
                    tenants.remove(&tenant_id);
                }
                Ok(Invalidation::Everything) | Err(RecvError::Lagged(_)) => tenants.clear(),
                Ok(Invalidation::Policies(_) | Invalidation::KeyRevoked(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
}
