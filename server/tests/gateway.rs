//! The MCP gateway through the real router, with a real upstream MCP server on a port: the
//! platform connects it as a source, a tenant's agents list and call its tools through
//! `/mcp/gateway`, and Charter decides every call. What reaches the upstream is checked on the
//! upstream's side: allowed calls only, approved calls once approved, never a denied one; a
//! masked field of its answer never reaches the agent. Bad input, other tenants, failures and
//! timeouts. SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;
mod gateway_support;

use api_support::*;
use axum::http::StatusCode;
use gateway_support::{start_upstream, Upstream};
use serde_json::{json, Value};

async fn connect(api: &Api, session: &Auth, upstream: &Upstream, name: &str) -> Reply {
    console(
        api,
        session,
        "tools/connect_upstream",
        &[("name", name), ("endpoint", &upstream.endpoint), ("token", ""), ("tool_prefix", "crm."), ("enabled", "true")],
    )
    .await
}

/// One JSON-RPC request to the gateway.
async fn gateway(api: &Api, auth: &Auth, method: &str, params: Value) -> Reply {
    rpc_at(api, "/mcp/gateway", auth, method, params).await
}

async fn listed(api: &Api, key: &Auth) -> Vec<String> {
    let reply = gateway(api, key, "tools/list", json!({})).await.expect(StatusCode::OK);
    reply["result"]["tools"].as_array().unwrap_or_else(|| panic!("{reply}")).iter().map(|tool| tool["name"].as_str().unwrap().to_owned()).collect()
}

/// A `tools/call` through the gateway: its result, or its JSON-RPC error.
async fn call(api: &Api, key: &Auth, tool: &str, arguments: Value) -> Result<Value, Value> {
    let reply = gateway(api, key, "tools/call", json!({ "name": tool, "arguments": arguments })).await.expect(StatusCode::OK);
    match reply.get("error") {
        Some(error) => Err(error.clone()),
        None => Ok(reply["result"].clone()),
    }
}

const BANK_GATEWAY_POLICY: &str = "
name: CRM through the gateway
scope: tenant
rules:
  - tool: crm.lookup
    effect: allow
    mask: [result.ssn]
  - tool: crm.delete
    effect: deny
    reason: customers are never deleted by agents
  - tool: crm.send
    effect: allow
  - tool: crm.send
    when: { args.amount: { gt: 1000 } }
    effect: require_approval
    approvers: [manager]
    reason: payments over $1,000 need a manager
  - tool: crm.slow
    effect: allow
  - tool: crm.broken
    effect: allow
";

#[tokio::test]
async fn the_gateway_forwards_what_is_allowed_masks_answers_and_holds_for_approval() {
    each_database(|api| async move {
        let upstream = start_upstream().await;
        let owner = api.sign_in(OWNER).await;
        let source = connect(&api, &owner, &upstream, "Test CRM").await.expect(StatusCode::OK);
        assert_eq!(source["endpoint"], upstream.endpoint.as_str(), "{source}");
        assert_eq!(source["tool_count"], 5, "{source}");
        let admin = api.sign_in(BANK_ADMIN).await;
        api.create_policy(&admin, BANK_GATEWAY_POLICY).await;
        let key = api.tenant_key(BANK_ADMIN).await;

        // Offered: what some call could be allowed for; never crm.delete, which is always denied.
        let names = listed(&api, &key).await;
        assert_eq!(names, ["crm.broken", "crm.lookup", "crm.send", "crm.slow"], "{names:?}");
        let list = gateway(&api, &key, "tools/list", json!({})).await.json();
        let lookup = list["result"]["tools"].as_array().unwrap().iter().find(|tool| tool["name"] == "crm.lookup").unwrap().clone();
        assert_eq!(lookup["inputSchema"]["properties"]["id"]["type"], "string", "the upstream's schema: {lookup}");

        // Allowed: forwarded under the upstream's own name, the SSN masked in every part of the answer.
        let answer = call(&api, &key, "crm.lookup", json!({ "id": "c-1" })).await.unwrap();
        assert_eq!(upstream.calls_of("lookup"), [json!({ "id": "c-1" })]);
        assert_eq!(answer["structuredContent"]["ssn"], "[masked]", "{answer}");
        assert_eq!(answer["structuredContent"]["name"], "Ada Lovelace");
        assert!(!answer.to_string().contains("123-45-6789"), "the SSN left the gateway: {answer}");
        assert!(text(&answer).contains("[withheld"), "a text that is not JSON is withheld: {answer}");
        // The digest of the answer joins the receipt just after the agent has its answer.
        let mut receipt = api.receipts(&key, "tool=crm.lookup").await[0].clone();
        for _ in 0..100 {
            if receipt["result_digest"].is_string() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            receipt = api.receipts(&key, "tool=crm.lookup").await[0].clone();
        }
        assert_eq!(receipt["verdict"], "allow");
        assert_eq!(receipt["result_digest"].as_str().map(str::len), Some(64), "{receipt}");

        // Denied: the upstream never hears of it, the agent is told why.
        let denied = call(&api, &key, "crm.delete", json!({ "id": "c-1" })).await.unwrap();
        assert_eq!(denied["isError"], true, "{denied}");
        assert!(text(&denied).contains("customers are never deleted by agents"), "{denied}");
        assert!(upstream.calls_of("delete").is_empty());
        assert_eq!(api.receipts(&key, "tool=crm.delete").await[0]["verdict"], "deny");

        // Held: the same call asks once, goes through once approved, and only once.
        let payment = json!({ "amount": 5000, "to": "acme" });
        let held = call(&api, &key, "crm.send", payment.clone()).await.unwrap();
        assert_ne!(held["isError"], true, "{held}");
        let approval_id = held["structuredContent"]["approval_id"].as_str().unwrap().to_owned();
        assert!(text(&held).contains(&approval_id) && text(&held).contains("manager"), "{held}");
        let again = call(&api, &key, "crm.send", payment.clone()).await.unwrap();
        assert_eq!(again["structuredContent"]["approval_id"], approval_id.as_str(), "no second request for the same call");
        assert!(upstream.calls_of("send").is_empty());
        let manager = api.sign_in(BANK_MANAGER).await;
        api.post(&format!("/api/v1/approvals/{approval_id}/resolve"), &manager, &json!({ "resolution": "approve" })).await.expect(StatusCode::OK);
        // Another amount is another call: it needs its own approval.
        let other = call(&api, &key, "crm.send", json!({ "amount": 6000, "to": "acme" })).await.unwrap();
        assert_ne!(other["structuredContent"]["approval_id"], approval_id.as_str(), "{other}");
        assert!(upstream.calls_of("send").is_empty());
        let through = call(&api, &key, "crm.send", json!({ "to": "acme", "amount": 5000 })).await.unwrap();
        assert_ne!(through["isError"], true, "{through}");
        assert_eq!(upstream.calls_of("send"), std::slice::from_ref(&payment));
        let approval = api.get(&format!("/api/v1/approvals/{approval_id}"), &key).await.expect(StatusCode::OK);
        assert!(approval["consumed_at"].as_i64().is_some(), "{approval}");
        let once_more = call(&api, &key, "crm.send", payment.clone()).await.unwrap();
        assert!(once_more["structuredContent"]["approval_id"].as_str().is_some_and(|id| id != approval_id), "an approval lets one call through: {once_more}");
        assert_eq!(upstream.calls_of("send").len(), 1);
        // A small payment needs no one.
        call(&api, &key, "crm.send", json!({ "amount": 10, "to": "acme" })).await.unwrap();
        assert_eq!(upstream.calls_of("send").len(), 2);

        // The upstream's own failure is an MCP error naming it.
        let failed = call(&api, &key, "crm.broken", json!({})).await.unwrap_err();
        assert!(failed["message"].as_str().unwrap().contains("Test CRM") && failed["message"].as_str().unwrap().contains("database is down"), "{failed}");
        // The operating figures count the upstream's calls by how they ended.
        let calls = &charter_store::metrics().upstream_calls;
        assert!(calls.with_label_values(&["Test CRM", "answered"]).get() >= 3);
        assert!(calls.with_label_values(&["Test CRM", "failed"]).get() >= 1);
    })
    .await;
}

#[tokio::test]
async fn an_upstream_that_does_not_answer_in_time_is_an_error_not_a_hang() {
    each_database(|api| async move {
        let api = Api::with_settings(api.store.clone(), &[("CHARTER_UPSTREAM_TIMEOUT_MS", "500")]).await;
        let upstream = start_upstream().await;
        let owner = api.sign_in(OWNER).await;
        connect(&api, &owner, &upstream, "Test CRM").await.expect(StatusCode::OK);
        let admin = api.sign_in(BANK_ADMIN).await;
        api.create_policy(&admin, BANK_GATEWAY_POLICY).await;
        let key = api.tenant_key(BANK_ADMIN).await;
        let started = std::time::Instant::now();
        let late = call(&api, &key, "crm.slow", json!({})).await.unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(4), "waited {:?}", started.elapsed());
        assert!(late["message"].as_str().unwrap().contains("did not answer within 0.5 s"), "{late}");
        assert!(charter_store::metrics().upstream_calls.with_label_values(&["Test CRM", "timeout"]).get() >= 1);
        // The decision was made and kept.
        assert_eq!(api.receipts(&key, "tool=crm.slow").await[0]["verdict"], "allow");
    })
    .await;
}

#[tokio::test]
async fn only_the_platform_connects_upstreams_and_bad_input_writes_nothing() {
    each_database(|api| async move {
        let upstream = start_upstream().await;
        let owner = api.sign_in(OWNER).await;
        let before = console(&api, &owner, "tools/catalog", &[]).await.expect(StatusCode::OK)["sources"].as_array().unwrap().len();
        let bad = |endpoint: &'static str, prefix: &'static str| {
            let (api, owner) = (&api, &owner);
            async move {
                console(
                    api,
                    owner,
                    "tools/connect_upstream",
                    &[("name", "Bad"), ("endpoint", endpoint), ("token", ""), ("tool_prefix", prefix), ("enabled", "true")],
                )
                .await
            }
        };
        let refused = bad("ftp://crm.example/mcp", "crm.").await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert!(refused.body.contains("endpoint"), "{}", refused.body);
        let prefix = bad("http://127.0.0.1:9/mcp", "crm .").await;
        assert!(prefix.body.contains("tool_prefix"), "{}", prefix.body);
        let unreachable = bad("http://127.0.0.1:9/mcp", "crm.").await;
        assert!(unreachable.status.is_client_error(), "{}", unreachable.body);
        assert!(unreachable.body.contains("cannot be reached"), "{}", unreachable.body);
        let charter_named = console(
            &api,
            &owner,
            "tools/connect_upstream",
            &[("name", "Ours"), ("endpoint", &upstream.endpoint), ("token", ""), ("tool_prefix", "charter."), ("enabled", "true")],
        )
        .await;
        assert!(charter_named.body.contains("tool_prefix"), "{}", charter_named.body);
        assert_eq!(console(&api, &owner, "tools/catalog", &[]).await.expect(StatusCode::OK)["sources"].as_array().unwrap().len(), before, "nothing written");
        assert_eq!(upstream.total(), 0);

        // Support and tenants may not connect one.
        for who in [SUPPORT, BANK_ADMIN] {
            let session = api.sign_in(who).await;
            let reply = connect(&api, &session, &upstream, "Sneaky").await;
            assert!(matches!(reply.status, StatusCode::FORBIDDEN), "{who}: {} {}", reply.status, reply.body);
        }

        // Connected once, with a token Charter presents and never shows; the same name twice is a
        // conflict.
        let pairs =
            [("name", "Test CRM"), ("endpoint", upstream.endpoint.as_str()), ("token", "s3cret-upstream-token"), ("tool_prefix", "crm."), ("enabled", "true")];
        let source = console(&api, &owner, "tools/connect_upstream", &pairs).await.expect(StatusCode::OK);
        assert_eq!(source["authenticated"], true, "{source}");
        assert!(upstream.authorizations.lock().unwrap().iter().any(|value| value == "Bearer s3cret-upstream-token"));
        assert_eq!(connect(&api, &owner, &upstream, "Test CRM").await.status, StatusCode::CONFLICT);

        // A refresh finds a new tool (switched off) and keeps the others' switches.
        upstream.extra.lock().unwrap().push("export".into());
        let id = source["id"].as_str().unwrap();
        let refreshed = console(&api, &owner, "tools/refresh_upstream", &[("id", id)]).await.expect(StatusCode::OK);
        assert_eq!(refreshed["added"], json!(["crm.export"]), "{refreshed}");
        let catalog = console(&api, &owner, "tools/catalog", &[]).await.expect(StatusCode::OK);
        let export = catalog["tools"].as_array().unwrap().iter().find(|tool| tool["name"] == "crm.export").unwrap().clone();
        assert_eq!(export["enabled"], false, "{export}");
        let bank = api.sign_in(BANK_ADMIN).await;
        assert_eq!(console(&api, &bank, "tools/refresh_upstream", &[("id", id)]).await.status, StatusCode::FORBIDDEN);
        let audit: Vec<(String, String)> =
            sqlx::query_as("SELECT action, after_json FROM audit_log WHERE target = 'tool_source:Test CRM' ORDER BY created_at, id")
                .fetch_all(api.store.pool())
                .await
                .unwrap();
        let actions: Vec<&str> = audit.iter().map(|(action, _)| action.as_str()).collect();
        assert_eq!(actions, ["tool_source.create", "tool_source.refresh"]);
        assert!(audit.iter().all(|(_, after)| !after.contains("s3cret")), "{audit:?}");
        let support = api.sign_in(SUPPORT).await;
        let seen = console(&api, &support, "tools/catalog", &[]).await;
        assert!(seen.status == StatusCode::OK && !seen.body.contains("s3cret") && catalog.to_string().find("s3cret").is_none(), "{}", seen.body);
    })
    .await;
}

#[tokio::test]
async fn other_tenants_keys_tokens_and_switches_are_respected() {
    each_database(|api| async move {
        let upstream = start_upstream().await;
        let owner = api.sign_in(OWNER).await;
        connect(&api, &owner, &upstream, "Test CRM").await.expect(StatusCode::OK);
        let admin = api.sign_in(BANK_ADMIN).await;
        api.create_policy(&admin, BANK_GATEWAY_POLICY).await;
        let bank = api.tenant_key(BANK_ADMIN).await;
        let startup = api.tenant_key(STARTUP_ADMIN).await;

        // No key, a wrong key, a console session: 401, nothing reaches the upstream.
        for auth in [Auth::Anonymous, Auth::Key("chk_not_a_key".into()), admin.clone()] {
            let reply = gateway(&api, &auth, "tools/list", json!({})).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
        }
        // The startup has no rule for these tools and a default of deny: nothing offered, and a
        // call is denied in its own receipts, never forwarded.
        assert!(listed(&api, &startup).await.is_empty());
        let denied = call(&api, &startup, "crm.lookup", json!({ "id": "c-1" })).await.unwrap();
        assert_eq!(denied["isError"], true, "{denied}");
        assert_eq!(upstream.total(), 0);
        assert_eq!(api.receipts(&startup, "tool=crm.lookup").await.len(), 1);
        assert!(api.receipts(&bank, "tool=crm.lookup").await.is_empty());

        // The bank's approval is no use to the startup.
        let held = call(&api, &bank, "crm.send", json!({ "amount": 5000 })).await.unwrap();
        let approval_id = held["structuredContent"]["approval_id"].as_str().unwrap().to_owned();
        let manager = api.sign_in(BANK_MANAGER).await;
        api.post(&format!("/api/v1/approvals/{approval_id}/resolve"), &manager, &json!({ "resolution": "approve" })).await.expect(StatusCode::OK);
        api.get(&format!("/api/v1/approvals/{approval_id}"), &startup).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        call(&api, &startup, "crm.send", json!({ "amount": 5000 })).await.unwrap();
        assert!(upstream.calls_of("send").is_empty());

        // The bank switches crm.lookup off: gone from the list, refused as not there.
        console(&api, &admin, "tools/switch", &[("tool", "crm.lookup"), ("on", "false")]).await.expect(StatusCode::OK);
        assert!(!listed(&api, &bank).await.contains(&"crm.lookup".to_owned()));
        let gone = call(&api, &bank, "crm.lookup", json!({ "id": "c-1" })).await.unwrap_err();
        assert_eq!(gone["code"], -32602, "{gone}");
        assert!(gone["message"].as_str().unwrap().contains("not available"), "{gone}");
        // A tool no upstream serves is not there either, and bad `_meta` names the field.
        assert_eq!(call(&api, &bank, "crm.nothing", json!({})).await.unwrap_err()["code"], -32602);
        let meta = gateway(&api, &bank, "tools/call", json!({ "name": "crm.send", "arguments": {}, "_meta": { "charter/principal": "boss" } })).await.json();
        assert!(meta["error"]["message"].as_str().unwrap().contains("_meta.charter/principal"), "{meta}");
        assert_eq!(upstream.calls_of("lookup").len(), 0);
    })
    .await;
}

#[tokio::test]
async fn an_approval_serves_its_own_key_and_the_roles_it_was_asked_of() {
    each_database(|api| async move {
        let upstream = start_upstream().await;
        let owner = api.sign_in(OWNER).await;
        connect(&api, &owner, &upstream, "Test CRM").await.expect(StatusCode::OK);
        let admin = api.sign_in(BANK_ADMIN).await;
        let policy = api.create_policy(&admin, BANK_GATEWAY_POLICY).await;
        let (first, second) = (api.tenant_key(BANK_ADMIN).await, api.tenant_key(BANK_ADMIN).await);
        let payment = json!({ "amount": 5000, "to": "acme" });
        let held = call(&api, &first, "crm.send", payment.clone()).await.unwrap();
        let approval_id = held["structuredContent"]["approval_id"].as_str().unwrap().to_owned();
        let manager = api.sign_in(BANK_MANAGER).await;
        api.post(&format!("/api/v1/approvals/{approval_id}/resolve"), &manager, &json!({ "resolution": "approve" })).await.expect(StatusCode::OK);

        // Another key of the same tenant, the same call: its own approval is asked for.
        let other = call(&api, &second, "crm.send", payment.clone()).await.unwrap();
        assert!(other["structuredContent"]["approval_id"].as_str().is_some_and(|id| id != approval_id), "{other}");
        // The policy now also wants the CFO: the manager's approval is not enough any more.
        let tightened = BANK_GATEWAY_POLICY.replace("approvers: [manager]", "approvers: [manager, cfo]");
        let id = policy["id"].as_str().unwrap();
        api.update_policy(&admin, id, policy["version"].as_i64().unwrap(), &tightened).await.expect(StatusCode::OK);
        let again = call(&api, &first, "crm.send", payment.clone()).await.unwrap();
        assert!(again["structuredContent"]["approval_id"].as_str().is_some_and(|id| id != approval_id), "{again}");
        assert!(upstream.calls_of("send").is_empty(), "nothing went through");
    })
    .await;
}

#[tokio::test]
async fn failures_tell_the_agent_what_it_needs_and_nothing_masked_or_internal() {
    each_database(|api| async move {
        let upstream = start_upstream().await;
        let owner = api.sign_in(OWNER).await;
        connect(&api, &owner, &upstream, "Test CRM").await.expect(StatusCode::OK);
        let admin = api.sign_in(BANK_ADMIN).await;
        api.create_policy(
            &admin,
            &BANK_GATEWAY_POLICY.replace("  - tool: crm.broken\n    effect: allow\n", "  - tool: crm.broken\n    effect: allow\n    mask: [result.detail]\n"),
        )
        .await;
        let key = api.tenant_key(BANK_ADMIN).await;
        // The upstream's own message could quote a masked field: withheld.
        let refused = call(&api, &key, "crm.broken", json!({})).await.unwrap_err();
        let message = refused["message"].as_str().unwrap();
        assert!(message.contains("Test CRM") && message.contains("withheld") && !message.contains("database is down"), "{refused}");

        // The upstream goes away: the agent learns that, not where it lives.
        call(&api, &key, "crm.lookup", json!({ "id": "c-1" })).await.unwrap();
        upstream.stop();
        for _ in 0..2 {
            let failed = call(&api, &key, "crm.lookup", json!({ "id": "c-2" })).await.unwrap_err();
            let message = failed["message"].as_str().unwrap();
            assert!(message.contains("Test CRM") && !message.contains("127.0.0.1"), "{failed}");
        }
        // The platform admin, reading its tools again, is told where it was looked for.
        let catalog = console(&api, &owner, "tools/catalog", &[]).await.expect(StatusCode::OK);
        let id = catalog["sources"].as_array().unwrap().iter().find(|source| source["name"] == "Test CRM").unwrap()["id"].as_str().unwrap().to_owned();
        let refresh = console(&api, &owner, "tools/refresh_upstream", &[("id", &id)]).await;
        assert!(refresh.body.contains("cannot be reached") && refresh.body.contains("127.0.0.1"), "{}", refresh.body);
    })
    .await;
}
