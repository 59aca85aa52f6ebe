//! Throwaway databases for tests: a fresh SQLite file always, and a fresh PostgreSQL database when
//! the server at 127.0.0.1:5432 (or `CHARTER_TEST_POSTGRES_URL`) answers. Skipping PostgreSQL
//! prints a loud banner; under CI (or `CHARTER_REQUIRE_POSTGRES=1`) a missing server fails the
//! test instead, so CI never silently skips the second backend. `CHARTER_TEST_DATABASES=sqlite`
//! (or `postgres`) runs one backend only, to tell failures apart.
#![allow(clippy::expect_used, clippy::panic)]

use std::any::Any;
use std::future::Future;
use std::path::PathBuf;

use charter_policy::Verdict;
use charter_store::{Receipt, ReceiptId, Store, TenantId};
use sqlx::{Connection, Executor, PgConnection};

mod proxy;
pub use proxy::Proxy;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") || std::env::var("CHARTER_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// A name no other test (or test run) uses.
pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}_{}_{}", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}

enum Cleanup {
    Directory(PathBuf),
    Postgres { admin: PgConnection, name: String },
}

/// One migrated, empty database and what removes it.
pub struct TestDatabase {
    pub backend: &'static str,
    pub store: Store,
    cleanup: Cleanup,
}

impl TestDatabase {
    /// Closes the store and removes the database.
    pub async fn remove(self) {
        self.store.close().await;
        match self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { mut admin, name } => {
                admin.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str()).await.expect("drop test database");
            }
        }
    }
}

/// The SQLite database, then the PostgreSQL one if it can be had.
pub async fn databases(prefix: &str) -> Vec<TestDatabase> {
    let only = std::env::var("CHARTER_TEST_DATABASES").unwrap_or_default();
    let mut databases = Vec::new();
    if only != "postgres" {
        let dir = std::env::temp_dir().join(format!("charter-{prefix}-test-{}", unique_suffix()));
        let store = Store::connect(&format!("sqlite://{}/charter.db", dir.display())).await.expect("sqlite store opens");
        databases.push(TestDatabase { backend: "SQLite", store, cleanup: Cleanup::Directory(dir) });
    }
    if only == "sqlite" {
        return databases;
    }
    if let Some((database, _)) = postgres_database(prefix).await {
        databases.push(database);
    }
    databases
}

/// A new, migrated PostgreSQL database and its URL; `None`, with a loud banner, when PostgreSQL
/// cannot be reached outside CI (under CI that fails the test).
async fn postgres_database(prefix: &str) -> Option<(TestDatabase, String)> {
    let admin_url = std::env::var("CHARTER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let mut admin = match PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(err) => {
            let banner =
                format!("\n{bar}\n!! POSTGRESQL TESTS SKIPPED: cannot reach {admin_url}: {err}\n!! Only SQLite was tested.\n{bar}\n", bar = "!".repeat(78));
            // Straight to stderr: libtest captures `eprintln!` of passing tests, and this must be seen.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
            assert!(!postgres_required(), "PostgreSQL is required here (CI or CHARTER_REQUIRE_POSTGRES=1): {err}");
            return None;
        }
    };
    let name = format!("charter_{prefix}_test_{}", unique_suffix());
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
    let (base, _) = admin_url.rsplit_once('/').expect("the admin url has a database part");
    let url = format!("{base}/{name}");
    let store = Store::connect(&url).await.expect("postgres store opens");
    Some((TestDatabase { backend: "PostgreSQL", store, cleanup: Cleanup::Postgres { admin, name } }, url))
}

/// A new, migrated PostgreSQL database alone, for what only PostgreSQL has (partitions, replicas,
/// restarts), and its URL; `None` outside CI when PostgreSQL cannot be reached.
pub async fn postgres(prefix: &str) -> Option<(TestDatabase, String)> {
    postgres_database(prefix).await
}

/// Two replicas: two stores, each with its own caches and change listener, on one new PostgreSQL
/// database; and what removes both. `None` outside CI when PostgreSQL cannot be reached.
pub async fn postgres_replicas(prefix: &str) -> Option<(Store, Store, Replicas)> {
    let (database, url) = postgres_database(prefix).await?;
    let second = Store::connect(&url).await.expect("the second replica opens");
    Some((database.store.clone(), second.clone(), Replicas { database, second }))
}

/// What [`postgres_replicas`] opened, to close and remove.
pub struct Replicas {
    database: TestDatabase,
    second: Store,
}

impl Replicas {
    pub async fn remove(self) {
        self.second.close().await;
        self.database.remove().await;
    }
}

/// Runs `test` against every database in turn. The body runs as its own task, so a failing
/// assertion still lets its database be removed before the failure is passed on.
pub async fn each_database<F, Fut>(prefix: &str, test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for database in databases(prefix).await {
        let outcome: Result<(), Box<dyn Any + Send>> =
            tokio::spawn(test(database.store.clone())).await.map_err(|err| if err.is_panic() { err.into_panic() } else { Box::new(err.to_string()) });
        let backend = database.backend;
        database.remove().await;
        if let Err(panic) = outcome {
            eprintln!("the test failed on {backend}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// A receipt of `tenant_id` at `created_at` (ms) with a fresh time-ordered id: agent `bot`, tool
/// `docs.read`, verdict `allow` and empty JSON elsewhere. Tests override what they look at.
pub fn receipt(tenant_id: &TenantId, created_at: i64) -> Receipt {
    Receipt {
        id: ReceiptId::new(uuid::Uuid::now_v7().to_string()),
        tenant_id: tenant_id.clone(),
        api_key_id: None,
        agent: Some("bot".into()),
        principal: "{}".into(),
        tool: "docs.read".into(),
        args: "{}".into(),
        args_digest: "0".repeat(64),
        verdict: Verdict::Allow,
        reason: "test".into(),
        decision: "{}".into(),
        policy_versions: "{}".into(),
        approval_id: None,
        latency_us: 1,
        created_at,
        platform_release: None,
        tenant_revision: None,
        context: None,
        shadow_of: None,
        shadow_verdict: charter_store::ShadowVerdict(None),
        shadow_rule: None,
        result_digest: None,
    }
}

/// Publishes the platform's draft and promotes the release to every tenant, as a platform admin
/// would after editing platform policies or settings: until then, tenants do not run the edits.
pub async fn release_platform(store: &Store) {
    let system = charter_store::Actor::system();
    let release = store.publish_release(&system, "test").await.expect("the draft holds a change to publish");
    store.promote_release(&system, release.number, &charter_store::Promotion::All).await.expect("promoting to all");
}

/// A tenant admin of `tenant_id` named `username`, with a password nobody needs.
pub async fn tenant_admin(store: &Store, tenant_id: &TenantId, username: &str) -> charter_store::User {
    let admin = charter_store::NewUser {
        username: username.into(),
        display_name: "Admin".into(),
        role: charter_store::Role::TenantAdmin,
        tenant_id: Some(tenant_id.clone()),
        approver_roles: vec![],
        password: "correct horse battery".into(),
    };
    store.create_user(admin).await.expect("the tenant admin is created")
}

/// The Redis server for tests (127.0.0.1:6379, or `CHARTER_TEST_REDIS_URL`) and a key prefix no
/// other test uses; `None`, with a loud banner, when it cannot be reached outside CI (under CI, or
/// with `CHARTER_REQUIRE_POSTGRES=1`, that fails the test: CI never skips the shared counters).
pub fn redis() -> Option<(String, String)> {
    let url = std::env::var("CHARTER_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let address = url.trim_start_matches("redis://").split('/').next().unwrap_or("127.0.0.1:6379").to_owned();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(address.as_str())
        .ok()
        .and_then(|mut addresses| addresses.next())
        .and_then(|address| std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(1)).ok());
    if reachable.is_none() {
        let banner = format!("\n{bar}\n!! REDIS TESTS SKIPPED: cannot reach {url}\n!! The shared counters were not tested.\n{bar}\n", bar = "!".repeat(78));
        let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
        assert!(!postgres_required(), "Redis is required here (CI or CHARTER_REQUIRE_POSTGRES=1): cannot reach {url}");
        return None;
    }
    Some((url, format!("charter-test-{}", unique_suffix())))
}
