//! Restrict-only delegation as a property: for random platform, tenant and agent policies and
//! random requests, adding tenant and agent policies never makes the platform's own verdict more
//! permissive, never lifts a platform requirement (`only_when`), never raises a platform cap and
//! never lowers a platform minimum.
//!
//! "The platform's own verdict" is the platform-alone decision when the platform decided it (a
//! rule, a deny, a cap). When the platform abstains and its default applies, PRODUCT.md's default
//! pass-through lets a child scope decide, so a tenant `allow` may then beat a platform default
//! `deny`; that is by design and is not a loosening of anything the platform said. Defaults
//! themselves only tighten: if both decisions fall to the default, the child's is no looser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use charter_policy::{
    Basis, Budget, Cap, Condition, DecisionRequest, DefaultBehaviour, Effect, EffectiveLimit,
    FieldPath, Operand, PlatformSettings, Policy, PolicySet, Principal, RateKeyKind, Rule, Scope,
    Targets, Test, ToolMatch, Verdict, Window,
};
use proptest::prelude::*;
use serde_json::json;

const TOOLS: &[&str] = &["a.x", "a.y", "b.x", "b.y"];
const MATCHES: &[&str] = &[
    "a.x", "a.y", "b.x", "b.y", "a.*", "b.*", "*", "*.x", "^a\\.",
];
const ROLES: &[&str] = &["r1", "r2"];

fn field(path: &str) -> FieldPath {
    FieldPath::parse(path).unwrap()
}

fn condition() -> impl Strategy<Value = Condition> {
    let n = 0i64..6;
    let leaf = prop_oneof![
        n.clone().prop_map(|v| Condition::Field {
            field: field("args.n"),
            tests: vec![Test::Gt(Operand::Literal(json!(v)))]
        }),
        n.clone().prop_map(|v| Condition::Field {
            field: field("args.n"),
            tests: vec![Test::Lte(Operand::Literal(json!(v)))]
        }),
        n.prop_map(|v| Condition::Field {
            field: field("args.n"),
            tests: vec![Test::Eq(Operand::Literal(json!(v)))]
        }),
        prop::sample::select(ROLES).prop_map(|r| Condition::Field {
            field: field("principal.roles"),
            tests: vec![Test::Contains(Operand::Literal(json!(r)))]
        }),
    ];
    leaf.prop_recursive(2, 4, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
            prop::collection::vec(inner, 1..3).prop_map(Condition::Any),
        ]
    })
}

fn rule() -> impl Strategy<Value = Rule> {
    let effect = prop_oneof![
        3 => Just(None),
        3 => Just(Some(Effect::Allow)),
        2 => Just(Some(Effect::Deny)),
        2 => Just(Some(Effect::RequireApproval)),
    ];
    (
        prop::sample::select(MATCHES),
        prop::option::weighted(0.4, condition()),
        prop::option::weighted(0.2, prop::sample::select(ROLES)),
        effect,
        prop::sample::select(&["m1", "m2"][..]),
        prop::option::weighted(0.3, (prop::option::of(0i64..6), prop::option::of(0i64..4))),
        prop::option::weighted(0.3, -1i32..2),
        prop::option::weighted(0.2, condition()),
        prop::option::weighted(0.2, 1i64..8),
    )
        .prop_map(
            |(tool, when, role, effect, approver, cap, priority, only_when, budget)| {
                let limit: Vec<Cap> = cap
                    .filter(|(max, min)| max.is_some() || min.is_some())
                    .map(|(max, min)| Cap {
                        field: field("args.n"),
                        max: max.map(|m| m as f64),
                        min: min.map(|m| m as f64),
                        required: false,
                    })
                    .into_iter()
                    .collect();
                // `only_when` does not go with `deny` (the parser refuses it).
                let only_when: Vec<Condition> = only_when
                    .filter(|_| effect != Some(Effect::Deny))
                    .into_iter()
                    .collect();
                // A rule must do something; a rule the generator left empty gets an `allow`.
                let budget = budget.map(|max| {
                    Box::new(Budget {
                        sum: field("args.n"),
                        max: max as f64,
                        per: Window::from_secs(60).unwrap(),
                        per_key: RateKeyKind::Tenant,
                    })
                });
                let effect = if effect.is_none()
                    && limit.is_empty()
                    && only_when.is_empty()
                    && budget.is_none()
                {
                    Some(Effect::Allow)
                } else {
                    effect
                };
                Rule {
                    id: None,
                    tool: ToolMatch::parse(tool).unwrap(),
                    when: when.into_iter().collect(),
                    targets: role.map(|r| Targets {
                        roles: vec![r.to_string()],
                        ..Targets::default()
                    }),
                    only_when,
                    effect,
                    approvers: if effect == Some(Effect::RequireApproval) {
                        vec![approver.to_string()]
                    } else {
                        vec![]
                    },
                    mask: vec![],
                    limit,
                    rate_limit: None,
                    budget,
                    reason: None,
                    priority,
                }
            },
        )
}

fn default_behaviour() -> impl Strategy<Value = DefaultBehaviour> {
    prop_oneof![Just(DefaultBehaviour::Allow), Just(DefaultBehaviour::Deny)]
}

fn policies(scope: Scope, count: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Policy>> {
    let policy = (
        prop::collection::vec(rule(), 0..4),
        prop::option::weighted(0.3, default_behaviour()),
    );
    prop::collection::vec(policy, count).prop_map(move |items| {
        items
            .into_iter()
            .enumerate()
            .map(|(i, (rules, default))| Policy {
                id: format!("{scope}-{i}"),
                name: format!("{scope} {i}"),
                description: String::new(),
                scope,
                agent: (scope == Scope::Agent).then(|| "bot".to_string()),
                version: 1,
                default,
                confidential: false,
                baseline: None,
                extends: Vec::new(),
                rules,
            })
            .collect()
    })
}

fn request() -> impl Strategy<Value = DecisionRequest> {
    (
        prop::sample::select(TOOLS),
        prop::option::of(0i64..7),
        prop::sample::subsequence(ROLES, 0..=2),
        prop::bool::ANY,
    )
        .prop_map(|(tool, n, roles, with_agent)| DecisionRequest {
            tool: tool.to_string(),
            args: n.map_or(json!({}), |n| json!({ "n": n })),
            agent: with_agent.then(|| "bot".to_string()),
            principal: Principal {
                roles: roles.into_iter().map(str::to_string).collect(),
                ..Principal::default()
            },
            ..DecisionRequest::default()
        })
}

fn caps(limits: &[EffectiveLimit]) -> Vec<(String, f64)> {
    limits
        .iter()
        .filter_map(|limit| match limit {
            EffectiveLimit::Cap { field, max, .. } => Some((field.clone(), *max)),
            _ => None,
        })
        .collect()
}

fn budgets(limits: &[EffectiveLimit]) -> Vec<(String, f64)> {
    limits
        .iter()
        .filter_map(|limit| match limit {
            EffectiveLimit::Budget { key, max, .. } => Some((key.to_string(), *max)),
            _ => None,
        })
        .collect()
}

fn floors(limits: &[EffectiveLimit]) -> Vec<(String, f64)> {
    limits
        .iter()
        .filter_map(|limit| match limit {
            EffectiveLimit::Floor { field, min, .. } => Some((field.clone(), *min)),
            _ => None,
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn children_never_loosen_the_platform(
        default in default_behaviour(),
        platform in policies(Scope::Platform, 1..3),
        tenant in policies(Scope::Tenant, 0..3),
        agent in policies(Scope::Agent, 0..2),
        req in request(),
    ) {
        let settings = PlatformSettings { default, enabled_tools: None };
        let alone = PolicySet::compile(&settings, &platform, &[], &[]).decide_dry_run(&req, 0);
        let full = PolicySet::compile(&settings, &platform, &tenant, &agent).decide_dry_run(&req, 0);

        if alone.basis != Basis::Default || full.basis == Basis::Default {
            prop_assert!(
                full.verdict >= alone.verdict,
                "platform alone: {:?} ({}), with children: {:?} ({})",
                alone.verdict, alone.reason, full.verdict, full.reason
            );
        }
        if matches!(alone.basis, Basis::ExplicitDeny | Basis::Requirement | Basis::Cap | Basis::Budget) {
            prop_assert_eq!(full.verdict, Verdict::Deny);
        }
        let full_caps = caps(&full.limits);
        for (field, max) in caps(&alone.limits) {
            let lowered = full_caps.iter().any(|(f, m)| *f == field && *m <= max);
            prop_assert!(lowered, "the cap on {} ({}) was raised or lost: {:?}", field, max, full_caps);
        }
        let full_budgets = budgets(&full.limits);
        for (key, max) in budgets(&alone.limits) {
            let kept = full_budgets.iter().any(|(k, m)| *k == key && *m <= max);
            prop_assert!(kept, "the budget {} ({}) was raised or lost: {:?}", key, max, full_budgets);
        }
        let full_floors = floors(&full.limits);
        for (field, min) in floors(&alone.limits) {
            let raised = full_floors.iter().any(|(f, m)| *f == field && *m >= min);
            prop_assert!(raised, "the minimum on {} ({}) was lowered or lost: {:?}", field, min, full_floors);
        }
        if alone.verdict == Verdict::RequireApproval && full.verdict == Verdict::RequireApproval {
            for role in &alone.approvers {
                prop_assert!(full.approvers.contains(role), "approver {} was dropped", role);
            }
        }
    }
}
