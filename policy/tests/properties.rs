//! Restrict-only delegation as a property: for random platform, tenant and agent policies and
//! random requests, adding tenant and agent policies never makes the platform's own verdict more
//! permissive and never raises a platform cap.
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
    Basis, Cap, Condition, DecisionRequest, DefaultBehaviour, Effect, EffectiveLimit, FieldPath,
    Operand, PlatformSettings, Policy, PolicySet, Principal, Rule, Scope, Targets, Test, ToolMatch,
    Verdict,
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
        prop::option::weighted(0.3, 0i64..6),
        prop::option::weighted(0.3, -1i32..2),
    )
        .prop_map(|(tool, when, role, effect, approver, cap, priority)| {
            let limit: Vec<Cap> = cap
                .map(|max| Cap {
                    field: field("args.n"),
                    max: max as f64,
                })
                .into_iter()
                .collect();
            // A rule must do something; a rule the generator left empty gets an `allow`.
            let effect = if effect.is_none() && limit.is_empty() {
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
                effect,
                approvers: if effect == Some(Effect::RequireApproval) {
                    vec![approver.to_string()]
                } else {
                    vec![]
                },
                mask: vec![],
                limit,
                rate_limit: None,
                reason: None,
                priority,
            }
        })
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
            EffectiveLimit::Rate { .. } => None,
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
        if matches!(alone.basis, Basis::ExplicitDeny | Basis::Cap) {
            prop_assert_eq!(full.verdict, Verdict::Deny);
        }
        let full_caps = caps(&full.limits);
        for (field, max) in caps(&alone.limits) {
            let lowered = full_caps.iter().any(|(f, m)| *f == field && *m <= max);
            prop_assert!(lowered, "the cap on {} ({}) was raised or lost: {:?}", field, max, full_caps);
        }
        if alone.verdict == Verdict::RequireApproval && full.verdict == Verdict::RequireApproval {
            for role in &alone.approvers {
                prop_assert!(full.approvers.contains(role), "approver {} was dropped", role);
            }
        }
    }
}
