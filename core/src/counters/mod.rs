//! The counters of rate limits, budgets and sessions: in this process for a single node, or in
//! Redis, shared by every replica, when `CHARTER_REDIS_URL` is set.

mod redis;

use std::time::Duration;

use charter_policy::{CounterUnavailable, InMemoryRateCounter, RateCounter, RateKey, SessionHistory, SessionKey, Spend};

pub use self::redis::{RedisCounters, RedisError};

/// Where the counters live.
#[derive(Debug)]
pub enum Counters {
    /// In this process: fixed windows aligned to the epoch; a restart forgets them.
    Local(InMemoryRateCounter),
    /// In Redis: every replica counts against the same limits (rate limits in sliding windows).
    Shared(std::sync::Arc<RedisCounters>),
}

impl Default for Counters {
    fn default() -> Counters {
        Counters::Local(InMemoryRateCounter::new())
    }
}

impl Counters {
    /// Whether the counters answer: `None` when they live in this process.
    pub async fn answer(&self) -> Option<bool> {
        match self {
            Counters::Local(_) => None,
            Counters::Shared(redis) => Some(redis.ping().await),
        }
    }

    fn counter(&self) -> &dyn RateCounter {
        match self {
            Counters::Local(local) => local,
            Counters::Shared(redis) => &**redis,
        }
    }

    /// The sign-in throttle that counts where these counters do: in this process, or in Redis
    /// for every replica.
    pub fn login_throttle(&self) -> crate::LoginThrottle {
        match self {
            Counters::Local(_) => crate::LoginThrottle::default(),
            Counters::Shared(redis) => crate::LoginThrottle::new(redis.clone()),
        }
    }
}

impl RateCounter for Counters {
    fn hit(&self, key: &RateKey, window: Duration, limit: u64, now_ms: u64) -> Result<u64, CounterUnavailable> {
        self.counter().hit(key, window, limit, now_ms)
    }

    fn refund(&self, key: &RateKey, window: Duration, now_ms: u64) {
        self.counter().refund(key, window, now_ms);
    }

    fn peek(&self, key: &RateKey, window: Duration, now_ms: u64) -> Result<u64, CounterUnavailable> {
        self.counter().peek(key, window, now_ms)
    }

    fn spend(&self, key: &RateKey, amount: f64, max: f64, window: Duration, now_ms: u64) -> Result<Spend, CounterUnavailable> {
        self.counter().spend(key, amount, max, window, now_ms)
    }

    fn refund_spend(&self, key: &RateKey, amount: f64, window: Duration, now_ms: u64) {
        self.counter().refund_spend(key, amount, window, now_ms);
    }

    fn spent(&self, key: &RateKey, window: Duration, now_ms: u64) -> Result<f64, CounterUnavailable> {
        self.counter().spent(key, window, now_ms)
    }

    fn session(&self, key: &SessionKey, now_ms: u64) -> Result<SessionHistory, CounterUnavailable> {
        self.counter().session(key, now_ms)
    }

    fn remember(&self, key: &SessionKey, tool: &str, now_ms: u64) -> Result<(), CounterUnavailable> {
        self.counter().remember(key, tool, now_ms)
    }

    fn forget(&self, key: &SessionKey, tool: &str) {
        self.counter().forget(key, tool);
    }
}
