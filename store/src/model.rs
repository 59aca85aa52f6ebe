//! Domain types shared by the server and the browser. No database code lives here.

use serde::{Deserialize, Serialize};

/// What a console user may do. Platform-wide roles belong to no tenant; tenant roles to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    Support,
    TenantAdmin,
    TenantMember,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::PlatformAdmin, Role::Support, Role::TenantAdmin, Role::TenantMember];

    /// The stored and serialised name, e.g. `platform_admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::Support => "support",
            Role::TenantAdmin => "tenant_admin",
            Role::TenantMember => "tenant_member",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// The name people read in the console.
    pub fn label(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "Platform admin",
            Role::Support => "Support (read-only)",
            Role::TenantAdmin => "Tenant admin",
            Role::TenantMember => "Tenant member",
        }
    }

    /// Platform admins and support see every tenant; tenant users see only their own.
    pub fn is_platform_wide(self) -> bool {
        matches!(self, Role::PlatformAdmin | Role::Support)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub plan: String,
    pub policy_quota: i64,
    /// The time zone of the tenant's clock facts (`context.hour`, `weekday`, `date`), e.g. `UTC`.
    pub time_zone: String,
    pub created_at: i64,
}

/// Whose data something is: the platform's own (platform policies and settings), or one tenant's.
/// A query on owned data always says which, so one tenant's rows can never answer for another's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Owner {
    Platform,
    Tenant(String),
}

impl Owner {
    /// The tenant's id, or `None` for the platform.
    pub fn tenant_id(&self) -> Option<&str> {
        match self {
            Owner::Platform => None,
            Owner::Tenant(tenant_id) => Some(tenant_id),
        }
    }
}

/// A tenant with the counts the tenant list shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSummary {
    pub tenant: Tenant,
    pub admins: i64,
    pub members: i64,
}

/// A console user as the rest of the system sees it: the password hash never leaves the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub tenant_id: Option<String>,
    pub approver_roles: Vec<String>,
    pub created_at: i64,
}

/// A policy as stored: its document (canonical JSON of the engine's model) plus bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPolicy {
    pub id: String,
    /// `None` for platform policies.
    pub tenant_id: Option<String>,
    /// `platform`, `tenant` or `agent`.
    pub scope: String,
    pub agent: Option<String>,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub document: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
}

/// Who made a change, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// A username, an API key prefix, or `system`.
    pub id: String,
    pub kind: ActorKind,
    /// The tenant the actor belongs to; `None` for platform staff and the system.
    pub tenant_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    ApiKey,
    System,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::System => "system",
        }
    }
}

impl Actor {
    pub fn system() -> Actor {
        Actor { id: "system".to_owned(), kind: ActorKind::System, tenant_id: None }
    }
}

/// One row of the append-only audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: String,
    pub tenant_id: Option<String>,
    pub actor: String,
    pub actor_kind: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub created_at: i64,
}

/// An API key as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyInfo {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
}

/// The durable record of one decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub id: String,
    pub tenant_id: String,
    pub api_key_id: Option<String>,
    pub agent: Option<String>,
    /// JSON of the request's principal.
    pub principal: String,
    pub tool: String,
    /// JSON of the tool call's arguments.
    pub args: String,
    /// SHA-256 of the canonical JSON of the arguments.
    pub args_digest: String,
    pub verdict: String,
    pub reason: String,
    /// JSON of the engine's whole decision (matched rules, limits, obligations).
    pub decision: String,
    /// JSON map of policy id to the version used.
    pub policy_versions: String,
    pub approval_id: Option<String>,
    pub latency_us: i64,
    pub created_at: i64,
}

/// A request waiting for (or resolved by) a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    pub tenant_id: String,
    pub receipt_id: String,
    pub agent: Option<String>,
    pub principal: String,
    pub tool: String,
    pub args: String,
    pub args_digest: String,
    /// JSON array of the approver roles asked.
    pub approvers: String,
    /// JSON of the rules that asked for approval.
    pub matched: String,
    pub policy_versions: String,
    pub reason: String,
    /// `pending`, `approved`, `rejected`, or `expired` (computed: pending past its expiry).
    pub status: String,
    pub requested_at: i64,
    pub expires_at: i64,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub comment: Option<String>,
    /// JSON array of the votes cast so far, one per approver role.
    pub votes: String,
}

/// The two labels of the platform view: who wrote a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyLabel {
    /// Platform scope, written by the platform owner.
    PlatformDefault,
    /// Tenant or agent scope, written by (or for) a tenant.
    CustomerDefined,
}

impl PolicyLabel {
    pub fn of_scope(scope: &str) -> PolicyLabel {
        if scope == "platform" {
            PolicyLabel::PlatformDefault
        } else {
            PolicyLabel::CustomerDefined
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyLabel::PlatformDefault => "platform_default",
            PolicyLabel::CustomerDefined => "customer_defined",
        }
    }

    pub fn parse(name: &str) -> Option<PolicyLabel> {
        [PolicyLabel::PlatformDefault, PolicyLabel::CustomerDefined].into_iter().find(|label| label.as_str() == name)
    }

    /// The words the console shows.
    pub fn text(self) -> &'static str {
        match self {
            PolicyLabel::PlatformDefault => "Platform Default",
            PolicyLabel::CustomerDefined => "Customer Defined",
        }
    }
}

/// Which policies to list. Every field narrows the list; `None` means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicySearch {
    /// The owning tenant's id.
    pub tenant_id: Option<String>,
    pub label: Option<PolicyLabel>,
    /// `platform`, `tenant` or `agent`.
    pub scope: Option<String>,
    /// A tool name or part of one, matched against the rules' tool patterns.
    pub tool: Option<String>,
    /// Words in the name, description or agent.
    pub text: Option<String>,
}

/// A policy as the lists show it: no document, but its owner and a digest of its rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyListing {
    pub id: String,
    pub label: PolicyLabel,
    pub scope: String,
    pub agent: Option<String>,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub tenant_id: Option<String>,
    pub tenant_slug: Option<String>,
    pub tenant_name: Option<String>,
    pub rule_count: usize,
    /// The tool patterns of the rules, deduplicated, in rule order.
    pub tools: Vec<String>,
    pub updated_at: i64,
    pub updated_by: String,
}

/// One page of a list, with the total so the console can say "51–100 of 3,204".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

/// A source of tools in the catalog: an OpenAPI document or an MCP `tools/list` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolSource {
    pub id: String,
    pub name: String,
    /// `openapi` or `mcp`.
    pub kind: String,
    pub created_at: i64,
    pub created_by: String,
    pub tool_count: i64,
    pub enabled_count: i64,
}

/// One tool of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub id: String,
    pub source_id: String,
    pub name: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub description: String,
    pub enabled: bool,
}

/// An agent of a tenant: named by an agent policy, by decisions, or both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentSummary {
    pub name: String,
    pub policies: i64,
    pub decisions: i64,
    pub last_decision_at: Option<i64>,
}

/// What importing a file does (or would do) to one policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportChange {
    /// `create`, `update`, `unchanged` or `delete`.
    pub action: String,
    pub name: String,
    pub scope: String,
    pub agent: Option<String>,
    /// The stored document before (for updates and deletes), pretty JSON.
    pub before: Option<String>,
    /// The document after (for creates and updates), pretty JSON.
    pub after: Option<String>,
    /// Delegation warnings (partial overlaps with a parent's rules).
    pub warnings: Vec<String>,
}
