//! What the demo tenants' agents ask: for each tenant, the calls its agents make and how often,
//! chosen against the demo's policies so that a week of them holds every verdict. The bank's
//! expenses go through or wait for a manager (or the CFO too), its payments are capped and its
//! support bot never moves money; the startup deploys and emails freely inside the platform's
//! guardrails; the hospital reads patients with PHI masked and its exports wait for the privacy
//! officer. Shell access, bulk deletes and tools the platform switched off are denied everywhere.

use charter_core::DecideInput;
use charter_policy::Principal;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

/// One kind of call: who makes it, how often (relative to the tenant's other kinds), and its
/// arguments drawn afresh each time.
struct Kind {
    weight: u32,
    agent: &'static str,
    tool: &'static str,
    user: &'static str,
    roles: &'static [&'static str],
    args: fn(&mut StdRng) -> Value,
}

fn account(rng: &mut StdRng) -> String {
    format!("acc-{:04}", rng.gen_range(1..400))
}

fn service(rng: &mut StdRng) -> &'static str {
    match rng.gen_range(0..3) {
        0 => "api",
        1 => "web",
        _ => "worker",
    }
}

const BANK: &[Kind] = &[
    Kind {
        weight: 30,
        agent: "expense-bot",
        tool: "expense.submit",
        user: "u-1042",
        roles: &["employee"],
        args: |rng| json!({"amount": rng.gen_range(20..4_800), "currency": "USD"}),
    },
    Kind {
        weight: 6,
        agent: "expense-bot",
        tool: "expense.submit",
        user: "u-1187",
        roles: &["employee"],
        args: |rng| json!({"amount": rng.gen_range(5_200..24_000), "currency": "USD"}),
    },
    Kind {
        weight: 2,
        agent: "expense-bot",
        tool: "expense.submit",
        user: "u-2210",
        roles: &["director"],
        args: |rng| json!({"amount": rng.gen_range(30_000..60_000), "currency": "USD"}),
    },
    Kind {
        weight: 14,
        agent: "payments-bot",
        tool: "payments.transfer",
        user: "treasury",
        roles: &["treasury"],
        args: |rng| json!({"amount": rng.gen_range(100..9_500), "to": account(rng)}),
    },
    Kind {
        weight: 4,
        agent: "payments-bot",
        tool: "payments.transfer",
        user: "treasury",
        roles: &["treasury"],
        args: |rng| json!({"amount": rng.gen_range(12_000..80_000), "to": account(rng)}),
    },
    Kind { weight: 1, agent: "payments-bot", tool: "payments.bulk_delete", user: "treasury", roles: &["treasury"], args: |_| json!({"before": "2026-01-01"}) },
    Kind { weight: 20, agent: "support-bot", tool: "get_balance", user: "customer-care", roles: &["support"], args: |rng| json!({"account": account(rng)}) },
    Kind { weight: 8, agent: "support-bot", tool: "list_accounts", user: "customer-care", roles: &["support"], args: |_| json!({}) },
    Kind {
        weight: 2,
        agent: "support-bot",
        tool: "payments.refund",
        user: "customer-care",
        roles: &["support"],
        args: |rng| json!({"amount": rng.gen_range(40..400), "to": account(rng)}),
    },
    Kind {
        weight: 2,
        agent: "support-bot",
        tool: "email.send",
        user: "customer-care",
        roles: &["support"],
        args: |_| json!({"to": "customer@example.com", "subject": "Your balance"}),
    },
];

const STARTUP: &[Kind] = &[
    Kind { weight: 15, agent: "deploy-bot", tool: "deploy.staging", user: "ci", roles: &["engineer"], args: |rng| json!({"service": service(rng)}) },
    Kind { weight: 6, agent: "deploy-bot", tool: "deploy.production", user: "ci", roles: &["engineer"], args: |rng| json!({"service": service(rng)}) },
    Kind { weight: 1, agent: "deploy-bot", tool: "deploy.rollback", user: "ci", roles: &["engineer"], args: |_| json!({"service": "api"}) },
    Kind {
        weight: 20,
        agent: "growth-bot",
        tool: "email.send",
        user: "marketing",
        roles: &["marketing"],
        args: |rng| json!({"to": format!("lead-{}@example.com", rng.gen_range(1..5_000)), "subject": "Welcome aboard"}),
    },
    Kind { weight: 2, agent: "ops-bot", tool: "system.exec", user: "ops", roles: &["engineer"], args: |_| json!({"command": "df -h"}) },
    Kind { weight: 1, agent: "ops-bot", tool: "records.bulk_delete", user: "ops", roles: &["engineer"], args: |_| json!({"table": "events"}) },
    Kind { weight: 1, agent: "data-bot", tool: "crm.export", user: "analyst", roles: &["analyst"], args: |_| json!({"segment": "all"}) },
];

const HOSPITAL: &[Kind] = &[
    Kind {
        weight: 25,
        agent: "triage-bot",
        tool: "patients.read",
        user: "nurse-station-4",
        roles: &["nurse"],
        args: |rng| json!({"id": format!("p-{}", rng.gen_range(1..900)), "notes": "follow-up after discharge"}),
    },
    Kind { weight: 10, agent: "triage-bot", tool: "patients.search", user: "nurse-station-4", roles: &["nurse"], args: |_| json!({"query": "admitted today"}) },
    Kind {
        weight: 3,
        agent: "records-bot",
        tool: "patients.export",
        user: "research-office",
        roles: &["researcher"],
        args: |_| json!({"cohort": "cardiology-2026"}),
    },
    Kind {
        weight: 2,
        agent: "records-bot",
        tool: "records.delete",
        user: "research-office",
        roles: &["researcher"],
        args: |rng| json!({"id": format!("r-{}", rng.gen_range(1..900))}),
    },
    Kind {
        weight: 2,
        agent: "records-bot",
        tool: "email.send",
        user: "research-office",
        roles: &["researcher"],
        args: |_| json!({"to": "partner@example.org", "subject": "Cohort data"}),
    },
];

/// The calls of the demo tenant `slug`; none for a tenant the demo does not know.
fn kinds(slug: &str) -> &'static [Kind] {
    match slug {
        "meridian-bank" => BANK,
        "rocketlane" => STARTUP,
        "st-aurelia-health" => HOSPITAL,
        _ => &[],
    }
}

/// A call one of the tenant's agents makes, drawn by the kinds' weights; `None` for a tenant the
/// demo does not know.
pub fn draw(slug: &str, rng: &mut StdRng) -> Option<DecideInput> {
    let kinds = kinds(slug);
    let total: u32 = kinds.iter().map(|kind| kind.weight).sum();
    if total == 0 {
        return None;
    }
    let mut pick = rng.gen_range(0..total);
    let kind = kinds.iter().find(|kind| {
        if pick < kind.weight {
            return true;
        }
        pick -= kind.weight;
        false
    })?;
    Some(call(kind.agent, kind.tool, (kind.args)(rng), kind.user, kind.roles))
}

/// An agent's call for a user with `roles`.
fn call(agent: &str, tool: &str, args: Value, user: &str, roles: &[&str]) -> DecideInput {
    DecideInput {
        tool: tool.to_owned(),
        args,
        agent: Some(agent.to_owned()),
        principal: Principal { user: Some(user.to_owned()), roles: roles.iter().map(|role| (*role).to_owned()).collect(), ..Principal::default() },
        ..DecideInput::default()
    }
}

/// A call of the tenant's that waits for an approver, so that a fresh demo always has requests
/// waiting; `None` for a tenant whose policies ask for no approval.
pub fn awaiting_approval(slug: &str) -> Option<DecideInput> {
    let (agent, tool, args, user, role) = match slug {
        "meridian-bank" => ("expense-bot", "expense.submit", json!({"amount": 7_200, "currency": "USD"}), "u-1187", "employee"),
        "st-aurelia-health" => ("records-bot", "patients.export", json!({"cohort": "oncology-2026"}), "research-office", "researcher"),
        _ => return None,
    };
    Some(call(agent, tool, args, user, &[role]))
}

/// The body of `POST /api/v1/decide` for `input`.
pub fn request_body(input: &DecideInput) -> Value {
    json!({"tool": input.tool, "args": input.args, "agent": input.agent, "principal": input.principal})
}

/// A moment of the week before `now_ms` at which a call is made: most in working hours (UTC),
/// a few at night and at weekends.
pub fn moment_in_week(now_ms: i64, rng: &mut StdRng) -> i64 {
    const HOUR_MS: i64 = 3_600_000;
    loop {
        let at = now_ms - rng.gen_range(0..7 * 24 * HOUR_MS);
        let hour = at.div_euclid(HOUR_MS).rem_euclid(24);
        // 1970-01-01 was a Thursday: days 2 and 3 of a week counted from it are the weekend.
        let weekend = matches!(at.div_euclid(24 * HOUR_MS).rem_euclid(7), 2 | 3);
        let likelihood = match (weekend, hour) {
            (false, 8..=17) => 10,
            (false, 6..=7 | 18..=21) => 4,
            (true, 9..=18) => 2,
            _ => 1,
        };
        if rng.gen_range(0..10) < likelihood {
            return at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_demo_tenant_draws_calls_of_its_own_and_an_unknown_one_none() {
        let mut rng = StdRng::seed_from_u64(7);
        for slug in ["meridian-bank", "rocketlane", "st-aurelia-health"] {
            let tools: std::collections::BTreeSet<String> = (0..500).filter_map(|_| draw(slug, &mut rng)).map(|call| call.tool).collect();
            assert_eq!(tools.len(), kinds(slug).iter().map(|kind| kind.tool).collect::<std::collections::BTreeSet<_>>().len(), "{slug} draws every kind");
        }
        assert!(draw("globex", &mut rng).is_none());
    }

    #[test]
    fn moments_fall_in_the_week_before_and_mostly_in_working_hours() {
        let mut rng = StdRng::seed_from_u64(7);
        let now = 1_796_000_000_000;
        let moments: Vec<i64> = (0..2_000).map(|_| moment_in_week(now, &mut rng)).collect();
        assert!(moments.iter().all(|at| (now - 7 * 86_400_000..=now).contains(at)));
        let working = moments.iter().filter(|at| (8..=17).contains(&at.div_euclid(3_600_000).rem_euclid(24))).count();
        assert!(working * 2 > moments.len(), "{working} of {} in working hours", moments.len());
    }
}
