//! The shared counters in Redis, as two replicas see them: limits hold across both, a burst at the
//! edge of a window cannot double a limit, and refunds, budgets and sessions behave as on a single
//! node. Needs the Redis of `charter_testkit::redis` (required under CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

use charter_core::RedisCounters;
use charter_policy::{RateCounter, RateKey, RateKeyKind, SessionKey, Spend, ToolMatch};

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

/// The secret the replicas share (`Store::server_secret` in the server).
const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn replicas() -> Option<(RedisCounters, RedisCounters)> {
    let (url, prefix) = charter_testkit::redis()?;
    Some((RedisCounters::new(&url, &prefix, SECRET).unwrap(), RedisCounters::new(&url, &prefix, SECRET).unwrap()))
}

fn key(tool: &str) -> RateKey {
    RateKey { per: RateKeyKind::Tenant, subject: "tenant-1".into(), tool: tool.into(), window_secs: 60 }
}

#[test]
fn a_limit_holds_across_replicas_and_a_burst_at_a_window_edge_cannot_double_it() {
    let Some((a, b)) = replicas() else { return };
    let key = key("email.*");
    // Five calls late in one minute, alternating replicas: each sees the other's.
    let counts: Vec<u64> = (0..5).map(|n| if n % 2 == 0 { &a } else { &b }.hit(&key, MINUTE, 5, 59_000 + n).unwrap()).collect();
    assert_eq!(counts, [1, 2, 3, 4, 5]);
    assert_eq!(b.hit(&key, MINUTE, 5, 59_010).unwrap(), 6, "the sixth call in the minute is refused");
    // Just after the minute's edge a fixed window would start again at zero; the sliding window
    // still holds the five calls of the last 60 seconds.
    assert_eq!(a.hit(&key, MINUTE, 5, 61_000).unwrap(), 6, "a burst right after the edge is refused too");
    assert_eq!(a.peek(&key, MINUTE, 61_000).unwrap(), 5, "refused calls are not recorded");
    // Once the first call is 60 seconds old, one call fits again.
    assert_eq!(b.hit(&key, MINUTE, 5, 119_000).unwrap(), 5);
    assert_eq!(a.hit(&key, MINUTE, 5, 119_000).unwrap(), 6);
}

#[test]
fn a_refund_gives_back_one_call_and_no_more() {
    let Some((a, b)) = replicas() else { return };
    let key = key("docs.*");
    assert_eq!(a.hit(&key, MINUTE, 2, 500_000).unwrap(), 1);
    assert_eq!(b.hit(&key, MINUTE, 2, 500_000).unwrap(), 2, "two calls in the same millisecond count twice");
    b.refund(&key, MINUTE, 500_000);
    assert_eq!(a.peek(&key, MINUTE, 500_001).unwrap(), 1);
    assert_eq!(a.hit(&key, MINUTE, 2, 500_002).unwrap(), 2, "the refunded call's place is free again");
}

#[test]
fn concurrent_calls_on_two_replicas_never_exceed_the_limit() {
    let Some((a, b)) = replicas() else { return };
    let key = key("search.*");
    let run = |counter: &RedisCounters| (0..60).filter(|n| counter.hit(&key, MINUTE, 50, 1_000_000 + n).unwrap() <= 50).count();
    let recorded = std::thread::scope(|scope| {
        let first = scope.spawn(|| run(&a));
        let second = scope.spawn(|| run(&b));
        first.join().unwrap() + second.join().unwrap()
    });
    assert_eq!(recorded, 50, "120 calls at once, 50 allowed: exactly 50 went through");
    assert_eq!(a.peek(&key, MINUTE, 1_000_100).unwrap(), 50);
}

#[test]
fn a_budget_adds_up_across_replicas_and_gives_back_refunds() {
    let Some((a, b)) = replicas() else { return };
    let key = RateKey { window_secs: 86_400, ..key("payments.* sum args.amount") };
    assert_eq!(a.spend(&key, 60.5, 100.0, DAY, 1_000).unwrap(), Spend { before: 0.0, accepted: true });
    assert_eq!(b.spend(&key, 50.0, 100.0, DAY, 2_000).unwrap(), Spend { before: 60.5, accepted: false });
    assert_eq!(b.spend(&key, 39.5, 100.0, DAY, 3_000).unwrap(), Spend { before: 60.5, accepted: true });
    assert_eq!(a.spent(&key, DAY, 4_000).unwrap(), 100.0);
    a.refund_spend(&key, 39.5, DAY, 3_000);
    assert_eq!(b.spent(&key, DAY, 4_000).unwrap(), 60.5);
    // The next day starts from nothing.
    assert_eq!(a.spend(&key, 100.0, 100.0, DAY, 86_400_000).unwrap(), Spend { before: 0.0, accepted: true });
}

#[test]
fn a_session_remembers_calls_made_through_any_replica() {
    let Some((a, b)) = replicas() else { return };
    let session = SessionKey { tenant: "tenant-1".into(), session: "s1".into() };
    a.remember(&session, "patients.read", 1_000).unwrap();
    b.remember(&session, "patients.read", 2_000).unwrap();
    b.remember(&session, "email.send", 3_000).unwrap();
    let patients = ToolMatch::parse("patients.*").unwrap();
    assert_eq!(a.session(&session, 4_000).unwrap().count(&patients), 2);
    a.forget(&session, "patients.read");
    a.forget(&session, "email.send");
    let history = b.session(&session, 5_000).unwrap();
    assert_eq!(history.calls, vec![("patients.read".to_owned(), 1)]);
    let other = SessionKey { tenant: "tenant-2".into(), session: "s1".into() };
    assert!(a.session(&other, 5_000).unwrap().calls.is_empty(), "another tenant's session of the same id is another session");
}

#[tokio::test]
async fn an_unreachable_redis_says_so_at_once_and_is_not_ready() {
    let counters = RedisCounters::new("redis://127.0.0.1:1/", "charter-test-down", SECRET).unwrap();
    let key = key("email.*");
    let first = counters.hit(&key, MINUTE, 5, 1_000).unwrap_err();
    assert!(first.to_string().contains("Redis refused the connection"), "{first}");
    let started = std::time::Instant::now();
    let again = counters.spend(&key, 1.0, 10.0, DAY, 1_001).unwrap_err();
    assert!(again.to_string().contains("Redis failed a moment ago"), "{again}");
    assert!(started.elapsed() < Duration::from_millis(50), "after a failure the counters answer at once");
    assert_eq!(counters.errors(), 1);
    assert!(!counters.ping().await);
}

#[test]
fn the_sign_in_throttle_counts_failures_made_on_any_replica() {
    use charter_core::{LoginAttempt, LoginThrottle, Refusal};
    let Some((a, b)) = replicas() else { return };
    let (on_a, on_b) = (LoginThrottle::new(std::sync::Arc::new(a)), LoginThrottle::new(std::sync::Arc::new(b)));
    let now = u64::try_from(charter_store::now_ms()).unwrap();
    let guess = LoginAttempt::new("alice@x", "10.0.0.66");
    // Five wrong passwords spread over both replicas: the sixth attempt waits, wherever it lands.
    for n in 0..5 {
        if n % 2 == 0 { &on_a } else { &on_b }.record_failure(&guess, now);
    }
    assert_eq!(on_a.check(&guess, now), Err(Refusal::Wait(Duration::from_secs(30))));
    assert_eq!(on_b.check(&guess, now + 10_000), Err(Refusal::Wait(Duration::from_secs(20))));
    assert_eq!(on_b.check(&guess, now + 30_000), Ok(()), "the delay runs out");
    // A sign-in through one replica makes the address usual for the other.
    let alice_home = LoginAttempt::new("alice@x", "192.0.2.1");
    on_a.record_success(&alice_home, now);
    for n in 0..15 {
        on_b.record_failure(&LoginAttempt::new("alice@x", &format!("10.1.0.{n}")), now);
    }
    assert!(matches!(on_a.check(&LoginAttempt::new("alice@x", "198.51.100.7"), now), Err(Refusal::Wait(_))), "ten failures for the name slow it elsewhere");
    assert_eq!(on_b.check(&alice_home, now), Ok(()), "but not at her usual address");
}

#[test]
fn sign_in_records_name_no_username_or_address_that_a_reader_of_redis_could_test() {
    use charter_core::{LoginAttempt, LoginThrottle, Refusal};
    use sha2::Digest;
    let Some((url, prefix)) = charter_testkit::redis() else { return };
    let throttle = LoginThrottle::new(std::sync::Arc::new(RedisCounters::new(&url, &prefix, SECRET).unwrap()));
    let now = u64::try_from(charter_store::now_ms()).unwrap();
    let guess = LoginAttempt::new("carol@x", "10.0.0.77");
    for _ in 0..5 {
        throttle.record_failure(&guess, now);
    }
    assert!(matches!(throttle.check(&guess, now), Err(Refusal::Wait(_))));

    let mut connection = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:signin-*")).query(&mut connection).unwrap();
    assert_eq!(keys.len(), 3, "the pair, the address and the username: {keys:?}");
    // Neither the text nor its plain SHA-256, which anyone could compute for a guessed address.
    for counted in ["pair:carol@x\u{0}10.0.0.77", "address:10.0.0.77", "user:carol@x"] {
        let plain = hex::encode(sha2::Sha256::digest(counted.as_bytes()));
        assert!(keys.iter().all(|key| !key.contains("carol") && !key.contains("10.0.0.77") && !key.contains(&plain)), "{counted}: {keys:?}");
    }
    // A replica keyed by another secret finds none of them.
    let other = LoginThrottle::new(std::sync::Arc::new(RedisCounters::new(&url, &prefix, b"another secret").unwrap()));
    assert_eq!(other.check(&guess, now), Ok(()));
}

#[test]
fn sign_ins_are_refused_while_redis_is_unreachable() {
    use charter_core::{LoginAttempt, LoginThrottle, Refusal};
    let down = LoginThrottle::new(std::sync::Arc::new(RedisCounters::new("redis://127.0.0.1:1/", "down", SECRET).unwrap()));
    let attempt = LoginAttempt::new("bob", "10.0.0.1");
    assert!(matches!(down.check(&attempt, 1_000), Err(Refusal::Unavailable(_))), "fail closed");
    down.record_failure(&attempt, 1_000);
}
