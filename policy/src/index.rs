//! The tool index: finds the rules whose tool match can match a tool name, without looking at
//! the others. Exact names go in a hash map, `*` in a list every call takes, other globs in one
//! `GlobSet` and regexes in one `RegexSet`, so the cost of a lookup follows the number of rules
//! that match, not the number of rules.

use std::collections::HashMap;

use globset::{Candidate, GlobSet, GlobSetBuilder};
use regex::RegexSet;

use crate::pattern::{GlobPattern, RegexPattern};
use crate::tool::ToolMatch;

/// Rules are named by their position in the compiled set.
pub(crate) type RuleId = u32;

#[derive(Debug, Default)]
pub(crate) struct ToolIndex {
    exact: HashMap<String, Vec<RuleId>>,
    universal: Vec<RuleId>,
    globs: Globs,
    regexes: Regexes,
}

/// Identical patterns share one entry, so a thousand rules on `payments.*` cost one glob.
#[derive(Debug, Default)]
struct Globs {
    /// `None` when the set could not be built (it only fails past size limits); matching then
    /// falls back to trying each pattern, which is slower but still right.
    set: Option<GlobSet>,
    patterns: Vec<GlobPattern>,
    rules: Vec<Vec<RuleId>>,
}

#[derive(Debug, Default)]
struct Regexes {
    set: Option<RegexSet>,
    patterns: Vec<RegexPattern>,
    rules: Vec<Vec<RuleId>>,
}

#[derive(Default)]
pub(crate) struct ToolIndexBuilder {
    index: ToolIndex,
    glob_positions: HashMap<String, usize>,
    regex_positions: HashMap<String, usize>,
}

impl ToolIndexBuilder {
    pub(crate) fn add(&mut self, id: RuleId, tool: &ToolMatch) {
        match tool {
            ToolMatch::Exact(name) => self.index.exact.entry(name.clone()).or_default().push(id),
            ToolMatch::Glob(glob) if glob.as_str().chars().all(|c| c == '*') => {
                self.index.universal.push(id);
            }
            ToolMatch::Glob(glob) => {
                let globs = &mut self.index.globs;
                let at = *self
                    .glob_positions
                    .entry(glob.as_str().to_string())
                    .or_insert_with(|| {
                        globs.patterns.push(glob.clone());
                        globs.rules.push(Vec::new());
                        globs.patterns.len() - 1
                    });
                // INVARIANT: `at` was handed out when the pattern and its rule list were pushed.
                #[allow(clippy::indexing_slicing)]
                globs.rules[at].push(id);
            }
            ToolMatch::Regex(regex) => {
                let regexes = &mut self.index.regexes;
                let at = *self
                    .regex_positions
                    .entry(regex.as_str().to_string())
                    .or_insert_with(|| {
                        regexes.patterns.push(regex.clone());
                        regexes.rules.push(Vec::new());
                        regexes.patterns.len() - 1
                    });
                // INVARIANT: `at` was handed out when the pattern and its rule list were pushed.
                #[allow(clippy::indexing_slicing)]
                regexes.rules[at].push(id);
            }
        }
    }

    pub(crate) fn build(mut self) -> ToolIndex {
        let globs = &mut self.index.globs;
        if !globs.patterns.is_empty() {
            let mut builder = GlobSetBuilder::new();
            for pattern in &globs.patterns {
                builder.add(pattern.glob().clone());
            }
            globs.set = builder.build().ok();
        }
        let regexes = &mut self.index.regexes;
        if !regexes.patterns.is_empty() {
            regexes.set = RegexSet::new(regexes.patterns.iter().map(RegexPattern::as_str)).ok();
        }
        self.index
    }
}

impl ToolIndex {
    /// Appends the ids of the rules whose tool match matches `tool`, in no particular order.
    pub(crate) fn candidates(&self, tool: &str, out: &mut Vec<RuleId>) {
        if let Some(ids) = self.exact.get(tool) {
            out.extend_from_slice(ids);
        }
        out.extend_from_slice(&self.universal);
        self.globs.candidates(tool, out);
        self.regexes.candidates(tool, out);
    }
}

impl Globs {
    fn candidates(&self, tool: &str, out: &mut Vec<RuleId>) {
        if self.patterns.is_empty() {
            return;
        }
        match &self.set {
            Some(set) => {
                let mut hits = Vec::new();
                set.matches_candidate_into(&Candidate::new(tool), &mut hits);
                for at in hits {
                    // INVARIANT: the set was built from `patterns`, whose positions `rules` shares.
                    #[allow(clippy::indexing_slicing)]
                    out.extend_from_slice(&self.rules[at]);
                }
            }
            None => {
                for (pattern, ids) in self.patterns.iter().zip(&self.rules) {
                    if pattern.is_match(tool) {
                        out.extend_from_slice(ids);
                    }
                }
            }
        }
    }
}

impl Regexes {
    fn candidates(&self, tool: &str, out: &mut Vec<RuleId>) {
        if self.patterns.is_empty() {
            return;
        }
        match &self.set {
            Some(set) => {
                for at in set.matches(tool).iter() {
                    // INVARIANT: the set was built from `patterns`, whose positions `rules` shares.
                    #[allow(clippy::indexing_slicing)]
                    out.extend_from_slice(&self.rules[at]);
                }
            }
            None => {
                for (pattern, ids) in self.patterns.iter().zip(&self.rules) {
                    if pattern.is_match(tool) {
                        out.extend_from_slice(ids);
                    }
                }
            }
        }
    }
}
