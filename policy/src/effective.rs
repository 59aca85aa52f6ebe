//! The effective policy of an agent: everything that governs it, merged, each part with its
//! source. This is what the console's previewer shows next to its what-if box.

use serde::{Deserialize, Serialize};

use crate::compile::{CompiledRule, PolicySet};
use crate::model::{DefaultBehaviour, PolicyRef, RateKeyKind, Rule, RuleRef, Window};
use crate::tool::{overlap, Overlap};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectivePolicy {
    pub agent: Option<String>,
    /// The default applied when no rule decides.
    pub default: DefaultBehaviour,
    /// The policy that set the default; `None` when it is the platform settings' default.
    pub default_source: Option<PolicyRef>,
    /// The enabled tools, or `None` when every tool is enabled.
    pub enabled_tools: Option<Vec<String>>,
    /// Platform, then tenant, then the agent's rules.
    pub rules: Vec<EffectiveRule>,
    pub caps: Vec<EffectiveCap>,
    pub rate_limits: Vec<EffectiveRate>,
    #[serde(default)]
    pub budgets: Vec<EffectiveBudget>,
    /// Rules of confidential platform policies left out of this view (for tenants only).
    #[serde(default)]
    pub withheld: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveRule {
    pub source: RuleRef,
    pub rule: Rule,
}

/// One cap as written, and the tightest bounds that certainly apply wherever it does: the lowest
/// unconditional `max` and the highest unconditional `min` on the same argument among rules
/// whose tools include all of this rule's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveCap {
    pub tool: String,
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default)]
    pub required: bool,
    pub source: RuleRef,
    /// The rule has conditions or targets, so the cap applies to some calls only.
    pub conditional: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_max: Option<f64>,
    /// The rule that set `effective_max`.
    pub effective_source: RuleRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_min: Option<f64>,
    /// The rule that set `effective_min`.
    pub effective_min_source: RuleRef,
}

/// One rate limit as written, and the lowest limit with the same key and window among rules
/// whose tools include all of this rule's and that always apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveRate {
    pub tool: String,
    pub calls: u64,
    pub per: Window,
    pub per_key: RateKeyKind,
    pub source: RuleRef,
    pub conditional: bool,
    pub effective_calls: u64,
    pub effective_source: RuleRef,
}

/// One budget as written, and the lowest budget on the same argument, window and key among rules
/// whose tools include all of this rule's and that always apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveBudget {
    pub tool: String,
    pub field: String,
    pub max: f64,
    pub per: Window,
    pub per_key: RateKeyKind,
    pub source: RuleRef,
    pub conditional: bool,
    pub effective_max: f64,
    pub effective_source: RuleRef,
}

impl PolicySet {
    /// The merged view for one agent (or, with `None`, for calls made without an agent).
    pub fn effective_for_agent(&self, agent: Option<&str>) -> EffectivePolicy {
        let rules: Vec<&CompiledRule> = self.rules_for_agent(agent);
        let default = &self.default_for(agent);
        EffectivePolicy {
            agent: agent.map(str::to_string),
            default: default.behaviour,
            default_source: default.source.clone(),
            enabled_tools: self
                .settings
                .enabled_tools
                .as_ref()
                .map(|tools| tools.iter().cloned().collect()),
            rules: rules
                .iter()
                .map(|r| EffectiveRule {
                    source: r.source.clone(),
                    rule: r.rule.clone(),
                })
                .collect(),
            caps: caps(&rules),
            rate_limits: rate_limits(&rules),
            budgets: budgets(&rules),
            withheld: 0,
        }
    }
}

/// Whether `wide` always applies wherever `narrow` does, as far as tools and conditions go.
fn always_covers(wide: &CompiledRule, narrow: &CompiledRule) -> bool {
    !wide.rule.is_conditional() && overlap(&narrow.rule.tool, &wide.rule.tool) == Overlap::Subset
}

fn caps(rules: &[&CompiledRule]) -> Vec<EffectiveCap> {
    let mut caps = Vec::new();
    for rule in rules {
        for cap in &rule.rule.limit {
            let mut effective_max = cap.max;
            let mut effective_min = cap.min;
            let mut effective_source = rule.source.clone();
            let mut effective_min_source = rule.source.clone();
            for other in rules.iter().filter(|other| always_covers(other, rule)) {
                for other_cap in other.rule.limit.iter().filter(|c| c.field == cap.field) {
                    if let Some(other_max) = other_cap.max {
                        if effective_max.is_none_or(|max| other_max < max) {
                            effective_max = Some(other_max);
                            effective_source = other.source.clone();
                        }
                    }
                    if let Some(other_min) = other_cap.min {
                        if effective_min.is_none_or(|min| other_min > min) {
                            effective_min = Some(other_min);
                            effective_min_source = other.source.clone();
                        }
                    }
                }
            }
            caps.push(EffectiveCap {
                tool: rule.rule.tool.to_string(),
                field: cap.field.to_string(),
                max: cap.max,
                min: cap.min,
                required: cap.required,
                source: rule.source.clone(),
                conditional: rule.rule.is_conditional(),
                effective_max,
                effective_source,
                effective_min,
                effective_min_source,
            });
        }
    }
    caps
}

fn budgets(rules: &[&CompiledRule]) -> Vec<EffectiveBudget> {
    let mut budgets = Vec::new();
    for rule in rules {
        let Some(budget) = &rule.rule.budget else {
            continue;
        };
        let mut effective_max = budget.max;
        let mut effective_source = rule.source.clone();
        for other in rules.iter().filter(|other| always_covers(other, rule)) {
            let Some(other_budget) = &other.rule.budget else {
                continue;
            };
            let same_counter = other_budget.sum == budget.sum
                && other_budget.per == budget.per
                && other_budget.per_key == budget.per_key;
            if same_counter && other_budget.max < effective_max {
                effective_max = other_budget.max;
                effective_source = other.source.clone();
            }
        }
        budgets.push(EffectiveBudget {
            tool: rule.rule.tool.to_string(),
            field: budget.sum.to_string(),
            max: budget.max,
            per: budget.per,
            per_key: budget.per_key,
            source: rule.source.clone(),
            conditional: rule.rule.is_conditional(),
            effective_max,
            effective_source,
        });
    }
    budgets
}

fn rate_limits(rules: &[&CompiledRule]) -> Vec<EffectiveRate> {
    let mut limits = Vec::new();
    for rule in rules {
        let Some(limit) = &rule.rule.rate_limit else {
            continue;
        };
        let mut effective_calls = limit.calls;
        let mut effective_source = rule.source.clone();
        for other in rules.iter().filter(|other| always_covers(other, rule)) {
            let Some(other_limit) = &other.rule.rate_limit else {
                continue;
            };
            let same_counter = other_limit.per == limit.per && other_limit.per_key == limit.per_key;
            if same_counter && other_limit.calls < effective_calls {
                effective_calls = other_limit.calls;
                effective_source = other.source.clone();
            }
        }
        limits.push(EffectiveRate {
            tool: rule.rule.tool.to_string(),
            calls: limit.calls,
            per: limit.per,
            per_key: limit.per_key,
            source: rule.source.clone(),
            conditional: rule.rule.is_conditional(),
            effective_calls,
            effective_source,
        });
    }
    limits
}
