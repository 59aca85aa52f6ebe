//! Slows down password guessing. Failures are counted per username and per client address; past a
//! threshold the key is locked for a time that doubles with every further failure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long failures are remembered after the last one.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const FIRST_LOCKOUT: Duration = Duration::from_secs(30);
const LONGEST_LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// One throttled key and how many failures it tolerates before locking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleKey {
    key: String,
    allowed_failures: u32,
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Clone, Debug, Default)]
pub struct LoginThrottle {
    failures: Arc<Mutex<HashMap<String, Failures>>>,
}

impl LoginThrottle {
    /// Five wrong passwords lock a username; twenty lock a client address, whatever names it tries.
    pub fn keys(username: &str, client_ip: &str) -> [ThrottleKey; 2] {
        [
            ThrottleKey { key: format!("user:{}", username.trim().to_lowercase()), allowed_failures: 5 },
            ThrottleKey { key: format!("ip:{client_ip}"), allowed_failures: 20 },
        ]
    }

    /// `Err(wait)` when any key is locked at `now`.
    pub fn check(&self, keys: &[ThrottleKey], now: Instant) -> Result<(), Duration> {
        let Ok(failures) = self.failures.lock() else { return Ok(()) };
        let longest_wait = keys.iter().filter_map(|key| failures.get(&key.key).and_then(|f| locked_for(f, key.allowed_failures, now))).max();
        match longest_wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub fn record_failure(&self, keys: &[ThrottleKey], now: Instant) {
        let Ok(mut failures) = self.failures.lock() else { return };
        // Forget stale entries here, so the map cannot grow without bound under a spray of names.
        failures.retain(|_, f| now.saturating_duration_since(f.last) < WINDOW);
        for key in keys {
            let entry = failures.entry(key.key.clone()).or_insert(Failures { count: 0, last: now });
            entry.count += 1;
            entry.last = now;
        }
    }

    /// A right password clears the username's failures, not the address's.
    pub fn record_success(&self, keys: &[ThrottleKey]) {
        let Ok(mut failures) = self.failures.lock() else { return };
        if let Some(user_key) = keys.first() {
            failures.remove(&user_key.key);
        }
    }
}

fn locked_for(failures: &Failures, allowed: u32, now: Instant) -> Option<Duration> {
    if failures.count < allowed || now.saturating_duration_since(failures.last) >= WINDOW {
        return None;
    }
    let doublings = (failures.count - allowed).min(10);
    let lockout = FIRST_LOCKOUT.saturating_mul(1 << doublings).min(LONGEST_LOCKOUT);
    let unlocks_at = failures.last + lockout;
    (unlocks_at > now).then(|| unlocks_at - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(throttle: &LoginThrottle, keys: &[ThrottleKey], times: u32, now: Instant) {
        for _ in 0..times {
            throttle.record_failure(keys, now);
        }
    }

    #[test]
    fn five_failures_lock_the_username_for_thirty_seconds() {
        let throttle = LoginThrottle::default();
        let keys = LoginThrottle::keys("Alice@X", "10.0.0.1");
        let start = Instant::now();
        fail(&throttle, &keys, 4, start);
        assert_eq!(throttle.check(&keys, start), Ok(()), "four failures are tolerated");
        fail(&throttle, &keys, 1, start);
        assert_eq!(throttle.check(&keys, start), Err(FIRST_LOCKOUT));
        assert_eq!(throttle.check(&keys, start + FIRST_LOCKOUT), Ok(()), "the lock lifts after its time");
        let same_user_other_ip = LoginThrottle::keys("alice@x", "10.0.0.2");
        assert!(throttle.check(&same_user_other_ip, start).is_err(), "the username is locked from every address");
    }

    #[test]
    fn lockouts_double_and_are_capped() {
        let throttle = LoginThrottle::default();
        let keys = LoginThrottle::keys("bob", "10.0.0.1");
        let start = Instant::now();
        fail(&throttle, &keys, 7, start);
        assert_eq!(throttle.check(&keys, start), Err(FIRST_LOCKOUT * 4));
        fail(&throttle, &keys, 30, start);
        assert_eq!(throttle.check(&keys, start), Err(LONGEST_LOCKOUT));
    }

    #[test]
    fn success_clears_the_username_but_not_the_address() {
        let throttle = LoginThrottle::default();
        let start = Instant::now();
        for n in 0..20 {
            fail(&throttle, &LoginThrottle::keys(&format!("user{n}"), "10.0.0.9"), 1, start);
        }
        let keys = LoginThrottle::keys("carol", "10.0.0.9");
        assert!(throttle.check(&keys, start).is_err(), "twenty names from one address lock the address");
        throttle.record_success(&keys);
        assert!(throttle.check(&keys, start).is_err());
        assert_eq!(throttle.check(&LoginThrottle::keys("carol", "10.0.0.10"), start), Ok(()));
    }

    #[test]
    fn failures_are_forgotten_after_the_window() {
        let throttle = LoginThrottle::default();
        let keys = LoginThrottle::keys("dave", "10.0.0.1");
        let start = Instant::now();
        fail(&throttle, &keys, 4, start);
        fail(&throttle, &keys, 1, start + WINDOW);
        assert_eq!(throttle.check(&keys, start + WINDOW), Ok(()), "old failures no longer count");
    }
}
