//! The compiled policy set of one tenant: platform, tenant and agent rules, indexed by tool.
//!
//! A `PolicySet` is immutable once built; the server holds it in an `Arc` and swaps in a new one
//! when a policy changes, so a decision never sees half an edit. It is made of two shared parts:
//! the platform's rules of a release ([`PlatformRules`], compiled once per release for every
//! tenant) and the tenant's own ([`TenantRules`], compiled once per revision of the tenant's
//! policies), so a platform change joins the tenants' compiled rules to the new platform part
//! instead of compiling every tenant again.

use std::collections::HashMap;
use std::sync::Arc;

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
    fn tighten_by(&mut self, stricter: Option<&DefaultChoice>) {
        if let Some(stricter) = stricter {
            if stricter.behaviour > self.behaviour {
                *self = stricter.clone();
            }
        }
    }
}

#[derive(Debug)]
pub(crate) struct AgentRules {
    pub index: ToolIndex,
    /// The strictest default the agent's own policies set, if stricter than none.
    pub default: Option<DefaultChoice>,
    /// The agent's policies' rules, in order, as ids of the whole set.
    pub rules: Vec<RuleId>,
}

/// The platform's rules of one release, compiled once and shared (in an `Arc`) by the sets of
/// every tenant that runs that release.
#[derive(Debug)]
pub struct PlatformRules {
    rules: Vec<CompiledRule>,
    policies: Vec<PolicyStart>,
    index: ToolIndex,
    /// The strictest default the platform's policies set, if any sets one.
    default: Option<DefaultChoice>,
    bytes: usize,
}

impl PlatformRules {
    pub fn compile(platform_policies: &[Policy]) -> PlatformRules {
        let mut rules = Vec::new();
        let mut index = ToolIndexBuilder::default();
        let mut default = None;
        for policy in platform_policies {
            tighten(&mut default, policy);
            push_indexed(&mut rules, &mut index, Scope::Platform, None, policy);
        }
        rules.shrink_to_fit();
        let bytes = rules_bytes(&rules);
        PlatformRules {
            policies: policy_starts(&rules),
            rules,
            index: index.build(),
            default,
            bytes,
        }
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// An estimate of the heap these rules take.
    pub fn approx_bytes(&self) -> usize {
        self.bytes
    }
}

/// One tenant's own rules: its tenant policies and its agents' policies, compiled once per
/// revision and joined to any release's [`PlatformRules`] without compiling again.
#[derive(Debug)]
pub struct TenantRules {
    /// Tenant rules, then agent rules; their ids in a set follow the platform's.
    rules: Vec<CompiledRule>,
    policies: Vec<PolicyStart>,
    index: ToolIndex,
    tenant_rules: Vec<RuleId>,
    agents: HashMap<String, AgentRules>,
    /// The strictest default the tenant's policies set, if any sets one.
    default: Option<DefaultChoice>,
    bytes: usize,
}

impl TenantRules {
    /// Compiles a tenant's own policies. The slice a policy comes in fixes its scope, whatever
    /// its document says. Agent policies apply to the agent they name; one without an agent name
    /// (only possible for a policy built in code) governs no agent.
    pub fn compile(tenant_policies: &[Policy], agent_policies: &[Policy]) -> TenantRules {
        let mut rules = Vec::new();
        let mut default = None;
        let mut index = ToolIndexBuilder::default();
        let mut tenant_rules = Vec::new();
        for policy in tenant_policies {
            tighten(&mut default, policy);
            tenant_rules.extend(push_indexed(
                &mut rules,
                &mut index,
                Scope::Tenant,
                None,
                policy,
            ));
        }
        let mut agent_builders: HashMap<
            String,
            (ToolIndexBuilder, Option<DefaultChoice>, Vec<RuleId>),
        > = HashMap::new();
        for policy in agent_policies {
            let Some(agent) = &policy.agent else { continue };
            let (builder, agent_default, ids) = agent_builders.entry(agent.clone()).or_default();
            tighten(agent_default, policy);
            ids.extend(push_indexed(
                &mut rules,
                builder,
                Scope::Agent,
                Some(agent),
                policy,
            ));
        }
        let agents: HashMap<String, AgentRules> = agent_builders
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
        rules.shrink_to_fit();
        let bytes = rules_bytes(&rules)
            + agents
                .keys()
                .map(|agent| agent.len() + std::mem::size_of::<AgentRules>())
                .sum::<usize>();
        TenantRules {
            policies: policy_starts(&rules),
            rules,
            index: index.build(),
            tenant_rules,
            agents,
            default,
            bytes,
        }
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// An estimate of the heap these rules take (what a cache of compiled sets weighs them by).
    pub fn approx_bytes(&self) -> usize {
        self.bytes
    }
}

/// A tenant's compiled policy set: the platform's rules of its release and its own rules, each
/// shared, and the settings (default behaviour and enabled tools) in force for it.
#[derive(Debug)]
pub struct PolicySet {
    pub(crate) settings: PlatformSettings,
    platform: Arc<PlatformRules>,
    tenant: Arc<TenantRules>,
    /// The default for requests from agents without policies of their own.
    pub(crate) default: DefaultChoice,
}

impl PolicySet {
    /// Compiles one tenant's policy set in one go (see [`PlatformRules::compile`] and
    /// [`TenantRules::compile`], and [`PolicySet::assemble`] to share their parts).
    pub fn compile(
        platform: &PlatformSettings,
        platform_policies: &[Policy],
        tenant_policies: &[Policy],
        agent_policies: &[Policy],
    ) -> PolicySet {
        PolicySet::assemble(
            platform.clone(),
            Arc::new(PlatformRules::compile(platform_policies)),
            Arc::new(TenantRules::compile(tenant_policies, agent_policies)),
        )
    }

    /// Joins compiled platform and tenant rules under `settings`; nothing is compiled again.
    pub fn assemble(
        settings: PlatformSettings,
        platform: Arc<PlatformRules>,
        tenant: Arc<TenantRules>,
    ) -> PolicySet {
        let mut default = DefaultChoice {
            behaviour: settings.default,
            source: None,
        };
        default.tighten_by(platform.default.as_ref());
        default.tighten_by(tenant.default.as_ref());
        PolicySet {
            settings,
            platform,
            tenant,
            default,
        }
    }

    pub fn settings(&self) -> &PlatformSettings {
        &self.settings
    }

    pub fn platform_rules(&self) -> &Arc<PlatformRules> {
        &self.platform
    }

    pub fn tenant_rules(&self) -> &Arc<TenantRules> {
        &self.tenant
    }

    /// The number of rules compiled, all scopes and agents together.
    pub fn rule_count(&self) -> usize {
        self.platform.rules.len() + self.tenant.rules.len()
    }

    /// The rule a set-wide id names: the platform's rules come first, then the tenant's own.
    pub(crate) fn rule(&self, id: RuleId) -> Option<&CompiledRule> {
        let id = id as usize;
        match id.checked_sub(self.platform.rules.len()) {
            None => self.platform.rules.get(id),
            Some(own) => self.tenant.rules.get(own),
        }
    }

    /// The rules at position `rule_index` of version `version` of policy `policy_id`, in every
    /// scope that holds it (a baseline's rules join each policy that extends it).
    pub(crate) fn rules_at<'s, 'q>(
        &'s self,
        policy_id: &'q str,
        version: u64,
        rule_index: usize,
    ) -> impl Iterator<Item = &'s CompiledRule> + use<'s, 'q> {
        let at = move |rules: &'s [CompiledRule], policies: &'s [PolicyStart]| {
            policies
                .iter()
                .filter(move |policy| &*policy.id == policy_id && policy.version == version)
                .filter_map(move |policy| rules.get(policy.start + rule_index))
        };
        at(&self.platform.rules, &self.platform.policies)
            .chain(at(&self.tenant.rules, &self.tenant.policies))
    }

    /// Every rule, platform first, then tenant, then agents.
    pub(crate) fn rules(&self) -> impl Iterator<Item = &CompiledRule> {
        self.platform.rules.iter().chain(&self.tenant.rules)
    }

    /// The rules whose tool match can match `tool` for `agent`, in scope order (sorting ids
    /// restores it), each once.
    pub(crate) fn candidates(&self, tool: &str, agent: Option<&str>) -> Vec<&CompiledRule> {
        let mut ids: Vec<RuleId> = Vec::with_capacity(16);
        let offset = self.own_offset();
        self.platform.index.candidates(tool, 0, &mut ids);
        self.tenant.index.candidates(tool, offset, &mut ids);
        if let Some(agent) = agent.and_then(|a| self.tenant.agents.get(a)) {
            agent.index.candidates(tool, offset, &mut ids);
        }
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().filter_map(|id| self.rule(id)).collect()
    }

    /// The platform and tenant rules, and the rules of `agent`'s own policies, in scope order.
    pub(crate) fn rules_for_agent(&self, agent: Option<&str>) -> Vec<&CompiledRule> {
        let offset = self.own_offset();
        let agent_rules: &[RuleId] = agent
            .and_then(|a| self.tenant.agents.get(a))
            .map_or(&[], |a| &a.rules);
        let own = self.tenant.tenant_rules.iter().chain(agent_rules);
        self.platform
            .rules
            .iter()
            .chain(own.filter_map(|&id| self.rule(id + offset)))
            .collect()
    }

    fn own_offset(&self) -> RuleId {
        // A set's rules number far below `u32::MAX` (policies and rules per policy are bounded).
        RuleId::try_from(self.platform.rules.len()).unwrap_or(RuleId::MAX)
    }

    pub(crate) fn default_for(&self, agent: Option<&str>) -> DefaultChoice {
        let mut default = self.default.clone();
        if let Some(rules) = agent.and_then(|a| self.tenant.agents.get(a)) {
            default.tighten_by(rules.default.as_ref());
        }
        default
    }
}

/// Where each policy's rules start among compiled rules (they are pushed one policy at a time).
#[derive(Debug)]
struct PolicyStart {
    id: Box<str>,
    version: u64,
    start: usize,
}

fn policy_starts(rules: &[CompiledRule]) -> Vec<PolicyStart> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| rule.source.rule_index == 0)
        .map(|(start, rule)| PolicyStart {
            id: rule.source.policy.policy_id.as_str().into(),
            version: rule.source.policy.version,
            start,
        })
        .collect()
}

/// Keeps in `strictest` the first policy that sets the strictest default seen so far.
fn tighten(strictest: &mut Option<DefaultChoice>, policy: &Policy) {
    let Some(behaviour) = policy.default else {
        return;
    };
    if strictest
        .as_ref()
        .is_none_or(|known| behaviour > known.behaviour)
    {
        *strictest = Some(DefaultChoice {
            behaviour,
            source: Some(PolicyRef::of(policy)),
        });
    }
}

/// An estimate of the heap compiled rules take: each rule's fixed size, its place in an index, and
/// three times the length of its JSON form as a measure of what its strings, conditions and lists
/// hold (the ratio `cargo bench -p charter-policy --bench tenants` measured, counting the heap).
fn rules_bytes(rules: &[CompiledRule]) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    const INDEX_BYTES: usize = 64;
    let mut json = Counter(0);
    for rule in rules {
        // Writing to a counter fails only if the rule cannot be written, which leaves it uncounted.
        let _ = serde_json::to_writer(&mut json, &rule.rule);
    }
    rules.len() * (std::mem::size_of::<CompiledRule>() + INDEX_BYTES) + 3 * json.0
}

/// Pushes a policy's rules and adds them to `index`; returns their positions.
fn push_indexed(
    rules: &mut Vec<CompiledRule>,
    index: &mut ToolIndexBuilder,
    scope: Scope,
    agent: Option<&String>,
    policy: &Policy,
) -> std::ops::Range<RuleId> {
    let ids = push_rules(rules, scope, agent, policy);
    for (id, rule) in ids.clone().zip(rules.iter().skip(ids.start as usize)) {
        index.add(id, &rule.rule.tool);
    }
    ids
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
