//! Runs a test body against every database Charter supports: a throwaway SQLite file always, and a
//! throwaway PostgreSQL database when the server at 127.0.0.1:5432 (or CHARTER_TEST_POSTGRES_URL)
//! answers. Skipping PostgreSQL prints a loud banner; under CI (or CHARTER_REQUIRE_POSTGRES=1) a
//! missing server fails the test instead, so CI can never silently skip the second backend.

use std::future::Future;

use charter_store::Store;
use sqlx::{Connection, Executor, PgConnection};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn postgres_required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
        || std::env::var("CHARTER_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

pub async fn each_database<F, Fut>(test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = std::env::temp_dir().join(format!("charter-store-test-{}", uuid_like()));
    let sqlite_url = format!("sqlite://{}/charter.db", dir.display());
    let store = Store::connect(&sqlite_url).await.expect("sqlite store opens");
    test(store.clone()).await;
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);

    let admin_url = std::env::var("CHARTER_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let mut admin = match PgConnection::connect(&admin_url).await {
        Ok(conn) => conn,
        Err(err) => {
            let banner = format!(
                "\n{bar}\n!! POSTGRESQL TESTS SKIPPED: cannot reach {admin_url}: {err}\n!! Only SQLite was tested.\n{bar}\n",
                bar = "!".repeat(78)
            );
            // Straight to stderr: libtest captures `eprintln!` of passing tests, and this must be seen.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), banner.as_bytes());
            assert!(!postgres_required(), "PostgreSQL is required here (CI or CHARTER_REQUIRE_POSTGRES=1): {err}");
            return;
        }
    };
    let db_name = format!("charter_test_{}", uuid_like());
    admin.execute(format!("CREATE DATABASE {db_name}").as_str()).await.expect("create test database");
    let (base, _) = admin_url.rsplit_once('/').expect("admin url has a database part");
    let store = Store::connect(&format!("{base}/{db_name}")).await.expect("postgres store opens");
    test(store.clone()).await;
    store.close().await;
    admin.execute(format!("DROP DATABASE {db_name} WITH (FORCE)").as_str()).await.expect("drop test database");
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{}_{}", std::process::id(), nanos)
}
