//! Receipts: the durable record of every decision. A tenant admin sees their tenant's; platform
//! staff see every tenant's or one tenant's. Filters (a GET form), pages by cursor (links), and a
//! detail that opens in place with the arguments, matched rules and the policy versions used: all
//! of it works without the browser bundle.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::address::{FilterForm, Paging};
use crate::components::ui::{format_time, Choice, EmptyState, ErrorPanel, LoadingPanel, PageHeader, VerdictBadge, INPUT};
use crate::pages::policy_editor::load_editor_context;
use crate::AppError;

#[cfg(feature = "ssr")]
const PAGE: i64 = 25;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptRow {
    pub id: String,
    pub tenant: String,
    pub agent: Option<String>,
    pub tool: String,
    pub verdict: charter_policy::Verdict,
    pub reason: String,
    pub created_at: i64,
    pub latency_us: i64,
    pub args: String,
    pub principal: String,
    pub matched: Vec<String>,
    pub policy_versions: Vec<PolicyVersionRef>,
    pub args_digest: String,
    pub approval_id: Option<String>,
    /// For a call the MCP gateway forwarded: the digest of what the upstream answered.
    pub result_digest: Option<String>,
}

/// A policy version a decision used, by name, linked to the policy while the viewer may open it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRef {
    pub name: String,
    pub version: i64,
    pub href: Option<String>,
}

/// Names the policy versions of a page of receipts: from the decisions' own references where they
/// name the policy, else by opening it as the viewer. A policy the viewer may not open is a
/// platform boundary (tenants never see the platform's policies), or was deleted since.
#[cfg(feature = "ssr")]
async fn name_versions(
    core: &charter_core::Core,
    access: &charter_core::Access,
    receipts: &[(serde_json::Map<String, serde_json::Value>, Option<charter_policy::Decision>)],
) -> std::collections::HashMap<String, (String, bool)> {
    let mut names: std::collections::HashMap<String, (String, bool)> = std::collections::HashMap::new();
    for (_, decision) in receipts {
        for matched in decision.iter().flat_map(|d| d.matched.iter()) {
            let policy = &matched.rule.policy;
            if !policy.is_platform_boundary() {
                names.entry(policy.policy_id.clone()).or_insert_with(|| (policy.policy_name.clone(), true));
            }
        }
    }
    for id in receipts.iter().flat_map(|(versions, _)| versions.keys()) {
        if names.contains_key(id) {
            continue;
        }
        let named = match core.open_policy(access, &id.clone().into()).await {
            Ok((policy, _)) => (policy.name, true),
            Err(_) if access.is_platform_staff() => ("a policy deleted since".to_owned(), false),
            Err(_) => ("a platform boundary or a policy deleted since".to_owned(), false),
        };
        names.insert(id.clone(), named);
    }
    names
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptQuery {
    pub tenant_slug: String,
    pub agent: String,
    pub tool: String,
    pub verdict: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptPage {
    pub items: Vec<ReceiptRow>,
    /// The cursor of the next page, when there is one.
    pub next: Option<String>,
}

#[server(endpoint = "receipts/list")]
pub async fn list_receipts(query: ReceiptQuery, before: Option<String>) -> Result<ReceiptPage, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::{ReceiptsOf, Target};
    use charter_store::ReceiptFilter;
    let (access, core) = (access()?, core()?);
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let verdict = text(&query.verdict)
        .map(|name| {
            name.parse::<charter_policy::Verdict>()
                .map_err(|_| AppError::Invalid { field: "verdict".into(), message: format!("must be allow, deny or require_approval, not `{name}`") })
        })
        .transpose()?;
    let filter = ReceiptFilter { agent: text(&query.agent), tool: text(&query.tool), verdict, from_ms: None, to_ms: None, before: before.map(Into::into) };
    let slug = text(&query.tenant_slug);
    let of = match (&slug, access.is_platform_staff()) {
        (Some(slug), _) => ReceiptsOf::Tenant(Target::Tenant(slug)),
        (None, true) => ReceiptsOf::EveryTenant,
        (None, false) => ReceiptsOf::Tenant(Target::Own),
    };
    let mut receipts = core.list_receipts(&access, of, &filter, PAGE + 1).await?;
    let next = (receipts.len() > usize::try_from(PAGE).unwrap_or(0)).then(|| {
        receipts.truncate(usize::try_from(PAGE).unwrap_or(0));
        receipts.last().map(|r| r.id.to_string())
    });
    let names = tenant_names(&core, &access).await?;
    let read: Vec<(serde_json::Map<String, serde_json::Value>, Option<charter_policy::Decision>)> = receipts
        .iter()
        .map(|r| (serde_json::from_str(&r.policy_versions).unwrap_or_default(), serde_json::from_str::<charter_policy::Decision>(&r.decision).ok()))
        .collect();
    let policy_names = name_versions(&core, &access, &read).await;
    let pretty =
        |text: &str| serde_json::from_str::<serde_json::Value>(text).and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or_else(|_| text.to_owned());
    let items = receipts
        .into_iter()
        .zip(read)
        .map(|(r, (versions, decision))| {
            let matched = decision
                .map(|decision| {
                    decision
                        .matched
                        .iter()
                        .map(|m| {
                            let effect = m.effect.map(|e| e.to_string()).unwrap_or_else(|| "limits only".to_owned());
                            format!(
                                "{} · {} · {effect}{}",
                                m.rule.policy.scope,
                                crate::wording::source(&m.rule),
                                crate::wording::decided_by(decision.basis, m.decisive)
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let policy_versions = versions
                .iter()
                .map(|(id, version)| {
                    let (name, linked) = policy_names.get(id).cloned().unwrap_or_else(|| ("a policy deleted since".to_owned(), false));
                    PolicyVersionRef { name, version: version.as_i64().unwrap_or_default(), href: linked.then(|| format!("/policies/{id}")) }
                })
                .collect();
            ReceiptRow {
                tenant: names.get(&r.tenant_id).cloned().unwrap_or_else(|| r.tenant_id.to_string()),
                args: pretty(&r.args),
                principal: pretty(&r.principal),
                matched,
                policy_versions,
                id: r.id.into_string(),
                agent: r.agent,
                tool: r.tool,
                verdict: r.verdict,
                reason: crate::readable::sentence(&r.reason),
                created_at: r.created_at,
                latency_us: r.latency_us,
                args_digest: r.args_digest,
                approval_id: r.approval_id.map(|id| id.into_string()),
                result_digest: r.result_digest,
            }
        })
        .collect();
    Ok(ReceiptPage { items, next: next.flatten() })
}

/// The names of the tenants the caller may see, by id, for labelling rows.
#[cfg(feature = "ssr")]
pub(crate) async fn tenant_names(
    core: &charter_core::Core,
    access: &charter_core::Access,
) -> Result<std::collections::HashMap<charter_store::TenantId, String>, AppError> {
    if access.is_platform_staff() {
        return Ok(core.list_tenants(access).await?.into_iter().map(|s| (s.tenant.id, s.tenant.name)).collect());
    }
    let own = core.get_tenant(access, charter_core::Target::Own).await?;
    Ok(std::iter::once((own.id, own.name)).collect())
}

/// The filters and the page a receipts address names: `?tenant=…&agent=…&tool=…&verdict=…` and
/// `before`, the cursor of an older page.
fn addressed(query: &leptos_router::params::ParamsMap) -> (ReceiptQuery, Option<String>) {
    let get = |key: &str| query.get(key).unwrap_or_default();
    let filters = ReceiptQuery { tenant_slug: get("tenant"), agent: get("agent"), tool: get("tool"), verdict: get("verdict") };
    (filters, query.get("before").filter(|before| !before.is_empty()))
}

impl ReceiptQuery {
    /// The filters as the address names them.
    fn in_address(&self) -> Vec<(&'static str, String)> {
        vec![("tenant", self.tenant_slug.clone()), ("agent", self.agent.clone()), ("tool", self.tool.clone()), ("verdict", self.verdict.clone())]
    }
}

// Resources live at the page's top level: one created inside a `Suspend` body is created again on
// the server's second render pass and the first one then runs without the request's context.
#[component]
pub fn ReceiptsPage() -> impl IntoView {
    let context = Resource::new(|| (), |_| load_editor_context());
    // The address names the filters and the page: the filters are a GET form and the pages are
    // links, so every list is an address that a link, a reload or the way back shows again.
    let query = use_query_map();
    let list = Resource::new(move || query.with(addressed), |(filters, before)| list_receipts(filters, before));
    view! {
        <Title text="Receipts"/>
        <PageHeader title="Receipts" subtitle="Every decision, as it was made: the call, the verdict, the rules and the policy versions."/>
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // Read before waiting, so the form follows the address when a link changes only the query.
                    let (filters, _) = query.with(addressed);
                    match context.await {
                        Ok(context) => view! { <ReceiptFilters tenants=context.tenants platform_view=context.platform_view filters/> }.into_any(),
                        Err(error) => view! { <div class="p-4"><ErrorPanel error/></div> }.into_any(),
                    }
                })}
            </Transition>
            <ul class="divide-y divide-slate-100" data-testid="receipt-list">
                <Transition fallback=|| view! { <li><LoadingPanel/></li> }>
                    {move || Suspend::new(async move {
                        let (filters, before) = query.with_untracked(addressed);
                        match list.await {
                            Ok(page) if page.items.is_empty() && before.is_none() => view! { <li><EmptyState message="No receipts match."/></li> }.into_any(),
                            Ok(page) => view! {
                                {page.items.into_iter().map(|row| view! { <ReceiptItem row/> }).collect_view()}
                                <Paging path="/receipts" filters=filters.in_address() next=page.next older_than_newest=before.is_some() noun="receipts"/>
                            }.into_any(),
                            Err(error) => view! { <li class="p-4"><ErrorPanel error/></li> }.into_any(),
                        }
                    })}
                </Transition>
            </ul>
        </section>
    }
}

#[component]
fn ReceiptFilters(tenants: Vec<crate::pages::policies::TenantOption>, platform_view: bool, filters: ReceiptQuery) -> impl IntoView {
    let ReceiptQuery { tenant_slug, agent, tool, verdict } = filters;
    view! {
        <FilterForm path="/receipts" class="p-4 grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-5 gap-3 border-b border-slate-200">
            {platform_view.then(|| view! {
                <label class="text-sm"><span class="block text-slate-600 mb-1">"Tenant"</span>
                    <select id="receipts-tenant" name="tenant" class=INPUT>
                        <option value="">"All tenants"</option>
                        {tenants.into_iter().map(|t| {
                            let selected = tenant_slug == t.slug;
                            view! { <Choice value=t.slug label=t.name selected=selected/> }
                        }).collect_view()}
                    </select>
                </label>
            })}
            <label class="text-sm"><span class="block text-slate-600 mb-1">"Agent"</span><input id="receipts-agent" name="agent" type="search" class=INPUT value=agent/></label>
            <label class="text-sm"><span class="block text-slate-600 mb-1">"Tool"</span><input id="receipts-tool" name="tool" type="search" class=INPUT value=tool/></label>
            <label class="text-sm"><span class="block text-slate-600 mb-1">"Verdict"</span>
                <select id="receipts-verdict" name="verdict" class=INPUT>
                    <option value="">"Any verdict"</option>
                    {["allow", "deny", "require_approval"].into_iter().map(|name| {
                        let selected = verdict == name;
                        view! { <Choice value=name label=name selected=selected/> }
                    }).collect_view()}
                </select>
            </label>
        </FilterForm>
    }
}

#[component]
fn ReceiptItem(row: ReceiptRow) -> impl IntoView {
    let ReceiptRow {
        id,
        tenant,
        agent,
        tool,
        verdict,
        reason,
        created_at,
        latency_us,
        args,
        principal,
        matched,
        policy_versions,
        args_digest,
        approval_id,
        result_digest,
    } = row;
    view! {
        <li data-testid="receipt-row">
            // The browser's own disclosure: a receipt opens without script.
            <details class="group">
                <summary class="w-full cursor-pointer list-none px-4 py-3 hover:bg-slate-50 focus:outline-none focus:bg-slate-50 flex flex-wrap items-center gap-3">
                    <span aria-hidden="true" class="text-slate-400 transition-transform group-open:rotate-90">"▸"</span>
                    <VerdictBadge verdict=verdict/>
                    <code class="text-sm text-indigo-700">{tool}</code>
                    <span class="text-sm text-slate-600">{agent.map(|a| format!("agent {a}")).unwrap_or_else(|| "no agent".into())}</span>
                    <span class="text-sm text-slate-500">{tenant}</span>
                    <span class="ml-auto text-xs text-slate-500">{format_time(created_at)}</span>
                </summary>
                <div class="px-4 pb-4 grid grid-cols-1 md:grid-cols-2 gap-4 text-sm" data-testid="receipt-detail">
                    <div class="space-y-2">
                        <p>{reason}</p>
                        <dl class="grid grid-cols-3 gap-1 text-xs">
                            <dt class="text-slate-500">"Receipt"</dt><dd class="col-span-2 font-mono break-all">{id}</dd>
                            <dt class="text-slate-500">"Args digest"</dt><dd class="col-span-2 font-mono break-all">{args_digest}</dd>
                            <dt class="text-slate-500">"Latency"</dt><dd class="col-span-2">{format!("{latency_us} µs")}</dd>
                            <dt class="text-slate-500">"Approval"</dt><dd class="col-span-2 font-mono break-all">{approval_id.unwrap_or_else(|| "—".into())}</dd>
                            {result_digest.map(|digest| view! {
                                <dt class="text-slate-500">"Upstream answer digest"</dt>
                                <dd class="col-span-2 font-mono break-all" data-testid="receipt-result-digest">{digest}</dd>
                            })}
                        </dl>
                        <h3 class="text-xs uppercase text-slate-500">"Matched rules"</h3>
                        <ul class="text-xs list-disc pl-4">{matched.iter().map(|m| view! { <li>{m.clone()}</li> }).collect_view()}</ul>
                        <h3 class="text-xs uppercase text-slate-500">"Policy versions"</h3>
                        <ul class="text-xs" data-testid="receipt-policy-versions">
                            {policy_versions.iter().map(|v| {
                                let label = format!("{} v{}", v.name, v.version);
                                match v.href.clone() {
                                    Some(href) => view! { <li><a href=href class="text-indigo-700 hover:underline">{label}</a></li> }.into_any(),
                                    None => view! { <li>{label}</li> }.into_any(),
                                }
                            }).collect_view()}
                        </ul>
                    </div>
                    <div class="space-y-2">
                        <h3 class="text-xs uppercase text-slate-500">"Arguments"</h3>
                        <pre class="bg-slate-50 rounded p-2 text-xs overflow-x-auto">{args}</pre>
                        <h3 class="text-xs uppercase text-slate-500">"Principal"</h3>
                        <pre class="bg-slate-50 rounded p-2 text-xs overflow-x-auto">{principal}</pre>
                    </div>
                </div>
            </details>
        </li>
    }
}
