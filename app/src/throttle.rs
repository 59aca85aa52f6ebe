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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long failures are remembered after the last one.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const FIRST_DELAY: Duration = Duration::from_secs(30);
const LONGEST_DELAY: Duration = Duration::from_secs(15 * 60);
/// How long a successful sign-in makes an address the user's usual one.
const USUAL_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);
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

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

#[derive(Debug, Default)]
struct State {
    failures: HashMap<String, Failures>,
    /// Username and address pairs that signed in, and when they last did.
    usual: HashMap<String, Instant>,
}

impl State {
    fn is_usual(&self, attempt: &LoginAttempt, now: Instant) -> bool {
        self.usual.get(&attempt.pair()).is_some_and(|at| now.saturating_duration_since(*at) < USUAL_FOR)
    }
}

#[derive(Clone, Debug, Default)]
pub struct LoginThrottle {
    state: Arc<Mutex<State>>,
}

impl LoginThrottle {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err(wait)` when the attempt must wait that long before it may be tried.
    pub fn check(&self, attempt: &LoginAttempt, now: Instant) -> Result<(), Duration> {
        let state = self.state();
        let usual = state.is_usual(attempt, now);
        let longest_wait = attempt.keys(usual).iter().filter_map(|(key, allowance)| state.failures.get(key).and_then(|f| delay_left(f, *allowance, now))).max();
        match longest_wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// A wrong password: counts against every key, including those a usual address is spared, so
    /// that guesses from the usual address still slow down the guesser elsewhere.
    pub fn record_failure(&self, attempt: &LoginAttempt, now: Instant) {
        let mut state = self.state();
        // Forget stale entries here, so the map cannot grow without bound under a spray of names.
        state.failures.retain(|_, f| now.saturating_duration_since(f.last) < WINDOW);
        for (key, _) in attempt.keys(false) {
            let entry = state.failures.entry(key).or_insert(Failures { count: 0, last: now });
            entry.count += 1;
            entry.last = now;
        }
    }

    /// A right password: clears the failures at this address for this user and makes the address
    /// their usual one. The address's and the username's counts stay: they belong to others too.
    pub fn record_success(&self, attempt: &LoginAttempt, now: Instant) {
        let mut state = self.state();
        state.failures.remove(&attempt.pair());
        state.usual.retain(|_, at| now.saturating_duration_since(*at) < USUAL_FOR);
        state.usual.insert(attempt.pair(), now);
    }
}

fn delay_left(failures: &Failures, allowance: u32, now: Instant) -> Option<Duration> {
    if failures.count < allowance || now.saturating_duration_since(failures.last) >= WINDOW {
        return None;
    }
    let doublings = (failures.count - allowance).min(10);
    let delay = FIRST_DELAY.saturating_mul(1 << doublings).min(LONGEST_DELAY);
    let ends_at = failures.last + delay;
    (ends_at > now).then(|| ends_at - now)
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
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        for (index, step) in scenario.iter().enumerate() {
            match step {
                Fail(user, address, secs, times) => {
                    for _ in 0..*times {
                        throttle.record_failure(&LoginAttempt::new(user, address), at(*secs));
                    }
                }
                Succeed(user, address, secs) => throttle.record_success(&LoginAttempt::new(user, address), at(*secs)),
                Check(user, address, secs, expected) => {
                    let actual = throttle.check(&LoginAttempt::new(user, address), at(*secs)).map_err(|wait| wait.as_secs());
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
