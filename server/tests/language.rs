//! The policy language's newer constructs through the HTTP API (issue 13): requirements
//! (`only_when`) over the facts the server owns, templates filled from them, lower bounds and
//! required arguments, save-time warnings, and bad input naming its field. Every test runs against
//! SQLite and then PostgreSQL, on the demo data.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

const QUERIES: &str = "name: Queries stay in the tenant
scope: tenant
rules:
  - tool: database.query
    only_when:
      args.query: { contains: \"tenant = '${context.tenant}'\" }
    effect: allow
    reason: queries must filter on the caller's tenant
";

#[tokio::test]
async fn a_template_is_filled_from_the_facts_the_server_owns() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, QUERIES).await;

        let own = api.decide(&key, json!({ "tool": "database.query", "args": { "query": "select * from t where tenant = 'meridian-bank'" } })).await;
        assert_eq!(own["decision"], "allow", "{own}");

        let other = api.decide(&key, json!({ "tool": "database.query", "args": { "query": "select * from t where tenant = 'rocketlane'" } })).await;
        assert_eq!(other["decision"], "deny", "{other}");
        assert_eq!(other["basis"], "requirement", "{other}");
        let reason = text(&other["reason"]);
        assert!(reason.contains("queries must filter on the caller's tenant"), "{reason}");
        assert!(reason.contains("(\"tenant = 'meridian-bank'\")"), "the reason shows the filled-in template: {reason}");

        // The fact comes from the key, never from the request: a caller cannot set it.
        let forged = api
            .send(Call::new(Method::POST, "/api/v1/decide", &key).json(&json!({
                "tool": "database.query",
                "args": { "query": "tenant = 'rocketlane'" },
                "context": { "tenant": "rocketlane" }
            })))
            .await;
        assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", forged.body);

        // Another tenant's key is not bound by this tenant's requirement.
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        let theirs = api.decide(&startup, json!({ "tool": "database.query", "args": { "query": "anything" } })).await;
        assert_ne!(theirs["basis"], "requirement", "{theirs}");
    })
    .await;
}

#[tokio::test]
async fn a_requirement_on_the_servers_clock_holds_whatever_the_caller_sends() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        // No hour lies between 25 and 26, so the requirement denies whenever the test runs, and
        // the reason quotes the hour the server read from its own clock.
        api.create_policy(&key, "name: Never\nscope: tenant\nrules:\n  - tool: data.export\n    only_when: { context.hour: { between: [25, 26] } }\n    effect: allow\n    reason: exports are closed\n").await;
        let decision = api.decide(&key, json!({ "tool": "data.export" })).await;
        assert_eq!(decision["decision"], "deny", "{decision}");
        assert_eq!(decision["basis"], "requirement", "{decision}");
        assert!(text(&decision["reason"]).contains("`context.hour` is "), "the server's hour is quoted: {decision}");

        let forged = api.send(Call::new(Method::POST, "/api/v1/decide", &key).json(&json!({ "tool": "data.export", "context": { "hour": 25 } }))).await;
        let error = forged.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "context.hour", "{error}");
    })
    .await;
}

#[tokio::test]
async fn lower_bounds_and_required_arguments_deny_naming_the_rule() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(
            &key,
            "name: Payments\nscope: tenant\nrules:\n  - tool: payments.send\n    limit: { args.amount: { min: 1, max: 10000, required: true } }\n  - tool: payments.send\n    effect: allow\n",
        )
        .await;
        for (args, expected, words) in [
            (json!({ "amount": 500 }), "allow", ""),
            (json!({ "amount": -500 }), "deny", "under the minimum of 1 set by tenant policy `Payments` rule 1"),
            (json!({ "to": "bob" }), "deny", "`args.amount` is missing, but tenant policy `Payments` rule 1 requires it"),
            (json!({ "amount": 20000 }), "deny", "over the cap of 10000"),
        ] {
            let decision = api.decide(&key, json!({ "tool": "payments.send", "args": args })).await;
            assert_eq!(decision["decision"], expected, "{args}: {decision}");
            assert!(text(&decision["reason"]).contains(words), "{args}: {decision}");
            if expected == "deny" {
                assert_eq!(decision["basis"], "cap", "{decision}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn saves_answer_the_languages_warnings_with_their_paths() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        let saved = api
            .create_policy(
                &key,
                "name: Mistakes\nscope: tenant\nrules:\n  - tool: \"get_.*\"\n    effect: require_approval\n    approvers: [manager]\n  - tool: expense.submit\n    when:\n      principal.role: { eq: manager }\n      args.amount: { gt: 20K }\n      args.note: { eq: \"{{ context.tenant }}\" }\n    effect: require_approval\n    approvers: [cfo]\n",
            )
            .await;
        let warnings: Vec<(String, String)> = saved["warnings"]
            .as_array()
            .expect("warnings on save")
            .iter()
            .map(|w| (text(&w["path"]).to_owned(), text(&w["message"]).to_owned()))
            .collect();
        let has = |path: &str, words: &str| warnings.iter().any(|(p, m)| p == path && m.contains(words));
        assert!(has("rules[0].tool", "write `get_*` (a glob) or `^get_` (a regex)"), "{warnings:?}");
        assert!(has("rules[1].when.principal.role", "did you mean `principal.roles`?"), "{warnings:?}");
        assert!(has("rules[1].when.args.amount", "write the number 20000"), "{warnings:?}");
        assert!(has("rules[1].when.args.note", "to fill in a field write `${context.tenant}`"), "{warnings:?}");

        // A platform policy has no parents, but the same mistakes are pointed out.
        let owner = api.sign_in(OWNER).await;
        let platform = api.create_platform_policy(&owner, "name: Platform reads\nscope: platform\nrules:\n  - tool: \"list_.*\"\n    effect: allow\n").await;
        let warnings = platform["warnings"].as_array().expect("warnings on a platform save");
        assert!(warnings.iter().any(|w| w["path"] == "rules[0].tool"), "{platform}");
    })
    .await;
}

#[tokio::test]
async fn bad_new_constructs_are_422_naming_the_field_and_write_nothing() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        let audit_before = api.audit(&key).await;
        let head = "name: Bad\nscope: tenant\nrules:\n  - tool: data.export\n";
        for (rest, field, words) in [
            ("    only_when: { args.x: 1 }\n    effect: deny\n", "rules[0].only_when", "does not go with `effect: deny`"),
            ("    only_when: { context.hour: { between: [9] } }\n", "rules[0].only_when.context.hour.between", "two bounds"),
            ("    only_when: { args.to: { type: text } }\n", "rules[0].only_when.args.to.type", "unknown type `text`"),
            ("    only_when: { args.q: { contains: \"${tenant}\" } }\n", "rules[0].only_when.args.q.contains", "must start with `args.`"),
            ("    limit: { args.amount: { min: 10, max: 5 } }\n", "rules[0].limit.args.amount", "no value could pass"),
        ] {
            let reply = api.send(Call::new(Method::POST, "/api/v1/policies", &key).yaml(&format!("{head}{rest}"))).await;
            let error = reply.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
            assert_eq!(error["field"], field, "{error}");
            assert!(text(&error["message"]).contains(words), "{error}");
        }
        let unquoted =
            api.send(Call::new(Method::POST, "/api/v1/policies", &key).yaml("name: Bad\nscope: tenant\nrules:\n  - tool: *.execute\n    effect: deny\n")).await;
        let error = unquoted.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy");
        assert!(text(&error["message"]).contains("quote patterns that start with `*`"), "{error}");

        assert!(api.policies(&key).await.is_empty(), "nothing was saved");
        assert_eq!(api.audit(&key).await, audit_before, "nothing was audited");
    })
    .await;
}

#[tokio::test]
async fn a_budget_adds_up_across_calls_per_tenant_and_says_what_is_left() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        api.create_platform_policy(
            &owner,
            "name: Platform spending\nscope: platform\nrules:\n  - tool: \"payments.*\"\n    effect: allow\n    budget: { sum: args.amount, max: 100000, per: 1d, per_key: tenant }\n",
        )
        .await;
        let bank = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&bank, "name: Bank spending\nscope: tenant\nrules:\n  - tool: \"payments.*\"\n    budget: { sum: args.amount, max: 5000, per: 1d }\n").await;
        let pay = |amount: i64| json!({ "tool": "payments.send", "args": { "amount": amount } });

        let first = api.decide(&bank, pay(3000)).await;
        assert_eq!(first["decision"], "allow", "{first}");
        let budget = first["limits"].as_array().unwrap().iter().find(|l| l["kind"] == "budget" && l["max"] == 5000.0).cloned().expect("the tenant's budget is listed");
        assert_eq!(budget["spent"], 0.0, "{budget}");
        assert_eq!(budget["amount"], 3000.0, "{budget}");

        let over = api.decide(&bank, pay(3000)).await;
        assert_eq!(over["decision"], "deny", "{over}");
        assert_eq!(over["basis"], "budget", "{over}");
        assert!(text(&over["reason"]).contains("the budget of 5000 per 1d per tenant on `args.amount` set by tenant policy `Bank spending` rule 1 would be exceeded: 3000 spent in this window, this call 3000, 2000 left"), "{over}");
        assert_eq!(api.decide(&bank, pay(2000)).await["decision"], "allow", "what is left still fits");

        // Another tenant counts on its own total, under the platform's budget only.
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        let theirs = api.decide(&startup, pay(9000)).await;
        assert_eq!(theirs["decision"], "allow", "{theirs}");

        // A budget above the platform's is refused at save time, naming the platform rule.
        let generous = "name: Generous\nscope: tenant\nrules:\n  - tool: payments.send\n    budget: { sum: args.amount, max: 500000, per: 1d }\n";
        let error = api.send(Call::new(Method::POST, "/api/v1/policies", &startup).yaml(generous)).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "delegation");
        assert_eq!(error["field"], "rules[0].budget.max", "{error}");
        assert!(text(&error["message"]).contains("Platform spending"), "{error}");
    })
    .await;
}

const LAB: &str = "name: Lab results
scope: tenant
rules:
  - tool: \"lab.*\"
    effect: allow
  - tool: lab.share
    when: { session.called: lab.read }
    effect: require_approval
    approvers: [privacy]
    reason: sharing after reading results needs the privacy officer
";

#[tokio::test]
async fn session_rules_read_what_earlier_calls_of_the_same_session_did() {
    each_database(|api| async move {
        let hospital = api.tenant_key(HOSPITAL_ADMIN).await;
        api.create_policy(&hospital, LAB).await;
        let call = |tool: &str, session: &str| json!({ "tool": tool, "session": session });

        let before = api.decide(&hospital, call("lab.share", "s1")).await;
        assert_eq!(before["decision"], "allow", "nothing was read in the session yet: {before}");
        assert_eq!(api.decide(&hospital, call("lab.read", "s1")).await["decision"], "allow");
        let after = api.decide(&hospital, call("lab.share", "s1")).await;
        assert_eq!(after["decision"], "require_approval", "{after}");
        assert_eq!(after["approvers"], json!(["privacy"]), "{after}");
        assert_eq!(api.decide(&hospital, call("lab.share", "s2")).await["decision"], "allow", "another session read nothing");
        let without = api.decide(&hospital, json!({ "tool": "lab.share" })).await;
        assert_eq!(without["decision"], "allow", "a call without a session has no history: {without}");

        // The same session id in another tenant is another session.
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        api.create_policy(&startup, LAB).await;
        assert_eq!(api.decide(&startup, call("lab.share", "s1")).await["decision"], "allow");

        // A bad session id names the field: 422 for a string out of bounds, 400 for another type.
        for (session, status, words) in [
            (json!(""), StatusCode::UNPROCESSABLE_ENTITY, "must be 1 to 200 characters"),
            (json!("x".repeat(201)), StatusCode::UNPROCESSABLE_ENTITY, "must be 1 to 200 characters"),
            (json!(7), StatusCode::BAD_REQUEST, "expected a string"),
        ] {
            let reply = api.send(Call::new(Method::POST, "/api/v1/decide", &hospital).json(&json!({ "tool": "lab.share", "session": session }))).await;
            assert_eq!(reply.status, status, "{}", reply.body);
            assert_eq!(reply.json()["error"]["field"], "session", "{}", reply.body);
            assert!(reply.body.contains(words), "{}", reply.body);
        }
    })
    .await;
}

#[tokio::test]
async fn an_approver_role_nobody_in_the_tenant_holds_is_warned_about() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        let saved = api
            .create_policy(
                &key,
                "name: Big expenses\nscope: tenant\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: 20000 } }\n    effect: require_approval\n    approvers: [cfo, CFO officer]\n",
            )
            .await;
        let warnings = saved["warnings"].as_array().expect("warnings on save");
        let about: Vec<&Value> = warnings.iter().filter(|w| text(&w["message"]).contains("approver role")).collect();
        assert_eq!(about.len(), 1, "only the role nobody holds: {saved}");
        assert_eq!(about[0]["path"], "rules[0].approvers[1]", "{saved}");
        let message = text(&about[0]["message"]);
        assert!(message.contains("no user of this tenant holds the approver role `CFO officer`"), "{message}");
        assert!(message.contains("`cfo`"), "the roles users do hold are named: {message}");

        // Another tenant's roles do not count: the hospital's users hold none of the bank's roles.
        let hospital = api.tenant_key(HOSPITAL_ADMIN).await;
        let theirs = api.create_policy(&hospital, "name: Expenses\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: require_approval\n    approvers: [cfo]\n").await;
        assert!(theirs["warnings"].as_array().unwrap().iter().any(|w| w["path"] == "rules[0].approvers[0]"), "{theirs}");
    })
    .await;
}
