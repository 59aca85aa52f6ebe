//! Rate limits, budgets and session rules counted in Redis through the real router: two replicas on
//! one database share every limit, and a Redis that cannot be reached refuses the calls that need
//! it (with a receipt saying why) while calls no counter concerns keep deciding. SQLite and
//! PostgreSQL; Redis from `charter_testkit::redis` (required under CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::StatusCode;
use serde_json::{json, Value};

const POLICY: &str = "name: Shared limits
scope: tenant
rules:
  - tool: email.send
    effect: allow
    rate_limit: { calls: 10, per: 1m, per_key: tenant }
  - tool: payments.send
    effect: allow
    budget: { sum: args.amount, max: 100, per: 1d }
  - tool: patients.read
    effect: allow
  - tool: chat.reply
    effect: allow
  - tool: chat.reply
    when: { session.called: \"patients.*\" }
    effect: require_approval
    approvers: [manager]
    reason: replies after reading patient records need a manager
";

fn verdicts(decisions: &[Value]) -> Vec<&str> {
    decisions.iter().map(|d| d["decision"].as_str().unwrap_or("?")).collect()
}

#[tokio::test]
async fn limits_budgets_and_sessions_hold_across_three_replicas() {
    let Some((url, prefix)) = charter_testkit::redis() else { return };
    each_database(move |api| {
        let (url, prefix) = (url.clone(), prefix.clone());
        async move {
            let key = api.tenant_key(BANK_ADMIN).await;
            api.create_policy(&key, POLICY).await;
            let settings = [("CHARTER_REDIS_URL", url.as_str()), ("CHARTER_REDIS_PREFIX", prefix.as_str())];
            let mut replicas = Vec::new();
            for _ in 0..3 {
                replicas.push(Api::with_settings(api.store.clone(), &settings).await);
            }

            let mut emails = Vec::new();
            for n in 0..13 {
                emails.push(replicas[n % 3].decide(&key, json!({ "tool": "email.send" })).await);
            }
            let allowed = verdicts(&emails).iter().filter(|verdict| **verdict == "allow").count();
            assert_eq!(allowed, 10, "10 a minute for the tenant, whichever replica answers: {:?}", verdicts(&emails));
            assert_eq!(verdicts(&emails)[10..], ["deny", "deny", "deny"]);
            let reason = emails[10]["reason"].as_str().unwrap();
            assert!(reason.contains("rate limit of 10 calls per 1m per tenant"), "{reason}");

            let payments = [
                replicas[0].decide(&key, json!({ "tool": "payments.send", "args": { "amount": 60 } })).await,
                replicas[1].decide(&key, json!({ "tool": "payments.send", "args": { "amount": 50 } })).await,
                replicas[1].decide(&key, json!({ "tool": "payments.send", "args": { "amount": 40 } })).await,
            ];
            assert_eq!(verdicts(&payments), ["allow", "deny", "allow"], "the budget of 100 a day is one total across replicas");

            let read = replicas[0].decide(&key, json!({ "tool": "patients.read", "session": "s-1" })).await;
            assert_eq!(read["decision"], "allow");
            let reply = replicas[1].decide(&key, json!({ "tool": "chat.reply", "session": "s-1" })).await;
            assert_eq!(reply["decision"], "require_approval", "the other replica knows what the session read: {reply}");
            let other_session = replicas[1].decide(&key, json!({ "tool": "chat.reply", "session": "s-2" })).await;
            assert_eq!(other_session["decision"], "allow");

            let ready = replicas[0].get("/readyz", &Auth::Anonymous).await.expect(StatusCode::OK);
            assert_eq!(ready["counters"], "ok", "{ready}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_redis_refuses_only_the_calls_that_need_it() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, POLICY).await;
        let down = Api::with_settings(api.store.clone(), &[("CHARTER_REDIS_URL", "redis://127.0.0.1:1/")]).await;

        let email = down.decide(&key, json!({ "tool": "email.send" })).await;
        assert_eq!(email["decision"], "deny", "{email}");
        let reason = email["reason"].as_str().unwrap();
        assert!(reason.contains("the shared counters are unavailable") && reason.contains("cannot be checked"), "{reason}");
        let payment = down.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 1 } })).await;
        assert_eq!(payment["decision"], "deny", "{payment}");
        let reply = down.decide(&key, json!({ "tool": "chat.reply", "session": "s-1" })).await;
        assert_eq!(reply["decision"], "deny", "a session rule cannot be checked: {reply}");

        let plain = down.decide(&key, json!({ "tool": "patients.read" })).await;
        assert_eq!(plain["decision"], "allow", "no counter concerns this call: {plain}");

        // Every refusal has its receipt, with the reason.
        let receipts = api.receipts(&key, "tool=email.send").await;
        assert_eq!(receipts.len(), 1, "{receipts:?}");
        assert_eq!(receipts[0]["verdict"], "deny");

        let ready = down.get("/readyz", &Auth::Anonymous).await.expect(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(ready["counters"], "unreachable", "{ready}");
        assert_eq!(ready["ready"], false);
    })
    .await;
}

#[tokio::test]
async fn a_malformed_redis_address_is_refused_at_start() {
    let err = charter_server::Config::from_lookup(|name| (name == "CHARTER_REDIS_URL").then(|| "localhost:6379".to_owned())).unwrap_err();
    assert_eq!(err.to_string(), "`CHARTER_REDIS_URL` must start with redis:// or rediss://, got `localhost:6379`");
}
