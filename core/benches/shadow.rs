//! What shadow mode costs a decision (not a test): one tenant on SQLite decides the same mix of
//! calls in rounds, alternately without a shadow and with the platform's draft (a stricter cap)
//! running in shadow, 2,000 decisions a round (`BENCH_DECISIONS` sets it), ten rounds. Receipts are
//! written as always. Prints p50 and p99 of each, measured in the same run.
//!
//!     cargo bench -p charter-core --bench shadow
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use charter_core::{CallFacts, Core, DecideInput};
use charter_policy::Policy;
use charter_store::{Actor, BoundAgents, NewTenant, Owner, ReleaseChoice};

const TENANT_RULES: &str = "name: Acme rules\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n    limit: { args.amount: { max: 50000 } }\n  - tool: expense.submit\n    when: { args.amount: { gt: 20000 } }\n    effect: require_approval\n    approvers: [manager]\n  - tool: \"docs.*\"\n    effect: allow\n";
const DRAFT: &str = "name: Expense cap\nscope: platform\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: 10000 } }\n    effect: deny\n";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let per_round: usize = std::env::var("BENCH_DECISIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let database = charter_testkit::databases("bench_shadow").await.into_iter().next().expect("SQLite");
    let store = database.store.clone();
    let core = Core::new(store.clone());
    let acme = store.create_tenant(NewTenant { slug: "acme".into(), name: "Acme".into(), plan: "enterprise".into(), policy_quota: None }).await.unwrap();
    store.create_policy(&Actor::system(), &Owner::Tenant(acme.id.clone()), &Policy::from_yaml(TENANT_RULES).unwrap()).await.unwrap();
    store.create_policy(&Actor::system(), &Owner::Platform, &Policy::from_yaml(DRAFT).unwrap()).await.unwrap();
    let key = store.create_api_key(&Actor::system(), &acme.id, "bench", BoundAgents::default(), charter_store::KeyScopes::all()).await.unwrap();
    let agent = core.access_for_key(&key.secret).await.unwrap();
    let call = |n: usize| {
        let (tool, args) = if n.is_multiple_of(3) {
            ("docs.read", serde_json::json!({ "id": n }))
        } else {
            ("expense.submit", serde_json::json!({ "amount": (n * 7919) % 30_000 }))
        };
        DecideInput { tool: tool.into(), args, agent: Some("bot".into()), ..DecideInput::default() }
    };
    let (mut alone, mut shadowed) = (Vec::new(), Vec::new());
    for round in 0..10 {
        let shadow = round % 2 == 1;
        store.set_release_shadow(&Actor::system(), std::slice::from_ref(&acme.id), shadow.then_some(ReleaseChoice::Draft)).await.unwrap();
        for n in 0..per_round {
            let started = Instant::now();
            core.decide(&agent, call(n), CallFacts::from_ip(None)).await.unwrap();
            if shadow { &mut shadowed } else { &mut alone }.push(started.elapsed());
        }
    }
    let shadowed_receipts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts WHERE shadow_verdict IS NOT NULL").fetch_one(store.pool()).await.unwrap();
    assert_eq!(usize::try_from(shadowed_receipts).unwrap(), shadowed.len(), "every shadowed decision recorded its shadow verdict");
    for (name, times) in [("without a shadow", &mut alone), ("with the draft in shadow", &mut shadowed)] {
        times.sort_unstable();
        println!("{name:>26}: {} decisions, p50 {:?}, p99 {:?}", times.len(), percentile(times, 0.5), percentile(times, 0.99));
    }
    database.remove().await;
}
