//! Slows down password guessing without locking the real user out.
//!
//! Failures are counted for three keys. Past a key's allowance, every further attempt that the key
//! covers waits a delay counted from the key's last failure, doubling with each failure (30 s, 1 min,
//! 2 min, ... at most 15 min); failures are forgotten 15 minutes after the last one. An attempt
//! refused because of a delay is not a failure: it neither counts nor extends the delay.
//! - **the username at one client address** (5 failures): slows the guesser at their address, and
//!   only there;
//! - **the client address**, whatever names it tries (20): a spray of usernames from one place;
//! - **the username**, from whatever address (10): guesses spread over many addresses.
//!
//! The last two never apply to an address the user signed in from within the last 30 days (their
//! usual address): someone guessing at a username from elsewhere cannot keep its owner out of their
//! usual place, nor can a busy shared address keep out the people who sign in there every day.
//! The client address is the one the server worked out (the peer, or the trusted proxy's header).
//!
//! The counts live where the rate counters do ([`SignInRecords`]): in this process, or in Redis,
//! where every replica counts the same failures. When Redis cannot be reached, sign-ins are
//! refused for the moment rather than let through unthrottled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use charter_policy::CounterUnavailable;

/// How long failures are remembered after the last one.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
const FIRST_DELAY: Duration = Duration::from_secs(30);
const LONGEST_DELAY: Duration = Duration::from_secs(15 * 60);
/// How long a successful sign-in makes an address the user's usual one.
pub const USUAL_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);
const PAIR_ALLOWANCE: u32 = 5;
const ADDRESS_ALLOWANCE: u32 = 20;
const USERNAME_ALLOWANCE: u32 = 10;

/// One sign-in attempt: who it names, from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginAttempt {
    username: String,
    address: String,
}

impl LoginAttempt {
    pub fn new(username: &str, address: &str) -> LoginAttempt {
        LoginAttempt { username: username.trim().to_lowercase(), address: address.to_owned() }
    }

    fn pair(&self) -> String {
        format!("pair:{}\u{0}{}", self.username, self.address)
    }

    /// The keys that govern this attempt, with their allowances.
    fn keys(&self, usual_address: bool) -> Vec<(String, u32)> {
        let mut keys = vec![(self.pair(), PAIR_ALLOWANCE)];
        if !usual_address {
            keys.push((format!("address:{}", self.address), ADDRESS_ALLOWANCE));
            keys.push((format!("user:{}", self.username), USERNAME_ALLOWANCE));
        }
        keys
    }
}

/// The failures counted under one key within the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    /// When the last one was, in milliseconds since the epoch.
    pub last_ms: u64,
}

/// Where the throttle keeps its counts: failures per key, and each user's usual addresses. Keys are
/// opaque text; entries older than [`WINDOW`] (failures) or [`USUAL_FOR`] (usual addresses) are
/// as good as gone.
pub trait SignInRecords: Send + Sync {
    /// The failures under each of `keys`, in order.
    fn failures(&self, keys: &[String], now_ms: u64) -> Result<Vec<Option<Failures>>, CounterUnavailable>;
    /// Counts one failure against each of `keys`.
    fn fail(&self, keys: &[String], now_ms: u64) -> Result<(), CounterUnavailable>;
    /// Forgets the failures under `key`.
    fn clear(&self, key: &str) -> Result<(), CounterUnavailable>;
    /// Whether `pair` signed in within [`USUAL_FOR`].
    fn is_usual(&self, pair: &str, now_ms: u64) -> Result<bool, CounterUnavailable>;
    /// Makes `pair` usual from `now_ms`.
    fn mark_usual(&self, pair: &str, now_ms: u64) -> Result<(), CounterUnavailable>;
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The counts in this process: a restart forgets them, and each replica counts its own.
#[derive(Debug, Default)]
pub struct InProcessSignIns {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    failures: HashMap<String, Failures>,
    /// Username and address pairs that signed in, and when they last did.
    usual: HashMap<String, u64>,
}

impl InProcessSignIns {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SignInRecords for InProcessSignIns {
    fn failures(&self, keys: &[String], now_ms: u64) -> Result<Vec<Option<Failures>>, CounterUnavailable> {
        let state = self.state();
        Ok(keys.iter().map(|key| state.failures.get(key).copied().filter(|f| now_ms.saturating_sub(f.last_ms) < ms(WINDOW))).collect())
    }

    fn fail(&self, keys: &[String], now_ms: u64) -> Result<(), CounterUnavailable> {
        let mut state = self.state();
        // Forget stale entries here, so the map cannot grow without bound under a spray of names.
        state.failures.retain(|_, f| now_ms.saturating_sub(f.last_ms) < ms(WINDOW));
        for key in keys {
            let entry = state.failures.entry(key.clone()).or_insert(Failures { count: 0, last_ms: now_ms });
            entry.count = entry.count.saturating_add(1);
            entry.last_ms = now_ms;
        }
        Ok(())
    }

    fn clear(&self, key: &str) -> Result<(), CounterUnavailable> {
        self.state().failures.remove(key);
        Ok(())
    }

    fn is_usual(&self, pair: &str, now_ms: u64) -> Result<bool, CounterUnavailable> {
        Ok(self.state().usual.get(pair).is_some_and(|at| now_ms.saturating_sub(*at) < ms(USUAL_FOR)))
    }

    fn mark_usual(&self, pair: &str, now_ms: u64) -> Result<(), CounterUnavailable> {
        let mut state = self.state();
        state.usual.retain(|_, at| now_ms.saturating_sub(*at) < ms(USUAL_FOR));
        state.usual.insert(pair.to_owned(), now_ms);
        Ok(())
    }
}

/// Why an attempt may not be tried now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures: wait this long.
    Wait(Duration),
    /// The shared records cannot be reached, so the attempt cannot be throttled.
    Unavailable(String),
}

#[derive(Clone)]
pub struct LoginThrottle {
    records: Arc<dyn SignInRecords>,
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle").finish_non_exhaustive()
    }
}

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        LoginThrottle::new(Arc::new(InProcessSignIns::default()))
    }
}

impl LoginThrottle {
    pub fn new(records: Arc<dyn SignInRecords>) -> LoginThrottle {
        LoginThrottle { records }
    }

    /// `Err` when the attempt may not be tried now: how long to wait, or that it cannot be told.
    pub fn check(&self, attempt: &LoginAttempt, now_ms: u64) -> Result<(), Refusal> {
        let unavailable = |err: CounterUnavailable| Refusal::Unavailable(err.0);
        let usual = self.records.is_usual(&attempt.pair(), now_ms).map_err(unavailable)?;
        let keys = attempt.keys(usual);
        let names: Vec<String> = keys.iter().map(|(key, _)| key.clone()).collect();
        let failures = self.records.failures(&names, now_ms).map_err(unavailable)?;
        let longest_wait = keys.iter().zip(failures).filter_map(|((_, allowance), failures)| failures.and_then(|f| delay_left(&f, *allowance, now_ms))).max();
        match longest_wait {
            Some(wait) => Err(Refusal::Wait(wait)),
            None => Ok(()),
        }
    }

    /// A wrong password: counts against every key, including those a usual address is spared, so
    /// that guesses from the usual address still slow down the guesser elsewhere.
    pub fn record_failure(&self, attempt: &LoginAttempt, now_ms: u64) {
        let keys: Vec<String> = attempt.keys(false).into_iter().map(|(key, _)| key).collect();
        if let Err(err) = self.records.fail(&keys, now_ms) {
            tracing::warn!(error = %err.0, "a failed sign-in could not be counted");
        }
    }

    /// A right password: clears the failures at this address for this user and makes the address
    /// their usual one. The address's and the username's counts stay: they belong to others too.
    pub fn record_success(&self, attempt: &LoginAttempt, now_ms: u64) {
        let pair = attempt.pair();
        if let Err(err) = self.records.clear(&pair).and_then(|()| self.records.mark_usual(&pair, now_ms)) {
            tracing::warn!(error = %err.0, "a sign-in could not be recorded");
        }
    }
}

fn delay_left(failures: &Failures, allowance: u32, now_ms: u64) -> Option<Duration> {
    if failures.count < allowance || now_ms.saturating_sub(failures.last_ms) >= ms(WINDOW) {
        return None;
    }
    let doublings = (failures.count - allowance).min(10);
    let delay = FIRST_DELAY.saturating_mul(1 << doublings).min(LONGEST_DELAY);
    let ends_at = failures.last_ms.saturating_add(ms(delay));
    (ends_at > now_ms).then(|| Duration::from_millis(ends_at - now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step of a scenario: at `at` seconds, `username` from `address` fails, succeeds or is
    /// checked, and the check expects `Ok` or a wait in seconds.
    enum Step {
        Fail(&'static str, &'static str, u64, u32),
        Succeed(&'static str, &'static str, u64),
        Check(&'static str, &'static str, u64, Result<(), u64>),
    }
    use Step::*;

    fn check(scenario: &[Step]) {
        let throttle = LoginThrottle::default();
        let start = 1_796_000_000_000_u64;
        let at = |secs: u64| start + secs * 1000;
        for (index, step) in scenario.iter().enumerate() {
            match step {
                Fail(user, address, secs, times) => {
                    for _ in 0..*times {
                        throttle.record_failure(&LoginAttempt::new(user, address), at(*secs));
                    }
                }
                Succeed(user, address, secs) => throttle.record_success(&LoginAttempt::new(user, address), at(*secs)),
                Check(user, address, secs, expected) => {
                    let actual = throttle.check(&LoginAttempt::new(user, address), at(*secs)).map_err(|refusal| match refusal {
                        Refusal::Wait(wait) => wait.as_secs(),
                        Refusal::Unavailable(why) => panic!("the records in this process answer: {why}"),
                    });
                    assert_eq!(actual, *expected, "step {index}: {user} from {address} at {secs}s");
                }
            }
        }
    }

    #[test]
    fn five_failures_slow_the_guesser_at_their_address_only() {
        check(&[
            Fail("Alice@X", "10.0.0.66", 0, 4),
            Check("alice@x", "10.0.0.66", 0, Ok(())),
            Fail("alice@x", "10.0.0.66", 0, 1),
            Check("alice@x", "10.0.0.66", 0, Err(30)),
            Check("alice@x", "10.0.0.66", 30, Ok(())),
            // The same user elsewhere is not slowed by five failures at the guesser's address.
            Check("alice@x", "192.0.2.1", 0, Ok(())),
        ]);
    }

    #[test]
    fn delays_double_and_are_capped() {
        check(&[Fail("bob", "10.0.0.1", 0, 7), Check("bob", "10.0.0.1", 0, Err(120)), Fail("bob", "10.0.0.1", 0, 30), Check("bob", "10.0.0.1", 0, Err(900))]);
    }

    #[test]
    fn a_guesser_cannot_keep_the_user_out_of_their_usual_address() {
        check(&[
            Succeed("carol", "192.0.2.1", 0),
            // An attacker guesses carol's password from many addresses, one guess each time it may.
            Fail("carol", "10.0.0.66", 10, 5),
            Fail("carol", "10.0.0.67", 20, 5),
            Fail("carol", "10.0.0.68", 40, 5),
            // From a new address carol waits, as the attacker does...
            Check("carol", "198.51.100.7", 40, Err(900)),
            // ...but from her usual address she signs in at once.
            Check("carol", "192.0.2.1", 40, Ok(())),
            // Her own mistakes there still slow her there, and only for the pair's delay.
            Fail("carol", "192.0.2.1", 50, 5),
            Check("carol", "192.0.2.1", 50, Err(30)),
            Check("carol", "192.0.2.1", 80, Ok(())),
        ]);
    }

    #[test]
    fn a_spray_from_one_address_slows_that_address_but_not_its_regulars() {
        let mut scenario = vec![Succeed("dave", "10.0.0.9", 0)];
        let names = ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11", "u12", "u13", "u14", "u15", "u16", "u17", "u18", "u19", "u20"];
        scenario.extend(names.iter().map(|name| Fail(name, "10.0.0.9", 5, 1)));
        scenario.extend([Check("erin", "10.0.0.9", 5, Err(30)), Check("erin", "10.0.0.10", 5, Ok(())), Check("dave", "10.0.0.9", 5, Ok(()))]);
        check(&scenario);
    }

    #[test]
    fn success_clears_the_pair_but_not_the_address_or_the_username() {
        check(&[
            Fail("frank", "10.0.0.1", 0, 4),
            Succeed("frank", "10.0.0.1", 1),
            Fail("frank", "10.0.0.1", 2, 4),
            Check("frank", "10.0.0.1", 2, Ok(())),
            Fail("frank", "10.0.0.2", 3, 6),
            Check("frank", "10.0.0.3", 3, Err(480)),
        ]);
    }

    #[test]
    fn failures_are_forgotten_after_the_window_and_usual_addresses_after_thirty_days() {
        let day = 24 * 60 * 60;
        check(&[
            Fail("gina", "10.0.0.1", 0, 4),
            Fail("gina", "10.0.0.1", 15 * 60, 1),
            Check("gina", "10.0.0.1", 15 * 60, Ok(())),
            Succeed("gina", "192.0.2.1", 0),
            Fail("gina", "10.0.0.5", 31 * day, 10),
            Check("gina", "192.0.2.1", 31 * day, Err(30)),
        ]);
    }
}
