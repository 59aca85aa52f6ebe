//! Rate limiting: the engine decides which counters a call hits; a `RateCounter` keeps them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::RateKeyKind;
use crate::request::DecisionRequest;

/// Names one counter: whose calls (`per` and `subject`), to which tools (the rule's tool match as
/// written) and over which window. Rules anywhere in the hierarchy that limit the same tools with
/// the same window and key share one counter, and the lowest of their limits applies to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateKey {
    pub per: RateKeyKind,
    /// The tenant id, or `tenant/agent`, `tenant/user` or `tenant/key`.
    pub subject: String,
    pub tool: String,
    pub window_secs: u64,
}

impl RateKey {
    pub(crate) fn new(
        per: RateKeyKind,
        req: &DecisionRequest,
        tool: &str,
        window_secs: u64,
    ) -> Self {
        let tenant = req.tenant_id().unwrap_or("-");
        let subject = match per {
            RateKeyKind::Tenant => tenant.to_string(),
            RateKeyKind::Agent => format!("{tenant}/{}", req.agent.as_deref().unwrap_or("-")),
            RateKeyKind::User => {
                format!("{tenant}/{}", req.principal.user.as_deref().unwrap_or("-"))
            }
            RateKeyKind::Key => format!("{tenant}/{}", req.api_key().unwrap_or("-")),
        };
        RateKey {
            per,
            subject,
            tool: tool.to_string(),
            window_secs,
        }
    }
}

impl fmt::Display for RateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}s",
            self.per, self.subject, self.tool, self.window_secs
        )
    }
}

/// Counts calls. Implementations must be safe to share between request handlers.
pub trait RateCounter: Send + Sync {
    /// Records one call at `now_ms` (milliseconds since the Unix epoch) and returns the number of
    /// calls in the current window, this one included.
    fn hit(&self, key: &RateKey, window: Duration, now_ms: u64) -> u64;

    /// Takes back one call recorded by [`RateCounter::hit`] at `now_ms`: the decision it counted
    /// for was never answered (its receipt could not be written), so it must not use up quota.
    /// Nothing happens when that call's window has already ended.
    fn refund(&self, key: &RateKey, window: Duration, now_ms: u64);
}

/// A process-local counter with fixed windows aligned to the epoch (a one-minute window runs
/// from one whole minute to the next). Good for one server; a shared store backs several.
#[derive(Debug, Default)]
pub struct InMemoryRateCounter {
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    counts: HashMap<RateKey, Bucket>,
    hits_since_sweep: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    window_start_ms: u64,
    window_ms: u64,
    count: u64,
}

/// Expired buckets are swept every so many hits, so memory follows the live keys.
const SWEEP_EVERY: u64 = 4_096;

impl InMemoryRateCounter {
    pub fn new() -> Self {
        Self::default()
    }
}

impl RateCounter for InMemoryRateCounter {
    fn hit(&self, key: &RateKey, window: Duration, now_ms: u64) -> u64 {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let window_start_ms = now_ms - now_ms % window_ms;
        // A poisoned lock only means another thread panicked mid-update; the counts are still
        // usable, and refusing to count would turn every later call into an error.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        buckets.hits_since_sweep += 1;
        if buckets.hits_since_sweep >= SWEEP_EVERY {
            buckets.hits_since_sweep = 0;
            buckets
                .counts
                .retain(|_, b| b.window_start_ms.saturating_add(b.window_ms) > now_ms);
        }
        let bucket = buckets.counts.entry(key.clone()).or_insert(Bucket {
            window_start_ms,
            window_ms,
            count: 0,
        });
        if bucket.window_start_ms != window_start_ms {
            *bucket = Bucket {
                window_start_ms,
                window_ms,
                count: 0,
            };
        }
        bucket.count += 1;
        bucket.count
    }

    fn refund(&self, key: &RateKey, window: Duration, now_ms: u64) {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let window_start_ms = now_ms - now_ms % window_ms;
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bucket) = buckets.counts.get_mut(key) {
            if bucket.window_start_ms == window_start_ms {
                bucket.count = bucket.count.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_within_a_window_and_resets_after() {
        let counter = InMemoryRateCounter::new();
        let key = RateKey {
            per: RateKeyKind::Tenant,
            subject: "t1".into(),
            tool: "*".into(),
            window_secs: 60,
        };
        let minute = Duration::from_secs(60);
        assert_eq!(counter.hit(&key, minute, 60_000), 1);
        assert_eq!(counter.hit(&key, minute, 119_999), 2);
        assert_eq!(counter.hit(&key, minute, 120_000), 1);
    }

    #[test]
    fn a_refund_takes_back_one_call_of_its_own_window_only() {
        let counter = InMemoryRateCounter::new();
        let key = RateKey {
            per: RateKeyKind::Agent,
            subject: "t1/bot".into(),
            tool: "*".into(),
            window_secs: 60,
        };
        let minute = Duration::from_secs(60);
        assert_eq!(counter.hit(&key, minute, 60_000), 1);
        assert_eq!(counter.hit(&key, minute, 60_001), 2);
        counter.refund(&key, minute, 60_001);
        assert_eq!(counter.hit(&key, minute, 60_002), 2);
        // A refund for a window that has ended leaves the new window alone.
        assert_eq!(counter.hit(&key, minute, 120_000), 1);
        counter.refund(&key, minute, 60_002);
        assert_eq!(counter.hit(&key, minute, 120_001), 2);
    }
}
