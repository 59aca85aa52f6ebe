//! Data-driven scenarios: every `tests/scenarios/*.yaml` file holds a policy set and cases, each
//! either a request with its expected decision or a child policy with its expected delegation
//! report. One `check` runs a file; failures of every case are collected and shown together.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::time::Duration;

use charter_policy::{
    check_policy, Basis, CounterUnavailable, Decision, DecisionRequest, DefaultBehaviour,
    DelegationReport, EffectiveLimit, EffectivePolicy, InMemoryRateCounter, PlatformSettings,
    Policy, PolicySet, RateCounter, RateKey, RuleRef, SessionHistory, SessionKey, Spend, Verdict,
};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[serde(default)]
    settings: PlatformSettings,
    #[serde(default)]
    platform: Vec<Policy>,
    #[serde(default)]
    tenant: Vec<Policy>,
    #[serde(default)]
    agent: Vec<Policy>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    request: Option<DecisionRequest>,
    /// Decide this many times with one counter; the expectations apply to the last decision.
    #[serde(default)]
    repeat: Option<u32>,
    #[serde(default)]
    dry_run: bool,
    /// The counters answer nothing (a shared store that is down): every operation fails.
    #[serde(default)]
    counters_down: bool,
    /// After `repeat` decisions, preview one more (counters read, not changed).
    #[serde(default)]
    preview: bool,
    /// Decided first, on the same counters (earlier calls of a session, say).
    #[serde(default)]
    before: Vec<DecisionRequest>,
    #[serde(default)]
    expect: Option<Expect>,
    /// A policy to check against the file's platform (and, for an agent policy, tenant) policies.
    #[serde(default)]
    child: Option<Policy>,
    #[serde(default)]
    delegation: Option<ExpectDelegation>,
    /// The effective policy expected for `effective.agent`.
    #[serde(default)]
    effective: Option<ExpectEffective>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectEffective {
    #[serde(default)]
    agent: Option<String>,
    default: DefaultBehaviour,
    /// Rules as `scope:policy name:rule number`, in order.
    rules: Vec<String>,
    /// Caps as `tool field <= max (scope:policy:rule) effective max (scope:policy:rule)`.
    #[serde(default)]
    caps: Vec<String>,
    /// Rate limits as `tool calls/window per key (scope:policy:rule) effective calls (...)`.
    #[serde(default)]
    rates: Vec<String>,
    /// Budgets as `tool field max/window per key (scope:policy:rule) effective max (...)`.
    #[serde(default)]
    budgets: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    verdict: Verdict,
    /// A substring of the reason.
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    basis: Option<Basis>,
    #[serde(default)]
    approvers: Option<Vec<String>>,
    /// Matched rules as `scope:policy name:rule number`, in order; `*` marks decisive ones.
    #[serde(default)]
    matched: Option<Vec<String>>,
    /// Substrings, each found in some near miss's `failed` text.
    #[serde(default)]
    near_misses: Option<Vec<String>>,
    #[serde(default)]
    obligations: Option<Vec<String>>,
    /// Effective caps as `field <= max (scope:policy name:rule number)`.
    #[serde(default)]
    caps: Option<Vec<String>>,
    /// Rate limits as `calls/window key count` such as `2/1m agent:t1/bot:*:60s count=3`.
    #[serde(default)]
    rates: Option<Vec<String>>,
    /// Budgets as `field <= max/window spent=.. amount=.. (scope:policy:rule)`.
    #[serde(default)]
    budgets: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectDelegation {
    #[serde(default)]
    errors: Vec<ExpectIssue>,
    #[serde(default)]
    warnings: Vec<ExpectIssue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectIssue {
    path: String,
    /// A substring of the message.
    message: String,
}

fn check(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut scenario: Scenario =
        charter_policy::from_yaml(&text).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
    // The store gives every policy an id of its own; receipts point at rules by it.
    for (scope, policies) in [
        ("platform", &mut scenario.platform),
        ("tenant", &mut scenario.tenant),
        ("agent", &mut scenario.agent),
    ] {
        for (index, policy) in policies.iter_mut().enumerate() {
            if policy.id.is_empty() {
                policy.id = format!("{scope}-{index}");
            }
        }
    }
    let set = PolicySet::compile(
        &scenario.settings,
        &scenario.platform,
        &scenario.tenant,
        &scenario.agent,
    );
    let mut failures = Vec::new();
    for case in &scenario.cases {
        let mut problems = Vec::new();
        if let (Some(request), Some(expect)) = (&case.request, &case.expect) {
            let decision = decide(
                &set,
                &case.before,
                request,
                case.repeat.unwrap_or(1),
                case.dry_run,
                case.preview,
                case.counters_down,
            );
            compare_decision(&decision, expect, &mut problems);
            // Decisions cross to the browser: they must survive JSON unchanged.
            let json = serde_json::to_string(&decision).unwrap();
            if serde_json::from_str::<Decision>(&json).ok().as_ref() != Some(&decision) {
                problems.push(format!(
                    "the decision does not round-trip through JSON: {json}"
                ));
            }
            // A receipt keeps the decision compact and expands it on read: to exactly this.
            match set.compact(&decision, request.record()) {
                Some(compact) => {
                    let stored = serde_json::to_string(&compact).unwrap();
                    let read: charter_policy::CompactDecision =
                        serde_json::from_str(&stored).unwrap();
                    match set.expand(&read, request.record()) {
                        Ok(expanded) if expanded == decision => {}
                        Ok(expanded) => problems.push(format!(
                            "the compact decision expands to another: {}",
                            serde_json::to_string_pretty(&expanded).unwrap()
                        )),
                        Err(err) => problems.push(format!("the compact decision: {err}")),
                    }
                    if !decision.matched.is_empty() && stored.len() >= json.len() {
                        problems.push(format!(
                            "the compact decision is no smaller ({} bytes, the full one {}): {stored}",
                            stored.len(),
                            json.len()
                        ));
                    }
                }
                None => problems.push("the decision cannot be compacted".into()),
            }
            if !problems.is_empty() {
                problems.push(format!(
                    "decision: {}",
                    serde_json::to_string_pretty(&decision).unwrap()
                ));
            }
        }
        if let (Some(child), Some(expect)) = (&case.child, &case.delegation) {
            let parents: Vec<Policy> = scenario
                .platform
                .iter()
                .chain(&scenario.tenant)
                .cloned()
                .collect();
            let report = check_policy(child, &parents, &scenario.settings);
            compare_report(&report, expect, &mut problems);
        }
        if let Some(expect) = &case.effective {
            compare_effective(
                &set.effective_for_agent(expect.agent.as_deref()),
                expect,
                &mut problems,
            );
        }
        if case.request.is_none() && case.child.is_none() && case.effective.is_none() {
            problems.push("the case has no `request`, `child` or `effective`".into());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} / {}:\n  {}",
                file.display(),
                case.name,
                problems.join("\n  ")
            ));
        }
    }
    failures
}

fn rule_name(rule: &RuleRef) -> String {
    format!(
        "{}:{}:{}",
        rule.policy.scope,
        rule.policy.policy_name,
        rule.rule_index + 1
    )
}

fn compare_effective(
    effective: &EffectivePolicy,
    expect: &ExpectEffective,
    problems: &mut Vec<String>,
) {
    let rules: Vec<String> = effective
        .rules
        .iter()
        .map(|r| rule_name(&r.source))
        .collect();
    let caps: Vec<String> = effective
        .caps
        .iter()
        .map(|c| {
            let mut text = format!(
                "{} {} <= {} ({}) effective {} ({})",
                c.tool,
                c.field,
                bound(c.max),
                rule_name(&c.source),
                bound(c.effective_max),
                rule_name(&c.effective_source)
            );
            if c.min.is_some() || c.effective_min.is_some() {
                text.push_str(&format!(
                    " min {} effective {} ({})",
                    bound(c.min),
                    bound(c.effective_min),
                    rule_name(&c.effective_min_source)
                ));
            }
            text
        })
        .collect();
    let rates: Vec<String> = effective
        .rate_limits
        .iter()
        .map(|r| {
            format!(
                "{} {}/{} per {} ({}) effective {} ({})",
                r.tool,
                r.calls,
                r.per,
                r.per_key,
                rule_name(&r.source),
                r.effective_calls,
                rule_name(&r.effective_source)
            )
        })
        .collect();
    let budgets: Vec<String> = effective
        .budgets
        .iter()
        .map(|b| {
            format!(
                "{} {} {}/{} per {} ({}) effective {} ({})",
                b.tool,
                b.field,
                b.max,
                b.per,
                b.per_key,
                rule_name(&b.source),
                b.effective_max,
                rule_name(&b.effective_source)
            )
        })
        .collect();
    for (what, expected, actual) in [
        (
            "default",
            format!("{:?}", expect.default),
            format!("{:?}", effective.default),
        ),
        ("rules", format!("{:?}", expect.rules), format!("{rules:?}")),
        ("caps", format!("{:?}", expect.caps), format!("{caps:?}")),
        ("rates", format!("{:?}", expect.rates), format!("{rates:?}")),
        (
            "budgets",
            format!("{:?}", expect.budgets),
            format!("{budgets:?}"),
        ),
    ] {
        if expected != actual {
            problems.push(format!(
                "effective {what}: expected {expected}, got {actual}"
            ));
        }
    }
}

fn bound(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |v| v.to_string())
}

fn decide(
    set: &PolicySet,
    before: &[DecisionRequest],
    request: &DecisionRequest,
    repeat: u32,
    dry_run: bool,
    preview: bool,
    counters_down: bool,
) -> Decision {
    if dry_run {
        return set.decide_dry_run(request, 1_000);
    }
    let counter: Box<dyn RateCounter> = if counters_down {
        Box::new(DownCounter)
    } else {
        Box::new(InMemoryRateCounter::new())
    };
    let counter = counter.as_ref();
    for earlier in before {
        set.decide(earlier, counter, 1_000);
    }
    let mut decision = set.decide(request, counter, 1_000);
    for _ in 1..repeat {
        decision = set.decide(request, counter, 1_000);
    }
    if preview {
        decision = set.decide_preview(request, counter, 1_000);
    }
    decision
}

/// Counters that cannot be reached, as when Redis is down.
struct DownCounter;

fn down<T>() -> Result<T, CounterUnavailable> {
    Err(CounterUnavailable(
        "Redis refused the connection".to_owned(),
    ))
}

impl RateCounter for DownCounter {
    fn hit(&self, _: &RateKey, _: Duration, _: u64, _: u64) -> Result<u64, CounterUnavailable> {
        down()
    }
    fn refund(&self, _: &RateKey, _: Duration, _: u64) {}
    fn peek(&self, _: &RateKey, _: Duration, _: u64) -> Result<u64, CounterUnavailable> {
        down()
    }
    fn spend(
        &self,
        _: &RateKey,
        _: f64,
        _: f64,
        _: Duration,
        _: u64,
    ) -> Result<Spend, CounterUnavailable> {
        down()
    }
    fn refund_spend(&self, _: &RateKey, _: f64, _: Duration, _: u64) {}
    fn spent(&self, _: &RateKey, _: Duration, _: u64) -> Result<f64, CounterUnavailable> {
        down()
    }
    fn session(&self, _: &SessionKey, _: u64) -> Result<SessionHistory, CounterUnavailable> {
        down()
    }
    fn remember(&self, _: &SessionKey, _: &str, _: u64) -> Result<(), CounterUnavailable> {
        down()
    }
    fn forget(&self, _: &SessionKey, _: &str) {}
}

fn compare_decision(decision: &Decision, expect: &Expect, problems: &mut Vec<String>) {
    let mut same = |what: &str, expected: String, actual: String| {
        if expected != actual {
            problems.push(format!("{what}: expected {expected}, got {actual}"));
        }
    };
    same(
        "verdict",
        format!("{:?}", expect.verdict),
        format!("{:?}", decision.verdict),
    );
    if let Some(basis) = expect.basis {
        same(
            "basis",
            format!("{basis:?}"),
            format!("{:?}", decision.basis),
        );
    }
    if let Some(approvers) = &expect.approvers {
        same(
            "approvers",
            format!("{approvers:?}"),
            format!("{:?}", decision.approvers),
        );
    }
    if let Some(matched) = &expect.matched {
        let actual: Vec<String> = decision
            .matched
            .iter()
            .map(|m| {
                let star = if m.decisive { "*" } else { "" };
                format!(
                    "{star}{}:{}:{}",
                    m.rule.policy.scope,
                    m.rule.policy.policy_name,
                    m.rule.rule_index + 1
                )
            })
            .collect();
        same("matched", format!("{matched:?}"), format!("{actual:?}"));
    }
    if let Some(obligations) = &expect.obligations {
        let actual: Vec<&str> = decision
            .obligations
            .iter()
            .map(|o| o.field.as_str())
            .collect();
        same(
            "obligations",
            format!("{obligations:?}"),
            format!("{actual:?}"),
        );
    }
    if let Some(caps) = &expect.caps {
        let actual: Vec<String> = decision
            .limits
            .iter()
            .filter_map(|limit| match limit {
                EffectiveLimit::Cap {
                    field, max, source, ..
                } => Some(format!("{field} <= {max} ({})", rule_name(source))),
                EffectiveLimit::Floor {
                    field, min, source, ..
                } => Some(format!("{field} >= {min} ({})", rule_name(source))),
                EffectiveLimit::Required { field, source, .. } => {
                    Some(format!("{field} required ({})", rule_name(source)))
                }
                _ => None,
            })
            .collect();
        same("caps", format!("{caps:?}"), format!("{actual:?}"));
    }
    if let Some(rates) = &expect.rates {
        let actual: Vec<String> = decision
            .limits
            .iter()
            .filter_map(|limit| match limit {
                EffectiveLimit::Rate {
                    calls,
                    per,
                    key,
                    count,
                    ..
                } => {
                    let count = count.map_or("-".to_string(), |c| c.to_string());
                    Some(format!("{calls}/{per} {key} count={count}"))
                }
                _ => None,
            })
            .collect();
        same("rates", format!("{rates:?}"), format!("{actual:?}"));
    }
    if let Some(budgets) = &expect.budgets {
        let actual: Vec<String> = decision
            .limits
            .iter()
            .filter_map(|limit| match limit {
                EffectiveLimit::Budget {
                    field,
                    max,
                    per,
                    amount,
                    spent,
                    source,
                    ..
                } => Some(format!(
                    "{field} <= {max}/{per} spent={} amount={} ({})",
                    bound(*spent),
                    bound(*amount),
                    rule_name(source)
                )),
                _ => None,
            })
            .collect();
        same("budgets", format!("{budgets:?}"), format!("{actual:?}"));
    }
    if let Some(reason) = &expect.reason {
        if !decision.reason.contains(reason.as_str()) {
            problems.push(format!(
                "reason: expected it to contain {reason:?}, got {:?}",
                decision.reason
            ));
        }
    }
    for wanted in expect.near_misses.iter().flatten() {
        if !decision
            .near_misses
            .iter()
            .any(|n| n.failed.contains(wanted.as_str()))
        {
            let actual: Vec<&str> = decision
                .near_misses
                .iter()
                .map(|n| n.failed.as_str())
                .collect();
            problems.push(format!(
                "near misses: expected one containing {wanted:?}, got {actual:?}"
            ));
        }
    }
}

fn compare_report(
    report: &DelegationReport,
    expect: &ExpectDelegation,
    problems: &mut Vec<String>,
) {
    for (kind, actual, wanted) in [
        ("errors", &report.errors, &expect.errors),
        ("warnings", &report.warnings, &expect.warnings),
    ] {
        let shown: Vec<String> = actual
            .iter()
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect();
        if actual.len() != wanted.len() {
            problems.push(format!("{kind}: expected {}, got {shown:#?}", wanted.len()));
            continue;
        }
        for (issue, want) in actual.iter().zip(wanted) {
            if issue.path != want.path || !issue.message.contains(want.message.as_str()) {
                problems.push(format!(
                    "{kind}: expected `{}: ...{}...`, got `{}: {}`",
                    want.path, want.message, issue.path, issue.message
                ));
            }
        }
    }
}

#[test]
fn scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.retain(|path| path.extension().is_some_and(|ext| ext == "yaml"));
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
    let failures: Vec<String> = files.iter().flat_map(|file| check(file)).collect();
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The business-hours example of docs/policy-language.md is the platform policy that
/// `scenarios/business_hours.yaml` runs, so the documented example is known to decide as it says.
#[test]
fn the_documented_business_hours_example_is_the_tested_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("../docs/policy-language.md")).unwrap();
    let documented = doc
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(body, _)| body))
        .find(|body| body.starts_with("name: Platform business hours"))
        .expect("docs/policy-language.md shows `Platform business hours`");
    let documented = Policy::parse_auto(documented).unwrap();
    let scenario: Scenario = charter_policy::from_yaml(
        &std::fs::read_to_string(root.join("tests/scenarios/business_hours.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(scenario.platform, vec![documented]);
}
