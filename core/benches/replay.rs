//! Replay speed (not a test): one tenant's 1,000,000 receipts (`BENCH_RECEIPTS` sets how many) on
//! SQLite, replayed against a platform draft that caps expenses. The receipts are copies of seven
//! real decisions (expenses under and over the cap and one held for approval, a masked note, a
//! read, a listing, a payment), each with its own id. Prints how long the replay took, receipts per
//! second, and what it found.
//!
//!     cargo bench -p charter-core --bench replay
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Instant;

use charter_core::{Access, CallFacts, Candidate, Core, DecideInput, Grant, Person, ReplayRequest, Target};
use charter_policy::Policy;
use charter_store::{Actor, BoundAgents, NewTenant, Owner, Receipt, ReceiptFilter, ReceiptScope, ReleaseChoice};
use serde_json::json;

const TENANT_RULES: &str = "name: Acme rules\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n    limit: { args.amount: { max: 50000 } }\n  - tool: expense.submit\n    when: { args.amount: { gt: 20000 } }\n    effect: require_approval\n    approvers: [manager]\n  - tool: notes.write\n    effect: allow\n    mask: [args.notes]\n  - tool: \"docs.*\"\n    effect: allow\n  - tool: \"^(get|list)_\"\n    effect: allow\n  - tool: payments.transfer\n    effect: allow\n    when: { principal.roles: { contains: finance } }\n";
const DRAFT: &str = "name: Expense cap\nscope: platform\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: 10000 } }\n    effect: deny\n  - tool: notes.write\n    when: { args.notes: { contains: secret } }\n    effect: deny\n  - tool: \"system.*\"\n    effect: deny\n";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::var("BENCH_RECEIPTS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let database = charter_testkit::databases("bench_replay").await.into_iter().next().expect("SQLite");
    let store = database.store.clone();
    let core = Core::new(store.clone());
    let acme = store.create_tenant(NewTenant { slug: "acme".into(), name: "Acme".into(), plan: "enterprise".into(), policy_quota: None }).await.unwrap();
    store.create_policy(&Actor::system(), &Owner::Tenant(acme.id.clone()), &Policy::from_yaml(TENANT_RULES).unwrap()).await.unwrap();
    let key = store.create_api_key(&Actor::system(), &acme.id, "bench", BoundAgents::default(), charter_store::KeyScopes::all()).await.unwrap();
    let agent = core.access_for_key(&key.secret).await.unwrap();

    // Real decisions, as templates.
    let calls = [
        json!({ "tool": "expense.submit", "args": { "amount": 100 } }),
        json!({ "tool": "expense.submit", "args": { "amount": 15000 } }),
        json!({ "tool": "expense.submit", "args": { "amount": 30000 } }),
        json!({ "tool": "notes.write", "args": { "notes": "a secret" } }),
        json!({ "tool": "docs.read", "args": { "id": 7 } }),
        json!({ "tool": "list_invoices", "args": {} }),
        json!({ "tool": "payments.transfer", "args": { "amount": 10 }, "roles": ["finance"] }),
    ];
    for call in &calls {
        let principal =
            charter_policy::Principal { roles: serde_json::from_value(call.get("roles").cloned().unwrap_or(json!([]))).unwrap(), ..Default::default() };
        let input = DecideInput {
            tool: call["tool"].as_str().unwrap().into(),
            args: call["args"].clone(),
            agent: Some("bot".into()),
            principal,
            ..DecideInput::default()
        };
        core.decide(&agent, input, CallFacts::from_ip(Some("10.0.0.1".into()))).await.unwrap();
    }
    let templates: Vec<Receipt> = store.list_receipts(&ReceiptScope::Tenant(acme.id.clone()), &ReceiptFilter::default(), 100).await.unwrap();
    assert_eq!(templates.len(), calls.len());

    // Copies of them, doubling the tenant's receipts until there are `count` more, in SQLite's
    // own SQL (the benchmark runs on SQLite; binding a million rows one by one takes minutes).
    let filling = Instant::now();
    let columns = "tenant_id, api_key_id, agent, principal, tool, args, args_digest, verdict, reason, decision, policy_versions, approval_id, latency_us, \
                   created_at, platform_release, tenant_revision, context";
    let mut have = templates.len();
    while have < count + templates.len() {
        let copies = i64::try_from(have.min(count + templates.len() - have)).unwrap();
        // Spread over the last hour, as a busy tenant's would be.
        let copied = columns.replace("created_at", "created_at - abs(random()) % 3600000");
        let sql = format!("INSERT INTO receipts (id, {columns}) SELECT lower(hex(randomblob(16))), {copied} FROM receipts WHERE tenant_id = $1 LIMIT $2");
        sqlx::query(&sql).bind(acme.id.to_string()).bind(copies).execute(store.pool()).await.unwrap();
        have += usize::try_from(copies).unwrap();
    }
    println!("wrote {count} receipts in {:.1} s", filling.elapsed().as_secs_f64());

    store.create_policy(&Actor::system(), &Owner::Platform, &Policy::from_yaml(DRAFT).unwrap()).await.unwrap();
    let owner = Access::PlatformAdmin(Person { user_id: "owner".into(), username: "owner".into(), approver_roles: Vec::new(), via: None, grant: Grant::Full });
    let started = Instant::now();
    let report = core
        .replay(&owner, ReplayRequest { candidate: Candidate::Release(ReleaseChoice::Draft), tenant: Some(Target::Tenant("acme")), days: 1, ran_release: None })
        .await
        .unwrap();
    let took = started.elapsed();
    println!(
        "replayed {} receipts in {:.2} s ({:.0} receipts/s): {} flipped in {} groups, {} unchanged, {} unknown, {} set aside",
        report.replayed,
        took.as_secs_f64(),
        report.replayed as f64 / took.as_secs_f64(),
        report.flipped,
        report.groups.len(),
        report.unchanged,
        report.unknown,
        report.set_aside
    );
    for group in &report.groups {
        println!("  {} {}: {} -> {} x{} ({})", group.tenant, group.tool, group.from, group.to, group.count, group.rule);
    }
    assert_eq!(report.replayed, u64::try_from(count + templates.len()).unwrap());
    database.remove().await;
}
