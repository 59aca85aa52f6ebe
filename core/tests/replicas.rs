//! Two replicas of the core on one PostgreSQL database: a tenant policy saved through replica A
//! changes the very next decisions that replica B makes, within a second, and a tenant setting
//! changed on A is what B then decides with. PostgreSQL only; under CI a missing PostgreSQL fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use charter_core::{Access, CallFacts, Core, DecideInput, Target};
use charter_policy::{Policy, Verdict};
use charter_store::{Actor, BoundAgents, NewTenant};
use charter_testkit::postgres_replicas;

const BOUND: Duration = Duration::from_secs(1);

fn submit(amount: u32) -> DecideInput {
    DecideInput { tool: "expense.submit".into(), args: serde_json::json!({ "amount": amount }), agent: Some("bot".into()), ..DecideInput::default() }
}

#[tokio::test]
async fn an_edit_through_replica_a_changes_the_next_decision_on_replica_b() {
    let Some((store_a, store_b, cleanup)) = postgres_replicas("core_replicas").await else { return };
    let deadline = Instant::now() + BOUND;
    while !(store_a.hears_changes() && store_b.hears_changes()) {
        assert!(Instant::now() < deadline, "both listeners connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (a, b) = (Core::new(store_a.clone()), Core::new(store_b.clone()));
    let acme = store_a.create_tenant(NewTenant { slug: "acme".into(), name: "Acme".into(), plan: "enterprise".into(), policy_quota: Some(10) }).await.unwrap();
    let admin = charter_testkit::tenant_admin(&store_a, &acme.id, "admin@acme").await;
    let allow = Policy::from_yaml("name: Expenses\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n").unwrap();
    let admin_access = Access::for_user(&admin).unwrap();
    a.create_policy(&admin_access, Target::Own, &allow).await.unwrap();
    let key = store_a.create_api_key(&Actor::system(), &acme.id, "bot", BoundAgents::default(), charter_store::KeyScopes::all()).await.unwrap();
    let agent_on_b = b.access_for_key(&key.secret).await.unwrap();

    // B decides (and caches the tenant's compiled set): allowed.
    assert_eq!(b.decide(&agent_on_b, submit(5000), CallFacts::from_ip(None)).await.unwrap().decision.verdict, Verdict::Allow);

    // The tenant admin caps expenses at 1,000 through A.
    let capped = Policy::from_yaml("name: Expense cap\nscope: tenant\nrules:\n  - tool: expense.submit\n    limit: { args.amount: { max: 1000 } }\n").unwrap();
    let saved_at = Instant::now();
    a.create_policy(&admin_access, Target::Own, &capped).await.unwrap();
    loop {
        let verdict = b.decide(&agent_on_b, submit(5000), CallFacts::from_ip(None)).await.unwrap().decision.verdict;
        if verdict == Verdict::Deny {
            break;
        }
        assert!(saved_at.elapsed() < BOUND, "B still allowed 5,000 {:?} after A saved the cap", saved_at.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!("the cap saved on A denied on B after {:?}", saved_at.elapsed());

    // A tenant setting changed on A (every key must be bound) holds on B too.
    a.set_agent_keys(&admin_access, Target::Own, charter_store::AgentKeys::Required).await.unwrap();
    let changed_at = Instant::now();
    loop {
        let refused = b.decide(&agent_on_b, submit(10), CallFacts::from_ip(None)).await.is_err();
        if refused {
            break;
        }
        assert!(changed_at.elapsed() < BOUND, "B still took an unbound key {:?} after A required bound keys", changed_at.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The cores' receipt writers hold connections of the pools until the cores are gone.
    drop((a, b, agent_on_b, admin_access));
    cleanup.remove().await;
}
