//! Compiled patterns: globs and regexes that remember the text they came from.
//!
//! A pattern is compiled when the policy is parsed, so that a `Policy` value can never hold a
//! pattern that does not compile and the compiled policy set never has to fail. Regexes are
//! compiled once per pattern text and shared (`regex_cache`).

use std::fmt;
use std::sync::Arc;

use globset::GlobBuilder;

use crate::glob_shape::Shape;
use regex_automata::meta::BuildError;

use crate::regex_cache::{self, CompileError, Compiled, RegexLimit};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("bad glob `{pattern}`: {reason}")]
    Glob { pattern: String, reason: String },
    #[error("bad regex `{pattern}`: {reason}")]
    Regex { pattern: String, reason: String },
    /// Past one of the limits of `regex_cache`; `pattern` is shortened to 60 characters.
    #[error("regex `{pattern}` refused: {limit}")]
    RegexLimit { pattern: String, limit: RegexLimit },
}

/// A glob over tool names. `*` matches any run of characters, dots included. Simple globs match
/// by string comparison; others share one compiled matcher per pattern text (`glob_shape`).
#[derive(Clone)]
pub struct GlobPattern {
    text: Box<str>,
    shape: Shape,
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
        Ok(GlobPattern {
            text: pattern.into(),
            shape: Shape::of(&glob),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn shape(&self) -> &Shape {
        &self.shape
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.shape.is_match(text)
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
/// Its compiled form is shared with every other policy that uses the same pattern.
#[derive(Clone)]
pub struct RegexPattern {
    pattern: Arc<str>,
    compiled: Arc<Compiled>,
}

impl RegexPattern {
    /// Compiles `pattern`. While a policy is being read, the regex also counts against that
    /// policy's budget (see `regex_cache`).
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        let compiled = regex_cache::compile(pattern).map_err(|err| match err {
            CompileError::Limit(limit) => PatternError::RegexLimit {
                pattern: shortened(pattern),
                limit,
            },
            CompileError::Build(err) => PatternError::Regex {
                pattern: pattern.to_string(),
                reason: regex_reason(&err),
            },
        })?;
        Ok(RegexPattern {
            pattern: pattern.into(),
            compiled,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The heap the compiled regex takes (shared with other users of the same pattern).
    pub fn compiled_bytes(&self) -> usize {
        self.compiled.bytes
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.regex.is_match(text)
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

fn shortened(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_string(),
    }
}

/// The regex crate renders syntax errors over several lines with a caret diagram; an editor
/// shows one line, so only the `error: ...` line is kept.
fn regex_reason(err: &BuildError) -> String {
    match err.syntax_error() {
        Some(syntax) => syntax
            .to_string()
            .lines()
            .find_map(|line| line.trim().strip_prefix("error: "))
            .unwrap_or("syntax error")
            .to_string(),
        None => "cannot compile".to_string(),
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
