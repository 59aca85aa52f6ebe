//! Compiled regexes, shared by every policy that uses the same pattern, and the budget that bounds
//! what one policy may make the server compile.
//!
//! Regexes come from tenant admins. Compiling one costs CPU and memory in proportion to its
//! automaton (a Unicode `\w{20}` takes milliseconds and about a megabyte), so a policy holding a
//! thousand of them could stall a core for seconds and hold a gigabyte. Three things bound it:
//! - a budget per policy read ([`BudgetScope`]): at most [`MAX_REGEXES_PER_POLICY`] regexes and
//!   [`MAX_REGEX_BYTES_PER_POLICY`] compiled bytes; reading stops at the first regex past either,
//!   so a refused document never compiles more than the limit;
//! - one compiled form per pattern text, shared through a process-wide cache, so reading a policy
//!   again (a list, an export, a parent check, a recompiled tenant set) costs a hash lookup;
//! - a bounded cache: entries no policy holds any more are dropped, least recently used first,
//!   once the cache holds more than [`CACHE_BYTES`].
//!
//! The cache is a memo of a pure function (pattern text to automaton), so the engine stays free of
//! IO and its results do not depend on what the cache holds.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use regex_automata::meta::{self, BuildError, Regex};
use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::MatchKind;

/// The most characters one regex may have.
pub const MAX_REGEX_CHARS: usize = 1_000;
/// The most heap one regex's automaton may take while it is compiled (the regex crate's own
/// default is ten times this).
pub const MAX_REGEX_BYTES: usize = 1 << 20;
/// The most regexes (`matches` conditions and `^` tool patterns) one policy may hold.
pub const MAX_REGEXES_PER_POLICY: usize = 100;
/// The most heap one policy's compiled regexes may take in all.
pub const MAX_REGEX_BYTES_PER_POLICY: usize = 4 << 20;
/// The most regexes one tenant's policies (tenant and agent scope) may hold in all.
pub const MAX_REGEXES_PER_TENANT: usize = 500;
/// The most heap one tenant's compiled regexes may take in all.
pub const MAX_REGEX_BYTES_PER_TENANT: usize = 16 << 20;
/// Past this many compiled bytes, the cache drops the regexes no policy holds any more.
const CACHE_BYTES: usize = 64 << 20;

/// What some regexes cost: how many there are and the heap their compiled forms take. A pattern
/// used twice is counted twice, as a reader of the document would count it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegexCost {
    pub count: usize,
    pub bytes: usize,
}

impl std::ops::Add for RegexCost {
    type Output = RegexCost;

    fn add(self, other: RegexCost) -> RegexCost {
        RegexCost {
            count: self.count + other.count,
            bytes: self.bytes + other.bytes,
        }
    }
}

impl RegexCost {
    /// Why a tenant whose policies cost `self` in all is over its limit, if it is.
    pub fn tenant_excess(self) -> Option<String> {
        if self.count > MAX_REGEXES_PER_TENANT {
            return Some(format!(
                "the tenant's policies would hold {} regexes; a tenant may hold at most {MAX_REGEXES_PER_TENANT}",
                self.count
            ));
        }
        if self.bytes > MAX_REGEX_BYTES_PER_TENANT {
            return Some(format!(
                "the tenant's regexes would compile to {} in all; a tenant may use at most {}",
                mebibytes(self.bytes),
                mebibytes(MAX_REGEX_BYTES_PER_TENANT)
            ));
        }
        None
    }
}

pub(crate) fn mebibytes(bytes: usize) -> String {
    // Display only: a size in MiB with one decimal.
    #[allow(clippy::cast_precision_loss)]
    let mib = bytes as f64 / f64::from(1u32 << 20);
    format!("{mib:.1} MiB")
}

/// Why a regex was not compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexLimit {
    #[error("a regex may have at most {MAX_REGEX_CHARS} characters, not {0}")]
    TooLong(usize),
    #[error("a policy may hold at most {MAX_REGEXES_PER_POLICY} regexes (`matches` conditions and `^` tool patterns); split it into several policies")]
    TooManyInPolicy,
    #[error("the policy's regexes compile to more than {} in all (the limit per policy); simplify them, e.g. `[A-Za-z0-9_]` instead of Unicode `\\w`", mebibytes(MAX_REGEX_BYTES_PER_POLICY))]
    TooBigForPolicy,
    #[error("the compiled regex is too big (more than {}); simplify it, e.g. `[A-Za-z0-9_]` instead of Unicode `\\w`", mebibytes(MAX_REGEX_BYTES))]
    TooBig,
}

thread_local! {
    /// What the policy being read on this thread has spent so far, while a [`BudgetScope`] is open.
    static SPENT: Cell<Option<RegexCost>> = const { Cell::new(None) };
    /// Set while reading documents the store wrote itself (see [`read_stored`]).
    static STORED: Cell<bool> = const { Cell::new(false) };
}

/// Opens a fresh regex budget for one policy on this thread until dropped. Scopes nest (a bundle
/// opens one per policy), and the outer budget resumes when the inner one closes.
pub(crate) struct BudgetScope {
    outer: Option<RegexCost>,
}

impl BudgetScope {
    pub(crate) fn open() -> BudgetScope {
        let budget = if STORED.get() {
            None
        } else {
            Some(RegexCost::default())
        };
        BudgetScope {
            outer: SPENT.replace(budget),
        }
    }
}

impl Drop for BudgetScope {
    fn drop(&mut self) {
        SPENT.set(self.outer.take());
    }
}

/// Runs `read` without the per-policy and per-pattern limits of this module (the per-regex
/// automaton limit still holds). For documents the store wrote: they met the limits in force
/// when they were saved, and lowering a limit must never make a saved policy unreadable.
pub(crate) fn read_stored<T>(read: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            STORED.set(self.0);
        }
    }
    let _restore = Restore(STORED.replace(true));
    read()
}

/// A compiled regex and what it cost to build.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) regex: Regex,
    pub(crate) bytes: usize,
}

/// Compiles `pattern`, or takes it from the cache, charging it to the open budget if there is one.
pub(crate) fn compile(pattern: &str) -> Result<Arc<Compiled>, CompileError> {
    let chars = pattern.chars().count();
    if chars > MAX_REGEX_CHARS && !STORED.get() {
        return Err(CompileError::Limit(RegexLimit::TooLong(chars)));
    }
    let spent = SPENT.get();
    if spent.is_some_and(|spent| spent.count >= MAX_REGEXES_PER_POLICY) {
        return Err(CompileError::Limit(RegexLimit::TooManyInPolicy));
    }
    let room = spent.map_or(MAX_REGEX_BYTES_PER_POLICY, |spent| {
        MAX_REGEX_BYTES_PER_POLICY.saturating_sub(spent.bytes)
    });
    let compiled = match CACHE.get(pattern) {
        Some(hit) => hit,
        None => {
            let limit = MAX_REGEX_BYTES.min(room);
            let compiled = build(pattern, limit).map_err(|err| match err.size_limit() {
                Some(_) if limit < MAX_REGEX_BYTES => {
                    CompileError::Limit(RegexLimit::TooBigForPolicy)
                }
                Some(_) => CompileError::Limit(RegexLimit::TooBig),
                None => CompileError::Build(err),
            })?;
            CACHE.insert(pattern, compiled)
        }
    };
    if let Some(spent) = spent {
        let spent = spent
            + RegexCost {
                count: 1,
                bytes: compiled.bytes,
            };
        if spent.bytes > MAX_REGEX_BYTES_PER_POLICY {
            return Err(CompileError::Limit(RegexLimit::TooBigForPolicy));
        }
        SPENT.set(Some(spent));
    }
    Ok(compiled)
}

#[derive(Debug)]
pub(crate) enum CompileError {
    Limit(RegexLimit),
    Build(Box<BuildError>),
}

/// The regex crate's own settings for a `Regex`, minus capture groups: conditions and tool
/// matches only ask whether a pattern matches, and an automaton without captures is smaller.
fn build(pattern: &str, size_limit: usize) -> Result<Compiled, Box<BuildError>> {
    let config = meta::Config::new()
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .which_captures(WhichCaptures::None)
        .nfa_size_limit(Some(size_limit));
    let regex = Regex::builder()
        .configure(config)
        .syntax(regex_automata::util::syntax::Config::new().utf8(true))
        .build(pattern)
        .map_err(Box::new)?;
    let bytes = regex.memory_usage();
    Ok(Compiled { regex, bytes })
}

static CACHE: LazyLock<Cache> = LazyLock::new(Cache::default);

#[derive(Default)]
struct Cache {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_pattern: HashMap<Box<str>, Entry>,
    bytes: usize,
    clock: u64,
}

struct Entry {
    compiled: Arc<Compiled>,
    last_used: u64,
}

impl Cache {
    fn get(&self, pattern: &str) -> Option<Arc<Compiled>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.clock += 1;
        let now = entries.clock;
        let entry = entries.by_pattern.get_mut(pattern)?;
        entry.last_used = now;
        Some(entry.compiled.clone())
    }

    /// Keeps `compiled` unless another thread compiled the same pattern meanwhile, and returns the
    /// one kept.
    fn insert(&self, pattern: &str, compiled: Compiled) -> Arc<Compiled> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.clock += 1;
        let now = entries.clock;
        if let Some(entry) = entries.by_pattern.get_mut(pattern) {
            entry.last_used = now;
            return entry.compiled.clone();
        }
        let compiled = Arc::new(compiled);
        entries.bytes += compiled.bytes;
        entries.by_pattern.insert(
            pattern.into(),
            Entry {
                compiled: compiled.clone(),
                last_used: now,
            },
        );
        if entries.bytes > CACHE_BYTES {
            entries.evict_unused();
        }
        compiled
    }
}

impl Entries {
    /// Drops regexes that only the cache holds, least recently used first, until the cache is
    /// back under its budget. Regexes some policy still holds stay: dropping them frees nothing.
    fn evict_unused(&mut self) {
        let mut unused: Vec<(u64, Box<str>)> = self
            .by_pattern
            .iter()
            .filter(|(_, entry)| Arc::strong_count(&entry.compiled) == 1)
            .map(|(pattern, entry)| (entry.last_used, pattern.clone()))
            .collect();
        unused.sort_unstable();
        for (_, pattern) in unused {
            if self.bytes <= CACHE_BYTES / 2 {
                break;
            }
            if let Some(entry) = self.by_pattern.remove(&pattern) {
                self.bytes = self.bytes.saturating_sub(entry.compiled.bytes);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn the_same_pattern_is_compiled_once() {
        let first = compile("^shared_[a-z]+$").unwrap();
        let second = compile("^shared_[a-z]+$").unwrap();
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn a_budget_counts_regexes_until_its_scope_closes() {
        {
            let _scope = BudgetScope::open();
            for n in 0..MAX_REGEXES_PER_POLICY {
                compile(&format!("^counted_{n}$")).unwrap();
            }
            let over = compile("^one_too_many$").unwrap_err();
            assert!(
                matches!(over, CompileError::Limit(RegexLimit::TooManyInPolicy)),
                "{over:?}"
            );
        }
        // Outside any policy (a what-if, a test) only the per-regex limits apply.
        compile("^one_too_many$").unwrap();
    }

    #[test]
    fn a_budget_counts_compiled_bytes() {
        let _scope = BudgetScope::open();
        let mut refused = None;
        for n in 0..MAX_REGEXES_PER_POLICY {
            if let Err(err) = compile(&format!(r"\w{{{}}}", 10 + n)) {
                refused = Some((n, err));
                break;
            }
        }
        let (n, err) = refused.unwrap();
        assert!(n > 0, "the first regex fits");
        assert!(
            matches!(err, CompileError::Limit(RegexLimit::TooBigForPolicy)),
            "{err:?}"
        );
    }

    #[test]
    fn stored_documents_are_read_without_the_policy_limits() {
        read_stored(|| {
            let _scope = BudgetScope::open();
            for n in 0..=MAX_REGEXES_PER_POLICY {
                compile(&format!("^stored_{n}$")).unwrap();
            }
            compile(&"b".repeat(MAX_REGEX_CHARS + 1)).unwrap();
        });
        assert!(
            !STORED.get(),
            "the limits are back once the stored read is over"
        );
    }

    #[test]
    fn overlong_patterns_are_not_compiled() {
        let err = compile(&"a".repeat(MAX_REGEX_CHARS + 1)).unwrap_err();
        assert!(
            matches!(err, CompileError::Limit(RegexLimit::TooLong(n)) if n == MAX_REGEX_CHARS + 1),
            "{err:?}"
        );
    }
}
