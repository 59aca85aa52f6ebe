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
use crate::model::{Effect, PolicyRef, RuleRef, Scope, Targets, Window};
use crate::rate::{CounterUnavailable, RateCounter, RateKey};
use std::time::Duration;

/// What a decision does with the counters of rate limits and budgets.
#[derive(Clone, Copy)]
enum Counting<'c> {
    /// Count the call and enforce the limits (a real decision).
    Count(&'c dyn RateCounter),
    /// Read the counters without counting or enforcing (the what-if preview).
    Peek(&'c dyn RateCounter),
    /// Leave the counters alone.
    Skip,
}
use crate::request::{DecisionRequest, Principal};

impl PolicySet {
    /// Decides a call and counts it against its rate limits.
    pub fn decide(&self, req: &DecisionRequest, rate: &dyn RateCounter, now_ms: u64) -> Decision {
        self.evaluate(req, Counting::Count(rate), now_ms)
    }

    /// Decides a call without counting it: rate limits and budgets are reported but neither
    /// consumed nor enforced.
    pub fn decide_dry_run(&self, req: &DecisionRequest, now_ms: u64) -> Decision {
        self.evaluate(req, Counting::Skip, now_ms)
    }

    /// A dry run that also reads the counters, so the explanation shows the calls counted and
    /// the amounts spent so far in each window. For the console's what-if previewer.
    pub fn decide_preview(
        &self,
        req: &DecisionRequest,
        rate: &dyn RateCounter,
        now_ms: u64,
    ) -> Decision {
        self.evaluate(req, Counting::Peek(rate), now_ms)
    }

    fn evaluate(&self, req: &DecisionRequest, counting: Counting<'_>, now_ms: u64) -> Decision {
        if !self.settings.is_enabled(&req.tool) {
            return Decision::refused(
                format!("tool `{}` is not enabled for this tenant: the platform has not made it available to the tenant, or the tenant switched it off", req.tool),
                Basis::ToolDisabled,
            );
        }
        let candidates = self.candidates(&req.tool, req.agent.as_deref());

        let mut facts = Facts::new(&req.args, &req.context, &req.principal);
        let reads_session = candidates.iter().any(|rule| rule.reads_session);
        let session = req.session_key();
        // A real decision whose session cannot be read fails closed (below); the preview reads
        // what it can.
        let mut unreadable_session: Option<CounterUnavailable> = None;
        if let (true, Some(key), Counting::Count(rate) | Counting::Peek(rate)) =
            (reads_session, &session, counting)
        {
            match rate.session(key, now_ms) {
                Ok(history) => facts.set_session(history),
                Err(err) if matches!(counting, Counting::Count(_)) => {
                    unreadable_session = Some(err);
                }
                Err(_) => {}
            }
        }
        let mut matched: Vec<&CompiledRule> = Vec::with_capacity(candidates.len());
        let mut near_misses = Vec::new();
        // The most specific tenant or agent rule that could have decided but missed, with its
        // near miss: a default deny says why it did not apply.
        let mut closest: Option<(&CompiledRule, usize)> = None;
        for rule in candidates {
            match check(rule, &facts, &req.principal) {
                Ok(()) => matched.push(rule),
                Err(failed) => {
                    if could_have_decided(rule)
                        && closest.is_none_or(|(best, _)| rule.specificity > best.specificity)
                    {
                        closest = Some((rule, near_misses.len()));
                    }
                    near_misses.push(NearMiss {
                        rule: rule.source.clone(),
                        tool: rule.rule.tool.to_string(),
                        effect: rule.rule.effect,
                        failed,
                    });
                }
            }
        }

        let obligations = obligations(&matched);
        if !obligations.is_empty() {
            facts.mask(obligations.iter().map(|o| o.field.as_str()).collect());
        }
        let mut outcome = self.settle(req, &matched, &facts);
        if outcome.basis == Basis::Default && outcome.verdict == Verdict::Deny {
            if let Some((rule, miss)) = closest.and_then(|(r, i)| Some((r, near_misses.get(i)?))) {
                push_closest_miss(&mut outcome.reason, rule, miss);
            }
        }
        match (counting, unreadable_session) {
            (Counting::Count(_), Some(err)) if outcome.verdict != Verdict::Deny => {
                deny_unavailable(
                    &mut outcome,
                    format!("{err}: this session's earlier calls cannot be read for a session rule, so the call is refused"),
                    None,
                );
            }
            (Counting::Count(rate), _) if outcome.verdict != Verdict::Deny => {
                count_calls(&mut outcome, rate, now_ms);
                // The session remembers the calls that go ahead. When it cannot, and a rule of
                // this set reads sessions, a later call could miss this one: refuse it instead.
                if let (Verdict::Allow, Some(key)) = (outcome.verdict, &session) {
                    if let Err(err) = rate.remember(key, &req.tool, now_ms) {
                        if self.rules().any(|rule| rule.reads_session) {
                            deny_unavailable(
                                &mut outcome,
                                format!("{err}: the call cannot be recorded in its session for the session rules, so it is refused"),
                                None,
                            );
                        }
                    }
                }
            }
            (Counting::Peek(rate), _) => peek_counters(&mut outcome, rate, now_ms),
            (Counting::Count(_) | Counting::Skip, _) => {}
        }
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
        if let Some((reason, decisive)) = unmet_requirement(matched, facts) {
            return Outcome::new(Verdict::Deny, Basis::Requirement, reason, decisive, limits);
        }
        if let Some((reason, source)) = cap_violation(&limits, facts) {
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
            let default = &self.default_for(req.agent.as_deref());
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
        // Each rule is credited with its own approvers; when several rules ask, every role they
        // name must approve, which the reason says first.
        let reasons: Vec<String> = deciding
            .iter()
            .map(|rule| match verdict {
                Verdict::RequireApproval => because(
                    &format!("approval by {} required", backticked(&rule.rule.approvers)),
                    rule,
                ),
                Verdict::Allow | Verdict::Deny => because("allowed", rule),
            })
            .collect();
        let reason = if verdict == Verdict::RequireApproval && deciding.len() > 1 {
            format!(
                "approval by {} required, each of them: {}",
                backticked(&approvers),
                reasons.join("; ")
            )
        } else {
            reasons.join("; ")
        };
        let mut outcome = Outcome::new(verdict, Basis::Rules, reason, deciding, limits);
        outcome.approvers = approvers;
        outcome
    }
}

/// Whether a rule whose tool matched also matches the principal and the conditions; if not, why.
pub(crate) fn check(
    rule: &CompiledRule,
    facts: &Facts<'_>,
    principal: &Principal,
) -> Result<(), String> {
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

/// Step 3b: a matching rule whose `only_when` does not hold denies the call. The reason names
/// the rule and, unless it is a platform rule (whose conditions tenants are not shown), what
/// failed.
fn unmet_requirement<'a>(
    matched: &[&'a CompiledRule],
    facts: &Facts<'_>,
) -> Option<(String, Vec<&'a CompiledRule>)> {
    let unmet: Vec<(&CompiledRule, String)> = matched
        .iter()
        .filter_map(|rule| {
            let failed = rule.rule.only_when.iter().find(|c| !c.holds(facts))?;
            Some((*rule, failed.why_not(facts)))
        })
        .collect();
    let (first, why) = unmet.first()?;
    let mut reason = because("denied", first);
    if first.scope() != Scope::Platform {
        reason.push_str(&format!(
            " (it goes ahead only when {}; {why})",
            describe_all(&first.rule.only_when)
        ));
    }
    let decisive = unmet.iter().map(|(rule, _)| *rule).collect();
    Some((reason, decisive))
}

fn describe_all(conditions: &[crate::condition::Condition]) -> String {
    let parts: Vec<String> = conditions.iter().map(|c| c.describe()).collect();
    parts.join(" and ")
}

/// For a default deny: adds why the most specific rule that could have decided the call did not
/// apply, as "; the closest rule, ..., did not apply: ...". Platform rules are left out: tenants
/// are not shown their conditions (the near misses carry them for platform staff).
fn push_closest_miss(reason: &mut String, rule: &CompiledRule, miss: &NearMiss) {
    use std::fmt::Write;
    // Writing into a `String` cannot fail.
    let _ = write!(
        reason,
        "; the closest rule, {} ({}), did not apply: {}",
        rule.source,
        rule.rule.summarised(),
        miss.failed
    );
}

/// A tenant or agent rule that would have decided the call had it matched.
fn could_have_decided(rule: &CompiledRule) -> bool {
    rule.scope() != Scope::Platform
        && matches!(
            rule.rule.effect,
            Some(Effect::Allow | Effect::RequireApproval)
        )
}

pub(crate) fn targeted(targets: &Targets, principal: &Principal) -> bool {
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
    let mut text = format!("{lead} by {} ({})", rule.source, rule.rule.summarised());
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
    /// The rules of rate limits and budgets, to mark decisive when one denies.
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
            let field = cap.field.as_str();
            let listed = |wanted: fn(&EffectiveLimit, &str) -> bool| {
                limits.iter().any(|limit| wanted(limit, field))
            };
            // The argument is read only for a bound not yet in force: most calls meet each
            // capped argument once.
            let new_bound = (cap.max.is_some()
                && !listed(|l, f| matches!(l, EffectiveLimit::Cap { field, .. } if field == f)))
                || (cap.min.is_some()
                    && !listed(
                        |l, f| matches!(l, EffectiveLimit::Floor { field, .. } if field == f),
                    ))
                || (cap.required
                    && !listed(
                        |l, f| matches!(l, EffectiveLimit::Required { field, .. } if field == f),
                    ));
            let found = if new_bound {
                facts.lookup(&cap.field)
            } else {
                None
            };
            let value = found.and_then(as_number);
            if let (Some(found), None) = (found, value) {
                if !unreadable.iter().any(|(f, _)| f == field) {
                    unreadable.push((field.to_string(), render(found)));
                }
            }
            if let Some(cap_max) = cap.max {
                let existing = limits
                    .iter_mut()
                    .find(|l| matches!(l, EffectiveLimit::Cap { field: f, .. } if f == field));
                match existing {
                    Some(EffectiveLimit::Cap { max, source, .. }) if cap_max < *max => {
                        *max = cap_max;
                        *source = rule.source.clone();
                    }
                    Some(_) => {}
                    None => limits.push(EffectiveLimit::Cap {
                        field: field.to_string(),
                        max: cap_max,
                        value,
                        source: rule.source.clone(),
                    }),
                }
            }
            if let Some(cap_min) = cap.min {
                let existing = limits
                    .iter_mut()
                    .find(|l| matches!(l, EffectiveLimit::Floor { field: f, .. } if f == field));
                match existing {
                    Some(EffectiveLimit::Floor { min, source, .. }) if cap_min > *min => {
                        *min = cap_min;
                        *source = rule.source.clone();
                    }
                    Some(_) => {}
                    None => limits.push(EffectiveLimit::Floor {
                        field: field.to_string(),
                        min: cap_min,
                        value,
                        source: rule.source.clone(),
                    }),
                }
            }
            let already_required = limits
                .iter()
                .any(|l| matches!(l, EffectiveLimit::Required { field: f, .. } if f == field));
            if cap.required && !already_required {
                limits.push(EffectiveLimit::Required {
                    field: field.to_string(),
                    present: found.is_some(),
                    source: rule.source.clone(),
                });
            }
        }
        if let Some(budget) = &rule.rule.budget {
            let field = budget.sum.as_str();
            let counter = format!("{} sum {field}", rule.rule.tool.as_str());
            let key = RateKey::new(budget.per_key, req, &counter, budget.per.secs());
            let found = facts.lookup(&budget.sum);
            let amount = found.and_then(as_number);
            if let (Some(found), None) = (found, amount) {
                if !unreadable.iter().any(|(f, _)| f == field) {
                    unreadable.push((field.to_string(), render(found)));
                }
            }
            let existing = limits
                .iter_mut()
                .find(|l| matches!(l, EffectiveLimit::Budget { key: k, .. } if *k == key));
            match existing {
                Some(EffectiveLimit::Budget { max, source, .. }) if budget.max < *max => {
                    *max = budget.max;
                    *source = rule.source.clone();
                    rate_rules.push(rule);
                }
                Some(_) => {}
                None => {
                    rate_rules.push(rule);
                    limits.push(EffectiveLimit::Budget {
                        field: field.to_string(),
                        max: budget.max,
                        per: budget.per,
                        per_key: budget.per_key,
                        key,
                        amount,
                        spent: None,
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

/// Step 4: the first argument that is missing though required, over its cap or under its
/// minimum, or present but not a number (a bound that cannot be checked fails closed).
fn cap_violation(limits: &Limits<'_>, facts: &Facts<'_>) -> Option<(String, RuleRef)> {
    let shown = |field: &str, value: f64| match facts.is_masked(field) {
        true => "[masked]".to_string(),
        false => number(value),
    };
    limits.limits.iter().find_map(|limit| {
        let (field, source) = match limit {
            EffectiveLimit::Required {
                field,
                present: false,
                source,
            } => {
                let reason = format!("`{field}` is missing, but {source} requires it");
                return Some((reason, source.clone()));
            }
            EffectiveLimit::Cap { field, source, .. }
            | EffectiveLimit::Floor { field, source, .. }
            | EffectiveLimit::Required { field, source, .. }
            | EffectiveLimit::Budget { field, source, .. } => (field, source),
            EffectiveLimit::Rate { .. } => return None,
        };
        // Only written when a bound is broken: the common call breaks none.
        let bound = || match limit {
            EffectiveLimit::Cap { max, .. } => format!("capped at {} by {source}", number(*max)),
            EffectiveLimit::Floor { min, .. } => {
                format!("held at a minimum of {} by {source}", number(*min))
            }
            EffectiveLimit::Budget { .. } => format!("added up by a budget set by {source}"),
            EffectiveLimit::Required { .. } | EffectiveLimit::Rate { .. } => {
                format!("required to be a number by {source}")
            }
        };
        if let Some((_, value)) = limits.unreadable.iter().find(|(f, _)| f == field) {
            let value = if facts.is_masked(field) {
                "[masked]"
            } else {
                value.as_str()
            };
            let reason = format!("`{field}` is {value}, not a number, but is {}", bound());
            return Some((reason, source.clone()));
        }
        match limit {
            EffectiveLimit::Cap {
                max,
                value: Some(value),
                ..
            } if value > max => Some((
                format!(
                    "`{field}` is {}, over the cap of {} set by {source}",
                    shown(field, *value),
                    number(*max)
                ),
                source.clone(),
            )),
            EffectiveLimit::Floor {
                min,
                value: Some(value),
                ..
            } if value < min => Some((
                format!(
                    "`{field}` is {}, under the minimum of {} set by {source}",
                    shown(field, *value),
                    number(*min)
                ),
                source.clone(),
            )),
            EffectiveLimit::Budget {
                max,
                per,
                amount: Some(amount),
                ..
            } if *amount < 0.0 || amount > max => {
                let why = if *amount < 0.0 {
                    "but a budget counts amounts of zero or more".to_string()
                } else {
                    format!("more than the whole budget of {} per {per}", number(*max))
                };
                Some((
                    format!(
                        "`{field}` is {}, {why} set by {source}",
                        shown(field, *amount)
                    ),
                    source.clone(),
                ))
            }
            _ => None,
        }
    })
}

/// Why counting refused a call.
struct Refusal {
    basis: Basis,
    reason: String,
    source: RuleRef,
}

/// Counts the call: first against its budgets (the first that cannot take the amount denies the
/// call, and what the others took is given back), then against its rate limits (the first
/// exhausted one denies it, and what the budgets and the other limits took is given back: a
/// refused call uses no quota). Counters that cannot be reached refuse the call.
fn count_calls(outcome: &mut Outcome<'_>, rate: &dyn RateCounter, now_ms: u64) {
    if let Some(refusal) = spend_budgets(&mut outcome.limits, rate, now_ms) {
        deny_by_counter(outcome, refusal);
        return;
    }
    let mut recorded: Vec<(RateKey, Duration)> = Vec::new();
    let mut refused: Option<Refusal> = None;
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
        if refused.is_some() {
            continue;
        }
        match rate.hit(key, per.duration(), *calls, now_ms) {
            Ok(seen) if seen <= *calls => {
                *count = Some(seen);
                recorded.push((key.clone(), per.duration()));
            }
            Ok(seen) => {
                *count = Some(seen);
                refused = Some(Refusal {
                    basis: Basis::RateLimit,
                    reason: format!(
                        "rate limit of {calls} calls per {per} per {per_key} set by {source} is exhausted ({seen} calls in this window)"
                    ),
                    source: source.clone(),
                });
            }
            Err(err) => {
                refused = Some(Refusal {
                    basis: Basis::CountersUnavailable,
                    reason: format!(
                        "{err}: the rate limit of {calls} calls per {per} per {per_key} set by {source} cannot be checked, so the call is refused"
                    ),
                    source: source.clone(),
                });
            }
        }
    }
    if let Some(refusal) = refused {
        for (key, window) in recorded {
            rate.refund(&key, window, now_ms);
        }
        refund_budgets(&outcome.limits, rate, now_ms);
        deny_by_counter(outcome, refusal);
    }
}

fn deny_by_counter(outcome: &mut Outcome<'_>, refusal: Refusal) {
    let Refusal {
        basis,
        reason,
        source,
    } = refusal;
    outcome.verdict = Verdict::Deny;
    outcome.basis = basis;
    outcome.reason = reason;
    outcome.approvers.clear();
    outcome.decisive = outcome
        .rate_rules
        .iter()
        .copied()
        .filter(|r| r.source == source)
        .collect();
}

/// Refuses a call because the counters it needed could not be reached.
fn deny_unavailable(outcome: &mut Outcome<'_>, reason: String, source: Option<RuleRef>) {
    match source {
        Some(source) => deny_by_counter(
            outcome,
            Refusal {
                basis: Basis::CountersUnavailable,
                reason,
                source,
            },
        ),
        None => {
            outcome.verdict = Verdict::Deny;
            outcome.basis = Basis::CountersUnavailable;
            outcome.reason = reason;
            outcome.approvers.clear();
            outcome.decisive.clear();
        }
    }
}

/// Adds the call's amount to each budget; on the first that cannot take it (or cannot be
/// reached), gives back what the others took and says why.
fn spend_budgets(
    limits: &mut [EffectiveLimit],
    rate: &dyn RateCounter,
    now_ms: u64,
) -> Option<Refusal> {
    let mut taken: Vec<(RateKey, f64, Window)> = Vec::new();
    for limit in limits.iter_mut() {
        let EffectiveLimit::Budget {
            field,
            max,
            per,
            per_key,
            key,
            amount,
            spent,
            source,
        } = limit
        else {
            continue;
        };
        let amount = amount.unwrap_or(0.0);
        let refusal = match rate.spend(key, amount, *max, per.duration(), now_ms) {
            Ok(outcome) if outcome.accepted => {
                *spent = Some(outcome.before);
                taken.push((key.clone(), amount, *per));
                continue;
            }
            Ok(outcome) => {
                *spent = Some(outcome.before);
                let left = (*max - outcome.before).max(0.0);
                Refusal {
                    basis: Basis::Budget,
                    reason: format!(
                        "the budget of {} per {per} per {per_key} on `{field}` set by {source} would be exceeded: {} spent in this window, this call {}, {} left",
                        number(*max),
                        number(outcome.before),
                        number(amount),
                        number(left)
                    ),
                    source: source.clone(),
                }
            }
            Err(err) => Refusal {
                basis: Basis::CountersUnavailable,
                reason: format!(
                    "{err}: the budget of {} per {per} per {per_key} on `{field}` set by {source} cannot be checked, so the call is refused",
                    number(*max)
                ),
                source: source.clone(),
            },
        };
        for (key, amount, per) in taken {
            rate.refund_spend(&key, amount, per.duration(), now_ms);
        }
        return Some(refusal);
    }
    None
}

/// Gives back what a call denied after its budgets took its amount had added to them.
fn refund_budgets(limits: &[EffectiveLimit], rate: &dyn RateCounter, now_ms: u64) {
    for limit in limits {
        if let EffectiveLimit::Budget {
            key, per, amount, ..
        } = limit
        {
            rate.refund_spend(key, amount.unwrap_or(0.0), per.duration(), now_ms);
        }
    }
}

/// The what-if preview: reads every counter without changing or enforcing any.
fn peek_counters(outcome: &mut Outcome<'_>, rate: &dyn RateCounter, now_ms: u64) {
    for limit in &mut outcome.limits {
        match limit {
            EffectiveLimit::Budget {
                key, per, spent, ..
            } => *spent = rate.spent(key, per.duration(), now_ms).ok(),
            EffectiveLimit::Rate {
                key, per, count, ..
            } => *count = rate.peek(key, per.duration(), now_ms).ok().map(|n| n + 1),
            EffectiveLimit::Cap { .. }
            | EffectiveLimit::Floor { .. }
            | EffectiveLimit::Required { .. } => {}
        }
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
