//! The decision and its explanation: what was decided, why, and by which rules.
//!
//! Every type here crosses to the browser (the console's previewer), so all of them serialise.

use serde::{Deserialize, Serialize};

use crate::model::{Effect, PolicyRef, RateKeyKind, RuleRef, Window};
use crate::rate::RateKey;

/// The outcome. The declaration order is the order of restrictiveness, so `max` picks the most
/// restrictive of several verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    RequireApproval,
    Deny,
}

impl Verdict {
    /// The verdict's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::RequireApproval => "require_approval",
            Verdict::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which step of the decision procedure settled the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The tool is not enabled on the platform.
    ToolDisabled,
    /// A matching rule denies the call explicitly.
    ExplicitDeny,
    /// A matching rule's `only_when` conditions do not hold.
    Requirement,
    /// An argument is over its effective cap.
    Cap,
    /// A rate limit is exhausted.
    RateLimit,
    /// A budget (a running total) would be exceeded.
    Budget,
    /// The shared counters (rate limits, budgets, sessions) could not be reached, and the call
    /// needed them: it is refused rather than let through uncounted.
    CountersUnavailable,
    /// The scopes' rules decided (the most restrictive scope verdict).
    Rules,
    /// Every scope abstained and the default behaviour applied.
    Default,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
    pub basis: Basis,
    /// Every rule whose tool, targets and conditions matched, in scope order.
    pub matched: Vec<MatchedRule>,
    /// Rules whose tool matched but whose targets or conditions did not.
    pub near_misses: Vec<NearMiss>,
    /// The caps and rate limits in force for this call, each with the rule that set it.
    pub limits: Vec<EffectiveLimit>,
    /// Obligations accumulated from every matching rule.
    pub obligations: Vec<Obligation>,
    /// Approver roles, all of which must approve, when the verdict is `require_approval`.
    pub approvers: Vec<String>,
    /// The policy whose default applied, when the basis is `default` and a policy set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_source: Option<PolicyRef>,
}

impl Decision {
    /// A denial made before any rule was consulted (a tool that is not enabled, a request the
    /// caller may not make): nothing matched, nothing is limited.
    pub fn refused(reason: String, basis: Basis) -> Decision {
        Decision {
            verdict: Verdict::Deny,
            reason,
            basis,
            matched: Vec::new(),
            near_misses: Vec::new(),
            limits: Vec::new(),
            obligations: Vec::new(),
            approvers: Vec::new(),
            default_source: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedRule {
    pub rule: RuleRef,
    pub tool: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether this rule settled the verdict (or set the cap or limit that did).
    pub decisive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearMiss {
    pub rule: RuleRef,
    pub tool: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    /// What failed, in words, such as "`args.amount` is 3000, not > 5000".
    pub failed: String,
}

/// A cap or rate limit in force, with the rule that set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EffectiveLimit {
    Cap {
        field: String,
        max: f64,
        /// The argument's value in this request, when it has a numeric one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        source: RuleRef,
    },
    /// A lower bound: the highest `min` of the matching rules.
    Floor {
        field: String,
        min: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        source: RuleRef,
    },
    /// The argument must be present (and a number), as the first rule that said so requires.
    Required {
        field: String,
        present: bool,
        source: RuleRef,
    },
    /// A running total, the lowest `max` of the matching rules with the same counter.
    Budget {
        field: String,
        max: f64,
        per: Window,
        per_key: RateKeyKind,
        key: RateKey,
        /// What this call adds: the argument's value, when it has a numeric one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<f64>,
        /// The total of the window before this call; `None` when not read (a dry run, or a call
        /// denied before counting).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spent: Option<f64>,
        source: RuleRef,
    },
    Rate {
        calls: u64,
        per: Window,
        per_key: RateKeyKind,
        key: RateKey,
        /// Calls counted in the current window, this one included; `None` when not counted
        /// (a dry run, or a call denied before counting).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        source: RuleRef,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObligationKind {
    /// Redact the field in the tool's arguments (`args.*`) or result (`result.*`).
    Mask,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Obligation {
    pub kind: ObligationKind,
    pub field: String,
    /// Every matching rule that asked for it.
    pub sources: Vec<RuleRef>,
}
