//! What an operator reads: `/metrics` (Prometheus text, not public) and `/readyz`, through the
//! real router on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

/// The value of the sample `name{labels}` in a Prometheus text page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

#[tokio::test]
async fn metrics_count_decisions_by_tenant_and_verdict_for_a_scraper_with_the_token() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, &allow_policy("Docs", &["docs.read"])).await;
        let scraped = Api::with_settings(api.store.clone(), &[("CHARTER_METRICS_TOKEN", "scrape-me")]);
        let read = |auth: Auth| {
            let scraped = &scraped;
            async move { scraped.send(Call::new(Method::GET, "/metrics", &auth)).await }
        };
        let before = read(Auth::Header("Bearer scrape-me".into())).await;
        assert_eq!(before.status, StatusCode::OK);
        let page = before.body.clone();
        let allowed = r#"charter_decisions_total{tenant="meridian-bank",verdict="allow"}"#;
        let denied = r#"charter_decisions_total{tenant="meridian-bank",verdict="deny"}"#;
        let (allowed_before, denied_before) = (sample(&page, allowed).unwrap_or(0.0), sample(&page, denied).unwrap_or(0.0));

        for _ in 0..3 {
            assert_eq!(scraped.decide(&key, json!({ "tool": "docs.read" })).await["decision"], "allow");
        }
        assert_eq!(scraped.decide(&key, json!({ "tool": "shell.exec" })).await["decision"], "deny");

        let after = read(Auth::Header("Bearer scrape-me".into())).await;
        let page = after.body.clone();
        assert!(after.headers["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
        // Other tests in this binary decide too, for other tenants or at the same time: at least
        // these calls were counted.
        assert!(sample(&page, allowed).unwrap() >= allowed_before + 3.0, "{page}");
        assert!(sample(&page, denied).unwrap() >= denied_before + 1.0, "{page}");
        for series in [
            "charter_decision_duration_seconds_count",
            "charter_receipt_batch_size_count",
            "charter_receipt_queue_depth",
            "charter_policy_cache_hits_total",
            "charter_policy_recompiles_total",
            "charter_redis_errors_total",
            "charter_changes_missed_total",
        ] {
            assert!(sample(&page, series).is_some(), "`{series}` is exposed:\n{page}");
        }
        assert!(sample(&page, "charter_decision_duration_seconds_count").unwrap() >= 4.0);

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
