//! Regression tests of the security assessment's findings (issue 12), through the real router on
//! SQLite and PostgreSQL: policies that could stall the server, agent identity, and per-key limits.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use std::sync::mpsc;

use api_support::*;
use axum::http::{Method, StatusCode};
use charter_store::HeavyWork;
use serde_json::{json, Value};

const OK: StatusCode = StatusCode::OK;
const CREATED: StatusCode = StatusCode::CREATED;
const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("a string, not {value}"))
}

/// A tenant policy of `count` rules, rule `n` allowing `tool` when `args.x` matches `pattern` with
/// `{n}` replaced by `n` (so that every regex is a different one).
fn regex_policy(name: &str, count: usize, pattern: &str) -> Value {
    let rules: Vec<Value> = (0..count)
        .map(|n| json!({ "tool": "docs.read", "when": { "args.x": { "matches": pattern.replace("{n}", &n.to_string()) } }, "effect": "allow" }))
        .collect();
    json!({ "name": name, "scope": "tenant", "rules": rules })
}

// =============================================================================================
// Finding 1: regexes
// =============================================================================================

#[tokio::test]
async fn a_policy_of_a_thousand_regexes_is_refused_naming_the_limit_and_writes_nothing() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        // The assessment's policy: a thousand Unicode `\w{20}`, about a megabyte compiled each.
        let heavy = regex_policy("Heavy", 1_000, r"\w{20}");
        let error = api.post("/api/v1/policies", &admin, &heavy).await.expect_error(UNPROCESSABLE, "invalid_policy");
        assert!(text(&error["message"]).contains("compile to more than 4.0 MiB in all (the limit per policy)"), "{error}");
        assert_eq!(error["field"], "rules[3].when.args.x.matches", "{error}");

        // Many small regexes: the 101st is refused.
        let many = regex_policy("Many", 101, "^item_{n}$");
        let error = api.post("/api/v1/policies", &admin, &many).await.expect_error(UNPROCESSABLE, "invalid_policy");
        assert!(text(&error["message"]).contains("a policy may hold at most 100 regexes"), "{error}");
        assert_eq!(error["field"], "rules[100].when.args.x.matches", "{error}");

        // An overlong regex is refused before it is compiled.
        let long = regex_policy("Long", 1, &"a".repeat(1_001));
        let error = api.post("/api/v1/policies", &admin, &long).await.expect_error(UNPROCESSABLE, "invalid_policy");
        assert!(text(&error["message"]).contains("a regex may have at most 1000 characters, not 1001"), "{error}");

        assert!(api.policies(&admin).await.is_empty(), "nothing was saved");
        api.post("/api/v1/policies", &admin, &regex_policy("Fits", 100, "^item_{n}$")).await.expect(CREATED);
    })
    .await;
}

#[tokio::test]
async fn a_tenant_holds_at_most_five_hundred_regexes_across_its_policies() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        for n in 0..5 {
            let policy = regex_policy(&format!("Part {n}"), 100, &format!("^part{n}_{{n}}$"));
            api.post("/api/v1/policies", &admin, &policy).await.expect(CREATED);
        }
        let one_more = regex_policy("One more", 1, "^one_more$");
        let error = api.post("/api/v1/policies", &admin, &one_more).await.expect_error(UNPROCESSABLE, "invalid");
        assert_eq!(error["field"], "rules", "{error}");
        assert!(text(&error["message"]).contains("the tenant's policies would hold 501 regexes; a tenant may hold at most 500"), "{error}");
        assert_eq!(api.policies(&admin).await.len(), 5, "nothing more was saved");

        // Replacing a policy counts its new regexes instead of its old ones.
        let first = api.policies(&admin).await.into_iter().find(|p| p["name"] == "Part 0").unwrap();
        let replaced = api
            .send(Call::new(Method::PUT, format!("/api/v1/policies/{}", text(&first["id"])), &admin).if_match(1).json(&regex_policy(
                "Part 0",
                100,
                "^again_{n}$",
            )))
            .await;
        replaced.expect(OK);
        // Another tenant's regexes are its own.
        let startup = api.sign_in(STARTUP_ADMIN).await;
        api.post("/api/v1/policies", &startup, &regex_policy("Startup", 100, "^startup_{n}$")).await.expect(CREATED);
    })
    .await;
}

/// Takes every permit of `lane` until the returned senders are dropped.
async fn hold_every_permit(lane: &HeavyWork) -> Vec<mpsc::Sender<()>> {
    let mut holders = Vec::new();
    while lane.available() > 0 {
        let (release, held) = mpsc::channel::<()>();
        let taker = lane.clone();
        let before = lane.available();
        tokio::spawn(async move { taker.run(move || held.recv().is_ok()).await });
        holders.push(release);
        while lane.available() == before {
            tokio::task::yield_now().await;
        }
    }
    holders
}

#[tokio::test]
async fn documents_wait_in_their_own_lane_while_other_tenants_keep_deciding() {
    each_database(|api| async move {
        let startup_key = api.tenant_key(STARTUP_ADMIN).await;
        api.create_policy(&startup_key, &allow_policy("Everything", &["*"])).await;
        api.decide(&startup_key, json!({ "tool": "docs.read" })).await;
        let admin = api.sign_in(BANK_ADMIN).await;

        // Every permit of the lane for submitted documents is busy (as with several heavy
        // policies being validated at once).
        let lane = api.store.documents().clone();
        let holders = hold_every_permit(&lane).await;
        assert_eq!(lane.available(), 0);
        let submitted = tokio::spawn({
            let api = api.clone();
            let admin = admin.clone();
            async move { api.post("/api/v1/policies", &admin, &regex_policy("Queued", 3, "^queued_{n}$")).await }
        });

        // Another tenant's decisions do not wait for that lane.
        for _ in 0..5 {
            let decision = api.decide(&startup_key, json!({ "tool": "docs.read" })).await;
            assert_eq!(decision["decision"], "allow", "{decision}");
        }
        assert!(!submitted.is_finished(), "the submitted policy waits for a free permit");

        drop(holders);
        submitted.await.unwrap().expect(CREATED);
    })
    .await;
}

// =============================================================================================
// Finding 3: agent identity
// =============================================================================================

const PAYMENTS_ALLOWED: &str = "name: Payments
scope: tenant
rules:
  - tool: \"payments.*\"
    effect: allow
  - tool: email.send
    effect: allow
    rate_limit: { calls: 1, per: 1m, per_key: agent }
";

/// Written with the agent's name in another spelling: it is stored in its one spelling.
const SUPPORT_BOT_POLICY: &str = "name: Support bot
scope: agent
agent: \" Support-Bot\"
rules:
  - tool: payments.transfer
    effect: deny
    reason: the support bot moves no money
";

#[tokio::test]
async fn every_spelling_of_an_agent_meets_that_agents_policy_and_limits() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, PAYMENTS_ALLOWED).await;
        let saved = api.create_policy(&key, SUPPORT_BOT_POLICY).await;
        assert_eq!(saved["agent"], "support-bot", "{saved}");

        for agent in ["support-bot", "Support-Bot", "support-bot ", " SUPPORT-BOT", "ｓｕｐｐｏｒｔ-bot"] {
            let decision = api.decide(&key, json!({ "tool": "payments.transfer", "agent": agent })).await;
            assert_eq!(decision["decision"], "deny", "{agent:?}: {decision}");
            assert!(text(&decision["reason"]).contains("the support bot moves no money"), "{agent:?}: {decision}");
        }
        let receipts = api.receipts(&key, "").await;
        assert!(receipts.iter().all(|r| r["agent"] == "support-bot"), "receipts hold the one spelling: {receipts:?}");
        assert_eq!(api.receipts(&key, "agent=Support-Bot%20").await.len(), receipts.len(), "and a filter finds them in any spelling");

        // Hidden characters are refused, naming the field, and leave no receipt.
        for agent in ["support-bot\u{200b}", "support\u{202e}bot", "support\nbot", "", "   "] {
            let error = api.post("/api/v1/decide", &key, &json!({ "tool": "payments.transfer", "agent": agent })).await.expect_error(UNPROCESSABLE, "invalid");
            assert_eq!(error["field"], "agent", "{agent:?}: {error}");
        }
        assert_eq!(api.receipts(&key, "").await.len(), receipts.len(), "no refused call wrote a receipt");

        // A per-agent limit counts every spelling together.
        let first = api.decide(&key, json!({ "tool": "email.send", "agent": "Mailer" })).await;
        assert_eq!(first["decision"], "allow", "{first}");
        let second = api.decide(&key, json!({ "tool": "email.send", "agent": "mailer " })).await;
        assert_eq!(second["decision"], "deny", "{second}");

        // The previewer and what-if agree.
        let admin = api.sign_in(BANK_ADMIN).await;
        let error = api.post("/api/v1/policies", &admin, &json!({ "name": "Hidden", "scope": "agent", "agent": "bot\u{200b}", "rules": [] })).await;
        let error = error.expect_error(UNPROCESSABLE, "invalid_policy");
        assert_eq!(error["field"], "agent", "{error}");
    })
    .await;
}

/// Creates a key for the admin's tenant bound to `agents`.
async fn bound_key(api: &Api, admin: &Auth, agents: &[&str]) -> (Value, Auth) {
    let created = api.post("/api/v1/keys", admin, &json!({ "name": "bound", "agents": agents })).await.expect(CREATED);
    let secret = text(&created["secret"]).to_owned();
    (created, Auth::Key(secret))
}

#[tokio::test]
async fn a_key_bound_to_an_agent_acts_for_that_agent_whatever_the_request_says() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let policies_key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&policies_key, PAYMENTS_ALLOWED).await;
        api.create_policy(&policies_key, SUPPORT_BOT_POLICY).await;

        let (created, key) = bound_key(&api, &admin, &["Support-Bot", "support-bot "]).await;
        assert_eq!(created["agents"], json!(["support-bot"]), "bound in the one spelling, once: {created}");
        let listed = api.get("/api/v1/keys", &admin).await.expect(OK);
        assert!(listed.as_array().unwrap().iter().any(|k| k["id"] == created["id"] && k["agents"] == json!(["support-bot"])), "{listed}");

        // No agent named: the key's.
        let decision = api.decide(&key, json!({ "tool": "payments.transfer" })).await;
        assert_eq!(decision["decision"], "deny", "{decision}");
        assert!(text(&decision["reason"]).contains("the support bot moves no money"), "{decision}");
        // The key's agent in another spelling: the same.
        let decision = api.decide(&key, json!({ "tool": "payments.transfer", "agent": "SUPPORT-BOT" })).await;
        assert!(text(&decision["reason"]).contains("the support bot moves no money"), "{decision}");
        // Another agent: denied before any policy, with a receipt that says so.
        let decision = api.decide(&key, json!({ "tool": "payments.transfer", "agent": "treasury-bot" })).await;
        assert_eq!(decision["decision"], "deny", "{decision}");
        assert!(text(&decision["reason"]).contains("agent `treasury-bot` is not one this API key acts for"), "{decision}");
        let receipt = api.get(&format!("/api/v1/receipts/{}", text(&decision["receipt_id"])), &admin).await.expect(OK);
        assert_eq!(receipt["agent"], "treasury-bot", "{receipt}");

        // A key for several agents: each call names one of them.
        let (_, shared) = bound_key(&api, &admin, &["support-bot", "treasury-bot"]).await;
        let error = api.post("/api/v1/decide", &shared, &json!({ "tool": "payments.transfer" })).await.expect_error(UNPROCESSABLE, "invalid");
        assert_eq!(error["field"], "agent", "{error}");
        assert!(text(&error["message"]).contains("support-bot, treasury-bot"), "{error}");
        let decision = api.decide(&shared, json!({ "tool": "payments.transfer", "agent": "Treasury-Bot" })).await;
        assert_eq!(decision["decision"], "allow", "{decision}");

        // Bad bindings are refused naming the entry.
        let error =
            api.post("/api/v1/keys", &admin, &json!({ "name": "bad", "agents": ["ok-bot", "bad\u{200b}bot"] })).await.expect_error(UNPROCESSABLE, "invalid");
        assert_eq!(error["field"], "agents[1]", "{error}");
        let too_many: Vec<String> = (0..51).map(|n| format!("bot-{n}")).collect();
        let error = api.post("/api/v1/keys", &admin, &json!({ "name": "bad", "agents": too_many })).await.expect_error(UNPROCESSABLE, "invalid");
        assert_eq!(error["field"], "agents", "{error}");
    })
    .await;
}

#[tokio::test]
async fn a_tenant_can_require_every_key_to_be_bound_to_agents() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let unbound = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&unbound, &allow_policy("Everything", &["*"])).await;
        let (_, bound) = bound_key(&api, &admin, &["support-bot"]).await;

        let settings = api.get("/api/v1/settings", &admin).await.expect(OK);
        assert_eq!(settings["agent_keys"], "optional", "{settings}");
        // Neither a key nor support staff nor another tenant's admin may change it.
        let require = json!({ "agent_keys": "required" });
        api.send(Call::new(Method::PUT, "/api/v1/settings", &unbound).json(&require)).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        let support = api.sign_in(SUPPORT).await;
        let reply = api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/settings", &support).json(&require)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.body);
        let startup = api.sign_in(STARTUP_ADMIN).await;
        let reply = api.send(Call::new(Method::PUT, "/api/v1/tenants/meridian-bank/settings", &startup).json(&require)).await;
        assert!(matches!(reply.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{} {}", reply.status, reply.body);
        let error = api.send(Call::new(Method::PUT, "/api/v1/settings", &admin).json(&json!({ "agent_keys": "always" }))).await;
        error.expect_error(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(api.get("/api/v1/settings", &admin).await.expect(OK)["agent_keys"], "optional");

        let changed = api.send(Call::new(Method::PUT, "/api/v1/settings", &admin).json(&require)).await.expect(OK);
        assert_eq!(changed["agent_keys"], "required", "{changed}");
        assert_eq!(changed["time_zone"], "UTC", "the other setting stays: {changed}");
        assert!(api.audit(&admin).await.iter().any(|entry| entry["action"] == "tenant.agent_keys"), "the change is audited");

        // The unbound key asks for nothing more; the bound one still does.
        let error = api.post("/api/v1/decide", &unbound, &json!({ "tool": "docs.read" })).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        assert!(text(&error["message"]).contains("requires API keys bound to agents"), "{error}");
        assert_eq!(api.decide(&bound, json!({ "tool": "docs.read" })).await["decision"], "allow");
        // No unbound key can be made.
        let error = api.post("/api/v1/keys", &admin, &json!({ "name": "unbound" })).await.expect_error(UNPROCESSABLE, "invalid");
        assert_eq!(error["field"], "agents", "{error}");
        // Other tenants are not affected.
        let startup_key = api.tenant_key(STARTUP_ADMIN).await;
        api.create_policy(&startup_key, &allow_policy("Everything", &["*"])).await;
        assert_eq!(api.decide(&startup_key, json!({ "tool": "docs.read" })).await["decision"], "allow");
    })
    .await;
}

#[tokio::test]
async fn rate_limits_can_be_counted_per_key() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let first = api.tenant_key(BANK_ADMIN).await;
        let (_, second) = bound_key(&api, &admin, &["support-bot"]).await;
        let policy = "name: Per key
scope: tenant
rules:
  - tool: email.send
    effect: allow
    rate_limit: { calls: 2, per: 1m, per_key: key }
";
        api.create_policy(&first, policy).await;
        let verdicts = |decisions: Vec<Value>| decisions.iter().map(|d| text(&d["decision"]).to_owned()).collect::<Vec<_>>();
        let mut by_first = Vec::new();
        for agent in ["a", "b", "c"] {
            by_first.push(api.decide(&first, json!({ "tool": "email.send", "agent": agent })).await);
        }
        assert_eq!(verdicts(by_first), ["allow", "allow", "deny"], "the key's third call in a minute is over its limit, whatever the agent");
        let by_second = vec![api.decide(&second, json!({ "tool": "email.send" })).await];
        assert_eq!(verdicts(by_second), ["allow"], "another key has its own count");

        // The key is the server's fact, never the caller's.
        let error = api.post("/api/v1/decide", &first, &json!({ "tool": "email.send", "context": { "api_key": "chk_other" } })).await;
        let error = error.expect_error(UNPROCESSABLE, "invalid");
        assert_eq!(error["field"], "context.api_key", "{error}");
    })
    .await;
}

// =============================================================================================
// Finding 6: limits on every field
// =============================================================================================

#[tokio::test]
async fn long_fields_are_refused_naming_the_field_and_write_nothing() {
    each_database(|api| async move {
        use charter_store::{NewTenant, NewUser, Role, StoreError};
        let field_of = |err: StoreError| match err {
            StoreError::Invalid { field, message } => (field, message),
            other => panic!("expected an invalid field, got {other}"),
        };
        let tenant = |name: String, plan: String| NewTenant { slug: "long-fields".into(), name, plan, policy_quota: None };
        let err = api.store.create_tenant(tenant("n".repeat(201), "pro".into())).await.unwrap_err();
        assert_eq!(field_of(err), ("name", "must be at most 200 characters".to_owned()));
        let err = api.store.create_tenant(tenant("Long".into(), "p".repeat(101))).await.unwrap_err();
        assert_eq!(field_of(err), ("plan", "must be at most 100 characters".to_owned()));
        assert!(api.store.tenant_by_slug("long-fields").await.unwrap().is_none(), "no tenant was made");

        let bank = api.store.tenant_by_slug("meridian-bank").await.unwrap().unwrap();
        let user = |display_name: String, password: String, approver_roles: Vec<String>| NewUser {
            username: "long@meridian-bank.example".into(),
            display_name,
            password,
            role: Role::TenantMember,
            tenant_id: Some(bank.id.clone()),
            approver_roles,
        };
        let cases = [
            (user("d".repeat(201), "long enough".into(), vec![]), "display_name"),
            (user("Long".into(), "p".repeat(1025), vec![]), "password"),
            (user("Long".into(), "long enough".into(), vec!["r".repeat(101)]), "approver_roles"),
            (user("Long".into(), "long enough".into(), (0..21).map(|n| format!("role-{n}")).collect()), "approver_roles"),
        ];
        for (new, field) in cases {
            let err = api.store.create_user(new).await.unwrap_err();
            assert_eq!(field_of(err).0, field);
        }

        // An approver's comment.
        let key = api.tenant_key(BANK_ADMIN).await;
        let policy = "name: Approvals\nscope: tenant\nrules:\n  - tool: payments.send\n    effect: require_approval\n    approvers: [manager]\n";
        api.create_policy(&key, policy).await;
        let asked = api.decide(&key, json!({ "tool": "payments.send" })).await;
        let approval = text(&asked["approval_id"]).to_owned();
        let manager = api.sign_in(BANK_MANAGER).await;
        let resolve = |comment: String| json!({ "resolution": "approve", "comment": comment });
        let path = format!("/api/v1/approvals/{approval}/resolve");
        let error = api.post(&path, &manager, &resolve("c".repeat(2_001))).await.expect_error(UNPROCESSABLE, "invalid");
        assert_eq!(error["field"], "comment", "{error}");
        let pending = api.get(&format!("/api/v1/approvals/{approval}"), &manager).await.expect(OK);
        assert_eq!(pending["status"], "pending", "the refused vote was not counted: {pending}");
        api.post(&path, &manager, &resolve("c".repeat(2_000))).await.expect(OK);
    })
    .await;
}

// =============================================================================================
// Finding 8: what tenants learn about platform rules
// =============================================================================================

const GUARDRAILS: &str = "name: Guardrails
scope: platform
rules:
  - tool: \"system.*\"
    effect: deny
    reason: no shell access
  - tool: \"payments.*\"
    when: { args.amount: { gt: 10000 } }
    effect: deny
    reason: large payments go through the bank
  - tool: \"*\"
    limit: { args.amount: { max: 50000 } }
";

const FRAUD_SIGNALS: &str = "name: Fraud signals
scope: platform
confidential: true
rules:
  - tool: wire.send
    when: { args.country: { in: [XX] } }
    effect: deny
    reason: this transfer cannot be made
";

#[tokio::test]
async fn tenants_see_platform_rules_as_boundaries_and_confidential_ones_only_by_their_reason() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let guardrails = api.create_platform_policy(&owner, GUARDRAILS).await;
        let fraud = api.create_platform_policy(&owner, FRAUD_SIGNALS).await;
        assert_eq!(fraud["document"]["confidential"], true, "{fraud}");
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, &allow_policy("Everything", &["*"])).await;
        // Only a platform policy can be confidential.
        let reply = api.send(Call::new(Method::POST, "/api/v1/policies", &key).yaml("name: Secret\nscope: tenant\nconfidential: true\n")).await;
        assert_eq!(reply.expect_error(UNPROCESSABLE, "invalid_policy")["field"], "confidential");

        let secrets = |body: &str| {
            for secret in ["Guardrails", "Fraud signals", text(&guardrails["id"]), text(&fraud["id"])] {
                assert!(!body.contains(secret), "a tenant never sees `{secret}`: {body}");
            }
        };
        // A platform boundary: its tool match, effect and reason, not its policy.
        let reply = api.post("/api/v1/decide", &key, &json!({ "tool": "system.exec" })).await;
        let denied = reply.expect(OK);
        secrets(&reply.body);
        assert_eq!(denied["reason"], "denied by a platform boundary (`system.*` deny): no shell access", "{denied}");
        assert_eq!(denied["matched"][0]["rule"]["scope"], "platform");
        assert_eq!(denied["matched"][0]["rule"]["policy_name"], "");
        assert_eq!(denied["matched"][0]["tool"], "system.*");
        // Its conditions are not shown, not even as a near miss; its caps are.
        let reply = api.post("/api/v1/decide", &key, &json!({ "tool": "payments.send", "args": { "amount": 500 } })).await;
        let allowed = reply.expect(OK);
        secrets(&reply.body);
        assert_eq!(allowed["decision"], "allow", "{allowed}");
        assert!(allowed["near_misses"].as_array().unwrap().is_empty(), "{allowed}");
        assert_eq!(allowed["limits"][0]["max"], 50000.0, "{allowed}");
        let reply = api.post("/api/v1/decide", &key, &json!({ "tool": "expense.submit", "args": { "amount": 60000 } })).await;
        secrets(&reply.body);
        assert!(text(&reply.json()["reason"]).contains("set by a platform boundary"), "{}", reply.body);
        // A confidential boundary: only that it denied, and why.
        let reply = api.post("/api/v1/decide", &key, &json!({ "tool": "wire.send", "args": { "country": "XX" } })).await;
        let denied = reply.expect(OK);
        secrets(&reply.body);
        assert!(!reply.body.contains("wire.send`"), "not even its tool match: {}", reply.body);
        assert!(!reply.body.contains("country"), "nor its conditions: {}", reply.body);
        assert_eq!(denied["reason"], "denied by a platform boundary: this transfer cannot be made", "{denied}");

        // The receipts read the same to the tenant, and in full to the platform.
        let admin = api.sign_in(BANK_ADMIN).await;
        let receipt_id = text(&denied["receipt_id"]).to_owned();
        let reply = api.get(&format!("/api/v1/receipts/{receipt_id}"), &admin).await;
        secrets(&reply.body);
        assert_eq!(reply.expect(OK)["reason"], "denied by a platform boundary: this transfer cannot be made");
        let reply = api.get("/api/v1/receipts?limit=50", &admin).await;
        secrets(&reply.body);
        let reply = api.get(&format!("/api/v1/tenants/meridian-bank/receipts/{receipt_id}"), &owner).await;
        assert!(reply.expect(OK)["reason"].as_str().unwrap().contains("platform policy `Fraud signals` rule 1"), "{}", reply.body);

        // A tenant rule that collides with a confidential platform rule is refused without naming it.
        let reply = api
            .send(Call::new(Method::POST, "/api/v1/policies", &admin).yaml("name: Wires\nscope: tenant\nrules:\n  - tool: wire.send\n    effect: allow\n"))
            .await;
        secrets(&reply.body);
    })
    .await;
}
