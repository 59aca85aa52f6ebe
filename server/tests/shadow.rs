//! Shadow mode over HTTP: a candidate (the platform's draft or a release, for chosen tenants; a
//! revision, for a tenant) decides every live request beside the enforced policies; the answer
//! does not change, the receipt records the candidate's verdict, and the shadow diff groups the
//! decisions it would change. Bad input names its field; other tenants reach nothing; support
//! changes nothing. Every test runs against SQLite and then PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

const OK: StatusCode = StatusCode::OK;

async fn expense(api: &Api, key: &Auth, amount: u32) -> Value {
    api.decide(key, json!({ "tool": "expense.submit", "args": { "amount": amount } })).await
}

async fn receipt(api: &Api, key: &Auth, decided: &Value) -> Value {
    api.get(&format!("/api/v1/receipts/{}", decided["receipt_id"].as_str().unwrap()), key).await.expect(OK)
}

#[tokio::test]
async fn a_candidate_in_shadow_is_recorded_beside_the_enforced_decision() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let bank = api.tenant_key(BANK_ADMIN).await;
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        let allow = "name: Expenses\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n";
        api.create_policy(&bank_admin, allow).await;
        api.create_policy(&api.sign_in(STARTUP_ADMIN).await, allow).await;
        let cap = "name: Expense cap\nscope: platform\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: 5000 } }\n    effect: deny\n";
        api.send(Call::new(Method::POST, "/api/v1/platform/policies", &owner).yaml(cap)).await.expect(StatusCode::CREATED);

        let set = api
            .send(Call::new(Method::PUT, "/api/v1/platform/shadow", &owner).json(&json!({ "tenants": ["meridian-bank"], "release": "draft" })))
            .await
            .expect(OK);
        assert_eq!(set[0]["shadow"], "the platform's draft");
        let big = expense(&api, &bank, 9000).await;
        assert_eq!(big["decision"], "allow", "the answer is the enforced one");
        let recorded = receipt(&api, &bank, &big).await;
        assert_eq!((recorded["verdict"].as_str(), recorded["shadow"]["verdict"].as_str()), (Some("allow"), Some("deny")), "{recorded}");
        assert_eq!(recorded["shadow"]["candidate"], "the platform's draft");
        assert!(recorded["shadow"]["rule"].as_str().unwrap().starts_with("a platform boundary"), "a tenant reads no platform policy name: {recorded}");
        let small = expense(&api, &bank, 100).await;
        assert_eq!(receipt(&api, &bank, &small).await["shadow"]["verdict"], "allow");
        let other = expense(&api, &startup, 9000).await;
        assert!(receipt(&api, &startup, &other).await.get("shadow").is_none(), "only the chosen tenants run it");

        let diff = api.get("/api/v1/shadow", &bank_admin).await.expect(OK);
        assert_eq!((diff["shadowed"].as_i64(), diff["differing"].as_i64()), (Some(2), Some(1)), "{diff}");
        let group = &diff["groups"][0];
        assert_eq!(
            (group["tool"].as_str(), group["verdict"].as_str(), group["shadow_verdict"].as_str(), group["count"].as_i64()),
            (Some("expense.submit"), Some("allow"), Some("deny"), Some(1))
        );
        assert_eq!(group["samples"][0]["args"]["amount"], 9000);
        assert_eq!(api.get("/api/v1/tenants/meridian-bank/shadow?days=1", &api.sign_in(SUPPORT).await).await.expect(OK)["differing"], 1);

        // A tenant runs a revision of its own in shadow too: the candidate is both.
        let first = api.get("/api/v1/rollout", &bank).await.expect(OK)["revision"].as_i64().unwrap();
        api.create_policy(
            &bank_admin,
            "name: Stricter\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: require_approval\n    approvers: [manager]\n",
        )
        .await;
        let both = api.send(Call::new(Method::PUT, "/api/v1/shadow", &bank_admin).json(&json!({ "revision": first }))).await.expect(OK);
        assert_eq!(both["shadow"], format!("the platform's draft with revision {first}"));
        let asked = expense(&api, &bank, 100).await;
        assert_eq!(asked["decision"], "require_approval");
        assert_eq!(receipt(&api, &bank, &asked).await["shadow"]["verdict"], "allow", "revision {first} had no approval rule");

        // Stopped, decisions run alone again; every change is audited.
        api.send(Call::new(Method::PUT, "/api/v1/shadow", &bank_admin).json(&json!({ "revision": null }))).await.expect(OK);
        let stopped = api
            .send(Call::new(Method::PUT, "/api/v1/platform/shadow", &owner).json(&json!({ "tenants": ["meridian-bank"], "release": null })))
            .await
            .expect(OK);
        assert!(stopped[0].get("shadow").is_none(), "{stopped}");
        let alone = expense(&api, &bank, 100).await;
        assert!(receipt(&api, &bank, &alone).await.get("shadow").is_none());
        let audit: Vec<String> = api.audit(&bank_admin).await.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert_eq!(audit.iter().filter(|a| a.starts_with("shadow.")).count(), 4, "{audit:?}");
    })
    .await;
}

#[tokio::test]
async fn shadows_refuse_bad_input_other_tenants_and_support() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let support = api.sign_in(SUPPORT).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        for _ in 0..3 {
            api.create_policy(&bank_admin, &allow_policy(&format!("p{}", charter_testkit::unique_suffix()), &["docs.read"])).await;
        }
        let bank_newest = api.get("/api/v1/rollout", &bank_admin).await.expect(OK)["latest_revision"].as_i64().unwrap();
        let startup_newest = api.get("/api/v1/rollout", &startup_admin).await.expect(OK)["latest_revision"].as_i64().unwrap();
        assert!(bank_newest > startup_newest);
        let put = |path: &str, auth: &Auth, body: Value| Call::new(Method::PUT, path.to_owned(), auth).json(&body);
        for (what, call, status, field) in [
            (
                "no tenants",
                put("/api/v1/platform/shadow", &owner, json!({ "tenants": [], "release": "draft" })),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("tenants"),
            ),
            (
                "a tenant that is not",
                put("/api/v1/platform/shadow", &owner, json!({ "tenants": ["nobody"], "release": "draft" })),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("tenants"),
            ),
            ("a release that is not", put("/api/v1/platform/shadow", &owner, json!({ "tenants": ["rocketlane"], "release": 99 })), StatusCode::NOT_FOUND, None),
            (
                "a release named wrongly",
                put("/api/v1/platform/shadow", &owner, json!({ "tenants": ["rocketlane"], "release": "soon" })),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("release"),
            ),
            ("an unknown field", put("/api/v1/shadow", &startup_admin, json!({ "revison": 1 })), StatusCode::BAD_REQUEST, None),
            ("another tenant's revision number", put("/api/v1/shadow", &startup_admin, json!({ "revision": bank_newest })), StatusCode::NOT_FOUND, None),
            (
                "another tenant's shadow by slug",
                put("/api/v1/tenants/meridian-bank/shadow", &startup_admin, json!({ "revision": 1 })),
                StatusCode::NOT_FOUND,
                None,
            ),
            ("support", put("/api/v1/platform/shadow", &support, json!({ "tenants": ["rocketlane"], "release": "draft" })), StatusCode::FORBIDDEN, None),
            ("support on a tenant", put("/api/v1/tenants/rocketlane/shadow", &support, json!({ "revision": 1 })), StatusCode::FORBIDDEN, None),
            (
                "a tenant admin on the platform's",
                put("/api/v1/platform/shadow", &bank_admin, json!({ "tenants": ["meridian-bank"], "release": "draft" })),
                StatusCode::FORBIDDEN,
                None,
            ),
            ("no days", Call::new(Method::GET, "/api/v1/shadow?days=0", &bank_admin), StatusCode::UNPROCESSABLE_ENTITY, Some("days")),
            ("another tenant's diff", Call::new(Method::GET, "/api/v1/tenants/meridian-bank/shadow", &startup_admin), StatusCode::NOT_FOUND, None),
        ] {
            let reply = api.send(call).await;
            assert_eq!(reply.status, status, "{what}: {}", reply.body);
            if let Some(field) = field {
                assert_eq!(reply.json()["error"]["field"], field, "{what}: {}", reply.body);
            }
        }
        let rollout = api.get("/api/v1/platform/rollout", &owner).await.expect(OK);
        assert!(rollout.as_array().unwrap().iter().all(|t| t.get("shadow").is_none()), "nothing runs in shadow: {rollout}");
    })
    .await;
}
