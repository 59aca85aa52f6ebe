//! Replay over HTTP: a candidate (the platform's draft, a release, a tenant's revision) decides the
//! stored requests again, and the report groups the decisions that would change; what the request
//! alone cannot reproduce (counted limits, masked arguments a rule reads) is set aside or unknown,
//! never a flip; a rollback's release reproduces the decisions it made. Bad input names its field;
//! another tenant's receipts are out of reach. Every test runs against SQLite and then PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

const OK: StatusCode = StatusCode::OK;

const BANK_RULES: &str = "name: Bank rules\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n  - tool: notes.write\n    effect: allow\n    mask: [args.notes]\n  - tool: docs.read\n    effect: allow\n    rate_limit: { calls: 1, per: 1m, per_key: tenant }\n";
const EXPENSE_CAP: &str =
    "name: Expense cap\nscope: platform\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: 5000 } }\n    effect: deny\n    reason: expenses over 5000 are not for agents\n  - tool: notes.write\n    when: { args.notes: { contains: \"password\" } }\n    effect: deny\n";

async fn replay(api: &Api, auth: &Auth, body: Value) -> Value {
    api.post("/api/v1/platform/releases/replay", auth, &body).await.expect(OK)
}

fn totals(report: &Value) -> [u64; 5] {
    ["replayed", "unchanged", "flipped", "unknown", "set_aside"].map(|key| report[key].as_u64().unwrap())
}

#[tokio::test]
async fn a_replay_shows_which_decisions_a_candidate_would_change() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let bank = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&bank_admin, BANK_RULES).await;
        let general = api.get("/api/v1/platform/releases", &owner).await.expect(OK)["general"].as_i64().unwrap();
        for body in [
            json!({ "tool": "expense.submit", "args": { "amount": 100 } }),
            json!({ "tool": "expense.submit", "args": { "amount": 9000 }, "agent": "spender" }),
            json!({ "tool": "notes.write", "args": { "notes": "the password is hunter2" } }),
            json!({ "tool": "docs.read" }),
            json!({ "tool": "docs.read" }),
        ] {
            api.decide(&bank, body).await;
        }

        // The draft caps expenses: one decision flips, the masked note is unknown, the rate-limited
        // read is set aside.
        api.send(Call::new(Method::POST, "/api/v1/platform/policies", &owner).yaml(EXPENSE_CAP)).await.expect(StatusCode::CREATED);
        let report = replay(&api, &owner, json!({ "release": "draft", "days": 1 })).await;
        assert_eq!(totals(&report), [5, 2, 1, 1, 1], "{report}");
        let group = &report["groups"][0];
        assert_eq!(
            (group["tenant"].as_str(), group["tool"].as_str(), group["from"].as_str(), group["to"].as_str()),
            (Some("meridian-bank"), Some("expense.submit"), Some("allow"), Some("deny"))
        );
        assert_eq!(group["count"], 1);
        assert!(group["rule"].as_str().unwrap().contains("Expense cap"), "{group}");
        assert_eq!((group["examples"][0]["agent"].as_str(), group["examples"][0]["args"]["amount"].as_i64()), (Some("spender"), Some(9000)));
        assert!(!report.to_string().contains("hunter2"), "the masked argument stays masked");
        // One tenant, or support: the same.
        let one = replay(&api, &owner, json!({ "release": "draft", "days": 1, "tenant": "meridian-bank" })).await;
        assert_eq!((one["tenants"].as_u64(), one["flipped"].as_u64()), (Some(1), Some(1)));
        replay(&api, &api.sign_in(SUPPORT).await, json!({ "release": "draft" })).await;

        // Published and promoted, the new decisions run it; rolled back, the tenant runs the old
        // release again, which reproduces every decision made under it.
        let next = api.release_to_all(&owner).await;
        let capped = api.decide(&bank, json!({ "tool": "expense.submit", "args": { "amount": 9000 } })).await;
        assert_eq!(capped["decision"], "deny");
        api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/release", &owner).json(&json!({ "release": general }))).await.expect(OK);
        let back = replay(&api, &owner, json!({ "release": general, "days": 1, "tenant": "meridian-bank", "ran_release": general })).await;
        assert_eq!((back["replayed"].as_u64(), back["flipped"].as_u64()), (Some(5), Some(0)), "{back}");
        let forward = replay(&api, &owner, json!({ "release": general, "days": 1, "tenant": "meridian-bank", "ran_release": next })).await;
        assert_eq!((forward["flipped"].as_u64(), forward["groups"][0]["to"].as_str()), (Some(1), Some("allow")), "{forward}");
    })
    .await;
}

#[tokio::test]
async fn a_tenant_replays_a_revision_of_its_own_policies() {
    each_database(|api| async move {
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let bank = api.tenant_key(BANK_ADMIN).await;
        let created = api.create_policy(&bank_admin, "name: Reads\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n").await;
        let first = api.get("/api/v1/rollout", &bank).await.expect(OK)["revision"].as_i64().unwrap();
        api.decide(&bank, json!({ "tool": "docs.read" })).await;
        api.update_policy(&bank_admin, created["id"].as_str().unwrap(), 1, "name: Reads\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: deny\n")
            .await
            .expect(OK);
        api.decide(&bank, json!({ "tool": "docs.read" })).await;

        let older = api.post("/api/v1/revisions/replay", &bank, &json!({ "revision": first, "days": 1 })).await.expect(OK);
        assert_eq!((older["replayed"].as_u64(), older["flipped"].as_u64(), older["groups"][0]["to"].as_str()), (Some(2), Some(1), Some("allow")), "{older}");
        let newest = api.post("/api/v1/revisions/replay", &bank_admin, &json!({})).await.expect(OK);
        assert_eq!(newest["flipped"].as_u64(), Some(1), "the newest revision would deny the first read: {newest}");
        // Once a platform rule decides those reads, a tenant's report names it only as a boundary.
        let owner = api.sign_in(OWNER).await;
        api.create_platform_policy(&owner, "name: Secret reads guard\nscope: platform\nrules:\n  - tool: docs.read\n    effect: deny\n").await;
        let guarded = api.post("/api/v1/revisions/replay", &bank_admin, &json!({ "revision": first })).await.expect(OK);
        assert_eq!(guarded["flipped"].as_u64(), Some(1), "{guarded}");
        assert!(!guarded.to_string().contains("Secret reads guard"), "{guarded}");
        assert!(guarded["groups"][0]["rule"].as_str().unwrap().starts_with("a platform boundary"), "{guarded}");

        // Bad input, other tenants, and keys without the right scope.
        for (what, call, status, field) in [
            ("no days", Call::new(Method::POST, "/api/v1/revisions/replay", &bank).json(&json!({ "days": 0 })), StatusCode::UNPROCESSABLE_ENTITY, Some("days")),
            (
                "a year",
                Call::new(Method::POST, "/api/v1/revisions/replay", &bank).json(&json!({ "days": 365 })),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("days"),
            ),
            (
                "no such revision",
                Call::new(Method::POST, "/api/v1/revisions/replay", &bank).json(&json!({ "revision": 999 })),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("revision"),
            ),
            ("a misspelt field", Call::new(Method::POST, "/api/v1/revisions/replay", &bank).json(&json!({ "revison": 1 })), StatusCode::BAD_REQUEST, None),
            (
                "a release named wrongly",
                Call::new(Method::POST, "/api/v1/platform/releases/replay", &api.sign_in(OWNER).await).json(&json!({ "release": "next" })),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("release"),
            ),
            (
                "another tenant's receipts",
                Call::new(Method::POST, "/api/v1/tenants/meridian-bank/revisions/replay", &api.sign_in(STARTUP_ADMIN).await).json(&json!({})),
                StatusCode::NOT_FOUND,
                None,
            ),
            (
                "the platform's replay, as a tenant",
                Call::new(Method::POST, "/api/v1/platform/releases/replay", &bank_admin).json(&json!({ "release": "draft" })),
                StatusCode::FORBIDDEN,
                None,
            ),
        ] {
            let reply = api.send(call).await;
            assert_eq!(reply.status, status, "{what}: {}", reply.body);
            if let Some(field) = field {
                assert_eq!(reply.json()["error"]["field"], field, "{what}: {}", reply.body);
            }
        }
        let deciding = api.post("/api/v1/keys", &bank_admin, &json!({ "name": "decides", "scopes": ["decide"] })).await.expect(StatusCode::CREATED);
        let deciding = Auth::Key(deciding["secret"].as_str().unwrap().to_owned());
        api.post("/api/v1/revisions/replay", &deciding, &json!({})).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
    })
    .await;
}
