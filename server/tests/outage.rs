//! PostgreSQL going away under load and coming back: while it is down every decision answers 503
//! (never an allow without its receipt), every acknowledged decision's receipt is in the
//! database, and the same process decides again once it is back, without a restart. The database
//! is taken away by cutting a proxy between the server and PostgreSQL (every connection dropped,
//! new ones refused), so the machine's PostgreSQL, which other tests use, is never stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_support::*;
use axum::http::StatusCode;
use charter_store::Store;
use charter_testkit::Proxy;
use serde_json::{json, Value};

/// What one decision got: when it was asked, its status and body.
struct Answer {
    asked: Instant,
    status: StatusCode,
    body: Value,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_answer_503_while_postgresql_is_down_and_resume_without_a_restart() {
    let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_test_writer().try_init();
    let Some((database, url)) = charter_testkit::postgres("outage").await else { return };
    let (prefix, rest) = url.split_once('@').unwrap();
    let (host_port, name) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(host_port).await;
    let store = Store::connect(&format!("{prefix}@{}/{name}", proxy.addr())).await.unwrap();
    let api = demo_api(&store).await;
    let admin = api.sign_in(BANK_ADMIN).await;
    api.create_policy(&admin, &allow_policy("Docs", &["docs.read"])).await;
    let key = api.tenant_key(BANK_ADMIN).await;
    assert_eq!(api.decide(&key, json!({ "tool": "docs.read" })).await["decision"], "allow");

    // Four clients decide without pause, before, during and after the outage.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|n| {
            let (api, key, stop) = (api.clone(), key.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let asked = Instant::now();
                    let reply = api.post("/api/v1/decide", &key, &json!({ "tool": "docs.read", "agent": format!("client-{n}") })).await;
                    answers.push(Answer { asked, status: reply.status, body: reply.json() });
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                answers
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cut_at = Instant::now();
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let down = api.get("/readyz", &Auth::Anonymous).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{}", down.body);
    assert_eq!(down.json()["database"], "unreachable");
    proxy.restore();
    let restored_at = Instant::now();
    // Back without a restart: the same router decides again, and says it is ready.
    loop {
        let reply = api.post("/api/v1/decide", &key, &json!({ "tool": "docs.read" })).await;
        if reply.status == StatusCode::OK {
            break;
        }
        assert!(restored_at.elapsed() < Duration::from_secs(10), "still {} after 10 s: {}", reply.status, reply.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("decisions resumed {:?} after the database came back", restored_at.elapsed());
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for client in clients {
        answers.extend(client.await.unwrap());
    }
    let ready = loop {
        let reply = api.get("/readyz", &Auth::Anonymous).await;
        if reply.status == StatusCode::OK || restored_at.elapsed() > Duration::from_secs(15) {
            break reply;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(ready.status, StatusCode::OK, "ready again: {}", ready.body);

    // Every answer is an allow with its receipt, or a 503 saying nothing was decided.
    let mut acknowledged = Vec::new();
    for answer in &answers {
        match answer.status {
            StatusCode::OK => {
                assert_eq!(answer.body["decision"], "allow", "{}", answer.body);
                acknowledged.push(answer.body["receipt_id"].as_str().unwrap().to_owned());
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(answer.body["error"]["code"], "unavailable", "{}", answer.body);
                assert!(answer.asked + Duration::from_secs(4) > cut_at, "a 503 long before the outage: {}", answer.body);
            }
            other => panic!("a decision answered {other}: {}", answer.body),
        }
    }
    let refused = answers.iter().filter(|answer| answer.status == StatusCode::SERVICE_UNAVAILABLE).count();
    let after = answers.iter().filter(|answer| answer.asked > restored_at && answer.status == StatusCode::OK).count();
    let before = answers.iter().filter(|answer| answer.asked < cut_at && answer.status == StatusCode::OK).count();
    assert!(refused > 0 && before > 0 && after > 0, "{before} allowed before, {refused} refused, {after} allowed after");
    eprintln!("{before} allowed before the outage, {refused} answered 503, {after} allowed after; {} in all", answers.len());

    // Read straight from PostgreSQL: every acknowledged decision's receipt is there.
    let stored: Vec<String> = sqlx::query_scalar("SELECT id FROM receipts").fetch_all(database.store.pool()).await.unwrap();
    let stored: std::collections::HashSet<String> = stored.into_iter().collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(lost.is_empty(), "{} acknowledged receipts are missing: {lost:?}", lost.len());

    drop(api);
    store.close().await;
    database.remove().await;
}
