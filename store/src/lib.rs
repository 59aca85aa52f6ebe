//! Charter's persistence.
//!
//! The model types in [`model`] are always compiled, so the browser bundle can share them. With the
//! default `db` feature the crate also holds [`Store`]: one handle over SQLite (the default, an
//! embedded file) or PostgreSQL (for several replicas), chosen by the database URL. Both backends run
//! the same migrations and the same queries; that is why every query here sticks to the SQL both
//! understand and why times are plain millisecond integers.

pub mod assistant;
pub mod ids;
pub mod insight;
pub mod model;
pub mod rollout;

#[cfg(feature = "db")]
mod api_keys;
#[cfg(feature = "db")]
mod approvals;
#[cfg(feature = "db")]
mod audit;
#[cfg(feature = "db")]
mod changes;
#[cfg(feature = "db")]
mod compiled_parts;
#[cfg(feature = "db")]
mod db;
#[cfg(feature = "db")]
mod error;
#[cfg(feature = "db")]
mod gateway;
#[cfg(feature = "db")]
mod heavy;
#[cfg(feature = "db")]
mod metrics;
#[cfg(feature = "db")]
mod oauth;
#[cfg(feature = "db")]
mod password;
#[cfg(feature = "db")]
mod policies;
#[cfg(feature = "db")]
mod policy_history;
#[cfg(feature = "db")]
mod policy_search;
#[cfg(feature = "db")]
mod policy_sets;
#[cfg(feature = "db")]
mod receipt_writer;
#[cfg(feature = "db")]
mod receipts;
#[cfg(feature = "db")]
mod releases;
#[cfg(feature = "db")]
mod retention;
#[cfg(feature = "db")]
mod revisions;
#[cfg(feature = "db")]
mod secrets;
#[cfg(feature = "db")]
mod sessions;
#[cfg(feature = "db")]
mod shadow;
#[cfg(feature = "db")]
mod sql;
#[cfg(feature = "db")]
mod tenants;
#[cfg(feature = "db")]
mod tools;
#[cfg(feature = "db")]
mod transfer;
#[cfg(feature = "db")]
mod users;

pub use assistant::{Connection, ConsentView, OAuthScope, ScopeSet};
pub use ids::{ApiKeyId, ApprovalId, AuditEntryId, ConnectionId, OAuthClientId, PolicyId, ReceiptId, SourceId, TenantId, ToolId, UserId};
pub use insight::{AgentActivity, Bucket, DeniedTool, Insight, RecentChange, RuleCount, SettledBy, VerdictCounts, WaitingApproval, Window, Words};
pub use model::{
    Actor, ActorKind, AgentKeys, AgentSummary, ApiKeyInfo, Approval, ApprovalStatus, AuditEntry, BoundAgents, CatalogEntry, Exposure, ImportAction,
    ImportChange, KeyScope, KeyScopes, Owner, Page, PolicyLabel, PolicyListing, PolicySearch, PolicyVersion, Receipt, Role, ShadowVerdict, StoredPolicy,
    Tenant, TenantSummary, TenantTool, ToolSource, ToolUsage, User, CHARTER_TOOL_PREFIX,
};
pub use rollout::{
    describe_selection, Baseline, DraftChanges, PinKind, Release, ReleaseChoice, ReleasePin, ReleaseSummary, Revision, RevisionSummary, Rollout, Selection,
    ShadowDiff, ShadowGroup, ShadowSample, TenantRollout,
};

#[cfg(feature = "db")]
pub use api_keys::{ApiKeyAuth, NewApiKey};
#[cfg(feature = "db")]
pub use approvals::Resolution;
#[cfg(feature = "db")]
pub use audit::AuditScope;
#[cfg(feature = "db")]
pub use changes::{Invalidation, CHANNEL as CHANGES_CHANNEL};
#[cfg(feature = "db")]
pub use db::{now_ms, Backend, Store};
#[cfg(feature = "db")]
pub use error::StoreError;
#[cfg(feature = "db")]
pub use gateway::{GatewayTool, RefreshReport, SameCall, UpstreamServer, UpstreamTool};
#[cfg(feature = "db")]
pub use heavy::HeavyWork;
#[cfg(feature = "db")]
pub use metrics::{metrics, render_metrics, Metrics};
#[cfg(feature = "db")]
pub use oauth::{
    AccessGrant, AuthorizationCode, IssuedTokens, NewConnection, OAuthClient, Redemption, TokenRefusal, ACCESS_TOKEN_PREFIX, ACCESS_TOKEN_TTL_MS, CODE_TTL_MS,
    REFRESH_TOKEN_TTL_MS,
};
#[cfg(feature = "db")]
pub use password::{hash_password, verify_password};
#[cfg(feature = "db")]
pub use policies::{to_engine_policy, BASELINE_PREFIX};
#[cfg(feature = "db")]
pub use policy_search::MAX_PAGE;
#[cfg(feature = "db")]
pub use policy_sets::{CompiledTenant, DEFAULT_POLICY_CACHE_BYTES, PLATFORM_VERSION_PREFIX};
#[cfg(feature = "db")]
pub use receipt_writer::ReceiptWriter;
#[cfg(feature = "db")]
pub use receipts::{ReceiptFilter, ReceiptScope, ReplayWindow, StoredCall};
#[cfg(feature = "db")]
pub use releases::{Promotion, MAX_NOTE_CHARS};
#[cfg(feature = "db")]
pub use retention::{ReceiptPartition, RetentionReport, DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS};
#[cfg(feature = "db")]
pub use revisions::REVISION_PAGE;
#[cfg(feature = "db")]
pub use sessions::{parse_session_id, SessionRecords};
#[cfg(feature = "db")]
pub use tenants::NewTenant;
#[cfg(feature = "db")]
pub use users::NewUser;
