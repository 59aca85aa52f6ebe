//! Tenant API keys with scopes: an agent's key asks for decisions and nothing more, a script's key
//! does what its scopes name, over the HTTP API, Charter's MCP server and the MCP gateway alike.
//! Bad scopes name the field; keys made without scopes keep every scope. SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::StatusCode;
use serde_json::{json, Value};

async fn key_with(api: &Api, admin: &Auth, scopes: Value) -> (Value, Auth) {
    let created = api.post("/api/v1/keys", admin, &json!({ "name": "scoped", "scopes": scopes })).await.expect(StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_owned();
    (created, Auth::Key(secret))
}

fn refused_for_want_of(reply: &Reply, scope: &str) {
    let error = reply.expect_error(StatusCode::FORBIDDEN, "forbidden");
    assert!(error["message"].as_str().unwrap().contains(scope), "{error}");
}

const POLICY: &str = "name: Scoped\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n";

#[tokio::test]
async fn a_key_does_what_its_scopes_name_and_nothing_else() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;

        // Left out, a key has every scope, as keys always had.
        let (all, _) = api.create_key_at("/api/v1/keys", &admin, "everything").await;
        assert_eq!(all["scopes"], json!(["decide", "policies:read", "policies:write", "records:read"]));

        // An agent's key: decisions and the approvals they asked for; no policies, no records.
        let (agent_view, agent) = key_with(&api, &admin, json!(["decide"])).await;
        assert_eq!(agent_view["scopes"], json!(["decide"]));
        assert_eq!(api.decide(&agent, json!({ "tool": "docs.read" })).await["decision"], "deny");
        refused_for_want_of(&api.get("/api/v1/policies", &agent).await, "policies:read");
        refused_for_want_of(&api.send(Call::new(axum::http::Method::POST, "/api/v1/policies", &agent).yaml(POLICY)).await, "policies:write");
        refused_for_want_of(&api.get("/api/v1/receipts", &agent).await, "records:read");
        refused_for_want_of(&api.get("/api/v1/audit", &agent).await, "records:read");

        // A script that reads policies: it cannot change them or ask for decisions.
        let (_, reader) = key_with(&api, &admin, json!(["policies:read"])).await;
        api.get("/api/v1/policies", &reader).await.expect(StatusCode::OK);
        refused_for_want_of(&api.send(Call::new(axum::http::Method::POST, "/api/v1/policies", &reader).yaml(POLICY)).await, "policies:write");
        refused_for_want_of(&api.post("/api/v1/decide", &reader, &json!({ "tool": "docs.read" })).await, "decide");

        // Policies as code with its audit trail.
        let (_, writer) = key_with(&api, &admin, json!(["records:read", "policies:write", "policies:write"])).await;
        api.create_policy(&writer, POLICY).await;
        api.get("/api/v1/audit", &writer).await.expect(StatusCode::OK);
        assert_eq!(api.decide(&agent, json!({ "tool": "docs.read" })).await["decision"], "allow");

        // The list shows each key's scopes.
        let listed = api.get("/api/v1/keys", &admin).await.expect(StatusCode::OK);
        let writer_row = listed.as_array().unwrap().iter().find(|key| key["scopes"] == json!(["policies:write", "records:read"]));
        assert!(writer_row.is_some(), "scopes are kept once each, in order: {listed}");
    })
    .await;
}

#[tokio::test]
async fn bad_scopes_are_named_and_no_key_is_made() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let before = api.get("/api/v1/keys", &admin).await.expect(StatusCode::OK).as_array().unwrap().len();
        let unknown = api.post("/api/v1/keys", &admin, &json!({ "name": "bad", "scopes": ["decide", "admin"] })).await;
        let error = unknown.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        assert_eq!(error["field"], "scopes[1]", "{error}");
        assert!(error["message"].as_str().unwrap().contains("policies:write"), "the choices are named: {error}");
        let none = api.post("/api/v1/keys", &admin, &json!({ "name": "bad", "scopes": [] })).await;
        assert_eq!(none.expect_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid")["field"], "scopes");
        let wrong_type = api.post("/api/v1/keys", &admin, &json!({ "name": "bad", "scopes": "decide" })).await;
        assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST, "{}", wrong_type.body);
        assert_eq!(api.get("/api/v1/keys", &admin).await.expect(StatusCode::OK).as_array().unwrap().len(), before);
    })
    .await;
}

#[tokio::test]
async fn mcp_offers_a_key_the_tools_its_scopes_allow() {
    each_database(|api| async move {
        let admin = api.sign_in(STARTUP_ADMIN).await;
        let (_, reader) = key_with(&api, &admin, json!(["policies:read"])).await;
        let listed = rpc(&api, &reader, "tools/list", json!({})).await.expect(StatusCode::OK);
        let names: Vec<&str> = listed["result"]["tools"].as_array().unwrap().iter().map(|tool| tool["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"list_policies") && names.contains(&"validate_policy"), "{names:?}");
        assert!(!names.contains(&"create_policy") && !names.contains(&"list_receipts"), "{names:?}");
        let refused = tool(&api, &reader, "list_receipts", json!({})).await;
        assert_eq!(refused["isError"], true);
        assert!(text(&refused).contains("records:read"), "{refused}");

        // The gateway serves keys that may ask for decisions.
        let reply = rpc_at(&api, "/mcp/gateway", &reader, "tools/list", json!({})).await.expect(StatusCode::OK);
        assert!(reply["error"]["message"].as_str().unwrap().contains("decide"), "{reply}");
    })
    .await;
}

#[tokio::test]
async fn an_agents_key_polls_the_approvals_it_asked_for_and_no_others() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let held = "name: Held\nscope: tenant\nrules:\n  - tool: payments.send\n    effect: require_approval\n    approvers: [manager]\n";
        api.create_policy(&admin, held).await;
        let (_, mine) = key_with(&api, &admin, json!(["decide"])).await;
        let (_, theirs) = key_with(&api, &admin, json!(["decide"])).await;
        let (_, auditor) = key_with(&api, &admin, json!(["records:read"])).await;
        let asked = api.decide(&mine, json!({ "tool": "payments.send", "args": { "amount": 10 } })).await;
        let id = asked["approval_id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/approvals/{id}");
        assert_eq!(api.get(&path, &mine).await.expect(StatusCode::OK)["status"], "pending");
        api.get(&path, &theirs).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        refused_for_want_of(&api.get("/api/v1/approvals", &mine).await, "records:read");
        // A key given the records reads them all.
        api.get(&path, &auditor).await.expect(StatusCode::OK);
        let listed = api.get("/api/v1/approvals", &auditor).await.expect(StatusCode::OK);
        assert!(listed.as_array().unwrap().iter().any(|approval| approval["id"] == id.as_str()), "{listed}");
    })
    .await;
}
