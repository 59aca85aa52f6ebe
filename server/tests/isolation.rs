//! The isolation sweep: every route of the OpenAPI document and every server function of the
//! console, called by another tenant (its API key, its admin's session, another tenant's approver)
//! with this tenant's ids and slug, answers "not found" or "forbidden" and shows none of this
//! tenant's data; and nothing of this tenant changes. The routes are read from the OpenAPI document
//! and the server functions from the registry, so a new one cannot be forgotten: without a case
//! here, this test fails. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use std::collections::BTreeSet;

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// What only tenant A's data contains; no answer to another tenant may show it.
const MARKER: &str = "a-only-secret";
const A_SLUG: &str = "meridian-bank";
const A_NAME: &str = "First Meridian Bank";

/// Tenant A's objects, as another tenant would try to reach them.
struct TenantA {
    policy: String,
    receipt: String,
    approval: String,
    key: String,
    key_auth: Auth,
    /// An assistant A's admin connected (its client is named with the marker).
    connection: String,
    /// The query of an authorisation request by a client of no tenant, for the consent sweep.
    consent_query: String,
}

async fn tenant_a(api: &Api) -> TenantA {
    let admin = api.sign_in(BANK_ADMIN).await;
    let (created, key_auth) = api.create_key_at("/api/v1/keys", &admin, &format!("{MARKER} key")).await;
    let policy = api
        .create_policy(
            &key_auth,
            &format!("name: {MARKER} policy\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n  - tool: payments.send\n    effect: require_approval\n    approvers: [manager]\n    reason: {MARKER} reason\n"),
        )
        .await;
    let asked = api.decide(&key_auth, json!({ "tool": "payments.send", "agent": MARKER, "args": { "memo": MARKER } })).await;
    assert_eq!(asked["decision"], "require_approval", "{asked}");
    // A catalog, so that another tenant's switch of a tool is a real switch (of its own tenant).
    let tool = |name: &str| charter_policy::CatalogTool { name: name.into(), method: None, path: None, description: String::new() };
    api.store
        .add_tool_source(&charter_store::Actor::system(), "Sweep tools", charter_policy::SourceKind::Mcp, &[tool("docs.read"), tool("payments.send")], true)
        .await
        .unwrap();
    let redirect = "http://127.0.0.1:33418/callback".to_owned();
    let client = api.store.register_oauth_client(&format!("{MARKER} assistant"), std::slice::from_ref(&redirect)).await.unwrap();
    let tenant = api.store.tenant_by_slug(A_SLUG).await.unwrap().unwrap();
    let users = api.store.list_users(&charter_store::Owner::Tenant(tenant.id.clone())).await.unwrap();
    let user = users.into_iter().find(|user| user.username == BANK_ADMIN).unwrap();
    let new = charter_store::NewConnection {
        tenant_id: tenant.id,
        user_id: user.id,
        client_id: client.id,
        scopes: charter_store::ScopeSet::new(charter_store::OAuthScope::ALL),
        resource: "http://localhost/mcp".into(),
        named_redirect_uri: Some(redirect.clone()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
    };
    let (connection, _) = api.store.approve_connection(&charter_store::Actor::system(), &new).await.unwrap();
    let neutral = api.store.register_oauth_client("Neutral assistant", std::slice::from_ref(&redirect)).await.unwrap();
    let consent_query = format!(
        "response_type=code&client_id={}&redirect_uri={}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=s",
        neutral.id,
        urlencode(&redirect)
    );
    TenantA {
        connection: connection.id.to_string(),
        consent_query,
        policy: policy["id"].as_str().unwrap().to_owned(),
        receipt: asked["receipt_id"].as_str().unwrap().to_owned(),
        approval: asked["approval_id"].as_str().unwrap().to_owned(),
        key: created["id"].as_str().unwrap().to_owned(),
        key_auth,
    }
}

/// Everything of A that a refused call could have changed.
async fn snapshot(api: &Api, a: &TenantA) -> Value {
    let policy = api.get(&format!("/api/v1/policies/{}", a.policy), &a.key_auth).await.expect(StatusCode::OK);
    let approval = api.get(&format!("/api/v1/approvals/{}", a.approval), &a.key_auth).await.expect(StatusCode::OK);
    let tenant = api.store.tenant_by_slug(A_SLUG).await.unwrap().unwrap();
    let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL")
        .bind(&tenant.id)
        .fetch_one(api.store.pool())
        .await
        .unwrap();
    let policies: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policies WHERE tenant_id = $1").bind(&tenant.id).fetch_one(api.store.pool()).await.unwrap();
    let connections = api.store.list_connections(&tenant.id).await.unwrap().len();
    let switched: Vec<bool> = api.store.tenant_tools(&tenant).await.unwrap().into_iter().map(|tool| tool.on).collect();
    let rollout = api.store.tenant_rollout(&tenant.id).await.unwrap();
    json!({ "release": rollout.release, "release_pin": rollout.release_pin.map(|pin| pin.kind.as_str()), "revision": rollout.revision(), "revision_pin": rollout.revision_pin, "shadow": rollout.shadow().map(charter_store::describe_selection), "policy_version": policy["version"], "approval": approval["status"], "votes": approval["votes"], "quota": tenant.policy_quota, "retention": tenant.receipt_retention_days, "zone": tenant.time_zone, "keys": keys, "policies": policies, "connections": connections, "switched": switched })
}

fn shows_a(body: &str) -> bool {
    body.contains(MARKER) || body.contains(A_NAME)
}

/// The body to send to an operation, by its path and method.
fn api_body(method: &str, path: &str) -> Option<Value> {
    Some(match (method, path) {
        ("post", "/api/v1/decide") => json!({ "tool": "docs.read", "tenant_id": A_SLUG }),
        ("post" | "put", p) if p.contains("/policies") => return None, // YAML, below
        ("post", p) if p.ends_with("/keys") => json!({ "name": "planted" }),
        ("post", p) if p.ends_with("/resolve") => json!({ "resolution": "approve" }),
        ("put", p) if p.ends_with("/settings") && p.contains("platform") => json!({ "default": "allow" }),
        ("put", p) if p.ends_with("/settings") => json!({ "time_zone": "Asia/Tokyo" }),
        ("put", p) if p.ends_with("/quota") => json!({ "policy_quota": 1 }),
        ("put", p) if p.ends_with("/retention") => json!({ "receipt_retention_days": 1 }),
        ("post", "/api/v1/platform/releases") => json!({ "note": "planted" }),
        ("post", "/api/v1/platform/releases/replay") => json!({ "release": "draft", "tenant": A_SLUG }),
        ("post", p) if p.ends_with("/revisions/replay") => json!({ "revision": 1 }),
        ("put", "/api/v1/platform/shadow") => json!({ "tenants": [A_SLUG], "release": "draft" }),
        ("put", p) if p.ends_with("/shadow") => json!({ "revision": 1 }),
        ("post", p) if p.ends_with("/promote") => json!({ "tenants": [A_SLUG] }),
        ("put", p) if p.ends_with("/release") => json!({ "release": 1 }),
        ("put", p) if p.ends_with("/rollout") => json!({ "revision": 1 }),
        ("get" | "delete", _) => return None,
        other => panic!("no sweep case for {other:?}: add one to isolation.rs"),
    })
}

/// The id of A's object that `path` names.
fn id_for<'a>(path: &str, a: &'a TenantA) -> &'a str {
    // The collection the `{id}` belongs to: the last plain segment that is not an action on it.
    let segment = path.split('/').rev().find(|s| !s.starts_with('{') && !["resolve", "restore", "versions", "diff"].contains(s)).unwrap_or("");
    match segment {
        "policies" => &a.policy,
        "receipts" => &a.receipt,
        "approvals" => &a.approval,
        "keys" => &a.key,
        other => panic!("no sweep case for ids under `{other}` ({path}): add one to isolation.rs"),
    }
}

#[tokio::test]
async fn every_api_route_keeps_another_tenants_data_out_of_reach() {
    each_database(|api| async move {
        let a = tenant_a(&api).await;
        let before = snapshot(&api, &a).await;
        let b_key = api.tenant_key(STARTUP_ADMIN).await;
        let b_admin = api.sign_in(STARTUP_ADMIN).await;
        let c_approver = api.sign_in(HOSPITAL_PRIVACY).await;
        let document = api.get("/api/v1/openapi.json", &Auth::Anonymous).await.expect(StatusCode::OK);
        let mut swept = BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in ["get", "post", "put", "delete"] {
                if item.get(method).is_none() || path == "/api/v1/openapi.json" {
                    continue;
                }
                let names_a = path.contains("{id}") || path.contains("{slug}");
                let mut concrete = path
                    .replace("{slug}", A_SLUG)
                    .replace("{id}", if path.contains("{id}") { id_for(path, &a) } else { "" })
                    .replace("{version}", "1")
                    .replace("{number}", "1");
                if path.ends_with("/diff") {
                    concrete.push_str("?from=1&to=1");
                }
                for (who, auth) in [("B's key", &b_key), ("B's admin", &b_admin), ("C's approver", &c_approver)] {
                    let http = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                    let mut call = Call::new(http, &concrete, auth);
                    if let Some(body) = api_body(method, path) {
                        call = call.json(&body);
                    } else if matches!(method, "post" | "put") {
                        call = call.yaml(&allow_policy("b planted", &["docs.read"])).if_match(1);
                    }
                    let reply = api.send(call).await;
                    let what = format!("{} {concrete} as {who}", method.to_uppercase());
                    assert!(!shows_a(&reply.body), "{what} shows A's data: {}", reply.body);
                    if names_a {
                        assert!(
                            [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&reply.status),
                            "{what} answers {} instead of 404 or 403: {}",
                            reply.status,
                            reply.body
                        );
                    }
                    if path == "/api/v1/decide" && who == "B's key" {
                        let decided: Value = serde_json::from_str(&reply.body).unwrap();
                        assert_eq!(decided["decision"], "deny", "naming A is denied as cross-tenant: {decided}");
                    }
                }
                swept.insert(format!("{method} {path}"));
            }
        }
        assert!(swept.len() >= 40, "the document lists every route: {swept:?}");
        assert_eq!(snapshot(&api, &a).await, before, "nothing of A changed");
    })
    .await;
}

/// Every server function of the console, with the arguments another tenant's user would send to
/// reach tenant A: its slug, its ids. `None` for those that must be refused outright.
fn server_fn_args(path: &str, a: &TenantA) -> Vec<(String, String)> {
    let pairs = |items: &[(&str, &str)]| items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let doc = "name: b planted\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n".to_owned();
    match path {
        "/api/auth/login" | "/api/auth/logout" | "/api/auth/me" => pairs(&[]),
        "/api/approvals/queue" | "/api/dashboard/platform" | "/api/tenants/list" | "/api/users/list" | "/api/tools/catalog" => pairs(&[]),
        "/api/policies/context" | "/api/policies/editor_context" => pairs(&[]),
        "/api/approvals/resolve" => pairs(&[("id", &a.approval), ("approve", "true"), ("comment", "planted")]),
        "/api/audit/list" => pairs(&[("scope", A_SLUG), ("action", "")]),
        "/api/approvals/history" => pairs(&[("pending_only", "false")]),
        "/api/dashboard/approvals" => pairs(&[]),
        // The dashboard is the caller's own tenant's; there is no tenant to name.
        "/api/dashboard/insight" => pairs(&[("window", "month")]),
        "/api/keys/list" => pairs(&[("tenant", A_SLUG)]),
        "/api/keys/create" => pairs(&[("tenant", A_SLUG), ("name", "planted"), ("agents", ""), ("scopes", "decide")]),
        "/api/keys/revoke" => pairs(&[("tenant", A_SLUG), ("id", &a.key)]),
        "/api/tools/usage" => pairs(&[("tool", "payments.send")]),
        "/api/policies/history" => pairs(&[("id", &a.policy), ("tenant_slug", A_SLUG)]),
        "/api/policies/diff" => pairs(&[("id", &a.policy), ("tenant_slug", A_SLUG), ("from", "1"), ("to", "1")]),
        "/api/policies/restore" => pairs(&[("id", &a.policy), ("tenant_slug", A_SLUG), ("version", "1"), ("expected", "1")]),
        "/api/policies/add_rule" => pairs(&[("text", &doc), ("form[tool]", "docs.write"), ("form[effect]", "allow")]),
        "/api/policies/convert" => pairs(&[("text", &doc), ("to_json", "true")]),
        "/api/policies/delete" => pairs(&[("id", &a.policy), ("version", "1"), ("tenant_slug", A_SLUG)]),
        "/api/policies/import" => {
            let file = format!("format: charter.policies/v1\nowner: {A_SLUG}\npolicies:\n  - {}\n", doc.replace('\n', "\n    "));
            pairs(&[("tenant_slug", A_SLUG), ("text", &file), ("delete_missing", "true"), ("apply", "true")])
        }
        "/api/policies/load" => pairs(&[("id", &a.policy)]),
        "/api/policies/edit_page" => pairs(&[("id", &a.policy), ("compare", "1")]),
        "/api/policies/save" => pairs(&[("id", &a.policy), ("version", "1"), ("tenant_slug", A_SLUG), ("text", &doc)]),
        "/api/policies/search" => pairs(&[]),
        "/api/policies/validate" => pairs(&[("text", &doc), ("tenant_slug", A_SLUG), ("replacing", &a.policy)]),
        "/api/preview/effective" => pairs(&[("tenant_slug", A_SLUG), ("agent", MARKER), ("release", "")]),
        "/api/preview/what_if" => {
            pairs(&[("tenant_slug", A_SLUG), ("agent", MARKER), ("tool", "payments.send"), ("args", "{}"), ("user", ""), ("roles", ""), ("release", "")])
        }
        // Releases are the platform's: another tenant's people are refused.
        "/api/releases/overview" | "/api/releases/options" => pairs(&[]),
        "/api/releases/publish" => pairs(&[("note", "planted")]),
        "/api/releases/replay" => pairs(&[("release", "draft"), ("days", "7")]),
        "/api/releases/shadow" => pairs(&[("tenant", A_SLUG), ("release", "draft")]),
        "/api/versions/shadow" => pairs(&[("tenant", A_SLUG), ("revision", "1")]),
        "/api/releases/promote" => pairs(&[("number", "1"), ("tenant", A_SLUG)]),
        "/api/releases/pin" => pairs(&[("tenant", A_SLUG), ("release", "1")]),
        "/api/versions/overview" => pairs(&[("tenant", A_SLUG)]),
        "/api/versions/pin" => pairs(&[("tenant", A_SLUG), ("revision", "1")]),
        "/api/receipts/list" => pairs(&[("query[tenant_slug]", A_SLUG), ("query[agent]", ""), ("query[tool]", ""), ("query[verdict]", "")]),
        "/api/tenants/overview" => pairs(&[("slug", A_SLUG)]),
        "/api/tenants/set_quota" => pairs(&[("slug", A_SLUG), ("quota", "1")]),
        "/api/tenants/set_retention" => pairs(&[("slug", A_SLUG), ("days", "1")]),
        "/api/tools/add_source" => pairs(&[("name", "planted"), ("document", "{\"tools\": []}"), ("enabled", "true")]),
        "/api/tools/delete_source" | "/api/tools/toggle" => pairs(&[("id", NO_SUCH_ID), ("enabled", "false")]),
        // Upstream MCP servers are the platform's: another tenant's admin is refused before Charter
        // connects anywhere.
        "/api/tools/connect_upstream" => {
            pairs(&[("name", "planted"), ("endpoint", "http://127.0.0.1:9/mcp"), ("token", ""), ("tool_prefix", ""), ("enabled", "true")])
        }
        "/api/tools/refresh_upstream" => pairs(&[("id", NO_SUCH_ID)]),
        "/api/assistant/view" => pairs(&[]),
        // Exposure is the platform's: another tenant's admin is refused.
        "/api/tools/expose" => pairs(&[("id", NO_SUCH_ID), ("everyone", "false"), ("tenants[]", A_SLUG), ("plans", "")]),
        // A tenant switches only its own tools; there is no tenant to name.
        "/api/tools/switch" => pairs(&[("tool", "docs.read"), ("on", "false")]),
        "/api/assistant/disconnect" => pairs(&[("id", &a.connection)]),
        // Consent is always for the caller's own tenant; there is no tenant to name.
        "/api/oauth/consent" => pairs(&[("query", &a.consent_query)]),
        "/api/oauth/answer" => pairs(&[]),
        other => panic!("no sweep case for the server function {other}: add one to isolation.rs"),
    }
}

/// Server functions whose answer is the caller's own data (or none): they may succeed.
const OWN_DATA: &[&str] = &[
    "/api/auth/login",
    "/api/auth/logout",
    "/api/auth/me",
    "/api/approvals/queue",
    "/api/approvals/history",
    "/api/audit/list",
    "/api/dashboard/approvals",
    "/api/dashboard/insight",
    "/api/policies/context",
    "/api/policies/editor_context",
    "/api/policies/add_rule",
    "/api/policies/convert",
    "/api/policies/search",
    "/api/tools/catalog",
    "/api/assistant/view",
    "/api/oauth/consent",
    "/api/oauth/answer",
    "/api/tools/switch",
    // Empty for anyone but platform staff.
    "/api/releases/options",
];

#[tokio::test]
async fn every_server_function_keeps_another_tenants_data_out_of_reach() {
    each_database(|api| async move {
        let a = tenant_a(&api).await;
        let before = snapshot(&api, &a).await;
        let mut paths: Vec<&str> = leptos::server_fn::axum::server_fn_paths().map(|(path, _)| path).collect();
        paths.sort_unstable();
        assert!(paths.len() >= 25, "the registry lists the console's server functions: {paths:?}");
        for path in paths {
            for who in [STARTUP_ADMIN, HOSPITAL_PRIVACY] {
                // A fresh session each time: `logout` ends the one it is called with.
                let auth = api.sign_in(who).await;
                let args = server_fn_args(path, &a);
                let reply = if path == "/api/oauth/answer" {
                    api.send(Call::new(Method::POST, path, &auth).json(&json!({ "query": a.consent_query, "allow": false, "scopes": [] }))).await
                } else if path == "/api/policies/search" {
                    api.send(
                        Call::new(Method::POST, path, &auth)
                            .json(&json!({ "search": { "tenant_id": api.store.tenant_by_slug(A_SLUG).await.unwrap().unwrap().id }, "offset": 0 })),
                    )
                    .await
                } else {
                    let form: String = args.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
                    api.send(Call::new(Method::POST, path, &auth).raw(Some("application/x-www-form-urlencoded"), form)).await
                };
                let what = format!("{path} as {who}");
                assert!(!shows_a(&reply.body), "{what} shows A's data: {}", reply.body);
                if !OWN_DATA.contains(&path) {
                    assert!(
                        [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&reply.status),
                        "{what} answers {} instead of 404 or 403: {}",
                        reply.status,
                        reply.body
                    );
                }
            }
        }
        assert_eq!(snapshot(&api, &a).await, before, "nothing of A changed");
    })
    .await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
