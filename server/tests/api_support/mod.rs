//! Shared plumbing for the `/api/v1` tests: the whole router on a throwaway database (SQLite
//! always, then PostgreSQL), signing in, and small request helpers that keep the tests readable.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::future::Future;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use charter_policy::{DefaultBehaviour, PlatformSettings};
use charter_server::demo::seed_if_empty;
use charter_server::{app, Services};
use charter_store::{Actor, Store};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use serde_json::{json, Value};
use tower::ServiceExt;

pub const PASSWORD: &str = "charter-demo";
pub const OWNER: &str = "owner@charter.example";
pub const SUPPORT: &str = "support@charter.example";
pub const BANK_ADMIN: &str = "admin@meridian-bank.example";
pub const BANK_MANAGER: &str = "manager@meridian-bank.example";
pub const BANK_CFO: &str = "cfo@meridian-bank.example";
pub const STARTUP_ADMIN: &str = "admin@rocketlane.example";
pub const HOSPITAL_ADMIN: &str = "admin@st-aurelia.example";
pub const HOSPITAL_PRIVACY: &str = "privacy@st-aurelia.example";

/// An id that exists nowhere.
pub const NO_SUCH_ID: &str = "00000000-0000-0000-0000-000000000000";

// ---------------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------------

/// Runs the test body against the demo data on a throwaway SQLite database, then on a throwaway
/// PostgreSQL one (see `charter_testkit`).
pub async fn each_database<F, Fut>(test: F)
where
    F: Fn(Api) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // Errors the server logs (a store failure behind a 500) show in a failing test's output.
    let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_test_writer().try_init();
    for database in charter_testkit::databases("api").await {
        let outcome = run(&database.store, &test).await;
        let backend = database.backend;
        database.remove().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend}");
            std::panic::resume_unwind(panic);
        }
    }
}

async fn run<F, Fut>(store: &Store, test: &F) -> Result<(), Box<dyn std::any::Any + Send>>
where
    F: Fn(Api) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let api = demo_api(store).await;
    tokio::spawn(test(api)).await.map_err(|err| if err.is_panic() { err.into_panic() } else { Box::new(err.to_string()) })
}

/// The router over `store` with the demo's people, tenants and platform settings (default `deny`)
/// and nothing else: its policies, its tool catalog and their audit entries go, so that each test
/// states every policy it relies on and every tool is enabled (no catalog). No decision has run
/// yet, so no compiled policy set is cached.
pub async fn demo_api(store: &Store) -> Api {
    seed_if_empty(store, PASSWORD).await.expect("seeding works").expect("an empty database gets the demo");
    // The demo's policies go from the draft, from every release and from every tenant revision, so
    // that nothing of them runs anywhere.
    for sql in [
        "DELETE FROM policies",
        "DELETE FROM platform_release_policies",
        "DELETE FROM tenant_revision_policies",
        "DELETE FROM tools",
        "DELETE FROM tool_sources",
    ] {
        sqlx::query(sql).execute(store.pool()).await.expect("clearing the demo policies and catalog");
    }
    let no_catalog = PlatformSettings { default: DefaultBehaviour::Deny, enabled_tools: None };
    store.set_platform_settings(&Actor::system(), &no_catalog).await.expect("every tool is enabled without a catalog");
    sqlx::query("DELETE FROM audit_log").execute(store.pool()).await.expect("clearing the demo's audit entries");
    Api::new(store.clone()).await
}

// ---------------------------------------------------------------------------------------------
// Calling the router
// ---------------------------------------------------------------------------------------------

/// The whole application router over one store, as `main` builds it.
#[derive(Clone)]
pub struct Api {
    pub router: Router,
    pub store: Store,
}

/// Who a request is from.
#[derive(Clone, Debug)]
pub enum Auth {
    Anonymous,
    /// A whole API key, sent as `Authorization: Bearer <key>`.
    Key(String),
    /// A session cookie, `charter_session=...`.
    Session(String),
    /// A raw `Authorization` header value.
    Header(String),
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("the body is JSON ({err}): {} {}", self.status, self.body))
    }

    /// Asserts the status, and returns the body as JSON.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.json()
    }

    /// Asserts the API's error shape with this status and code, and returns the `error` object.
    #[track_caller]
    pub fn expect_error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        let body = self.json();
        let object = body.as_object().unwrap_or_else(|| panic!("the error is an object: {}", self.body));
        assert_eq!(object.len(), 1, "only `error` at the top: {}", self.body);
        let error = body["error"].clone();
        assert_eq!(error["code"], code, "{}", self.body);
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "an error has a message: {}", self.body);
        for key in error.as_object().unwrap().keys() {
            assert!(["code", "message", "field", "details"].contains(&key.as_str()), "unexpected `{key}` in {}", self.body);
        }
        error
    }

    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("charter_session="))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
    }
}

/// One request, built up step by step.
pub struct Call {
    method: Method,
    path: String,
    auth: Auth,
    content_type: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>, auth: &Auth) -> Call {
        Call { method, path: path.into(), auth: auth.clone(), content_type: None, headers: Vec::new(), body: Vec::new() }
    }

    pub fn json(mut self, body: &Value) -> Call {
        self.content_type = Some("application/json".into());
        self.body = body.to_string().into_bytes();
        self
    }

    pub fn yaml(mut self, text: &str) -> Call {
        self.content_type = Some("application/yaml".into());
        self.body = text.as_bytes().to_vec();
        self
    }

    pub fn raw(mut self, content_type: Option<&str>, body: impl Into<Vec<u8>>) -> Call {
        self.content_type = content_type.map(str::to_owned);
        self.body = body.into();
        self
    }

    pub fn header(mut self, name: &str, value: impl ToString) -> Call {
        self.headers.push((name.to_owned(), value.to_string()));
        self
    }

    pub fn if_match(self, version: i64) -> Call {
        self.header("if-match", version)
    }

    fn build(self) -> Request<Body> {
        let mut request = Request::builder().method(self.method).uri(self.path);
        if !self.headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("accept")) {
            request = request.header(header::ACCEPT, "application/json");
        }
        match self.auth {
            Auth::Anonymous => {}
            Auth::Key(key) => request = request.header(header::AUTHORIZATION, format!("Bearer {key}")),
            Auth::Session(cookie) => request = request.header(header::COOKIE, cookie),
            Auth::Header(value) => request = request.header(header::AUTHORIZATION, value),
        }
        if let Some(content_type) = self.content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        for (name, value) in self.headers {
            request = request.header(name, value);
        }
        request.body(Body::from(self.body)).unwrap()
    }
}

impl Api {
    /// Must run inside a tokio runtime (the receipt writer starts).
    pub async fn new(store: Store) -> Api {
        Api::with_settings(store, &[]).await
    }

    /// An API configured as `CHARTER_*` settings would (a Redis for the counters, say).
    pub async fn with_settings(store: Store, settings: &[(&str, &str)]) -> Api {
        let options = LeptosOptions::builder().output_name("charter").site_root("target/site").build();
        let lookup = |name: &str| settings.iter().find(|(key, _)| *key == name).map(|(_, value)| (*value).to_owned());
        let config = charter_server::Config::from_lookup(lookup).expect("a valid configuration");
        Api { router: app(options, Services::new(store.clone(), &config).await.expect("services start"), false), store }
    }

    pub async fn send(&self, call: Call) -> Reply {
        let response = self.router.clone().oneshot(call.build()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Reply {
        self.send(Call::new(Method::GET, path, auth)).await
    }

    pub async fn post(&self, path: &str, auth: &Auth, body: &Value) -> Reply {
        self.send(Call::new(Method::POST, path, auth).json(body)).await
    }

    pub async fn delete(&self, path: &str, auth: &Auth) -> Reply {
        self.send(Call::new(Method::DELETE, path, auth)).await
    }

    /// Signs in through the console's login server function and returns the session.
    pub async fn sign_in(&self, username: &str) -> Auth {
        let body = format!("username={}&password={PASSWORD}", username.replace('@', "%40"));
        let request = Request::post("/api/auth/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Body::from(body))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let reply = Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() };
        Auth::Session(reply.session_cookie().unwrap_or_else(|| panic!("{username} signs in: {} {}", reply.status, reply.body)))
    }

    /// Creates an API key as `admin` (at `/api/v1/keys`, or a tenant's keys path) and returns the
    /// created key's JSON and the key to send.
    pub async fn create_key_at(&self, path: &str, admin: &Auth, name: &str) -> (Value, Auth) {
        let created = self.post(path, admin, &json!({ "name": name })).await.expect(StatusCode::CREATED);
        let secret = created["secret"].as_str().expect("the secret is in the answer").to_owned();
        (created, Auth::Key(secret))
    }

    /// Signs in as a tenant admin and creates a key for their tenant.
    pub async fn tenant_key(&self, admin_username: &str) -> Auth {
        let admin = self.sign_in(admin_username).await;
        self.create_key_at("/api/v1/keys", &admin, "tests").await.1
    }

    pub async fn decide(&self, key: &Auth, body: Value) -> Value {
        self.post("/api/v1/decide", key, &body).await.expect(StatusCode::OK)
    }

    /// Creates a tenant policy from YAML, expecting 201.
    pub async fn create_policy(&self, auth: &Auth, yaml: &str) -> Value {
        self.send(Call::new(Method::POST, "/api/v1/policies", auth).yaml(yaml)).await.expect(StatusCode::CREATED)
    }

    /// Creates a platform policy from YAML, expecting 201, and releases it to every tenant
    /// (publishes the draft and promotes the release to all), as a platform admin would.
    pub async fn create_platform_policy(&self, auth: &Auth, yaml: &str) -> Value {
        let created = self.send(Call::new(Method::POST, "/api/v1/platform/policies", auth).yaml(yaml)).await.expect(StatusCode::CREATED);
        self.release_to_all(auth).await;
        created
    }

    /// Publishes the platform's draft and promotes the release to all.
    pub async fn release_to_all(&self, auth: &Auth) -> i64 {
        let release = self.post("/api/v1/platform/releases", auth, &serde_json::json!({ "note": "test" })).await.expect(StatusCode::CREATED);
        let number = release["number"].as_i64().expect("a release number");
        self.post(&format!("/api/v1/platform/releases/{number}/promote"), auth, &serde_json::json!({ "all": true })).await.expect(StatusCode::OK);
        number
    }

    pub async fn update_policy(&self, auth: &Auth, id: &str, version: i64, yaml: &str) -> Reply {
        self.send(Call::new(Method::PUT, format!("/api/v1/policies/{id}"), auth).if_match(version).yaml(yaml)).await
    }

    /// Every receipt the caller can list (one page of up to 500), newest first.
    pub async fn receipts(&self, auth: &Auth, query: &str) -> Vec<Value> {
        let sep = if query.is_empty() { "" } else { "&" };
        let page = self.get(&format!("/api/v1/receipts?limit=500{sep}{query}"), auth).await.expect(StatusCode::OK);
        page["receipts"].as_array().expect("a receipts array").clone()
    }

    pub async fn receipt_ids(&self, auth: &Auth, query: &str) -> Vec<String> {
        self.receipts(auth, query).await.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
    }

    /// The caller's audit entries, newest first (up to 500).
    pub async fn audit(&self, auth: &Auth) -> Vec<Value> {
        self.get("/api/v1/audit?limit=500", auth).await.expect(StatusCode::OK).as_array().expect("an audit array").clone()
    }

    pub async fn policies(&self, auth: &Auth) -> Vec<Value> {
        self.get("/api/v1/policies", auth).await.expect(StatusCode::OK).as_array().expect("a policy array").clone()
    }
}

/// A tenant policy allowing exactly the tools in `tools`.
pub fn allow_policy(name: &str, tools: &[&str]) -> String {
    let rules: String = tools.iter().map(|tool| format!("  - tool: \"{tool}\"\n    effect: allow\n")).collect();
    format!("name: {name}\nscope: tenant\nrules:\n{rules}")
}

// ---------------------------------------------------------------------------------------------
// MCP
// ---------------------------------------------------------------------------------------------

/// One JSON-RPC request to `/mcp`; the whole HTTP reply.
pub async fn rpc(api: &Api, auth: &Auth, method: &str, params: Value) -> Reply {
    rpc_at(api, "/mcp", auth, method, params).await
}

/// One JSON-RPC request to the MCP endpoint at `path`; the whole HTTP reply.
pub async fn rpc_at(api: &Api, path: &str, auth: &Auth, method: &str, params: Value) -> Reply {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let call = Call::new(Method::POST, path, auth)
        .json(&body)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .header("host", "charter.example");
    api.send(call).await
}

/// Calls a tool and returns its result (`content`, `structuredContent`, `isError`).
pub async fn tool(api: &Api, auth: &Auth, name: &str, arguments: Value) -> Value {
    let reply = rpc(api, auth, "tools/call", json!({ "name": name, "arguments": arguments })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let message = reply.json();
    assert!(message.get("error").is_none(), "{name} is a protocol error: {message}");
    message["result"].clone()
}

pub fn text(result: &Value) -> String {
    result["content"].as_array().unwrap().iter().filter_map(|block| block["text"].as_str()).collect::<Vec<_>>().join("\n")
}

// ---------------------------------------------------------------------------------------------
// Console server functions
// ---------------------------------------------------------------------------------------------

/// Form arguments, URL-encoded.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={}", url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()))
        .collect::<Vec<_>>()
        .join("&")
}

/// Calls a console server function (`tools/catalog`) with form arguments.
pub async fn console(api: &Api, session: &Auth, path: &str, pairs: &[(&str, &str)]) -> Reply {
    api.send(Call::new(Method::POST, format!("/api/{path}"), session).raw(Some("application/x-www-form-urlencoded"), form(pairs))).await
}
