//! The demo is alive: a fresh demo records a week of its agents' calls through the decision path
//! (receipts, masking, approvals, the dashboards' counts), and `charter demo traffic` asks a running
//! demo for decisions over HTTP, as an agent would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeSet;
use std::net::SocketAddr;

use charter_core::{Access, CoreError, DecideInput};
use charter_server::demo::seed_if_empty;
use charter_server::demo::traffic::{run, Traffic};
use charter_server::demo::week::record_week;
use charter_server::{app, Config, Services};
use charter_store::{now_ms, Store};
use leptos::prelude::LeptosOptions;

const PASSWORD: &str = "charter-demo";
const DAY_MS: i64 = 86_400_000;

struct Demo {
    store: Store,
    services: Services,
    dir: std::path::PathBuf,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn demo(name: &str) -> Demo {
    let dir = std::env::temp_dir().join(format!("charter-demo-test-{name}-{}-{}", std::process::id(), now_ms()));
    let store = Store::connect(&format!("sqlite://{}/charter.db", dir.display())).await.unwrap();
    seed_if_empty(&store, PASSWORD).await.unwrap().expect("an empty database gets the demo");
    let services = Services::new(store.clone(), &Config::from_lookup(|_| None).unwrap()).await.unwrap();
    Demo { store, services, dir }
}

async fn rows<T>(store: &Store, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    sqlx::query_as(sql).fetch_all(store.pool()).await.unwrap()
}

#[tokio::test]
async fn a_fresh_demo_records_a_week_of_decisions_through_the_decision_path() {
    let demo = demo("week").await;
    let core = &demo.services.core;
    let week = record_week(core, PASSWORD).await.unwrap();
    assert_eq!(week.decisions, 2_002, "a week of calls, and a request of the bank and of the hospital waiting");
    assert!(week.approvals_resolved > 0);
    let now = now_ms();

    // Every demo tenant's week: a week long, every receipt by its "Demo traffic" key.
    let spans: Vec<(String, i64, i64, i64, String)> = rows(
        &demo.store,
        "SELECT t.slug, COUNT(*), MIN(r.created_at), MAX(r.created_at), MIN(k.name) FROM receipts r JOIN tenants t ON t.id = r.tenant_id \
         JOIN api_keys k ON k.id = r.api_key_id GROUP BY t.slug ORDER BY t.slug",
    )
    .await;
    let counts: Vec<(&str, i64)> = spans.iter().map(|(slug, count, ..)| (slug.as_str(), *count)).collect();
    assert_eq!(counts, [("meridian-bank", 901), ("rocketlane", 500), ("st-aurelia-health", 601)]);
    for (slug, _, first, last, key) in &spans {
        assert!(now - first > 6 * DAY_MS && now - first <= 7 * DAY_MS, "{slug}'s week starts a week ago");
        assert!(*last <= now, "{slug}: nothing in the future");
        assert_eq!(key, "Demo traffic");
    }
    let verdicts: Vec<(String, String)> =
        rows(&demo.store, "SELECT DISTINCT t.slug, r.verdict FROM receipts r JOIN tenants t ON t.id = r.tenant_id ORDER BY 1, 2").await;
    let bank: BTreeSet<&str> = verdicts.iter().filter(|(slug, _)| slug == "meridian-bank").map(|(_, v)| v.as_str()).collect();
    assert_eq!(bank, BTreeSet::from(["allow", "deny", "require_approval"]));
    let hospital: BTreeSet<&str> = verdicts.iter().filter(|(slug, _)| slug == "st-aurelia-health").map(|(_, v)| v.as_str()).collect();
    assert_eq!(hospital, BTreeSet::from(["allow", "deny", "require_approval"]));

    // The server set each call's facts at its own moment of the week.
    let facts: Vec<(i64, String)> = rows(&demo.store, "SELECT created_at, context FROM receipts LIMIT 50").await;
    for (at, context) in facts {
        let context: serde_json::Value = serde_json::from_str(&context).unwrap();
        assert_eq!(context["time"], at);
    }
    // Masked reads are stored masked.
    let reads: Vec<(String,)> = rows(&demo.store, "SELECT args FROM receipts WHERE tool = 'patients.read'").await;
    assert!(!reads.is_empty());
    assert!(reads.iter().all(|(args,)| args.contains(r#""notes":"[masked]""#) && !args.contains("discharge")), "{:?}", reads.first());
    // Approvals pending, approved, rejected, and expired unanswered.
    let approvals: Vec<(String, i64)> = rows(&demo.store, "SELECT status, expires_at FROM approvals").await;
    let statuses: BTreeSet<&str> = approvals.iter().map(|(status, _)| status.as_str()).collect();
    assert!(statuses.is_superset(&BTreeSet::from(["pending", "approved", "rejected"])), "{statuses:?}");
    assert!(approvals.iter().any(|(status, expires)| status == "pending" && *expires < now), "some expired unanswered");
    assert!(
        approvals.iter().any(|(status, expires)| status == "pending" && *expires > now),
        "some wait: {:?}",
        approvals.iter().map(|(s, e)| (s.as_str(), (e - now) / 3_600_000)).collect::<Vec<_>>()
    );
    // The dashboards count every decision, and denials by the rule that denied them.
    let counted: Vec<(i64,)> = rows(&demo.store, "SELECT CAST(SUM(decisions) AS BIGINT) FROM decision_hours").await;
    assert_eq!(counted[0].0, 2_002);
    let unnamed: Vec<(i64,)> = rows(&demo.store, "SELECT COUNT(*) FROM denial_counts WHERE settled_by = '' OR settled_by_tenant = ''").await;
    assert_eq!(unnamed[0].0, 0);
    let denials: Vec<(i64,)> = rows(&demo.store, "SELECT CAST(SUM(decisions) AS BIGINT) FROM denial_counts").await;
    let denied: Vec<(i64,)> = rows(&demo.store, "SELECT COUNT(*) FROM receipts WHERE verdict = 'deny'").await;
    assert_eq!(denials, denied);

    // A recorded decision cannot be in the future.
    let key = core.create_key(&staff(&demo).await, charter_core::Target::Tenant("rocketlane"), "future", &[], None).await.unwrap();
    let agent = core.access_for_key(&key.secret).await.unwrap();
    let input = DecideInput { tool: "deploy.staging".into(), ..DecideInput::default() };
    match core.decide_as_of(&agent, input, now_ms() + 60_000).await {
        Err(CoreError::Invalid { field, .. }) => assert_eq!(field, "time"),
        other => panic!("a future decision was recorded: {other:?}"),
    }
}

async fn staff(demo: &Demo) -> Access {
    let owner = demo.services.core.sign_in("owner@charter.example", PASSWORD).await.unwrap().unwrap();
    Access::for_user(&owner).unwrap()
}

#[tokio::test]
async fn demo_traffic_asks_a_running_demo_for_decisions_over_http() {
    let demo = demo("traffic").await;
    let options = LeptosOptions::builder().output_name("charter").site_root("target/site").build();
    let router = app(options, demo.services.clone(), false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await });

    let traffic = Traffic { url: url.clone(), password: PASSWORD.into(), per_second: 200.0, count: Some(12) };
    let tally = run(&traffic).await.unwrap();
    assert_eq!((tally.total(), tally.failed), (12, 0), "{tally:?}");
    let live: Vec<(i64,)> =
        rows(&demo.store, "SELECT COUNT(*) FROM receipts r JOIN api_keys k ON k.id = r.api_key_id WHERE k.name = 'Demo traffic (live)'").await;
    assert_eq!(live[0].0, 12, "every answered decision has its receipt");

    // A second run revokes the first run's keys: one live key per tenant at a time.
    run(&Traffic { count: Some(3), ..traffic.clone() }).await.unwrap();
    let keys: Vec<(i64, i64)> = rows(
        &demo.store,
        "SELECT COUNT(*), CAST(SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) FROM api_keys WHERE name = 'Demo traffic (live)'",
    )
    .await;
    assert_eq!(keys, [(6, 3)]);

    let wrong = Traffic { password: "not-the-password".into(), ..traffic };
    let refused = run(&wrong).await.unwrap_err();
    assert!(refused.contains("could not sign in"), "{refused}");
}
