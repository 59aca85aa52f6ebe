//! A decision as a receipt keeps it: only what cannot be read again from the policy set that made
//! it.
//!
//! A full explanation names each rule with its policy's name, the rule's tool, effect and reason,
//! and says in words why each near miss missed; most of that is in the policies themselves, which
//! are immutable per version. A [`CompactDecision`] keeps the verdict, basis and reason, points at
//! rules by policy id, version and position, and keeps a near miss's words only when evaluating
//! the rule again on the stored request would not give them (a session rule, a masked field).
//! [`PolicySet::expand`], on the set of the same release and revision, gives back exactly the
//! decision that was compacted.

use serde::{Deserialize, Serialize};

use crate::compile::{CompiledRule, PolicySet};
use crate::condition::Facts;
use crate::explain::{
    Basis, Decision, EffectiveLimit, MatchedRule, NearMiss, Obligation, ObligationKind, Verdict,
};
use crate::model::{PolicyRef, RateKeyKind, RuleRef, Scope, Window};
use crate::rate::RateKey;
use crate::request::Principal;

/// The version of the compact form, so a reader can tell it from a full decision.
pub const COMPACT_FORM: u8 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompactDecision {
    /// Always [`COMPACT_FORM`].
    pub compact: u8,
    pub verdict: Verdict,
    pub basis: Basis,
    pub reason: String,
    /// The rules the fields below point at (by position here), each once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RulePointer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<CompactMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub near_misses: Vec<CompactMiss>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<CompactLimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub obligations: Vec<CompactObligation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_source: Option<PolicyRef>,
}

/// One rule of one policy version, in one scope (and agent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulePointer {
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    pub policy: String,
    pub version: u64,
    pub rule: usize,
}

impl RulePointer {
    fn of(rule: &RuleRef) -> RulePointer {
        RulePointer {
            scope: rule.policy.scope,
            agent: rule.policy.agent.clone(),
            policy: rule.policy.policy_id.clone(),
            version: rule.policy.version,
            rule: rule.rule_index,
        }
    }

    fn names(&self, rule: &RuleRef) -> bool {
        self.scope == rule.policy.scope
            && self.agent == rule.policy.agent
            && self.policy == rule.policy.policy_id
            && self.version == rule.policy.version
            && self.rule == rule.rule_index
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactMatch {
    pub rule: usize,
    pub decisive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactMiss {
    pub rule: usize,
    /// The words, when evaluating the rule again would not give them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// An [`EffectiveLimit`] whose source is a pointer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CompactLimit {
    Cap {
        field: String,
        max: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        source: usize,
    },
    Floor {
        field: String,
        min: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<f64>,
        source: usize,
    },
    Required {
        field: String,
        present: bool,
        source: usize,
    },
    Budget {
        field: String,
        max: f64,
        per: Window,
        per_key: RateKeyKind,
        key: RateKey,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        spent: Option<f64>,
        source: usize,
    },
    Rate {
        calls: u64,
        per: Window,
        per_key: RateKeyKind,
        key: RateKey,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
        source: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactObligation {
    pub kind: ObligationKind,
    pub field: String,
    pub sources: Vec<usize>,
}

/// What a receipt keeps of a call that the engine reads again: the arguments (masked fields
/// masked), the context and the principal.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    pub args: &'a serde_json::Value,
    pub context: &'a serde_json::Map<String, serde_json::Value>,
    pub principal: &'a Principal,
}

impl<'a> CallRecord<'a> {
    fn facts(&self) -> Facts<'a> {
        Facts::new(self.args, self.context, self.principal)
    }
}

/// Why a compact decision could not be expanded: it points at a rule the set does not hold (it
/// was expanded with another release or revision than the one that decided).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule} of policy `{policy}` version {version} is not in this policy set")]
pub struct MissingRule {
    pub policy: String,
    pub version: u64,
    pub rule: usize,
}

impl PolicySet {
    /// The compact form of `decision`, which this set made for `stored` (the request as the
    /// receipt keeps it, masked fields masked; `decision` masked the same way). `None` when the
    /// decision names a rule this set does not hold: keep it whole then.
    pub fn compact(&self, decision: &Decision, stored: CallRecord<'_>) -> Option<CompactDecision> {
        let mut table = Pointers::default();
        let facts = stored.facts();
        let mut matched = Vec::with_capacity(decision.matched.len());
        for rule in &decision.matched {
            let at = table.at(&rule.rule);
            matched.push(CompactMatch {
                rule: at,
                decisive: rule.decisive,
            });
        }
        let mut near_misses = Vec::with_capacity(decision.near_misses.len());
        for miss in &decision.near_misses {
            let compiled = self.find_ref(&miss.rule)?;
            if compiled.rule.tool.as_str() != miss.tool || compiled.rule.effect != miss.effect {
                return None;
            }
            let again = crate::decide::check(compiled, &facts, stored.principal).err();
            let failed =
                (again.as_deref() != Some(miss.failed.as_str())).then(|| miss.failed.clone());
            near_misses.push(CompactMiss {
                rule: table.at(&miss.rule),
                failed,
            });
        }
        let limits = decision
            .limits
            .iter()
            .map(|limit| compact_limit(limit, &mut table))
            .collect();
        let obligations = decision
            .obligations
            .iter()
            .map(|obligation| CompactObligation {
                kind: obligation.kind,
                field: obligation.field.clone(),
                sources: obligation
                    .sources
                    .iter()
                    .map(|rule| table.at(rule))
                    .collect(),
            })
            .collect();
        // Every pointer must lead back to its rule as the decision names it, with the same tool,
        // effect and reason.
        // A pointer names no policy by name: two copies of one baseline extended by two policies
        // of one scope share it, and only the first is found again. The decision stays whole then.
        for (pointer, rule) in table.pointers.iter().zip(&table.refs) {
            if self.find(pointer)?.source != *rule {
                return None;
            }
        }
        for rule in &decision.matched {
            let compiled = self.find_ref(&rule.rule)?;
            let same = compiled.rule.tool.as_str() == rule.tool
                && compiled.rule.effect == rule.effect
                && compiled.rule.reason == rule.reason;
            if !same {
                return None;
            }
        }
        Some(CompactDecision {
            compact: COMPACT_FORM,
            verdict: decision.verdict,
            basis: decision.basis,
            reason: decision.reason.clone(),
            rules: table.pointers,
            matched,
            near_misses,
            limits,
            obligations,
            approvers: decision.approvers.clone(),
            default_source: decision.default_source.clone(),
        })
    }

    /// The decision `compact` was made from, for the request as the receipt keeps it.
    pub fn expand(
        &self,
        compact: &CompactDecision,
        stored: CallRecord<'_>,
    ) -> Result<Decision, MissingRule> {
        let rules: Vec<&CompiledRule> = compact
            .rules
            .iter()
            .map(|pointer| {
                self.find(pointer).ok_or_else(|| MissingRule {
                    policy: pointer.policy.clone(),
                    version: pointer.version,
                    rule: pointer.rule,
                })
            })
            .collect::<Result<_, _>>()?;
        let rule = |at: usize| {
            rules.get(at).copied().ok_or_else(|| MissingRule {
                policy: String::new(),
                version: 0,
                rule: at,
            })
        };
        let facts = stored.facts();
        let matched = compact
            .matched
            .iter()
            .map(|m| Ok(matched_rule(rule(m.rule)?, m.decisive)))
            .collect::<Result<_, MissingRule>>()?;
        let near_misses = compact
            .near_misses
            .iter()
            .map(|miss| {
                let compiled = rule(miss.rule)?;
                let failed = match &miss.failed {
                    Some(failed) => failed.clone(),
                    None => crate::decide::check(compiled, &facts, stored.principal)
                        .err()
                        .unwrap_or_default(),
                };
                Ok(NearMiss {
                    rule: compiled.source.clone(),
                    tool: compiled.rule.tool.to_string(),
                    effect: compiled.rule.effect,
                    failed,
                })
            })
            .collect::<Result<_, MissingRule>>()?;
        let limits = compact
            .limits
            .iter()
            .map(|limit| expand_limit(limit, &rule))
            .collect::<Result<_, MissingRule>>()?;
        let obligations = compact
            .obligations
            .iter()
            .map(|obligation| {
                Ok(Obligation {
                    kind: obligation.kind,
                    field: obligation.field.clone(),
                    sources: obligation
                        .sources
                        .iter()
                        .map(|&at| Ok(rule(at)?.source.clone()))
                        .collect::<Result<_, MissingRule>>()?,
                })
            })
            .collect::<Result<_, MissingRule>>()?;
        Ok(Decision {
            verdict: compact.verdict,
            reason: compact.reason.clone(),
            basis: compact.basis,
            matched,
            near_misses,
            limits,
            obligations,
            approvers: compact.approvers.clone(),
            default_source: compact.default_source.clone(),
        })
    }

    /// The rule `rule` names, exactly as it names it.
    fn find_ref(&self, rule: &RuleRef) -> Option<&CompiledRule> {
        self.rules_at(&rule.policy.policy_id, rule.policy.version, rule.rule_index)
            .find(|compiled| compiled.source == *rule)
    }

    fn find(&self, pointer: &RulePointer) -> Option<&CompiledRule> {
        self.rules_at(&pointer.policy, pointer.version, pointer.rule)
            .find(|rule| pointer.names(&rule.source))
    }
}

fn matched_rule(rule: &CompiledRule, decisive: bool) -> MatchedRule {
    MatchedRule {
        rule: rule.source.clone(),
        tool: rule.rule.tool.to_string(),
        effect: rule.rule.effect,
        reason: rule.rule.reason.clone(),
        decisive,
    }
}

/// The rules a compact decision points at, each once.
#[derive(Default)]
struct Pointers {
    pointers: Vec<RulePointer>,
    refs: Vec<RuleRef>,
}

impl Pointers {
    fn at(&mut self, rule: &RuleRef) -> usize {
        match self.refs.iter().position(|known| known == rule) {
            Some(at) => at,
            None => {
                self.pointers.push(RulePointer::of(rule));
                self.refs.push(rule.clone());
                self.refs.len() - 1
            }
        }
    }
}

fn compact_limit(limit: &EffectiveLimit, table: &mut Pointers) -> CompactLimit {
    match limit {
        EffectiveLimit::Cap {
            field,
            max,
            value,
            source,
        } => CompactLimit::Cap {
            field: field.clone(),
            max: *max,
            value: *value,
            source: table.at(source),
        },
        EffectiveLimit::Floor {
            field,
            min,
            value,
            source,
        } => CompactLimit::Floor {
            field: field.clone(),
            min: *min,
            value: *value,
            source: table.at(source),
        },
        EffectiveLimit::Required {
            field,
            present,
            source,
        } => CompactLimit::Required {
            field: field.clone(),
            present: *present,
            source: table.at(source),
        },
        EffectiveLimit::Budget {
            field,
            max,
            per,
            per_key,
            key,
            amount,
            spent,
            source,
        } => CompactLimit::Budget {
            field: field.clone(),
            max: *max,
            per: *per,
            per_key: *per_key,
            key: key.clone(),
            amount: *amount,
            spent: *spent,
            source: table.at(source),
        },
        EffectiveLimit::Rate {
            calls,
            per,
            per_key,
            key,
            count,
            source,
        } => CompactLimit::Rate {
            calls: *calls,
            per: *per,
            per_key: *per_key,
            key: key.clone(),
            count: *count,
            source: table.at(source),
        },
    }
}

fn expand_limit<'a>(
    limit: &CompactLimit,
    rule: &impl Fn(usize) -> Result<&'a CompiledRule, MissingRule>,
) -> Result<EffectiveLimit, MissingRule> {
    Ok(match limit {
        CompactLimit::Cap {
            field,
            max,
            value,
            source,
        } => EffectiveLimit::Cap {
            field: field.clone(),
            max: *max,
            value: *value,
            source: rule(*source)?.source.clone(),
        },
        CompactLimit::Floor {
            field,
            min,
            value,
            source,
        } => EffectiveLimit::Floor {
            field: field.clone(),
            min: *min,
            value: *value,
            source: rule(*source)?.source.clone(),
        },
        CompactLimit::Required {
            field,
            present,
            source,
        } => EffectiveLimit::Required {
            field: field.clone(),
            present: *present,
            source: rule(*source)?.source.clone(),
        },
        CompactLimit::Budget {
            field,
            max,
            per,
            per_key,
            key,
            amount,
            spent,
            source,
        } => EffectiveLimit::Budget {
            field: field.clone(),
            max: *max,
            per: *per,
            per_key: *per_key,
            key: key.clone(),
            amount: *amount,
            spent: *spent,
            source: rule(*source)?.source.clone(),
        },
        CompactLimit::Rate {
            calls,
            per,
            per_key,
            key,
            count,
            source,
        } => EffectiveLimit::Rate {
            calls: *calls,
            per: *per,
            per_key: *per_key,
            key: key.clone(),
            count: *count,
            source: rule(*source)?.source.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::{InMemoryRateCounter, PlatformSettings, Policy};

    fn policy(id: &str, name: &str) -> Policy {
        let mut policy = Policy::from_yaml(&format!(
            "name: {name}\nscope: tenant\nrules:\n  - tool: \"docs.*\"\n    effect: allow\n"
        ))
        .unwrap();
        policy.id = id.into();
        policy.version = 3;
        policy
    }

    #[test]
    fn a_decision_naming_one_of_two_copies_of_a_baseline_stays_whole() {
        // Two tenant policies extend one baseline: two copies with one id, version and scope.
        let copies = [
            policy("baseline:docs", "baseline docs (extended by A)"),
            policy("baseline:docs", "baseline docs (extended by B)"),
        ];
        let set = PolicySet::compile(&PlatformSettings::default(), &[], &copies, &[]);
        let request = crate::DecisionRequest::new("docs.read");
        let decision = set.decide(&request, &InMemoryRateCounter::new(), 0);
        assert_eq!(decision.matched.len(), 2, "{decision:?}");
        assert_eq!(set.compact(&decision, request.record()), None);

        let single = PolicySet::compile(&PlatformSettings::default(), &[], &copies[..1], &[]);
        let decision = single.decide(&request, &InMemoryRateCounter::new(), 0);
        let compact = single.compact(&decision, request.record()).unwrap();
        assert_eq!(single.expand(&compact, request.record()).unwrap(), decision);
    }
}
