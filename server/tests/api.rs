//! HTTP-level tests of the `/api/v1` API: keys, decisions, receipts, approvals, policies, the audit
//! log and the OpenAPI document, driven through the real router with `oneshot`. Every test runs
//! against SQLite and then PostgreSQL (see `api_support::each_database`), on the demo data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use std::collections::{BTreeSet, HashSet};

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("a string, not {value}"))
}

fn ids(values: &[Value]) -> Vec<String> {
    values.iter().map(|v| text(&v["id"]).to_owned()).collect()
}

// =============================================================================================
// API keys
// =============================================================================================

#[tokio::test]
async fn a_created_key_shows_its_secret_once_and_lists_never_do() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let (created, key) = api.create_key_at("/api/v1/keys", &admin, "support-bot production").await;
        let secret = text(&created["secret"]).to_owned();
        let prefix = text(&created["prefix"]).to_owned();
        assert!(secret.starts_with("chk_"), "{secret}");
        assert!(prefix.starts_with("chk_"), "{prefix}");
        assert!(secret.starts_with(&format!("{prefix}_")), "the secret starts with its public prefix: {secret} / {prefix}");
        assert!(secret.len() > prefix.len() + 32, "the secret part is long: {secret}");
        assert_eq!(created["name"], "support-bot production");
        assert_eq!(created["created_by"], BANK_ADMIN);
        assert!(created["revoked_at"].is_null());
        assert!(created["last_used_at"].is_null(), "a new key has never been used: {created}");
        assert!(created["id"].is_string() && created["created_at"].is_i64(), "{created}");

        let list = api.get("/api/v1/keys", &admin).await;
        let keys = list.expect(OK);
        let secret_part = secret.rsplit('_').next().unwrap();
        assert!(!list.body.contains(&secret), "the list never shows the secret: {}", list.body);
        assert!(!list.body.contains(secret_part), "nor any of its secret part: {}", list.body);
        let keys = keys.as_array().unwrap();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert_eq!(keys[0]["id"], created["id"]);
        assert_eq!(keys[0]["prefix"], prefix.as_str());
        assert_eq!(keys[0]["name"], "support-bot production");
        assert!(keys[0].get("secret").is_none(), "{}", keys[0]);

        // The key works, and the list then says when it was last used.
        assert!(keys[0]["last_used_at"].is_null(), "{}", keys[0]);
        api.decide(&key, json!({ "tool": "docs.read" })).await;
        let used = api.get("/api/v1/keys", &admin).await.expect(OK);
        let last_used = used[0]["last_used_at"].as_i64().unwrap_or_else(|| panic!("the list says when the key was used: {used}"));
        assert!(last_used >= created["created_at"].as_i64().unwrap(), "{used}");
    })
    .await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let (doomed, doomed_key) = api.create_key_at("/api/v1/keys", &admin, "doomed").await;
        let (_, survivor) = api.create_key_at("/api/v1/keys", &admin, "survivor").await;
        api.decide(&doomed_key, json!({ "tool": "docs.read" })).await;

        let revoked = api.delete(&format!("/api/v1/keys/{}", text(&doomed["id"])), &admin).await.expect(OK);
        assert_eq!(revoked["id"], doomed["id"]);
        assert!(revoked["revoked_at"].is_i64(), "{revoked}");
        assert!(revoked.get("secret").is_none());

        let refused = api.post("/api/v1/decide", &doomed_key, &json!({ "tool": "docs.read" })).await;
        refused.expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");
        api.get("/api/v1/receipts", &doomed_key).await.expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");

        // Revoking one key leaves the others alone, and the list shows which is revoked.
        api.decide(&survivor, json!({ "tool": "docs.read" })).await;
        let keys = api.get("/api/v1/keys", &admin).await.expect(OK);
        let listed = keys.as_array().unwrap().iter().find(|k| k["id"] == doomed["id"]).unwrap().clone();
        assert_eq!(listed["revoked_at"], revoked["revoked_at"]);
    })
    .await;
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_get_401_in_the_error_shape() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let (_, key) = api.create_key_at("/api/v1/keys", &admin, "real").await;
        let Auth::Key(real) = &key else { unreachable!() };
        let last = real.chars().last().unwrap();
        let wrong_secret = format!("{}{}", &real[..real.len() - 1], if last == '0' { '1' } else { '0' });
        let (prefix, _) = real.rsplit_once('_').unwrap();

        let callers = [
            Auth::Anonymous,
            Auth::Header("Bearer".into()),
            Auth::Header("Bearer ".into()),
            Auth::Header("Basic dXNlcjpwYXNzd29yZA==".into()),
            Auth::Header(real.clone()),
            Auth::Key("garbage".into()),
            Auth::Key("chk_nosuchprefix_0123456789abcdef".into()),
            Auth::Key(format!("{prefix}_")),
            Auth::Key(prefix.to_owned()),
            Auth::Key(wrong_secret),
        ];
        for caller in &callers {
            let reply = api.post("/api/v1/decide", caller, &json!({ "tool": "docs.read" })).await;
            reply.expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");
            let reply = api.get("/api/v1/policies", caller).await;
            reply.expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        // A bad key is not rescued by a valid session: the Authorization header decides.
        let reply = api
            .send(Call::new(Method::GET, "/api/v1/policies", &Auth::Key("garbage".into())).header(
                "cookie",
                match &admin {
                    Auth::Session(cookie) => cookie.clone(),
                    _ => unreachable!(),
                },
            ))
            .await;
        reply.expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert!(api.receipts(&key, "").await.is_empty(), "no refused call left a receipt");
        // The scheme name is case-insensitive (RFC 9110); the key is not.
        let lower = api.post("/api/v1/decide", &Auth::Header(format!("bearer {real}")), &json!({ "tool": "docs.read" })).await;
        assert_eq!(lower.status, StatusCode::OK, "{}", lower.body);
    })
    .await;
}

#[tokio::test]
async fn only_admins_manage_keys_and_support_only_reads_them() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let (created, key) = api.create_key_at("/api/v1/keys", &admin, "agent").await;
        let support = api.sign_in(SUPPORT).await;
        let manager = api.sign_in(BANK_MANAGER).await;

        // Support reads a tenant's keys, and changes nothing.
        let listed = api.get("/api/v1/tenants/meridian-bank/keys", &support).await.expect(OK);
        assert_eq!(listed.as_array().unwrap().len(), 1);
        api.post("/api/v1/tenants/meridian-bank/keys", &support, &json!({ "name": "sneaky" })).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.delete(&format!("/api/v1/tenants/meridian-bank/keys/{}", text(&created["id"])), &support).await.expect_error(StatusCode::FORBIDDEN, "forbidden");

        // An API key cannot manage keys, not even its own tenant's.
        api.post("/api/v1/keys", &key, &json!({ "name": "child" })).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.get("/api/v1/keys", &key).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.delete(&format!("/api/v1/keys/{}", text(&created["id"])), &key).await.expect_error(StatusCode::FORBIDDEN, "forbidden");

        // A tenant member (an approver) is not a key admin either.
        api.post("/api/v1/keys", &manager, &json!({ "name": "mine" })).await.expect_error(StatusCode::FORBIDDEN, "forbidden");

        // A key needs a name.
        let error = api.post("/api/v1/keys", &admin, &json!({ "name": "  " })).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "name");
        // And at least one scope.
        let error = api.post("/api/v1/keys", &admin, &json!({ "name": "x", "scopes": [] })).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "scopes", "{error}");

        let keys = api.get("/api/v1/keys", &admin).await.expect(OK);
        assert_eq!(keys.as_array().unwrap().len(), 1, "nothing was created or revoked: {keys}");
        assert!(keys[0]["revoked_at"].is_null());
        api.decide(&key, json!({ "tool": "docs.read" })).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revoking_a_key_twice_at_once_revokes_it_once() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        for round in 0..6 {
            let (created, _) = api.create_key_at("/api/v1/keys", &admin, &format!("key {round}")).await;
            let path = format!("/api/v1/keys/{}", text(&created["id"]));
            let (a, b) = tokio::join!(api.delete(&path, &admin), api.delete(&path, &admin));
            assert_eq!((a.status, b.status), (OK, OK), "round {round}: revoking is idempotent: {} / {}", a.body, b.body);
            assert_eq!(a.json()["revoked_at"], b.json()["revoked_at"], "round {round}: both answers name the one revocation");
            let target = format!("api_key:{}", text(&created["prefix"]).trim_start_matches("chk_"));
            let revocations = api.audit(&admin).await.into_iter().filter(|e| e["action"] == "api_key.revoke" && e["target"] == target).count();
            assert_eq!(revocations, 1, "round {round}: one revocation, one audit entry");
        }
    })
    .await;
}

#[tokio::test]
async fn a_tenant_admin_cannot_touch_another_tenants_keys() {
    each_database(|api| async move {
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let (bank_key_info, bank_key) = api.create_key_at("/api/v1/keys", &bank_admin, "bank agent").await;
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;

        let foreign = api.delete(&format!("/api/v1/keys/{}", text(&bank_key_info["id"])), &startup_admin).await;
        let missing = api.delete(&format!("/api/v1/keys/{NO_SUCH_ID}"), &startup_admin).await;
        foreign.expect_error(StatusCode::NOT_FOUND, "not_found");
        missing.expect_error(StatusCode::NOT_FOUND, "not_found");

        // Naming the other tenant in the URL does not help.
        api.get("/api/v1/tenants/meridian-bank/keys", &startup_admin).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        api.delete(&format!("/api/v1/tenants/meridian-bank/keys/{}", text(&bank_key_info["id"])), &startup_admin)
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        api.post("/api/v1/tenants/meridian-bank/keys", &startup_admin, &json!({ "name": "planted" })).await.expect_error(StatusCode::NOT_FOUND, "not_found");

        // The bank's key still works and the startup sees none of the bank's keys.
        api.decide(&bank_key, json!({ "tool": "docs.read" })).await;
        let startup_keys = api.get("/api/v1/keys", &startup_admin).await.expect(OK);
        assert_eq!(startup_keys, json!([]));
        let bank_keys = api.get("/api/v1/keys", &bank_admin).await.expect(OK);
        assert_eq!(bank_keys.as_array().unwrap().len(), 1, "no key was planted in the bank: {bank_keys}");
    })
    .await;
}

#[tokio::test]
async fn a_platform_admin_creates_a_key_for_a_named_tenant() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let (created, key) = api.create_key_at("/api/v1/tenants/rocketlane/keys", &owner, "provisioned").await;
        assert_eq!(created["created_by"], OWNER);

        // It is rocketlane's key: listed there, deciding for rocketlane.
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        let keys = api.get("/api/v1/keys", &startup_admin).await.expect(OK);
        assert_eq!(ids(keys.as_array().unwrap()), vec![text(&created["id"]).to_owned()]);
        let bank_keys = api.get("/api/v1/tenants/meridian-bank/keys", &owner).await.expect(OK);
        assert_eq!(bank_keys, json!([]));
        let own = api.decide(&key, json!({ "tool": "docs.read", "tenant_id": "rocketlane" })).await;
        assert!(!text(&own["reason"]).contains("cross-tenant"), "{own}");
        let foreign = api.decide(&key, json!({ "tool": "docs.read", "tenant_id": "meridian-bank" })).await;
        assert!(text(&foreign["reason"]).contains("cross-tenant"), "{foreign}");

        // Platform staff must name the tenant; an unknown tenant is 404.
        api.post("/api/v1/keys", &owner, &json!({ "name": "where?" })).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
        api.post("/api/v1/tenants/no-such-tenant/keys", &owner, &json!({ "name": "nowhere" })).await.expect_error(StatusCode::NOT_FOUND, "not_found");

        // And revokes it again.
        api.delete(&format!("/api/v1/tenants/rocketlane/keys/{}", text(&created["id"])), &owner).await.expect(OK);
        api.post("/api/v1/decide", &key, &json!({ "tool": "docs.read" })).await.expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    })
    .await;
}

// =============================================================================================
// Decisions
// =============================================================================================

#[tokio::test]
async fn a_tenant_allow_policy_allows_and_the_platform_default_denies_the_rest() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;

        let before = api.decide(&key, json!({ "tool": "docs.read" })).await;
        assert_eq!(before["decision"], "deny", "no platform settings: the default is deny: {before}");
        assert!(text(&before["reason"]).contains("platform default `deny`"), "{before}");
        assert_eq!(before["matched"], json!([]));

        // A tenant's own systems write policies with their key.
        let policy = api.create_policy(&key, &allow_policy("Reading", &["docs.*"])).await;
        assert_eq!(policy["version"], 1);
        assert_eq!(policy["scope"], "tenant");

        let allowed = api.decide(&key, json!({ "tool": "docs.read", "agent": "bot", "args": { "id": 7 } })).await;
        assert_eq!(allowed["decision"], "allow", "{allowed}");
        assert!(allowed.get("approval_id").is_none(), "{allowed}");
        assert_eq!(allowed["approvers"], json!([]));
        assert!(!allowed["matched"].as_array().unwrap().is_empty(), "{allowed}");
        for field in ["near_misses", "limits", "obligations"] {
            assert!(allowed[field].is_array(), "{field}: {allowed}");
        }

        let receipt = api.get(&format!("/api/v1/receipts/{}", text(&allowed["receipt_id"])), &key).await.expect(OK);
        assert_eq!(receipt["verdict"], "allow");
        assert_eq!(receipt["tool"], "docs.read");
        assert_eq!(receipt["agent"], "bot");
        assert_eq!(receipt["args"], json!({ "id": 7 }));
        assert_eq!(receipt["policy_versions"][text(&policy["id"])], 1, "{receipt}");

        let other = api.decide(&key, json!({ "tool": "mail.send" })).await;
        assert_eq!(other["decision"], "deny", "{other}");
        assert!(text(&other["reason"]).contains("no rule decides `mail.send`"), "{other}");
    })
    .await;
}

#[tokio::test]
async fn without_platform_settings_a_call_no_rule_decides_is_denied() {
    each_database(|api| async move {
        sqlx::query("DELETE FROM platform_settings").execute(api.store.pool()).await.unwrap();
        let key = api.tenant_key(STARTUP_ADMIN).await;
        let decision = api.decide(&key, json!({ "tool": "docs.read" })).await;
        assert_eq!(decision["decision"], "deny", "fail closed: {decision}");
        assert!(text(&decision["reason"]).contains("platform default `deny`"), "{decision}");
        // A tenant cannot loosen the default either.
        let loose = "name: Loose\nscope: tenant\ndefault: allow\n";
        let error = api.send(Call::new(Method::POST, "/api/v1/policies", &key).yaml(loose)).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "delegation");
        assert_eq!(error["field"], "default", "{error}");
    })
    .await;
}

#[tokio::test]
async fn a_tenant_cannot_save_a_grant_of_what_the_platform_denies_or_a_higher_cap() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        api.create_platform_policy(
            &owner,
            "name: Platform guardrails\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n    reason: no shell access\n  - tool: \"payments.*\"\n    limit: { args.amount: { max: 10000 } }\n",
        )
        .await;
        let admin = api.sign_in(BANK_ADMIN).await;
        let audit_before = api.audit(&admin).await;

        let refused = api.send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml(&allow_policy("Shell", &["system.exec"]))).await;
        let error = refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "delegation");
        assert!(text(&error["message"]).contains("Platform guardrails"), "the platform policy is named: {error}");
        assert_eq!(error["field"], "rules[0].effect", "{error}");
        assert!(!error["details"]["errors"].as_array().unwrap().is_empty(), "{error}");

        let higher_cap = "name: Big payments\nscope: tenant\nrules:\n  - tool: payments.send\n    limit: { args.amount: { max: 50000 } }\n";
        let refused = api.send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml(higher_cap)).await;
        let error = refused.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "delegation");
        assert!(text(&error["message"]).contains("Platform guardrails"), "{error}");

        assert!(api.policies(&admin).await.is_empty(), "nothing was saved");
        assert_eq!(api.audit(&admin).await, audit_before, "nothing was audited");

        // A broader allow that only overlaps the deny is saved, with a warning naming it.
        let saved = api.create_policy(&admin, &allow_policy("Everything", &["*"])).await;
        let warnings = saved["warnings"].as_array().expect("warnings on save");
        assert!(warnings.iter().any(|w| text(&w["message"]).contains("Platform guardrails")), "{saved}");
    })
    .await;
}

#[tokio::test]
async fn a_platform_deny_added_later_wins_over_a_tenant_allow() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, &allow_policy("Everything", &["*"])).await;
        assert_eq!(api.decide(&key, json!({ "tool": "system.exec" })).await["decision"], "allow");

        let owner = api.sign_in(OWNER).await;
        api.create_platform_policy(
            &owner,
            "name: Platform guardrails\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n    reason: no shell access\n",
        )
        .await;

        let denied = api.decide(&key, json!({ "tool": "system.exec" })).await;
        assert_eq!(denied["decision"], "deny", "{denied}");
        // The agent learns that a platform boundary denied it, not which platform policy.
        assert!(text(&denied["reason"]).contains("denied by a platform boundary (`system.*` deny)"), "{denied}");
        assert!(!text(&denied["reason"]).contains("Platform guardrails"), "{denied}");
        assert!(text(&denied["reason"]).contains("no shell access"), "{denied}");
        assert_eq!(api.decide(&key, json!({ "tool": "docs.read" })).await["decision"], "allow", "other tools stay allowed");

        // Other tenants get the platform deny too.
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        api.create_policy(&startup, &allow_policy("Everything", &["*"])).await;
        assert_eq!(api.decide(&startup, json!({ "tool": "system.shell" })).await["decision"], "deny");
    })
    .await;
}

#[tokio::test]
async fn an_amount_over_a_tenant_cap_is_denied_naming_the_cap() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(
            &key,
            "name: Payment caps\nscope: tenant\nrules:\n  - tool: payments.send\n    effect: allow\n  - tool: payments.send\n    limit: { args.amount: { max: 5000 } }\n",
        )
        .await;

        let under = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 4000 } })).await;
        assert_eq!(under["decision"], "allow", "{under}");
        assert!(under["limits"].to_string().contains("5000"), "the effective cap is reported: {under}");

        let at = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 5000 } })).await;
        assert_eq!(at["decision"], "allow", "the cap is inclusive: {at}");

        let over = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 6000 } })).await;
        assert_eq!(over["decision"], "deny", "{over}");
        let reason = text(&over["reason"]);
        assert!(reason.contains("`args.amount` is 6000, over the cap of 5000"), "{reason}");
        assert!(reason.contains("Payment caps"), "the policy is named: {reason}");

        let not_a_number = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": "lots" } })).await;
        assert_eq!(not_a_number["decision"], "deny", "a cap that cannot be checked fails closed: {not_a_number}");
    })
    .await;
}

const APPROVAL_POLICY: &str = "name: Big payments
scope: tenant
rules:
  - tool: payments.send
    effect: allow
  - tool: payments.send
    when: { args.amount: { gt: 10000 } }
    effect: require_approval
    approvers: [manager, cfo]
    reason: large payments need a manager and the CFO
";

#[tokio::test]
async fn require_approval_waits_for_every_approver_role() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, APPROVAL_POLICY).await;

        let small = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 500 } })).await;
        assert_eq!(small["decision"], "allow", "{small}");

        let asked = api.decide(&key, json!({ "tool": "payments.send", "agent": "treasury-bot", "args": { "amount": 20000, "to": "acme" } })).await;
        assert_eq!(asked["decision"], "require_approval", "{asked}");
        let approvers: BTreeSet<&str> = asked["approvers"].as_array().unwrap().iter().map(text).collect();
        assert_eq!(approvers, BTreeSet::from(["cfo", "manager"]));
        let approval_id = text(&asked["approval_id"]).to_owned();
        let approval_path = format!("/api/v1/approvals/{approval_id}");

        let pending = api.get(&approval_path, &key).await.expect(OK);
        assert_eq!(pending["status"], "pending", "{pending}");
        assert_eq!(pending["receipt_id"], asked["receipt_id"]);
        assert_eq!(pending["tool"], "payments.send");
        assert_eq!(pending["agent"], "treasury-bot");
        assert_eq!(pending["args"], json!({ "amount": 20000, "to": "acme" }));
        let pending_approvers: BTreeSet<&str> = pending["approvers"].as_array().unwrap().iter().map(text).collect();
        assert_eq!(pending_approvers, approvers);
        assert!(pending["expires_at"].as_i64().unwrap() > pending["requested_at"].as_i64().unwrap());
        let receipt = api.get(&format!("/api/v1/receipts/{}", text(&asked["receipt_id"])), &key).await.expect(OK);
        assert_eq!(receipt["verdict"], "require_approval");
        assert_eq!(receipt["approval_id"], approval_id.as_str());
        let waiting = api.get("/api/v1/approvals", &key).await.expect(OK);
        assert_eq!(ids(waiting.as_array().unwrap()), vec![approval_id.clone()]);

        // Who may not vote.
        let resolve_path = format!("{approval_path}/resolve");
        let approve = json!({ "resolution": "approve", "comment": "ok" });
        api.post(&resolve_path, &key, &approve).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        let admin = api.sign_in(BANK_ADMIN).await;
        let error = api.post(&resolve_path, &admin, &approve).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(text(&error["message"]).contains("approver role"), "{error}");
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        api.post(&resolve_path, &startup_admin, &approve).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        // Another tenant's approver does not find the bank's request at all.
        let hospital_privacy = api.sign_in(HOSPITAL_PRIVACY).await;
        api.post(&resolve_path, &hospital_privacy, &approve).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        let owner = api.sign_in(OWNER).await;
        api.post(&format!("/api/v1/tenants/meridian-bank/approvals/{approval_id}/resolve"), &owner, &approve)
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        let manager = api.sign_in(BANK_MANAGER).await;
        api.post(&resolve_path, &manager, &json!({ "resolution": "maybe" })).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");

        // The manager approves: the CFO is still needed.
        let half = api.post(&resolve_path, &manager, &approve).await.expect(OK);
        assert_eq!(half["status"], "pending", "{half}");
        assert_eq!(half["votes"].as_array().unwrap().len(), 1, "{half}");
        assert_eq!(api.get(&approval_path, &key).await.expect(OK)["status"], "pending");
        let error = api.post(&resolve_path, &manager, &approve).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "approvers", "one vote per role: {error}");

        let cfo = api.sign_in(BANK_CFO).await;
        let done = api.post(&resolve_path, &cfo, &json!({ "resolution": "approve", "comment": "fine by me" })).await.expect(OK);
        assert_eq!(done["status"], "approved", "{done}");
        assert_eq!(done["resolved_by"], BANK_CFO);
        assert!(done["resolved_at"].is_i64());

        let polled = api.get(&approval_path, &key).await.expect(OK);
        assert_eq!(polled["status"], "approved");
        let voters: BTreeSet<&str> = polled["votes"].as_array().unwrap().iter().map(|v| text(&v["user"])).collect();
        assert_eq!(voters, BTreeSet::from([BANK_CFO, BANK_MANAGER]));
        assert_eq!(api.get("/api/v1/approvals", &key).await.expect(OK), json!([]), "nothing is pending any more");
        let all = api.get("/api/v1/approvals?pending=false", &key).await.expect(OK);
        assert_eq!(ids(all.as_array().unwrap()), vec![approval_id.clone()]);

        let error = api.post(&resolve_path, &cfo, &approve).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "status", "a settled approval takes no more votes: {error}");
        api.get(&approval_path, &api.tenant_key(STARTUP_ADMIN).await).await.expect_error(StatusCode::NOT_FOUND, "not_found");
    })
    .await;
}

#[tokio::test]
async fn one_rejection_rejects_an_approval() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, APPROVAL_POLICY).await;
        let asked = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 99999 } })).await;
        let approval_id = text(&asked["approval_id"]).to_owned();
        let resolve_path = format!("/api/v1/approvals/{approval_id}/resolve");

        let cfo = api.sign_in(BANK_CFO).await;
        let rejected = api.post(&resolve_path, &cfo, &json!({ "resolution": "reject", "comment": "not this quarter" })).await.expect(OK);
        assert_eq!(rejected["status"], "rejected", "{rejected}");
        assert_eq!(rejected["comment"], "not this quarter");
        assert_eq!(rejected["resolved_by"], BANK_CFO);

        let polled = api.get(&format!("/api/v1/approvals/{approval_id}"), &key).await.expect(OK);
        assert_eq!(polled["status"], "rejected");
        let manager = api.sign_in(BANK_MANAGER).await;
        let error = api.post(&resolve_path, &manager, &json!({ "resolution": "approve" })).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "status", "{error}");
        assert_eq!(api.get(&format!("/api/v1/approvals/{approval_id}"), &key).await.expect(OK)["status"], "rejected");
        assert_eq!(api.get("/api/v1/approvals", &key).await.expect(OK), json!([]));
    })
    .await;
}

#[tokio::test]
async fn an_expired_approval_takes_no_votes() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, APPROVAL_POLICY).await;
        let asked = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 50000 } })).await;
        let id = text(&asked["approval_id"]).to_owned();
        sqlx::query(&format!("UPDATE approvals SET expires_at = requested_at + 1 WHERE id = '{id}'")).execute(api.store.pool()).await.unwrap();

        let expired = api.get(&format!("/api/v1/approvals/{id}"), &key).await.expect(OK);
        assert_eq!(expired["status"], "expired", "{expired}");
        assert_eq!(api.get("/api/v1/approvals", &key).await.expect(OK), json!([]), "an expired approval is not pending");
        let manager = api.sign_in(BANK_MANAGER).await;
        let error = api
            .post(&format!("/api/v1/approvals/{id}/resolve"), &manager, &json!({ "resolution": "approve" }))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert!(text(&error["message"]).contains("expired"), "{error}");
        assert_eq!(api.get(&format!("/api/v1/approvals/{id}"), &key).await.expect(OK)["votes"], json!([]));
    })
    .await;
}

/// Every vote an approver was told was counted.
fn votes_by(approval: &Value) -> BTreeSet<String> {
    approval["votes"].as_array().unwrap().iter().map(|v| text(&v["user"]).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_votes_on_one_approval_are_all_counted() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, APPROVAL_POLICY).await;
        let (manager, cfo) = (api.sign_in(BANK_MANAGER).await, api.sign_in(BANK_CFO).await);
        let approve = json!({ "resolution": "approve" });
        for round in 0..6 {
            let asked = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 20000 + round } })).await;
            let id = text(&asked["approval_id"]).to_owned();
            let path = format!("/api/v1/approvals/{id}/resolve");
            let (m, c) = tokio::join!(api.post(&path, &manager, &approve), api.post(&path, &cfo, &approve));
            assert_eq!((m.status, c.status), (OK, OK), "round {round}: both approvers vote: {} / {}", m.body, c.body);
            let settled = api.get(&format!("/api/v1/approvals/{id}"), &key).await.expect(OK);
            assert_eq!(votes_by(&settled), BTreeSet::from([BANK_CFO.to_owned(), BANK_MANAGER.to_owned()]), "round {round}: no vote is lost: {settled}");
            assert_eq!(settled["status"], "approved", "round {round}: {settled}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_vote_racing_a_rejection_is_never_acknowledged_and_then_lost() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, APPROVAL_POLICY).await;
        let (manager, cfo) = (api.sign_in(BANK_MANAGER).await, api.sign_in(BANK_CFO).await);
        let admin = api.sign_in(BANK_ADMIN).await;
        for round in 0..6 {
            let asked = api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 30000 + round } })).await;
            let id = text(&asked["approval_id"]).to_owned();
            let path = format!("/api/v1/approvals/{id}/resolve");
            let (approve, reject) = (json!({ "resolution": "approve" }), json!({ "resolution": "reject" }));
            let (m, c) = tokio::join!(api.post(&path, &manager, &approve), api.post(&path, &cfo, &reject));
            assert!(!m.status.is_server_error() && !c.status.is_server_error(), "round {round}: {} / {}", m.body, c.body);
            let settled = api.get(&format!("/api/v1/approvals/{id}"), &key).await.expect(OK);
            if c.status == OK {
                assert_eq!(settled["status"], "rejected", "round {round}: an acknowledged rejection settles it: {settled}");
            }
            let counted = votes_by(&settled);
            for (reply, who) in [(&m, BANK_MANAGER), (&c, BANK_CFO)] {
                if reply.status == OK {
                    assert!(counted.contains(who), "round {round}: {who} was told the vote counted, but it is not recorded: {} vs {settled}", reply.body);
                }
            }
            let audited = api.audit(&admin).await.into_iter().filter(|e| e["target"] == format!("approval:{id}")).count();
            assert_eq!(audited, counted.len(), "round {round}: one audit entry per recorded vote: {settled}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_request_naming_another_tenant_is_denied_as_cross_tenant() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, &allow_policy("Everything", &["*"])).await;
        let bank = api.store.tenant_by_slug("meridian-bank").await.unwrap().unwrap();
        let startup = api.store.tenant_by_slug("rocketlane").await.unwrap().unwrap();

        let foreign = [
            json!({ "tool": "docs.read", "tenant_id": "rocketlane" }),
            json!({ "tool": "docs.read", "tenant_id": startup.id }),
            json!({ "tool": "docs.read", "tenant_id": "no-such-tenant" }),
            json!({ "tool": "docs.read", "args": { "tenant_id": "rocketlane" } }),
            json!({ "tool": "docs.read", "args": { "tenant_id": startup.id } }),
            json!({ "tool": "docs.read", "args": { "tenant_id": 42 } }),
            json!({ "tool": "docs.read", "tenant_id": "meridian-bank", "args": { "tenant_id": "rocketlane" } }),
        ];
        for body in foreign {
            let decision = api.decide(&key, body.clone()).await;
            assert_eq!(decision["decision"], "deny", "{body} -> {decision}");
            assert!(text(&decision["reason"]).contains("cross-tenant"), "{body} -> {decision}");
            let receipt = api.get(&format!("/api/v1/receipts/{}", text(&decision["receipt_id"])), &key).await.expect(OK);
            assert_eq!(receipt["verdict"], "deny", "the denial has its receipt");
        }

        let own = [
            json!({ "tool": "docs.read", "tenant_id": "meridian-bank" }),
            json!({ "tool": "docs.read", "tenant_id": bank.id }),
            json!({ "tool": "docs.read", "args": { "tenant_id": "meridian-bank" } }),
            json!({ "tool": "docs.read", "tenant_id": bank.id, "args": { "tenant_id": bank.id } }),
        ];
        for body in own {
            let decision = api.decide(&key, body.clone()).await;
            assert_eq!(decision["decision"], "allow", "{body} -> {decision}");
            assert!(!text(&decision["reason"]).contains("cross-tenant"), "{body} -> {decision}");
        }
        // The context's tenant is the server's to set: a request that names one is refused outright.
        let error = api
            .post("/api/v1/decide", &key, &json!({ "tool": "docs.read", "context": { "tenant_id": startup.id } }))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "context.tenant_id", "{error}");
        assert!(api.receipts(&api.tenant_key(STARTUP_ADMIN).await, "").await.is_empty(), "nothing landed in rocketlane");
    })
    .await;
}

#[tokio::test]
async fn bad_decide_requests_are_refused_and_leave_no_receipt() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, &allow_policy("Everything", &["*"])).await;
        api.decide(&key, json!({ "tool": "docs.read" })).await;
        let before = api.receipt_ids(&key, "").await;
        assert_eq!(before.len(), 1);

        let bad_json = [
            (json!({ "tool": "docs.read", "colour": "blue" }), "colour", json!("colour")),
            (json!({ "tool": "docs.read", "principal": { "user": "u", "rolez": ["admin"] } }), "rolez", json!("principal.rolez")),
            (json!({ "tool": 5 }), "tool", json!("tool")),
            (json!({ "tool": "docs.read", "agent": ["a"] }), "agent", json!("agent")),
            (json!({ "tool": "docs.read", "context": [] }), "context", json!("context")),
            // A missing field is named as the field, not as the whole body.
            (json!({ "args": {} }), "tool", json!("tool")),
        ];
        for (body, named, field) in bad_json {
            let error = api.post("/api/v1/decide", &key, &body).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
            assert!(text(&error["message"]).contains(&format!("`{named}`")), "{body}: the error names `{named}`: {error}");
            assert_eq!(error["field"], field, "{body}: {error}");
        }
        let error = api.post("/api/v1/decide", &key, &json!({ "tool": "  " })).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "tool");

        for malformed in ["{\"tool\": ", "not json", "", "[]", "null"] {
            let reply = api.send(Call::new(Method::POST, "/api/v1/decide", &key).raw(Some("application/json"), malformed)).await;
            reply.expect_error(StatusCode::BAD_REQUEST, "bad_request");
        }
        for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
            let reply = api.send(Call::new(Method::POST, "/api/v1/decide", &key).raw(content_type, r#"{"tool":"docs.read"}"#)).await;
            reply.expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        }
        let huge = json!({ "tool": "docs.read", "args": { "blob": "x".repeat(300 * 1024) } });
        api.post("/api/v1/decide", &key, &huge).await.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

        // Decisions are asked with a key, not a console session.
        let admin = api.sign_in(BANK_ADMIN).await;
        api.post("/api/v1/decide", &admin, &json!({ "tool": "docs.read" })).await.expect_error(StatusCode::FORBIDDEN, "forbidden");

        assert_eq!(api.receipt_ids(&key, "").await, before, "no refused request wrote a receipt");
    })
    .await;
}

// =============================================================================================
// Receipts
// =============================================================================================

const MIXED_POLICY: &str = "name: Mixed
scope: tenant
rules:
  - tool: \"read.*\"
    effect: allow
  - tool: \"delete.*\"
    effect: deny
    reason: nothing is deleted by agents
  - tool: payments.send
    effect: require_approval
    approvers: [manager]
";

/// Makes `n` decisions at once; call `i` asks for tool `tools[i % 3]` as agent `bot-{i % 3}`.
/// Returns each call's (tool, agent, decision).
async fn concurrent_decisions(api: &Api, key: &Auth, n: usize) -> Vec<(String, String, Value)> {
    let tools = ["read.file", "delete.file", "payments.send"];
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (api, key) = (api.clone(), key.clone());
        let tool = tools[i % 3].to_owned();
        let agent = format!("bot-{}", i % 3);
        tasks.spawn(async move {
            let reply = api.post("/api/v1/decide", &key, &json!({ "tool": tool, "agent": agent, "args": { "n": i } })).await;
            (tool, agent, reply.expect(OK))
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        out.push(done.expect("a decision task finishes"));
    }
    out
}

fn receipt_set(decisions: &[&(String, String, Value)]) -> BTreeSet<String> {
    decisions.iter().map(|(_, _, d)| text(&d["receipt_id"]).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_concurrent_decision_has_exactly_its_receipt() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, MIXED_POLICY).await;
        let decisions = concurrent_decisions(&api, &key, 20).await;
        let answered = receipt_set(&decisions.iter().collect::<Vec<_>>());
        assert_eq!(answered.len(), 20, "every decision has its own receipt id");

        let listed = api.receipt_ids(&key, "").await;
        assert_eq!(listed.len(), 20, "{listed:?}");
        assert_eq!(listed.iter().cloned().collect::<BTreeSet<_>>(), answered);
        let mut newest_first = listed.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(listed, newest_first, "newest first");

        for (tool, agent, decision) in &decisions {
            let receipt = api.get(&format!("/api/v1/receipts/{}", text(&decision["receipt_id"])), &key).await.expect(OK);
            assert_eq!(receipt["tool"], tool.as_str());
            assert_eq!(receipt["agent"], agent.as_str());
            assert_eq!(receipt["verdict"], decision["decision"]);
            assert_eq!(receipt["approval_id"], decision.get("approval_id").cloned().unwrap_or(Value::Null));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receipt_filters_select_by_verdict_tool_agent_and_time() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, MIXED_POLICY).await;
        let decisions = concurrent_decisions(&api, &key, 21).await;
        let of_tool = |tool: &str| receipt_set(&decisions.iter().filter(|(t, _, _)| t == tool).collect::<Vec<_>>());
        let (reads, deletes, payments) = (of_tool("read.file"), of_tool("delete.file"), of_tool("payments.send"));
        assert_eq!((reads.len(), deletes.len(), payments.len()), (7, 7, 7));
        for (_, _, d) in &decisions {
            let expected = match d["receipt_id"].as_str() {
                Some(id) if reads.contains(id) => "allow",
                Some(id) if deletes.contains(id) => "deny",
                _ => "require_approval",
            };
            assert_eq!(d["decision"], expected, "{d}");
        }

        let set = |ids: Vec<String>| ids.into_iter().collect::<BTreeSet<_>>();
        assert_eq!(set(api.receipt_ids(&key, "verdict=allow").await), reads);
        assert_eq!(set(api.receipt_ids(&key, "verdict=deny").await), deletes);
        assert_eq!(set(api.receipt_ids(&key, "verdict=require_approval").await), payments);
        assert_eq!(set(api.receipt_ids(&key, "tool=delete.file").await), deletes);
        assert_eq!(set(api.receipt_ids(&key, "agent=bot-2").await), payments);
        assert_eq!(set(api.receipt_ids(&key, "agent=bot-0&verdict=allow&tool=read.file").await), reads);
        assert!(api.receipt_ids(&key, "agent=bot-0&verdict=deny").await.is_empty());
        assert!(api.receipt_ids(&key, "tool=read").await.is_empty(), "the tool filter is exact");
        for receipt in api.receipts(&key, "verdict=require_approval").await {
            assert!(receipt["approval_id"].is_string(), "{receipt}");
        }

        let all: BTreeSet<String> = reads.iter().chain(&deletes).chain(&payments).cloned().collect();
        let future = charter_store::now_ms() + 3_600_000;
        assert_eq!(set(api.receipt_ids(&key, "from=0").await), all);
        assert_eq!(set(api.receipt_ids(&key, &format!("to={future}")).await), all);
        assert!(api.receipt_ids(&key, &format!("from={future}")).await.is_empty());
        assert!(api.receipt_ids(&key, "to=0").await.is_empty());
        let newest = api.get("/api/v1/receipts?limit=1", &key).await.expect(OK)["receipts"][0].clone();
        let at = newest["created_at"].as_i64().unwrap();
        assert!(api.receipt_ids(&key, &format!("from={at}")).await.contains(&text(&newest["id"]).to_owned()), "`from` is inclusive");
        assert!(!api.receipt_ids(&key, &format!("to={at}")).await.contains(&text(&newest["id"]).to_owned()), "`to` is exclusive");
    })
    .await;
}

#[tokio::test]
async fn receipt_pages_walk_every_receipt_exactly_once() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, MIXED_POLICY).await;
        let mut made = BTreeSet::new();
        for i in 0..23 {
            let decision = api.decide(&key, json!({ "tool": if i % 2 == 0 { "read.file" } else { "delete.file" } })).await;
            made.insert(text(&decision["receipt_id"]).to_owned());
        }

        let walk = |query: &'static str| {
            let (api, key) = (api.clone(), key.clone());
            async move {
                let mut seen = Vec::new();
                let mut cursor: Option<String> = None;
                let mut pages = 0;
                loop {
                    let path = match &cursor {
                        Some(c) => format!("/api/v1/receipts?limit=5{query}&cursor={c}"),
                        None => format!("/api/v1/receipts?limit=5{query}"),
                    };
                    let page = api.get(&path, &key).await.expect(OK);
                    pages += 1;
                    assert!(pages < 20, "the walk ends");
                    let receipts = page["receipts"].as_array().unwrap();
                    assert!(receipts.len() <= 5, "{page}");
                    seen.extend(ids(receipts));
                    match page["next_cursor"].as_str() {
                        Some(next) => {
                            assert_eq!(receipts.len(), 5, "only a full page has a next cursor");
                            assert_eq!(next, seen.last().unwrap(), "the cursor is the page's last id");
                            cursor = Some(next.to_owned());
                        }
                        None => break,
                    }
                }
                (seen, pages)
            }
        };

        let (seen, pages) = walk("").await;
        assert_eq!(pages, 5, "23 receipts in pages of 5");
        assert_eq!(seen.len(), 23, "{seen:?}");
        assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), made, "every receipt, no duplicates");
        let mut newest_first = seen.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, newest_first);

        let (allowed, _) = walk("&verdict=allow").await;
        assert_eq!(allowed.len(), 12);
        assert_eq!(allowed.iter().collect::<HashSet<_>>().len(), 12, "no duplicates with a filter either");
        assert_eq!(allowed, api.receipt_ids(&key, "verdict=allow").await);
    })
    .await;
}

#[tokio::test]
async fn receipts_and_approvals_are_private_to_their_tenant() {
    each_database(|api| async move {
        let bank = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&bank, MIXED_POLICY).await;
        let read = api.decide(&bank, json!({ "tool": "read.file" })).await;
        let asked = api.decide(&bank, json!({ "tool": "payments.send" })).await;
        let receipt_id = text(&read["receipt_id"]).to_owned();
        let approval_id = text(&asked["approval_id"]).to_owned();

        let startup = api.tenant_key(STARTUP_ADMIN).await;
        api.decide(&startup, json!({ "tool": "read.file" })).await;
        let startup_receipts = api.receipt_ids(&startup, "").await;
        assert_eq!(startup_receipts.len(), 1);
        assert!(!startup_receipts.contains(&receipt_id));
        assert_eq!(api.receipt_ids(&startup, "tool=payments.send").await, Vec::<String>::new());

        api.get(&format!("/api/v1/receipts/{receipt_id}"), &startup).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        api.get(&format!("/api/v1/approvals/{approval_id}"), &startup).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(api.get("/api/v1/approvals?pending=false", &startup).await.expect(OK), json!([]));
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        api.get(&format!("/api/v1/receipts/{receipt_id}"), &startup_admin).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        api.get("/api/v1/tenants/meridian-bank/receipts", &startup_admin).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        api.get("/api/v1/tenants/meridian-bank/receipts", &startup).await.expect_error(StatusCode::NOT_FOUND, "not_found");

        // The bank's own people and platform staff see them.
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        api.get(&format!("/api/v1/receipts/{receipt_id}"), &bank_admin).await.expect(OK);
        for staff in [OWNER, SUPPORT] {
            let staff = api.sign_in(staff).await;
            let page = api.get("/api/v1/tenants/meridian-bank/receipts", &staff).await.expect(OK);
            assert_eq!(page["receipts"].as_array().unwrap().len(), 2, "{page}");
            api.get(&format!("/api/v1/tenants/meridian-bank/approvals/{approval_id}"), &staff).await.expect(OK);
            api.get(&format!("/api/v1/tenants/rocketlane/receipts/{receipt_id}"), &staff).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_receipt_queries_are_400_naming_the_parameter() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        for (query, field) in [("limit=0", "limit"), ("limit=501", "limit"), ("limit=-3", "limit"), ("verdict=maybe", "verdict"), ("verdict=ALLOW", "verdict")]
        {
            let error = api.get(&format!("/api/v1/receipts?{query}"), &key).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
            assert_eq!(error["field"], field, "{query}: {error}");
            assert!(text(&error["message"]).contains(field), "{query}: {error}");
        }
        for query in ["limit=abc", "from=yesterday", "colour=red"] {
            let error = api.get(&format!("/api/v1/receipts?{query}"), &key).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
            let name = query.split('=').next().unwrap();
            assert!(text(&error["message"]).contains(name), "{query}: {error}");
        }
        api.get("/api/v1/receipts?limit=500", &key).await.expect(OK);
        api.get("/api/v1/receipts?limit=1", &key).await.expect(OK);
        let error = api.get("/api/v1/approvals?limit=0", &key).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(error["field"], "limit");
        let error = api.get("/api/v1/audit?limit=0", &api.sign_in(BANK_ADMIN).await).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(error["field"], "limit");
    })
    .await;
}

// =============================================================================================
// Policies: live edits, versions and validation
// =============================================================================================

#[tokio::test]
async fn policy_edits_apply_to_the_very_next_decision() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        let ask = json!({ "tool": "docs.read" });
        let policy = api.create_policy(&key, &allow_policy("Docs", &["docs.read"])).await;
        let id = text(&policy["id"]).to_owned();
        assert_eq!(api.decide(&key, ask.clone()).await["decision"], "allow");

        let deny = "name: Docs\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: deny\n    reason: docs are closed\n";
        let updated = api.update_policy(&key, &id, 1, deny).await.expect(OK);
        assert_eq!(updated["version"], 2);
        let denied = api.decide(&key, ask.clone()).await;
        assert_eq!(denied["decision"], "deny", "{denied}");
        assert!(text(&denied["reason"]).contains("docs are closed"), "{denied}");
        let receipt = api.get(&format!("/api/v1/receipts/{}", text(&denied["receipt_id"])), &key).await.expect(OK);
        assert_eq!(receipt["policy_versions"][id.as_str()], 2, "the receipt names the version that decided");

        let allow_again = allow_policy("Docs", &["docs.read"]);
        api.update_policy(&key, &id, 2, &allow_again).await.expect(OK);
        assert_eq!(api.decide(&key, ask.clone()).await["decision"], "allow");

        let deleted = api.send(Call::new(Method::DELETE, format!("/api/v1/policies/{id}"), &key).if_match(3)).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        api.get(&format!("/api/v1/policies/{id}"), &key).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        let defaulted = api.decide(&key, ask.clone()).await;
        assert_eq!(defaulted["decision"], "deny", "{defaulted}");
        assert!(text(&defaulted["reason"]).contains("platform default `deny`"), "the default applies: {defaulted}");
        assert_eq!(defaulted["matched"], json!([]));
    })
    .await;
}

const V1: &str = "name: Contested\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n";

fn contender(n: usize) -> String {
    format!("name: Contested\ndescription: writer {n}\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n")
}

#[tokio::test]
async fn two_updates_from_the_same_version_cannot_both_win() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let id = text(&api.create_policy(&admin, V1).await["id"]).to_owned();

        let first = api.update_policy(&admin, &id, 1, &contender(1)).await.expect(OK);
        assert_eq!(first["version"], 2);
        let error = api.update_policy(&admin, &id, 1, &contender(2)).await.expect_error(StatusCode::CONFLICT, "version_conflict");
        assert!(text(&error["message"]).contains("is at version 2, not 1"), "the conflict says which version is current: {error}");

        let stored = api.get(&format!("/api/v1/policies/{id}"), &admin).await.expect(OK);
        assert_eq!(stored["version"], 2);
        assert_eq!(stored["description"], "writer 1", "the losing update changed nothing");

        // Deleting from a stale version is refused too; without If-Match an update is refused.
        let stale_delete = api.send(Call::new(Method::DELETE, format!("/api/v1/policies/{id}"), &admin).if_match(1)).await;
        stale_delete.expect_error(StatusCode::CONFLICT, "version_conflict");
        let unversioned = api.send(Call::new(Method::PUT, format!("/api/v1/policies/{id}"), &admin).yaml(&contender(3))).await;
        unversioned.expect_error(StatusCode::PRECONDITION_REQUIRED, "version_required");
        let garbled = api.send(Call::new(Method::PUT, format!("/api/v1/policies/{id}"), &admin).header("if-match", "latest").yaml(&contender(3))).await;
        assert_eq!(garbled.expect_error(StatusCode::BAD_REQUEST, "bad_request")["field"], "If-Match");
        let quoted = api.send(Call::new(Method::PUT, format!("/api/v1/policies/{id}"), &admin).header("if-match", "\"2\"").yaml(&contender(4))).await;
        assert_eq!(quoted.expect(OK)["version"], 3, "a quoted ETag-style version works");
        // The version may also travel in the document itself.
        let in_document = format!("version: 3\n{}", contender(5));
        let reply = api.send(Call::new(Method::PUT, format!("/api/v1/policies/{id}"), &admin).yaml(&in_document)).await;
        assert_eq!(reply.expect(OK)["version"], 4);

        let updates = api.audit(&admin).await.into_iter().filter(|e| e["action"] == "policy.update").count();
        assert_eq!(updates, 3, "one audit entry per successful update");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_updates_from_the_same_version_cannot_both_win() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let id = text(&api.create_policy(&admin, V1).await["id"]).to_owned();
        for round in 0..8_i64 {
            let version = round + 1;
            let (first, second) = (contender(2 * round as usize), contender(2 * round as usize + 1));
            let (a, b) = tokio::join!(api.update_policy(&admin, &id, version, &first), api.update_policy(&admin, &id, version, &second));
            let statuses = BTreeSet::from([a.status, b.status]);
            assert_eq!(statuses, BTreeSet::from([StatusCode::OK, StatusCode::CONFLICT]), "round {round}: {} / {}", a.body, b.body);
            let (winner, loser) = if a.status == StatusCode::OK { (a, b) } else { (b, a) };
            loser.expect_error(StatusCode::CONFLICT, "version_conflict");
            let stored = api.get(&format!("/api/v1/policies/{id}"), &admin).await.expect(OK);
            assert_eq!(stored["version"], version + 1, "round {round}: the version moved by one");
            assert_eq!(stored["description"], winner.json()["description"], "round {round}: the winner's document is stored");
        }
        let updates = api.audit(&admin).await.into_iter().filter(|e| e["action"] == "policy.update").count();
        assert_eq!(updates, 8, "exactly one update per round");
    })
    .await;
}

#[tokio::test]
async fn invalid_policies_are_422_with_a_location_and_write_nothing() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let audit_before = api.audit(&admin).await;
        let post_yaml = |yaml: &'static str| {
            let (api, admin) = (api.clone(), admin.clone());
            async move { api.send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml(yaml)).await }
        };

        let unknown_field = "name: Typos\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n    colour: blue\n";
        let error = post_yaml(unknown_field).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        assert_eq!(error["details"]["line"], 6, "{error}");
        assert!(error["details"]["column"].is_u64(), "{error}");
        assert_eq!(error["details"]["path"], "rules[0].colour", "{error}");
        assert_eq!(error["field"], "rules[0].colour", "{error}");
        assert!(text(&error["message"]).contains("colour"), "{error}");

        let bad_regex = "name: Regex\nscope: tenant\nrules:\n  - tool: \"^(a\"\n    effect: allow\n";
        let error = post_yaml(bad_regex).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        assert_eq!(error["details"]["line"], 4, "{error}");
        assert!(text(&error["message"]).contains("regex"), "{error}");

        let bad_operator = "name: Ops\nscope: tenant\nrules:\n  - tool: docs.read\n    when: { args.amount: { gtt: 5 } }\n    effect: allow\n";
        let error = post_yaml(bad_operator).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        assert_eq!(error["details"]["line"], 5, "{error}");
        assert!(text(&error["message"]).contains("gtt"), "{error}");

        let wrong_cap_type =
            json!({ "name": "Caps", "scope": "tenant", "rules": [{ "tool": "payments.send", "limit": { "args.amount": { "max": "lots" } } }] });
        let error = api.post("/api/v1/policies", &admin, &wrong_cap_type).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        assert_eq!(error["details"]["path"], "rules[0].limit.args.amount.max", "{error}");
        assert_eq!(error["details"]["line"], 1, "{error}");

        let approval_without_approvers = json!({ "name": "Nobody", "scope": "tenant", "rules": [{ "tool": "x", "effect": "require_approval" }] });
        api.post("/api/v1/policies", &admin, &approval_without_approvers).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        post_yaml("").await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        post_yaml("rules: [").await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");

        let wrong_type = api.send(Call::new(Method::POST, "/api/v1/policies", &admin).raw(Some("text/plain"), V1)).await;
        wrong_type.expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        let huge = format!("{V1}description: \"{}\"\n", "x".repeat(300 * 1024));
        let too_big = api.send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml(&huge)).await;
        too_big.expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

        // A bad update leaves the policy as it was.
        let id = text(&api.create_policy(&admin, V1).await["id"]).to_owned();
        let audit_after_create = api.audit(&admin).await;
        api.update_policy(&admin, &id, 1, unknown_field).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        let stored = api.get(&format!("/api/v1/policies/{id}"), &admin).await.expect(OK);
        assert_eq!(stored["version"], 1);
        assert_eq!(api.audit(&admin).await, audit_after_create, "a refused update is not audited");

        assert_eq!(ids(&api.policies(&admin).await), vec![id], "only the one valid policy was saved");
        assert_eq!(audit_after_create.len(), audit_before.len() + 1, "only the valid create was audited");
    })
    .await;
}

#[tokio::test]
async fn the_policy_quota_is_enforced() {
    each_database(|api| async move {
        sqlx::query("UPDATE tenants SET policy_quota = 2 WHERE slug = 'rocketlane'").execute(api.store.pool()).await.unwrap();
        let startup = api.sign_in(STARTUP_ADMIN).await;
        let first = api.create_policy(&startup, &allow_policy("One", &["a.one"])).await;
        api.create_policy(&startup, &allow_policy("Two", &["a.two"])).await;
        let audit_before = api.audit(&startup).await;

        let error = api
            .send(Call::new(Method::POST, "/api/v1/policies", &startup).yaml(&allow_policy("Three", &["a.three"])))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "quota_exceeded");
        assert!(text(&error["message"]).contains('2'), "the quota is named: {error}");
        assert_eq!(api.policies(&startup).await.len(), 2);
        assert_eq!(api.audit(&startup).await, audit_before);

        // Another tenant is not affected, and deleting makes room again.
        api.create_policy(&api.sign_in(BANK_ADMIN).await, &allow_policy("Three", &["a.three"])).await;
        let deleted = api.delete(&format!("/api/v1/policies/{}", text(&first["id"])), &startup).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        api.create_policy(&startup, &allow_policy("Three", &["a.three"])).await;
    })
    .await;
}

#[tokio::test]
async fn policies_are_saved_only_in_their_own_scope() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let platform = "name: Sneaky\nscope: platform\nrules:\n  - tool: \"*\"\n    effect: allow\n";
        let error =
            api.send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml(platform)).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "scope", "{error}");
        let agent_without_name = "name: Bot\nscope: agent\nrules:\n  - tool: docs.read\n    effect: allow\n";
        let error = api.send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml(agent_without_name)).await;
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", error.body);
        let id = text(&api.create_policy(&admin, V1).await["id"]).to_owned();
        let error = api.update_policy(&admin, &id, 1, platform).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "scope", "a tenant policy cannot be turned into a platform one: {error}");

        let owner = api.sign_in(OWNER).await;
        let error =
            api.send(Call::new(Method::POST, "/api/v1/platform/policies", &owner).yaml(V1)).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "scope", "{error}");

        let duplicate = api.send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml(V1)).await;
        duplicate.expect_error(StatusCode::CONFLICT, "conflict");

        // An agent policy lands in the tenant's list.
        let agent = api.create_policy(&admin, "name: Bot rules\nscope: agent\nagent: bot\nrules:\n  - tool: docs.read\n    effect: allow\n").await;
        assert_eq!(agent["agent"], "bot");
        assert_eq!(api.policies(&admin).await.len(), 2);
        assert_eq!(api.get("/api/v1/platform/policies", &owner).await.expect(OK), json!([]));
    })
    .await;
}

#[tokio::test]
async fn another_tenants_policy_is_not_found_and_stays_unchanged() {
    each_database(|api| async move {
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let policy = api.create_policy(&bank_admin, V1).await;
        let id = text(&policy["id"]).to_owned();
        let path = format!("/api/v1/policies/{id}");

        let startup_key = api.tenant_key(STARTUP_ADMIN).await;
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        for caller in [&startup_key, &startup_admin] {
            api.get(&path, caller).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.get(&format!("{path}?format=yaml"), caller).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.update_policy(caller, &id, 1, &contender(9)).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.send(Call::new(Method::DELETE, path.clone(), caller).if_match(1)).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.delete(&path, caller).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.get(&format!("/api/v1/tenants/meridian-bank/policies/{id}"), caller).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.get("/api/v1/tenants/meridian-bank/policies", caller).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            assert_eq!(api.get("/api/v1/policies", caller).await.expect(OK), json!([]));
        }
        // A foreign id and a missing one answer alike.
        let foreign = api.get(&path, &startup_key).await;
        let missing = api.get(&format!("/api/v1/policies/{NO_SUCH_ID}"), &startup_key).await;
        assert_eq!(foreign.status, missing.status);
        assert_eq!(foreign.json()["error"]["code"], missing.json()["error"]["code"]);

        let stored = api.get(&path, &bank_admin).await.expect(OK);
        assert_eq!(stored, policy, "the bank's policy is exactly as it was saved");
        assert!(api.audit(&startup_admin).await.iter().all(|e| e["action"] == "api_key.create"), "no policy change in rocketlane's audit");
    })
    .await;
}

#[tokio::test]
async fn platform_policies_are_for_platform_staff_only() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let support = api.sign_in(SUPPORT).await;
        let guardrails = "name: Platform guardrails\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n";
        let created = api.create_platform_policy(&owner, guardrails).await;
        let id = text(&created["id"]).to_owned();
        let path = format!("/api/v1/platform/policies/{id}");

        // Tenant callers: the routes might as well not exist.
        let bank_key = api.tenant_key(BANK_ADMIN).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let manager = api.sign_in(BANK_MANAGER).await;
        for caller in [&bank_key, &bank_admin, &manager] {
            api.get("/api/v1/platform/policies", caller).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.get(&path, caller).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.send(Call::new(Method::POST, "/api/v1/platform/policies", caller).yaml(guardrails)).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.send(Call::new(Method::PUT, path.clone(), caller).if_match(1).yaml(guardrails)).await.expect_error(StatusCode::NOT_FOUND, "not_found");
            api.send(Call::new(Method::DELETE, path.clone(), caller).if_match(1)).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        }
        assert!(api.policies(&bank_admin).await.is_empty(), "platform policies are not in a tenant's list");

        // Support reads and changes nothing.
        let listed = api.get("/api/v1/platform/policies", &support).await.expect(OK);
        assert_eq!(ids(listed.as_array().unwrap()), vec![id.clone()]);
        api.get(&path, &support).await.expect(OK);
        let other = "name: Other\nscope: platform\nrules:\n  - tool: \"db.*\"\n    effect: deny\n";
        api.send(Call::new(Method::POST, "/api/v1/platform/policies", &support).yaml(other)).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.send(Call::new(Method::PUT, path.clone(), &support).if_match(1).yaml(other)).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.send(Call::new(Method::DELETE, path.clone(), &support).if_match(1)).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        // Support cannot write a tenant's policies either.
        api.send(Call::new(Method::POST, "/api/v1/tenants/meridian-bank/policies", &support).yaml(V1)).await.expect_error(StatusCode::FORBIDDEN, "forbidden");

        let stored = api.get(&path, &owner).await.expect(OK);
        assert_eq!(stored["version"], 1);
        assert_eq!(api.get("/api/v1/platform/policies", &owner).await.expect(OK).as_array().unwrap().len(), 1);

        // The owner edits and deletes.
        let updated = api.send(Call::new(Method::PUT, path.clone(), &owner).if_match(1).yaml(other)).await.expect(OK);
        assert_eq!(updated["name"], "Other");
        let deleted = api.send(Call::new(Method::DELETE, path.clone(), &owner).if_match(2)).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        assert_eq!(api.get("/api/v1/platform/policies", &owner).await.expect(OK), json!([]));
    })
    .await;
}

#[tokio::test]
async fn a_policy_reads_back_as_yaml_and_round_trips() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let document = json!({
            "name": "Finance",
            "description": "Expenses for the finance team.",
            "scope": "tenant",
            "rules": [
                { "tool": "expense.submit", "when": { "args.amount": { "gt": 5000 } }, "effect": "require_approval", "approvers": ["manager"] },
                { "tool": "payments.*", "limit": { "args.amount": { "max": 50000 } } }
            ]
        });
        let created = api.post("/api/v1/policies", &admin, &document).await.expect(CREATED);
        let id = text(&created["id"]).to_owned();
        assert_eq!(created["document"]["rules"][0]["approvers"], json!(["manager"]));

        let yaml = api.get(&format!("/api/v1/policies/{id}?format=yaml"), &admin).await;
        assert_eq!(yaml.status, OK, "{}", yaml.body);
        assert_eq!(yaml.headers.get("content-type").unwrap(), "application/yaml");
        assert!(yaml.body.contains("name: Finance"), "{}", yaml.body);
        assert!(yaml.body.contains("expense.submit"), "{}", yaml.body);

        // The YAML as read (with its id and version) goes straight back in.
        let put = api.send(Call::new(Method::PUT, format!("/api/v1/policies/{id}"), &admin).yaml(&yaml.body)).await;
        let after = put.expect(OK);
        assert_eq!(after["version"], 2, "{after}");
        assert_eq!(after["document"], created["document"], "nothing changed in the round trip");

        api.get(&format!("/api/v1/policies/{id}?format=json"), &admin).await.expect(OK);
        let error = api.get(&format!("/api/v1/policies/{id}?format=xml"), &admin).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(error["field"], "format");
    })
    .await;
}

// =============================================================================================
// Audit
// =============================================================================================

fn entry_for<'a>(entries: &'a [Value], action: &str, target: &str) -> &'a Value {
    entries
        .iter()
        .find(|e| e["action"] == action && e["target"] == target)
        .unwrap_or_else(|| panic!("an audit entry {action} {target} in {}", Value::Array(entries.to_vec())))
}

#[tokio::test]
async fn every_change_is_audited_with_its_actor_and_before_and_after() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let (key_info, key) = api.create_key_at("/api/v1/keys", &admin, "gitops").await;
        let key_prefix = text(&key_info["prefix"]).trim_start_matches("chk_").to_owned();
        let key_target = format!("api_key:{key_prefix}");

        let policy = api.create_policy(&key, APPROVAL_POLICY).await;
        let policy_id = text(&policy["id"]).to_owned();
        let policy_target = format!("policy:{policy_id}");
        let changed = APPROVAL_POLICY.replace("name: Big payments", "name: Big payments\ndescription: edited");
        api.update_policy(&admin, &policy_id, 1, &changed).await.expect(OK);

        let approve_id = text(&api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 20000 } })).await["approval_id"]).to_owned();
        let reject_id = text(&api.decide(&key, json!({ "tool": "payments.send", "args": { "amount": 30000 } })).await["approval_id"]).to_owned();
        let manager = api.sign_in(BANK_MANAGER).await;
        let cfo = api.sign_in(BANK_CFO).await;
        api.post(&format!("/api/v1/approvals/{approve_id}/resolve"), &manager, &json!({ "resolution": "approve", "comment": "ok" })).await.expect(OK);
        api.post(&format!("/api/v1/approvals/{approve_id}/resolve"), &cfo, &json!({ "resolution": "approve", "comment": "fine" })).await.expect(OK);
        api.post(&format!("/api/v1/approvals/{reject_id}/resolve"), &manager, &json!({ "resolution": "reject", "comment": "no" })).await.expect(OK);

        let deleted = api.send(Call::new(Method::DELETE, format!("/api/v1/policies/{policy_id}"), &admin).if_match(2)).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
        api.delete(&format!("/api/v1/keys/{}", text(&key_info["id"])), &admin).await.expect(OK);

        // A platform policy's edit is not in the tenant's log; the release that brings it to the
        // tenant is.
        api.create_platform_policy(&api.sign_in(OWNER).await, "name: Guard\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n").await;

        let reply = api.get("/api/v1/audit", &admin).await;
        let entries = reply.expect(OK).as_array().unwrap().clone();
        assert!(!reply.body.contains(text(&key_info["secret"])), "the audit never holds a key's secret");
        let actions: Vec<&str> = entries.iter().map(|e| text(&e["action"])).collect();
        assert_eq!(
            actions,
            [
                "release.promote",
                "api_key.revoke",
                "policy.delete",
                "approval.reject",
                "approval.approve",
                "approval.approve",
                "policy.update",
                "policy.create",
                "api_key.create"
            ],
            "newest first, one entry per change"
        );
        for entry in &entries {
            assert!(entry["id"].is_string() && entry["created_at"].is_i64(), "{entry}");
        }

        let e = entry_for(&entries, "api_key.create", &key_target);
        assert_eq!((e["actor"].as_str(), e["actor_kind"].as_str()), (Some(BANK_ADMIN), Some("user")));
        assert!(e["before"].is_null());
        assert_eq!(e["after"]["name"], "gitops");

        let e = entry_for(&entries, "policy.create", &policy_target);
        assert_eq!(e["actor"], format!("key:{key_prefix}"), "a key acts as itself: {e}");
        assert_eq!(e["actor_kind"], "api_key");
        assert!(e["before"].is_null());
        assert_eq!(e["after"]["name"], "Big payments");
        assert_eq!(e["after"]["version"], 1);

        let e = entry_for(&entries, "policy.update", &policy_target);
        assert_eq!(e["actor"], BANK_ADMIN);
        assert_eq!((e["before"]["version"].as_i64(), e["after"]["version"].as_i64()), (Some(1), Some(2)));
        assert_eq!((e["before"]["description"].as_str(), e["after"]["description"].as_str()), (Some(""), Some("edited")));

        // Both roles were asked: the manager's vote leaves it pending, the CFO's approves it.
        let votes = entries.iter().filter(|e| e["action"] == "approval.approve" && e["target"] == format!("approval:{approve_id}")).collect::<Vec<_>>();
        let (cfo_vote, manager_vote) = (votes[0], votes[1]);
        assert_eq!((manager_vote["actor"].as_str(), manager_vote["actor_kind"].as_str()), (Some(BANK_MANAGER), Some("user")));
        assert_eq!((manager_vote["before"]["status"].as_str(), manager_vote["after"]["status"].as_str()), (Some("pending"), Some("pending")));
        assert_eq!(manager_vote["before"]["votes"], "[]");
        assert_eq!(cfo_vote["actor"], BANK_CFO);
        assert_eq!((cfo_vote["before"]["status"].as_str(), cfo_vote["after"]["status"].as_str()), (Some("pending"), Some("approved")));
        assert_eq!(cfo_vote["after"]["resolved_by"], BANK_CFO);

        let e = entry_for(&entries, "approval.reject", &format!("approval:{reject_id}"));
        assert_eq!(e["actor"], BANK_MANAGER);
        assert_eq!((e["before"]["status"].as_str(), e["after"]["status"].as_str()), (Some("pending"), Some("rejected")));

        let e = entry_for(&entries, "policy.delete", &policy_target);
        assert_eq!(e["actor"], BANK_ADMIN);
        assert_eq!(e["before"]["version"], 2);
        assert!(e["after"].is_null());

        let e = entry_for(&entries, "api_key.revoke", &key_target);
        assert_eq!(e["actor"], BANK_ADMIN);
        assert!(e["before"]["revoked_at"].is_null());
        assert!(e["after"]["revoked_at"].is_i64(), "{e}");

        // Platform staff read the same log; another tenant sees none of it.
        let support = api.sign_in(SUPPORT).await;
        let via_staff = api.get("/api/v1/tenants/meridian-bank/audit", &support).await.expect(OK);
        assert_eq!(via_staff.as_array().unwrap(), &entries);
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        let startup_reply = api.get("/api/v1/audit", &startup_admin).await;
        let startup_actions: Vec<String> = startup_reply.expect(OK).as_array().unwrap().iter().map(|e| text(&e["action"]).to_owned()).collect();
        assert_eq!(startup_actions, ["release.promote"], "only the release that reached the startup too");
        api.get("/api/v1/tenants/meridian-bank/audit", &startup_admin).await.expect_error(StatusCode::NOT_FOUND, "not_found");

        // Audit pages by cursor.
        let first = api.get("/api/v1/audit?limit=3", &admin).await.expect(OK);
        let cursor = text(&first[2]["id"]).to_owned();
        let second = api.get(&format!("/api/v1/audit?limit=3&cursor={cursor}"), &admin).await.expect(OK);
        let walked: Vec<Value> = first.as_array().unwrap().iter().chain(second.as_array().unwrap()).cloned().collect();
        assert_eq!(walked, entries[..6].to_vec());
        let rest = api.get(&format!("/api/v1/audit?cursor={}", text(&entries[6]["id"])), &admin).await.expect(OK);
        assert_eq!(rest.as_array().unwrap(), &entries[7..].to_vec());
    })
    .await;
}

// =============================================================================================
// The OpenAPI document
// =============================================================================================

/// Every operation under `/api/v1`, as the router in `server/src/api/mod.rs` defines it
/// (`/openapi.json` itself aside). The tenant routes among them are listed again under
/// `/api/v1/tenants/{slug}` for platform staff ([`TENANT_ROUTES`]).
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/decide"),
    ("get", "/api/v1/receipts"),
    ("get", "/api/v1/receipts/{id}"),
    ("get", "/api/v1/approvals"),
    ("get", "/api/v1/approvals/{id}"),
    ("post", "/api/v1/approvals/{id}/resolve"),
    ("get", "/api/v1/audit"),
    ("get", "/api/v1/policies"),
    ("post", "/api/v1/policies"),
    ("get", "/api/v1/policies/export"),
    ("get", "/api/v1/policies/{id}"),
    ("put", "/api/v1/policies/{id}"),
    ("delete", "/api/v1/policies/{id}"),
    ("get", "/api/v1/platform/policies"),
    ("post", "/api/v1/platform/policies"),
    ("get", "/api/v1/platform/policies/export"),
    ("get", "/api/v1/platform/policies/{id}"),
    ("put", "/api/v1/platform/policies/{id}"),
    ("delete", "/api/v1/platform/policies/{id}"),
    ("get", "/api/v1/policies/{id}/versions"),
    ("get", "/api/v1/policies/{id}/versions/{version}"),
    ("post", "/api/v1/policies/{id}/versions/{version}/restore"),
    ("get", "/api/v1/policies/{id}/diff"),
    ("get", "/api/v1/platform/policies/{id}/versions"),
    ("get", "/api/v1/platform/policies/{id}/versions/{version}"),
    ("post", "/api/v1/platform/policies/{id}/versions/{version}/restore"),
    ("get", "/api/v1/platform/policies/{id}/diff"),
    ("get", "/api/v1/keys"),
    ("post", "/api/v1/keys"),
    ("delete", "/api/v1/keys/{id}"),
    ("get", "/api/v1/platform/settings"),
    ("put", "/api/v1/platform/settings"),
    ("put", "/api/v1/tenants/{slug}/quota"),
    ("put", "/api/v1/tenants/{slug}/retention"),
    ("get", "/api/v1/settings"),
    ("put", "/api/v1/settings"),
    ("get", "/api/v1/platform/releases"),
    ("post", "/api/v1/platform/releases"),
    ("get", "/api/v1/platform/releases/draft"),
    ("get", "/api/v1/platform/releases/{number}"),
    ("post", "/api/v1/platform/releases/{number}/promote"),
    ("get", "/api/v1/platform/rollout"),
    ("put", "/api/v1/tenants/{slug}/release"),
    ("get", "/api/v1/rollout"),
    ("put", "/api/v1/rollout"),
    ("get", "/api/v1/revisions"),
    ("get", "/api/v1/revisions/{version}"),
    ("post", "/api/v1/platform/releases/replay"),
    ("post", "/api/v1/revisions/replay"),
    ("put", "/api/v1/platform/shadow"),
    ("get", "/api/v1/shadow"),
    ("put", "/api/v1/shadow"),
    ("get", "/api/v1/baselines"),
];

/// The paths of one tenant's data, which exist at `/api/v1/...` and `/api/v1/tenants/{slug}/...`.
const TENANT_ROUTES: &[&str] = &[
    "/policies",
    "/policies/export",
    "/policies/{id}",
    "/policies/{id}/versions",
    "/policies/{id}/versions/{version}",
    "/policies/{id}/versions/{version}/restore",
    "/policies/{id}/diff",
    "/receipts",
    "/receipts/{id}",
    "/approvals",
    "/approvals/{id}",
    "/approvals/{id}/resolve",
    "/keys",
    "/keys/{id}",
    "/audit",
    "/settings",
    "/rollout",
    "/revisions",
    "/revisions/{version}",
    "/revisions/replay",
    "/shadow",
    "/baselines",
];

fn expected_operations() -> BTreeSet<(String, String)> {
    let mut expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    for (method, path) in ROUTES {
        if let Some(tail) = path.strip_prefix("/api/v1").filter(|tail| TENANT_ROUTES.contains(tail)) {
            expected.insert(((*method).to_owned(), format!("/api/v1/tenants/{{slug}}{tail}")));
        }
    }
    expected
}

async fn openapi_operations(api: &Api) -> BTreeSet<(String, String)> {
    let reply = api.get("/api/v1/openapi.json", &Auth::Anonymous).await;
    let document = reply.expect(OK);
    assert!(text(&document["openapi"]).starts_with("3."), "{}", reply.body);
    assert_eq!(document["components"]["securitySchemes"]["api_key"]["scheme"], "bearer", "{}", reply.body);
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                operations.insert((method.clone(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn the_openapi_document_lists_exactly_the_api_routes() {
    each_database(|api| async move {
        let documented = openapi_operations(&api).await;
        let expected = expected_operations();
        let missing: Vec<_> = expected.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&expected).collect();
        assert!(missing.is_empty() && extra.is_empty(), "undocumented: {missing:?}; documented but not expected: {extra:?}");
    })
    .await;
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_asks_for_credentials() {
    each_database(|api| async move {
        let documented = openapi_operations(&api).await;
        assert!(!documented.is_empty());
        for (method, path) in &documented {
            let concrete = path.replace("{id}", NO_SUCH_ID).replace("{slug}", "meridian-bank").replace("{version}", "1").replace("{number}", "1");
            assert!(!concrete.contains('{'), "every path parameter is substituted: {concrete}");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut call = Call::new(method.clone(), concrete.clone(), &Auth::Anonymous);
            if method == Method::POST || method == Method::PUT {
                call = call.json(&json!({}));
            }
            let reply = api.send(call).await;
            assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {concrete} is routed");
            assert_ne!(reply.status, StatusCode::NOT_FOUND, "{method} {concrete} is routed: {}", reply.body);
            reply.expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");

            // Tenant-scoped operations also exist under /api/v1/tenants/{slug}/.
            let scoped = !concrete.starts_with("/api/v1/decide") && !concrete.starts_with("/api/v1/platform/") && !concrete.starts_with("/api/v1/tenants/");
            if scoped {
                let nested = concrete.replacen("/api/v1/", "/api/v1/tenants/meridian-bank/", 1);
                let mut call = Call::new(method.clone(), nested.clone(), &Auth::Anonymous);
                if method == Method::POST || method == Method::PUT {
                    call = call.json(&json!({}));
                }
                api.send(call).await.expect_error(StatusCode::UNAUTHORIZED, "unauthenticated");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn unknown_api_routes_and_methods_are_refused() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.get("/api/v1/no-such-route", &key).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        api.get("/api/v1/policies/a/b/c", &key).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        let patch = api.send(Call::new(Method::PATCH, "/api/v1/policies", &key).json(&json!({}))).await;
        assert_eq!(patch.status, StatusCode::METHOD_NOT_ALLOWED, "{}", patch.body);
        let get_decide = api.get("/api/v1/decide", &key).await;
        assert_eq!(get_decide.status, StatusCode::METHOD_NOT_ALLOWED, "{}", get_decide.body);
    })
    .await;
}

#[tokio::test]
async fn platform_settings_and_quotas_are_for_platform_admins_audited_and_live() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let support = api.sign_in(SUPPORT).await;
        let admin = api.sign_in(BANK_ADMIN).await;
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&admin, &allow_policy("Docs", &["docs.read", "docs.write"])).await;
        assert_eq!(api.decide(&key, json!({"tool": "docs.write"})).await["decision"], "allow");

        // Disabling a tool in the catalog denies it on the very next decision.
        let settings = json!({"default": "deny", "enabled_tools": ["docs.read"]});
        let saved = api.send(Call::new(Method::PUT, "/api/v1/platform/settings", &owner).json(&settings)).await.expect(OK);
        assert_eq!(saved["enabled_tools"], json!(["docs.read"]));
        assert_eq!(api.decide(&key, json!({"tool": "docs.write"})).await["decision"], "deny");
        assert_eq!(api.decide(&key, json!({"tool": "docs.read"})).await["decision"], "allow");
        assert_eq!(api.get("/api/v1/platform/settings", &support).await.expect(OK)["enabled_tools"], json!(["docs.read"]));

        // Support reads but cannot write; tenant callers do not see the settings at all.
        api.send(Call::new(Method::PUT, "/api/v1/platform/settings", &support).json(&settings)).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.get("/api/v1/platform/settings", &admin).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        api.get("/api/v1/platform/settings", &key).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        let bad = api.send(Call::new(Method::PUT, "/api/v1/platform/settings", &owner).json(&json!({"default": "maybe"}))).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
        assert!(bad.body.contains("default"), "the bad field is named: {}", bad.body);

        // Quotas: platform admins only, validated, audited on the tenant's log.
        let quota = api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/quota", &owner).json(&json!({"policy_quota": 1}))).await.expect(OK);
        assert_eq!(quota["policy_quota"], 1);
        api.send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml(&allow_policy("Two", &["a.two"])))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "quota_exceeded");
        api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/quota", &admin).json(&json!({"policy_quota": 500})))
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/quota", &support).json(&json!({"policy_quota": 500})))
            .await
            .expect_error(StatusCode::FORBIDDEN, "forbidden");
        let negative = api
            .send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/quota", &owner).json(&json!({"policy_quota": -3})))
            .await
            .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(negative["field"], "policy_quota");
        api.send(Call::new(Method::PUT, "/api/v1/tenants/no-such-tenant/quota", &owner).json(&json!({"policy_quota": 5})))
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        let audit = api.audit(&admin).await;
        let change = audit.iter().find(|e| e["action"] == "tenant.quota").expect("the quota change is audited");
        assert_eq!(change["actor"], OWNER);
        assert_eq!(change["after"]["policy_quota"], 1);
        assert_eq!(change["before"]["policy_quota"], 250);
    })
    .await;
}

// =============================================================================================
// Export
// =============================================================================================

/// Policies of the bank, the startup and the platform, each with a name no other owner uses.
async fn export_fixture(api: &Api) {
    let owner = api.sign_in(OWNER).await;
    api.create_platform_policy(&owner, "name: Guardrails\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n").await;
    let bank = api.sign_in(BANK_ADMIN).await;
    api.create_policy(&bank, &allow_policy("Bank docs", &["docs.read", "docs.write"])).await;
    api.create_policy(
        &bank,
        "name: Bank bot\ndescription: The support bot never pays.\nscope: agent\nagent: support-bot\nrules:\n  - tool: \"payments.*\"\n    effect: deny\n",
    )
    .await;
    let startup = api.sign_in(STARTUP_ADMIN).await;
    api.create_policy(&startup, &allow_policy("Startup everything", &["deploy.staging"])).await;
}

const EVERY_EXPORTED_NAME: [&str; 4] = ["Guardrails", "Bank docs", "Bank bot", "Startup everything"];

#[tokio::test]
async fn an_export_is_a_bundle_of_exactly_the_owners_policies() {
    each_database(|api| async move {
        export_fixture(&api).await;
        let bank_key = api.tenant_key(BANK_ADMIN).await;
        let startup_key = api.tenant_key(STARTUP_ADMIN).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let manager = api.sign_in(BANK_MANAGER).await;
        let owner = api.sign_in(OWNER).await;
        let support = api.sign_in(SUPPORT).await;
        let hospital = api.sign_in(HOSPITAL_ADMIN).await;
        // Each check: who, where, the owner the file names, its format, and the policies in it.
        type Check<'a> = (&'a str, &'a Auth, &'a str, &'a str, &'a str, Vec<&'a str>);
        let checks: Vec<Check> = vec![
            ("a tenant key, YAML by default", &bank_key, "/api/v1/policies/export", "meridian-bank", "yaml", vec!["Bank bot", "Bank docs"]),
            ("a tenant key, JSON", &bank_key, "/api/v1/policies/export?format=json", "meridian-bank", "json", vec!["Bank bot", "Bank docs"]),
            ("a tenant admin's session", &bank_admin, "/api/v1/policies/export?format=yaml", "meridian-bank", "yaml", vec!["Bank bot", "Bank docs"]),
            (
                "a tenant admin naming their own tenant",
                &bank_admin,
                "/api/v1/tenants/meridian-bank/policies/export",
                "meridian-bank",
                "yaml",
                vec!["Bank bot", "Bank docs"],
            ),
            ("another tenant's key", &startup_key, "/api/v1/policies/export?format=json", "rocketlane", "json", vec!["Startup everything"]),
            ("a tenant with no policies", &hospital, "/api/v1/policies/export", "st-aurelia-health", "yaml", vec![]),
            (
                "the platform admin, for a tenant",
                &owner,
                "/api/v1/tenants/meridian-bank/policies/export?format=json",
                "meridian-bank",
                "json",
                vec!["Bank bot", "Bank docs"],
            ),
            ("support, for a tenant", &support, "/api/v1/tenants/rocketlane/policies/export", "rocketlane", "yaml", vec!["Startup everything"]),
            ("the platform admin, the platform's", &owner, "/api/v1/platform/policies/export", "platform", "yaml", vec!["Guardrails"]),
            ("support, the platform's as JSON", &support, "/api/v1/platform/policies/export?format=json", "platform", "json", vec!["Guardrails"]),
        ];
        for (what, auth, path, label, format, expected) in checks {
            let reply = api.get(path, auth).await;
            assert_eq!(reply.status, OK, "{what}: {}", reply.body);
            let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            assert_eq!(header("content-type"), format!("application/{format}"), "{what}");
            assert_eq!(header("content-disposition"), format!("attachment; filename=\"charter-{label}-policies.{format}\""), "{what}: a download");
            assert_eq!(reply.body.trim_start().starts_with('{'), format == "json", "{what}: the body is {format}: {}", reply.body);
            let bundle = charter_policy::PolicyBundle::parse(&reply.body).unwrap_or_else(|err| panic!("{what}: the export parses back: {err}\n{}", reply.body));
            assert_eq!(bundle.format, charter_policy::BUNDLE_FORMAT, "{what}");
            assert_eq!(bundle.owner, label, "{what}");
            let mut names: Vec<&str> = bundle.policies.iter().map(|p| p.name.as_str()).collect();
            names.sort_unstable();
            assert_eq!(names, expected, "{what}");
            assert!(bundle.policies.iter().all(|p| p.id.is_empty() && p.version == 0), "{what}: ids and versions stay behind");
            for name in EVERY_EXPORTED_NAME.iter().filter(|name| !expected.contains(name)) {
                assert!(!reply.body.contains(name), "{what}: `{name}` belongs to someone else: {}", reply.body);
            }
        }
        // An approver is not a policy reader, here as in the console.
        let refused = api.get("/api/v1/policies/export", &manager).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(!refused.to_string().contains("Bank docs"), "{refused}");
    })
    .await;
}

#[tokio::test]
async fn an_exported_file_imports_back_unchanged() {
    each_database(|api| async move {
        export_fixture(&api).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let bank = api.store.tenant_by_slug("meridian-bank").await.unwrap().unwrap();
        let actor = charter_store::Actor { id: BANK_ADMIN.into(), kind: charter_store::ActorKind::User, tenant_id: Some(bank.id.clone()) };
        for format in ["yaml", "json"] {
            let reply = api.get(&format!("/api/v1/policies/export?format={format}"), &bank_admin).await;
            let bundle = charter_policy::PolicyBundle::parse(&reply.body).unwrap();
            let changes = api.store.import_policies(&actor, &charter_store::Owner::Tenant(bank.id.clone()), &bundle.policies, true, true).await.unwrap();
            let actions: Vec<(&str, &str)> = changes.iter().map(|c| (c.action.as_str(), c.name.as_str())).collect();
            assert_eq!(actions.len(), 2, "{format}: {actions:?}");
            assert!(actions.iter().all(|(action, _)| *action == "unchanged"), "{format}: the export says exactly what is stored: {actions:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn exports_refuse_bad_formats_strangers_and_other_tenants() {
    each_database(|api| async move {
        export_fixture(&api).await;
        let bank_key = api.tenant_key(BANK_ADMIN).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let manager = api.sign_in(BANK_MANAGER).await;
        let owner = api.sign_in(OWNER).await;
        let support = api.sign_in(SUPPORT).await;
        let anonymous = Auth::Anonymous;
        // Each check: who, where, and the status and error code of the refusal.
        let checks: Vec<(&str, &Auth, &str, StatusCode, &str)> = vec![
            ("an unknown format", &bank_key, "/api/v1/policies/export?format=xml", StatusCode::BAD_REQUEST, "bad_request"),
            ("an unknown format on the platform's", &owner, "/api/v1/platform/policies/export?format=csv", StatusCode::BAD_REQUEST, "bad_request"),
            (
                "an unknown format for a named tenant",
                &owner,
                "/api/v1/tenants/meridian-bank/policies/export?format=XML",
                StatusCode::BAD_REQUEST,
                "bad_request",
            ),
            ("an unknown parameter", &bank_key, "/api/v1/policies/export?format=yaml&tenant=rocketlane", StatusCode::BAD_REQUEST, "bad_request"),
            ("no credentials", &anonymous, "/api/v1/policies/export", StatusCode::UNAUTHORIZED, "unauthenticated"),
            ("no credentials, the platform's", &anonymous, "/api/v1/platform/policies/export", StatusCode::UNAUTHORIZED, "unauthenticated"),
            ("a tenant key, the platform's", &bank_key, "/api/v1/platform/policies/export", StatusCode::NOT_FOUND, "not_found"),
            ("a tenant admin, the platform's", &bank_admin, "/api/v1/platform/policies/export", StatusCode::NOT_FOUND, "not_found"),
            ("a tenant member, the platform's", &manager, "/api/v1/platform/policies/export?format=json", StatusCode::NOT_FOUND, "not_found"),
            ("a tenant admin, another tenant's", &bank_admin, "/api/v1/tenants/rocketlane/policies/export", StatusCode::NOT_FOUND, "not_found"),
            ("a tenant key, another tenant's", &bank_key, "/api/v1/tenants/rocketlane/policies/export?format=json", StatusCode::NOT_FOUND, "not_found"),
            ("platform staff, an unknown tenant", &owner, "/api/v1/tenants/no-such-tenant/policies/export", StatusCode::NOT_FOUND, "not_found"),
            ("platform staff without naming a tenant", &support, "/api/v1/policies/export", StatusCode::BAD_REQUEST, "bad_request"),
        ];
        for (what, auth, path, status, code) in checks {
            let reply = api.get(path, auth).await;
            let error = reply.expect_error(status, code);
            assert!(reply.headers.get("content-disposition").is_none(), "{what}: a refusal is no download");
            assert!(!reply.body.contains("Startup everything") && !reply.body.contains("Bank docs"), "{what}: nothing leaks: {}", reply.body);
            if path.contains("format=") && status == StatusCode::BAD_REQUEST && !path.contains('&') {
                assert_eq!(error["field"], "format", "{what}: the parameter is named");
            }
        }
        // A tenant admin naming another tenant gets what a missing tenant gets.
        let foreign = api.get("/api/v1/tenants/rocketlane/policies/export", &bank_admin).await;
        let missing = api.get("/api/v1/tenants/no-such-tenant/policies/export", &bank_admin).await;
        assert_eq!(foreign.status, missing.status);
        assert_eq!(foreign.json()["error"]["code"], missing.json()["error"]["code"]);
    })
    .await;
}

/// A policy nested deeper than its stored form could be read back, or past a size limit, is
/// refused with 422 naming the field; nothing is written, and the tenant's decisions and lists
/// keep working (before the limit, such a policy was saved and every decision answered 500).
#[tokio::test]
async fn policies_past_the_size_limits_are_refused_and_nothing_is_written() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let key = api.tenant_key(BANK_ADMIN).await;
        let before = api.policies(&admin).await.len();
        let mut when = json!({"args.amount": {"gt": 1}});
        for _ in 0..122 {
            when = json!({ "not": when });
        }
        let deep = json!({"name": "Deep", "scope": "tenant", "rules": [{"tool": "expense.submit", "when": when, "effect": "deny"}]});
        let error = api.post("/api/v1/policies", &admin, &deep).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        assert_eq!(error["field"], "rules[0].when", "{error}");
        assert!(text(&error["message"]).contains("at most 32"), "{error}");
        let long_name = json!({"name": "n".repeat(201), "scope": "tenant", "rules": []});
        let error = api.post("/api/v1/policies", &admin, &long_name).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        assert_eq!(error["field"], "name", "{error}");
        assert_eq!(api.policies(&admin).await.len(), before, "nothing was written");
        let decision = api.decide(&key, json!({"tool": "expense.submit", "args": {"amount": 100}, "agent": "expense-bot"})).await;
        assert!(decision["receipt_id"].is_string(), "the tenant's decisions still work: {decision}");
    })
    .await;
}
