//! HTTP-level tests of the console: sign-in, sessions, throttling and the server-side role checks,
//! driven through the real router with `oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
    let dir = std::env::temp_dir().join(format!("charter-console-test-{}-{}", std::process::id(), charter_store::now_ms()))
        .join(format!("{}", rand_suffix()));
    let store = Store::connect(&format!("sqlite://{}/charter.db", dir.display())).await.unwrap();
    seed_if_empty(&store, PASSWORD).await.unwrap().expect("an empty database gets the demo");
    let options = LeptosOptions::builder().output_name("charter").site_root("target/site").build();
    Console { router: app(options, Services::new(store), secure_cookies), _dir: TempDir(dir) }
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
        let mut request = Request::post(format!("/api/{path}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).unwrap()).await
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
    // Another user is not locked out by someone guessing at the bank admin.
    assert!(console.login(STARTUP_ADMIN, PASSWORD).await.session_cookie().is_some());
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
