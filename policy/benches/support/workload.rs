//! A synthetic but realistic workload, shared by `benches/decide.rs` and `bench-cedar/` (which
//! includes this file by path), so both engines are measured on the same rules.
//!
//! Tools are named `svcK.opJ`. The platform has guardrail denies, payment caps, a rate limit and a
//! few broad allows; the tenant has one rule per tool (conditions on the amount, the currency or
//! the principal's roles; allow or require_approval) plus a glob rule per service; the agent has
//! a handful of rules on the tools it uses. Every rule has a condition unless it is a guardrail.

#![allow(dead_code)]

/// How a rule names its tools.
#[derive(Debug, Clone)]
pub enum ToolSpec {
    Exact(String),
    /// A glob of the form `prefix*`.
    Prefix(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectSpec {
    Allow,
    Deny,
    RequireApproval,
    /// No effect: the rule only caps `args.amount` at the value.
    Cap(i64),
}

#[derive(Debug, Clone)]
pub enum CondSpec {
    AmountGt(i64),
    AmountLte(i64),
    CurrencyIn(Vec<String>),
    HasRole(String),
}

#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub tool: ToolSpec,
    pub conditions: Vec<CondSpec>,
    pub effect: EffectSpec,
}

pub struct Workload {
    pub platform: Vec<RuleSpec>,
    pub tenant: Vec<RuleSpec>,
    pub agent: Vec<RuleSpec>,
    /// Calls to decide: `(tool, amount, currency, roles)`.
    pub requests: Vec<(String, i64, String, Vec<String>)>,
}

fn exact(tool: String) -> ToolSpec {
    ToolSpec::Exact(tool)
}

/// 30 platform rules, `tenant_rules` tenant rules and 10 agent rules.
pub fn workload(tenant_rules: usize) -> Workload {
    let mut platform = Vec::new();
    for k in 0..10 {
        platform.push(RuleSpec {
            tool: exact(format!("system.cmd{k}")),
            conditions: vec![],
            effect: EffectSpec::Deny,
        });
    }
    platform.push(RuleSpec {
        tool: ToolSpec::Prefix("system.".into()),
        conditions: vec![],
        effect: EffectSpec::Deny,
    });
    for k in 0..10 {
        platform.push(RuleSpec {
            tool: ToolSpec::Prefix(format!("svc{k}.")),
            conditions: vec![CondSpec::CurrencyIn(vec!["USD".into(), "EUR".into()])],
            effect: EffectSpec::Cap(100_000),
        });
    }
    for k in 0..9 {
        platform.push(RuleSpec {
            tool: exact(format!("svc{k}.op9")),
            conditions: vec![CondSpec::AmountGt(90_000)],
            effect: EffectSpec::Deny,
        });
    }
    assert_eq!(platform.len(), 30);

    let services = tenant_rules.div_ceil(11).max(1);
    let mut tenant = Vec::new();
    'outer: for k in 0..services {
        for j in 0..10 {
            if tenant.len() == tenant_rules {
                break 'outer;
            }
            let tool = format!("svc{k}.op{j}");
            let rule = match j % 4 {
                0 => RuleSpec {
                    tool: exact(tool),
                    conditions: vec![CondSpec::AmountLte(5_000)],
                    effect: EffectSpec::Allow,
                },
                1 => RuleSpec {
                    tool: exact(tool),
                    conditions: vec![CondSpec::AmountGt(5_000), CondSpec::HasRole("staff".into())],
                    effect: EffectSpec::RequireApproval,
                },
                2 => RuleSpec {
                    tool: exact(tool),
                    conditions: vec![CondSpec::CurrencyIn(vec!["USD".into(), "GBP".into()])],
                    effect: EffectSpec::Allow,
                },
                _ => RuleSpec {
                    tool: exact(tool),
                    conditions: vec![CondSpec::HasRole("intern".into())],
                    effect: EffectSpec::Deny,
                },
            };
            tenant.push(rule);
        }
        if tenant.len() < tenant_rules {
            tenant.push(RuleSpec {
                tool: ToolSpec::Prefix(format!("svc{k}.")),
                conditions: vec![CondSpec::HasRole("staff".into())],
                effect: EffectSpec::Allow,
            });
        }
    }

    let mut agent = Vec::new();
    for j in 0..10 {
        let tool = format!("svc{}.op{j}", j % 3);
        let effect = if j % 2 == 0 {
            EffectSpec::Cap(20_000)
        } else {
            EffectSpec::RequireApproval
        };
        agent.push(RuleSpec {
            tool: exact(tool),
            conditions: vec![CondSpec::AmountGt(1_000)],
            effect,
        });
    }

    let requests = (0..16usize)
        .map(|i| {
            let tool = format!("svc{}.op{}", (i * 7) % services.min(10), i % 10);
            let roles = if i % 3 == 0 {
                vec!["staff".to_string()]
            } else {
                vec!["staff".into(), "manager".into()]
            };
            (
                tool,
                500 + i as i64 * 1_000,
                if i % 2 == 0 {
                    "USD".into()
                } else {
                    "EUR".into()
                },
                roles,
            )
        })
        .collect();
    Workload {
        platform,
        tenant,
        agent,
        requests,
    }
}

/// Renders rules as one Charter policy document in YAML.
pub fn charter_yaml(name: &str, scope: &str, agent: Option<&str>, rules: &[RuleSpec]) -> String {
    let mut out = format!("name: {name}\nscope: {scope}\n");
    if let Some(agent) = agent {
        out.push_str(&format!("agent: {agent}\n"));
    }
    out.push_str("rules:\n");
    for rule in rules {
        let tool = match &rule.tool {
            ToolSpec::Exact(name) => name.clone(),
            ToolSpec::Prefix(prefix) => format!("\"{prefix}*\""),
        };
        out.push_str(&format!("  - tool: {tool}\n"));
        if !rule.conditions.is_empty() {
            out.push_str("    when:\n");
            for condition in &rule.conditions {
                let line = match condition {
                    CondSpec::AmountGt(n) => format!("args.amount: {{ gt: {n} }}"),
                    CondSpec::AmountLte(n) => format!("args.amount: {{ lte: {n} }}"),
                    CondSpec::CurrencyIn(list) => {
                        format!("args.currency: {{ in: [{}] }}", list.join(", "))
                    }
                    CondSpec::HasRole(role) => format!("principal.roles: {{ contains: {role} }}"),
                };
                out.push_str(&format!("      {line}\n"));
            }
        }
        match rule.effect {
            EffectSpec::Allow => out.push_str("    effect: allow\n"),
            EffectSpec::Deny => out.push_str("    effect: deny\n"),
            EffectSpec::RequireApproval => {
                out.push_str("    effect: require_approval\n    approvers: [manager]\n")
            }
            EffectSpec::Cap(max) => {
                out.push_str(&format!("    limit: {{ args.amount: {{ max: {max} }} }}\n"))
            }
        }
    }
    out
}
