//! Reading the policy model from a document, with validation.
//!
//! Each validated type is read in two steps inside the same YAML or JSON mapping: first its raw
//! fields (unknown fields are errors), then `validate` checks what the fields mean together.
//! Doing the second step while the mapping is still being read lets the YAML library attach the
//! mapping's line and column to validation errors too.

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::agent::normalise_agent;
use crate::condition::{Condition, FieldPath, Root};
use crate::condition_syntax::Block;
use crate::error::{custom, FieldError};
use crate::model::{
    is_baseline_name, Budget, Cap, DefaultBehaviour, Effect, Policy, RateKeyKind, RateLimit, Rule,
    Scope, Targets, Window, MAX_EXTENDS,
};
use crate::regex_cache::BudgetScope;
use crate::tool::ToolMatch;

/// The most characters a policy's name may have.
pub const MAX_NAME_CHARS: usize = 200;
/// The most characters a policy's description may have.
pub const MAX_DESCRIPTION_CHARS: usize = 4_000;
/// The most rules one policy may hold; larger rule sets are split across policies (and so counted
/// against the tenant's policy quota).
pub const MAX_RULES: usize = 1_000;
/// How deeply `any`, `all` and `not` may nest in one rule's `when`. Far below what any person
/// writes, and far below the depth at which a stored document could no longer be read back.
pub const MAX_CONDITION_DEPTH: usize = 32;

fn condition_depth(condition: &Condition) -> usize {
    match condition {
        Condition::Field { .. } | Condition::Session(_) => 1,
        Condition::All(items) | Condition::Any(items) => {
            1 + items.iter().map(condition_depth).max().unwrap_or(0)
        }
        Condition::Not(inner) => 1 + condition_depth(inner),
    }
}

pub(crate) trait Validate: Sized {
    type Raw: DeserializeOwned;
    const EXPECTING: &'static str;
    fn validate(raw: Self::Raw) -> Result<Self, FieldError>;
}

fn deserialize_validated<'de, D: Deserializer<'de>, T: Validate>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(ValidatingVisitor::<T>(PhantomData))
}

struct ValidatingVisitor<T>(PhantomData<T>);

impl<'de, T: Validate> Visitor<'de> for ValidatingVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        let raw = T::Raw::deserialize(MapAccessDeserializer::new(map))?;
        T::validate(raw).map_err(FieldError::into_de)
    }
}

macro_rules! deserialize_via_validate {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserialize_validated(deserializer)
            }
        }
    )*};
}

deserialize_via_validate!(Rule, Targets, RateLimit, Budget);

/// Every policy is read under a fresh regex budget, so that one document (alone or in a bundle)
/// cannot make the server compile more than the per-policy limit before it is refused.
impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let _budget = BudgetScope::open();
        deserialize_validated(deserializer)
    }
}

/// Reads a policy's rules, refusing the one past [`MAX_RULES`] as soon as it starts, so that an
/// oversized document is not read to its end first.
fn rules_at_most_the_limit<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Rule>, D::Error> {
    struct Rules;
    impl<'de> Visitor<'de> for Rules {
        type Value = Vec<Rule>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of rules")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Rule>, A::Error> {
            let mut rules = Vec::new();
            while rules.len() < MAX_RULES {
                match seq.next_element()? {
                    Some(rule) => rules.push(rule),
                    None => return Ok(rules),
                }
            }
            match seq.next_element::<de::IgnoredAny>()? {
                None => Ok(rules),
                Some(_) => Err(de::Error::custom(format!(
                    "a policy holds at most {MAX_RULES} rules; split it into several policies"
                ))),
            }
        }
    }
    deserializer.deserialize_seq(Rules)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    description: Option<String>,
    scope: Scope,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    default: Option<DefaultBehaviour>,
    #[serde(default)]
    confidential: bool,
    #[serde(default)]
    baseline: Option<String>,
    #[serde(default)]
    extends: Vec<String>,
    #[serde(default, deserialize_with = "rules_at_most_the_limit")]
    rules: Vec<Rule>,
}

impl Validate for Policy {
    type Raw = RawPolicy;
    const EXPECTING: &'static str = "a policy (a map with `name`, `scope` and `rules`)";

    fn validate(raw: RawPolicy) -> Result<Self, FieldError> {
        if raw.name.trim().is_empty() {
            return Err(FieldError::new("name", "the name must not be empty"));
        }
        if raw.name.chars().count() > MAX_NAME_CHARS {
            return Err(FieldError::new(
                "name",
                format!("the name must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        if raw
            .description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
        {
            return Err(FieldError::new(
                "description",
                format!("the description must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        // An agent policy's agent is kept in its one spelling (see `agent.rs`).
        let agent = match (raw.scope, &raw.agent) {
            (Scope::Agent, None) => {
                return Err(FieldError::new(
                    "agent",
                    "an agent policy must name its `agent`",
                ))
            }
            (Scope::Agent, Some(agent)) => Some(
                normalise_agent(agent)
                    .map_err(|err| FieldError::new("agent", format!("the agent {err}")))?,
            ),
            (Scope::Platform | Scope::Tenant, Some(_)) => {
                let message = format!(
                    "`agent` is only allowed when scope is `agent`, not `{}`",
                    raw.scope
                );
                return Err(FieldError::new("agent", message));
            }
            (Scope::Platform | Scope::Tenant, None) => None,
        };
        if raw.confidential && raw.scope != Scope::Platform {
            return Err(FieldError::new(
                "confidential",
                "only a platform policy can be confidential",
            ));
        }
        match &raw.baseline {
            Some(_) if raw.scope != Scope::Platform => {
                return Err(FieldError::new(
                    "baseline",
                    "only a platform policy can be a baseline",
                ));
            }
            Some(name) if !is_baseline_name(name) => {
                return Err(FieldError::new(
                    "baseline",
                    format!("`{name}` cannot name a baseline: use 1 to 64 lower-case letters, digits and hyphens"),
                ));
            }
            _ => {}
        }
        if raw.baseline.is_some() && raw.confidential {
            return Err(FieldError::new(
                "confidential",
                "a baseline is read by the tenants that extend it, so it cannot be confidential",
            ));
        }
        if !raw.extends.is_empty() && raw.scope == Scope::Platform {
            return Err(FieldError::new(
                "extends",
                "only a tenant or agent policy extends baselines",
            ));
        }
        if raw.extends.len() > MAX_EXTENDS {
            return Err(FieldError::new(
                "extends",
                format!("a policy extends at most {MAX_EXTENDS} baselines"),
            ));
        }
        let mut named = HashSet::new();
        for (index, name) in raw.extends.iter().enumerate() {
            if !is_baseline_name(name) {
                return Err(FieldError::new(
                    format!("extends[{index}]"),
                    format!("`{name}` cannot name a baseline: use 1 to 64 lower-case letters, digits and hyphens"),
                ));
            }
            if !named.insert(name.as_str()) {
                return Err(FieldError::new(
                    format!("extends[{index}]"),
                    format!("baseline `{name}` is named twice"),
                ));
            }
        }
        let mut ids = HashSet::new();
        for (index, rule) in raw.rules.iter().enumerate() {
            if let Some(id) = &rule.id {
                if !ids.insert(id.as_str()) {
                    return Err(FieldError::new(
                        format!("rules[{index}].id"),
                        format!("rule id `{id}` is used twice"),
                    ));
                }
            }
        }
        Ok(Policy {
            id: raw.id.unwrap_or_default(),
            name: raw.name,
            description: raw.description.unwrap_or_default(),
            scope: raw.scope,
            agent,
            confidential: raw.confidential,
            baseline: raw.baseline,
            extends: raw.extends,
            version: raw.version.unwrap_or(0),
            default: raw.default,
            rules: raw.rules,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    #[serde(default)]
    id: Option<String>,
    tool: ToolMatch,
    #[serde(default)]
    when: Option<Block>,
    #[serde(default)]
    targets: Option<Targets>,
    #[serde(default)]
    only_when: Option<Block>,
    #[serde(default)]
    effect: Option<Effect>,
    #[serde(default)]
    approvers: Option<Vec<String>>,
    #[serde(default)]
    mask: Option<Vec<String>>,
    #[serde(default)]
    limit: Option<Caps>,
    #[serde(default)]
    rate_limit: Option<RateLimit>,
    #[serde(default)]
    budget: Option<Budget>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    priority: Option<i32>,
}

impl Validate for Rule {
    type Raw = RawRule;
    const EXPECTING: &'static str =
        "a rule (a map with `tool` and an `effect`, `only_when`, `limit`, `rate_limit`, `budget` or `mask`)";

    fn validate(raw: RawRule) -> Result<Self, FieldError> {
        let approvers = raw.approvers.unwrap_or_default();
        match raw.effect {
            Some(Effect::RequireApproval) if approvers.is_empty() => {
                return Err(FieldError::new(
                    "approvers",
                    "`require_approval` needs at least one approver role in `approvers`",
                ));
            }
            Some(Effect::Allow | Effect::Deny) | None if !approvers.is_empty() => {
                return Err(FieldError::new(
                    "approvers",
                    "`approvers` only apply when effect is `require_approval`",
                ));
            }
            _ => {}
        }
        if let Some(index) = approvers.iter().position(|a| a.trim().is_empty()) {
            return Err(FieldError::new(
                format!("approvers[{index}]"),
                "an approver role must not be empty",
            ));
        }
        let mask = raw.mask.unwrap_or_default();
        for (index, field) in mask.iter().enumerate() {
            check_mask_field(field)
                .map_err(|message| FieldError::new(format!("mask[{index}]"), message))?;
        }
        let Caps(limit) = raw.limit.unwrap_or(Caps(Vec::new()));
        let only_when: Vec<Condition> = raw.only_when.map(|Block(items)| items).unwrap_or_default();
        if raw.effect.is_none()
            && mask.is_empty()
            && limit.is_empty()
            && raw.rate_limit.is_none()
            && raw.budget.is_none()
            && only_when.is_empty()
        {
            return Err(FieldError::new(
                "",
                "a rule needs an `effect` (allow, deny, require_approval), an `only_when`, a `limit`, a `rate_limit`, a `budget` or a `mask`",
            ));
        }
        if raw.effect == Some(Effect::Deny) && !only_when.is_empty() {
            return Err(FieldError::new(
                "only_when",
                "`only_when` says when a call may go ahead, so it does not go with `effect: deny`; \
                 to deny under conditions, use `when`",
            ));
        }
        let when: Vec<Condition> = raw.when.map(|Block(items)| items).unwrap_or_default();
        for (name, conditions) in [("when", &when), ("only_when", &only_when)] {
            let depth = conditions.iter().map(condition_depth).max().unwrap_or(0);
            if depth > MAX_CONDITION_DEPTH {
                return Err(FieldError::new(
                    name,
                    format!("conditions nest {depth} levels deep; at most {MAX_CONDITION_DEPTH} are allowed"),
                ));
            }
        }
        Ok(Rule {
            id: raw.id,
            tool: raw.tool,
            when,
            targets: raw.targets,
            only_when,
            effect: raw.effect,
            approvers,
            mask,
            limit,
            rate_limit: raw.rate_limit,
            budget: raw.budget.map(Box::new),
            reason: raw.reason,
            priority: raw.priority,
        })
    }
}

fn check_mask_field(field: &str) -> Result<(), String> {
    let rest = field
        .strip_prefix("args.")
        .or_else(|| field.strip_prefix("result."));
    match rest {
        Some(rest) if !rest.split('.').any(str::is_empty) => Ok(()),
        _ => Err(format!(
            "mask field `{field}` must be a path under `args.` or `result.`"
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTargets {
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    users: Vec<String>,
}

impl Validate for Targets {
    type Raw = RawTargets;
    const EXPECTING: &'static str = "targets (a map with `roles`, `groups` or `users`)";

    fn validate(raw: RawTargets) -> Result<Self, FieldError> {
        if raw.roles.is_empty() && raw.groups.is_empty() && raw.users.is_empty() {
            return Err(FieldError::new(
                "",
                "targets need at least one of `roles`, `groups` or `users`",
            ));
        }
        Ok(Targets {
            roles: raw.roles,
            groups: raw.groups,
            users: raw.users,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRateLimit {
    calls: u64,
    per: Window,
    #[serde(default = "default_rate_key")]
    per_key: RateKeyKind,
}

fn default_rate_key() -> RateKeyKind {
    RateKeyKind::Tenant
}

impl Validate for RateLimit {
    type Raw = RawRateLimit;
    const EXPECTING: &'static str =
        "a rate limit such as `{ calls: 100, per: 1m, per_key: agent }`";

    fn validate(raw: RawRateLimit) -> Result<Self, FieldError> {
        if raw.calls == 0 {
            return Err(FieldError::new(
                "calls",
                "`calls` must be at least 1; use `effect: deny` to block a tool",
            ));
        }
        Ok(RateLimit {
            calls: raw.calls,
            per: raw.per,
            per_key: raw.per_key,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBudget {
    sum: FieldPath,
    max: f64,
    per: Window,
    #[serde(default = "default_rate_key")]
    per_key: RateKeyKind,
}

impl Validate for Budget {
    type Raw = RawBudget;
    const EXPECTING: &'static str =
        "a budget such as `{ sum: args.amount, max: 100000, per: 1d, per_key: tenant }`";

    fn validate(raw: RawBudget) -> Result<Self, FieldError> {
        if raw.sum.root() != Root::Args {
            return Err(FieldError::new(
                "sum",
                format!(
                    "a budget adds up an argument, so `{}` must start with `args.`",
                    raw.sum
                ),
            ));
        }
        if !raw.max.is_finite() || raw.max <= 0.0 {
            return Err(FieldError::new(
                "max",
                "`max` must be a number above 0; use `effect: deny` to block a tool",
            ));
        }
        Ok(Budget {
            sum: raw.sum,
            max: raw.max,
            per: raw.per,
            per_key: raw.per_key,
        })
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WindowVisitor)
    }
}

struct WindowVisitor;

impl Visitor<'_> for WindowVisitor {
    type Value = Window;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a window such as `30s`, `1m`, `1h`, `1d` or `minute`")
    }

    fn visit_u64<E: de::Error>(self, secs: u64) -> Result<Window, E> {
        Window::from_secs(secs).ok_or_else(|| custom("the window must be longer than zero"))
    }

    fn visit_i64<E: de::Error>(self, secs: i64) -> Result<Window, E> {
        match u64::try_from(secs) {
            Ok(secs) => self.visit_u64(secs),
            Err(_) => Err(custom("the window must be longer than zero")),
        }
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Window, E> {
        parse_window(text).ok_or_else(|| {
            custom(format!(
                "bad window `{text}`: write a number and a unit (s, m, h, d), such as `1m`"
            ))
        })
    }
}

fn parse_window(text: &str) -> Option<Window> {
    let text = text.trim();
    let named = match text {
        "second" => Some(1),
        "minute" => Some(60),
        "hour" => Some(3_600),
        "day" => Some(86_400),
        _ => None,
    };
    if let Some(secs) = named {
        return Window::from_secs(secs);
    }
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let count: u64 = digits.parse().ok()?;
    let size = match unit.trim() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    Window::from_secs(count.checked_mul(size)?)
}

/// The `limit` map: argument path to `{ max: number }` (or just the number).
pub(crate) struct Caps(Vec<Cap>);

impl<'de> Deserialize<'de> for Caps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(CapsVisitor)
    }
}

struct CapsVisitor;

impl<'de> Visitor<'de> for CapsVisitor {
    type Value = Caps;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of argument caps such as `{ args.amount: { max: 50000 } }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Caps, A::Error> {
        let mut caps: Vec<Cap> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let field = FieldPath::parse(&key).map_err(|e| FieldError::new(&key, e).into_de())?;
            if field.root() != Root::Args {
                return Err(FieldError::new(
                    &key,
                    format!("a cap applies to an argument, so `{key}` must start with `args.`"),
                )
                .into_de());
            }
            if caps.iter().any(|cap| cap.field == field) {
                return Err(FieldError::new(&key, format!("`{key}` is capped twice")).into_de());
            }
            let CapValue { min, max, required } = map.next_value()?;
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    let message = format!(
                        "`min` ({}) is above `max` ({}), so no value could pass",
                        crate::decide::number(min),
                        crate::decide::number(max)
                    );
                    return Err(FieldError::new(&key, message).into_de());
                }
            }
            caps.push(Cap {
                field,
                max,
                min,
                required,
            });
        }
        if caps.is_empty() {
            return Err(custom("`limit` needs at least one capped argument"));
        }
        Ok(Caps(caps))
    }
}

/// A cap: a number (the maximum), or a map of `min`, `max` and `required`.
struct CapValue {
    min: Option<f64>,
    max: Option<f64>,
    required: bool,
}

impl<'de> Deserialize<'de> for CapValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CapVisitor)
    }
}

struct CapVisitor;

impl CapVisitor {
    fn max<E: de::Error>(max: f64) -> Result<CapValue, E> {
        Ok(CapValue {
            min: None,
            max: Some(finite(max)?),
            required: false,
        })
    }
}

fn finite<E: de::Error>(v: f64) -> Result<f64, E> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(custom(format!(
            "a bound must be a finite number, not `{v}`"
        )))
    }
}

impl<'de> Visitor<'de> for CapVisitor {
    type Value = CapValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a cap such as `{ max: 50000 }` or `{ min: 0, max: 50000, required: true }`")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<CapValue, E> {
        Self::max(v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<CapValue, E> {
        Self::max(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<CapValue, E> {
        Self::max(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<CapValue, E> {
        Err(custom(format!(
            "the cap must be a number, not the string `{v}`"
        )))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<CapValue, E> {
        Err(custom(format!("the cap must be a number, not `{v}`")))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CapValue, A::Error> {
        let mut cap = CapValue {
            min: None,
            max: None,
            required: false,
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "max" => cap.max = Some(finite(map.next_value_seed(BoundSeed)?)?),
                "min" => cap.min = Some(finite(map.next_value_seed(BoundSeed)?)?),
                "required" => cap.required = map.next_value()?,
                _ => {
                    return Err(FieldError::new(
                        &key,
                        format!("unknown field `{key}`, expected `min`, `max` or `required`"),
                    )
                    .into_de())
                }
            }
        }
        if cap.min.is_none() && cap.max.is_none() && !cap.required {
            return Err(custom("a cap needs `max`, `min` or `required: true`"));
        }
        Ok(cap)
    }
}

/// One bound: a number, and nothing else.
struct BoundSeed;

impl<'de> de::DeserializeSeed<'de> for BoundSeed {
    type Value = f64;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<f64, D::Error> {
        struct Bound;
        impl Visitor<'_> for Bound {
            type Value = f64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
                Ok(v as f64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
                Ok(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
                Err(custom(format!(
                    "the cap must be a number, not the string `{v}`"
                )))
            }
        }
        deserializer.deserialize_any(Bound)
    }
}
