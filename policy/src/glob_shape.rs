//! The shape of a glob over tool names, so that the common ones match without an automaton.
//!
//! Almost every glob a person writes for tools is a prefix (`payments.*`), a suffix
//! (`*.delete`), a middle (`*admin*`), a prefix and a suffix (`crm.*.read`) or an alternation of
//! such (`{crm,erp}.*`). These match with string comparisons and index by their literal parts, so
//! a tenant's compiled set holds a few strings per glob instead of a regex automaton (several
//! kilobytes each). Any other glob (`?`, classes, several alternations) is compiled once per
//! pattern text by `globset` and shared by every policy that uses it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use globset::{Glob, GlobMatcher};

/// One alternative of a simple glob: where its single literal parts must sit in the tool name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Simple {
    /// No `*`: the whole name (an alternation of names, `payments.{create,refund}`).
    Exact(Box<str>),
    /// `prefix*`.
    Prefix(Box<str>),
    /// `*suffix`.
    Suffix(Box<str>),
    /// `*middle*`.
    Middle(Box<str>),
    /// `prefix*suffix`.
    Around(Box<str>, Box<str>),
    /// `*` alone.
    Any,
}

impl Simple {
    pub(crate) fn is_match(&self, tool: &str) -> bool {
        match self {
            Simple::Exact(name) => tool == &**name,
            Simple::Prefix(prefix) => tool.starts_with(&**prefix),
            Simple::Suffix(suffix) => tool.ends_with(&**suffix),
            Simple::Middle(middle) => tool.contains(&**middle),
            Simple::Around(prefix, suffix) => {
                tool.len() >= prefix.len() + suffix.len()
                    && tool.starts_with(&**prefix)
                    && tool.ends_with(&**suffix)
            }
            Simple::Any => true,
        }
    }
}

/// How a glob matches: by its simple alternatives, or by a shared compiled matcher.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    Simple(Box<[Simple]>),
    Compiled(Arc<GlobMatcher>),
}

impl Shape {
    /// The shape of `glob`, whose text `globset` has already accepted.
    pub(crate) fn of(glob: &Glob) -> Shape {
        match simple_alternatives(glob.glob()) {
            Some(alternatives) => Shape::Simple(alternatives.into_boxed_slice()),
            None => Shape::Compiled(shared_matcher(glob)),
        }
    }

    pub(crate) fn is_match(&self, tool: &str) -> bool {
        match self {
            Shape::Simple(alternatives) => alternatives.iter().any(|simple| simple.is_match(tool)),
            Shape::Compiled(matcher) => matcher.is_match(tool),
        }
    }
}

/// The most alternatives a simple glob expands to; a larger alternation is compiled.
const MAX_ALTERNATIVES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Star,
    Alternation(Vec<String>),
}

/// The alternatives of a glob made of literals, `*` and at most one alternation of literals, each
/// with at most two literal runs; `None` for any other glob.
fn simple_alternatives(text: &str) -> Option<Vec<Simple>> {
    let tokens = tokens(text)?;
    let alternations = tokens
        .iter()
        .filter(|token| matches!(token, Token::Alternation(_)))
        .count();
    if alternations > 1 {
        return None;
    }
    let choices = tokens
        .iter()
        .find_map(|token| match token {
            Token::Alternation(choices) => Some(choices.clone()),
            _ => None,
        })
        .unwrap_or_else(|| vec![String::new()]);
    if choices.len() > MAX_ALTERNATIVES {
        return None;
    }
    let mut alternatives = Vec::with_capacity(choices.len());
    for choice in &choices {
        // Literal runs, separated by stars, with whether the glob starts and ends with a star.
        let mut runs: Vec<String> = vec![String::new()];
        let mut stars = 0;
        for token in &tokens {
            let literal = match token {
                Token::Literal(text) => text.as_str(),
                Token::Alternation(_) => choice.as_str(),
                Token::Star => {
                    stars += 1;
                    runs.push(String::new());
                    continue;
                }
            };
            if let Some(run) = runs.last_mut() {
                run.push_str(literal);
            }
        }
        let simple = match (stars, runs.as_slice()) {
            (0, [name]) => Simple::Exact(name.as_str().into()),
            (1, [prefix, suffix]) => match (prefix.is_empty(), suffix.is_empty()) {
                (true, true) => Simple::Any,
                (false, true) => Simple::Prefix(prefix.as_str().into()),
                (true, false) => Simple::Suffix(suffix.as_str().into()),
                (false, false) => Simple::Around(prefix.as_str().into(), suffix.as_str().into()),
            },
            (2, [start, middle, end]) if start.is_empty() && end.is_empty() => {
                if middle.is_empty() {
                    Simple::Any
                } else {
                    Simple::Middle(middle.as_str().into())
                }
            }
            _ => return None,
        };
        alternatives.push(simple);
    }
    Some(alternatives)
}

/// The glob as literals, stars and alternations of literals; `None` when it holds anything else
/// (`?`, a class, a nested alternation, a star inside an alternation, an empty alternative, or
/// `**`, which `globset` reads as any number of `/`-separated levels, none included).
fn tokens(text: &str) -> Option<Vec<Token>> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut chars = text.chars();
    let push_char = |tokens: &mut Vec<Token>, c: char| match tokens.last_mut() {
        Some(Token::Literal(run)) => run.push(c),
        _ => tokens.push(Token::Literal(c.to_string())),
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => push_char(&mut tokens, chars.next()?),
            '*' if tokens.last() == Some(&Token::Star) => return None,
            '*' => tokens.push(Token::Star),
            '?' | '[' | ']' | '}' | ',' => return None,
            '{' => {
                let mut choices = vec![String::new()];
                loop {
                    match chars.next()? {
                        '}' => break,
                        ',' => choices.push(String::new()),
                        '\\' => choices.last_mut()?.push(chars.next()?),
                        '*' | '?' | '[' | ']' | '{' => return None,
                        c => choices.last_mut()?.push(c),
                    }
                }
                if choices.iter().any(String::is_empty) {
                    return None;
                }
                tokens.push(Token::Alternation(choices));
            }
            c => push_char(&mut tokens, c),
        }
    }
    Some(tokens)
}

/// Compiled matchers of the globs that are not simple, one per pattern text while any policy
/// holds it.
static MATCHERS: LazyLock<Mutex<HashMap<String, Weak<GlobMatcher>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn shared_matcher(glob: &Glob) -> Arc<GlobMatcher> {
    let mut matchers = MATCHERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(matcher) = matchers.get(glob.glob()).and_then(Weak::upgrade) {
        return matcher;
    }
    // Entries whose matchers every policy dropped are swept when the map doubles.
    if matchers.len() >= 1024 && matchers.len().is_power_of_two() {
        matchers.retain(|_, matcher| matcher.strong_count() > 0);
    }
    let matcher = Arc::new(glob.compile_matcher());
    matchers.insert(glob.glob().to_string(), Arc::downgrade(&matcher));
    matcher
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use globset::GlobBuilder;
    use proptest::prelude::*;

    fn glob(text: &str) -> Glob {
        GlobBuilder::new(text)
            .literal_separator(false)
            .backslash_escape(true)
            .empty_alternates(false)
            .build()
            .unwrap()
    }

    fn check(text: &str, expected: Option<Vec<Simple>>) {
        assert_eq!(simple_alternatives(text), expected, "{text}");
    }

    fn s(text: &str) -> Box<str> {
        text.into()
    }

    #[test]
    fn shapes() {
        check("payments.*", Some(vec![Simple::Prefix(s("payments."))]));
        check("*.delete", Some(vec![Simple::Suffix(s(".delete"))]));
        check("*admin*", Some(vec![Simple::Middle(s("admin"))]));
        check(
            "crm.*.read",
            Some(vec![Simple::Around(s("crm."), s(".read"))]),
        );
        check("**", None);
        check("**/delete", None);
        check("a/*", Some(vec![Simple::Prefix(s("a/"))]));
        check(
            "{crm,erp}.*",
            Some(vec![Simple::Prefix(s("crm.")), Simple::Prefix(s("erp."))]),
        );
        check(
            "payments.{create,refund}",
            Some(vec![
                Simple::Exact(s("payments.create")),
                Simple::Exact(s("payments.refund")),
            ]),
        );
        check(r"a\*b*", Some(vec![Simple::Prefix(s("a*b"))]));
        check("a?c", None);
        check("[ab].x", None);
        check("{a,b}.{c,d}", None);
        check("a*b*c", None);
        check("{a,}", None);
        check("{a*,b}", None);
    }

    /// Globs of the characters that matter, over names of the same characters.
    fn glob_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("a".to_string()),
                Just("b".to_string()),
                Just(".".to_string()),
                Just("*".to_string()),
                Just("{a,b.}".to_string()),
                Just("{ab,a}".to_string()),
                Just("?".to_string()),
                Just("/".to_string()),
                Just("**".to_string()),
            ],
            0..6,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn shapes_match_as_globset_does(text in glob_text(), names in proptest::collection::vec("[ab./]{0,6}", 1..20)) {
            let Ok(built) = GlobBuilder::new(&text).literal_separator(false).backslash_escape(true).empty_alternates(false).build() else {
                return Ok(());
            };
            let reference = built.compile_matcher();
            let shape = Shape::of(&glob(&text));
            for name in names {
                prop_assert_eq!(shape.is_match(&name), reference.is_match(&name), "glob {} on {}", text, name);
            }
        }
    }

    #[test]
    fn compiled_matchers_are_shared() {
        let (Shape::Compiled(one), Shape::Compiled(two)) =
            (Shape::of(&glob("a?b.*")), Shape::of(&glob("a?b.*")))
        else {
            panic!("`?` is not simple");
        };
        assert!(Arc::ptr_eq(&one, &two));
    }
}
