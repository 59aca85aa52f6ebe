//! How a rule names its tools: an exact name, a glob or a regex, and how two such matches relate.
//!
//! In a document the match is a string, classified by its look: a string that starts with `^` is
//! a regex, one with a glob metacharacter (`*`, `?`, `[`, `{`) is a glob, anything else is an
//! exact name. The map forms `{ exact: .. }`, `{ glob: .. }` and `{ regex: .. }` say it outright.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::custom;
use crate::pattern::{GlobPattern, PatternError, RegexPattern};

#[derive(Debug, Clone, PartialEq)]
pub enum ToolMatch {
    Exact(String),
    Glob(GlobPattern),
    Regex(RegexPattern),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    Glob,
    Regex,
}

fn classify(text: &str) -> Kind {
    if text.starts_with('^') {
        Kind::Regex
    } else if text.contains(['*', '?', '[', '{']) {
        Kind::Glob
    } else {
        Kind::Exact
    }
}

impl ToolMatch {
    /// Parses the string form, classifying it by its look.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        Self::build(classify(text), text)
    }

    fn build(kind: Kind, text: &str) -> Result<Self, PatternError> {
        Ok(match kind {
            Kind::Exact => ToolMatch::Exact(text.to_string()),
            Kind::Glob => ToolMatch::Glob(GlobPattern::new(text)?),
            Kind::Regex => ToolMatch::Regex(RegexPattern::new(text)?),
        })
    }

    pub fn exact(name: &str) -> Self {
        ToolMatch::Exact(name.to_string())
    }

    pub fn as_str(&self) -> &str {
        match self {
            ToolMatch::Exact(name) => name,
            ToolMatch::Glob(glob) => glob.as_str(),
            ToolMatch::Regex(regex) => regex.as_str(),
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, ToolMatch::Exact(_))
    }

    pub fn matches(&self, tool: &str) -> bool {
        match self {
            ToolMatch::Exact(name) => name == tool,
            ToolMatch::Glob(glob) => glob.is_match(tool),
            ToolMatch::Regex(regex) => regex.is_match(tool),
        }
    }

    fn kind(&self) -> Kind {
        match self {
            ToolMatch::Exact(_) => Kind::Exact,
            ToolMatch::Glob(_) => Kind::Glob,
            ToolMatch::Regex(_) => Kind::Regex,
        }
    }
}

impl fmt::Display for ToolMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ToolMatch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The short string form is used whenever it reads back as the same kind of match.
        if classify(self.as_str()) == self.kind() {
            return serializer.serialize_str(self.as_str());
        }
        let key = match self.kind() {
            Kind::Exact => "exact",
            Kind::Glob => "glob",
            Kind::Regex => "regex",
        };
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry(key, self.as_str())?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for ToolMatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ToolMatchVisitor)
    }
}

struct ToolMatchVisitor;

impl<'de> Visitor<'de> for ToolMatchVisitor {
    type Value = ToolMatch;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a tool name, glob or regex (a string), or a map such as `{ regex: \"^get_\" }`",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<ToolMatch, E> {
        if text.trim().is_empty() {
            return Err(custom("the tool must not be empty"));
        }
        ToolMatch::parse(text).map_err(custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolMatch, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(custom("expected one of `exact`, `glob` or `regex`"));
        };
        let kind = match key.as_str() {
            "exact" => Kind::Exact,
            "glob" => Kind::Glob,
            "regex" => Kind::Regex,
            other => {
                return Err(custom(format!(
                    "unknown tool match `{other}`, expected `exact`, `glob` or `regex`"
                )))
            }
        };
        let text: String = map.next_value()?;
        if text.trim().is_empty() {
            return Err(custom("the tool must not be empty"));
        }
        if map.next_key::<String>()?.is_some() {
            return Err(custom(
                "a tool match has exactly one of `exact`, `glob` or `regex`",
            ));
        }
        ToolMatch::build(kind, &text).map_err(custom)
    }
}

/// How the tools matched by a child rule relate to those matched by a parent rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlap {
    /// Every tool the child matches, the parent matches too (this includes equal matches).
    Subset,
    /// The child matches every tool the parent matches, and more.
    Superset,
    /// Some tools may be matched by both; the analysis cannot tell more (regexes, complex globs).
    Possible,
    /// No tool is matched by both.
    Disjoint,
}

/// Compares two tool matches. Exact names are decided exactly; globs are compared through their
/// literal prefix and suffix; regexes are only recognised when equal, so anything else about them
/// is `Possible`. The answer errs towards overlap: `Disjoint` is only said when it is certain.
pub(crate) fn overlap(child: &ToolMatch, parent: &ToolMatch) -> Overlap {
    use ToolMatch::{Exact, Glob, Regex};
    if child.kind() == parent.kind() && child.as_str() == parent.as_str() {
        return Overlap::Subset;
    }
    match (child, parent) {
        (Exact(name), _) => if_else(parent.matches(name), Overlap::Subset, Overlap::Disjoint),
        (_, Exact(name)) => if_else(child.matches(name), Overlap::Superset, Overlap::Disjoint),
        (Glob(c), Glob(p)) => glob_overlap(c.as_str(), p.as_str()),
        (_, Glob(p)) if is_universal(p.as_str()) => Overlap::Subset,
        (Glob(c), _) if is_universal(c.as_str()) => Overlap::Superset,
        (Regex(c), Glob(p)) => regex_glob_overlap(c.as_str(), p.as_str()),
        (Glob(c), Regex(p)) => match regex_glob_overlap(p.as_str(), c.as_str()) {
            Overlap::Subset => Overlap::Superset,
            Overlap::Superset => Overlap::Subset,
            other => other,
        },
        (Regex(c), Regex(p)) => regex_overlap(c.as_str(), p.as_str()),
    }
}

/// What a regex says about the start of every string it matches: `Some((prefix, pure))` when it
/// is anchored with `^` and has no alternation, where every match starts with `prefix`, and
/// `pure` means the regex is nothing more than `^prefix` (it matches exactly the strings that
/// start with it). Anything cleverer is left to `Possible`.
fn regex_prefix(regex: &str) -> Option<(String, bool)> {
    let body = regex.strip_prefix('^')?;
    if has_top_level_alternation(body) {
        return None;
    }
    let mut prefix = String::new();
    let mut chars = body.chars().peekable();
    while let Some(&c) = chars.peek() {
        let literal = match c {
            '\\' => {
                chars.next();
                match chars.peek() {
                    Some(&escaped) if escaped.is_ascii_punctuation() => escaped,
                    _ => return Some((without_last_if_quantified(prefix, "\\"), false)),
                }
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | ':' | '@' | ' ') => c,
            _ => break,
        };
        chars.next();
        prefix.push(literal);
    }
    let rest: String = chars.collect();
    let pure = rest.is_empty();
    Some((without_last_if_quantified(prefix, &rest), pure))
}

/// `a|b` outside any group makes the `^` anchor only the first branch.
fn has_top_level_alternation(regex: &str) -> bool {
    let (mut depth, mut in_class, mut escaped) = (0usize, false, false);
    for c in regex.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            _ if in_class => {}
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// `^ab*` does not promise the `b`: a quantifier that allows zero repeats drops the last char.
fn without_last_if_quantified(mut prefix: String, rest: &str) -> String {
    if rest.starts_with(['*', '?', '{']) {
        prefix.pop();
    }
    prefix
}

fn prefixes_compatible(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fn regex_glob_overlap(regex: &str, glob: &str) -> Overlap {
    let Some((prefix, pure)) = regex_prefix(regex) else {
        return Overlap::Possible;
    };
    if !glob.contains('\\') {
        if single_star(glob).is_some_and(|(start, end)| end.is_empty() && prefix.starts_with(start))
        {
            return Overlap::Subset;
        }
        if pure && literal_prefix(glob).starts_with(prefix.as_str()) {
            return Overlap::Superset;
        }
    }
    if !prefixes_compatible(&prefix, literal_prefix(glob)) {
        return Overlap::Disjoint;
    }
    Overlap::Possible
}

fn regex_overlap(child: &str, parent: &str) -> Overlap {
    let (Some((c, c_pure)), Some((p, p_pure))) = (regex_prefix(child), regex_prefix(parent)) else {
        return Overlap::Possible;
    };
    if p_pure && c.starts_with(p.as_str()) {
        return Overlap::Subset;
    }
    if c_pure && p.starts_with(c.as_str()) {
        return Overlap::Superset;
    }
    if !prefixes_compatible(&c, &p) {
        return Overlap::Disjoint;
    }
    Overlap::Possible
}

fn if_else(condition: bool, yes: Overlap, no: Overlap) -> Overlap {
    if condition {
        yes
    } else {
        no
    }
}

const GLOB_META: [char; 5] = ['*', '?', '[', '{', '\\'];
const GLOB_META_END: [char; 5] = ['*', '?', ']', '}', '\\'];

fn is_universal(glob: &str) -> bool {
    !glob.is_empty() && glob.chars().all(|c| c == '*')
}

fn literal_prefix(glob: &str) -> &str {
    glob.find(GLOB_META).map_or(glob, |at| &glob[..at])
}

fn literal_suffix(glob: &str) -> &str {
    glob.rfind(GLOB_META_END).map_or(glob, |at| &glob[at + 1..])
}

/// `Some((prefix, suffix))` for a glob that is one `*` between two literals, like `system.*`.
fn single_star(glob: &str) -> Option<(&str, &str)> {
    let (prefix, suffix) = glob.split_once('*')?;
    let plain = |s: &str| !s.contains(GLOB_META);
    (plain(prefix) && plain(suffix)).then_some((prefix, suffix))
}

fn covers(wide: &str, narrow: &str) -> bool {
    if is_universal(wide) {
        return true;
    }
    if narrow.contains('\\') {
        return false;
    }
    single_star(wide).is_some_and(|(prefix, suffix)| {
        literal_prefix(narrow).starts_with(prefix) && literal_suffix(narrow).ends_with(suffix)
    })
}

fn glob_overlap(child: &str, parent: &str) -> Overlap {
    if covers(parent, child) {
        return Overlap::Subset;
    }
    if covers(child, parent) {
        return Overlap::Superset;
    }
    let compatible = |a: &str, b: &str| a.starts_with(b) || b.starts_with(a);
    let compatible_end = |a: &str, b: &str| a.ends_with(b) || b.ends_with(a);
    let (cp, pp) = (literal_prefix(child), literal_prefix(parent));
    let (cs, ps) = (literal_suffix(child), literal_suffix(parent));
    if child.contains('\\') || parent.contains('\\') {
        return Overlap::Possible;
    }
    if !compatible(cp, pp) || !compatible_end(cs, ps) {
        return Overlap::Disjoint;
    }
    Overlap::Possible
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn check(child: &str, parent: &str, expected: Overlap) {
        let c = ToolMatch::parse(child).unwrap();
        let p = ToolMatch::parse(parent).unwrap();
        assert_eq!(
            overlap(&c, &p),
            expected,
            "child `{child}` vs parent `{parent}`"
        );
    }

    #[test]
    fn overlaps() {
        use Overlap::*;
        let table = [
            ("system.exec", "system.exec", Subset),
            ("system.exec", "system.*", Subset),
            ("system.exec", "email.*", Disjoint),
            ("system.*", "system.exec", Superset),
            ("*", "system.*", Superset),
            ("system.*", "*", Subset),
            ("system.shell.*", "system.*", Subset),
            ("system.*", "system.*", Subset),
            ("email.*", "system.*", Disjoint),
            ("sys*", "system.*", Superset),
            ("*.exec", "system.*", Possible),
            ("*.exec", "*.send", Disjoint),
            ("^system\\.", "system.exec", Superset),
            ("^system\\.", "email.send", Disjoint),
            ("^system\\.", "system.*", Subset),
            ("^system\\.(exec|shell)$", "system.*", Subset),
            ("^sys", "system.*", Superset),
            ("^hr\\.", "system.*", Disjoint),
            ("system.*", "^hr\\.", Disjoint),
            ("system.*", "^sys", Subset),
            ("^(get|list)_", "get_*", Possible),
            ("^ab*", "ab*", Possible),
            ("^get_", "^get", Subset),
            ("^get", "^get_", Superset),
            ("^get", "^list", Disjoint),
            ("^a|^b", "a*", Possible),
            ("^system\\.", "*", Subset),
            ("system.exec", "^sys", Subset),
            ("a?c", "a*", Subset),
            ("{a,b}.x", "*.x", Subset),
        ];
        for (child, parent, expected) in table {
            check(child, parent, expected);
        }
    }

    #[test]
    fn classification() {
        assert!(matches!(
            ToolMatch::parse("expense.submit").unwrap(),
            ToolMatch::Exact(_)
        ));
        assert!(matches!(
            ToolMatch::parse("payments.*").unwrap(),
            ToolMatch::Glob(_)
        ));
        assert!(matches!(
            ToolMatch::parse("^(get|list)_").unwrap(),
            ToolMatch::Regex(_)
        ));
    }
}
