//! Rate limits and budgets: the engine decides which counters a call hits and what it adds to
//! them; a `RateCounter` keeps them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::RateKeyKind;
use crate::request::DecisionRequest;
use crate::session::{SessionHistory, SessionKey, SESSION_TTL_MS};

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

/// The counters could not be reached (a shared store such as Redis is down or too slow). The
/// engine fails closed: a call that a rate limit, a budget or a session rule would have counted is
/// denied, naming this as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the shared counters are unavailable ({0})")]
pub struct CounterUnavailable(pub String);

/// Counts calls. Implementations must be safe to share between request handlers.
pub trait RateCounter: Send + Sync {
    /// Records one call at `now_ms` (milliseconds since the Unix epoch) unless the window already
    /// holds `limit` calls, and returns the number of calls in the window with this one included
    /// (so more than `limit` means the call was refused and not recorded: a refused call uses no
    /// quota).
    fn hit(
        &self,
        key: &RateKey,
        window: Duration,
        limit: u64,
        now_ms: u64,
    ) -> Result<u64, CounterUnavailable>;

    /// Takes back one call recorded by [`RateCounter::hit`] at `now_ms`: the decision it counted
    /// for was never answered (its receipt could not be written), so it must not use up quota.
    /// Nothing happens when that call's window has already ended.
    fn refund(&self, key: &RateKey, window: Duration, now_ms: u64);

    /// The calls counted in the current window, without counting one (for the what-if preview).
    fn peek(&self, key: &RateKey, window: Duration, now_ms: u64)
        -> Result<u64, CounterUnavailable>;

    /// Adds `amount` to the running total of a budget in the current window, unless that would
    /// take it over `max`; the check and the addition are one step, so two calls at once cannot
    /// both take the last of a budget.
    fn spend(
        &self,
        key: &RateKey,
        amount: f64,
        max: f64,
        window: Duration,
        now_ms: u64,
    ) -> Result<Spend, CounterUnavailable>;

    /// Takes back an amount added by [`RateCounter::spend`] at `now_ms` (its decision was never
    /// answered, or a later limit denied it). Nothing happens when that window has ended.
    fn refund_spend(&self, key: &RateKey, amount: f64, window: Duration, now_ms: u64);

    /// The running total of a budget in the current window (for the what-if preview).
    fn spent(
        &self,
        key: &RateKey,
        window: Duration,
        now_ms: u64,
    ) -> Result<f64, CounterUnavailable>;

    /// What the session did so far (the calls that went ahead); empty for a session not seen,
    /// or not seen for [`SESSION_TTL_MS`].
    fn session(&self, key: &SessionKey, now_ms: u64) -> Result<SessionHistory, CounterUnavailable>;

    /// Remembers that a call of `tool` went ahead in the session.
    fn remember(&self, key: &SessionKey, tool: &str, now_ms: u64)
        -> Result<(), CounterUnavailable>;

    /// Forgets one call remembered by [`RateCounter::remember`] (its decision was never answered).
    fn forget(&self, key: &SessionKey, tool: &str);
}

/// What [`RateCounter::spend`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spend {
    /// The total of the window before this call.
    pub before: f64,
    /// Whether the amount was added (it fit under the maximum).
    pub accepted: bool,
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
    totals: HashMap<RateKey, Total>,
    sessions: HashMap<SessionKey, (u64, SessionHistory)>,
    hits_since_sweep: u64,
}

#[derive(Debug, Clone, Copy)]
struct Total {
    window_start_ms: u64,
    window_ms: u64,
    total: f64,
}

fn window_of(window: Duration, now_ms: u64) -> (u64, u64) {
    let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
    (now_ms - now_ms % window_ms, window_ms)
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

    fn buckets(&self) -> std::sync::MutexGuard<'_, Buckets> {
        // A poisoned lock only means another thread panicked mid-update; the counts are still
        // usable, and refusing to count would turn every later call into an error.
        self.buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl RateCounter for InMemoryRateCounter {
    fn hit(
        &self,
        key: &RateKey,
        window: Duration,
        limit: u64,
        now_ms: u64,
    ) -> Result<u64, CounterUnavailable> {
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
        if bucket.count >= limit {
            return Ok(bucket.count.saturating_add(1));
        }
        bucket.count += 1;
        Ok(bucket.count)
    }

    fn refund(&self, key: &RateKey, window: Duration, now_ms: u64) {
        let (window_start_ms, _) = window_of(window, now_ms);
        let mut buckets = self.buckets();
        if let Some(bucket) = buckets.counts.get_mut(key) {
            if bucket.window_start_ms == window_start_ms {
                bucket.count = bucket.count.saturating_sub(1);
            }
        }
    }

    fn peek(
        &self,
        key: &RateKey,
        window: Duration,
        now_ms: u64,
    ) -> Result<u64, CounterUnavailable> {
        let (window_start_ms, _) = window_of(window, now_ms);
        Ok(self
            .buckets()
            .counts
            .get(key)
            .filter(|bucket| bucket.window_start_ms == window_start_ms)
            .map_or(0, |bucket| bucket.count))
    }

    fn spend(
        &self,
        key: &RateKey,
        amount: f64,
        max: f64,
        window: Duration,
        now_ms: u64,
    ) -> Result<Spend, CounterUnavailable> {
        let (window_start_ms, window_ms) = window_of(window, now_ms);
        let mut buckets = self.buckets();
        if buckets.totals.len() >= SWEEP_EVERY as usize {
            buckets
                .totals
                .retain(|_, t| t.window_start_ms.saturating_add(t.window_ms) > now_ms);
        }
        let total = buckets.totals.entry(key.clone()).or_insert(Total {
            window_start_ms,
            window_ms,
            total: 0.0,
        });
        if total.window_start_ms != window_start_ms {
            *total = Total {
                window_start_ms,
                window_ms,
                total: 0.0,
            };
        }
        let before = total.total;
        let accepted = before + amount <= max;
        if accepted {
            total.total = before + amount;
        }
        Ok(Spend { before, accepted })
    }

    fn refund_spend(&self, key: &RateKey, amount: f64, window: Duration, now_ms: u64) {
        let (window_start_ms, _) = window_of(window, now_ms);
        if let Some(total) = self.buckets().totals.get_mut(key) {
            if total.window_start_ms == window_start_ms {
                total.total = (total.total - amount).max(0.0);
            }
        }
    }

    fn session(&self, key: &SessionKey, now_ms: u64) -> Result<SessionHistory, CounterUnavailable> {
        Ok(self
            .buckets()
            .sessions
            .get(key)
            .filter(|(last_ms, _)| last_ms.saturating_add(SESSION_TTL_MS) > now_ms)
            .map(|(_, history)| history.clone())
            .unwrap_or_default())
    }

    fn remember(
        &self,
        key: &SessionKey,
        tool: &str,
        now_ms: u64,
    ) -> Result<(), CounterUnavailable> {
        let mut buckets = self.buckets();
        if buckets.sessions.len() >= SWEEP_EVERY as usize && !buckets.sessions.contains_key(key) {
            buckets
                .sessions
                .retain(|_, (last_ms, _)| last_ms.saturating_add(SESSION_TTL_MS) > now_ms);
        }
        let (last_ms, history) = buckets.sessions.entry(key.clone()).or_default();
        if last_ms.saturating_add(SESSION_TTL_MS) <= now_ms {
            *history = SessionHistory::default();
        }
        *last_ms = now_ms;
        history.add(tool);
        Ok(())
    }

    fn forget(&self, key: &SessionKey, tool: &str) {
        if let Some((_, history)) = self.buckets().sessions.get_mut(key) {
            history.remove(tool);
        }
    }

    fn spent(
        &self,
        key: &RateKey,
        window: Duration,
        now_ms: u64,
    ) -> Result<f64, CounterUnavailable> {
        let (window_start_ms, _) = window_of(window, now_ms);
        Ok(self
            .buckets()
            .totals
            .get(key)
            .filter(|total| total.window_start_ms == window_start_ms)
            .map_or(0.0, |total| total.total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(per: RateKeyKind, subject: &str, tool: &str, window_secs: u64) -> RateKey {
        RateKey {
            per,
            subject: subject.into(),
            tool: tool.into(),
            window_secs,
        }
    }

    #[test]
    fn counts_within_a_window_and_resets_after() {
        let counter = InMemoryRateCounter::new();
        let key = key(RateKeyKind::Tenant, "t1", "*", 60);
        let minute = Duration::from_secs(60);
        assert_eq!(counter.hit(&key, minute, 100, 60_000).unwrap(), 1);
        assert_eq!(counter.hit(&key, minute, 100, 119_999).unwrap(), 2);
        assert_eq!(counter.hit(&key, minute, 100, 120_000).unwrap(), 1);
    }

    #[test]
    fn a_budget_adds_up_within_a_window_and_refuses_what_does_not_fit() {
        let counter = InMemoryRateCounter::new();
        let key = key(
            RateKeyKind::Tenant,
            "t1",
            "payments.* sum args.amount",
            86_400,
        );
        let day = Duration::from_secs(86_400);
        let spend = |amount: f64, now: u64| counter.spend(&key, amount, 100.0, day, now).unwrap();
        assert_eq!(
            spend(60.0, 1_000),
            Spend {
                before: 0.0,
                accepted: true
            }
        );
        assert_eq!(
            spend(50.0, 2_000),
            Spend {
                before: 60.0,
                accepted: false
            }
        );
        assert_eq!(
            spend(40.0, 3_000),
            Spend {
                before: 60.0,
                accepted: true
            }
        );
        assert_eq!(counter.spent(&key, day, 4_000).unwrap(), 100.0);
        counter.refund_spend(&key, 40.0, day, 3_000);
        assert_eq!(counter.spent(&key, day, 4_000).unwrap(), 60.0);
        // The next day starts from nothing.
        assert_eq!(
            spend(100.0, 86_400_000),
            Spend {
                before: 0.0,
                accepted: true
            }
        );
    }

    #[test]
    fn a_refund_takes_back_one_call_of_its_own_window_only() {
        let counter = InMemoryRateCounter::new();
        let key = key(RateKeyKind::Agent, "t1/bot", "*", 60);
        let minute = Duration::from_secs(60);
        assert_eq!(counter.hit(&key, minute, 100, 60_000).unwrap(), 1);
        assert_eq!(counter.hit(&key, minute, 100, 60_001).unwrap(), 2);
        counter.refund(&key, minute, 60_001);
        assert_eq!(counter.hit(&key, minute, 100, 60_002).unwrap(), 2);
        // A refund for a window that has ended leaves the new window alone.
        assert_eq!(counter.hit(&key, minute, 100, 120_000).unwrap(), 1);
        counter.refund(&key, minute, 60_002);
        assert_eq!(counter.hit(&key, minute, 100, 120_001).unwrap(), 2);
    }

    #[test]
    fn a_call_over_the_limit_is_refused_without_using_quota() {
        let counter = InMemoryRateCounter::new();
        let key = key(RateKeyKind::Tenant, "t1", "*", 60);
        let minute = Duration::from_secs(60);
        assert_eq!(counter.hit(&key, minute, 2, 60_000).unwrap(), 1);
        assert_eq!(counter.hit(&key, minute, 2, 60_001).unwrap(), 2);
        assert_eq!(counter.hit(&key, minute, 2, 60_002).unwrap(), 3);
        assert_eq!(counter.hit(&key, minute, 2, 60_003).unwrap(), 3);
        assert_eq!(counter.peek(&key, minute, 60_004).unwrap(), 2);
    }
}
