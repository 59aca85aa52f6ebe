//! `decide` on a realistic policy set (30 platform, 100 tenant and 10 agent rules, most with
//! conditions) and with 1,000 and 10,000 tenant rules. Thanks to the tool index the cost should
//! barely move with the number of rules that cannot match the tool.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/workload.rs"]
mod workload;

use charter_policy::{
    DecisionRequest, DefaultBehaviour, InMemoryRateCounter, PlatformSettings, Policy, PolicySet,
    Principal,
};
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::json;

fn build(tenant_rules: usize) -> (PolicySet, Vec<DecisionRequest>) {
    let w = workload::workload(tenant_rules);
    let platform = Policy::from_yaml(&workload::charter_yaml(
        "Platform",
        "platform",
        None,
        &w.platform,
    ))
    .unwrap();
    let tenant =
        Policy::from_yaml(&workload::charter_yaml("Tenant", "tenant", None, &w.tenant)).unwrap();
    let agent = Policy::from_yaml(&workload::charter_yaml(
        "Agent",
        "agent",
        Some("bot"),
        &w.agent,
    ))
    .unwrap();
    let settings = PlatformSettings {
        default: DefaultBehaviour::Deny,
        enabled_tools: None,
    };
    let set = PolicySet::compile(&settings, &[platform], &[tenant], &[agent]);
    let requests = w
        .requests
        .into_iter()
        .map(|(tool, amount, currency, roles)| DecisionRequest {
            tool,
            args: json!({ "amount": amount, "currency": currency }),
            agent: Some("bot".into()),
            principal: Principal {
                user: Some("alice".into()),
                roles,
                ..Principal::default()
            },
            context: json!({ "tenant_id": "t1" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            session: None,
        })
        .collect();
    (set, requests)
}

fn decide(c: &mut Criterion) {
    let mut group = c.benchmark_group("decide");
    for tenant_rules in [100, 1_000, 10_000] {
        let (set, requests) = build(tenant_rules);
        let counter = InMemoryRateCounter::new();
        group.bench_with_input(
            BenchmarkId::new("tenant_rules", tenant_rules),
            &tenant_rules,
            |b, _| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) % requests.len();
                    black_box(set.decide(black_box(&requests[i]), &counter, 1_000))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, decide);
criterion_main!(benches);
