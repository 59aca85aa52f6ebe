//! Deciding and recording: the one path from an agent's request to an answered decision with a
//! durable receipt. The server sets the facts of `context.*` it owns; masked arguments are stored
//! masked; a call counts against rate limits only if its decision was answered.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use charter_policy::{
    normalise_agent, Basis, CallRecord, CounterUnavailable, Decision, DecisionRequest, PolicySet, Principal, RateCounter, RateKey, SessionHistory, SessionKey,
    Spend, Verdict,
};
use charter_store::{
    now_ms, AgentKeys, Approval, ApprovalId, ApprovalStatus, Owner, Receipt, ReceiptId, ReleaseChoice, Selection, ShadowVerdict, StoreError, Tenant,
};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::access::{Access, Action, AgentKey, Target};
use crate::counters::Counters;
use crate::facts::derive_clock;
use crate::masking::{mask_args, mask_decision, masked_arg_paths};
use crate::tenant_view;
use crate::{Core, CoreError, Shown, APPROVAL_TTL_MS};

/// The keys of `context` that the server sets. A request that supplies one is refused: a
/// platform rule on business hours must hold whatever the caller sends.
pub const SERVER_OWNED_CONTEXT: &[&str] = &["tenant_id", "tenant", "request_id", "time", "hour", "weekday", "date", "ip", "api_key"];

/// What an agent asks: the tool call and who it is for. The tenant is the key's.
#[derive(Clone, Debug, Default)]
pub struct DecideInput {
    pub tool: String,
    pub args: Value,
    pub agent: Option<String>,
    pub principal: Principal,
    /// The caller's own facts; none of [`SERVER_OWNED_CONTEXT`].
    pub context: Map<String, Value>,
    /// A tenant the request names; a tenant other than the key's is denied.
    pub tenant_id: Option<String>,
    /// The agent runtime's session, for `session.*` conditions.
    pub session: Option<String>,
    /// A revision of the tenant's own policies to decide with instead of the one it runs (the
    /// platform's rules are always those of the release the tenant runs).
    pub policy_version: Option<i64>,
}

/// The most characters a session id may have.
pub const MAX_SESSION_CHARS: usize = 200;

/// Facts of the call that only the edge knows, as the server saw them.
#[derive(Clone, Debug, Default)]
pub struct CallFacts {
    /// The caller's address: the peer, or what a configured trusted proxy says.
    pub ip: Option<String>,
    /// The prefix of the API key that asked (set by the core from the caller's access).
    pub(crate) api_key: Option<String>,
}

impl CallFacts {
    /// The facts of a call from `ip` (the peer, or what a configured trusted proxy says).
    pub fn from_ip(ip: Option<String>) -> CallFacts {
        CallFacts { ip, api_key: None }
    }
}

/// An answered decision: durable before it is returned.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The decision as the engine made it (the caller sent these arguments; nothing is masked),
    /// with the platform's rules shown as a tenant may see them.
    pub decision: Decision,
    pub receipt_id: ReceiptId,
    pub approval_id: Option<ApprovalId>,
    /// Where the approval stands: pending when this decision asked for it; what an earlier
    /// identical call's approval is when this one found it (see [`SameCall`]).
    pub approval_status: Option<ApprovalStatus>,
    /// `context.request_id` of this decision, for the caller's logs.
    pub request_id: String,
    /// When it was decided (the receipt's time).
    pub decided_at: i64,
    /// The platform release and tenant revision it ran.
    pub ran: Shown,
}

/// When a call is decided: now (every call an agent makes), or at a moment of the past (the
/// demo's recorded week, which the server makes up itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Moment {
    Now,
    Past(i64),
}

impl Moment {
    fn ms(self) -> i64 {
        match self {
            Moment::Now => now_ms(),
            Moment::Past(at_ms) => at_ms,
        }
    }

    /// A new id ordered by time, as receipts are listed: a past call's by its own moment.
    fn new_id(self) -> String {
        match self {
            Moment::Now => uuid::Uuid::now_v7().to_string(),
            Moment::Past(at_ms) => {
                let ms = u64::try_from(at_ms).unwrap_or(0);
                let moment = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, u32::try_from(ms % 1000).unwrap_or(0) * 1_000_000);
                uuid::Uuid::new_v7(moment).to_string()
            }
        }
    }
}

/// Whether a decision that asks for approval looks for one an identical earlier call asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SameCall {
    /// Every such decision asks anew (the decision API: the agent polls the approval it got).
    AskAnew,
    /// An approval of the same tenant, agent, principal, tool and arguments that is pending or
    /// approved and unused serves instead (the MCP gateway: the agent repeats the call).
    Reuse,
}

/// The counters as one decision sees them: every call it counts is remembered, so the decision can
/// give them back when its receipt cannot be written.
struct Tally<'a> {
    counters: &'a Counters,
    counted: Mutex<Vec<Counted>>,
}

/// One thing a decision added to a counter.
enum Counted {
    Call(RateKey, Duration, u64),
    Amount(RateKey, f64, Duration, u64),
    SessionCall(SessionKey, String),
}

impl<'a> Tally<'a> {
    fn new(counters: &'a Counters) -> Tally<'a> {
        Tally { counters, counted: Mutex::new(Vec::new()) }
    }

    /// Gives back every call and amount this decision counted.
    fn refund(&self) {
        let counted = std::mem::take(&mut *self.counted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for item in counted {
            match item {
                Counted::Call(key, window, now_ms) => self.counters.refund(&key, window, now_ms),
                Counted::Amount(key, amount, window, now_ms) => self.counters.refund_spend(&key, amount, window, now_ms),
                Counted::SessionCall(key, tool) => self.counters.forget(&key, &tool),
            }
        }
    }

    fn remember_counted(&self, item: Counted) {
        self.counted.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(item);
    }
}

impl RateCounter for Tally<'_> {
    fn hit(&self, key: &RateKey, window: Duration, limit: u64, now_ms: u64) -> Result<u64, CounterUnavailable> {
        let count = self.counters.hit(key, window, limit, now_ms)?;
        // A call over the limit was not recorded, so there is nothing to give back.
        if count <= limit {
            self.remember_counted(Counted::Call(key.clone(), window, now_ms));
        }
        Ok(count)
    }

    fn refund(&self, key: &RateKey, window: Duration, now_ms: u64) {
        self.counters.refund(key, window, now_ms);
        let mut counted = self.counted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(at) = counted.iter().position(|item| matches!(item, Counted::Call(k, w, t) if k == key && *w == window && *t == now_ms)) {
            counted.remove(at);
        }
    }

    fn peek(&self, key: &RateKey, window: Duration, now_ms: u64) -> Result<u64, CounterUnavailable> {
        self.counters.peek(key, window, now_ms)
    }

    fn spend(&self, key: &RateKey, amount: f64, max: f64, window: Duration, now_ms: u64) -> Result<Spend, CounterUnavailable> {
        let spent = self.counters.spend(key, amount, max, window, now_ms)?;
        if spent.accepted {
            self.remember_counted(Counted::Amount(key.clone(), amount, window, now_ms));
        }
        Ok(spent)
    }

    fn refund_spend(&self, key: &RateKey, amount: f64, window: Duration, now_ms: u64) {
        self.counters.refund_spend(key, amount, window, now_ms);
        let mut counted = self.counted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(at) =
            counted.iter().position(|item| matches!(item, Counted::Amount(k, a, w, t) if k == key && *a == amount && *w == window && *t == now_ms))
        {
            counted.remove(at);
        }
    }

    fn spent(&self, key: &RateKey, window: Duration, now_ms: u64) -> Result<f64, CounterUnavailable> {
        self.counters.spent(key, window, now_ms)
    }

    fn session(&self, key: &SessionKey, now_ms: u64) -> Result<SessionHistory, CounterUnavailable> {
        self.counters.session(key, now_ms)
    }

    fn remember(&self, key: &SessionKey, tool: &str, now_ms: u64) -> Result<(), CounterUnavailable> {
        self.counters.remember(key, tool, now_ms)?;
        self.remember_counted(Counted::SessionCall(key.clone(), tool.to_owned()));
        Ok(())
    }

    fn forget(&self, key: &SessionKey, tool: &str) {
        self.counters.forget(key, tool);
    }
}

/// Canonical JSON: object keys sorted at every depth, no whitespace. Digests of equal arguments
/// are equal whatever order the agent sent the keys in.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let ordered: BTreeMap<&String, Value> = map.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

pub(crate) fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A request that reaches across tenants is denied before any policy is consulted.
fn cross_tenant_denial(reason: String) -> Decision {
    Decision::refused(format!("cross-tenant request denied: {reason}"), Basis::ExplicitDeny)
}

/// A tenant named in the request or in its arguments that is not the caller's.
fn foreign_tenant(input: &DecideInput, tenant: &Tenant) -> Option<String> {
    let is_own = |named: &str| tenant.id == named || named == tenant.slug;
    if let Some(named) = input.tenant_id.as_deref().filter(|named| !is_own(named)) {
        return Some(format!("the request names tenant `{named}`, but the API key belongs to another tenant"));
    }
    match input.args.get("tenant_id") {
        Some(Value::String(named)) if !is_own(named) => Some(format!("`args.tenant_id` is `{named}`, but the API key belongs to another tenant")),
        Some(Value::String(_)) | None => None,
        Some(other) => Some(format!("`args.tenant_id` is `{other}`, not this tenant")),
    }
}

/// For whom a call is made, as the key allows it.
pub(crate) enum CallAgent {
    /// The agent of the call, in its one spelling; `None` when an unbound key names none.
    Agent(Option<String>),
    /// The request names an agent the key is not bound to.
    NotTheKeys(String),
}

/// The agent a call is made for: the key's when the key is bound to agents (whatever the request
/// says), otherwise the one the request names; always in its one spelling, so that `Support-Bot`
/// and `support-bot ` meet the policies and rate limits of `support-bot`.
pub(crate) fn agent_of_call(key: &AgentKey, tenant: &Tenant, named: Option<&str>) -> Result<CallAgent, CoreError> {
    let named = named.map(normalise_agent).transpose().map_err(|err| CoreError::invalid("agent", err.to_string()))?;
    if !key.agents.is_bound() {
        if tenant.agent_keys == AgentKeys::Required {
            return Err(CoreError::forbidden("this tenant requires API keys bound to agents, and this key is bound to none"));
        }
        return Ok(CallAgent::Agent(named));
    }
    match (named, key.agents.0.as_slice()) {
        (Some(agent), _) if key.agents.contains(&agent) => Ok(CallAgent::Agent(Some(agent))),
        (Some(agent), _) => Ok(CallAgent::NotTheKeys(agent)),
        (None, [only]) => Ok(CallAgent::Agent(Some(only.clone()))),
        (None, several) => Err(CoreError::invalid("agent", format!("this API key acts for several agents ({}); name the one calling", several.join(", ")))),
    }
}

/// A call for an agent the key does not act for is denied before any policy is consulted.
fn foreign_agent_denial(agent: &str, key: &AgentKey) -> Decision {
    Decision::refused(format!("agent `{agent}` is not one this API key acts for (it acts for {})", key.agents.0.join(", ")), Basis::ExplicitDeny)
}

/// The tool named and the context free of server-owned keys, or the field that is not.
fn check_input(input: &DecideInput) -> Result<(), CoreError> {
    if input.tool.trim().is_empty() {
        return Err(CoreError::invalid("tool", "must name the tool to call"));
    }
    if let Some(key) = SERVER_OWNED_CONTEXT.iter().find(|key| input.context.contains_key(**key)) {
        return Err(CoreError::invalid(&format!("context.{key}"), "is set by the server; leave it out of the request"));
    }
    if !matches!(input.args, Value::Object(_) | Value::Null) {
        return Err(CoreError::invalid("args", "must be a JSON object of the tool call's arguments"));
    }
    if let Some(session) = &input.session {
        if session.trim().is_empty() || session.chars().count() > MAX_SESSION_CHARS || session.chars().any(char::is_control) {
            return Err(CoreError::invalid("session", format!("must be 1 to {MAX_SESSION_CHARS} characters without control characters")));
        }
    }
    Ok(())
}

impl Core {
    /// The engine's request for `input`, with every server-owned fact of `context` set for this
    /// tenant and this moment.
    fn engine_request(
        &self,
        input: &DecideInput,
        agent: Option<String>,
        tenant: &Tenant,
        now: i64,
        request_id: &str,
        facts: &CallFacts,
    ) -> Result<DecisionRequest, CoreError> {
        let clock = derive_clock(now, &tenant.time_zone)?;
        let mut context = input.context.clone();
        context.insert("tenant_id".into(), Value::String(tenant.id.to_string()));
        context.insert("tenant".into(), Value::String(tenant.slug.clone()));
        context.insert("request_id".into(), Value::String(request_id.to_owned()));
        context.insert("time".into(), Value::from(clock.time_ms));
        context.insert("hour".into(), Value::from(clock.hour));
        context.insert("weekday".into(), Value::from(clock.weekday));
        context.insert("date".into(), Value::from(clock.date));
        if let Some(ip) = &facts.ip {
            context.insert("ip".into(), Value::String(ip.clone()));
        }
        if let Some(prefix) = &facts.api_key {
            context.insert("api_key".into(), Value::String(prefix.clone()));
        }
        let args = if input.args.is_null() { Value::Object(Map::new()) } else { input.args.clone() };
        Ok(DecisionRequest { tool: input.tool.trim().to_owned(), args, agent, principal: input.principal.clone(), context, session: input.session.clone() })
    }

    /// Decides an agent's tool call and records it: the decision, with masked arguments stored
    /// masked, is durable (its receipt, and its approval when it asks for one) before this returns.
    /// When the write fails nothing was decided: the answer is [`CoreError::Unavailable`] and the
    /// call has not used up any rate limit.
    pub async fn decide(&self, access: &Access, input: DecideInput, facts: CallFacts) -> Result<Recorded, CoreError> {
        self.decide_and_record(access, input, facts, SameCall::AskAnew, Moment::Now).await
    }

    /// Decides and records a call as though it were made at `at_ms`, a moment of the past: for the
    /// demo's recorded week, which goes through the very path agents' calls take (policies, counters,
    /// masking, approvals, receipts). The time is the server's own choice, never a caller's: no edge
    /// that serves agents calls this. A time in the future is refused.
    pub async fn decide_as_of(&self, access: &Access, input: DecideInput, at_ms: i64) -> Result<Recorded, CoreError> {
        if at_ms > now_ms() {
            return Err(CoreError::invalid("time", "a recorded decision cannot be in the future"));
        }
        self.decide_and_record(access, input, CallFacts::default(), SameCall::AskAnew, Moment::Past(at_ms)).await
    }

    pub(crate) async fn decide_and_record(
        &self,
        access: &Access,
        input: DecideInput,
        facts: CallFacts,
        same_call: SameCall,
        moment: Moment,
    ) -> Result<Recorded, CoreError> {
        let started = Instant::now();
        let now = moment.ms();
        let Access::Agent(key) = access else {
            return Err(CoreError::forbidden("decisions are asked with a tenant API key"));
        };
        access.may(Action::Decide, &Owner::Tenant(key.tenant_id.clone()))?;
        check_input(&input)?;
        let tenant = self.tenant(&key.tenant_id).await?;
        let request_id = moment.new_id();
        let (agent, refusal) = match agent_of_call(key, &tenant, input.agent.as_deref())? {
            CallAgent::Agent(agent) => (agent, None),
            CallAgent::NotTheKeys(agent) => {
                let refusal = foreign_agent_denial(&agent, key);
                (Some(agent), Some(refusal))
            }
        };
        let facts = CallFacts { api_key: Some(format!("chk_{}", key.prefix)), ..facts };
        let request = self.engine_request(&input, agent, &tenant, now, &request_id, &facts)?;

        let compiled = match input.policy_version {
            None => self.store.policy_set(&tenant.id).await?,
            Some(revision) => self.store.policy_set_at(&tenant.id, Selection { release: None, revision: Some(revision) }).await.map_err(|err| match err {
                StoreError::NotFound { what: "revision", .. } => {
                    CoreError::invalid("policy_version", format!("`{revision}` is not a revision of this tenant's policies"))
                }
                other => other.into(),
            })?,
        };
        let tally = Tally::new(&self.rate);
        let refused = match (foreign_tenant(&input, &tenant), refusal) {
            (Some(reason), _) => Some(cross_tenant_denial(reason)),
            (None, refusal) => refusal,
        };
        // A candidate in shadow decides the same request too, before the enforced decision counts
        // it: it reads the counters and the session as they stand and counts nothing. A request
        // refused before any policy has nothing to compare.
        let shadow = match compiled.shadow.filter(|_| refused.is_none() && input.policy_version.is_none()) {
            Some(selection) => self.shadow_decision(&tenant.id, selection, &request, now).await,
            None => None,
        };
        let decision = match refused {
            Some(refused) => refused,
            None => compiled.set.decide(&request, &tally, u64::try_from(now).unwrap_or(0)),
        };
        // A decision settled by counts (or by counters out of reach) has no comparable shadow: the
        // candidate read the counts but does not enforce them.
        let shadow = shadow.filter(|_| !matches!(decision.basis, Basis::RateLimit | Basis::Budget | Basis::CountersUnavailable));

        // What is stored never holds a masked field in the clear; the digest is of the call as made.
        let masked = masked_arg_paths(&decision);
        let canonical_args = canonical_json(&request.args);
        let args_digest = digest(&canonical_args);
        // Most calls mask nothing: then what is stored is the call and the decision as they are,
        // without copying either (this is the decision path, every microsecond counts).
        let masked_copies = (!masked.is_empty()).then(|| (mask_args(&request.args, &masked), mask_decision(&decision, &masked)));
        let (args_kept, decision_kept) = match &masked_copies {
            Some((args, decision)) => (args, decision),
            None => (&request.args, &decision),
        };
        let stored_args = if masked_copies.is_some() { canonical_json(args_kept) } else { canonical_args };
        let kept = CallRecord { args: args_kept, context: &request.context, principal: &request.principal };
        let stored_decision = stored_decision(&compiled.set, decision_kept, kept)?;
        let policy_versions = compiled.versions_json.clone();
        let principal = serde_json::to_string(&request.principal).map_err(|err| CoreError::internal("serialising a principal", err))?;
        let receipt_id = ReceiptId::new(moment.new_id());
        let earlier = match (same_call, decision.verdict) {
            (SameCall::Reuse, Verdict::RequireApproval) => {
                let call = charter_store::SameCall {
                    tenant_id: &tenant.id,
                    api_key_id: &key.key_id,
                    agent: request.agent.as_deref(),
                    principal: &principal,
                    tool: &request.tool,
                    args_digest: &args_digest,
                };
                // An approval asked of fewer roles than the policies now name (they were tightened
                // since) lets nothing through: the call asks anew.
                let found = self.store.approval_for_call(&call, now, APPROVAL_TTL_MS).await?;
                found.filter(|approval| {
                    let asked: Vec<String> = serde_json::from_str(&approval.approvers).unwrap_or_default();
                    decision.approvers.iter().all(|role| asked.contains(role))
                })
            }
            _ => None,
        };
        let asks = decision.verdict == Verdict::RequireApproval && earlier.is_none();
        let approval = asks.then(|| Approval {
            id: ApprovalId::new(moment.new_id()),
            tenant_id: tenant.id.clone(),
            receipt_id: receipt_id.clone(),
            agent: request.agent.clone(),
            principal: principal.clone(),
            tool: request.tool.clone(),
            args: stored_args.clone(),
            args_digest: args_digest.clone(),
            approvers: serde_json::to_string(&decision.approvers).unwrap_or_else(|_| "[]".to_owned()),
            matched: serde_json::to_string(&decision.matched).unwrap_or_else(|_| "[]".to_owned()),
            policy_versions: policy_versions.clone(),
            reason: decision.reason.clone(),
            status: ApprovalStatus::Pending,
            requested_at: now,
            expires_at: now + APPROVAL_TTL_MS,
            resolved_at: None,
            resolved_by: None,
            comment: None,
            votes: "[]".to_owned(),
            consumed_at: None,
        });
        let (approval_id, approval_status) = match (&approval, &earlier) {
            (Some(asked), _) => (Some(asked.id.clone()), Some(ApprovalStatus::Pending)),
            (None, Some(found)) => (Some(found.id.clone()), Some(found.status)),
            (None, None) => (None, None),
        };
        let receipt = Receipt {
            id: receipt_id.clone(),
            tenant_id: tenant.id.clone(),
            api_key_id: Some(key.key_id.clone()),
            agent: request.agent.clone(),
            principal,
            tool: request.tool.clone(),
            args: stored_args,
            args_digest,
            verdict: decision.verdict,
            reason: decision.reason.clone(),
            decision: stored_decision,
            policy_versions,
            approval_id: approval_id.clone(),
            latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
            created_at: now,
            platform_release: compiled.release,
            tenant_revision: Some(compiled.revision),
            context: serde_json::to_string(&request.context).ok(),
            shadow_of: shadow.as_ref().map(|(of, _, _)| of.clone()),
            shadow_verdict: ShadowVerdict(shadow.as_ref().map(|(_, verdict, _)| *verdict)),
            shadow_rule: shadow.map(|(_, _, rule)| rule),
            result_digest: None,
        };
        // The dashboards count a denial under what settled it, in the platform's words and as the
        // tenant may read it.
        let settled_by = (decision.verdict == Verdict::Deny).then(|| charter_store::SettledBy {
            platform: crate::insight::settled_by(&decision),
            tenant: crate::insight::settled_by(&decision.seen_by_tenant()),
        });
        // The answer waits for durability: an acknowledged decision always has its receipt, and an
        // unanswered one gives back what it counted.
        if let Err(err) = self.receipts.write(receipt, approval, settled_by).await {
            tally.refund();
            tracing::error!(error = %err, "could not record a receipt; the call was refunded");
            return Err(CoreError::Unavailable);
        }
        // The metrics are of the calls agents make now: a recorded week is not this process's traffic.
        if moment == Moment::Now {
            let figures = charter_store::metrics();
            figures.decisions.with_label_values(&[tenant.slug.as_str(), decision.verdict.as_str()]).inc();
            figures.decision_seconds.observe(started.elapsed().as_secs_f64());
        }
        // The agent is a tenant's: it learns of platform rules what a tenant may.
        let ran = Shown { release: compiled.release, revision: compiled.revision };
        Ok(Recorded { decision: decision.into_seen_by_tenant(), receipt_id, approval_id, approval_status, request_id, decided_at: now, ran })
    }

    /// What `selection` decides for `request`, reading the counters and counting nothing: the
    /// candidate's words, verdict and the rule that settled it (as a tenant may read it, since it
    /// goes on the tenant's receipt). A candidate that cannot be compiled is logged and skipped: a
    /// shadow never stops a decision.
    async fn shadow_decision(
        &self,
        tenant_id: &charter_store::TenantId,
        selection: Selection,
        request: &DecisionRequest,
        now: i64,
    ) -> Option<(String, Verdict, String)> {
        match self.store.policy_set_at(tenant_id, selection).await {
            Ok(candidate) => {
                let decided = candidate.set.decide_preview(request, &*self.rate, u64::try_from(now).unwrap_or(0)).into_seen_by_tenant();
                Some((charter_store::describe_selection(selection), decided.verdict, crate::replay::responsible(&decided)))
            }
            Err(err) => {
                tracing::warn!(error = %err, "the candidate in shadow could not be compiled; the decision goes on without it");
                None
            }
        }
    }

    /// What the engine would decide for `input` in the named tenant, now, without recording or
    /// counting anything: the console's what-if.
    /// `release` names a platform release or the draft (platform staff only); the tenant's revision
    /// is `input.policy_version`, or the one it runs.
    pub async fn what_if(
        &self,
        access: &Access,
        target: Target<'_>,
        input: DecideInput,
        release: Option<ReleaseChoice>,
    ) -> Result<(Decision, Shown), CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        let selection = Selection { release, revision: input.policy_version };
        crate::releases::check_selection(access, selection)?;
        check_input(&input)?;
        let tenant = self.tenant_of(&owner).await?.ok_or(CoreError::TenantRequired)?;
        let now = now_ms();
        let agent = input.agent.as_deref().map(normalise_agent).transpose().map_err(|err| CoreError::invalid("agent", err.to_string()))?;
        let request = self.engine_request(&input, agent, &tenant, now, "what-if", &CallFacts::default())?;
        let compiled = self.store.policy_set_at(&tenant.id, selection).await.map_err(crate::releases::selection_error)?;
        let preview = compiled.set.decide_preview(&request, &*self.rate, u64::try_from(now).unwrap_or(0));
        Ok((tenant_view::decision_for(access, preview), Shown { release: compiled.release, revision: compiled.revision }))
    }
}

/// A decision as its receipt keeps it: compact (rule pointers into the immutable policy versions
/// the set was compiled from; [`crate::Core::list_receipts`] expands it), or whole when the set
/// cannot point at a rule it names.
fn stored_decision(set: &PolicySet, decision: &Decision, kept: CallRecord<'_>) -> Result<String, CoreError> {
    let stored = match set.compact(decision, kept) {
        Some(compact) => serde_json::to_string(&compact),
        None => serde_json::to_string(decision),
    };
    stored.map_err(|err| CoreError::internal("serialising a decision", err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"y": [ {"d": 1, "c": 2} ], "x": null}});
        let b = json!({"a": {"x": null, "y": [ {"c": 2, "d": 1} ]}, "b": 1});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[{"c":2,"d":1}]},"b":1}"#);
        assert_ne!(digest(&canonical_json(&a)), digest(&canonical_json(&json!({"b": 2}))));
    }

    fn check(context: Value, expected: Result<(), &str>) {
        let input = DecideInput { tool: "expense.submit".into(), context: context.as_object().cloned().unwrap_or_default(), ..DecideInput::default() };
        let actual = check_input(&input).map_err(|err| match err {
            CoreError::Invalid { field, .. } => field,
            other => other.to_string(),
        });
        assert_eq!(actual, expected.map_err(str::to_owned), "{context}");
    }

    #[test]
    fn the_server_owns_its_context_facts() {
        check(json!({}), Ok(()));
        check(json!({"channel": "slack", "session": "s-1"}), Ok(()));
        for key in SERVER_OWNED_CONTEXT {
            let field = format!("context.{key}");
            check(json!({ *key: "anything" }), Err(&field));
        }
    }
}
