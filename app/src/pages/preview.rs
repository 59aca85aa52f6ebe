//! The effective-policy previewer: for one agent of one tenant, the merged rules of the platform,
//! the tenant and the agent, each with the scope it came from; the caps and rate limits in force
//! with the scope that set each; what each scope contributes; and a what-if box that asks the
//! engine for a decision and its explanation without writing a receipt. The address names what is
//! shown (`?tenant=…&agent=…&release=…`).

use charter_policy::{Scope, Verdict};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::address::FilterForm;
use crate::components::ui::{
    format_count, ActionError, Card, Choice, EmptyState, ErrorPanel, LoadingPanel, PageHeader, ScopeBadge, VerdictBadge, BUTTON, INPUT,
};
use crate::pages::policy_editor::load_editor_context;
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRow {
    pub scope: Scope,
    pub source: String,
    pub tool: String,
    pub effect: String,
    /// Conditions, targets, limits, masks and approvers in words.
    pub details: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitRow {
    pub tool: String,
    /// E.g. "args.amount ≤ 10000" or "60 calls per 1m per agent".
    pub limit: String,
    pub scope: Scope,
    pub source: String,
    pub conditional: bool,
    /// The limit that binds wherever this one applies, and who set it.
    pub effective: String,
    pub effective_scope: Scope,
    pub effective_source: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub scope: Scope,
    pub policies: Vec<String>,
    pub rules: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveView {
    pub rules: Vec<RuleRow>,
    pub limits: Vec<LimitRow>,
    pub default: String,
    pub default_source: String,
    pub contributions: Vec<Contribution>,
    pub agents: Vec<String>,
    /// The tenant shown (the first one when none was chosen).
    pub tenant_slug: String,
    /// Which policies are shown: the platform release and the tenant's revision, in words.
    pub shown: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplainedRule {
    pub scope: Scope,
    pub source: String,
    pub tool: String,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatIfAnswer {
    pub verdict: Verdict,
    pub reason: String,
    /// How the rules combined into this verdict, in words.
    pub combination: String,
    pub matched: Vec<ExplainedRule>,
    pub near_misses: Vec<ExplainedRule>,
    pub limits: Vec<String>,
    pub obligations: Vec<String>,
    pub approvers: Vec<String>,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use charter_policy::{EffectiveLimit, RuleRef};

    pub use crate::wording::source;

    /// A number as people read it: whole numbers with thousands separated (`100,000`).
    pub fn number(value: f64) -> String {
        if value.fract() == 0.0 && value.abs() < 1e15 {
            // INVARIANT: a whole number below 1e15 in size converts to i64 exactly.
            #[allow(clippy::cast_possible_truncation)]
            crate::components::ui::format_count(value as i64)
        } else {
            value.to_string()
        }
    }

    pub fn limit_text(limit: &EffectiveLimit) -> String {
        match limit {
            EffectiveLimit::Cap { field, max, value, source } => {
                let seen = value.map(|v| format!(" (this call: {})", number(v))).unwrap_or_default();
                format!("{field} ≤ {}{seen}, set by {}", number(*max), setter(source))
            }
            EffectiveLimit::Floor { field, min, value, source } => {
                let seen = value.map(|v| format!(" (this call: {})", number(v))).unwrap_or_default();
                format!("{field} ≥ {}{seen}, set by {}", number(*min), setter(source))
            }
            EffectiveLimit::Required { field, present, source } => {
                let seen = if *present { "present" } else { "missing in this call" };
                format!("{field} required ({seen}), set by {}", setter(source))
            }
            EffectiveLimit::Budget { field, max, per, per_key, amount, spent, source, .. } => {
                let mut text = format!("{field} adding up to {} per {per} per {per_key}", number(*max));
                if let Some(spent) = spent {
                    text.push_str(&format!(" ({} spent so far, {} left", number(*spent), number((max - spent).max(0.0))));
                    if let Some(amount) = amount {
                        text.push_str(&format!("; this call {}", number(*amount)));
                    }
                    text.push(')');
                }
                format!("{text}, set by {}", setter(source))
            }
            EffectiveLimit::Rate { calls, per, per_key, source, .. } => {
                format!("{calls} calls per {per} per {per_key}, set by {}", setter(source))
            }
        }
    }

    /// `0 ≤ args.amount ≤ 50000, required`, with only the parts that are set.
    pub fn bounds_text(field: &str, min: Option<f64>, max: Option<f64>, required: bool) -> String {
        let mut text = match (min, max) {
            (Some(min), Some(max)) => format!("{} ≤ {field} ≤ {}", number(min), number(max)),
            (Some(min), None) => format!("{field} ≥ {}", number(min)),
            (None, Some(max)) => format!("{field} ≤ {}", number(max)),
            (None, None) => format!("{field} is a number"),
        };
        if required {
            text.push_str(", required");
        }
        text
    }

    fn setter(source: &RuleRef) -> String {
        match source.policy.is_platform_boundary() {
            true => source.to_string(),
            false => format!("{} {source}", source.policy.scope),
        }
    }

    /// The slug of the tenant in view: the one chosen, or for platform staff who chose none the
    /// first tenant of the platform.
    pub async fn tenant_in_view(access: &charter_core::Access, slug: &str) -> Result<Option<String>, crate::AppError> {
        use crate::auth::server::core;
        let slug = slug.trim();
        if !slug.is_empty() || !access.is_platform_staff() {
            return Ok(Some(slug.to_owned()).filter(|s| !s.is_empty()));
        }
        let first = core()?.list_tenants(access).await?.into_iter().next();
        Ok(Some(first.map(|summary| summary.tenant.slug).ok_or(crate::AppError::Invalid { field: "tenant".into(), message: "there is no tenant yet".into() })?))
    }

    /// The platform release a preview names: empty for the one the tenant runs, `draft`, or a
    /// number.
    pub fn release_choice(text: &str) -> Result<Option<charter_store::ReleaseChoice>, crate::AppError> {
        use charter_store::ReleaseChoice;
        match text.trim() {
            "" => Ok(None),
            "draft" => Ok(Some(ReleaseChoice::Draft)),
            number => {
                number.parse::<i64>().ok().filter(|n| *n > 0).map(|n| Some(ReleaseChoice::Number(n))).ok_or_else(|| crate::AppError::Invalid {
                    field: "release".into(),
                    message: format!("must be `draft` or a release number, not `{number}`"),
                })
            }
        }
    }

    pub fn target(slug: &Option<String>) -> charter_core::Target<'_> {
        match slug {
            Some(slug) => charter_core::Target::Tenant(slug),
            None => charter_core::Target::Own,
        }
    }
}

#[server(endpoint = "preview/effective")]
pub async fn effective_policy(tenant_slug: String, agent: String, release: String) -> Result<EffectiveView, AppError> {
    use crate::auth::server::{access, core};
    use server::{bounds_text, number, source};
    let (access, core) = (access()?, core()?);
    let slug = server::tenant_in_view(&access, &tenant_slug).await?;
    let agent = Some(agent.trim()).filter(|a| !a.is_empty());
    let selection = charter_store::Selection { release: server::release_choice(&release)?, revision: None };
    let (tenant, effective, shown) = core.effective_policy(&access, server::target(&slug), agent, selection).await?;
    let rules: Vec<RuleRow> = effective
        .rules
        .iter()
        .map(|entry| {
            let rule = &entry.rule;
            let mut details: Vec<String> = rule.when.iter().map(|c| format!("when {}", c.describe())).collect();
            details.extend(rule.only_when.iter().map(|c| format!("goes ahead only when {}", c.describe())));
            if let Some(targets) = &rule.targets {
                let mut who = targets.roles.iter().map(|r| format!("role {r}")).collect::<Vec<_>>();
                who.extend(targets.groups.iter().map(|g| format!("group {g}")));
                who.extend(targets.users.iter().map(|u| format!("user {u}")));
                details.push(format!("only for {}", who.join(", ")));
            }
            details.extend(rule.limit.iter().map(|cap| format!("bounds {}", bounds_text(cap.field.as_str(), cap.min, cap.max, cap.required))));
            details.extend(rule.rate_limit.iter().map(|rate| format!("rate limit {rate}")));
            details.extend(rule.budget.iter().map(|b| format!("budget {} adding up to {} per {} per {}", b.sum, number(b.max), b.per, b.per_key)));
            if !rule.mask.is_empty() {
                details.push(format!("mask {}", rule.mask.join(", ")));
            }
            if !rule.approvers.is_empty() {
                details.push(format!("approvers {}", rule.approvers.join(", ")));
            }
            RuleRow {
                scope: entry.source.policy.scope,
                source: source(&entry.source),
                tool: rule.tool.to_string(),
                effect: rule.effect.map(|e| e.to_string()).unwrap_or_else(|| "—".to_owned()),
                // The engine's words, as sentences: values in quotation marks, not code quotes.
                details: details.iter().map(|detail| crate::readable::sentence(detail)).collect(),
                reason: rule.reason.clone(),
            }
        })
        .collect();
    let mut limits: Vec<LimitRow> = effective
        .caps
        .iter()
        .map(|cap| {
            // The row names the source of the tighter side: the cap when there is one.
            let (effective_scope, effective_source) = match cap.effective_max {
                Some(_) => (cap.effective_source.policy.scope, source(&cap.effective_source)),
                None => (cap.effective_min_source.policy.scope, source(&cap.effective_min_source)),
            };
            LimitRow {
                tool: cap.tool.clone(),
                limit: bounds_text(&cap.field, cap.min, cap.max, cap.required),
                scope: cap.source.policy.scope,
                source: source(&cap.source),
                conditional: cap.conditional,
                effective: bounds_text(&cap.field, cap.effective_min, cap.effective_max, cap.required),
                effective_scope,
                effective_source,
            }
        })
        .collect();
    limits.extend(effective.rate_limits.iter().map(|rate| LimitRow {
        tool: rate.tool.clone(),
        limit: format!("{} calls per {} per {}", rate.calls, rate.per, rate.per_key),
        scope: rate.source.policy.scope,
        source: source(&rate.source),
        conditional: rate.conditional,
        effective: format!("{} calls per {} per {}", rate.effective_calls, rate.per, rate.per_key),
        effective_scope: rate.effective_source.policy.scope,
        effective_source: source(&rate.effective_source),
    }));
    limits.extend(effective.budgets.iter().map(|budget| LimitRow {
        tool: budget.tool.clone(),
        limit: format!("{} adding up to {} per {} per {}", budget.field, number(budget.max), budget.per, budget.per_key),
        scope: budget.source.policy.scope,
        source: source(&budget.source),
        conditional: budget.conditional,
        effective: format!("{} adding up to {} per {} per {}", budget.field, number(budget.effective_max), budget.per, budget.per_key),
        effective_scope: budget.effective_source.policy.scope,
        effective_source: source(&budget.effective_source),
    }));
    let mut contributions: Vec<Contribution> = Scope::ALL.iter().map(|scope| Contribution { scope: *scope, policies: Vec::new(), rules: 0 }).collect();
    for entry in &effective.rules {
        let scope = entry.source.policy.scope;
        if let Some(c) = contributions.iter_mut().find(|c| c.scope == scope) {
            c.rules += 1;
            let name = if entry.source.policy.is_platform_boundary() { "Platform boundaries".to_owned() } else { entry.source.policy.policy_name.clone() };
            if !c.policies.contains(&name) {
                c.policies.push(name);
            }
        }
    }
    // Confidential platform rules are not listed to tenants, but they count, and they apply.
    if effective.withheld > 0 {
        if let Some(c) = contributions.iter_mut().find(|c| c.scope == Scope::Platform) {
            c.rules += effective.withheld;
            c.policies.push(format!("{} confidential platform boundar{}", effective.withheld, if effective.withheld == 1 { "y" } else { "ies" }));
        }
    }
    let default_source = match &effective.default_source {
        Some(policy) if policy.is_platform_boundary() => "a platform boundary".to_owned(),
        Some(policy) => format!("{} policy {}", policy.scope, policy.policy_name),
        None => "platform settings".to_owned(),
    };
    let agents = core.list_agents(&access, server::target(&slug)).await?.into_iter().map(|a| a.name).collect();
    Ok(EffectiveView {
        rules,
        limits,
        default: effective.default.to_string(),
        default_source,
        contributions,
        agents,
        tenant_slug: tenant.slug,
        shown: shown.describe(),
    })
}

#[server(endpoint = "preview/what_if")]
#[allow(clippy::too_many_arguments)]
pub async fn what_if(
    tenant_slug: String,
    agent: String,
    tool: String,
    args: String,
    user: String,
    roles: String,
    release: String,
) -> Result<WhatIfAnswer, AppError> {
    use crate::auth::server::{access, core};
    use charter_policy::Principal;
    use server::source;
    let (access, core) = (access()?, core()?);
    let slug = server::tenant_in_view(&access, &tenant_slug).await?;
    if tool.trim().is_empty() {
        return Err(AppError::Invalid { field: "tool".into(), message: "is required".into() });
    }
    let args_text = if args.trim().is_empty() { "{}" } else { args.trim() };
    let args: serde_json::Value =
        serde_json::from_str(args_text).map_err(|err| AppError::Invalid { field: "args".into(), message: format!("is not valid JSON: {err}") })?;
    if !args.is_object() {
        return Err(AppError::Invalid { field: "args".into(), message: "must be a JSON object such as {\"amount\": 100}".into() });
    }
    let principal = Principal {
        user: Some(user.trim().to_owned()).filter(|u| !u.is_empty()),
        roles: roles.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect(),
        ..Principal::default()
    };
    let input = charter_core::DecideInput {
        tool: tool.trim().to_owned(),
        args,
        agent: Some(agent.trim().to_owned()).filter(|a| !a.is_empty()),
        principal,
        ..Default::default()
    };
    // A dry run: rate counters are read but not advanced, and no receipt is written.
    let (decision, _) = core.what_if(&access, server::target(&slug), input, server::release_choice(&release)?).await?;
    let basis = decision.basis;
    let mut limits: Vec<String> = Vec::new();
    for limit in decision.limits.iter().map(server::limit_text) {
        // Two scopes may set the very same cap; it binds once.
        if !limits.contains(&limit) {
            limits.push(limit);
        }
    }
    Ok(WhatIfAnswer {
        verdict: decision.verdict,
        reason: crate::readable::sentence(&decision.reason),
        combination: combination(basis, decision.verdict, &decision.approvers, decision.matched.iter().filter_map(|m| m.effect).collect()),
        matched: decision
            .matched
            .iter()
            .map(|m| ExplainedRule {
                scope: m.rule.policy.scope,
                source: source(&m.rule),
                tool: m.tool.clone(),
                note: format!("{}{}", m.effect.map(|e| e.to_string()).unwrap_or_else(|| "limits only".into()), crate::wording::decided_by(basis, m.decisive)),
            })
            .collect(),
        near_misses: decision
            .near_misses
            .iter()
            .map(|n| ExplainedRule { scope: n.rule.policy.scope, source: source(&n.rule), tool: n.tool.clone(), note: crate::readable::sentence(&n.failed) })
            .collect(),
        limits,
        obligations: decision.obligations.iter().map(|o| format!("mask {}", o.field)).collect(),
        approvers: decision.approvers.clone(),
    })
}

/// How the matching rules combined into the verdict, as a sentence or two.
#[cfg(feature = "ssr")]
fn combination(basis: charter_policy::Basis, verdict: Verdict, approvers: &[String], effects: Vec<charter_policy::Effect>) -> String {
    use charter_policy::{Basis, Effect};
    let voted_both = effects.contains(&Effect::RequireApproval) && effects.contains(&Effect::Allow);
    match basis {
        Basis::ToolDisabled => "The tool is not enabled for this tenant, so it is denied before any rule is read.".to_owned(),
        Basis::ExplicitDeny => "An explicit deny wins in any scope, whatever other rules allow.".to_owned(),
        Basis::Requirement => "A matching rule states what a call must meet to go ahead; this call does not, so it is denied.".to_owned(),
        Basis::Cap => "Caps take the lowest value across scopes; this call is over the cap in force, so it is denied whatever the rules allow.".to_owned(),
        Basis::RateLimit => "Rate limits take the lowest across scopes; this one is used up, so the call is denied whatever the rules allow.".to_owned(),
        Basis::Budget => "Budgets take the lowest across scopes; this amount does not fit in what is left, so the call is denied.".to_owned(),
        Basis::CountersUnavailable => "The shared counters of rate limits, budgets and sessions could not be reached; a call they would count is refused rather than let through uncounted.".to_owned(),
        Basis::Default => "No rule decided in any scope, so the default behaviour applied.".to_owned(),
        Basis::Rules => {
            let mut text = "In each scope the most specific matching rule votes: an explicit priority first, then an exact tool name over a pattern, then a rule whose conditions matched over one without. At equal specificity, and across scopes, the more restrictive vote wins".to_owned();
            text.push_str(if voted_both { ": require approval over allow." } else { "." });
            if verdict == Verdict::RequireApproval {
                match approvers {
                    [] => {}
                    [one] => text.push_str(&format!(" The role {one} must approve.")),
                    several => text.push_str(&format!(" Every named role must approve: {}.", several.join(" and "))),
                }
            }
            text
        }
    }
}

/// What a previewer address names: `?tenant=…&agent=…&release=…`. An empty tenant is the user's
/// own, or for platform staff the first; an empty release the one the tenant runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Shown {
    tenant: String,
    agent: String,
    release: String,
}

impl Shown {
    fn read(query: &leptos_router::params::ParamsMap) -> Shown {
        let get = |key: &str| query.get(key).unwrap_or_default();
        Shown { tenant: get("tenant"), agent: get("agent"), release: get("release") }
    }
}

// Resources live at the page's top level: one created inside a `Suspend` body is created again on
// the server's second render pass and the first one then runs without the request's context.
#[component]
pub fn PreviewPage() -> impl IntoView {
    // The address names the tenant, agent and release shown: the choice is a GET form, so a link
    // or a reload shows the same preview, and the merged rules are rendered by the server.
    let query = use_query_map();
    let shown = move || query.with(Shown::read);
    let context = Resource::new(|| (), |_| load_editor_context());
    let releases = Resource::new(|| (), |_| crate::pages::releases::release_options());
    let effective = Resource::new(shown, |shown| effective_policy(shown.tenant, shown.agent, shown.release));
    view! {
        <Title text="Previewer"/>
        <PageHeader title="Effective-policy previewer" subtitle="What governs one agent, merged from every scope, and what it would be told for a call."/>
        // On a phone the columns stack in this order: the agent, the what-if form, then the long
        // list of merged rules; on a wide screen the what-if form stands beside both.
        <div class="grid grid-cols-1 lg:grid-cols-3 gap-6 lg:items-start">
            <div class="lg:col-span-2">
                <Card>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let shown = query.with(Shown::read);
                            let context = context.await.ok();
                            let releases = releases.await.unwrap_or_default();
                            // The tenant shown when none was chosen, so the menu says which it is.
                            let tenant = effective.await.map(|view_model| view_model.tenant_slug).unwrap_or_default();
                            let tenants = context.filter(|context| context.own_slug.is_none()).map(|context| context.tenants).unwrap_or_default();
                            view! { <PreviewChoice tenants releases tenant shown/> }
                        })}
                    </Transition>
                </Card>
            </div>
            <div class="lg:col-start-3 lg:row-start-1 lg:row-span-2">
                <Transition fallback=|| view! { <Card title="What if…"><LoadingPanel/></Card> }>
                    {move || Suspend::new(async move {
                        let shown = query.with(Shown::read);
                        let asked = query.with(Asked::read);
                        // Asked of the tenant actually shown, so the answer matches the rules on screen.
                        let tenant = effective.await.map(|view_model| view_model.tenant_slug);
                        let answer = match (&asked, tenant) {
                            // A preview the caller may not see (another tenant's) gets no answer either.
                            (None, _) | (_, Err(_)) => None,
                            (Some(asked), Ok(tenant)) => Some(
                                what_if(tenant, shown.agent.clone(), asked.tool.clone(), asked.args.clone(), asked.user.clone(), asked.roles.clone(), shown.release.clone())
                                    .await,
                            ),
                        };
                        view! { <WhatIfPanel shown asked=asked.unwrap_or_default() answer/> }
                    })}
                </Transition>
            </div>
            <div class="lg:col-span-2 space-y-4">
                <Transition fallback=|| view! { <LoadingPanel/> }>
                    {move || Suspend::new(async move {
                        match effective.await {
                            Ok(view_model) => view! { <EffectivePanel view_model/> }.into_any(),
                            Err(error) => view! { <ErrorPanel error/> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </div>
    }
}

/// Which tenant (platform staff only), release (platform staff only) and agent to preview: a GET
/// form to the previewer's own address. The agent applies when the field is left, as a choice does.
#[component]
fn PreviewChoice(tenants: Vec<crate::pages::policies::TenantOption>, releases: Vec<i64>, tenant: String, shown: Shown) -> impl IntoView {
    let Shown { agent, release, .. } = shown;
    let chosen = move |value: &str| value == release;
    view! {
        <FilterForm path="/preview" class="grid grid-cols-1 sm:grid-cols-2 gap-3" button="Show">
            {(!tenants.is_empty()).then(|| view! {
                <label class="text-sm block">
                    <span class="block text-slate-600 mb-1">"Tenant"</span>
                    <select id="preview-tenant" name="tenant" class=INPUT>
                        {tenants.into_iter().map(|t| {
                            let selected = t.slug == tenant;
                            view! { <Choice value=t.slug label=t.name selected=selected/> }
                        }).collect_view()}
                    </select>
                </label>
            })}
            {(!releases.is_empty()).then(|| view! {
                <label class="text-sm block">
                    <span class="block text-slate-600 mb-1">"Platform release"</span>
                    <select id="preview-release" name="release" class=INPUT>
                        <option value="">"The one the tenant runs"</option>
                        <Choice value="draft" label="The draft (unpublished)" selected=chosen("draft")/>
                        {releases.into_iter().map(|n| {
                            let selected = chosen(&n.to_string());
                            view! { <Choice value=n.to_string() label=format!("Release {n}") selected=selected/> }
                        }).collect_view()}
                    </select>
                </label>
            })}
            <label class="text-sm block">
                <span class="block text-slate-600 mb-1">"Agent"</span>
                <input id="preview-agent" name="agent" list="agent-options" class=INPUT placeholder="Any agent (tenant rules only)" value=agent data-submit-on-change=""/>
            </label>
        </FilterForm>
    }
}

/// A what-if question, as the address asks it (`tool`, `args`, `user`, `roles`); none without a tool.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Asked {
    tool: String,
    args: String,
    user: String,
    roles: String,
}

impl Default for Asked {
    fn default() -> Asked {
        Asked { tool: String::new(), args: "{}".to_owned(), user: String::new(), roles: String::new() }
    }
}

impl Asked {
    fn read(query: &leptos_router::params::ParamsMap) -> Option<Asked> {
        let get = |key: &str| query.get(key).unwrap_or_default();
        query.get("tool").map(|tool| Asked { tool, args: get("args"), user: get("user"), roles: get("roles") })
    }
}

/// A dry run of one call against the rules shown. A GET form beside the preview: its question and
/// the preview it is asked of are the address, so a link or a reload asks again, and it works
/// without script; the server renders the answer under it.
#[component]
fn WhatIfPanel(shown: Shown, asked: Asked, answer: Option<Result<WhatIfAnswer, AppError>>) -> impl IntoView {
    // The preview's own choices travel with the question, so the page shows the same rules.
    let kept = [("tenant", shown.tenant), ("agent", shown.agent), ("release", shown.release)];
    view! {
        <Card title="What if…">
            <form method="get" action="/preview" class="space-y-3">
                {kept.into_iter().filter(|(_, value)| !value.is_empty()).map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Tool"</span>
                    <input id="whatif-tool" name="tool" required class=INPUT placeholder="expense.submit" value=asked.tool/></label>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Arguments (JSON)"</span>
                    <textarea id="whatif-args" name="args" rows="4" class=format!("{INPUT} font-mono")>{asked.args}</textarea></label>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Principal user"</span>
                    <input id="whatif-user" name="user" class=INPUT placeholder="alice@example.com" value=asked.user/></label>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Principal roles"</span>
                    <input id="whatif-roles" name="roles" class=INPUT placeholder="finance, manager" value=asked.roles/></label>
                <button type="submit" class=BUTTON>"Evaluate"</button>
                <p class="text-xs text-slate-500">"A dry run: nothing is recorded and rate counters do not move."</p>
            </form>
            <div id="whatif-answer">
                {answer.map(|result| match result {
                    Ok(result) => view! { <WhatIfResult result/> }.into_any(),
                    Err(error) => view! { <div class="mt-3"><ActionError error/></div> }.into_any(),
                })}
            </div>
        </Card>
    }
}

#[component]
fn EffectivePanel(view_model: EffectiveView) -> impl IntoView {
    let EffectiveView { rules, limits, default, default_source, contributions, agents, shown, .. } = view_model;
    view! {
        <p class="text-sm text-slate-600" data-testid="preview-shown">{format!("Showing {shown}.")}</p>
        <datalist id="agent-options">{agents.into_iter().map(|a| view! { <option value=a/> }).collect_view()}</datalist>
        <div class="grid grid-cols-1 sm:grid-cols-3 gap-3" data-testid="contributions">
            {contributions.into_iter().map(|c| view! {
                <div class="bg-white rounded-xl border border-slate-200 shadow-sm px-4 py-3">
                    <ScopeBadge scope=c.scope/>
                    <div class="mt-2 text-sm"><span class="text-lg font-semibold">{format_count(c.rules)}</span>{if c.rules == 1 { " rule" } else { " rules" }}</div>
                    <div class="text-xs text-slate-500 truncate" title=c.policies.join(", ")>{if c.policies.is_empty() { "no policy".to_owned() } else { c.policies.join(", ") }}</div>
                </div>
            }).collect_view()}
        </div>
        <Card title="Merged rules">
            <p class="text-sm text-slate-600 mb-3" data-testid="default-behaviour">{format!("When no rule decides: {default} (from {default_source}).")}</p>
            {if rules.is_empty() {
                view! { <EmptyState message="No rule applies to this agent."/> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100" data-testid="effective-rules">
                        {rules.into_iter().map(|r| view! {
                            <li class="py-2 flex items-start gap-3" data-testid="effective-rule">
                                <ScopeBadge scope=r.scope/>
                                <div class="min-w-0">
                                    <div class="text-sm"><code class="text-indigo-700">{r.tool.clone()}</code>" "<span class="font-medium">{r.effect.clone()}</span></div>
                                    <div class="text-xs text-slate-500">{r.source.clone()}</div>
                                    {(!r.details.is_empty()).then(|| view! { <div class="text-xs text-slate-600">{r.details.join(" · ")}</div> })}
                                    {r.reason.clone().map(|reason| view! { <div class="text-xs italic text-slate-500">{format!("“{reason}”")}</div> })}
                                </div>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </Card>
        <Card title="Caps, budgets and rate limits">
            {if limits.is_empty() {
                view! { <EmptyState message="No caps, budgets or rate limits."/> }.into_any()
            } else {
                view! {
                    <table class="min-w-full text-sm" data-testid="effective-limits">
                        <thead class="text-left text-xs uppercase text-slate-500"><tr><th class="py-1 pr-3">"Tool"</th><th class="py-1 pr-3">"As written"</th><th class="py-1">"In force"</th></tr></thead>
                        <tbody class="divide-y divide-slate-100">
                            {limits.into_iter().map(|l| view! {
                                <tr data-testid="effective-limit">
                                    <td class="py-2 pr-3 font-mono text-xs">{l.tool.clone()}</td>
                                    <td class="py-2 pr-3"><div>{l.limit.clone()}{l.conditional.then_some(" (conditional)")}</div><div class="text-xs text-slate-500"><ScopeBadge scope=l.scope/>" "{l.source.clone()}</div></td>
                                    <td class="py-2"><div class="font-medium">{l.effective.clone()}</div><div class="text-xs text-slate-500"><ScopeBadge scope=l.effective_scope/>" "{l.effective_source.clone()}</div></td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </Card>
    }
}

#[component]
fn WhatIfResult(result: WhatIfAnswer) -> impl IntoView {
    let list = |title: &'static str, items: Vec<ExplainedRule>, testid: &'static str| {
        (!items.is_empty()).then(|| view! {
            <div class="mt-3">
                <h3 class="text-xs uppercase text-slate-500">{title}</h3>
                <ul class="mt-1 space-y-1" data-testid=testid>
                    {items.into_iter().map(|r| view! {
                        <li class="text-xs"><ScopeBadge scope=r.scope/>" "<code>{r.tool}</code>" · "{r.source}<div class="text-slate-600">{r.note}</div></li>
                    }).collect_view()}
                </ul>
            </div>
        })
    };
    view! {
        <div class="mt-4 border-t border-slate-200 pt-4" data-testid="whatif-result">
            <VerdictBadge verdict=result.verdict/>
            <p class="mt-2 text-sm" data-testid="whatif-reason">{result.reason.clone()}</p>
            <p class="mt-2 text-xs text-slate-600" data-testid="whatif-combination">{result.combination.clone()}</p>
            {(!result.approvers.is_empty()).then(|| view! { <p class="text-xs text-slate-600 mt-1">{format!("Approvers: {}", result.approvers.join(", "))}</p> })}
            {list("Matched rules", result.matched, "whatif-matched")}
            {list("Near misses", result.near_misses, "whatif-near-misses")}
            {(!result.limits.is_empty()).then(|| view! {
                <div class="mt-3"><h3 class="text-xs uppercase text-slate-500">"Binding limits"</h3>
                <ul class="mt-1 text-xs space-y-1" data-testid="whatif-limits">{result.limits.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul></div>
            })}
            {(!result.obligations.is_empty()).then(|| view! {
                <div class="mt-3"><h3 class="text-xs uppercase text-slate-500">"Obligations"</h3>
                <ul class="mt-1 text-xs">{result.obligations.into_iter().map(|o| view! { <li>{o}</li> }).collect_view()}</ul></div>
            })}
        </div>
    }
}
