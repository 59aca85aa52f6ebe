//! Change propagation across three replicas (not a test): three cores, each with its own store,
//! caches and change listener, on one PostgreSQL database. A tenant admin edits an expense cap
//! through one replica after another (1,000 edits by default; `BENCH_EDITS` sets it); after each
//! commit, every replica decides the same call in a loop until its verdict follows the edit.
//! Prints, for the two replicas that did not make the edit, p50, p99 and max of the time from the
//! commit to the first decision that saw it. Decisions write their receipts as always.
//!
//!     cargo bench -p charter-core --bench propagation
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use charter_core::{Access, CallFacts, Core, DecideInput, Target};
use charter_policy::{Policy, Verdict};
use charter_store::{Actor, BoundAgents, NewTenant, Store};

const REPLICAS: usize = 3;

fn cap(max: u32) -> Policy {
    Policy::from_yaml(&format!(
        "name: Expense cap\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n    limit: {{ args.amount: {{ max: {max} }} }}\n"
    ))
    .unwrap()
}

fn submit() -> DecideInput {
    DecideInput { tool: "expense.submit".into(), args: serde_json::json!({ "amount": 5000 }), agent: Some("bot".into()), ..DecideInput::default() }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let edits: usize = std::env::var("BENCH_EDITS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let (database, url) = charter_testkit::postgres("bench_propagation").await.expect("the benchmark needs PostgreSQL");
    let mut stores = vec![database.store.clone()];
    for _ in 1..REPLICAS {
        stores.push(Store::connect(&url).await.unwrap());
    }
    while !stores.iter().all(Store::hears_changes) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cores: Vec<Core> = stores.iter().cloned().map(Core::new).collect();
    let acme = stores[0].create_tenant(NewTenant { slug: "acme".into(), name: "Acme".into(), plan: "enterprise".into(), policy_quota: None }).await.unwrap();
    let admin = charter_testkit::tenant_admin(&stores[0], &acme.id, "admin@acme").await;
    let admin = Access::for_user(&admin).unwrap();
    let mut policy = cores[0].create_policy(&admin, Target::Own, &cap(100_000)).await.unwrap().policy;
    let key = stores[0].create_api_key(&Actor::system(), &acme.id, "bench", BoundAgents::default(), charter_store::KeyScopes::all()).await.unwrap();
    let mut agents = Vec::new();
    for core in &cores {
        agents.push(core.access_for_key(&key.secret).await.unwrap());
    }

    let mut seen = Vec::with_capacity(edits * (REPLICAS - 1));
    let started = Instant::now();
    for edit in 0..edits {
        // Odd edits cap expenses at 1,000 (5,000 is denied), even ones at 100,000 (allowed).
        let expected = if edit % 2 == 0 { Verdict::Deny } else { Verdict::Allow };
        let max = if expected == Verdict::Deny { 1000 } else { 100_000 };
        let origin = edit % REPLICAS;
        policy = cores[origin].update_policy(&admin, Target::Own, &policy.id, policy.version, &cap(max)).await.unwrap().policy;
        let committed = Instant::now();
        let watchers: Vec<_> = (0..REPLICAS)
            .filter(|replica| *replica != origin)
            .map(|replica| {
                let (core, agent) = (cores[replica].clone(), agents[replica].clone());
                tokio::spawn(async move {
                    loop {
                        let decided = core.decide(&agent, submit(), CallFacts::from_ip(None)).await.unwrap();
                        if decided.decision.verdict == expected {
                            return committed.elapsed();
                        }
                        assert!(committed.elapsed() < Duration::from_secs(5), "a replica still decides with the old cap after 5 s");
                    }
                })
            })
            .collect();
        for watcher in watchers {
            seen.push(watcher.await.unwrap());
        }
    }
    let took = started.elapsed();
    seen.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "change propagation, {edits} edits over {REPLICAS} replicas on PostgreSQL ({} samples, {:.1} s): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (commit to the first decision that saw it on another replica)",
        seen.len(),
        took.as_secs_f64(),
        ms(percentile(&seen, 0.5)),
        ms(percentile(&seen, 0.99)),
        ms(*seen.last().unwrap()),
    );
    drop(cores);
    for store in &stores[1..] {
        store.close().await;
    }
    database.remove().await;
}
