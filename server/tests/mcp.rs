//! Charter's MCP server (`/mcp`) through the real router, as an assistant's client speaks it:
//! JSON-RPC over Streamable HTTP with a tenant API key. The conversation of the product's sources
//! (validate, create the $5,000 manager tier, add the $25,000 CFO tier), bad input, and another
//! tenant's ids and keys. SQLite and PostgreSQL. The official TypeScript SDK drives the same
//! server in end2end/tests/mcp.spec.ts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::StatusCode;
use serde_json::{json, Value};

const MANAGER_TIER: &str = "name: Expenses over 5K\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n  - tool: expense.submit\n    when: { args.amount: { gt: 5000 } }\n    effect: require_approval\n    approvers: [manager]\n    reason: expenses over $5,000 need a manager\n";
const CFO_TIER: &str = "name: Expenses over 25K\nscope: tenant\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: 25000 } }\n    effect: require_approval\n    approvers: [cfo]\n    reason: expenses over $25,000 need the CFO\n";

fn refused(result: &Value) -> String {
    assert_eq!(result["isError"], true, "a refusal: {result}");
    text(result)
}

#[tokio::test]
async fn an_assistant_adds_two_approval_tiers_in_conversation() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        let admin = api.sign_in(BANK_ADMIN).await;

        let hello = rpc(
            &api,
            &key,
            "initialize",
            json!({ "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "test-assistant", "version": "1" } }),
        )
        .await;
        assert_eq!(hello.status, StatusCode::OK, "{}", hello.body);
        let hello = hello.json();
        assert_eq!(hello["result"]["serverInfo"]["name"], "charter", "{hello}");
        assert!(hello["result"]["capabilities"]["tools"].is_object());

        let listed = rpc(&api, &key, "tools/list", json!({})).await.json();
        let tools: Vec<&str> = listed["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        for expected in [
            "list_policies",
            "get_policy",
            "validate_policy",
            "create_policy",
            "update_policy",
            "delete_policy",
            "effective_policy",
            "what_if",
            "list_catalog_tools",
            "list_approvals",
            "list_receipts",
        ] {
            assert!(tools.contains(&expected), "{expected} is offered: {tools:?}");
        }
        // Voting needs a person holding an approver role; an API key is not one.
        assert!(!tools.contains(&"resolve_approval"), "{tools:?}");
        for tool in listed["result"]["tools"].as_array().unwrap() {
            assert!(tool["description"].as_str().unwrap().len() > 40, "{tool}");
        }
        let create = listed["result"]["tools"].as_array().unwrap().iter().find(|t| t["name"] == "create_policy").unwrap();
        assert_eq!(create["inputSchema"]["required"], json!(["document"]), "{create}");
        assert!(create["description"].as_str().unwrap().contains("live on the next decision"));

        // "Require approval for any expense over $5,000": checked, then saved.
        let checked = tool(&api, &key, "validate_policy", json!({ "document": MANAGER_TIER })).await;
        assert_eq!(checked["structuredContent"]["valid"], true, "{checked}");
        let created = tool(&api, &key, "create_policy", json!({ "document": MANAGER_TIER })).await;
        assert_eq!(created["isError"], false, "{created}");
        assert!(text(&created).contains("Customer Defined") && text(&created).contains("live now"), "{created}");
        assert_eq!(created["structuredContent"]["label"], "customer_defined");
        // "And also anything over $25,000 needs CFO approval."
        let second = tool(&api, &key, "create_policy", json!({ "document": CFO_TIER })).await;
        assert_eq!(second["isError"], false, "{second}");

        // Live at once: the decision API and the what-if agree.
        let big = api.decide(&key, json!({ "tool": "expense.submit", "args": { "amount": 30000 } })).await;
        assert_eq!(big["decision"], "require_approval");
        let approvers = big["approvers"].as_array().unwrap();
        assert!(approvers.contains(&json!("cfo")) && approvers.contains(&json!("manager")), "both tiers ask: {big}");
        let what_if =
            tool(&api, &key, "what_if", json!({ "tool": "expense.submit", "args": { "amount": 6000 }, "principal": { "user": "u-1", "roles": ["employee"] } }))
                .await;
        assert_eq!(what_if["structuredContent"]["verdict"], "require_approval", "{what_if}");
        assert!(text(&what_if).contains("held for approval") && text(&what_if).contains("$5,000"), "{what_if}");

        // Both are the tenant's own policies in the console's API, and the audit says how they came.
        let names: Vec<String> = api.policies(&admin).await.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
        assert!(names.contains(&"Expenses over 5K".to_owned()) && names.contains(&"Expenses over 25K".to_owned()), "{names:?}");
        let audit = api.audit(&admin).await;
        let entry = audit.iter().find(|e| e["action"] == "policy.create").expect("the creation is audited");
        assert!(entry["actor"].as_str().unwrap().contains("via MCP"), "{entry}");

        // Read, change with the version read, list, look at the effective rules and decisions.
        let id = created["structuredContent"]["id"].as_str().unwrap();
        let read = tool(&api, &key, "get_policy", json!({ "policy_id": id })).await;
        assert!(text(&read).contains("approvers:") && text(&read).contains("version 1"), "{read}");
        let raised = MANAGER_TIER.replace("gt: 5000", "gt: 7500").replace("$5,000", "$7,500");
        let updated = tool(&api, &key, "update_policy", json!({ "policy_id": id, "expected_version": 1, "document": raised })).await;
        assert_eq!(updated["structuredContent"]["version"], 2, "{updated}");
        let stale = tool(&api, &key, "update_policy", json!({ "policy_id": id, "expected_version": 1, "document": raised })).await;
        assert!(refused(&stale).contains("version 2"), "a stale version saves nothing: {stale}");
        let listed = tool(&api, &key, "list_policies", json!({})).await;
        assert_eq!(listed["structuredContent"]["policies"].as_array().unwrap().len(), 2, "{listed}");
        let effective = tool(&api, &key, "effective_policy", json!({ "agent": "expense-bot" })).await;
        assert!(text(&effective).contains("agent expense-bot"), "{effective}");
        let receipts = tool(&api, &key, "list_receipts", json!({ "verdict": "require_approval", "limit": 5 })).await;
        assert_eq!(receipts["structuredContent"]["receipts"].as_array().unwrap().len(), 1, "{receipts}");
        let approvals = tool(&api, &key, "list_approvals", json!({})).await;
        assert_eq!(approvals["structuredContent"]["approvals"][0]["status"], "pending", "{approvals}");
        let deleted = tool(&api, &key, "delete_policy", json!({ "policy_id": id, "expected_version": 2 })).await;
        assert_eq!(deleted["isError"], false, "{deleted}");
        assert_eq!(api.policies(&admin).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn bad_input_gets_a_refusal_that_names_it_and_nothing_is_written() {
    each_database(|api| async move {
        let key = api.tenant_key(BANK_ADMIN).await;
        let admin = api.sign_in(BANK_ADMIN).await;

        let unreadable = tool(&api, &key, "create_policy", json!({ "document": "name: X\nscope: tenant\nrules:\n  - tool: a.b\n    effect: maybe\n" })).await;
        let message = refused(&unreadable);
        assert!(message.contains("does not read") && message.contains("maybe"), "{message}");
        let checked = tool(&api, &key, "validate_policy", json!({ "document": "name: X\nscope: tenant\nrules:\n  - tool: a.b\n    effect: maybe\n" })).await;
        assert_eq!(checked["structuredContent"]["valid"], false);
        assert_eq!(checked["structuredContent"]["errors"][0]["line"], 5, "the line is named: {checked}");
        let platform = tool(&api, &key, "create_policy", json!({ "document": "name: Mine\nscope: platform\nrules:\n  - tool: a.b\n    effect: deny\n" })).await;
        assert!(refused(&platform).contains("scope"), "{platform}");
        let verdict = tool(&api, &key, "list_receipts", json!({ "verdict": "maybe" })).await;
        assert!(refused(&verdict).contains("verdict"));
        let limit = tool(&api, &key, "list_receipts", json!({ "limit": 1000 })).await;
        assert!(refused(&limit).contains("limit") && refused(&limit).contains("1000"));
        assert!(api.policies(&admin).await.is_empty(), "nothing was written");

        // A body past the API's 256 KiB is refused before anything reads it.
        let huge = rpc(&api, &key, "tools/call", json!({ "name": "validate_policy", "arguments": { "document": "#".repeat(300 * 1024) } })).await;
        assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.body);
        // Arguments that do not fit the schema are refused naming the field, for the assistant to fix.
        let missing = tool(&api, &key, "get_policy", json!({})).await;
        assert!(refused(&missing).contains("missing field `policy_id`"), "{missing}");
        let unexpected = tool(&api, &key, "list_policies", json!({ "tenant": "rocketlane" })).await;
        assert_eq!(unexpected["isError"], false, "a tool without arguments ignores them, and still lists only the caller's: {unexpected}");
        let unknown = rpc(&api, &key, "tools/call", json!({ "name": "drop_everything", "arguments": {} })).await.json();
        assert!(unknown.get("error").is_some() || unknown["result"]["isError"] == true, "{unknown}");
    })
    .await;
}

#[tokio::test]
async fn no_key_no_mcp_and_another_tenants_ids_are_not_found() {
    each_database(|api| async move {
        let bank = api.tenant_key(BANK_ADMIN).await;
        let startup = api.tenant_key(STARTUP_ADMIN).await;
        let bank_admin = api.sign_in(BANK_ADMIN).await;
        let created = tool(&api, &bank, "create_policy", json!({ "document": MANAGER_TIER })).await;
        let id = created["structuredContent"]["id"].as_str().unwrap().to_owned();

        for anonymous in [Auth::Anonymous, Auth::Header("Bearer not-a-key".into()), Auth::Header("Basic abc".into())] {
            let reply = rpc(&api, &anonymous, "tools/list", json!({})).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
            assert!(reply.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
        }
        // A signed-in browser session is not an MCP credential either.
        assert_eq!(rpc(&api, &bank_admin, "tools/list", json!({})).await.status, StatusCode::UNAUTHORIZED);

        // The startup's key: the bank's policy does not exist for it, and nothing of it changes.
        for (name, arguments) in [
            ("get_policy", json!({ "policy_id": id })),
            ("update_policy", json!({ "policy_id": id, "expected_version": 1, "document": CFO_TIER })),
            ("delete_policy", json!({ "policy_id": id, "expected_version": 1 })),
        ] {
            let result = tool(&api, &startup, name, arguments).await;
            let message = refused(&result);
            assert!(message.contains("not found") && !message.contains("Expenses over"), "{name}: {message}");
        }
        let listed = tool(&api, &startup, "list_policies", json!({})).await;
        assert!(!listed.to_string().contains("Expenses over 5K"), "{listed}");
        let bank_policy = api.get(&format!("/api/v1/policies/{id}"), &bank).await.expect(StatusCode::OK);
        assert_eq!(bank_policy["version"], 1, "untouched");
    })
    .await;
}
