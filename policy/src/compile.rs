//! The compiled policy set of one tenant: platform, tenant and agent rules, indexed by tool.
//!
//! A `PolicySet` is immutable once built; the server holds it in an `Arc` and swaps in a new one
//! when a policy changes, so a decision never sees half an edit.

use std::collections::HashMap;

use crate::index::{RuleId, ToolIndex, ToolIndexBuilder};
use crate::model::{DefaultBehaviour, PlatformSettings, Policy, PolicyRef, Rule, RuleRef, Scope};

/// Inside one scope, a rule with a higher specificity wins over the others (PRODUCT.md, step 5):
/// explicit priority first, then an exact tool name over a pattern, then a conditional rule over
/// an unconditional one. Field order is comparison order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Specificity {
    pub priority: i32,
    pub exact: bool,
    pub conditional: bool,
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub source: RuleRef,
    pub rule: Rule,
    pub specificity: Specificity,
    /// Its conditions read the session, which is then loaded before matching.
    pub reads_session: bool,
}

impl CompiledRule {
    pub(crate) fn scope(&self) -> Scope {
        self.source.policy.scope
    }
}

/// The default in force, and the policy that set it (`None`: the platform settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DefaultChoice {
    pub behaviour: DefaultBehaviour,
    pub source: Option<PolicyRef>,
}

impl DefaultChoice {
    /// Keeps the stricter default; a later policy can only tighten, never loosen.
    fn tighten(&mut self, policy: &Policy) {
        if let Some(behaviour) = policy.default {
            if behaviour > self.behaviour {
                *self = DefaultChoice {
                    behaviour,
                    source: Some(PolicyRef::of(policy)),
                };
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct AgentRules {
    pub index: ToolIndex,
    pub default: DefaultChoice,
    /// The agent's policies' rules, in order.
    pub rules: Vec<RuleId>,
}

#[derive(Debug)]
pub struct PolicySet {
    pub(crate) settings: PlatformSettings,
    /// Every rule, platform first, then tenant, then agents; a rule's id is its position, so
    /// sorting ids restores scope order.
    pub(crate) rules: Vec<CompiledRule>,
    /// Platform and tenant rules.
    pub(crate) shared: ToolIndex,
    pub(crate) shared_rules: Vec<RuleId>,
    pub(crate) agents: HashMap<String, AgentRules>,
    /// The default for requests from agents without policies of their own.
    pub(crate) default: DefaultChoice,
}

impl PolicySet {
    /// Compiles one tenant's policy set. The slice a policy comes in fixes its scope, whatever
    /// its document says. Agent policies apply to the agent they name; one without an agent name
    /// (only possible for a policy built in code) governs no agent.
    pub fn compile(
        platform: &PlatformSettings,
        platform_policies: &[Policy],
        tenant_policies: &[Policy],
        agent_policies: &[Policy],
    ) -> PolicySet {
        let mut rules = Vec::new();
        let mut default = DefaultChoice {
            behaviour: platform.default,
            source: None,
        };
        let mut shared = ToolIndexBuilder::default();
        let mut shared_rules = Vec::new();
        for (scope, policies) in [
            (Scope::Platform, platform_policies),
            (Scope::Tenant, tenant_policies),
        ] {
            for policy in policies {
                default.tighten(policy);
                for id in push_rules(&mut rules, scope, None, policy) {
                    // INVARIANT: `push_rules` returns the positions of the rules it just pushed.
                    #[allow(clippy::indexing_slicing)]
                    shared.add(id, &rules[id as usize].rule.tool);
                    shared_rules.push(id);
                }
            }
        }
        let mut agent_builders: HashMap<String, (ToolIndexBuilder, DefaultChoice, Vec<RuleId>)> =
            HashMap::new();
        for policy in agent_policies {
            let Some(agent) = &policy.agent else { continue };
            let (builder, agent_default, ids) = agent_builders
                .entry(agent.clone())
                .or_insert_with(|| (ToolIndexBuilder::default(), default.clone(), Vec::new()));
            agent_default.tighten(policy);
            for id in push_rules(&mut rules, Scope::Agent, Some(agent), policy) {
                // INVARIANT: `push_rules` returns the positions of the rules it just pushed.
                #[allow(clippy::indexing_slicing)]
                builder.add(id, &rules[id as usize].rule.tool);
                ids.push(id);
            }
        }
        let agents = agent_builders
            .into_iter()
            .map(|(agent, (builder, default, rules))| {
                (
                    agent,
                    AgentRules {
                        index: builder.build(),
                        default,
                        rules,
                    },
                )
            })
            .collect();
        PolicySet {
            settings: platform.clone(),
            rules,
            shared: shared.build(),
            shared_rules,
            agents,
            default,
        }
    }

    pub fn settings(&self) -> &PlatformSettings {
        &self.settings
    }

    /// The number of rules compiled, all scopes and agents together.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    pub(crate) fn default_for(&self, agent: Option<&str>) -> &DefaultChoice {
        agent
            .and_then(|a| self.agents.get(a))
            .map_or(&self.default, |rules| &rules.default)
    }
}

fn push_rules(
    rules: &mut Vec<CompiledRule>,
    scope: Scope,
    agent: Option<&String>,
    policy: &Policy,
) -> std::ops::Range<RuleId> {
    let start = rules.len() as RuleId;
    let policy_ref = PolicyRef {
        scope,
        agent: agent.cloned(),
        ..PolicyRef::of(policy)
    };
    for (index, rule) in policy.rules.iter().enumerate() {
        let specificity = Specificity {
            priority: rule.priority.unwrap_or(0),
            exact: rule.tool.is_exact(),
            conditional: rule.is_conditional(),
        };
        let source = RuleRef {
            policy: policy_ref.clone(),
            rule_index: index,
            rule_id: rule.id.clone(),
        };
        let reads_session = rule
            .when
            .iter()
            .chain(&rule.only_when)
            .any(|c| c.reads_session());
        rules.push(CompiledRule {
            source,
            rule: rule.clone(),
            specificity,
            reads_session,
        });
    }
    start..rules.len() as RuleId
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_set_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PolicySet>();
    }
}
