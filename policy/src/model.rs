//! The policy model: what a policy document says once parsed and validated.
//!
//! Every type here serialises to the document language itself (see `docs/policy-language.md`), so
//! `Policy::to_yaml` writes what `Policy::from_yaml` reads. Deserialisation validates; the rules
//! for that live in `model_syntax.rs`.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::condition::{Condition, FieldPath};
use crate::regex_cache::RegexCost;
use crate::tool::ToolMatch;

/// Where a policy sits. The order is top-down: platform, then tenant, then agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Platform,
    Tenant,
    Agent,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Platform => "platform",
            Scope::Tenant => "tenant",
            Scope::Agent => "agent",
        })
    }
}

/// What happens when no rule in any scope decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultBehaviour {
    Allow,
    Deny,
}

impl fmt::Display for DefaultBehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DefaultBehaviour::Allow => "allow",
            DefaultBehaviour::Deny => "deny",
        })
    }
}

/// What a rule decides when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Deny,
    RequireApproval,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
            Effect::RequireApproval => "require_approval",
        })
    }
}

/// Platform-wide settings that are not policies: the default behaviour and the tool catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSettings {
    pub default: DefaultBehaviour,
    /// `None` means there is no catalog yet and every tool is enabled; `Some(set)` enables only
    /// the tools named in it.
    #[serde(default)]
    pub enabled_tools: Option<BTreeSet<String>>,
}

impl Default for PlatformSettings {
    /// A governance layer fails closed: without settings, nothing is allowed by default.
    fn default() -> Self {
        PlatformSettings {
            default: DefaultBehaviour::Deny,
            enabled_tools: None,
        }
    }
}

impl PlatformSettings {
    pub fn is_enabled(&self, tool: &str) -> bool {
        self.enabled_tools
            .as_ref()
            .is_none_or(|tools| tools.contains(tool))
    }
}

/// A named, described set of rules in one scope.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    /// Assigned by the store; empty when the document did not carry one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub scope: Scope,
    /// The agent an agent-scope policy governs; `None` for the other scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Assigned by the store; 0 when the document did not carry one.
    #[serde(skip_serializing_if = "is_zero")]
    pub version: u64,
    /// This scope's default when no rule decides. It can only make the parent's default
    /// stricter: evaluation takes the strictest default in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<DefaultBehaviour>,
    /// A platform policy whose rules tenants see only as "a platform boundary" with its reason
    /// (without even the tool match and effect that other platform rules show them).
    #[serde(skip_serializing_if = "is_false")]
    pub confidential: bool,
    /// On a platform policy: the name tenant and agent policies `extends` it by. A baseline is not
    /// enforced as a platform policy; its rules apply in the scope of each policy that extends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// On a tenant or agent policy: the baselines whose rules apply in this policy's scope as if
    /// written here. They are not the tenant's to change: they change with the platform's releases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extends: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
}

/// The most baselines one policy extends.
pub const MAX_EXTENDS: usize = 16;

/// Whether `name` can name a baseline: 1 to 64 lower-case letters, digits and hyphens, starting
/// with a letter or digit (`tenant-isolation`, `hipaa-phi`).
pub fn is_baseline_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Policy {
    /// How many regexes the policy holds (tool patterns and `matches` conditions) and what their
    /// compiled forms take, as the per-tenant limits count them.
    pub fn regex_cost(&self) -> RegexCost {
        let mut cost = RegexCost::default();
        for rule in &self.rules {
            if let ToolMatch::Regex(regex) = &rule.tool {
                cost = cost
                    + RegexCost {
                        count: 1,
                        bytes: regex.compiled_bytes(),
                    };
            }
            for condition in rule.when.iter().chain(&rule.only_when) {
                cost = cost + condition.regex_cost();
            }
        }
        cost
    }
}

fn is_false(flag: &bool) -> bool {
    !flag
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One rule. A rule must do something: decide (`effect`), or add an obligation, a cap or a rate
/// limit. Rules without an effect never make a scope vote; they only constrain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub tool: ToolMatch,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::condition_syntax::serialize_when"
    )]
    pub when: Vec<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Targets>,
    /// What must hold for a call this rule governs to go ahead: when the tool, targets and `when`
    /// match but these conditions do not all hold, the call is denied with the rule's reason.
    /// This is how a child scope adds a condition to something its parent allows.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "crate::condition_syntax::serialize_when"
    )]
    pub only_when: Vec<Condition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// Fields to redact, `args.*` (in the tool's arguments) or `result.*` (in its result).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mask: Vec<String>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_caps"
    )]
    pub limit: Vec<Cap>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<Box<Budget>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Higher wins inside a scope; a rule without one has priority 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

impl Rule {
    /// A rule with conditions or targets is "conditional": it beats an unconditional rule of the
    /// same priority and kind of tool match inside its scope.
    pub fn is_conditional(&self) -> bool {
        !self.when.is_empty() || self.targets.is_some()
    }

    /// Whether the rule carries conditions a call must meet to go ahead (`only_when`).
    pub fn has_requirement(&self) -> bool {
        !self.only_when.is_empty()
    }

    /// A one-line summary such as "`system.*` deny", for messages.
    pub fn summary(&self) -> String {
        self.summarised().to_string()
    }

    /// [`Rule::summary`] without building a string, to write into a longer message.
    pub fn summarised(&self) -> RuleSummary<'_> {
        RuleSummary(self)
    }
}

/// A rule's one-line summary, written where it is needed (see [`Rule::summary`]).
pub struct RuleSummary<'a>(&'a Rule);

impl fmt::Display for RuleSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = self.0;
        write!(f, "`{}`", rule.tool)?;
        if let Some(effect) = rule.effect {
            write!(f, " {effect}")?;
        }
        match (rule.effect, rule.has_requirement()) {
            (Some(_), true) => f.write_str(" with a requirement"),
            (None, true) => f.write_str(" requirement"),
            (_, false) => Ok(()),
        }
    }
}

/// Whom a rule applies to: a principal with any of the roles, in any of the groups, or any of
/// the users. A rule without targets applies to everyone.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Targets {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

/// Numeric bounds on an argument: `min <= field <= max`, each optional, and whether the argument
/// must be present. A cap with neither bound only requires the argument to be present and a
/// number.
#[derive(Debug, Clone, PartialEq)]
pub struct Cap {
    pub field: FieldPath,
    pub max: Option<f64>,
    pub min: Option<f64>,
    pub required: bool,
}

/// Whose calls a rate limit counts together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateKeyKind {
    Tenant,
    Agent,
    User,
    /// Per API key: `context.api_key`, which the server sets to the calling key's prefix.
    Key,
}

impl fmt::Display for RateKeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RateKeyKind::Tenant => "tenant",
            RateKeyKind::Agent => "agent",
            RateKeyKind::User => "user",
            RateKeyKind::Key => "key",
        })
    }
}

/// At most `calls` calls per `per` window, counted per `per_key`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLimit {
    pub calls: u64,
    pub per: Window,
    pub per_key: RateKeyKind,
}

impl RateLimit {
    /// Calls per second, to compare limits with different windows.
    pub fn rate(&self) -> f64 {
        self.calls as f64 / self.per.secs() as f64
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} calls per {} per {}",
            self.calls, self.per, self.per_key
        )
    }
}

/// A running total: the calls that went ahead may add up `sum` to at most `max` per `per`
/// window, counted per `per_key` ("at most $100,000 per day per tenant").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Budget {
    pub sum: FieldPath,
    #[serde(serialize_with = "serialize_bound")]
    pub max: f64,
    pub per: Window,
    pub per_key: RateKeyKind,
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} adding up to {} per {} per {}",
            self.sum,
            crate::decide::number(self.max),
            self.per,
            self.per_key
        )
    }
}

fn serialize_bound<S: Serializer>(n: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serialize_number(*n, serializer)
}

/// A rate-limit window, in whole seconds, written like `30s`, `1m`, `2h` or `1d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    secs: u64,
}

impl Window {
    /// `None` for a zero-length window, which could never let a call through.
    pub fn from_secs(secs: u64) -> Option<Self> {
        (secs > 0).then_some(Window { secs })
    }

    pub fn secs(self) -> u64 {
        self.secs
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(self.secs)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(86_400, "d"), (3_600, "h"), (60, "m")];
        for (size, unit) in units {
            if self.secs.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.secs / size);
            }
        }
        write!(f, "{}s", self.secs)
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Writes a cap as a plain integer when it is one, so `max: 50000` reads back as written.
pub(crate) fn serialize_number<S: Serializer>(n: f64, serializer: S) -> Result<S::Ok, S::Error> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() < EXACT {
        serializer.serialize_i64(n as i64)
    } else {
        serializer.serialize_f64(n)
    }
}

fn serialize_caps<S: Serializer>(caps: &[Cap], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    struct Bounds<'a>(&'a Cap);
    impl Serialize for Bounds<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut map = serializer.serialize_map(None)?;
            if let Some(min) = self.0.min {
                map.serialize_entry("min", &Number(min))?;
            }
            if let Some(max) = self.0.max {
                map.serialize_entry("max", &Number(max))?;
            }
            if self.0.required {
                map.serialize_entry("required", &true)?;
            }
            map.end()
        }
    }
    let mut map = serializer.serialize_map(Some(caps.len()))?;
    for cap in caps {
        map.serialize_entry(cap.field.as_str(), &Bounds(cap))?;
    }
    map.end()
}

/// An `f64` that serialises through `serialize_number`.
pub(crate) struct Number(pub f64);

impl Serialize for Number {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_number(self.0, serializer)
    }
}

/// Identifies a policy in explanations and reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PolicyRef {
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub policy_id: String,
    pub policy_name: String,
    pub version: u64,
    /// The policy is a confidential platform policy (see [`Policy::confidential`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub confidential: bool,
}

impl PolicyRef {
    pub fn of(policy: &Policy) -> Self {
        PolicyRef {
            scope: policy.scope,
            agent: policy.agent.clone(),
            policy_id: policy.id.clone(),
            policy_name: policy.name.clone(),
            version: policy.version,
            confidential: policy.confidential,
        }
    }

    /// What a tenant is told of a platform policy: that a platform boundary applies, not which
    /// policy it is (no id, name or version).
    pub fn platform_boundary(confidential: bool) -> Self {
        PolicyRef {
            scope: Scope::Platform,
            agent: None,
            policy_id: String::new(),
            policy_name: String::new(),
            version: 0,
            confidential,
        }
    }

    /// Whether this is a [`PolicyRef::platform_boundary`]: a real policy always has a name.
    pub fn is_platform_boundary(&self) -> bool {
        self.scope == Scope::Platform && self.policy_name.is_empty()
    }
}

impl fmt::Display for PolicyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_platform_boundary() {
            return f.write_str("a platform boundary");
        }
        match (&self.scope, &self.agent) {
            (Scope::Agent, Some(agent)) => {
                write!(f, "agent `{agent}` policy `{}`", self.policy_name)
            }
            (scope, _) => write!(f, "{scope} policy `{}`", self.policy_name),
        }
    }
}

/// Identifies one rule of one policy. `rule_index` is 0-based (as in `rules[0]`); messages
/// count rules from 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleRef {
    #[serde(flatten)]
    pub policy: PolicyRef,
    pub rule_index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.policy.is_platform_boundary() {
            return write!(f, "{}", self.policy);
        }
        write!(f, "{} rule {}", self.policy, self.rule_index + 1)
    }
}
