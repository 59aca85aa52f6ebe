//! Charter's engine against Cedar on the same rules and requests, in the same process.
//!
//! Both engines get the workload of `policy/benches/support/workload.rs`. Each Charter rule
//! becomes one Cedar policy: `allow` and `require_approval` become `permit` (Cedar has no approval
//! verdict), `deny` becomes `forbid`, and a cap becomes a `forbid` when the amount is over it.
//! Tool matching becomes `context.tool == "..."` or `context.tool like "prefix*"`. Requests are
//! built once, outside the timed loops, for both engines. Charter runs `decide_dry_run` (the
//! workload has no rate limits, so counting would change nothing).

#[path = "../../policy/benches/support/workload.rs"]
mod workload;

use std::hint::black_box;
use std::str::FromStr;
use std::time::{Duration, Instant};

use cedar_policy::{
    Authorizer, Context, Decision, Entities, EntityUid, PolicySet as CedarSet, Request,
};
use charter_policy::{
    DecisionRequest, DefaultBehaviour, PlatformSettings, Policy, PolicySet, Principal,
};
use serde_json::json;
use workload::{CondSpec, EffectSpec, RuleSpec, ToolSpec, Workload};

fn charter(w: &Workload) -> (PolicySet, Vec<DecisionRequest>) {
    let parse =
        |text: String| Policy::from_yaml(&text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    let platform = parse(workload::charter_yaml(
        "Platform",
        "platform",
        None,
        &w.platform,
    ));
    let tenant = parse(workload::charter_yaml("Tenant", "tenant", None, &w.tenant));
    let agent = parse(workload::charter_yaml(
        "Agent",
        "agent",
        Some("bot"),
        &w.agent,
    ));
    let settings = PlatformSettings {
        default: DefaultBehaviour::Deny,
        enabled_tools: None,
    };
    let set = PolicySet::compile(&settings, &[platform], &[tenant], &[agent]);
    let requests = w
        .requests
        .iter()
        .map(|(tool, amount, currency, roles)| DecisionRequest {
            tool: tool.clone(),
            args: json!({ "amount": amount, "currency": currency }),
            agent: Some("bot".into()),
            principal: Principal {
                user: Some("alice".into()),
                roles: roles.clone(),
                ..Principal::default()
            },
            context: json!({ "tenant_id": "t1" })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            session: None,
        })
        .collect();
    (set, requests)
}

fn cedar_rule(rule: &RuleSpec, agent: Option<&str>) -> String {
    let mut clauses = vec![match &rule.tool {
        ToolSpec::Exact(name) => format!("context.tool == \"{name}\""),
        ToolSpec::Prefix(prefix) => format!("context.tool like \"{prefix}*\""),
    }];
    if let Some(agent) = agent {
        clauses.push(format!("context.agent == \"{agent}\""));
    }
    for condition in &rule.conditions {
        clauses.push(match condition {
            CondSpec::AmountGt(n) => format!("context.amount > {n}"),
            CondSpec::AmountLte(n) => format!("context.amount <= {n}"),
            CondSpec::CurrencyIn(list) => {
                let items: Vec<String> = list.iter().map(|c| format!("\"{c}\"")).collect();
                format!("[{}].contains(context.currency)", items.join(", "))
            }
            CondSpec::HasRole(role) => format!("context.roles.contains(\"{role}\")"),
        });
    }
    let head = match rule.effect {
        EffectSpec::Allow => "permit",
        EffectSpec::RequireApproval => "@approval(\"manager\")\npermit",
        EffectSpec::Deny => "forbid",
        EffectSpec::Cap(max) => {
            clauses.push(format!("context.amount > {max}"));
            "forbid"
        }
    };
    format!(
        "{head}(principal, action, resource) when {{ {} }};\n",
        clauses.join(" && ")
    )
}

fn cedar(w: &Workload) -> (CedarSet, Vec<Request>) {
    let mut text = String::new();
    for rule in w.platform.iter().chain(&w.tenant) {
        text.push_str(&cedar_rule(rule, None));
    }
    for rule in &w.agent {
        text.push_str(&cedar_rule(rule, Some("bot")));
    }
    let set = CedarSet::from_str(&text).unwrap_or_else(|err| panic!("{err:?}"));
    let uid = |text: &str| EntityUid::from_str(text).unwrap_or_else(|err| panic!("{err}"));
    let requests = w
        .requests
        .iter()
        .map(|(tool, amount, currency, roles)| {
            let context = Context::from_json_value(
                json!({ "tool": tool, "agent": "bot", "amount": amount, "currency": currency, "roles": roles }),
                None,
            )
            .unwrap_or_else(|err| panic!("{err}"));
            Request::new(uid(r#"User::"alice""#), uid(r#"Action::"call""#), uid(&format!("Tool::\"{tool}\"")), context, None)
                .unwrap_or_else(|err| panic!("{err}"))
        })
        .collect();
    (set, requests)
}

/// Runs `f` over the requests for about `budget`, after a warm-up, and returns ns per call.
fn time_per_call<R>(requests: &[R], budget: Duration, mut f: impl FnMut(&R)) -> f64 {
    for request in requests.iter().cycle().take(requests.len() * 50) {
        f(request);
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for request in requests {
            f(request);
        }
        calls += requests.len() as u64;
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

fn main() {
    let budget = Duration::from_secs(2);
    let authorizer = Authorizer::new();
    let entities = Entities::empty();
    println!(
        "{:<34} {:>12} {:>12} {:>8}",
        "set", "charter ns", "cedar ns", "ratio"
    );
    let mut charter_at_100 = None;
    for tenant_rules in [100, 1_000, 10_000] {
        let w = workload::workload(tenant_rules);
        let (set, requests) = charter(&w);
        let (cedar_set, cedar_requests) = cedar(&w);
        // Both engines must reach the same verdicts (an approval counts as Cedar's permit).
        for (ours, theirs) in requests.iter().zip(&cedar_requests) {
            let allowed = set.decide_dry_run(ours, 0).verdict != charter_policy::Verdict::Deny;
            let permitted = authorizer
                .is_authorized(theirs, &cedar_set, &entities)
                .decision()
                == Decision::Allow;
            assert_eq!(allowed, permitted, "the engines disagree on {}", ours.tool);
        }
        let ours = time_per_call(&requests, budget, |r| {
            black_box(set.decide_dry_run(black_box(r), 0));
        });
        let theirs = time_per_call(&cedar_requests, budget, |r| {
            black_box(authorizer.is_authorized(black_box(r), &cedar_set, &entities));
        });
        let rules = w.platform.len() + w.tenant.len() + w.agent.len();
        let label = format!("{tenant_rules} tenant rules ({rules} in all)");
        println!(
            "{label:<34} {ours:>12.0} {theirs:>12.0} {:>7.1}x",
            theirs / ours
        );
        let base = *charter_at_100.get_or_insert(ours);
        if tenant_rules > 100 {
            println!(
                "{:<34} charter at {tenant_rules} / at 100 tenant rules: {:.2}x",
                "",
                ours / base
            );
        }
    }
}
