//! Configuration from the environment, with defaults that run a demo on an embedded database.

use axum::http::HeaderName;
use thiserror::Error;

/// The database used when none is configured: an SQLite file under `./data/`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/charter.db";
/// The password every demo login gets unless `CHARTER_DEMO_PASSWORD` says otherwise.
pub const DEFAULT_DEMO_PASSWORD: &str = "charter-demo";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `CHARTER_DATABASE_URL` (or `DATABASE_URL`): `sqlite://path` or `postgres://…`.
    pub database_url: String,
    /// `CHARTER_SEED_DEMO`: seed demo tenants and users into an empty database (default off;
    /// `scripts/run` turns it on).
    pub seed_demo: bool,
    /// `CHARTER_DEMO_PASSWORD`: the demo users' password.
    pub demo_password: String,
    /// `CHARTER_PUBLIC_URL`: where browsers reach the console; the only origin a cookie-carrying
    /// state-changing request may come from. Unset: the request's own host.
    pub public_url: Option<String>,
    /// Session cookies carry `Secure` when `CHARTER_PUBLIC_URL` is https.
    pub secure_cookies: bool,
    /// `CHARTER_CLIENT_IP_HEADER`: a header a trusted reverse proxy sets to the client's address
    /// (e.g. `X-Forwarded-For`; its last entry is used). Unset: the connection's peer address.
    pub client_ip_header: Option<HeaderName>,
    /// `CHARTER_REDIS_URL`: where rate limits, budgets and sessions are counted for every replica
    /// (`redis://host:port/db`). Unset: in this process.
    pub redis_url: Option<String>,
    /// `CHARTER_REDIS_PREFIX`: what every key of Charter's in Redis starts with (default `charter`),
    /// so several deployments can share one Redis.
    pub redis_prefix: String,
    /// `CHARTER_METRICS_TOKEN`: what a Prometheus scraper sends as a bearer token to read
    /// `/metrics`. Unset: only a loopback peer may read them.
    pub metrics_token: Option<String>,
    /// `CHARTER_LOG_FORMAT`: `text` (the default) or `json`, one object per line.
    pub log_format: LogFormat,
    /// `CHARTER_UPSTREAM_TIMEOUT_MS`: how long the MCP gateway waits for an upstream MCP server to
    /// connect or answer a call (default 30,000).
    pub upstream_timeout: std::time::Duration,
    /// `CHARTER_POLICY_CACHE_MB`: the memory budget of the tenants' compiled policy sets kept in
    /// memory, in MiB (default 256); past it the least used are compiled again on their next use.
    pub policy_cache_bytes: u64,
}

/// How the server writes its logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    /// `CHARTER_LOG_FORMAT` from the process environment, read before anything else so that even
    /// configuration errors are logged in the format asked for.
    pub fn from_env() -> Result<LogFormat, ConfigError> {
        LogFormat::parse(std::env::var("CHARTER_LOG_FORMAT").ok().filter(|v| !v.trim().is_empty()).as_deref())
    }

    fn parse(value: Option<&str>) -> Result<LogFormat, ConfigError> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(_) => Err(ConfigError::BadLogFormat(value.unwrap_or_default().to_owned())),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("`{name}` must be true or false, got `{value}`")]
    NotABool { name: &'static str, value: String },
    #[error("`CHARTER_DEMO_PASSWORD` must be at least 8 characters")]
    DemoPasswordTooShort,
    #[error("`CHARTER_PUBLIC_URL` must start with http:// or https://, got `{0}`")]
    BadPublicUrl(String),
    #[error("`CHARTER_CLIENT_IP_HEADER` must be a header name, got `{0}`")]
    BadHeaderName(String),
    #[error("`CHARTER_REDIS_URL` must start with redis:// or rediss://, got `{0}`")]
    BadRedisUrl(String),
    #[error("`CHARTER_LOG_FORMAT` must be text or json, got `{0}`")]
    BadLogFormat(String),
    #[error("`CHARTER_UPSTREAM_TIMEOUT_MS` must be a number of milliseconds from 1 to 600000, got `{0}`")]
    BadUpstreamTimeout(String),
    #[error("`CHARTER_POLICY_CACHE_MB` must be a number of MiB from 1 to 1048576, got `{0}`")]
    BadPolicyCache(String),
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let database_url = lookup("CHARTER_DATABASE_URL").or_else(|| lookup("DATABASE_URL")).unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let seed_demo = match lookup("CHARTER_SEED_DEMO") {
            None => false,
            Some(value) => parse_bool("CHARTER_SEED_DEMO", &value)?,
        };
        let demo_password = lookup("CHARTER_DEMO_PASSWORD").unwrap_or_else(|| DEFAULT_DEMO_PASSWORD.to_owned());
        if demo_password.chars().count() < 8 {
            return Err(ConfigError::DemoPasswordTooShort);
        }
        let public_url = lookup("CHARTER_PUBLIC_URL").map(|url| url.trim().trim_end_matches('/').to_owned());
        let secure_cookies = match &public_url {
            None => false,
            Some(url) if url.starts_with("https://") => true,
            Some(url) if url.starts_with("http://") => false,
            Some(url) => return Err(ConfigError::BadPublicUrl(url.clone())),
        };
        let client_ip_header = match lookup("CHARTER_CLIENT_IP_HEADER") {
            None => None,
            Some(name) => Some(HeaderName::try_from(name.trim()).map_err(|_| ConfigError::BadHeaderName(name.clone()))?),
        };
        let redis_url = lookup("CHARTER_REDIS_URL").map(|url| url.trim().to_owned());
        if let Some(url) = redis_url.as_ref().filter(|url| !url.starts_with("redis://") && !url.starts_with("rediss://")) {
            return Err(ConfigError::BadRedisUrl(url.clone()));
        }
        let redis_prefix = lookup("CHARTER_REDIS_PREFIX").map(|prefix| prefix.trim().to_owned()).unwrap_or_else(|| "charter".to_owned());
        let metrics_token = lookup("CHARTER_METRICS_TOKEN").map(|token| token.trim().to_owned());
        let log_format = LogFormat::parse(lookup("CHARTER_LOG_FORMAT").as_deref())?;
        let upstream_timeout = match lookup("CHARTER_UPSTREAM_TIMEOUT_MS") {
            None => charter_core::DEFAULT_UPSTREAM_TIMEOUT,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(ms @ 1..=600_000) => std::time::Duration::from_millis(ms),
                _ => return Err(ConfigError::BadUpstreamTimeout(text)),
            },
        };
        let policy_cache_bytes = match lookup("CHARTER_POLICY_CACHE_MB") {
            None => charter_store::DEFAULT_POLICY_CACHE_BYTES,
            Some(text) => match text.trim().parse::<u64>() {
                Ok(mib @ 1..=1_048_576) => mib << 20,
                _ => return Err(ConfigError::BadPolicyCache(text)),
            },
        };
        Ok(Config {
            database_url,
            seed_demo,
            demo_password,
            public_url,
            secure_cookies,
            client_ip_header,
            redis_url,
            redis_prefix,
            metrics_token,
            log_format,
            upstream_timeout,
            policy_cache_bytes,
        })
    }
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ConfigError::NotABool { name, value: value.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vars: &[(&str, &str)], expected: Result<Config, ConfigError>) {
        let lookup = |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned());
        assert_eq!(Config::from_lookup(lookup), expected, "{vars:?}");
    }

    fn defaults() -> Config {
        Config {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            seed_demo: false,
            demo_password: DEFAULT_DEMO_PASSWORD.to_owned(),
            public_url: None,
            secure_cookies: false,
            client_ip_header: None,
            redis_url: None,
            redis_prefix: "charter".to_owned(),
            metrics_token: None,
            log_format: LogFormat::Text,
            upstream_timeout: charter_core::DEFAULT_UPSTREAM_TIMEOUT,
            policy_cache_bytes: charter_store::DEFAULT_POLICY_CACHE_BYTES,
        }
    }

    #[test]
    fn configuration_from_the_environment() {
        check(&[], Ok(defaults()));
        check(&[("DATABASE_URL", "postgres://x/y")], Ok(Config { database_url: "postgres://x/y".into(), ..defaults() }));
        check(
            &[("DATABASE_URL", "postgres://x/y"), ("CHARTER_DATABASE_URL", "sqlite://a.db")],
            Ok(Config { database_url: "sqlite://a.db".into(), ..defaults() }),
        );
        check(&[("CHARTER_SEED_DEMO", "on")], Ok(Config { seed_demo: true, ..defaults() }));
        check(&[("CHARTER_SEED_DEMO", "off")], Ok(Config { seed_demo: false, ..defaults() }));
        check(&[("CHARTER_SEED_DEMO", "maybe")], Err(ConfigError::NotABool { name: "CHARTER_SEED_DEMO", value: "maybe".into() }));
        check(&[("CHARTER_DEMO_PASSWORD", "short")], Err(ConfigError::DemoPasswordTooShort));
        check(
            &[("CHARTER_PUBLIC_URL", "https://charter.example/")],
            Ok(Config { secure_cookies: true, public_url: Some("https://charter.example".into()), ..defaults() }),
        );
        check(&[("CHARTER_PUBLIC_URL", "ftp://x")], Err(ConfigError::BadPublicUrl("ftp://x".into())));
        check(
            &[("CHARTER_REDIS_URL", "redis://127.0.0.1:6379/0"), ("CHARTER_REDIS_PREFIX", "eu")],
            Ok(Config { redis_url: Some("redis://127.0.0.1:6379/0".into()), redis_prefix: "eu".into(), ..defaults() }),
        );
        check(&[("CHARTER_REDIS_URL", "127.0.0.1:6379")], Err(ConfigError::BadRedisUrl("127.0.0.1:6379".into())));
        check(
            &[("CHARTER_LOG_FORMAT", "JSON"), ("CHARTER_METRICS_TOKEN", "s3cret")],
            Ok(Config { log_format: LogFormat::Json, metrics_token: Some("s3cret".into()), ..defaults() }),
        );
        check(&[("CHARTER_UPSTREAM_TIMEOUT_MS", "2500")], Ok(Config { upstream_timeout: std::time::Duration::from_millis(2500), ..defaults() }));
        check(&[("CHARTER_POLICY_CACHE_MB", " 64 ")], Ok(Config { policy_cache_bytes: 64 << 20, ..defaults() }));
        check(&[("CHARTER_POLICY_CACHE_MB", "0")], Err(ConfigError::BadPolicyCache("0".into())));
        check(&[("CHARTER_POLICY_CACHE_MB", "lots")], Err(ConfigError::BadPolicyCache("lots".into())));
        check(&[("CHARTER_UPSTREAM_TIMEOUT_MS", "0")], Err(ConfigError::BadUpstreamTimeout("0".into())));
        check(&[("CHARTER_UPSTREAM_TIMEOUT_MS", "soon")], Err(ConfigError::BadUpstreamTimeout("soon".into())));
        check(&[("CHARTER_LOG_FORMAT", "xml")], Err(ConfigError::BadLogFormat("xml".into())));
        check(
            &[("CHARTER_CLIENT_IP_HEADER", "X-Forwarded-For")],
            Ok(Config { client_ip_header: Some(HeaderName::from_static("x-forwarded-for")), ..defaults() }),
        );
        check(&[("CHARTER_CLIENT_IP_HEADER", "not a header")], Err(ConfigError::BadHeaderName("not a header".into())));
    }
}
