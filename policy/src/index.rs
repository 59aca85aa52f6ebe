//! The tool index: finds the rules whose tool match can match a tool name, without looking at
//! the others. Exact names (and the names of alternations such as `payments.{create,refund}`) go
//! in a hash map, `*` in a list every call takes, prefix and suffix globs in maps looked up by the
//! name's own prefixes and suffixes of the lengths present, so the cost of a lookup follows the
//! number of rules that match, not the number of rules. The rarer globs (a middle, a prefix and a
//! suffix, or one compiled by `globset`) and regexes are tried one distinct pattern at a time;
//! many regexes are matched together by one `RegexSet`.
//!
//! Nothing here compiles an automaton per tenant for the common patterns: a tenant's index holds
//! strings and rule ids, and compiled patterns are shared across tenants (`glob_shape`,
//! `regex_cache`).

use std::collections::HashMap;
use std::sync::Arc;

use globset::GlobMatcher;
use regex::RegexSet;

use crate::glob_shape::{Shape, Simple};
use crate::pattern::RegexPattern;
use crate::tool::ToolMatch;

/// Rules are named by their position in the compiled set.
pub(crate) type RuleId = u32;

/// Past this many distinct regex tool patterns, one index matches them with one `RegexSet`.
const REGEX_SET_FROM: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct ToolIndex {
    exact: HashMap<Box<str>, Vec<RuleId>>,
    universal: Vec<RuleId>,
    prefixes: Affixes,
    suffixes: Affixes,
    /// Globs matched one distinct pattern at a time, with their rules.
    others: Vec<(Other, Vec<RuleId>)>,
    regexes: Regexes,
}

/// Prefixes (or suffixes) and their rules, with the distinct lengths to look up.
#[derive(Debug, Default)]
struct Affixes {
    rules: HashMap<Box<str>, Vec<RuleId>>,
    lengths: Vec<usize>,
}

#[derive(Debug)]
enum Other {
    Simple(Simple),
    Compiled(Arc<GlobMatcher>),
}

impl Other {
    fn is_match(&self, tool: &str) -> bool {
        match self {
            Other::Simple(simple) => simple.is_match(tool),
            Other::Compiled(matcher) => matcher.is_match(tool),
        }
    }

    fn same_as(&self, other: &Other) -> bool {
        match (self, other) {
            (Other::Simple(one), Other::Simple(two)) => one == two,
            (Other::Compiled(one), Other::Compiled(two)) => Arc::ptr_eq(one, two),
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
struct Regexes {
    /// Built when there are at least [`REGEX_SET_FROM`] patterns; `None` also when it could not
    /// be built (only past size limits), and matching then tries each pattern.
    set: Option<RegexSet>,
    patterns: Vec<(RegexPattern, Vec<RuleId>)>,
}

#[derive(Default)]
pub(crate) struct ToolIndexBuilder {
    index: ToolIndex,
}

impl ToolIndexBuilder {
    pub(crate) fn add(&mut self, id: RuleId, tool: &ToolMatch) {
        let index = &mut self.index;
        match tool {
            ToolMatch::Exact(name) => {
                push(index.exact.entry(name.as_str().into()).or_default(), id)
            }
            ToolMatch::Glob(glob) => match glob.shape() {
                Shape::Simple(alternatives) => {
                    for simple in alternatives.iter() {
                        match simple {
                            Simple::Exact(name) => {
                                push(index.exact.entry(name.clone()).or_default(), id)
                            }
                            Simple::Any => push(&mut index.universal, id),
                            Simple::Prefix(prefix) => index.prefixes.add(prefix, id),
                            Simple::Suffix(suffix) => index.suffixes.add(suffix, id),
                            Simple::Middle(_) | Simple::Around(..) => {
                                index.add_other(Other::Simple(simple.clone()), id);
                            }
                        }
                    }
                }
                Shape::Compiled(matcher) => index.add_other(Other::Compiled(matcher.clone()), id),
            },
            ToolMatch::Regex(regex) => {
                let patterns = &mut index.regexes.patterns;
                match patterns.iter_mut().find(|(pattern, _)| pattern == regex) {
                    Some((_, ids)) => push(ids, id),
                    None => patterns.push((regex.clone(), vec![id])),
                }
            }
        }
    }

    pub(crate) fn build(mut self) -> ToolIndex {
        let regexes = &mut self.index.regexes;
        if regexes.patterns.len() >= REGEX_SET_FROM {
            regexes.set =
                RegexSet::new(regexes.patterns.iter().map(|(pattern, _)| pattern.as_str())).ok();
        }
        let index = &mut self.index;
        for ids in index
            .exact
            .values_mut()
            .chain(index.prefixes.rules.values_mut())
            .chain(index.suffixes.rules.values_mut())
        {
            ids.shrink_to_fit();
        }
        index.exact.shrink_to_fit();
        index.universal.shrink_to_fit();
        index.others.shrink_to_fit();
        index.prefixes.rules.shrink_to_fit();
        index.suffixes.rules.shrink_to_fit();
        self.index
    }
}

/// Adds a rule to a list once: an alternation can name the same rule under one key twice.
fn push(ids: &mut Vec<RuleId>, id: RuleId) {
    if ids.last() != Some(&id) {
        ids.push(id);
    }
}

impl Affixes {
    fn add(&mut self, text: &str, id: RuleId) {
        push(self.rules.entry(text.into()).or_default(), id);
        if let Err(at) = self.lengths.binary_search(&text.len()) {
            self.lengths.insert(at, text.len());
        }
    }
}

impl ToolIndex {
    fn add_other(&mut self, other: Other, id: RuleId) {
        match self
            .others
            .iter_mut()
            .find(|(known, _)| known.same_as(&other))
        {
            Some((_, ids)) => push(ids, id),
            None => self.others.push((other, vec![id])),
        }
    }

    /// Appends the ids of the rules whose tool match matches `tool`, each plus `offset`, in no
    /// particular order and possibly more than once.
    pub(crate) fn candidates(&self, tool: &str, offset: RuleId, out: &mut Vec<RuleId>) {
        let mut extend = |ids: &[RuleId]| out.extend(ids.iter().map(|id| id + offset));
        if let Some(ids) = self.exact.get(tool) {
            extend(ids);
        }
        extend(&self.universal);
        for &length in &self.prefixes.lengths {
            if let Some(ids) = tool
                .get(..length)
                .and_then(|prefix| self.prefixes.rules.get(prefix))
            {
                extend(ids);
            }
        }
        for &length in &self.suffixes.lengths {
            let suffix = tool
                .len()
                .checked_sub(length)
                .and_then(|start| tool.get(start..));
            if let Some(ids) = suffix.and_then(|suffix| self.suffixes.rules.get(suffix)) {
                extend(ids);
            }
        }
        for (other, ids) in &self.others {
            if other.is_match(tool) {
                extend(ids);
            }
        }
        match &self.regexes.set {
            Some(set) => {
                for at in set.matches(tool).iter() {
                    if let Some((_, ids)) = self.regexes.patterns.get(at) {
                        extend(ids);
                    }
                }
            }
            None => {
                for (pattern, ids) in &self.regexes.patterns {
                    if pattern.is_match(tool) {
                        extend(ids);
                    }
                }
            }
        }
    }
}
