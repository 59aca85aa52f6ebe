//! The decision procedure of PRODUCT.md ("How a decision is made"), step by step:
//!
//! 1. a tool not enabled on the platform is denied;
//! 2. the rules whose tool, targets and conditions match are collected (the others whose tool
//!    matched become near misses);
//! 3. an explicit deny anywhere wins;
//! 4. caps take the minimum across all matching rules; an argument over it is denied;
//! 5. inside each scope the most specific rules decide, and among equals the most restrictive;
//! 6. across scopes the most restrictive verdict wins, a scope without a deciding rule abstains;
//! 7. if all abstain, the strictest default in force applies;
//!
//! and last, a call that would go ahead is counted against its rate limits, which deny it when
//! one is exhausted. Counting comes last so that calls denied anyway do not use up quota.

use crate::compile::{CompiledRule, PolicySet};
use crate::condition::{as_number, render, Facts};
use crate::explain::{
    Basis, Decision, EffectiveLimit, MatchedRule, NearMiss, Obligation, ObligationKind, Verdict,
};
use crate::index::RuleId;
use crate::model::{Effect, PolicyRef, RuleRef, Scope, Targets};
use crate::rate::{RateCounter, RateKey};
use crate::request::{DecisionRequest, Principal};

impl PolicySet {
    /// Decides a call and counts it against its rate limits.
    pub fn decide(&self, req: &DecisionRequest, rate: &dyn RateCounter, now_ms: u64) -> Decision {
        self.evaluate(req, Some(rate), now_ms)
    }

    /// Decides a call without counting it: rate limits are reported but neither consumed nor
    /// enforced. For the console's what-if previewer.
    pub fn decide_dry_run(&self, req: &DecisionRequest, now_ms: u64) -> Decision {
        self.evaluate(req, None, now_ms)
    }

    fn evaluate(
        &self,
        req: &DecisionRequest,
        rate: Option<&dyn RateCounter>,
        now_ms: u64,
    ) -> Decision {
        if !self.settings.is_enabled(&req.tool) {
            return Decision::refused(
                format!("tool `{}` is not enabled on this platform", req.tool),
                Basis::ToolDisabled,
            );
        }
        let mut candidates: Vec<RuleId> = Vec::with_capacity(16);
        self.shared.candidates(&req.tool, &mut candidates);
        if let Some(agent) = req.agent.as_deref().and_then(|a| self.agents.get(a)) {
            agent.index.candidates(&req.tool, &mut candidates);
        }
        candidates.sort_unstable();
        candidates.dedup();

        let facts = Facts::new(&req.args, &req.context, &req.principal);
        let mut matched: Vec<&CompiledRule> = Vec::with_capacity(candidates.len());
        let mut near_misses = Vec::new();
        for id in candidates {
            // INVARIANT: the indexes hold only positions in `self.rules`, set when it was compiled.
            #[allow(clippy::indexing_slicing)]
            let rule = &self.rules[id as usize];
            match check(rule, &facts, &req.principal) {
                Ok(()) => matched.push(rule),
                Err(failed) => near_misses.push(NearMiss {
                    rule: rule.source.clone(),
                    tool: rule.rule.tool.to_string(),
                    effect: rule.rule.effect,
                    failed,
                }),
            }
        }

        let mut outcome = self.settle(req, &matched, &facts);
        if outcome.verdict != Verdict::Deny {
            if let Some(rate) = rate {
                count_calls(&mut outcome, rate, now_ms);
            }
        }
        let obligations = obligations(&matched);
        let decision_matched = matched
            .iter()
            .map(|rule| MatchedRule {
                rule: rule.source.clone(),
                tool: rule.rule.tool.to_string(),
                effect: rule.rule.effect,
                reason: rule.rule.reason.clone(),
                decisive: outcome.decisive.iter().any(|d| std::ptr::eq(*d, *rule)),
            })
            .collect();
        Decision {
            verdict: outcome.verdict,
            reason: outcome.reason,
            basis: outcome.basis,
            matched: decision_matched,
            near_misses,
            limits: outcome.limits,
            obligations,
            approvers: outcome.approvers,
            default_source: outcome.default_source,
        }
    }

    /// Steps 3 to 7: everything but counting.
    fn settle<'a>(
        &self,
        req: &DecisionRequest,
        matched: &[&'a CompiledRule],
        facts: &Facts<'_>,
    ) -> Outcome<'a> {
        let limits = effective_limits(req, matched, facts);
        let denies: Vec<&CompiledRule> = matched
            .iter()
            .copied()
            .filter(|r| r.rule.effect == Some(Effect::Deny))
            .collect();
        if let Some(first) = denies.first() {
            return Outcome::new(
                Verdict::Deny,
                Basis::ExplicitDeny,
                because("denied", first),
                denies,
                limits,
            );
        }
        if let Some((reason, source)) = cap_violation(&limits) {
            let decisive = matched
                .iter()
                .copied()
                .filter(|r| r.source == source)
                .collect();
            return Outcome::new(Verdict::Deny, Basis::Cap, reason, decisive, limits);
        }

        let votes: Vec<Vote<'_>> = [Scope::Platform, Scope::Tenant, Scope::Agent]
            .into_iter()
            .filter_map(|scope| vote(matched.iter().copied().filter(|r| r.scope() == scope)))
            .collect();
        let Some(verdict) = votes.iter().map(|vote| vote.verdict).max() else {
            let default = self.default_for(req.agent.as_deref());
            let whose = match &default.source {
                None => format!("the platform default `{}`", default.behaviour),
                Some(policy) => format!("the default `{}` of {policy}", default.behaviour),
            };
            let reason = format!("no rule decides `{}`, so {whose} applies", req.tool);
            let verdict = match default.behaviour {
                crate::model::DefaultBehaviour::Allow => Verdict::Allow,
                crate::model::DefaultBehaviour::Deny => Verdict::Deny,
            };
            let mut outcome = Outcome::new(verdict, Basis::Default, reason, Vec::new(), limits);
            outcome.default_source = default.source.clone();
            return outcome;
        };
        let deciding: Vec<&CompiledRule> = votes
            .iter()
            .filter(|vote| vote.verdict == verdict)
            .flat_map(|vote| vote.rules.iter().copied())
            .collect();
        let mut approvers: Vec<String> = Vec::new();
        for rule in deciding
            .iter()
            .filter(|r| r.rule.effect == Some(Effect::RequireApproval))
        {
            for role in &rule.rule.approvers {
                if !approvers.contains(role) {
                    approvers.push(role.clone());
                }
            }
        }
        let lead = match verdict {
            Verdict::RequireApproval => format!("approval by {} required", backticked(&approvers)),
            Verdict::Allow | Verdict::Deny => "allowed".to_string(),
        };
        let reasons: Vec<String> = deciding.iter().map(|rule| because(&lead, rule)).collect();
        let mut outcome = Outcome::new(verdict, Basis::Rules, reasons.join("; "), deciding, limits);
        outcome.approvers = approvers;
        outcome
    }
}

/// Whether a rule whose tool matched also matches the principal and the conditions; if not, why.
fn check(rule: &CompiledRule, facts: &Facts<'_>, principal: &Principal) -> Result<(), String> {
    if let Some(targets) = &rule.rule.targets {
        if !targeted(targets, principal) {
            return Err(why_not_targeted(targets));
        }
    }
    match rule
        .rule
        .when
        .iter()
        .find(|condition| !condition.holds(facts))
    {
        Some(failed) => Err(failed.why_not(facts)),
        None => Ok(()),
    }
}

fn targeted(targets: &Targets, principal: &Principal) -> bool {
    targets
        .roles
        .iter()
        .any(|role| principal.roles.contains(role))
        || targets
            .groups
            .iter()
            .any(|group| principal.groups.contains(group))
        || principal
            .user
            .as_ref()
            .is_some_and(|user| targets.users.contains(user))
}

fn why_not_targeted(targets: &Targets) -> String {
    let mut wanted = Vec::new();
    for (what, names) in [
        ("roles", &targets.roles),
        ("groups", &targets.groups),
        ("users", &targets.users),
    ] {
        if !names.is_empty() {
            wanted.push(format!("{what} {}", backticked(names)));
        }
    }
    format!(
        "the principal is not among the targets ({})",
        wanted.join("; ")
    )
}

fn backticked(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    quoted.join(", ")
}

/// "denied by platform policy `Guardrails` rule 1 (`system.*` deny): no shell access".
fn because(lead: &str, rule: &CompiledRule) -> String {
    let mut text = format!("{lead} by {} ({})", rule.source, rule.rule.summary());
    if let Some(reason) = &rule.rule.reason {
        text.push_str(": ");
        text.push_str(reason);
    }
    text
}

/// One scope's verdict and the rules that carried it.
struct Vote<'a> {
    verdict: Verdict,
    rules: Vec<&'a CompiledRule>,
}

/// Step 5: among the scope's deciding rules the most specific win; among those, the most
/// restrictive. `None` when no rule of the scope decides (the scope abstains).
fn vote<'a>(rules: impl Iterator<Item = &'a CompiledRule>) -> Option<Vote<'a>> {
    let deciding: Vec<&CompiledRule> = rules
        .filter(|r| matches!(r.rule.effect, Some(Effect::Allow | Effect::RequireApproval)))
        .collect();
    let top = deciding.iter().map(|r| r.specificity).max()?;
    let best: Vec<&CompiledRule> = deciding
        .into_iter()
        .filter(|r| r.specificity == top)
        .collect();
    let strict = |r: &&CompiledRule| r.rule.effect == Some(Effect::RequireApproval);
    let verdict = if best.iter().any(strict) {
        Verdict::RequireApproval
    } else {
        Verdict::Allow
    };
    let rules = match verdict {
        Verdict::RequireApproval => best.into_iter().filter(strict).collect(),
        Verdict::Allow | Verdict::Deny => best,
    };
    Some(Vote { verdict, rules })
}

struct Outcome<'a> {
    verdict: Verdict,
    basis: Basis,
    reason: String,
    decisive: Vec<&'a CompiledRule>,
    limits: Vec<EffectiveLimit>,
    approvers: Vec<String>,
    /// The rate limits' rules, to mark decisive when one denies.
    rate_rules: Vec<&'a CompiledRule>,
    /// The policy whose default applied, if one did.
    default_source: Option<PolicyRef>,
}

impl<'a> Outcome<'a> {
    fn new(
        verdict: Verdict,
        basis: Basis,
        reason: String,
        decisive: Vec<&'a CompiledRule>,
        limits: Limits<'a>,
    ) -> Self {
        Outcome {
            verdict,
            basis,
            reason,
            decisive,
            limits: limits.limits,
            approvers: Vec::new(),
            rate_rules: limits.rate_rules,
            default_source: None,
        }
    }
}

/// The limits in force: one cap per argument and one rate limit per counter, each the lowest
/// of the matching rules that set it. Ties go to the higher scope, which is seen first.
struct Limits<'a> {
    limits: Vec<EffectiveLimit>,
    rate_rules: Vec<&'a CompiledRule>,
    /// Capped arguments that are present but not numbers, with their rendered values.
    unreadable: Vec<(String, String)>,
}

fn effective_limits<'a>(
    req: &DecisionRequest,
    matched: &[&'a CompiledRule],
    facts: &Facts<'_>,
) -> Limits<'a> {
    let mut limits: Vec<EffectiveLimit> = Vec::new();
    let mut rate_rules: Vec<&CompiledRule> = Vec::new();
    let mut unreadable = Vec::new();
    for rule in matched {
        for cap in &rule.rule.limit {
            let existing = limits.iter_mut().find(
                |l| matches!(l, EffectiveLimit::Cap { field, .. } if field == cap.field.as_str()),
            );
            match existing {
                Some(EffectiveLimit::Cap { max, source, .. }) if cap.max < *max => {
                    *max = cap.max;
                    *source = rule.source.clone();
                }
                Some(_) => {}
                None => {
                    let found = facts.lookup(&cap.field);
                    let value = found.and_then(as_number);
                    if let (Some(found), None) = (found, value) {
                        unreadable.push((cap.field.to_string(), render(found)));
                    }
                    limits.push(EffectiveLimit::Cap {
                        field: cap.field.to_string(),
                        max: cap.max,
                        value,
                        source: rule.source.clone(),
                    });
                }
            }
        }
        let Some(limit) = &rule.rule.rate_limit else {
            continue;
        };
        let key = RateKey::new(
            limit.per_key,
            req,
            rule.rule.tool.as_str(),
            limit.per.secs(),
        );
        let existing = limits
            .iter_mut()
            .find(|l| matches!(l, EffectiveLimit::Rate { key: k, .. } if *k == key));
        match existing {
            Some(EffectiveLimit::Rate { calls, source, .. }) if limit.calls < *calls => {
                *calls = limit.calls;
                *source = rule.source.clone();
                rate_rules.push(rule);
            }
            Some(_) => {}
            None => {
                rate_rules.push(rule);
                limits.push(EffectiveLimit::Rate {
                    calls: limit.calls,
                    per: limit.per,
                    per_key: limit.per_key,
                    key,
                    count: None,
                    source: rule.source.clone(),
                });
            }
        }
    }
    Limits {
        limits,
        rate_rules,
        unreadable,
    }
}

/// Step 4: the first argument over its cap, or present but not a number (a cap that cannot be
/// checked fails closed).
fn cap_violation(limits: &Limits<'_>) -> Option<(String, RuleRef)> {
    limits.limits.iter().find_map(|limit| {
        let EffectiveLimit::Cap {
            field,
            max,
            value,
            source,
        } = limit
        else {
            return None;
        };
        if let Some((_, shown)) = limits.unreadable.iter().find(|(f, _)| f == field) {
            let reason = format!(
                "`{field}` is {shown}, not a number, but is capped at {} by {source}",
                number(*max)
            );
            return Some((reason, source.clone()));
        }
        match value {
            Some(value) if value > max => Some((
                format!(
                    "`{field}` is {}, over the cap of {} set by {source}",
                    number(*value),
                    number(*max)
                ),
                source.clone(),
            )),
            _ => None,
        }
    })
}

/// Counts the call against each of its rate limits; the first exhausted one denies it.
fn count_calls(outcome: &mut Outcome<'_>, rate: &dyn RateCounter, now_ms: u64) {
    let mut exceeded: Option<(String, RuleRef)> = None;
    for limit in &mut outcome.limits {
        let EffectiveLimit::Rate {
            calls,
            per,
            per_key,
            key,
            count,
            source,
        } = limit
        else {
            continue;
        };
        let seen = rate.hit(key, per.duration(), now_ms);
        *count = Some(seen);
        if seen > *calls && exceeded.is_none() {
            let reason = format!(
                "rate limit of {calls} calls per {per} per {per_key} set by {source} is exhausted ({seen} calls in this window)"
            );
            exceeded = Some((reason, source.clone()));
        }
    }
    if let Some((reason, source)) = exceeded {
        outcome.verdict = Verdict::Deny;
        outcome.basis = Basis::RateLimit;
        outcome.reason = reason;
        outcome.approvers.clear();
        outcome.decisive = outcome
            .rate_rules
            .iter()
            .copied()
            .filter(|r| r.source == source)
            .collect();
    }
}

/// Mask obligations from every matching rule, one per field, with every rule that asked.
fn obligations(matched: &[&CompiledRule]) -> Vec<Obligation> {
    let mut obligations: Vec<Obligation> = Vec::new();
    for rule in matched {
        for field in &rule.rule.mask {
            match obligations.iter_mut().find(|o| &o.field == field) {
                Some(existing) => existing.sources.push(rule.source.clone()),
                None => obligations.push(Obligation {
                    kind: ObligationKind::Mask,
                    field: field.clone(),
                    sources: vec![rule.source.clone()],
                }),
            }
        }
    }
    obligations
}

/// Writes a number without a trailing `.0` when it is whole.
pub(crate) fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
