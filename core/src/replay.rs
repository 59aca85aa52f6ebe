//! Replay, the blast radius of a change before it is made: every stored request of the last days
//! is decided again by a candidate (a platform release or the platform's draft, for every tenant or
//! chosen ones; a revision of a tenant's own policies, for that tenant), and the decisions whose
//! verdict would change are grouped by tenant, tool and verdict pair, with examples and the rule
//! responsible.
//!
//! A replay compares the candidate's verdict with the one given at the time, on the request as
//! stored. What the request alone cannot reproduce is set aside, never reported as a flip: a
//! decision settled by rate limits, budgets or unreachable counters (counts are not replayed), a
//! request refused before any policy (another tenant named, an agent the key does not act for), a
//! tool switched on or off since (the catalog is not part of a candidate), a call a session rule
//! could apply to (what the session did before is not kept), and a request whose
//! masked argument a rule reads (the receipt keeps `[masked]`, not the value): the last are
//! "unknown".

use std::collections::BTreeMap;
use std::time::Instant;

use charter_policy::{Basis, Decision, DecisionRequest, PolicySet, Principal, Verdict};
use charter_store::{ReceiptId, ReleaseChoice, ReplayWindow, Selection, StoredCall, Tenant, TenantId};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::access::{Access, Action, Target};
use crate::facts::derive_clock;
use crate::masking::MASKED;
use crate::{Core, CoreError};

/// How many receipts are read at a time.
const PAGE: i64 = 5_000;
/// How many example requests each group keeps.
const EXAMPLES: usize = 3;
/// The longest window a replay reads, in days.
pub const MAX_REPLAY_DAYS: u32 = 90;

/// What is replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// A platform release, or the platform's draft, in place of what each tenant runs.
    Release(ReleaseChoice),
    /// A revision of the tenant's own policies (`None`: its newest) in place of the one it runs.
    Revision(Option<i64>),
}

/// Whose receipts are replayed, and which.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayRequest<'a> {
    pub candidate: Candidate,
    /// Platform staff: every tenant (`None`) or one. A tenant: its own.
    pub tenant: Option<Target<'a>>,
    pub days: u32,
    /// Only the receipts of decisions that ran this platform release.
    pub ran_release: Option<i64>,
}

/// Decisions whose verdict would change the same way, for one tenant and tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlipGroup {
    pub tenant: String,
    pub tool: String,
    pub from: Verdict,
    pub to: Verdict,
    pub count: u64,
    /// The rule that now decides (or the default that now applies), in words.
    pub rule: String,
    pub examples: Vec<FlipExample>,
}

/// One request whose verdict would change, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlipExample {
    pub receipt_id: ReceiptId,
    pub agent: Option<String>,
    pub args: String,
    pub created_at: i64,
}

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// The candidate, in words.
    pub candidate: String,
    pub days: u32,
    pub tenants: usize,
    pub replayed: u64,
    pub unchanged: u64,
    pub flipped: u64,
    /// A rule that could apply reads an argument the receipt keeps masked.
    pub unknown: u64,
    /// Settled by counts, refused before any policy, or the tool was switched since.
    pub set_aside: u64,
    /// Largest groups first.
    pub groups: Vec<FlipGroup>,
    pub elapsed_ms: u64,
}

/// What replaying one stored call gave.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    Flipped { to: Verdict, rule: String },
    Unknown,
    SetAside,
}

/// The part of a stored decision a replay needs.
#[derive(Deserialize)]
struct StoredDecision {
    basis: Basis,
    #[serde(default)]
    matched: Vec<serde::de::IgnoredAny>,
}

/// Replays one stored call with `set` and says how its verdict compares.
fn replay_call(set: &PolicySet, tenant: &Tenant, call: &StoredCall, seen_by_tenant: bool) -> Outcome {
    let Ok(stored) = serde_json::from_str::<StoredDecision>(&call.decision) else { return Outcome::SetAside };
    let by_counts = matches!(stored.basis, Basis::RateLimit | Basis::Budget | Basis::CountersUnavailable);
    let refused_before_policies = stored.basis == Basis::ExplicitDeny && stored.matched.is_empty();
    if by_counts || refused_before_policies {
        return Outcome::SetAside;
    }
    let Some(request) = request_of(tenant, call) else { return Outcome::SetAside };
    // What a session did before is not kept with the receipt.
    if set.session_rule_applies(&request.tool, request.agent.as_deref()) {
        return Outcome::SetAside;
    }
    if call.args.contains(MASKED) {
        let masked = masked_fields(&request.args);
        if set.rule_reading(&request.tool, request.agent.as_deref(), &masked).is_some() {
            return Outcome::Unknown;
        }
    }
    let decision = set.decide_dry_run(&request, u64::try_from(call.created_at).unwrap_or(0));
    if (decision.basis == Basis::ToolDisabled) != (stored.basis == Basis::ToolDisabled) {
        return Outcome::SetAside;
    }
    if decision.verdict == call.verdict {
        return Outcome::Unchanged;
    }
    // A tenant reads the platform's rules as boundaries, never by name.
    let decision = if seen_by_tenant { decision.into_seen_by_tenant() } else { decision };
    Outcome::Flipped { to: decision.verdict, rule: responsible(&decision) }
}

/// The rule that settled `decision`, or the default, in words.
pub(crate) fn responsible(decision: &Decision) -> String {
    match decision.matched.iter().find(|matched| matched.decisive) {
        Some(matched) => format!("{} ({} {})", matched.rule, matched.tool, matched.effect.map_or_else(|| "limits".to_owned(), |e| e.to_string())),
        None => match decision.basis {
            Basis::Default => format!("the default ({})", decision.verdict),
            other => format!("{other:?}").to_lowercase(),
        },
    }
}

/// The request a receipt records, with the facts the server set then (or, on receipts written
/// before the context was kept, those the receipt's time and tenant give).
fn request_of(tenant: &Tenant, call: &StoredCall) -> Option<DecisionRequest> {
    let args: Value = serde_json::from_str(&call.args).ok()?;
    let principal: Principal = serde_json::from_str(&call.principal).ok()?;
    let context: Map<String, Value> = match &call.context {
        Some(text) => serde_json::from_str(text).ok()?,
        None => {
            let clock = derive_clock(call.created_at, &tenant.time_zone).ok()?;
            let mut context = Map::new();
            context.insert("tenant_id".into(), Value::String(tenant.id.to_string()));
            context.insert("tenant".into(), Value::String(tenant.slug.clone()));
            context.insert("time".into(), Value::from(clock.time_ms));
            context.insert("hour".into(), Value::from(clock.hour));
            context.insert("weekday".into(), Value::from(clock.weekday));
            context.insert("date".into(), Value::from(clock.date));
            context
        }
    };
    Some(DecisionRequest { tool: call.tool.clone(), args, agent: call.agent.clone(), principal, context, session: None })
}

/// The `args.` paths whose stored value is the mask.
fn masked_fields(args: &Value) -> Vec<String> {
    fn walk(value: &Value, path: &mut String, out: &mut Vec<String>) {
        match value {
            Value::String(text) if text == MASKED => out.push(path.clone()),
            Value::Object(map) => {
                for (key, inner) in map {
                    let length = path.len();
                    path.push('.');
                    path.push_str(key);
                    walk(inner, path, out);
                    path.truncate(length);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(args, &mut "args".to_owned(), &mut out);
    out
}

/// The tally of one replay, grouped as it goes.
#[derive(Default)]
struct Tally {
    report: ReplayReport,
    groups: BTreeMap<(String, String, Verdict, Verdict), FlipGroup>,
}

impl Tally {
    fn add(&mut self, tenant: &Tenant, call: &StoredCall, outcome: Outcome) {
        self.report.replayed += 1;
        match outcome {
            Outcome::Unchanged => self.report.unchanged += 1,
            Outcome::Unknown => self.report.unknown += 1,
            Outcome::SetAside => self.report.set_aside += 1,
            Outcome::Flipped { to, rule } => {
                self.report.flipped += 1;
                let key = (tenant.slug.clone(), call.tool.clone(), call.verdict, to);
                let group = self.groups.entry(key).or_insert_with(|| FlipGroup {
                    tenant: tenant.slug.clone(),
                    tool: call.tool.clone(),
                    from: call.verdict,
                    to,
                    count: 0,
                    rule,
                    examples: Vec::new(),
                });
                group.count += 1;
                if group.examples.len() < EXAMPLES {
                    group.examples.push(FlipExample {
                        receipt_id: call.id.clone(),
                        agent: call.agent.clone(),
                        args: call.args.clone(),
                        created_at: call.created_at,
                    });
                }
            }
        }
    }
}

impl Core {
    /// Replays the receipts of the last `days` against a candidate; see the module's words.
    pub async fn replay(&self, access: &Access, request: ReplayRequest<'_>) -> Result<ReplayReport, CoreError> {
        let started = Instant::now();
        if request.days == 0 || request.days > MAX_REPLAY_DAYS {
            return Err(CoreError::invalid("days", format!("must be 1 to {MAX_REPLAY_DAYS}, not `{}`", request.days)));
        }
        let tenants = self.replay_tenants(access, &request).await?;
        let since_ms = charter_store::now_ms() - i64::from(request.days) * 24 * 60 * 60 * 1000;
        let mut tally = Tally::default();
        let seen_by_tenant = !access.is_platform_staff();
        for tenant_id in &tenants {
            let tenant = self.tenant(tenant_id).await?;
            let selection = match request.candidate {
                Candidate::Release(choice) => Selection { release: Some(choice), revision: None },
                Candidate::Revision(revision) => {
                    let newest = self.store.tenant_rollout(tenant_id).await?.latest_revision;
                    Selection { release: None, revision: Some(revision.unwrap_or(newest)) }
                }
            };
            let compiled = self.store.policy_set_at(tenant_id, selection).await.map_err(crate::releases::selection_error)?;
            let window = ReplayWindow { tenant_id: tenant_id.clone(), since_ms, ran_release: request.ran_release };
            // Each page is decided in the documents lane while the next one is read.
            let mut calls = self.store.calls_to_replay(&window, None, PAGE).await?;
            while let Some(last) = calls.last() {
                let after = (last.created_at, last.id.clone());
                let (set, replayed_tenant) = (compiled.clone(), tenant.clone());
                let deciding = self
                    .store
                    .documents()
                    .run(move || calls.into_iter().map(|call| (replay_call(&set.set, &replayed_tenant, &call, seen_by_tenant), call)).collect::<Vec<_>>());
                let (outcomes, next) = tokio::join!(deciding, self.store.calls_to_replay(&window, Some(&after), PAGE));
                for (outcome, call) in outcomes? {
                    tally.add(&tenant, &call, outcome);
                }
                calls = next?;
            }
        }
        let mut report = tally.report;
        report.groups = tally.groups.into_values().collect();
        report.groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tenant.cmp(&b.tenant)).then_with(|| a.tool.cmp(&b.tool)));
        report.candidate = match request.candidate {
            Candidate::Release(choice) => crate::releases::describe_release(choice),
            Candidate::Revision(Some(revision)) => format!("revision {revision}"),
            Candidate::Revision(None) => "the newest revision".to_owned(),
        };
        report.days = request.days;
        report.tenants = tenants.len();
        report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(report)
    }

    /// The tenants a replay reads, as the caller may: a platform candidate is platform staff's,
    /// over every tenant or one; a revision is a tenant's own (or one staff name), and reading its
    /// receipts needs the right to read them.
    async fn replay_tenants(&self, access: &Access, request: &ReplayRequest<'_>) -> Result<Vec<TenantId>, CoreError> {
        match (request.candidate, request.tenant) {
            (Candidate::Release(_), None) => {
                access.may(Action::ReadReleases, &charter_store::Owner::Platform)?;
                Ok(self.store.list_tenants().await?.into_iter().map(|summary| summary.tenant.id).collect())
            }
            (Candidate::Release(_), Some(target)) => {
                access.may(Action::ReadReleases, &charter_store::Owner::Platform)?;
                Ok(vec![self.tenant_target(access, target, Action::ReadRecords).await?])
            }
            (Candidate::Revision(_), target) => {
                let target = target.unwrap_or(Target::Own);
                let tenant_id = self.tenant_target(access, target, Action::ReadPolicies).await?;
                access.may(Action::ReadRecords, &charter_store::Owner::Tenant(tenant_id.clone()))?;
                Ok(vec![tenant_id])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masked_fields_are_found_at_any_depth() {
        let args = json!({ "amount": 10, "notes": MASKED, "patient": { "ssn": MASKED, "name": "x" }, "list": [MASKED] });
        let mut found = masked_fields(&args);
        found.sort();
        assert_eq!(found, ["args.notes", "args.patient.ssn"]);
        assert!(masked_fields(&json!({ "a": "[masked] not quite" })).is_empty());
    }
}
