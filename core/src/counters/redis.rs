//! Counters in Redis, shared by every replica. Each operation is one Lua script, so a check and
//! its update are atomic across replicas: two calls at once on two replicas cannot both take the
//! last call of a limit or the last of a budget.
//!
//! Rate limits count in a sliding window (a sorted set of the calls of the last window), so a
//! burst at the edge of a fixed window cannot double a limit; budgets keep running totals in fixed
//! windows aligned to the epoch, as on a single node; a session is a hash of its tools' counts.
//!
//! The engine is pure and synchronous, so these calls block: on tokio's multi-threaded runtime they
//! run under `block_in_place` (the runtime moves its other tasks off this worker), with short
//! timeouts. After a failure the counters answer "unavailable" at once for a second instead of
//! waiting on a dead server, and the engine refuses the calls that needed them (fail closed).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use charter_policy::{CounterUnavailable, RateCounter, RateKey, SessionHistory, SessionKey, Spend, MAX_SESSION_TOOLS, SESSION_TTL_MS};
use redis::{Connection, RedisResult, Script};

use crate::throttle::{self, Failures, SignInRecords};

/// How long one connection attempt, read or write may take.
const TIMEOUT: Duration = Duration::from_millis(250);
/// After a failure, how long the counters answer "unavailable" without trying.
const PAUSE_AFTER_FAILURE_MS: u64 = 1_000;
/// Connections kept open for the next operations.
const MAX_IDLE: usize = 16;

/// Records a call unless the window holds `limit` already; returns the count with this call.
static HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then return count + 1 end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return count + 1
",
    )
});

/// Takes back one call recorded at exactly `now`.
static REFUND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local found = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, 1)
if found[1] then redis.call('ZREM', KEYS[1], found[1]) end
return 0
",
    )
});

/// Counts the calls of the window ending now.
static PEEK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
return redis.call('ZCARD', KEYS[1])
",
    )
});

/// Adds an amount unless it would take the total over the maximum; returns the total before and
/// whether it was added (as text: Lua would truncate a number to an integer).
static SPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local before = tonumber(redis.call('GET', KEYS[1]) or '0')
if before + tonumber(ARGV[1]) <= tonumber(ARGV[2]) then
  redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {tostring(before), 1}
end
return {tostring(before), 0}
",
    )
});

/// Takes back an amount, never below zero, only while the window's total exists.
static REFUND_SPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  local total = tonumber(redis.call('INCRBYFLOAT', KEYS[1], '-' .. ARGV[1]))
  if total < 0 then redis.call('SET', KEYS[1], '0', 'KEEPTTL') end
end
return 0
",
    )
});

/// Adds one call of a tool to a session, unless the session holds the most tools already.
static REMEMBER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
",
    )
});

/// Takes back one call of a tool from a session.
static FORGET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
end
return 0
",
    )
});

/// The address of the Redis server could not be read.
#[derive(Debug, thiserror::Error)]
#[error("`CHARTER_REDIS_URL` is not a Redis address ({0})")]
pub struct RedisError(String);

/// Rate limits, budgets and sessions in one Redis database, under one key prefix.
pub struct RedisCounters {
    client: redis::Client,
    /// Every key starts with it (`charter` in production; a fresh one per test).
    prefix: String,
    /// Keys the hash that names the sign-in throttle's records (usernames, client addresses), so
    /// that whoever reads Redis cannot test a guess against them. Every replica has the same one.
    sign_in_mac: hmac::Hmac<sha2::Sha256>,
    idle: Mutex<Vec<Connection>>,
    /// Until when (ms since the epoch) operations fail without trying, after a failure.
    paused_until_ms: AtomicU64,
    errors: AtomicU64,
}

impl std::fmt::Debug for RedisCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCounters").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RedisCounters {
    /// Counters at `url` (`redis://host:port/db`), naming sign-in records with a hash keyed by
    /// `sign_in_secret` (the same on every replica: `Store::server_secret`). Nothing is connected
    /// yet: a server that is down now is tried again on each use, and `/readyz` says whether it
    /// answers.
    pub fn new(url: &str, prefix: &str, sign_in_secret: &[u8]) -> Result<RedisCounters, RedisError> {
        use hmac::Mac;
        let client = redis::Client::open(url).map_err(|err| RedisError(err.to_string()))?;
        // HMAC takes a key of any length: this refuses nothing.
        let sign_in_mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(sign_in_secret).map_err(|err| RedisError(err.to_string()))?;
        Ok(RedisCounters {
            client,
            prefix: prefix.to_owned(),
            sign_in_mac,
            idle: Mutex::new(Vec::new()),
            paused_until_ms: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        })
    }

    /// How many operations have failed since the start.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Whether the server answers a `PING` now.
    pub async fn ping(&self) -> bool {
        let client = self.client.clone();
        let answered = tokio::task::spawn_blocking(move || -> RedisResult<()> {
            let mut connection = client.get_connection_with_timeout(TIMEOUT)?;
            connection.set_read_timeout(Some(TIMEOUT))?;
            redis::cmd("PING").query::<String>(&mut connection).map(|_| ())
        })
        .await;
        matches!(answered, Ok(Ok(())))
    }

    fn key(&self, kind: &str, name: &dyn std::fmt::Display) -> String {
        format!("{}:{kind}:{name}", self.prefix)
    }

    fn open(&self) -> RedisResult<Connection> {
        let connection = self.client.get_connection_with_timeout(TIMEOUT)?;
        connection.set_read_timeout(Some(TIMEOUT))?;
        connection.set_write_timeout(Some(TIMEOUT))?;
        Ok(connection)
    }

    /// Runs one operation on a pooled connection. A failure drops the connection, pauses the
    /// counters for a moment and says what happened in words an agent may read.
    fn run<T>(&self, operation: impl FnOnce(&mut Connection) -> RedisResult<T>) -> Result<T, CounterUnavailable> {
        let now = u64::try_from(charter_store::now_ms()).unwrap_or(0);
        if now < self.paused_until_ms.load(Ordering::Relaxed) {
            return Err(CounterUnavailable("Redis failed a moment ago".to_owned()));
        }
        let attempt = || -> RedisResult<T> {
            let pooled = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
            let mut connection = match pooled {
                Some(connection) => connection,
                None => self.open()?,
            };
            let answer = operation(&mut connection)?;
            let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(connection);
            }
            Ok(answer)
        };
        blocking(attempt).map_err(|err| {
            self.errors.fetch_add(1, Ordering::Relaxed);
            charter_store::metrics().redis_errors.inc();
            self.paused_until_ms.store(now.saturating_add(PAUSE_AFTER_FAILURE_MS), Ordering::Relaxed);
            tracing::warn!(error = %err, "the shared counters in Redis failed; calls that need them are refused for a moment");
            CounterUnavailable(describe(&err))
        })
    }

    /// Runs an operation whose failure only loses a refund: logged, never refused.
    fn run_quietly(&self, what: &str, operation: impl FnOnce(&mut Connection) -> RedisResult<()>) {
        if let Err(err) = self.run(operation) {
            tracing::warn!(error = %err, "could not {what} in Redis");
        }
    }
}

/// Runs blocking IO from inside the engine: under `block_in_place` on a multi-threaded runtime,
/// so the runtime's other tasks move to another worker meanwhile; directly elsewhere.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// What went wrong, without addresses or internals.
fn describe(err: &redis::RedisError) -> String {
    if err.is_timeout() {
        "Redis did not answer in time".to_owned()
    } else if err.is_connection_refusal() {
        "Redis refused the connection".to_owned()
    } else if err.is_connection_dropped() || err.is_io_error() {
        "the connection to Redis was lost".to_owned()
    } else {
        "Redis answered with an error".to_owned()
    }
}

fn window_ms(window: Duration) -> u64 {
    u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The fixed window (aligned to the epoch) that `now_ms` falls in: its start and length.
fn fixed_window(window: Duration, now_ms: u64) -> (u64, u64) {
    let length = window_ms(window);
    (now_ms - now_ms % length, length)
}

impl RateCounter for RedisCounters {
    fn hit(&self, key: &RateKey, window: Duration, limit: u64, now_ms: u64) -> Result<u64, CounterUnavailable> {
        let redis_key = self.key("rate", key);
        // Calls in one millisecond need members of their own.
        let member = format!("{now_ms}:{}", uuid::Uuid::new_v4().simple());
        self.run(|connection| HIT.key(&redis_key).arg(now_ms).arg(window_ms(window)).arg(limit).arg(&member).invoke(connection))
    }

    fn refund(&self, key: &RateKey, _window: Duration, now_ms: u64) {
        let redis_key = self.key("rate", key);
        self.run_quietly("refund a call", |connection| REFUND.key(&redis_key).arg(now_ms).invoke::<i64>(connection).map(drop));
    }

    fn peek(&self, key: &RateKey, window: Duration, now_ms: u64) -> Result<u64, CounterUnavailable> {
        let redis_key = self.key("rate", key);
        self.run(|connection| PEEK.key(&redis_key).arg(now_ms).arg(window_ms(window)).invoke(connection))
    }

    fn spend(&self, key: &RateKey, amount: f64, max: f64, window: Duration, now_ms: u64) -> Result<Spend, CounterUnavailable> {
        let (start, length) = fixed_window(window, now_ms);
        let redis_key = self.key("budget", &format_args!("{key}:{start}"));
        let (before, accepted): (String, i64) = self.run(|connection| SPEND.key(&redis_key).arg(amount).arg(max).arg(length).invoke(connection))?;
        let before = before.parse::<f64>().map_err(|_| CounterUnavailable("Redis answered with an error".to_owned()))?;
        Ok(Spend { before, accepted: accepted == 1 })
    }

    fn refund_spend(&self, key: &RateKey, amount: f64, window: Duration, now_ms: u64) {
        let (start, _) = fixed_window(window, now_ms);
        let redis_key = self.key("budget", &format_args!("{key}:{start}"));
        self.run_quietly("refund an amount", |connection| REFUND_SPEND.key(&redis_key).arg(amount).invoke::<i64>(connection).map(drop));
    }

    fn spent(&self, key: &RateKey, window: Duration, now_ms: u64) -> Result<f64, CounterUnavailable> {
        let (start, _) = fixed_window(window, now_ms);
        let redis_key = self.key("budget", &format_args!("{key}:{start}"));
        let total: Option<String> = self.run(|connection| redis::cmd("GET").arg(&redis_key).query(connection))?;
        Ok(total.and_then(|total| total.parse().ok()).unwrap_or(0.0))
    }

    fn session(&self, key: &SessionKey, _now_ms: u64) -> Result<SessionHistory, CounterUnavailable> {
        let redis_key = self.key("session", key);
        let calls: Vec<(String, u64)> = self.run(|connection| redis::cmd("HGETALL").arg(&redis_key).query(connection))?;
        Ok(SessionHistory { calls })
    }

    fn remember(&self, key: &SessionKey, tool: &str, _now_ms: u64) -> Result<(), CounterUnavailable> {
        let redis_key = self.key("session", key);
        self.run(|connection| REMEMBER.key(&redis_key).arg(tool).arg(MAX_SESSION_TOOLS).arg(SESSION_TTL_MS).invoke::<i64>(connection).map(drop))
    }

    fn forget(&self, key: &SessionKey, tool: &str) {
        let redis_key = self.key("session", key);
        self.run_quietly("forget a session call", |connection| FORGET.key(&redis_key).arg(tool).invoke::<i64>(connection).map(drop));
    }
}

/// The sign-in throttle's counts, shared by every replica. Keys are hashed: no username or
/// address is written to Redis as it is.
impl SignInRecords for RedisCounters {
    fn failures(&self, keys: &[String], _now_ms: u64) -> Result<Vec<Option<Failures>>, CounterUnavailable> {
        let redis_keys: Vec<String> = keys.iter().map(|key| self.sign_in_key("signin-failures", key)).collect();
        let rows: Vec<(Option<u32>, Option<u64>)> = self.run(|connection| {
            let mut pipe = redis::pipe();
            for key in &redis_keys {
                pipe.cmd("HMGET").arg(key).arg("count").arg("last");
            }
            pipe.query(connection)
        })?;
        Ok(rows.into_iter().map(|(count, last_ms)| Some(Failures { count: count?, last_ms: last_ms? })).collect())
    }

    fn fail(&self, keys: &[String], now_ms: u64) -> Result<(), CounterUnavailable> {
        let redis_keys: Vec<String> = keys.iter().map(|key| self.sign_in_key("signin-failures", key)).collect();
        self.run(|connection| {
            let mut pipe = redis::pipe();
            pipe.atomic();
            for key in &redis_keys {
                pipe.cmd("HINCRBY").arg(key).arg("count").arg(1).ignore();
                pipe.cmd("HSET").arg(key).arg("last").arg(now_ms).ignore();
                pipe.cmd("PEXPIRE").arg(key).arg(window_ms(throttle::WINDOW)).ignore();
            }
            pipe.query::<()>(connection)
        })
    }

    fn clear(&self, key: &str) -> Result<(), CounterUnavailable> {
        let redis_key = self.sign_in_key("signin-failures", key);
        self.run(|connection| redis::cmd("DEL").arg(&redis_key).query::<i64>(connection).map(drop))
    }

    fn is_usual(&self, pair: &str, _now_ms: u64) -> Result<bool, CounterUnavailable> {
        let redis_key = self.sign_in_key("signin-usual", pair);
        self.run(|connection| redis::cmd("EXISTS").arg(&redis_key).query::<i64>(connection).map(|found| found == 1))
    }

    fn mark_usual(&self, pair: &str, now_ms: u64) -> Result<(), CounterUnavailable> {
        let redis_key = self.sign_in_key("signin-usual", pair);
        self.run(|connection| redis::cmd("SET").arg(&redis_key).arg(now_ms).arg("PX").arg(window_ms(throttle::USUAL_FOR)).query::<()>(connection))
    }
}

impl RedisCounters {
    /// A sign-in record's key: HMAC-SHA256 of what it counts (a username, an address, or both),
    /// keyed by the replicas' shared secret, never the plain text or its plain hash.
    fn sign_in_key(&self, kind: &str, key: &str) -> String {
        use hmac::Mac;
        let mut mac = self.sign_in_mac.clone();
        mac.update(key.as_bytes());
        self.key(kind, &hex::encode(mac.finalize().into_bytes()))
    }
}
