//! Compiled patterns: globs and regexes that remember the text they came from.
//!
//! A pattern is compiled once, when the policy is parsed, so that a `Policy` value can never hold
//! a pattern that does not compile and the compiled policy set never has to fail.

use std::fmt;

use globset::{Glob, GlobBuilder, GlobMatcher};
use regex::{Regex, RegexBuilder};

/// Regexes come from tenant admins, so their compiled size is bounded to keep one policy from
/// exhausting the server's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("bad glob `{pattern}`: {reason}")]
    Glob { pattern: String, reason: String },
    #[error("bad regex `{pattern}`: {reason}")]
    Regex { pattern: String, reason: String },
}

/// A glob over tool names. `*` matches any run of characters, dots included.
#[derive(Clone)]
pub struct GlobPattern {
    glob: Glob,
    matcher: GlobMatcher,
}

impl GlobPattern {
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let glob = GlobBuilder::new(pattern)
            .literal_separator(false)
            .backslash_escape(true)
            .empty_alternates(false)
            .build()
            .map_err(|err| PatternError::Glob {
                pattern: pattern.to_string(),
                reason: err.kind().to_string(),
            })?;
        let matcher = glob.compile_matcher();
        Ok(GlobPattern { glob, matcher })
    }

    pub fn as_str(&self) -> &str {
        self.glob.glob()
    }

    pub fn glob(&self) -> &Glob {
        &self.glob
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.matcher.is_match(text)
    }
}

impl PartialEq for GlobPattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for GlobPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GlobPattern({:?})", self.as_str())
    }
}

/// A regular expression (Rust `regex` syntax, unanchored unless the pattern anchors itself).
#[derive(Clone)]
pub struct RegexPattern {
    regex: Regex,
}

impl RegexPattern {
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let regex = RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|err| PatternError::Regex {
                pattern: pattern.to_string(),
                reason: regex_reason(&err),
            })?;
        Ok(RegexPattern { regex })
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

impl PartialEq for RegexPattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for RegexPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegexPattern({:?})", self.as_str())
    }
}

/// The regex crate renders syntax errors over several lines with a caret diagram; an editor
/// shows one line, so only the `error: ...` line is kept.
fn regex_reason(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(text) => text
            .lines()
            .find_map(|line| line.trim().strip_prefix("error: "))
            .unwrap_or("syntax error")
            .to_string(),
        regex::Error::CompiledTooBig(_) => "the compiled regex is too big".to_string(),
        _ => "cannot compile".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn regex_errors_are_one_line() {
        let err = RegexPattern::new("(abc").err().unwrap();
        assert_eq!(err.to_string(), "bad regex `(abc`: unclosed group");
    }

    #[test]
    fn glob_star_crosses_dots() {
        let glob = GlobPattern::new("system.*").unwrap();
        assert!(glob.is_match("system.exec"));
        assert!(glob.is_match("system.a.b"));
        assert!(!glob.is_match("systemexec"));
    }
}
