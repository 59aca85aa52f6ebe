//! Charter's policy engine: the policy language (YAML and JSON), its validation, a compiled and
//! indexed policy set per tenant, decisions with explanations, the effective policy of an agent
//! and the save-time delegation check.
//!
//! The crate is pure: no IO, no async. Rate-limit counters sit behind the `RateCounter` trait so
//! that a store can keep them; `InMemoryRateCounter` keeps them in the process. Compiled regexes
//! are shared through a process-wide memo (`regex_cache`), which changes what a parse costs, never
//! what it returns.
//!
//! ```
//! use charter_policy::{DecisionRequest, InMemoryRateCounter, PlatformSettings, Policy, PolicySet, Verdict};
//!
//! let platform = Policy::from_yaml(r#"
//! name: Platform guardrails
//! scope: platform
//! rules:
//!   - tool: "system.*"
//!     effect: deny
//!     reason: no shell access
//!   - tool: "*"
//!     effect: allow
//! "#).unwrap();
//! let set = PolicySet::compile(&PlatformSettings::default(), &[platform], &[], &[]);
//! let decision = set.decide(&DecisionRequest::new("system.exec"), &InMemoryRateCounter::new(), 0);
//! assert_eq!(decision.verdict, Verdict::Deny);
//! assert!(decision.reason.contains("no shell access"));
//! ```

mod agent;
mod bundle;
mod catalog;
mod compact;
mod compile;
mod condition;
mod condition_syntax;
mod decide;
mod delegation;
mod effective;
mod error;
mod explain;
mod glob_shape;
mod index;
mod lint;
mod locate;
mod model;
mod model_syntax;
pub use model_syntax::{MAX_CONDITION_DEPTH, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_RULES};
mod names;
mod parse;
mod pattern;
mod rate;
mod reach;
mod regex_cache;
mod replay;
mod request;
mod session;
mod tenant_view;
mod tool;

pub use agent::{normalise_agent, AgentNameError, MAX_AGENT_CHARS};
pub use bundle::{PolicyBundle, BUNDLE_FORMAT};
pub use catalog::{detect_source_kind, extract_tools, CatalogError, CatalogTool, SourceKind};
pub use compact::{
    CallRecord, CompactDecision, CompactLimit, CompactMatch, CompactMiss, CompactObligation,
    MissingRule, RulePointer, COMPACT_FORM,
};
pub use compile::{PlatformRules, PolicySet, TenantRules};
pub use condition::{
    Condition, FieldPath, FieldPathError, Operand, Root, Template, TemplatePart, Test, ValueType,
};
pub use delegation::{check_delegation, DelegationIssue, DelegationReport};
pub use effective::{EffectiveBudget, EffectiveCap, EffectivePolicy, EffectiveRate, EffectiveRule};
pub use error::{Format, ParseError};
pub use explain::{
    Basis, Decision, EffectiveLimit, MatchedRule, NearMiss, Obligation, ObligationKind, Verdict,
};
pub use lint::{check_policy, lint};
pub use locate::locate;
pub use model::{
    is_baseline_name, Budget, Cap, DefaultBehaviour, Effect, PlatformSettings, Policy, PolicyRef,
    RateKeyKind, RateLimit, Rule, RuleRef, Scope, Targets, Window, MAX_EXTENDS,
};
pub use names::UnknownName;
pub use parse::{detect_format, from_json, from_yaml, WriteError};
pub use pattern::{GlobPattern, PatternError, RegexPattern};
pub use rate::{CounterUnavailable, InMemoryRateCounter, RateCounter, RateKey, Spend};
pub use regex_cache::{
    RegexCost, RegexLimit, MAX_REGEXES_PER_POLICY, MAX_REGEXES_PER_TENANT, MAX_REGEX_BYTES,
    MAX_REGEX_BYTES_PER_POLICY, MAX_REGEX_BYTES_PER_TENANT, MAX_REGEX_CHARS,
};
pub use request::{DecisionRequest, Principal};
pub use session::{SessionHistory, SessionKey, SessionTest, MAX_SESSION_TOOLS, SESSION_TTL_MS};
pub use tenant_view::{matched_seen_by_tenant, reason_seen_by_tenant};
pub use tool::ToolMatch;
