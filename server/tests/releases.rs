//! Changing policies safely over HTTP: a platform change runs nowhere until published and
//! promoted, a canary runs it first, one tenant is rolled back alone; a tenant pins a revision of
//! its own policies and a decision may name one. Bad input names its field; another tenant's
//! revisions, tenants and keys reach nothing; support reads and changes nothing. Every test runs
//! against SQLite and then PostgreSQL (see `api_support::each_database`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

const OK: StatusCode = StatusCode::OK;

const CAP: &str = "name: Payment cap\nscope: platform\nrules:\n  - tool: payments.transfer\n    limit: { args.amount: { max: 1000 } }\n";

fn payments(max: u32) -> String {
    format!("name: Payments\nscope: tenant\nrules:\n  - tool: payments.transfer\n    effect: allow\n    limit: {{ args.amount: {{ max: {max} }} }}\n")
}

async fn pay(api: &Api, key: &Auth, amount: u32) -> Value {
    api.decide(key, json!({ "tool": "payments.transfer", "args": { "amount": amount } })).await
}

async fn verdict(api: &Api, key: &Auth, amount: u32) -> String {
    pay(api, key, amount).await["decision"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_platform_change_runs_where_its_release_is_promoted() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let bank = api.tenant_key(BANK_ADMIN).await;
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        api.create_policy(&api.sign_in(BANK_ADMIN).await, &payments(10_000)).await;
        api.create_policy(&api.sign_in(STARTUP_ADMIN).await, &payments(10_000)).await;
        let general = api.get("/api/v1/platform/releases", &owner).await.expect(OK)["general"].as_i64().unwrap();
        assert_eq!(pay(&api, &bank, 5000).await["platform_release"], general);

        // A draft runs nowhere, and publishing alone changes nothing.
        api.send(Call::new(Method::POST, "/api/v1/platform/policies", &owner).yaml(CAP)).await.expect(StatusCode::CREATED);
        assert_eq!(verdict(&api, &bank, 5000).await, "allow");
        let draft = api.get("/api/v1/platform/releases/draft", &owner).await.expect(OK);
        assert_eq!((draft["since"].as_i64(), &draft["added"]), (Some(general), &json!(["Payment cap"])));
        let published = api.post("/api/v1/platform/releases", &owner, &json!({ "note": "cap payments" })).await.expect(StatusCode::CREATED);
        let next = published["number"].as_i64().unwrap();
        assert_eq!((next, published["note"].as_str()), (general + 1, Some("cap payments")));
        assert_eq!(verdict(&api, &bank, 5000).await, "allow");
        api.post("/api/v1/platform/releases", &owner, &json!({})).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");

        // A canary runs it first.
        let moved = api.post(&format!("/api/v1/platform/releases/{next}/promote"), &owner, &json!({ "tenants": ["meridian-bank"] })).await.expect(OK);
        assert_eq!(moved["moved"][0]["release_pin"], "canary");
        assert_eq!(verdict(&api, &bank, 5000).await, "deny");
        assert_eq!(verdict(&api, &startup, 5000).await, "allow");
        let rollout = api.get("/api/v1/platform/rollout", &owner).await.expect(OK);
        let runs = |slug: &str| rollout.as_array().unwrap().iter().find(|t| t["tenant"] == slug).unwrap()["release"].as_i64();
        assert_eq!((runs("meridian-bank"), runs("rocketlane")), (Some(next), Some(general)));

        // Then all; then one tenant is rolled back alone, and follows again.
        api.post(&format!("/api/v1/platform/releases/{next}/promote"), &owner, &json!({ "all": true })).await.expect(OK);
        assert_eq!(verdict(&api, &startup, 5000).await, "deny");
        let back = api.send(Call::new(Method::PUT, "/api/v1/tenants/rocketlane/release", &owner).json(&json!({ "release": general }))).await.expect(OK);
        assert_eq!((back["release"].as_i64(), back["release_pin"].as_str()), (Some(general), Some("pinned")));
        let decided = pay(&api, &startup, 5000).await;
        assert_eq!((decided["decision"].as_str(), decided["platform_release"].as_i64()), (Some("allow"), Some(general)));
        let receipt = api.get(&format!("/api/v1/receipts/{}", decided["receipt_id"].as_str().unwrap()), &startup).await.expect(OK);
        assert_eq!(receipt["platform_release"].as_i64(), Some(general), "the receipt names the release it ran");
        assert_eq!(verdict(&api, &bank, 5000).await, "deny", "the bank stays on the new release");
        let own = api.get("/api/v1/rollout", &startup).await.expect(OK);
        assert_eq!((own["release"].as_i64(), own["release_pin"].as_str()), (Some(general), Some("pinned")));
        api.send(Call::new(Method::PUT, "/api/v1/tenants/rocketlane/release", &owner).json(&json!({ "release": null }))).await.expect(OK);
        assert_eq!(verdict(&api, &startup, 5000).await, "deny");
        let audit: Vec<String> = api.audit(&api.sign_in(STARTUP_ADMIN).await).await.iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect();
        assert!(audit.contains(&"release.rollback".to_owned()) && audit.contains(&"release.follow".to_owned()), "{audit:?}");

        // The release itself: what it holds, as published.
        let detail = api.get(&format!("/api/v1/platform/releases/{next}"), &owner).await.expect(OK);
        assert_eq!((detail["release"]["number"].as_i64(), detail["policies"][0]["name"].as_str()), (Some(next), Some("Payment cap")));
    })
    .await;
}

#[tokio::test]
async fn releases_refuse_bad_input_and_anyone_but_platform_admins() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let support = api.sign_in(SUPPORT).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let bank_key = api.tenant_key(BANK_ADMIN).await;
        let promote = |number: &str, body: Value| Call::new(Method::POST, format!("/api/v1/platform/releases/{number}/promote"), &owner).json(&body);
        for (what, call, status, field) in [
            ("neither tenants nor all", promote("1", json!({})), StatusCode::UNPROCESSABLE_ENTITY, Some("tenants")),
            ("both", promote("1", json!({ "all": true, "tenants": ["rocketlane"] })), StatusCode::UNPROCESSABLE_ENTITY, Some("all")),
            ("a tenant that is not", promote("1", json!({ "tenants": ["nobody"] })), StatusCode::UNPROCESSABLE_ENTITY, Some("tenants")),
            ("a release that is not", promote("99", json!({ "all": true })), StatusCode::NOT_FOUND, None),
            ("a release that is no number", promote("latest", json!({ "all": true })), StatusCode::BAD_REQUEST, Some("number")),
            ("an unknown field", promote("1", json!({ "al": true })), StatusCode::BAD_REQUEST, None),
            (
                "a note too long",
                Call::new(Method::POST, "/api/v1/platform/releases", &owner).json(&json!({ "note": "x".repeat(501) })),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("note"),
            ),
            (
                "a pin to a release that is not",
                Call::new(Method::PUT, "/api/v1/tenants/rocketlane/release", &owner).json(&json!({ "release": 99 })),
                StatusCode::NOT_FOUND,
                None,
            ),
            (
                "a pin of a tenant that is not",
                Call::new(Method::PUT, "/api/v1/tenants/nobody/release", &owner).json(&json!({ "release": 1 })),
                StatusCode::NOT_FOUND,
                None,
            ),
        ] {
            let reply = api.send(call).await;
            assert_eq!(reply.status, status, "{what}: {}", reply.body);
            if let Some(field) = field {
                assert_eq!(reply.json()["error"]["field"], field, "{what}: {}", reply.body);
            }
        }
        // Support reads and changes nothing; tenants have no releases to see or move.
        api.get("/api/v1/platform/releases", &support).await.expect(OK);
        api.get("/api/v1/platform/rollout", &support).await.expect(OK);
        api.post("/api/v1/platform/releases", &support, &json!({})).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.post("/api/v1/platform/releases/1/promote", &support, &json!({ "all": true })).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.send(Call::new(Method::PUT, "/api/v1/tenants/rocketlane/release", &support).json(&json!({ "release": 1 })))
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        for tenant_side in [&bank_admin, &bank_key] {
            api.get("/api/v1/platform/releases", tenant_side).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
            api.post("/api/v1/platform/releases/1/promote", tenant_side, &json!({ "tenants": ["meridian-bank"] }))
                .await
                .expect_error(StatusCode::FORBIDDEN, "forbidden");
            let own = api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/release", tenant_side).json(&json!({ "release": 1 }))).await;
            assert!([StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&own.status), "{}", own.body);
        }
        let rollout = api.get("/api/v1/platform/rollout", &owner).await.expect(OK);
        assert!(rollout.as_array().unwrap().iter().all(|t| t["release_pin"].is_null()), "nothing moved: {rollout}");
    })
    .await;
}

#[tokio::test]
async fn a_tenant_pins_a_revision_and_a_decision_may_name_one() {
    each_database(|api| async move {
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let bank = api.tenant_key(BANK_ADMIN).await;
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        let created = api.create_policy(&bank_admin, &payments(1000)).await;
        let id = created["id"].as_str().unwrap();
        api.update_policy(&bank_admin, id, 1, &payments(5000)).await.expect(OK);
        let revisions = api.get("/api/v1/revisions", &bank).await.expect(OK);
        let numbers: Vec<i64> = revisions.as_array().unwrap().iter().map(|r| r["number"].as_i64().unwrap()).collect();
        let (newest, earlier) = (numbers[0], numbers[1]);
        assert_eq!(revisions[0]["change"], "updated `Payments` to version 2");
        let detail = api.get(&format!("/api/v1/revisions/{earlier}"), &bank).await.expect(OK);
        assert_eq!(detail["policies"][0]["version"], 1);

        // A decision names the revision it ran, and may name an earlier one.
        let now = pay(&api, &bank, 3000).await;
        assert_eq!((now["decision"].as_str(), now["policy_version"].as_i64()), (Some("allow"), Some(newest)));
        let then = api.decide(&bank, json!({ "tool": "payments.transfer", "args": { "amount": 3000 }, "policy_version": earlier })).await;
        assert_eq!((then["decision"].as_str(), then["policy_version"].as_i64()), (Some("deny"), Some(earlier)));
        let receipt = api.get(&format!("/api/v1/receipts/{}", then["receipt_id"].as_str().unwrap()), &bank).await.expect(OK);
        assert_eq!(receipt["policy_version"].as_i64(), Some(earlier));
        // A revision the key's tenant does not have (the startup's numbers go higher) is refused.
        for _ in 0..=newest {
            api.create_policy(&startup_admin, &allow_policy(&format!("filler {}", uuid_like()), &["docs.read"])).await;
        }
        let startup_newest = api.get("/api/v1/rollout", &startup_admin).await.expect(OK)["latest_revision"].as_i64().unwrap();
        assert!(startup_newest > newest);
        for named in [json!(startup_newest), json!(0), json!(-1)] {
            let refused = api.post("/api/v1/decide", &bank, &json!({ "tool": "payments.transfer", "policy_version": named })).await;
            assert_eq!(refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"], "policy_version", "{named}");
        }
        api.post("/api/v1/decide", &bank, &json!({ "tool": "payments.transfer", "policy_version": "2" }))
            .await
            .expect_error(StatusCode::BAD_REQUEST, "bad_request");

        // Pinned, decisions run the earlier revision; another tenant reaches none of this.
        let pinned = api.send(Call::new(Method::PUT, "/api/v1/rollout", &bank_admin).json(&json!({ "revision": earlier }))).await.expect(OK);
        assert_eq!((pinned["revision"].as_i64(), pinned["revision_pinned"].as_bool()), (Some(earlier), Some(true)));
        assert_eq!(verdict(&api, &bank, 3000).await, "deny");
        for (what, call) in [
            ("the bank's rollout by slug", Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/rollout", &startup_admin).json(&json!({ "revision": null }))),
            ("a revision by slug", Call::new(Method::GET, format!("/api/v1/tenants/meridian-bank/revisions/{earlier}"), &startup_admin)),
            ("a revision its own tenant lacks", Call::new(Method::PUT, "/api/v1/rollout", &bank_admin).json(&json!({ "revision": startup_newest }))),
        ] {
            let reply = api.send(call).await;
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{what}: {}", reply.body);
        }
        let support = api.sign_in(SUPPORT).await;
        api.get("/api/v1/tenants/meridian-bank/revisions", &support).await.expect(OK);
        api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/rollout", &support).json(&json!({ "revision": null })))
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        let (_, deciding) = {
            let created = api.post("/api/v1/keys", &bank_admin, &json!({ "name": "decides", "scopes": ["decide"] })).await.expect(StatusCode::CREATED);
            (created.clone(), Auth::Key(created["secret"].as_str().unwrap().to_owned()))
        };
        api.send(Call::new(Method::PUT, "/api/v1/rollout", &deciding).json(&json!({ "revision": null })))
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(verdict(&api, &bank, 3000).await, "deny", "still pinned");
        let unpinned = api.send(Call::new(Method::PUT, "/api/v1/rollout", &bank).json(&json!({ "revision": null }))).await.expect(OK);
        assert_eq!((unpinned["revision"].as_i64(), unpinned["revision_pinned"].as_bool()), (Some(newest), Some(false)));
        assert_eq!(verdict(&api, &bank, 3000).await, "allow");
    })
    .await;
}

#[tokio::test]
async fn the_previewer_shows_any_release_to_platform_staff_only() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        api.create_policy(&api.sign_in(BANK_ADMIN).await, &payments(10_000)).await;
        api.send(Call::new(Method::POST, "/api/v1/platform/policies", &owner).yaml(CAP)).await.expect(StatusCode::CREATED);
        let what_if = |release: &'static str| {
            [
                ("tenant_slug", "meridian-bank"),
                ("agent", ""),
                ("tool", "payments.transfer"),
                ("args", r#"{"amount": 5000}"#),
                ("user", ""),
                ("roles", ""),
                ("release", release),
            ]
        };
        let now = console(&api, &owner, "preview/what_if", &what_if("")).await;
        assert_eq!(now.json()["verdict"], "allow", "{}", now.body);
        let draft = console(&api, &owner, "preview/what_if", &what_if("draft")).await;
        assert_eq!(draft.json()["verdict"], "deny", "the draft's cap: {}", draft.body);
        let effective = console(&api, &owner, "preview/effective", &[("tenant_slug", "meridian-bank"), ("agent", ""), ("release", "draft")]).await;
        assert!(effective.json()["shown"].as_str().unwrap().contains("draft"), "{}", effective.body);
        let missing = console(&api, &owner, "preview/effective", &[("tenant_slug", "meridian-bank"), ("agent", ""), ("release", "99")]).await;
        assert!(missing.body.contains("release"), "{}", missing.body);
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let refused = console(
            &api,
            &bank_admin,
            "preview/what_if",
            &[("tenant_slug", ""), ("agent", ""), ("tool", "payments.transfer"), ("args", "{}"), ("user", ""), ("roles", ""), ("release", "draft")],
        )
        .await;
        assert!(refused.body.contains("Forbidden"), "a tenant does not see the platform's draft: {}", refused.body);
    })
    .await;
}

fn uuid_like() -> String {
    charter_testkit::unique_suffix()
}

#[tokio::test]
async fn a_tenant_policy_extends_a_baseline_of_its_release() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let bank = api.tenant_key(BANK_ADMIN).await;
        let isolation = "name: Tenant isolation\ndescription: Queries stay in the caller's tenant\nscope: platform\nbaseline: tenant-isolation\nrules:\n  - tool: \"db.*\"\n    when:\n      not: { args.query: { contains: \"${context.tenant_id}\" } }\n    effect: deny\n    reason: queries must name the tenant\n";
        api.create_platform_policy(&owner, isolation).await;
        let listed = api.get("/api/v1/baselines", &bank).await.expect(OK);
        assert_eq!((listed[0]["name"].as_str(), listed[0]["title"].as_str()), (Some("tenant-isolation"), Some("Tenant isolation")));
        assert_eq!(listed[0]["document"]["rules"].as_array().map(Vec::len), Some(1), "a tenant reads the baseline it may extend");

        let unknown = api.send(Call::new(Method::POST, "/api/v1/policies", &bank_admin).yaml("name: Data\nscope: tenant\nextends: [tenant-isolaton]\n")).await;
        assert_eq!(unknown.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "delegation")["field"], "extends[0]");
        api.create_policy(&bank_admin, "name: Data\nscope: tenant\nextends: [tenant-isolation]\nrules:\n  - tool: \"db.*\"\n    effect: allow\n").await;
        let tenant_id = api.store.tenant_by_slug("meridian-bank").await.unwrap().unwrap().id;
        let outside = api.decide(&bank, json!({ "tool": "db.query", "args": { "query": "select * from t" } })).await;
        assert_eq!(
            (outside["decision"].as_str(), outside["reason"].as_str()),
            (Some("deny"), Some("denied by tenant policy `baseline tenant-isolation (extended by Data)` rule 1 (`db.*` deny): queries must name the tenant"))
        );
        let decisive = outside["matched"].as_array().unwrap().iter().find(|m| m["decisive"] == true).unwrap();
        assert!(decisive["rule"]["policy_name"].as_str().unwrap().starts_with("baseline tenant-isolation"), "{outside}");
        let inside = api.decide(&bank, json!({ "tool": "db.query", "args": { "query": format!("select * from t where tenant_id = '{tenant_id}'") } })).await;
        assert_eq!(inside["decision"], "allow", "a query in the tenant's own data goes ahead: {inside}");
        api.get("/api/v1/tenants/meridian-bank/baselines", &api.sign_in(STARTUP_ADMIN).await).await.expect_error(StatusCode::NOT_FOUND, "not_found");
    })
    .await;
}
