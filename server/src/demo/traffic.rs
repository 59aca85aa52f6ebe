//! `charter demo traffic`: a gentle live stream of the demo tenants' agents' calls against a
//! running Charter, through its public API as any agent would make them. It signs in as each demo
//! tenant's admin, makes a "Demo traffic (live)" key, then asks for decisions at the given pace
//! until stopped (or `--count` of them), printing a tally now and then.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::Value;

use super::calls::{draw, request_body};
use super::TENANTS;

/// How the stream runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Traffic {
    /// Where Charter listens, e.g. `http://127.0.0.1:3000`.
    pub url: String,
    /// The demo logins' password.
    pub password: String,
    /// Decisions per second.
    pub per_second: f64,
    /// Stop after this many decisions; `None` runs until interrupted.
    pub count: Option<u64>,
}

pub const USAGE: &str = "charter demo traffic [--url URL] [--rate DECISIONS_PER_SECOND] [--count N]";

impl Traffic {
    /// Reads `--url`, `--rate` and `--count`; the URL defaults to `default_url`, the pace to two
    /// decisions a second.
    pub fn from_args(args: &[&str], default_url: &str, password: &str) -> Result<Traffic, String> {
        let mut traffic = Traffic { url: default_url.to_owned(), password: password.to_owned(), per_second: 2.0, count: None };
        let mut rest = args.iter();
        while let Some(flag) = rest.next() {
            let value = rest.next().ok_or_else(|| format!("`{flag}` needs a value\nusage: {USAGE}"))?;
            match *flag {
                // A local demo's address; this client speaks no TLS.
                "--url" if value.starts_with("http://") => traffic.url = value.trim_end_matches('/').to_owned(),
                "--url" => return Err(format!("`--url` is the demo's http:// address, such as http://127.0.0.1:3000, not `{value}`")),
                "--rate" => {
                    traffic.per_second = value
                        .parse()
                        .ok()
                        .filter(|rate: &f64| *rate > 0.0 && *rate <= 1_000.0)
                        .ok_or_else(|| format!("`--rate` is decisions per second, more than 0 and at most 1000, not `{value}`"))?
                }
                "--count" => traffic.count = Some(value.parse().map_err(|_| format!("`--count` is a whole number of decisions, not `{value}`"))?),
                other => return Err(format!("unknown option `{other}`\nusage: {USAGE}")),
            }
        }
        Ok(traffic)
    }
}

/// Decisions asked so far, by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub allow: u64,
    pub deny: u64,
    pub require_approval: u64,
    /// Answers other than a decision (the server refused or could not be reached).
    pub failed: u64,
}

impl Tally {
    pub fn total(&self) -> u64 {
        self.allow + self.deny + self.require_approval + self.failed
    }
}

/// Runs the stream; returns the tally when `count` decisions were asked.
pub async fn run(traffic: &Traffic) -> Result<Tally, String> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|err| err.to_string())?;
    let mut keys = Vec::new();
    for demo in TENANTS {
        let admin = demo.people.iter().find(|person| person.2 == charter_store::Role::TenantAdmin).ok_or_else(|| format!("`{}` has no admin", demo.slug))?;
        keys.push((demo.slug, api_key(&client, &traffic.url, admin.0, &traffic.password).await?));
    }
    let mut rng = StdRng::from_entropy();
    let mut tally = Tally::default();
    let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / traffic.per_second));
    println!("  asking {} for {} decisions a second; stop with Ctrl-C", traffic.url, traffic.per_second);
    while traffic.count.is_none_or(|count| tally.total() < count) {
        pace.tick().await;
        let Some((slug, key)) = keys.get(rng.gen_range(0..keys.len())) else { break };
        let Some(input) = draw(slug, &mut rng) else { continue };
        let answer = client
            .post(format!("{}/api/v1/decide", traffic.url))
            .bearer_auth(key)
            .header(CONTENT_TYPE, "application/json")
            .body(request_body(&input).to_string())
            .send()
            .await;
        let verdict = match answer {
            Ok(answer) if answer.status().is_success() => {
                let body: Value = serde_json::from_slice(&answer.bytes().await.map_err(|err| err.to_string())?).unwrap_or_default();
                body.get("decision").and_then(Value::as_str).map(str::to_owned)
            }
            Ok(answer) => {
                eprintln!("  {slug}: {} answered {}", input.tool, answer.status());
                None
            }
            Err(err) => {
                eprintln!("  {slug}: {err}");
                None
            }
        };
        match verdict.as_deref() {
            Some("allow") => tally.allow += 1,
            Some("deny") => tally.deny += 1,
            Some("require_approval") => tally.require_approval += 1,
            _ => tally.failed += 1,
        }
        if tally.total() % 20 == 0 {
            println!(
                "  {} decisions: {} allowed, {} denied, {} awaiting approval, {} failed",
                tally.total(),
                tally.allow,
                tally.deny,
                tally.require_approval,
                tally.failed
            );
        }
    }
    Ok(tally)
}

/// The name of the keys the stream makes; a new run revokes the keys of the runs before it.
const KEY_NAME: &str = "Demo traffic (live)";

/// Signs in as `username`, revokes the keys earlier runs made, and makes a key that may ask for
/// decisions.
async fn api_key(client: &reqwest::Client, url: &str, username: &str, password: &str) -> Result<String, String> {
    let unreachable = |err: reqwest::Error| format!("cannot reach Charter at {url}: {err}");
    let login = client
        .post(format!("{url}/api/auth/login"))
        .header(reqwest::header::ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form_urlencoded::Serializer::new(String::new()).append_pair("username", username).append_pair("password", password).finish())
        .send()
        .await
        .map_err(unreachable)?;
    if !login.status().is_success() {
        return Err(format!("`{username}` could not sign in at {url} ({}): is it the demo, with this password (CHARTER_DEMO_PASSWORD)?", login.status()));
    }
    let cookies: Vec<String> = login
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .map(str::to_owned)
        .collect();
    let cookie = cookies.join("; ");
    let listed = client.get(format!("{url}/api/v1/keys")).header(COOKIE, &cookie).send().await.map_err(unreachable)?;
    let keys: Value = serde_json::from_slice(&listed.bytes().await.map_err(unreachable)?).unwrap_or_default();
    let earlier = keys.as_array().into_iter().flatten().filter(|key| key["name"] == KEY_NAME && key["revoked_at"].is_null());
    for key in earlier {
        if let Some(id) = key["id"].as_str() {
            client.delete(format!("{url}/api/v1/keys/{id}")).header(COOKIE, &cookie).send().await.map_err(unreachable)?;
        }
    }
    let created = client
        .post(format!("{url}/api/v1/keys"))
        .header(COOKIE, &cookie)
        .header(CONTENT_TYPE, "application/json")
        .body(serde_json::json!({"name": KEY_NAME, "scopes": ["decide"]}).to_string())
        .send()
        .await
        .map_err(unreachable)?;
    if !created.status().is_success() {
        return Err(format!("`{username}` could not make an API key ({})", created.status()));
    }
    let body: Value = serde_json::from_slice(&created.bytes().await.map_err(unreachable)?).map_err(|err| err.to_string())?;
    body.get("secret").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| "the new key's secret is missing from the answer".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str], expected: Result<(f64, Option<u64>, &str), &str>) {
        let actual = Traffic::from_args(args, "http://127.0.0.1:3000", "pw").map(|t| (t.per_second, t.count, t.url));
        match (actual, expected) {
            (Ok((rate, count, url)), Ok((want_rate, want_count, want_url))) => {
                assert_eq!((rate, count, url.as_str()), (want_rate, want_count, want_url), "{args:?}")
            }
            (Err(message), Err(want)) => assert!(message.contains(want), "{args:?}: {message}"),
            (actual, expected) => panic!("{args:?}: {actual:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn options_are_read_and_bad_ones_named() {
        check(&[], Ok((2.0, None, "http://127.0.0.1:3000")));
        check(&["--rate", "0.5", "--count", "10", "--url", "http://localhost:8080/"], Ok((0.5, Some(10), "http://localhost:8080")));
        check(&["--rate", "0"], Err("`--rate`"));
        check(&["--rate", "fast"], Err("not `fast`"));
        check(&["--count", "-1"], Err("`--count`"));
        check(&["--count"], Err("`--count` needs a value"));
        check(&["--verbose", "1"], Err("unknown option `--verbose`"));
        check(&["--url", "https://charter.example"], Err("http:// address"));
    }
}
