//! Session rules: conditions on what earlier calls of the same agent session did.
//!
//! A decide request may name its `session` (an id from the agent runtime). The engine decides
//! what to remember (a call that went ahead, by tool), a [`crate::RateCounter`] keeps it per
//! tenant and session for [`SESSION_TTL_MS`] after the session's last call, and conditions read it:
//!
//! ```yaml
//! when:
//!   session.called: "patients.*"                 # an earlier call of the session matched
//!   session.count: { tool: "email.*", gte: 3 }   # how many earlier calls matched
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::condition::Test;
use crate::tool::ToolMatch;

/// How long a session is remembered after its last call that went ahead.
pub const SESSION_TTL_MS: u64 = 24 * 60 * 60 * 1_000;

/// The most distinct tools one session remembers; calls of further tools are not remembered
/// (a session that calls a thousand different tools is not one a person follows).
pub const MAX_SESSION_TOOLS: usize = 1_000;

/// One session of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionKey {
    pub tenant: String,
    pub session: String,
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.tenant, self.session)
    }
}

/// What a session did so far: each tool it called that went ahead, with how often.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SessionHistory {
    pub calls: Vec<(String, u64)>,
}

impl SessionHistory {
    /// How many earlier calls matched `tool`.
    pub fn count(&self, tool: &ToolMatch) -> u64 {
        self.calls
            .iter()
            .filter(|(name, _)| tool.matches(name))
            .map(|(_, count)| count)
            .sum()
    }

    /// Adds one call of `tool`, unless the session already holds [`MAX_SESSION_TOOLS`] others.
    pub fn add(&mut self, tool: &str) {
        if let Some((_, count)) = self.calls.iter_mut().find(|(name, _)| name == tool) {
            *count += 1;
        } else if self.calls.len() < MAX_SESSION_TOOLS {
            self.calls.push((tool.to_string(), 1));
        }
    }

    /// Takes back one call of `tool` (its decision was never answered).
    pub fn remove(&mut self, tool: &str) {
        if let Some(at) = self.calls.iter().position(|(name, _)| name == tool) {
            if let Some((_, count)) = self.calls.get_mut(at) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.calls.remove(at);
                }
            }
        }
    }
}

/// A condition on the session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionTest {
    /// `session.called: patients.*`: an earlier call of the session matched the tool.
    Called(ToolMatch),
    /// `session.count: { tool: email.*, gte: 3 }`: the number of earlier calls matching the tool
    /// passes every test.
    Count { tool: ToolMatch, tests: Vec<Test> },
}

impl SessionTest {
    pub fn tool(&self) -> &ToolMatch {
        match self {
            SessionTest::Called(tool) | SessionTest::Count { tool, .. } => tool,
        }
    }

    /// Without a session (`None`) nothing was called earlier: `called` is false and the count 0.
    pub(crate) fn holds(
        &self,
        history: Option<&SessionHistory>,
        test_holds: impl Fn(&Test, &Value) -> bool,
    ) -> bool {
        let count = history.map_or(0, |h| h.count(self.tool()));
        match self {
            SessionTest::Called(_) => count > 0,
            SessionTest::Count { tests, .. } => {
                let count = Value::from(count);
                tests.iter().all(|test| test_holds(test, &count))
            }
        }
    }

    pub(crate) fn why_not(
        &self,
        history: Option<&SessionHistory>,
        why_tests: impl Fn(&[Test], &Value) -> String,
    ) -> String {
        let tool = self.tool();
        let Some(history) = history else {
            return format!(
                "the request names no session, so no earlier call of `{tool}` is known"
            );
        };
        let count = history.count(tool);
        match self {
            SessionTest::Called(_) => format!("the session has not called `{tool}`"),
            SessionTest::Count { tests, .. } => format!(
                "the session called `{tool}` {count} time{}, {}",
                if count == 1 { "" } else { "s" },
                why_tests(tests, &Value::from(count))
            ),
        }
    }

    pub(crate) fn describe(&self, describe_test: impl Fn(&Test) -> String) -> String {
        match self {
            SessionTest::Called(tool) => format!("the session has called `{tool}`"),
            SessionTest::Count { tool, tests } => {
                let parts: Vec<String> = tests.iter().map(describe_test).collect();
                format!("the session's calls of `{tool}` {}", parts.join(" and "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_history_counts_by_tool_match_and_stays_bounded() {
        let mut history = SessionHistory::default();
        history.add("email.send");
        history.add("email.send");
        history.add("email.draft");
        history.add("patients.read");
        assert_eq!(history.count(&ToolMatch::parse("email.*").unwrap()), 3);
        assert_eq!(
            history.count(&ToolMatch::parse("patients.read").unwrap()),
            1
        );
        history.remove("patients.read");
        assert_eq!(history.count(&ToolMatch::parse("patients.*").unwrap()), 0);
        for n in 0..MAX_SESSION_TOOLS + 10 {
            history.add(&format!("tool.{n}"));
        }
        assert_eq!(history.calls.len(), MAX_SESSION_TOOLS);
    }
}
