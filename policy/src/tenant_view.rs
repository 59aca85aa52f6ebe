//! What a tenant is shown of the platform's rules.
//!
//! Tenants live inside the platform's boundaries, so they must be able to see why one stopped a
//! call, but the platform's policies are the platform's own: a tenant never sees a platform
//! policy's document, id, name or version. By default a platform rule appears to tenants as "a
//! platform boundary" with its tool match, effect, reason and caps; its conditions and targets
//! (near misses included) are left out. A confidential platform policy's rules show only their
//! reason (and the caps a call ran into, which the tenant meets anyway).
//!
//! The full decision is what is stored; these views are made for tenant callers when they read it.

use crate::effective::EffectivePolicy;
use crate::explain::{Decision, EffectiveLimit, MatchedRule};
use crate::model::{PolicyRef, RuleRef, Scope};

impl RuleRef {
    /// This rule as a tenant may see it: a platform rule becomes a platform boundary.
    pub fn seen_by_tenant(&self) -> RuleRef {
        if self.policy.scope != Scope::Platform {
            return self.clone();
        }
        RuleRef {
            policy: PolicyRef::platform_boundary(self.policy.confidential),
            rule_index: 0,
            rule_id: None,
        }
    }
}

/// `(said, shown)` pairs that rewrite a reason for a tenant, longest first so that "rule 10" is
/// rewritten before "rule 1" could match inside it.
fn rewrites<'a>(
    rules: impl Iterator<Item = (&'a RuleRef, Option<String>)>,
) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (rule, summary) in rules.filter(|(rule, _)| {
        rule.policy.scope == Scope::Platform && !rule.policy.is_platform_boundary()
    }) {
        let shown = rule.seen_by_tenant().to_string();
        // A confidential rule's tool match and effect are not shown either.
        if let (true, Some(summary)) = (rule.policy.confidential, summary) {
            pairs.push((format!("{rule} ({summary})"), shown.clone()));
        }
        pairs.push((rule.to_string(), shown));
    }
    pairs.sort_by_key(|(said, _)| std::cmp::Reverse(said.len()));
    pairs.dedup();
    pairs
}

fn rewrite(text: &str, pairs: &[(String, String)]) -> String {
    pairs.iter().fold(text.to_owned(), |text, (said, shown)| {
        text.replace(said, shown)
    })
}

fn summary(matched: &MatchedRule) -> String {
    match matched.effect {
        Some(effect) => format!("`{}` {effect}", matched.tool),
        None => format!("`{}`", matched.tool),
    }
}

/// A reason the engine wrote (a decision's, an approval's), as a tenant may read it, given the
/// rules it may mention.
pub fn reason_seen_by_tenant(
    reason: &str,
    matched: &[MatchedRule],
    limits: &[EffectiveLimit],
    default_source: Option<&PolicyRef>,
) -> String {
    let mut pairs = rewrites(
        matched
            .iter()
            .map(|m| (&m.rule, Some(summary(m))))
            .chain(limits.iter().map(|limit| (limit_source(limit), None))),
    );
    if let Some(policy) = default_source
        .filter(|policy| policy.scope == Scope::Platform && !policy.is_platform_boundary())
    {
        pairs.push((
            policy.to_string(),
            PolicyRef::platform_boundary(policy.confidential).to_string(),
        ));
    }
    rewrite(reason, &pairs)
}

fn limit_source(limit: &EffectiveLimit) -> &RuleRef {
    match limit {
        EffectiveLimit::Cap { source, .. }
        | EffectiveLimit::Floor { source, .. }
        | EffectiveLimit::Required { source, .. }
        | EffectiveLimit::Budget { source, .. }
        | EffectiveLimit::Rate { source, .. } => source,
    }
}

/// A matched rule as a tenant may see it.
pub fn matched_seen_by_tenant(matched: &MatchedRule) -> MatchedRule {
    if matched.rule.policy.scope != Scope::Platform {
        return matched.clone();
    }
    let confidential = matched.rule.policy.confidential;
    MatchedRule {
        rule: matched.rule.seen_by_tenant(),
        tool: if confidential {
            String::new()
        } else {
            matched.tool.clone()
        },
        effect: if confidential { None } else { matched.effect },
        reason: matched.reason.clone(),
        decisive: matched.decisive,
    }
}

impl Decision {
    /// Whether any part of the explanation comes from a platform rule or policy.
    fn mentions_the_platform(&self) -> bool {
        let platform = |rule: &RuleRef| rule.policy.scope == Scope::Platform;
        self.matched.iter().any(|m| platform(&m.rule))
            || self.near_misses.iter().any(|m| platform(&m.rule))
            || self
                .limits
                .iter()
                .any(|limit| platform(limit_source(limit)))
            || self
                .obligations
                .iter()
                .any(|o| o.sources.iter().any(platform))
            || self
                .default_source
                .as_ref()
                .is_some_and(|p| p.scope == Scope::Platform)
    }

    /// [`Decision::seen_by_tenant`] without a copy when no platform rule took part (the common
    /// case on the decision path).
    pub fn into_seen_by_tenant(self) -> Decision {
        if self.mentions_the_platform() {
            self.seen_by_tenant()
        } else {
            self
        }
    }

    /// The decision as a tenant may see it (see the module's documentation).
    pub fn seen_by_tenant(&self) -> Decision {
        let reason = reason_seen_by_tenant(
            &self.reason,
            &self.matched,
            &self.limits,
            self.default_source.as_ref(),
        );
        let limits = self
            .limits
            .iter()
            .map(|limit| {
                let mut limit = limit.clone();
                match &mut limit {
                    EffectiveLimit::Cap { source, .. }
                    | EffectiveLimit::Floor { source, .. }
                    | EffectiveLimit::Required { source, .. } => *source = source.seen_by_tenant(),
                    EffectiveLimit::Rate { source, key, .. }
                    | EffectiveLimit::Budget { source, key, .. } => {
                        if source.policy.scope == Scope::Platform && source.policy.confidential {
                            key.tool = String::new();
                        }
                        *source = source.seen_by_tenant();
                    }
                }
                limit
            })
            .collect();
        let mut obligations = self.obligations.clone();
        for obligation in &mut obligations {
            obligation.sources = obligation
                .sources
                .iter()
                .map(RuleRef::seen_by_tenant)
                .collect();
        }
        Decision {
            verdict: self.verdict,
            reason,
            basis: self.basis,
            matched: self.matched.iter().map(matched_seen_by_tenant).collect(),
            near_misses: self
                .near_misses
                .iter()
                .filter(|miss| miss.rule.policy.scope != Scope::Platform)
                .cloned()
                .collect(),
            limits,
            obligations,
            approvers: self.approvers.clone(),
            default_source: self
                .default_source
                .as_ref()
                .map(|policy| match policy.scope {
                    Scope::Platform => PolicyRef::platform_boundary(policy.confidential),
                    _ => policy.clone(),
                }),
        }
    }
}

impl EffectivePolicy {
    /// The merged policy as a tenant may see it: platform rules as platform boundaries with their
    /// tool match, effect, reason and limits but no conditions or targets; a confidential
    /// platform policy's rules left out, counted in `withheld`.
    pub fn seen_by_tenant(&self) -> EffectivePolicy {
        let confidential =
            |rule: &RuleRef| rule.policy.scope == Scope::Platform && rule.policy.confidential;
        let mut seen = self.clone();
        seen.withheld = self
            .rules
            .iter()
            .filter(|rule| confidential(&rule.source))
            .count();
        seen.rules.retain(|rule| !confidential(&rule.source));
        for rule in &mut seen.rules {
            if rule.source.policy.scope == Scope::Platform {
                rule.source = rule.source.seen_by_tenant();
                rule.rule.id = None;
                rule.rule.when.clear();
                rule.rule.targets = None;
            }
        }
        seen.caps.retain(|cap| !confidential(&cap.source));
        for cap in &mut seen.caps {
            cap.source = cap.source.seen_by_tenant();
            cap.effective_source = cap.effective_source.seen_by_tenant();
        }
        seen.rate_limits.retain(|rate| !confidential(&rate.source));
        for rate in &mut seen.rate_limits {
            rate.source = rate.source.seen_by_tenant();
            rate.effective_source = rate.effective_source.seen_by_tenant();
        }
        seen.default_source = self
            .default_source
            .as_ref()
            .map(|policy| match policy.scope {
                Scope::Platform => PolicyRef::platform_boundary(policy.confidential),
                _ => policy.clone(),
            });
        seen
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::{DecisionRequest, InMemoryRateCounter, PlatformSettings, Policy, PolicySet};

    fn platform(yaml: &str) -> Policy {
        let mut policy = Policy::from_yaml(yaml).unwrap();
        policy.id = "p-1".into();
        policy
    }

    fn check(platform_yaml: &str, tool: &str, expected: &str) {
        let set = PolicySet::compile(
            &PlatformSettings::default(),
            &[platform(platform_yaml)],
            &[],
            &[],
        );
        let decision = set.decide(&DecisionRequest::new(tool), &InMemoryRateCounter::new(), 0);
        let seen = decision.seen_by_tenant();
        assert_eq!(seen.reason, expected, "full reason: {}", decision.reason);
        let text = serde_json::to_string(&seen).unwrap();
        assert!(
            !text.contains("Guardrails") && !text.contains("p-1"),
            "{text}"
        );
    }

    #[test]
    fn platform_rules_read_as_boundaries() {
        let ten_rules: String = (1..=10)
            .map(|n| format!("  - tool: t{n}\n    effect: deny\n    reason: r{n}\n"))
            .collect();
        check(
            &format!("name: Guardrails\nscope: platform\nrules:\n{ten_rules}"),
            "t10",
            "denied by a platform boundary (`t10` deny): r10",
        );
        check(
            &format!("name: Guardrails\nscope: platform\nrules:\n{ten_rules}"),
            "t1",
            "denied by a platform boundary (`t1` deny): r1",
        );
        check(
            "name: Guardrails\nscope: platform\nconfidential: true\nrules:\n  - tool: wire.send\n    effect: deny\n    reason: no\n",
            "wire.send",
            "denied by a platform boundary: no",
        );
    }
}
