//! HTTP-level tests of the console: sign-in, sessions, throttling and the server-side role checks,
//! driven through the real router with `oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use charter_server::demo::seed_if_empty;
use charter_server::{app, Services};
use charter_store::Store;
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use tower::ServiceExt;

const PASSWORD: &str = "charter-demo";
const OWNER: &str = "owner@charter.example";
const SUPPORT: &str = "support@charter.example";
const BANK_ADMIN: &str = "admin@meridian-bank.example";
const STARTUP_ADMIN: &str = "admin@rocketlane.example";

struct Console {
    router: Router,
    store: Store,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    /// The `name=value` part of the session cookie this reply sets, if any.
    fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("charter_session="))
            .map(|v| v.split(';').next().unwrap_or_default().to_owned())
    }

    fn set_cookie_header(&self) -> String {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join("\n")
    }
}

async fn console_with(secure_cookies: bool) -> Console {
    console_configured(secure_cookies, |_| None).await
}

/// A console behind a trusted proxy that names the client in `X-Forwarded-For`.
async fn console_behind_proxy() -> Console {
    console_configured(false, |name| (name == "CHARTER_CLIENT_IP_HEADER").then(|| "x-forwarded-for".to_owned())).await
}

async fn console_configured(secure_cookies: bool, settings: impl Fn(&str) -> Option<String>) -> Console {
    // One level only: the guard removes this folder, and a parent of it would be left behind.
    let dir = std::env::temp_dir().join(format!("charter-console-test-{}-{}-{}", std::process::id(), charter_store::now_ms(), rand_suffix()));
    let store = Store::connect(&format!("sqlite://{}/charter.db", dir.display())).await.unwrap();
    seed_if_empty(&store, PASSWORD).await.unwrap().expect("an empty database gets the demo");
    let options = LeptosOptions::builder().output_name("charter").site_root("target/site").build();
    let services = Services::new(store.clone(), &charter_server::Config::from_lookup(settings).expect("a valid configuration")).await.expect("services start");
    Console { router: app(options, services, secure_cookies), store, _dir: TempDir(dir) }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

async fn console() -> Console {
    console_with(false).await
}

impl Console {
    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// Calls a server function the way the hydrated console does.
    async fn server_fn(&self, path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        let body = form.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&");
        let mut request =
            Request::post(format!("/api/{path}")).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Calls a server function whose arguments travel as JSON (`input = Json`).
    async fn server_fn_json(&self, path: &str, args: &serde_json::Value, cookie: &str) -> Reply {
        let request = Request::post(format!("/api/{path}"))
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, cookie);
        self.send(request.body(Body::from(args.to_string())).unwrap()).await
    }

    async fn page(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(path).header(header::ACCEPT, "text/html");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn login(&self, username: &str, password: &str) -> Reply {
        self.server_fn("auth/login", &[("username", username), ("password", password)], None).await
    }

    /// Signs in through the trusted proxy, as the client at `address`.
    async fn login_from(&self, username: &str, password: &str, address: &str) -> Reply {
        let body = format!("username={}&password={}", encode(username), encode(password));
        let request = Request::post("/api/auth/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header("x-forwarded-for", format!("10.9.9.9, {address}"));
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Signs in and returns the session cookie.
    async fn signed_in(&self, username: &str) -> String {
        let reply = self.login(username, PASSWORD).await;
        reply.session_cookie().unwrap_or_else(|| panic!("{username} signs in: {} {}", reply.status, reply.body))
    }
}

fn encode(value: &str) -> String {
    value.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn signing_in_sets_an_http_only_same_site_session_cookie() {
    let console = console().await;
    let reply = console.login(OWNER, PASSWORD).await;
    assert!(reply.session_cookie().is_some(), "a session cookie is set: {}", reply.set_cookie_header());
    let set_cookie = reply.set_cookie_header();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http gets no Secure flag: {set_cookie}");

    let me = console.server_fn("auth/me", &[], reply.session_cookie().as_deref()).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let me: serde_json::Value = serde_json::from_str(&me.body).unwrap();
    assert_eq!(me["username"], OWNER);
    assert_eq!(me["role"], "platform_admin");
}

#[tokio::test]
async fn cookies_are_secure_when_served_over_https() {
    let console = console_with(true).await;
    let reply = console.login(OWNER, PASSWORD).await;
    assert!(reply.set_cookie_header().contains("Secure"), "{}", reply.set_cookie_header());
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer_and_no_session() {
    let console = console().await;
    let wrong_password = console.login(OWNER, "not-the-password").await;
    let unknown_user = console.login("nobody@charter.example", "not-the-password").await;
    for reply in [&wrong_password, &unknown_user] {
        assert!(reply.body.contains("BadCredentials"), "{}", reply.body);
        assert_eq!(reply.session_cookie(), None, "no session for a failed sign-in");
    }
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED, "a refused sign-in is a 401, not a server error");
    assert_eq!(wrong_password.status, unknown_user.status);
    assert_eq!(wrong_password.body, unknown_user.body);
}

#[tokio::test]
async fn repeated_failures_are_throttled_even_for_the_right_password() {
    let console = console().await;
    for _ in 0..5 {
        let reply = console.login(BANK_ADMIN, "guess").await;
        assert!(reply.body.contains("BadCredentials"), "{}", reply.body);
    }
    let reply = console.login(BANK_ADMIN, PASSWORD).await;
    assert!(reply.body.contains("Throttled"), "the sixth try is refused: {}", reply.body);
    assert_eq!(reply.session_cookie(), None);
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = reply.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(retry_after >= 1, "the refusal says when to try again: {:?}", reply.headers.get(header::RETRY_AFTER));
    // Another user is not locked out by someone guessing at the bank admin.
    assert!(console.login(STARTUP_ADMIN, PASSWORD).await.session_cookie().is_some());
}

#[tokio::test]
async fn a_guesser_cannot_keep_the_real_user_out_of_their_usual_address() {
    let console = console_behind_proxy().await;
    // The bank admin signs in from the office, as every day.
    assert!(console.login_from(BANK_ADMIN, PASSWORD, "192.0.2.10").await.session_cookie().is_some());
    // Someone guesses at the password from two addresses, as long as the throttle lets them.
    for address in ["203.0.113.1", "203.0.113.2"] {
        for _ in 0..5 {
            let reply = console.login_from(BANK_ADMIN, "guess", address).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{address}: {}", reply.body);
        }
        let reply = console.login_from(BANK_ADMIN, PASSWORD, address).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{address}: even the right password waits there: {}", reply.body);
    }
    // Ten failures of the username slow it down at every other address: a third one guesses no more.
    let reply = console.login_from(BANK_ADMIN, "guess", "203.0.113.3").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{}", reply.body);
    // From an address the user never signed in from, they wait too.
    let reply = console.login_from(BANK_ADMIN, PASSWORD, "198.51.100.20").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{}", reply.body);
    // From the office they sign in at once.
    let reply = console.login_from(BANK_ADMIN, PASSWORD, "192.0.2.10").await;
    assert!(reply.session_cookie().is_some(), "the real user gets in from their usual address: {} {}", reply.status, reply.body);
    // The proxy's other clients are not slowed by the guesser: each is their own address.
    assert!(console.login_from(STARTUP_ADMIN, PASSWORD, "203.0.113.99").await.session_cookie().is_some());
}

#[tokio::test]
async fn server_functions_take_the_apis_body_limit_and_document_uploads_two_mebibytes() {
    let console = console().await;
    let cookie = console.signed_in(OWNER).await;
    let post = |path: &str, bytes: usize, declared: bool| {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").header(header::COOKIE, cookie.clone());
        if declared {
            request = request.header(header::CONTENT_LENGTH, bytes);
        }
        request.body(Body::from(format!("text={}", "a".repeat(bytes.saturating_sub(5))))).unwrap()
    };
    let over = console.send(post("/api/policies/save", 256 * 1024 + 1, true)).await;
    assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", over.body);
    assert!(over.body.contains("256 KiB"), "the refusal says the limit: {}", over.body);
    let undeclared = console.send(post("/api/policies/save", 300 * 1024, false)).await;
    assert!(
        undeclared.status.is_client_error() || undeclared.status.is_server_error(),
        "a body that does not say its length is cut off: {}",
        undeclared.status
    );
    // A document upload may be larger, up to 2 MiB.
    let document = console.send(post("/api/policies/import", 1024 * 1024, true)).await;
    assert_ne!(document.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", document.body);
    let too_big = console.send(post("/api/policies/import", 2 * 1024 * 1024 + 1, true)).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", too_big.body);
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in() {
    let console = console().await;
    let first = console.signed_in(OWNER).await;
    // Signing in again from the same browser (sending the old cookie) must not keep the old id.
    let reply = console.server_fn("auth/login", &[("username", OWNER), ("password", PASSWORD)], Some(&first)).await;
    let second = reply.session_cookie().expect("a new cookie");
    assert_ne!(first, second);
    let stale = console.server_fn("auth/me", &[], Some(&first)).await;
    assert_eq!(stale.body, "null", "the old id no longer signs anyone in");
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let console = console().await;
    let cookie = console.signed_in(SUPPORT).await;
    let me = console.server_fn("auth/me", &[], Some(&cookie)).await;
    assert!(me.body.contains(SUPPORT));
    console.server_fn("auth/logout", &[], Some(&cookie)).await;
    let me = console.server_fn("auth/me", &[], Some(&cookie)).await;
    assert_eq!(me.body, "null");
}

#[tokio::test]
async fn platform_data_is_for_platform_roles_only() {
    let console = console().await;
    let owner = console.signed_in(OWNER).await;
    let support = console.signed_in(SUPPORT).await;
    let tenant_admin = console.signed_in(BANK_ADMIN).await;

    for path in ["tenants/list", "users/list", "dashboard/platform"] {
        for cookie in [&owner, &support] {
            let reply = console.server_fn(path, &[], Some(cookie)).await;
            assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
            assert!(reply.body.contains("meridian-bank") || reply.body.contains("First Meridian Bank"), "{path}: {}", reply.body);
        }
        let refused = console.server_fn(path, &[], Some(&tenant_admin)).await;
        assert!(refused.body.contains("Forbidden"), "{path} refuses a tenant admin: {}", refused.body);
        assert!(!refused.body.contains("rocketlane"), "{path} leaks nothing: {}", refused.body);
        let anonymous = console.server_fn(path, &[], None).await;
        assert!(anonymous.body.contains("Unauthenticated"), "{path} refuses an anonymous caller: {}", anonymous.body);
    }
}

#[tokio::test]
async fn who_called_a_tool_is_for_platform_staff_and_counts_each_tenant() {
    let console = console().await;
    let owner = console.signed_in(OWNER).await;
    let support = console.signed_in(SUPPORT).await;
    let bank_admin = console.signed_in(BANK_ADMIN).await;
    let quiet = console.server_fn("tools/usage", &[("tool", "expense.submit")], Some(&owner)).await;
    assert_eq!(quiet.status, StatusCode::OK, "{}", quiet.body);
    assert!(!quiet.body.contains("meridian-bank"), "nobody called it yet: {}", quiet.body);

    console.pending_bank_approval().await;
    for cookie in [&owner, &support] {
        let reply = console.server_fn("tools/usage", &[("tool", "expense.submit")], Some(cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let impact: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(impact["days"], 7);
        let tenants = impact["tenants"].as_array().unwrap();
        assert_eq!(tenants.len(), 1, "{impact}");
        assert_eq!(
            (tenants[0]["tenant_slug"].as_str(), tenants[0]["tenant_name"].as_str(), tenants[0]["calls"].as_i64()),
            (Some("meridian-bank"), Some("First Meridian Bank"), Some(1))
        );
    }
    let other = console.server_fn("tools/usage", &[("tool", "payments.transfer")], Some(&owner)).await;
    assert!(!other.body.contains("meridian-bank"), "another tool's calls are not counted: {}", other.body);
    let refused = console.server_fn("tools/usage", &[("tool", "expense.submit")], Some(&bank_admin)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(!refused.body.contains("First Meridian Bank"), "{}", refused.body);
}

#[tokio::test]
async fn a_tenant_user_sees_only_their_own_tenant() {
    let console = console().await;
    let startup = console.signed_in(STARTUP_ADMIN).await;
    let own = console.server_fn("tenants/overview", &[("slug", "rocketlane")], Some(&startup)).await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    assert!(own.body.contains("Sam Rivera"));

    let foreign = console.server_fn("tenants/overview", &[("slug", "meridian-bank")], Some(&startup)).await;
    let missing = console.server_fn("tenants/overview", &[("slug", "no-such-tenant")], Some(&startup)).await;
    assert!(foreign.body.contains("NotFound"), "{}", foreign.body);
    assert_eq!(foreign.body, missing.body, "another tenant looks exactly like a missing one");
    assert!(!foreign.body.contains("Maya Chen"));

    let owner = console.signed_in(OWNER).await;
    let any = console.server_fn("tenants/overview", &[("slug", "meridian-bank")], Some(&owner)).await;
    assert!(any.body.contains("Maya Chen"), "platform admins open any tenant: {}", any.body);
}

#[tokio::test]
async fn pages_redirect_strangers_and_hide_other_tenants() {
    let console = console().await;
    let anonymous = console.page("/", None).await;
    assert!(anonymous.status.is_redirection(), "{}", anonymous.status);
    assert_eq!(anonymous.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/login"));

    let login_page = console.page("/login", None).await;
    assert_eq!(login_page.status, StatusCode::OK);
    assert!(login_page.body.contains("Sign in"));

    let startup = console.signed_in(STARTUP_ADMIN).await;
    let foreign = console.page("/tenants/meridian-bank", Some(&startup)).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(foreign.body.contains("Page not found"));
    assert!(!foreign.body.contains("First Meridian Bank"));

    let own = console.page("/tenants/rocketlane", Some(&startup)).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(own.body.contains("Rocketlane Labs"));

    let nowhere = console.page("/no/such/page", Some(&startup)).await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_dashboard_shows_real_data_for_each_role() {
    let console = console().await;
    let owner = console.signed_in(OWNER).await;
    let page = console.page("/", Some(&owner)).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["Platform dashboard", "First Meridian Bank", "Rocketlane Labs", "St. Aurelia Health"] {
        assert!(page.body.contains(text), "platform dashboard shows {text}");
    }
    let bank = console.signed_in(BANK_ADMIN).await;
    let page = console.page("/", Some(&bank)).await;
    assert!(page.body.contains("First Meridian Bank"));
    assert!(!page.body.contains("Rocketlane Labs"), "a tenant dashboard shows no other tenant");
}

#[tokio::test]
async fn demo_data_is_seeded_once() {
    let console = console().await;
    drop(console);
    let dir = std::env::temp_dir().join(format!("charter-seed-test-{}", std::process::id()));
    let store = Store::connect(&format!("sqlite://{}/charter.db", dir.display())).await.unwrap();
    let first = seed_if_empty(&store, PASSWORD).await.unwrap().expect("first start seeds");
    assert_eq!(first.len(), 8, "two platform users and six tenant users");
    assert_eq!(store.count_tenants().await.unwrap(), 3);
    assert_eq!(seed_if_empty(&store, PASSWORD).await.unwrap(), None, "a second start seeds nothing");
    assert_eq!(store.count_tenants().await.unwrap(), 3);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Policies, tools, quotas and approvals through the console's server functions
// ---------------------------------------------------------------------------------------------

const BANK_MANAGER: &str = "manager@meridian-bank.example";

/// Everything a console write could change, read straight from the store.
#[derive(Debug, PartialEq)]
struct Snapshot {
    policies: Vec<(String, i64)>,
    catalog: Vec<(String, bool)>,
    sources: Vec<String>,
    settings: (charter_policy::PlatformSettings, i64),
    quotas: Vec<(String, i64)>,
    approvals: Vec<(charter_store::ApprovalId, charter_store::ApprovalStatus)>,
    audit_entries: usize,
}

impl Console {
    async fn snapshot(&self) -> Snapshot {
        let store = &self.store;
        let policies =
            store.search_policies(&charter_store::PolicySearch::default(), 0, 200).await.unwrap().items.into_iter().map(|p| (p.name, p.version)).collect();
        let catalog = store.list_catalog(None).await.unwrap().into_iter().map(|t| (t.name, t.enabled)).collect();
        let sources = store.list_tool_sources().await.unwrap().into_iter().map(|s| s.name).collect();
        let quotas = store.list_tenants().await.unwrap().into_iter().map(|t| (t.tenant.slug, t.tenant.policy_quota)).collect();
        let bank = self.tenant_id("meridian-bank").await;
        let approvals = store.list_approvals(&bank, false, 100).await.unwrap().into_iter().map(|a| (a.id, a.status)).collect();
        let audit_entries = store.search_audit(&charter_store::AuditScope::Everything, None, None, 10_000).await.unwrap().len();
        Snapshot { policies, catalog, sources, settings: store.platform_settings().await.unwrap(), quotas, approvals, audit_entries }
    }

    async fn tenant_id(&self, slug: &str) -> charter_store::TenantId {
        self.store.tenant_by_slug(slug).await.unwrap().unwrap().id
    }

    /// The id of the policy called `name`, whoever owns it.
    async fn policy_id(&self, name: &str) -> charter_store::PolicyId {
        let page = self.store.search_policies(&charter_store::PolicySearch::default(), 0, 200).await.unwrap();
        page.items.into_iter().find(|p| p.name == name).unwrap_or_else(|| panic!("the demo has `{name}`")).id
    }

    async fn tool_id(&self, name: &str) -> charter_store::ToolId {
        self.store.list_catalog(None).await.unwrap().into_iter().find(|t| t.name == name).unwrap_or_else(|| panic!("the demo catalog has `{name}`")).id
    }

    async fn source_id(&self, name: &str) -> charter_store::SourceId {
        self.store.list_tool_sources().await.unwrap().into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("the demo has source `{name}`")).id
    }

    /// Asks for a bank expense over $5,000 through the decision API, which waits for a manager.
    async fn pending_bank_approval(&self) -> charter_store::ApprovalId {
        let bank = self.tenant_id("meridian-bank").await;
        let system = charter_store::Actor::system();
        let key = self
            .store
            .create_api_key(&system, &bank, "console tests", charter_store::BoundAgents::default(), charter_store::KeyScopes::all())
            .await
            .unwrap()
            .secret;
        let request = Request::post("/api/v1/decide")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::from(r#"{"tool": "expense.submit", "args": {"amount": 10000}}"#))
            .unwrap();
        let reply = self.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(reply.body.contains("require_approval"), "{}", reply.body);
        let pending = self.store.list_approvals(&bank, true, 10).await.unwrap();
        assert_eq!(pending.len(), 1, "{pending:?}");
        pending[0].id.clone()
    }
}

/// A bundle for the import page, as the export writes it.
fn bundle(owner: &str, yaml: &str) -> String {
    let policy = charter_policy::Policy::from_yaml(yaml).unwrap();
    charter_policy::PolicyBundle::new(owner, vec![policy]).to_text(charter_policy::Format::Yaml).unwrap()
}

const NEW_SOURCE: &str = r#"{"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "sneaky.tool", "description": "A tool nobody asked for"}]}}"#;
const BANK_FINANCE: &str = "name: Finance controls\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: allow\n";

/// Every console write, with arguments that are valid for the demo data: (endpoint, form).
async fn every_write(console: &Console) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let finance = console.policy_id("Finance controls").await;
    let bot = console.policy_id("Support bot").await;
    let guardrails = console.policy_id("Platform guardrails").await;
    let sneaky_import = bundle("meridian-bank", "name: Sneaky import\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n");
    let approval = console.pending_bank_approval().await;
    let s = |text: &str| text.to_owned();
    vec![
        ("policies/save", vec![("id", finance.to_string()), ("version", s("1")), ("tenant_slug", s("meridian-bank")), ("text", s(BANK_FINANCE))]),
        (
            "policies/save",
            vec![
                ("version", s("0")),
                ("tenant_slug", s("meridian-bank")),
                ("text", s("name: Sneaky\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n")),
            ],
        ),
        ("policies/save", vec![("version", s("0")), ("text", s("name: Sneaky platform\nscope: platform\nrules:\n  - tool: \"db.*\"\n    effect: deny\n"))]),
        ("policies/delete", vec![("id", bot.to_string()), ("version", s("1")), ("tenant_slug", s("meridian-bank"))]),
        ("policies/delete", vec![("id", guardrails.to_string()), ("version", s("1"))]),
        ("policies/import", vec![("tenant_slug", s("meridian-bank")), ("text", sneaky_import), ("delete_missing", s("false")), ("apply", s("true"))]),
        ("tools/add_source", vec![("name", s("Sneaky source")), ("document", s(NEW_SOURCE)), ("enabled", s("true"))]),
        ("tools/toggle", vec![("id", console.tool_id("system.exec").await.to_string()), ("enabled", s("true"))]),
        ("tools/delete_source", vec![("id", console.source_id("Finance API").await.to_string())]),
        ("tenants/set_quota", vec![("slug", s("meridian-bank")), ("quota", s("1"))]),
        ("approvals/resolve", vec![("id", approval.to_string()), ("approve", s("true")), ("comment", s("looks fine"))]),
        ("keys/create", vec![("tenant", s("meridian-bank")), ("name", s("sneaky key")), ("agents", s("")), ("scopes", s("decide"))]),
    ]
}

fn form<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

impl Console {
    /// Posts `form` to a server function the way a browser submits a plain HTML form on `page`.
    async fn form_post(&self, path: &str, form: &[(&str, &str)], cookie: &str, page: &str) -> Reply {
        let body = form.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&");
        let request = Request::post(format!("/api/{path}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
            .header(header::REFERER, format!("http://localhost{page}"))
            .header(header::COOKIE, cookie);
        self.send(request.body(Body::from(body)).unwrap()).await
    }
}

#[tokio::test]
async fn a_plain_form_post_comes_back_to_its_page_with_a_message_shown_once() {
    let console = console().await;
    let owner = console.signed_in(OWNER).await;
    let page = "/tenants/rocketlane";

    let saved = console.form_post("tenants/set_quota", &[("slug", "rocketlane"), ("quota", "41")], &owner, page).await;
    assert_eq!(saved.status, StatusCode::FOUND, "{}", saved.body);
    assert_eq!(saved.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()), Some("/tenants/rocketlane"));
    let tenant = console.store.tenant_by_slug("rocketlane").await.unwrap().unwrap();
    assert_eq!(tenant.policy_quota, 41);
    // The next page carries the message; the one after does not.
    let next = console.page(page, Some(&owner)).await;
    assert_eq!(next.status, StatusCode::OK);
    assert!(next.body.contains("Policy quota set to 41."), "the message travels with the next page");
    // Rendered by the server as a toast of its own, so it shows without script too.
    assert!(next.body.contains(r#"data-testid="toast" class="flash-message"#), "the message is in the page's HTML");
    let again = console.page(page, Some(&owner)).await;
    assert!(!again.body.contains("Policy quota set to 41."), "a message is shown once");

    // Refused: back to the page with the error in the address, shown beside the form, and no message.
    let refused = console.form_post("tenants/set_quota", &[("slug", "rocketlane"), ("quota", "many")], &owner, page).await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    let location = refused.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap().to_owned();
    assert!(location.starts_with("http://localhost/tenants/rocketlane?") && location.contains("__err="), "{location}");
    assert_eq!(console.store.tenant_by_slug("rocketlane").await.unwrap().unwrap().policy_quota, 41, "nothing changed");
    let shown = console.page(location.trim_start_matches("http://localhost"), Some(&owner)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("Quota not changed") && shown.body.contains("many"), "the error is beside the form");
    assert!(!shown.body.contains("Policy quota set to"), "a refusal leaves no success message");

    // The console's own script shows the outcome itself: nothing is kept for the next page.
    let scripted = console.server_fn("tenants/set_quota", &[("slug", "rocketlane"), ("quota", "42")], Some(&owner)).await;
    assert_eq!(scripted.status, StatusCode::OK, "{}", scripted.body);
    assert!(!console.page(page, Some(&owner)).await.body.contains("Policy quota set to 42."));
}

#[tokio::test]
async fn approvals_and_keys_answer_plain_forms_and_refuse_another_tenants_ids() {
    let console = console().await;
    let bank = console.tenant_id("meridian-bank").await;
    let manager = console.signed_in(BANK_MANAGER).await;
    let startup_admin = console.signed_in(STARTUP_ADMIN).await;
    let bank_admin = console.signed_in(BANK_ADMIN).await;
    let location = |reply: &Reply| reply.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();

    // Another tenant's admin cannot answer the bank's approval: refused in the address, still pending.
    let approval = console.pending_bank_approval().await;
    let id = approval.to_string();
    let fields = [("id", id.as_str()), ("approve", "true"), ("comment", "not mine")];
    let refused = console.form_post("approvals/resolve", &fields, &startup_admin, "/approvals").await;
    assert_eq!(refused.status, StatusCode::FOUND, "{}", refused.body);
    assert!(location(&refused).contains("__err="), "{}", location(&refused));
    assert_eq!(console.store.get_approval(&bank, &approval).await.unwrap().status, charter_store::ApprovalStatus::Pending);

    // The bank's manager rejects it from the card's form; the next page says so once.
    let fields = [("id", id.as_str()), ("approve", "false"), ("comment", "too much")];
    let rejected = console.form_post("approvals/resolve", &fields, &manager, "/approvals").await;
    assert_eq!((rejected.status, location(&rejected).as_str()), (StatusCode::FOUND, "/approvals"), "{}", rejected.body);
    let resolved = console.store.get_approval(&bank, &approval).await.unwrap();
    assert_eq!((resolved.status, resolved.comment.as_deref()), (charter_store::ApprovalStatus::Rejected, Some("too much")));
    assert!(console.page("/approvals", Some(&manager)).await.body.contains("Rejected. The agent"), "the message travels with the next page");
    // Answered twice: refused, and the refusal is rendered above the queue.
    let again = console.form_post("approvals/resolve", &fields, &manager, "/approvals").await;
    let shown = console.page(location(&again).trim_start_matches("http://localhost"), Some(&manager)).await;
    assert!(shown.body.contains("Not resolved:"), "{}", location(&again));

    // A key of the bank: the startup's admin cannot revoke it, naming either tenant.
    let key = console
        .store
        .create_api_key(&charter_store::Actor::system(), &bank, "form test", charter_store::BoundAgents::default(), charter_store::KeyScopes::all())
        .await
        .unwrap()
        .info
        .id
        .to_string();
    for tenant in ["meridian-bank", "rocketlane"] {
        let refused = console.form_post("keys/revoke", &[("tenant", tenant), ("id", &key)], &startup_admin, "/keys").await;
        assert!(location(&refused).contains("__err="), "{tenant}: {}", location(&refused));
    }
    let revoked_at = |keys: Vec<charter_store::ApiKeyInfo>| keys.into_iter().find(|k| key == k.id).and_then(|k| k.revoked_at);
    assert_eq!(revoked_at(console.store.list_api_keys(&bank).await.unwrap()), None, "the key still works");
    let revoked = console.form_post("keys/revoke", &[("tenant", "meridian-bank"), ("id", &key)], &bank_admin, "/keys").await;
    assert_eq!((revoked.status, location(&revoked).as_str()), (StatusCode::FOUND, "/keys"), "{}", revoked.body);
    assert!(revoked_at(console.store.list_api_keys(&bank).await.unwrap()).is_some());
    assert!(console.page("/keys", Some(&bank_admin)).await.body.contains("Revoked form test (chk_"));
}

#[tokio::test]
async fn a_policys_history_restore_and_delete_work_as_plain_forms_and_refuse_another_tenant() {
    let console = console().await;
    let bank_admin = console.signed_in(BANK_ADMIN).await;
    let startup_admin = console.signed_in(STARTUP_ADMIN).await;
    let location = |reply: &Reply| reply.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let name = format!("Plain form history {}", rand_suffix());
    let document = |max: u32| {
        format!("name: {name}\nscope: tenant\nrules:\n  - tool: payments.transfer\n    effect: allow\n    limit:\n      args.amount: {{ max: {max} }}\n")
    };
    let saved = console.server_fn("policies/save", &[("version", "0"), ("text", &document(1000))], Some(&bank_admin)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let id = serde_json::from_str::<serde_json::Value>(&saved.body).unwrap()["id"].as_str().unwrap().to_owned();
    let saved = console.server_fn("policies/save", &[("id", &id), ("version", "1"), ("text", &document(2500))], Some(&bank_admin)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let page = format!("/policies/{id}");

    // The page has the history, the asked difference and the document in its HTML, without script.
    let shown = console.page(&format!("{page}?compare=1"), Some(&bank_admin)).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains(r#"data-testid="policy-history""#) && shown.body.contains("From v1 to v2"), "history and difference");
    assert!(shown.body.contains("max: 2500") && shown.body.contains("Saved version 2."), "the document, and the save's message");
    assert!(shown.body.contains("/api/policies/restore") && shown.body.contains("/api/policies/delete"), "restore and delete are plain forms");
    // Another tenant sees no such page, and neither restores nor deletes the policy.
    assert_eq!(console.page(&page, Some(&startup_admin)).await.status, StatusCode::NOT_FOUND);
    let restore = [("id", id.as_str()), ("version", "1"), ("expected", "2")];
    let refused = console.form_post("policies/restore", &restore, &startup_admin, &page).await;
    assert!(location(&refused).contains("__err="), "{}", location(&refused));
    let refused = console.form_post("policies/delete", &[("id", &id), ("version", "2")], &startup_admin, &page).await;
    assert!(location(&refused).contains("__err="), "{}", location(&refused));
    let version = |reply: Reply| serde_json::from_str::<serde_json::Value>(&reply.body).unwrap()["version"].as_i64();
    assert_eq!(version(console.server_fn("policies/load", &[("id", &id)], Some(&bank_admin)).await), Some(2), "nothing changed");

    // Restored by its owner: back to the page, which says so once, at version 3.
    let restored = console.form_post("policies/restore", &restore, &bank_admin, &page).await;
    assert_eq!((restored.status, location(&restored)), (StatusCode::FOUND, page.clone()), "{}", restored.body);
    let next = console.page(&page, Some(&bank_admin)).await;
    assert!(next.body.contains("Restored as version 3.") && next.body.contains("max: 1000"), "the restored document and the message");
    // A stale restore (the page said version 2) is refused and shown above the editor.
    let stale = console.form_post("policies/restore", &restore, &bank_admin, &page).await;
    let refusal = console.page(location(&stale).trim_start_matches("http://localhost"), Some(&bank_admin)).await;
    assert!(refusal.body.contains("Not restored:"), "{}", location(&stale));

    // Deleted by its owner: on to the policy list, which says so; the policy is gone.
    let deleted = console.form_post("policies/delete", &[("id", &id), ("version", "3")], &bank_admin, &page).await;
    assert_eq!((deleted.status, location(&deleted).as_str()), (StatusCode::FOUND, "/policies"), "{}", deleted.body);
    assert!(console.page("/policies", Some(&bank_admin)).await.body.contains("Policy deleted."));
    assert_eq!(console.page(&page, Some(&bank_admin)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_what_if_and_the_replay_answer_in_the_page_and_refuse_bad_input_and_another_tenant() {
    let console = console().await;
    let owner = console.signed_in(OWNER).await;
    let bank_admin = console.signed_in(BANK_ADMIN).await;

    // The what-if's question is the address; the server renders the answer beside the preview.
    let asked = console.page("/preview?tool=get_balance&args=%7B%7D&user=&roles=", Some(&bank_admin)).await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains(r#"data-testid="whatif-result""#), "the answer is in the page");
    assert!(asked.body.contains(r#"value="get_balance""#), "the question stays in the form");
    // Arguments that are not JSON: the page says so, with the field, and answers nothing.
    let bad = console.page("/preview?tool=get_balance&args=%7Bamount&user=&roles=", Some(&bank_admin)).await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.body.contains("not valid JSON") && !bad.body.contains(r#"data-testid="whatif-result""#), "refused, named");
    // Another tenant named in the address: no answer about its rules.
    let other = console.page("/preview?tenant=rocketlane&tool=get_balance&args=%7B%7D&user=&roles=", Some(&bank_admin)).await;
    assert!(!other.body.contains(r#"data-testid="whatif-result""#), "no answer for another tenant");

    // The replay of a draft: out of range or not a number is refused with its field; in range it
    // reports; a tenant admin has none.
    let draft = "name: Replay draft\nscope: platform\nrules:\n  - tool: nothing.here\n    effect: deny\n";
    let saved = console.server_fn("policies/save", &[("version", "0"), ("text", draft)], Some(&owner)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(console.page("/releases?replay=7", Some(&owner)).await.body.contains(r#"data-testid="replay-report""#));
    for days in ["0", "many", "91"] {
        let refused = console.page(&format!("/releases?replay={days}"), Some(&owner)).await;
        assert_eq!(refused.status, StatusCode::OK, "{days}");
        let alert = refused.body.split(r#"role="alert""#).nth(1).unwrap_or_default().chars().take(160).collect::<String>();
        assert!(alert.contains("days must be 1 to") && !refused.body.contains(r#"data-testid="replay-report""#), "{days}: {alert}");
    }
    let tenant = console.page("/releases?replay=7", Some(&bank_admin)).await;
    assert!(!tenant.body.contains(r#"data-testid="replay-report""#), "a tenant admin replays nothing of the platform's");
}

#[tokio::test]
async fn support_is_refused_every_write_and_nothing_changes() {
    let console = console().await;
    let support = console.signed_in(SUPPORT).await;
    let writes = every_write(&console).await;
    let before = console.snapshot().await;
    for (endpoint, fields) in &writes {
        let reply = console.server_fn(endpoint, &form(fields), Some(&support)).await;
        assert!(!reply.status.is_success(), "{endpoint} refuses support: {} {}", reply.status, reply.body);
        // Support is read-only everywhere; approving also needs a tenant, which support has none of.
        let expected = if *endpoint == "approvals/resolve" { "Forbidden" } else { "ReadOnly" };
        assert!(reply.body.contains(expected), "{endpoint} says {expected}: {}", reply.body);
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{endpoint} answers 403");
        assert_eq!(console.snapshot().await, before, "{endpoint}: nothing changed");
    }
}

#[tokio::test]
async fn the_same_writes_succeed_for_those_allowed_to_make_them() {
    // The control for the test above: the very same calls work for a platform admin (and the
    // approval for the bank's manager), so support's refusals come from its role alone.
    let console = console().await;
    let owner = console.signed_in(OWNER).await;
    let manager = console.signed_in(BANK_MANAGER).await;
    let writes = every_write(&console).await;
    let before = console.snapshot().await;
    for (endpoint, fields) in &writes {
        let cookie = if *endpoint == "approvals/resolve" { &manager } else { &owner };
        let reply = console.server_fn(endpoint, &form(fields), Some(cookie)).await;
        assert_eq!(reply.status, StatusCode::OK, "{endpoint}: {}", reply.body);
    }
    let after = console.snapshot().await;
    let names: Vec<&str> = after.policies.iter().map(|(name, _)| name.as_str()).collect();
    for (present, name) in [(true, "Sneaky"), (true, "Sneaky platform"), (true, "Sneaky import"), (false, "Support bot"), (false, "Platform guardrails")] {
        assert_eq!(names.contains(&name), present, "`{name}` in {names:?}");
    }
    assert!(after.policies.contains(&("Finance controls".to_owned(), 2)), "{:?}", after.policies);
    assert!(after.catalog.contains(&("system.exec".to_owned(), true)) && after.catalog.contains(&("sneaky.tool".to_owned(), true)), "{:?}", after.catalog);
    assert!(!after.catalog.iter().any(|(name, _)| name == "expense.submit"), "the removed source's tools are gone: {:?}", after.catalog);
    assert!(after.quotas.contains(&("meridian-bank".to_owned(), 1)), "{:?}", after.quotas);
    assert_eq!(after.approvals.iter().map(|(_, status)| status.as_str()).collect::<Vec<_>>(), ["approved"]);
    assert_eq!(after.audit_entries, before.audit_entries + writes.len(), "each write is audited once");
}

#[tokio::test]
async fn a_tenant_admin_loads_and_searches_only_their_own_policies() {
    let console = console().await;
    let bank_admin = console.signed_in(BANK_ADMIN).await;
    let owner = console.signed_in(OWNER).await;
    let own = console.policy_id("Finance controls").await;
    let foreign = console.policy_id("Move fast").await;
    let platform = console.policy_id("Platform guardrails").await;

    let loaded = console.server_fn("policies/load", &[("id", own.as_str())], Some(&bank_admin)).await;
    assert_eq!(loaded.status, StatusCode::OK, "{}", loaded.body);
    assert!(loaded.body.contains("expense.submit"), "{}", loaded.body);
    let missing = console.server_fn("policies/load", &[("id", "00000000-0000-0000-0000-000000000000")], Some(&bank_admin)).await;
    assert!(missing.body.contains("NotFound"), "{}", missing.body);
    for (what, id) in [("another tenant's policy", &foreign), ("a platform policy", &platform)] {
        let reply = console.server_fn("policies/load", &[("id", id.as_str())], Some(&bank_admin)).await;
        assert_eq!(reply.body, missing.body, "{what} looks exactly like a missing one");
        assert!(!reply.body.contains("Move fast") && !reply.body.contains("system.*"), "{what} leaks nothing: {}", reply.body);
    }
    let any = console.server_fn("policies/load", &[("id", foreign.as_str())], Some(&owner)).await;
    assert!(any.body.contains("Move fast"), "platform staff open any tenant's policy: {}", any.body);

    let rocketlane = console.tenant_id("rocketlane").await;
    let bank = console.tenant_id("meridian-bank").await;
    // Each check: who, the search asked for, and the policies the page holds.
    let checks: Vec<(&str, &str, serde_json::Value, Vec<&str>)> = vec![
        ("a tenant admin asking for another tenant", &bank_admin, serde_json::json!({ "tenant_id": rocketlane }), vec!["Finance controls", "Support bot"]),
        (
            "a tenant admin asking for platform defaults",
            &bank_admin,
            serde_json::json!({ "label": "platform_default" }),
            vec!["Finance controls", "Support bot"],
        ),
        ("a tenant admin asking for everything", &bank_admin, serde_json::json!({}), vec!["Finance controls", "Support bot"]),
        ("a tenant admin searching another tenant's text", &bank_admin, serde_json::json!({ "tenant_id": rocketlane, "text": "move" }), vec![]),
        ("platform staff asking for one tenant", &owner, serde_json::json!({ "tenant_id": rocketlane }), vec!["Move fast"]),
        ("platform staff asking for another", &owner, serde_json::json!({ "tenant_id": bank }), vec!["Finance controls", "Support bot"]),
        ("platform staff asking for platform defaults", &owner, serde_json::json!({ "label": "platform_default" }), vec!["Platform guardrails"]),
    ];
    for (what, cookie, search, expected) in checks {
        let reply = console.server_fn_json("policies/search", &serde_json::json!({ "search": search, "offset": 0 }), cookie).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.body);
        let page: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, expected, "{what}");
        assert_eq!(page["total"], expected.len(), "{what}");
    }

    // The address names a tenant by slug; "with the platform's policies" adds those that govern it,
    // for platform staff only.
    let by_slug: Vec<(&str, &str, serde_json::Value, Vec<&str>)> = vec![
        (
            "platform staff: a tenant with the platform's policies",
            &owner,
            serde_json::json!({ "search": { "include_platform": true }, "tenant": "meridian-bank", "offset": 0 }),
            vec!["Platform guardrails", "Finance controls", "Support bot"],
        ),
        (
            "platform staff: a tenant alone",
            &owner,
            serde_json::json!({ "search": {}, "tenant": "meridian-bank", "offset": 0 }),
            vec!["Finance controls", "Support bot"],
        ),
        (
            "a tenant admin naming another tenant with the platform's policies",
            &bank_admin,
            serde_json::json!({ "search": { "include_platform": true }, "tenant": "rocketlane", "offset": 0 }),
            vec!["Finance controls", "Support bot"],
        ),
        (
            "a tenant admin asking for the platform's policies",
            &bank_admin,
            serde_json::json!({ "search": { "include_platform": true, "tenant_id": bank }, "offset": 0 }),
            vec!["Finance controls", "Support bot"],
        ),
    ];
    for (what, cookie, body, expected) in by_slug {
        let reply = console.server_fn_json("policies/search", &body, cookie).await;
        assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.body);
        let page: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let names: Vec<&str> = page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, expected, "{what}");
    }
    let unknown = console.server_fn_json("policies/search", &serde_json::json!({ "search": {}, "tenant": "no-such-tenant", "offset": 0 }), &owner).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "an unknown tenant in the address: {}", unknown.body);
}

#[tokio::test]
async fn what_if_answers_without_writing_a_receipt() {
    let console = console().await;
    let bank_admin = console.signed_in(BANK_ADMIN).await;
    let bank = console.tenant_id("meridian-bank").await;
    let receipts_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts").fetch_one(console.store.pool()).await.unwrap();
    let before = console.snapshot().await;
    // Each check: agent, tool, arguments, and the verdict with a word of its reason.
    let checks = [
        ("support-bot", "payments.transfer", r#"{"amount": 50}"#, "deny", "never moves money"),
        ("", "payments.transfer", r#"{"amount": 50}"#, "allow", "payments up to"),
        ("", "expense.submit", r#"{"amount": 10000}"#, "require_approval", "manager"),
        ("", "system.exec", "{}", "deny", "not enabled"),
    ];
    for (agent, tool, args, verdict, reason) in checks {
        let fields = [("tenant_slug", "meridian-bank"), ("agent", agent), ("tool", tool), ("args", args), ("user", ""), ("roles", ""), ("release", "")];
        let reply = console.server_fn("preview/what_if", &fields, Some(&bank_admin)).await;
        assert_eq!(reply.status, StatusCode::OK, "{tool}: {}", reply.body);
        let answer: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(answer["verdict"], verdict, "{agent} {tool}: {answer}");
        assert!(answer["reason"].as_str().unwrap().contains(reason), "{agent} {tool}: {answer}");
    }
    let receipts_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM receipts").fetch_one(console.store.pool()).await.unwrap();
    assert_eq!(receipts_after, receipts_before, "a what-if writes no receipt");
    assert_eq!(console.store.count_receipts(&bank).await.unwrap(), 0);
    assert_eq!(console.snapshot().await, before, "nor an approval, an audit entry or anything else");

    // Another tenant's rules are not the tenant admin's to try.
    let fields = [("tenant_slug", "rocketlane"), ("agent", ""), ("tool", "deploy.production"), ("args", "{}"), ("user", ""), ("roles", ""), ("release", "")];
    let foreign = console.server_fn("preview/what_if", &fields, Some(&bank_admin)).await;
    assert!(foreign.body.contains("NotFound"), "{}", foreign.body);
}

/// Every response carries the security headers: pages, server functions, the API, static files,
/// errors and refusals. HSTS only behind https.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    const BASE: &str = "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'";
    let expected = [(header::X_FRAME_OPTIONS, "DENY"), (header::X_CONTENT_TYPE_OPTIONS, "nosniff"), (header::REFERRER_POLICY, "same-origin")];
    // Pages add a script policy with their own nonce, which the page's hydration script carries.
    let check = |what: &str, reply: &Reply, https: bool, page: bool| {
        for (name, value) in &expected {
            assert_eq!(reply.headers.get(name).and_then(|v| v.to_str().ok()), Some(*value), "{what}: {name}");
        }
        let hsts = reply.headers.get(header::STRICT_TRANSPORT_SECURITY).and_then(|v| v.to_str().ok());
        assert_eq!(hsts, https.then_some("max-age=31536000; includeSubDomains"), "{what}: HSTS");
        let policy = reply.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !page {
            assert_eq!(policy, BASE, "{what}");
            return;
        }
        let nonce = policy
            .strip_prefix(&format!("{BASE}; script-src 'self' 'nonce-"))
            .and_then(|rest| rest.strip_suffix("' 'wasm-unsafe-eval'"))
            .unwrap_or_else(|| panic!("{what}: {policy}"));
        assert!(nonce.len() >= 16 && nonce.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{what}: {nonce}");
        assert!(reply.body.contains(&format!("nonce=\"{nonce}\"")), "{what}: the page's script carries the header's nonce");
    };
    for https in [false, true] {
        let console = console_with(https).await;
        let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
        let login = console.send(get("/login")).await;
        check("the sign-in page", &login, https, true);
        let again = console.send(get("/login")).await;
        assert_ne!(login.headers.get(header::CONTENT_SECURITY_POLICY), again.headers.get(header::CONTENT_SECURITY_POLICY), "a fresh nonce per page");
        check("a missing page", &console.send(get("/no-such-page")).await, https, true);
        // A page that redirects before it renders keeps at least the base policy.
        let redirect = console.send(get("/policies")).await;
        for (name, value) in &expected {
            assert_eq!(redirect.headers.get(name).and_then(|v| v.to_str().ok()), Some(*value), "a redirect: {name}");
        }
        let policy = redirect.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(policy.starts_with(BASE), "a redirect: {policy}");
        check("the API", &console.send(get("/api/v1/openapi.json")).await, https, false);
        check("an API refusal", &console.send(get("/api/v1/policies")).await, https, false);
        check("the health check", &console.send(get("/healthz")).await, https, false);
        let ready = console.send(get("/readyz")).await;
        assert_eq!(ready.status, StatusCode::OK, "{}", ready.body);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&ready.body).unwrap(),
            serde_json::json!({ "ready": true, "database": "ok", "changes": "listening", "counters": "in this process" })
        );
        check("the readiness check", &ready, https, false);
        check("a refused sign-in", &console.server_fn("auth/login", &[("username", "nobody@x"), ("password", "wrong")], None).await, https, false);
        let forged = Request::post("/api/v1/keys").header(header::ORIGIN, "https://evil.example").body(Body::empty()).unwrap();
        let forged = console.send(forged).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        check("a cross-site refusal", &forged, https, false);
    }
}

#[tokio::test]
async fn a_new_policy_starts_from_the_template_its_address_names() {
    let console = console().await;
    let bank_admin = console.signed_in(BANK_ADMIN).await;
    let chosen = console.page("/policies/new?template=hipaa-phi", Some(&bank_admin)).await;
    assert_eq!(chosen.status, StatusCode::OK);
    assert!(chosen.body.contains("name: HIPAA PHI masking"), "the document is the template's");
    assert!(chosen.body.contains(r#"href="/policies/new?template=hipaa-phi" aria-current="true""#), "the template shows as chosen");
    assert!(!chosen.body.contains("does not exist"));

    // A key that names no template: the page says so without repeating it (an address anyone can
    // send puts no words of theirs on the page), and the document is blank.
    for (key, sent) in [("nope", "nope"), ("%3Cscript%3Eevil", "evil"), ("", "")] {
        let unknown = console.page(&format!("/policies/new?template={key}"), Some(&bank_admin)).await;
        assert_eq!(unknown.status, StatusCode::OK);
        assert!(unknown.body.contains("The template in the address does not exist"), "{key}: {}", unknown.body);
        assert!(sent.is_empty() || !unknown.body.contains(sent), "{key} is not repeated");
        assert!(!unknown.body.contains("aria-current"), "{key}: no template is chosen");
        assert!(unknown.body.contains("name: &quot;&quot;") || unknown.body.contains("name: \"\""), "{key}: the document is blank");
    }

    // Support may not create policies: no editor and no templates, whatever the address says.
    let support = console.signed_in(SUPPORT).await;
    let read_only = console.page("/policies/new?template=hipaa-phi", Some(&support)).await;
    assert!(read_only.body.contains(r#"data-testid="read-only-notice""#));
    assert!(!read_only.body.contains("HIPAA PHI masking"));
}

#[tokio::test]
async fn deleting_says_what_it_does_to_whose_policy() {
    let console = console().await;
    let save = |text: &'static str, who: String| {
        let console = &console;
        async move {
            let saved = console.server_fn("policies/save", &[("version", "0"), ("text", text)], Some(&who)).await;
            assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
            let id = serde_json::from_str::<serde_json::Value>(&saved.body).unwrap()["id"].as_str().unwrap().to_owned();
            console.page(&format!("/policies/{id}"), Some(&who)).await.body
        }
    };
    let tenant = save("name: Deleting a tenant policy\nscope: tenant\nrules: []\n", console.signed_in(BANK_ADMIN).await).await;
    assert!(tenant.contains("stops applying to the very next decision") && !tenant.contains("out of the draft"), "{tenant}");
    let platform = save("name: Deleting a platform policy\nscope: platform\nrules: []\n", console.signed_in(OWNER).await).await;
    assert!(platform.contains("takes the policy out of the draft") && !platform.contains("very next decision"), "{platform}");
}
