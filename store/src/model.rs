//! Domain types shared by the server and the browser. No database code lives here.

use charter_policy::{Scope, SourceKind, UnknownName, Verdict};
use serde::{Deserialize, Serialize};

use crate::ids::{ApiKeyId, ApprovalId, AuditEntryId, PolicyId, ReceiptId, SourceId, TenantId, ToolId, UserId};

/// Implements `TryFrom<String>` (how `sqlx::FromRow` reads a stored name) through `parse`.
macro_rules! read_stored_name {
    ($type:ty, $kind:literal) => {
        impl TryFrom<String> for $type {
            type Error = UnknownName;

            fn try_from(name: String) -> Result<$type, UnknownName> {
                <$type>::parse(&name).ok_or(UnknownName { kind: $kind, name })
            }
        }
    };
}

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

read_stored_name!(Role, "role");

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub plan: String,
    pub policy_quota: i64,
    /// The time zone of the tenant's clock facts (`context.hour`, `weekday`, `date`), e.g. `UTC`.
    pub time_zone: String,
    /// Whether the tenant's API keys must be bound to agents.
    #[cfg_attr(feature = "db", sqlx(try_from = "String"))]
    pub agent_keys: AgentKeys,
    /// How many days the tenant's receipts are kept (90 unless the platform sets otherwise).
    pub receipt_retention_days: i64,
    pub created_at: i64,
}

/// Whether a tenant's API keys must be bound to agents. A bound key acts for its agents only,
/// whatever a request names; an unbound key acts for the agent the request names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentKeys {
    /// Keys may be bound to agents or not.
    #[default]
    Optional,
    /// Every key must be bound: unbound keys cannot be created and ask for no decisions.
    Required,
}

impl AgentKeys {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKeys::Optional => "optional",
            AgentKeys::Required => "required",
        }
    }

    pub fn parse(name: &str) -> Option<AgentKeys> {
        [AgentKeys::Optional, AgentKeys::Required].into_iter().find(|value| value.as_str() == name)
    }
}

read_stored_name!(AgentKeys, "agent key setting");

/// The agents an API key acts for, in their one spelling (`charter_policy::normalise_agent`);
/// empty when the key is not bound. Stored as a JSON array.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BoundAgents(pub Vec<String>);

impl BoundAgents {
    pub fn is_bound(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn contains(&self, agent: &str) -> bool {
        self.0.iter().any(|bound| bound == agent)
    }
}

impl TryFrom<String> for BoundAgents {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<BoundAgents, serde_json::Error> {
        serde_json::from_str(&text).map(BoundAgents)
    }
}

/// What a tenant API key may do. A script that manages policies needs no decisions, and an
/// agent that asks for decisions needs no policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum KeyScope {
    /// Ask for decisions, poll the approvals they asked for, call tools through the MCP gateway.
    #[serde(rename = "decide")]
    Decide,
    /// Read the tenant's policies, its effective policy and the tool catalog.
    #[serde(rename = "policies:read")]
    PoliciesRead,
    /// Create, change and delete the tenant's policies (reading them too).
    #[serde(rename = "policies:write")]
    PoliciesWrite,
    /// Read receipts, approvals and the audit log.
    #[serde(rename = "records:read")]
    RecordsRead,
}

impl KeyScope {
    pub const ALL: [KeyScope; 4] = [KeyScope::Decide, KeyScope::PoliciesRead, KeyScope::PoliciesWrite, KeyScope::RecordsRead];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyScope::Decide => "decide",
            KeyScope::PoliciesRead => "policies:read",
            KeyScope::PoliciesWrite => "policies:write",
            KeyScope::RecordsRead => "records:read",
        }
    }

    pub fn parse(name: &str) -> Option<KeyScope> {
        KeyScope::ALL.into_iter().find(|scope| scope.as_str() == name.trim())
    }

    /// What the scope allows, in words for the console.
    pub fn label(self) -> &'static str {
        match self {
            KeyScope::Decide => "Ask for decisions and call tools through the gateway",
            KeyScope::PoliciesRead => "Read policies",
            KeyScope::PoliciesWrite => "Write policies",
            KeyScope::RecordsRead => "Read receipts, approvals and the audit log",
        }
    }
}

/// The scopes of a key, each once, in [`KeyScope::ALL`]'s order. Stored as a JSON array; a key
/// made before scopes existed has every scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyScopes(Vec<KeyScope>);

impl KeyScopes {
    pub fn new(scopes: impl IntoIterator<Item = KeyScope>) -> KeyScopes {
        let mut scopes: Vec<KeyScope> = scopes.into_iter().collect();
        scopes.sort_unstable();
        scopes.dedup();
        KeyScopes(scopes)
    }

    pub fn all() -> KeyScopes {
        KeyScopes(KeyScope::ALL.to_vec())
    }

    pub fn contains(&self, scope: KeyScope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = KeyScope> + '_ {
        self.0.iter().copied()
    }
}

impl Default for KeyScopes {
    fn default() -> KeyScopes {
        KeyScopes::all()
    }
}

impl TryFrom<Option<String>> for KeyScopes {
    type Error = serde_json::Error;

    fn try_from(text: Option<String>) -> Result<KeyScopes, serde_json::Error> {
        match text {
            None => Ok(KeyScopes::all()),
            Some(text) => serde_json::from_str::<Vec<KeyScope>>(&text).map(KeyScopes::new),
        }
    }
}

/// Whose data something is: the platform's own (platform policies and settings), or one tenant's.
/// A query on owned data always says which, so one tenant's rows can never answer for another's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Owner {
    Platform,
    Tenant(TenantId),
}

impl Owner {
    /// The tenant's id, or `None` for the platform.
    pub fn tenant_id(&self) -> Option<&TenantId> {
        match self {
            Owner::Platform => None,
            Owner::Tenant(tenant_id) => Some(tenant_id),
        }
    }
}

/// A tenant with the counts the tenant list shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct TenantSummary {
    #[cfg_attr(feature = "db", sqlx(flatten))]
    pub tenant: Tenant,
    pub admins: i64,
    pub members: i64,
}

/// A console user as the rest of the system sees it: the password hash never leaves the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub tenant_id: Option<TenantId>,
    pub approver_roles: Vec<String>,
    pub created_at: i64,
}

/// A policy as stored: its document (canonical JSON of the engine's model) plus bookkeeping.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct StoredPolicy {
    pub id: PolicyId,
    /// `None` for platform policies.
    pub tenant_id: Option<TenantId>,
    #[cfg_attr(feature = "db", sqlx(try_from = "String"))]
    pub scope: Scope,
    pub agent: Option<String>,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub document: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
}

impl StoredPolicy {
    /// The policy as the version it is: its document, saved by whoever saved it last.
    pub fn into_version(self) -> PolicyVersion {
        PolicyVersion {
            policy_id: self.id,
            version: self.version,
            tenant_id: self.tenant_id,
            scope: self.scope,
            agent: self.agent,
            name: self.name,
            description: self.description,
            document: self.document,
            saved_at: self.updated_at,
            saved_by: self.updated_by,
        }
    }
}

/// Who made a change, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// A username, an API key prefix, or `system`.
    pub id: String,
    pub kind: ActorKind,
    /// The tenant the actor belongs to; `None` for platform staff and the system.
    pub tenant_id: Option<TenantId>,
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

    pub fn parse(name: &str) -> Option<ActorKind> {
        [ActorKind::User, ActorKind::ApiKey, ActorKind::System].into_iter().find(|kind| kind.as_str() == name)
    }
}

read_stored_name!(ActorKind, "actor kind");

impl Actor {
    pub fn system() -> Actor {
        Actor { id: "system".to_owned(), kind: ActorKind::System, tenant_id: None }
    }
}

/// One row of the append-only audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub tenant_id: Option<TenantId>,
    pub actor: String,
    #[cfg_attr(feature = "db", sqlx(try_from = "String"))]
    pub actor_kind: ActorKind,
    pub action: String,
    pub target: String,
    #[cfg_attr(feature = "db", sqlx(rename = "before_json"))]
    pub before: Option<String>,
    #[cfg_attr(feature = "db", sqlx(rename = "after_json"))]
    pub after: Option<String>,
    pub created_at: i64,
}

/// An API key as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct ApiKeyInfo {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub prefix: String,
    /// The agents the key acts for; empty when it is not bound to any.
    #[cfg_attr(feature = "db", sqlx(try_from = "String"))]
    pub agents: BoundAgents,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
    /// When the key last authenticated a call, to within 30 seconds; `None` if it never has.
    pub last_used_at: Option<i64>,
    /// What the key may do.
    #[serde(default)]
    #[cfg_attr(feature = "db", sqlx(try_from = "Option<String>"))]
    pub scopes: KeyScopes,
}

/// The durable record of one decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct Receipt {
    pub id: ReceiptId,
    pub tenant_id: TenantId,
    pub api_key_id: Option<ApiKeyId>,
    pub agent: Option<String>,
    /// JSON of the request's principal.
    pub principal: String,
    pub tool: String,
    /// JSON of the tool call's arguments.
    pub args: String,
    /// SHA-256 of the canonical JSON of the arguments.
    pub args_digest: String,
    #[cfg_attr(feature = "db", sqlx(try_from = "String"))]
    pub verdict: Verdict,
    pub reason: String,
    /// JSON of the engine's whole decision (matched rules, limits, obligations).
    pub decision: String,
    /// JSON map of policy id to the version used.
    pub policy_versions: String,
    pub approval_id: Option<ApprovalId>,
    pub latency_us: i64,
    pub created_at: i64,
    /// The platform release the decision ran (`None` on receipts written before releases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "db", sqlx(default))]
    pub platform_release: Option<i64>,
    /// The tenant's revision the decision ran (`None` on receipts written before revisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "db", sqlx(default))]
    pub tenant_revision: Option<i64>,
    /// JSON of the request's context as the engine saw it, the server's facts included, for
    /// replaying the request against another policy set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "db", sqlx(default))]
    pub context: Option<String>,
    /// The candidate that ran in shadow beside the enforced policies, in words (`the draft`,
    /// `release 5`, `revision 7`); `None` when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "db", sqlx(default))]
    pub shadow_of: Option<String>,
    /// The candidate's verdict (the answer was the enforced one).
    #[serde(default, skip_serializing_if = "ShadowVerdict::is_none")]
    #[cfg_attr(feature = "db", sqlx(default, try_from = "Option<String>"))]
    pub shadow_verdict: ShadowVerdict,
    /// The rule that settled the candidate's verdict (or its default), in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "db", sqlx(default))]
    pub shadow_rule: Option<String>,
    /// For a call the MCP gateway forwarded: SHA-256 of the canonical JSON of the upstream's
    /// answer, recorded once it came back (the writers never set it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "db", sqlx(default))]
    pub result_digest: Option<String>,
}

/// The verdict a candidate gave in shadow, if one ran (a column that may be NULL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShadowVerdict(pub Option<Verdict>);

impl ShadowVerdict {
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl TryFrom<Option<String>> for ShadowVerdict {
    type Error = UnknownName;

    fn try_from(name: Option<String>) -> Result<ShadowVerdict, UnknownName> {
        name.map(Verdict::try_from).transpose().map(ShadowVerdict)
    }
}

/// A request waiting for (or resolved by) a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct Approval {
    pub id: ApprovalId,
    pub tenant_id: TenantId,
    pub receipt_id: ReceiptId,
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
    /// Expired is computed, never stored: a pending approval past its expiry reads as expired.
    #[cfg_attr(feature = "db", sqlx(try_from = "String"))]
    pub status: ApprovalStatus,
    pub requested_at: i64,
    pub expires_at: i64,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub comment: Option<String>,
    /// JSON array of the votes cast so far, one per approver role.
    pub votes: String,
    /// When the MCP gateway forwarded the approved call: an approval is used once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "db", sqlx(default))]
    pub consumed_at: Option<i64>,
}

impl Approval {
    /// Marks the approval expired when it is still pending at `now` past its expiry.
    pub fn expire_if_due(mut self, now: i64) -> Approval {
        if self.status == ApprovalStatus::Pending && now >= self.expires_at {
            self.status = ApprovalStatus::Expired;
        }
        self
    }
}

/// Where an approval request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Rejected,
    /// Pending past its expiry; nobody can resolve it any more.
    Expired,
}

impl ApprovalStatus {
    pub const ALL: [ApprovalStatus; 4] = [ApprovalStatus::Pending, ApprovalStatus::Approved, ApprovalStatus::Rejected, ApprovalStatus::Expired];

    /// The stored and serialised name, e.g. `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Expired => "expired",
        }
    }

    pub fn parse(name: &str) -> Option<ApprovalStatus> {
        ApprovalStatus::ALL.into_iter().find(|status| status.as_str() == name)
    }
}

impl std::fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

read_stored_name!(ApprovalStatus, "approval status");

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
    pub fn of_scope(scope: Scope) -> PolicyLabel {
        match scope {
            Scope::Platform => PolicyLabel::PlatformDefault,
            Scope::Tenant | Scope::Agent => PolicyLabel::CustomerDefined,
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
    pub tenant_id: Option<TenantId>,
    /// With a tenant: its policies and the platform's, which govern it too.
    #[serde(default)]
    pub include_platform: bool,
    pub label: Option<PolicyLabel>,
    pub scope: Option<Scope>,
    /// A tool name or part of one, matched against the rules' tool patterns.
    pub tool: Option<String>,
    /// Words in the name, description or agent.
    pub text: Option<String>,
}

/// One saved version of a policy: immutable, kept after the policy is deleted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct PolicyVersion {
    pub policy_id: PolicyId,
    pub version: i64,
    /// `None` for platform policies.
    pub tenant_id: Option<TenantId>,
    #[cfg_attr(feature = "db", sqlx(try_from = "String"))]
    pub scope: Scope,
    pub agent: Option<String>,
    pub name: String,
    pub description: String,
    /// The document as saved: canonical JSON without id and version.
    pub document: String,
    pub saved_at: i64,
    pub saved_by: String,
}

/// A policy as the lists show it: no document, but its owner and a digest of its rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyListing {
    pub id: PolicyId,
    pub label: PolicyLabel,
    pub scope: Scope,
    pub agent: Option<String>,
    pub name: String,
    pub description: String,
    pub version: i64,
    pub tenant_id: Option<TenantId>,
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
    pub id: SourceId,
    pub name: String,
    pub kind: SourceKind,
    pub created_at: i64,
    pub created_by: String,
    pub tool_count: i64,
    pub enabled_count: i64,
    /// Charter's own policy tools for assistants: always there, never deleted.
    pub builtin: bool,
    /// The upstream MCP server (Streamable HTTP) the MCP gateway forwards this source's tools to;
    /// `None` for a document.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Put before each upstream tool's name in the catalog (`crm.`), or empty.
    #[serde(default)]
    pub tool_prefix: String,
    /// Whether Charter sends the upstream an authorisation header (which is never shown again).
    #[serde(default)]
    pub authenticated: bool,
}

/// One tool of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub id: ToolId,
    pub source_id: SourceId,
    pub name: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub description: String,
    /// The platform's switch: off, and no tenant gets the tool.
    pub enabled: bool,
    /// Which tenants the platform exposes the tool to.
    pub exposure: Exposure,
}

/// How Charter's own MCP tools are named in the catalog (`charter.create_policy`): a prefix no
/// imported tool may use.
pub const CHARTER_TOOL_PREFIX: &str = "charter.";

/// Which tenants the platform exposes a tool to. A tenant's admin may switch off, for their
/// tenant, a tool exposed to it; never switch on one that is not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to")]
pub enum Exposure {
    #[default]
    Everyone,
    /// The tenants named, and every tenant on one of the plans named.
    Chosen { tenants: Vec<TenantId>, plans: Vec<String> },
}

impl Exposure {
    /// Whether a tenant with this id and plan gets the tool.
    pub fn includes(&self, tenant_id: &TenantId, plan: &str) -> bool {
        match self {
            Exposure::Everyone => true,
            Exposure::Chosen { tenants, plans } => tenants.contains(tenant_id) || plans.iter().any(|chosen| chosen == plan),
        }
    }
}

/// A tool as a tenant sees it: exposed to it by the platform, and on or switched off by the
/// tenant itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantTool {
    #[serde(flatten)]
    pub tool: CatalogEntry,
    /// The tenant's own switch.
    pub on: bool,
}

/// One tenant's recent calls of one tool, as a platform admin sees them before switching it off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct ToolUsage {
    pub tenant_slug: String,
    pub tenant_name: String,
    pub calls: i64,
    pub last_call_at: i64,
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
    pub action: ImportAction,
    pub name: String,
    pub scope: Scope,
    pub agent: Option<String>,
    /// The stored document before (for updates and deletes), pretty JSON.
    pub before: Option<String>,
    /// The document after (for creates and updates), pretty JSON.
    pub after: Option<String>,
    /// Delegation warnings (partial overlaps with a parent's rules).
    pub warnings: Vec<String>,
}

/// What an import does to one policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportAction {
    Create,
    Update,
    Unchanged,
    Delete,
}

impl ImportAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportAction::Create => "create",
            ImportAction::Update => "update",
            ImportAction::Unchanged => "unchanged",
            ImportAction::Delete => "delete",
        }
    }
}

impl std::fmt::Display for ImportAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: TryFrom<String, Error = UnknownName> + PartialEq + std::fmt::Debug + Copy>(all: &[T], name: impl Fn(T) -> &'static str, kind: &str) {
        for value in all {
            assert_eq!(T::try_from(name(*value).to_owned()), Ok(*value));
        }
        let err = T::try_from("bogus".to_owned()).unwrap_err();
        assert_eq!(err.to_string(), format!("`bogus` is not a {kind}"));
    }

    #[test]
    fn stored_names_read_back_and_unknown_ones_are_named() {
        check(&Role::ALL, Role::as_str, "role");
        check(&[ActorKind::User, ActorKind::ApiKey, ActorKind::System], ActorKind::as_str, "actor kind");
        check(&ApprovalStatus::ALL, ApprovalStatus::as_str, "approval status");
    }

    #[test]
    fn serialised_names_are_the_stored_ones() {
        for status in ApprovalStatus::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert_eq!(serde_json::to_value(ImportAction::Unchanged).unwrap(), "unchanged");
        assert_eq!(serde_json::to_value(ActorKind::ApiKey).unwrap(), ActorKind::ApiKey.as_str());
    }

    #[test]
    fn a_pending_approval_expires_at_its_expiry_and_not_before() {
        let approval = |status| Approval {
            id: ApprovalId::new("a"),
            tenant_id: TenantId::new("t"),
            receipt_id: ReceiptId::new("r"),
            agent: None,
            principal: "{}".into(),
            tool: "x".into(),
            args: "{}".into(),
            args_digest: String::new(),
            approvers: "[]".into(),
            matched: "[]".into(),
            policy_versions: "{}".into(),
            reason: String::new(),
            status,
            requested_at: 0,
            expires_at: 100,
            resolved_at: None,
            resolved_by: None,
            comment: None,
            votes: "[]".into(),
            consumed_at: None,
        };
        assert_eq!(approval(ApprovalStatus::Pending).expire_if_due(99).status, ApprovalStatus::Pending);
        assert_eq!(approval(ApprovalStatus::Pending).expire_if_due(100).status, ApprovalStatus::Expired);
        assert_eq!(approval(ApprovalStatus::Approved).expire_if_due(1_000).status, ApprovalStatus::Approved);
    }
}
