//! Recording a decision through `/api/v1/decide`: the facts the server owns, masks that never
//! reach the database in the clear, and quota that only answered decisions use up. On SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::StatusCode;
use charter_store::Backend;
use serde_json::{json, Value};

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// Every column of one stored row, as text, so a test can look for a value anywhere in it.
async fn stored_row(api: &Api, table: &str, id: &str) -> String {
    let sql = match table {
        "receipts" => "SELECT args, decision, principal FROM receipts WHERE id = $1",
        "approvals" => "SELECT args, matched, principal FROM approvals WHERE id = $1",
        other => panic!("no such table {other}"),
    };
    let (a, b, c): (String, String, String) = sqlx::query_as(sql).bind(id).fetch_one(api.store.pool()).await.unwrap();
    format!("{a}\n{b}\n{c}")
}

/// The hospital's policy of the demo: patient notes are masked, exports need the privacy officer.
const PHI_MASKING: &str = "name: HIPAA PHI masking
scope: tenant
rules:
  - tool: \"patients.*\"
    effect: allow
    mask: [result.ssn, result.diagnosis, args.notes]
  - tool: patients.export
    effect: require_approval
    approvers: [privacy_officer]
";

#[tokio::test]
async fn masked_arguments_are_stored_masked_in_receipts_and_approvals() {
    each_database(|api| async move {
        let key = api.tenant_key(HOSPITAL_ADMIN).await;
        api.create_policy(&key, PHI_MASKING).await;
        let secret = "suspected tuberculosis, isolate";
        // `patients.*` masks `args.notes`; an export also needs the privacy officer.
        let read = api.decide(&key, json!({ "tool": "patients.read", "agent": "intake-bot", "args": { "id": "p-1", "notes": secret } })).await;
        assert_eq!(read["decision"], "allow", "{read}");
        let export = api.decide(&key, json!({ "tool": "patients.export", "args": { "id": "p-1", "notes": secret, "format": "csv" } })).await;
        assert_eq!(export["decision"], "require_approval", "{export}");

        for decided in [&read, &export] {
            let row = stored_row(&api, "receipts", text(&decided["receipt_id"])).await;
            assert!(!row.contains(secret), "the receipt holds the note in the clear: {row}");
            assert!(row.contains(r#""notes":"[masked]""#), "the receipt says the note was masked: {row}");
            // Through the API too, for support staff and for the tenant.
            let support = api.sign_in(SUPPORT).await;
            let shown = api.get(&format!("/api/v1/tenants/st-aurelia-health/receipts/{}", text(&decided["receipt_id"])), &support).await.expect(StatusCode::OK);
            assert_eq!(shown["args"]["notes"], "[masked]", "{shown}");
            assert_eq!(shown["args"]["id"], "p-1", "only the masked field is hidden: {shown}");
        }
        let approval_id = text(&export["approval_id"]);
        let row = stored_row(&api, "approvals", approval_id).await;
        assert!(!row.contains(secret), "the approval holds the note in the clear: {row}");
        let approval = api.get(&format!("/api/v1/approvals/{approval_id}"), &key).await.expect(StatusCode::OK);
        assert_eq!(approval["args"]["notes"], "[masked]", "{approval}");

        // The digest is of the call as made, so the approval still binds to the exact arguments.
        let unmasked = json!({ "format": "csv", "id": "p-1", "notes": secret });
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(unmasked.to_string().as_bytes()));
        assert_eq!(approval["args_digest"], digest.as_str());
    })
    .await;
}

#[tokio::test]
async fn the_server_owns_time_ip_and_the_tenant_in_the_context() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(&key, &allow_policy("Everything", &["*"])).await;
        for owned in ["tenant_id", "tenant", "request_id", "time", "hour", "weekday", "date", "ip"] {
            let body = json!({ "tool": "docs.read", "context": { owned: 0, "channel": "slack" } });
            let error = api.post("/api/v1/decide", &key, &body).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
            assert_eq!(error["field"], format!("context.{owned}"), "{error}");
            assert!(text(&error["message"]).contains("set by the server"), "{error}");
        }
        assert!(api.receipts(&key, "").await.is_empty(), "a refused request leaves no receipt");

        // A platform rule on the hours of the day holds whatever the caller sends: the server's
        // clock, in the tenant's time zone, is what the rule reads.
        let owner = api.sign_in(OWNER).await;
        let hour = |zone: &str| charter_core::derive_clock(charter_store::now_ms(), zone).unwrap().hour;
        let now_utc = hour("UTC");
        api.create_platform_policy(
            &owner,
            &format!("name: Quiet hour\nscope: platform\nrules:\n  - tool: \"payments.*\"\n    when: {{ context.hour: {now_utc}, context.weekday: {{ exists: true }}, context.date: {{ exists: true }} }}\n    effect: deny\n    reason: no payments this hour\n"),
        )
        .await;
        let denied = api.decide(&key, json!({ "tool": "payments.send" })).await;
        // The hour may turn between reading it here and deciding; then the rule no longer matches.
        if hour("UTC") == now_utc {
            assert_eq!(denied["decision"], "deny", "{denied}");
            assert!(text(&denied["reason"]).ends_with("no payments this hour"), "{denied}");
        }
        // In a time zone where it is another hour, the same rule does not apply.
        let admin = api.sign_in(BANK_ADMIN).await;
        let zone = if hour("Asia/Tokyo") != hour("UTC") { "Asia/Tokyo" } else { "America/New_York" };
        let settings = api.send(Call::new(axum::http::Method::PUT, "/api/v1/settings", &admin).json(&json!({ "time_zone": zone }))).await.expect(StatusCode::OK);
        assert_eq!(settings["time_zone"], zone);
        let allowed = api.decide(&key, json!({ "tool": "payments.send" })).await;
        if hour(zone) != hour("UTC") {
            assert_eq!(allowed["decision"], "allow", "{allowed}");
        }
        let bad = api.send(Call::new(axum::http::Method::PUT, "/api/v1/settings", &admin).json(&json!({ "time_zone": "Mars/Olympus" }))).await.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(bad["field"], "time_zone", "{bad}");
        // A key is not a person: it does not change its tenant's settings.
        api.send(Call::new(axum::http::Method::PUT, "/api/v1/settings", &key).json(&json!({ "time_zone": "UTC" }))).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        // Another tenant's admin cannot name the bank.
        let startup = api.sign_in(STARTUP_ADMIN).await;
        api.send(Call::new(axum::http::Method::PUT, "/api/v1/tenants/meridian-bank/settings", &startup).json(&json!({ "time_zone": "UTC" })))
            .await
            .expect_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(api.get("/api/v1/settings", &admin).await.expect(StatusCode::OK)["time_zone"], zone, "the refused calls changed nothing");

        // The context the rule saw is on the receipt, with the server's facts.
        let receipt = api.get(&format!("/api/v1/receipts/{}", text(&allowed["receipt_id"])), &key).await.expect(StatusCode::OK);
        assert_eq!(receipt["verdict"], allowed["decision"]);
    })
    .await;
}

/// A trigger that makes the database refuse every receipt, as a full disk or a lost connection
/// would.
async fn refuse_receipts(api: &Api, refuse: bool) {
    let pool = api.store.pool();
    match (api.store.backend(), refuse) {
        (Backend::Sqlite, true) => {
            sqlx::query("CREATE TRIGGER refuse_receipts BEFORE INSERT ON receipts BEGIN SELECT RAISE(ABORT, 'refused'); END").execute(pool).await.unwrap();
        }
        (Backend::Sqlite, false) => {
            sqlx::query("DROP TRIGGER refuse_receipts").execute(pool).await.unwrap();
        }
        (Backend::Postgres, true) => {
            sqlx::query("CREATE FUNCTION refuse_receipts() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql")
                .execute(pool)
                .await
                .unwrap();
            sqlx::query("CREATE TRIGGER refuse_receipts BEFORE INSERT ON receipts FOR EACH ROW EXECUTE FUNCTION refuse_receipts()")
                .execute(pool)
                .await
                .unwrap();
        }
        (Backend::Postgres, false) => {
            sqlx::query("DROP TRIGGER refuse_receipts ON receipts").execute(pool).await.unwrap();
            sqlx::query("DROP FUNCTION refuse_receipts()").execute(pool).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_decision_that_could_not_be_recorded_uses_up_no_quota() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        // One call a day per agent.
        api.create_policy(
            &key,
            "name: One a day\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n    rate_limit: { calls: 1, per: 1d, per_key: agent }\n",
        )
        .await;
        let call = json!({ "tool": "docs.read", "agent": "reader" });

        refuse_receipts(&api, true).await;
        let refused = api.post("/api/v1/decide", &key, &call).await.expect_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert!(text(&refused["message"]).contains("nothing was decided"), "{refused}");
        refuse_receipts(&api, false).await;
        assert!(api.receipts(&key, "").await.is_empty(), "no receipt for the unanswered call");

        // The unanswered call left the day's one call unused.
        assert_eq!(api.decide(&key, call.clone()).await["decision"], "allow");
        let second = api.decide(&key, call).await;
        assert_eq!(second["decision"], "deny", "the answered call did count: {second}");
        assert!(text(&second["reason"]).contains("rate limit"), "{second}");
    })
    .await;
}

#[tokio::test]
async fn a_decision_that_could_not_be_recorded_spends_no_budget() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        api.create_policy(
            &key,
            "name: Daily payments\nscope: tenant\nrules:\n  - tool: payments.send\n    effect: allow\n    budget: { sum: args.amount, max: 1000, per: 1d }\n",
        )
        .await;
        let call = json!({ "tool": "payments.send", "args": { "amount": 600 } });

        refuse_receipts(&api, true).await;
        api.post("/api/v1/decide", &key, &call).await.expect_error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        refuse_receipts(&api, false).await;

        // The unanswered 600 was given back: 600 fits, and then the next 600 does not.
        assert_eq!(api.decide(&key, call.clone()).await["decision"], "allow");
        let second = api.decide(&key, call).await;
        assert_eq!(second["decision"], "deny", "{second}");
        assert_eq!(second["basis"], "budget", "{second}");
        assert!(text(&second["reason"]).contains("600 spent in this window, this call 600, 400 left"), "{second}");
    })
    .await;
}

/// A bank policy whose decisions have every part of an explanation: matched and decisive rules,
/// near misses, a cap, an approval and a mask.
const EXPLAINED: &str = "name: Expenses explained
scope: tenant
rules:
  - tool: expense.submit
    effect: allow
    limit: { args.amount: { max: 50000 } }
    mask: [args.card]
    reason: expenses are allowed up to the cap
  - tool: expense.submit
    when: { args.amount: { gt: 5000 } }
    effect: require_approval
    approvers: [manager]
  - tool: expense.submit
    when: { args.currency: { in: [XTS] } }
    effect: deny
  - tool: \"expense.*\"
    when: { principal.roles: { contains: auditor } }
    effect: allow
";

#[tokio::test]
async fn receipts_keep_decisions_compact_and_read_back_what_the_caller_was_told() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        let admin = api.sign_in(BANK_ADMIN).await;
        let policy = api.create_policy(&key, EXPLAINED).await;
        let calls = [
            json!({ "tool": "expense.submit", "agent": "filer", "args": { "amount": 300, "currency": "EUR", "card": "4111 1111" } }),
            json!({ "tool": "expense.submit", "agent": "filer", "args": { "amount": 7000, "currency": "EUR" }, "principal": { "roles": ["staff"] } }),
            json!({ "tool": "expense.submit", "args": { "amount": 90000, "currency": "USD" } }),
            json!({ "tool": "expense.submit", "args": { "amount": 10, "currency": "XTS" } }),
        ];
        let mut told = Vec::new();
        for call in calls {
            let answer = api.decide(&key, call).await;
            let id = text(&answer["receipt_id"]).to_owned();
            let (stored,): (String,) = sqlx::query_as("SELECT decision FROM receipts WHERE id = $1").bind(&id).fetch_one(api.store.pool()).await.unwrap();
            assert!(stored.starts_with(r#"{"compact":1"#), "the receipt keeps the decision compact: {stored}");
            let explained = serde_json::to_string(&[&answer["matched"], &answer["near_misses"], &answer["limits"], &answer["obligations"]]).unwrap();
            assert!(stored.len() < explained.len() + text(&answer["reason"]).len(), "the compact form is smaller ({stored} against {answer})");
            told.push((id, answer));
        }
        // Policies change and a release goes out; each receipt still reads as its decision was.
        api.update_policy(&key, text(&policy["id"]), policy["version"].as_i64().unwrap(), &EXPLAINED.replace("gt: 5000", "gt: 100"))
            .await
            .expect(StatusCode::OK);
        let owner = api.sign_in(OWNER).await;
        api.create_platform_policy(&owner, "name: Late\nscope: platform\nrules:\n  - tool: \"expense.*\"\n    limit: { args.amount: { max: 1000000 } }\n")
            .await;
        for (id, answer) in &told {
            let receipt = api.get(&format!("/api/v1/receipts/{id}"), &admin).await.expect(StatusCode::OK);
            let decision = &receipt["decision"];
            for part in ["reason", "basis", "matched", "near_misses", "limits", "obligations", "approvers"] {
                assert_eq!(decision[part], answer[part], "the receipt's `{part}` is what the caller was told: {receipt}");
            }
            assert_eq!(receipt["policy_version"], answer["policy_version"]);
        }
        assert!(!told[0].1["near_misses"].as_array().unwrap().is_empty(), "the first call has near misses to compare");
        assert_eq!(told[0].1["obligations"][0]["field"], "args.card");
        assert_eq!(told[1].1["decision"], "require_approval");
        assert_eq!(told[2].1["basis"], "cap");
        assert_eq!(told[3].1["basis"], "explicit_deny");
        // The listing reads them back the same way.
        let listed = api.receipts(&admin, "").await;
        for (id, answer) in &told {
            let receipt = listed.iter().find(|r| r["id"] == id.as_str()).unwrap();
            assert_eq!(receipt["decision"]["near_misses"], answer["near_misses"]);
        }
    })
    .await;
}
