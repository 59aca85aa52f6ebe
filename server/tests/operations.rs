//! What an operator reads: `/metrics` (Prometheus text, not public) and `/readyz`, through the
//! real router on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{Method, StatusCode};
use prometheus_parse::{Scrape, Value};
use serde_json::json;

/// A `/metrics` page read by a Prometheus text parser; a page it cannot read fails the test.
fn scrape(page: &str) -> Scrape {
    Scrape::parse(page.lines().map(|line| Ok(line.to_owned()))).unwrap_or_else(|err| panic!("not Prometheus text ({err}):\n{page}"))
}

/// The value of the counter or gauge `metric` with these labels, if the page has it.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape.samples.iter().filter(|sample| sample.metric == metric && labels.iter().all(|(name, want)| sample.labels.get(name) == Some(*want))).find_map(
        |sample| match sample.value {
            Value::Counter(value) | Value::Gauge(value) | Value::Untyped(value) => Some(value),
            _ => None,
        },
    )
}

/// The number of observations of the histogram `metric`.
fn observations(scrape: &Scrape, metric: &str) -> Option<f64> {
    scrape.samples.iter().find(|sample| sample.metric == metric).and_then(|sample| match &sample.value {
        Value::Histogram(buckets) => buckets.last().map(|bucket| bucket.count),
        _ => None,
    })
}

#[tokio::test]
async fn metrics_count_decisions_by_tenant_and_verdict_for_a_scraper_with_the_token() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, &allow_policy("Docs", &["docs.read"])).await;
        let scraped = Api::with_settings(api.store.clone(), &[("CHARTER_METRICS_TOKEN", "scrape-me")]).await;
        let read = |auth: Auth| {
            let scraped = &scraped;
            async move { scraped.send(Call::new(Method::GET, "/metrics", &auth)).await }
        };
        let before = read(Auth::Header("Bearer scrape-me".into())).await;
        assert_eq!(before.status, StatusCode::OK);
        let page = scrape(&before.body);
        let decisions = "charter_decisions_total";
        let (allowed, denied) = ([("tenant", "meridian-bank"), ("verdict", "allow")], [("tenant", "meridian-bank"), ("verdict", "deny")]);
        let (allowed_before, denied_before) = (value(&page, decisions, &allowed).unwrap_or(0.0), value(&page, decisions, &denied).unwrap_or(0.0));

        for _ in 0..3 {
            assert_eq!(scraped.decide(&key, json!({ "tool": "docs.read" })).await["decision"], "allow");
        }
        assert_eq!(scraped.decide(&key, json!({ "tool": "shell.exec" })).await["decision"], "deny");

        let after = read(Auth::Header("Bearer scrape-me".into())).await;
        let page = scrape(&after.body);
        assert!(after.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        // Other tests in this binary decide too, for other tenants or at the same time: at least
        // these calls were counted.
        assert!(value(&page, decisions, &allowed).unwrap() >= allowed_before + 3.0, "{}", after.body);
        assert!(value(&page, decisions, &denied).unwrap() >= denied_before + 1.0, "{}", after.body);
        for gauge_or_counter in [
            "charter_receipt_queue_depth",
            "charter_policy_cache_hits_total",
            "charter_policy_recompiles_total",
            "charter_redis_errors_total",
            "charter_changes_missed_total",
        ] {
            assert!(value(&page, gauge_or_counter, &[]).is_some(), "`{gauge_or_counter}` is exposed:\n{}", after.body);
        }
        assert!(observations(&page, "charter_decision_duration_seconds").unwrap() >= 4.0, "{}", after.body);
        assert!(observations(&page, "charter_receipt_batch_size").unwrap() >= 1.0, "{}", after.body);

        for refused in [Auth::Anonymous, Auth::Header("Bearer wrong".into()), key.clone()] {
            let reply = read(refused).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "the figures name tenants: nobody else reads them");
        }
        // Without a token, only a loopback peer may read them (a request without a peer may not).
        let reply = api.send(Call::new(Method::GET, "/metrics", &Auth::Anonymous)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn readiness_says_where_the_counters_are() {
    each_database(|api| async move {
        let ready = api.get("/readyz", &Auth::Anonymous).await.expect(StatusCode::OK);
        assert_eq!(ready["counters"], "in this process", "{ready}");
        assert_eq!(ready["database"], "ok");
    })
    .await;
}

#[tokio::test]
async fn receipt_retention_is_set_by_platform_admins_audited_and_enforced_per_tenant() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let support = api.sign_in(SUPPORT).await;
        let admin = api.sign_in(BANK_ADMIN).await;
        let key = api.tenant_key(BANK_ADMIN).await;
        assert_eq!(api.get("/api/v1/settings", &admin).await.expect(StatusCode::OK)["receipt_retention_days"], 90, "90 days unless set");

        let set =
            |auth: &Auth, slug: &str, body: serde_json::Value| api.send(Call::new(Method::PUT, format!("/api/v1/tenants/{slug}/retention"), auth).json(&body));
        let saved = set(&owner, "meridian-bank", json!({ "receipt_retention_days": 30 })).await.expect(StatusCode::OK);
        assert_eq!(saved["receipt_retention_days"], 30);
        assert_eq!(api.get("/api/v1/settings", &admin).await.expect(StatusCode::OK)["receipt_retention_days"], 30);
        // What a tenant reads it may send back; a different retention refuses the whole change.
        let read = api.get("/api/v1/settings", &admin).await.expect(StatusCode::OK);
        api.send(Call::new(Method::PUT, "/api/v1/settings", &admin).json(&read)).await.expect(StatusCode::OK);
        let shorter = json!({ "time_zone": "Europe/Paris", "receipt_retention_days": 1 });
        api.send(Call::new(Method::PUT, "/api/v1/settings", &admin).json(&shorter)).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(api.get("/api/v1/settings", &admin).await.expect(StatusCode::OK), read, "nothing was written");
        let through_settings = json!({ "receipt_retention_days": 45 });
        let changed = api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/settings", &owner).json(&through_settings)).await.expect(StatusCode::OK);
        assert_eq!(changed["receipt_retention_days"], 45);
        set(&owner, "meridian-bank", json!({ "receipt_retention_days": 30 })).await.expect(StatusCode::OK);
        for (days, shown) in [(json!(0), "`0`"), (json!(3651), "`3651`")] {
            let refused =
                set(&owner, "meridian-bank", json!({ "receipt_retention_days": days })).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
            assert_eq!(refused["field"], "receipt_retention_days");
            assert!(refused["message"].as_str().unwrap().contains(shown), "{refused}");
        }
        let not_a_number = set(&owner, "meridian-bank", json!({ "receipt_retention_days": "forever" })).await;
        assert_eq!(not_a_number.status, StatusCode::BAD_REQUEST);
        assert!(not_a_number.body.contains("receipt_retention_days"), "{}", not_a_number.body);
        // The tenant cannot shorten its own audit trail, support changes nothing, keys nothing.
        for refused in [&admin, &support, &key] {
            set(refused, "meridian-bank", json!({ "receipt_retention_days": 1 })).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        }
        set(&owner, "no-such-tenant", json!({ "receipt_retention_days": 5 })).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        let change = api
            .audit(&admin)
            .await
            .into_iter()
            .find(|e| e["action"] == "tenant.receipt_retention" && e["before"]["receipt_retention_days"] == 90)
            .expect("the change is audited");
        assert_eq!((change["before"]["receipt_retention_days"].clone(), change["after"]["receipt_retention_days"].clone()), (json!(90), json!(30)));

        // A receipt of 40 days ago is past the bank's 30 days; the startup keeps its own for 90.
        api.create_policy(&admin, &allow_policy("Docs", &["docs.read"])).await;
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        let old_bank = api.decide(&key, json!({ "tool": "docs.read" })).await;
        assert_eq!(old_bank["decision"], "allow");
        let old_startup = api.decide(&startup, json!({ "tool": "docs.read" })).await;
        for receipt in [&old_bank["receipt_id"], &old_startup["receipt_id"]] {
            sqlx::query("UPDATE receipts SET created_at = created_at - $1 WHERE id = $2")
                .bind(40 * 86_400_000_i64)
                .bind(receipt.as_str().unwrap())
                .execute(api.store.pool())
                .await
                .unwrap();
        }
        let recent_bank = api.decide(&key, json!({ "tool": "docs.read" })).await;

        let report = api.store.enforce_retention(charter_store::now_ms()).await.unwrap();
        assert_eq!(report.deleted, 1, "{report:?}");
        assert_eq!(api.receipt_ids(&key, "").await, [recent_bank["receipt_id"].as_str().unwrap()], "only the recent receipt is kept");
        assert_eq!(api.receipt_ids(&startup, "").await, [old_startup["receipt_id"].as_str().unwrap()], "the startup's 90 days keep its receipt");
    })
    .await;
}
