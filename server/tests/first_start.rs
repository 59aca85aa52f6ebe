//! The binary's first start on an empty database, as an operator meets it: no demo data and no
//! published password unless asked for, a refusal to start without a platform admin that says
//! exactly what to run, and `charter admin create-owner` to create one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use charter_store::Store;

/// The binary, with the environment cargo-leptos would give it and a database of its own.
fn charter(database: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CHARTER_DATABASE_URL", format!("sqlite://{}", database.display()))
        .env("LEPTOS_OUTPUT_NAME", "charter")
        .env("LEPTOS_SITE_ROOT", "target/site")
        .env("LEPTOS_SITE_PKG_DIR", "pkg")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("the binary runs")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn users(database: &Path) -> Vec<String> {
    let store = Store::connect(&format!("sqlite://{}", database.display())).await.unwrap();
    let names = store.list_all_users().await.unwrap().into_iter().map(|(user, _)| user.username).collect();
    store.close().await;
    names
}

#[tokio::test]
async fn a_fresh_database_gets_no_demo_and_no_default_admin() {
    let dir = tempdir();
    let database = dir.join("charter.db");
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");

    // Without CHARTER_SEED_DEMO the server seeds nothing and refuses to start, saying what to run.
    let refused = run(&mut charter(&database, &[], &[("LEPTOS_SITE_ADDR", &addr)]));
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(text(&refused).contains("charter admin create-owner"), "{}", text(&refused));
    assert!(users(&database).await.is_empty(), "no demo users, no default admin");

    // Bad input to create-owner is refused and writes nothing.
    let short = run(&mut charter(&database, &["admin", "create-owner"], &[("CHARTER_OWNER_EMAIL", "ops@acme.example"), ("CHARTER_OWNER_PASSWORD", "short")]));
    assert!(!short.status.success() && text(&short).contains("password"), "{}", text(&short));
    let no_terminal = run(&mut charter(&database, &["admin", "create-owner"], &[]));
    assert!(!no_terminal.status.success() && text(&no_terminal).contains("CHARTER_OWNER_EMAIL"), "{}", text(&no_terminal));
    assert!(users(&database).await.is_empty());

    let created = run(&mut charter(
        &database,
        &["admin", "create-owner"],
        &[("CHARTER_OWNER_EMAIL", "Ops@Acme.example"), ("CHARTER_OWNER_NAME", "Ops"), ("CHARTER_OWNER_PASSWORD", "a long passphrase")],
    ));
    assert!(created.status.success(), "{}", text(&created));
    assert_eq!(users(&database).await, ["ops@acme.example"]);

    // Now it serves, still without demo data, and the new owner signs in.
    let mut server = charter(&database, &[], &[("LEPTOS_SITE_ADDR", &addr)]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let client = reqwest_like::Client::new(&addr);
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get("/healthz").await.is_none() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signed_in = client.sign_in("ops@acme.example", "a long passphrase").await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(signed_in, 200);
    assert_eq!(users(&database).await, ["ops@acme.example"], "still no demo users");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("charter-first-start-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Just enough HTTP over a TCP socket for this test, so it needs no HTTP client crate.
mod reqwest_like {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    pub struct Client {
        addr: String,
    }

    impl Client {
        pub fn new(addr: &str) -> Client {
            Client { addr: addr.to_owned() }
        }

        async fn exchange(&self, request: String) -> Option<String> {
            let mut stream = TcpStream::connect(&self.addr).await.ok()?;
            stream.write_all(request.as_bytes()).await.ok()?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.ok()?;
            Some(answer)
        }

        pub async fn get(&self, path: &str) -> Option<String> {
            self.exchange(format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr))
                .await
                .filter(|answer| answer.starts_with("HTTP/1.1 200"))
        }

        /// The status of signing in through the console's login endpoint.
        pub async fn sign_in(&self, username: &str, password: &str) -> u16 {
            let body = format!("username={}&password={}", username.replace('@', "%40"), password.replace(' ', "+"));
            let request = format!(
                "POST /api/auth/login HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                self.addr,
                body.len()
            );
            let answer = self.exchange(request).await.unwrap_or_default();
            answer.split(' ').nth(1).and_then(|status| status.parse().ok()).unwrap_or(0)
        }
    }
}
