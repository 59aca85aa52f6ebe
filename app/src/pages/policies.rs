//! The policy list. Platform staff see every policy of the platform and of every tenant, labelled
//! "Platform Default" or "Customer Defined", filtered and paged in the database; a tenant admin
//! sees only their own tenant's and agents' policies. The filters are a GET form and the pages are
//! links, so the address names the list (`?tenant=meridian-bank&include_platform=true&scope=agent
//! &tool=payments&q=bot&offset=25`) and a link, a reload or the way back from a policy keeps it.
//! Export and import start here.

use charter_store::{Page, PolicyLabel, PolicyListing, PolicySearch};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::address::FilterForm;
use crate::components::ui::{
    counted, format_date, Choice, EmptyState, ErrorPanel, LabelBadge, LoadingPanel, PageHeader, ScopeBadge, BUTTON, BUTTON_SECONDARY, INPUT,
};
use crate::AppError;

/// Rows per page of the list.
pub const PAGE_SIZE: i64 = 25;

/// A tenant in a filter or target menu.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantOption {
    pub id: String,
    pub slug: String,
    pub name: String,
}

/// Every tenant, for platform staff's menus; none for anyone else.
#[cfg(feature = "ssr")]
pub(crate) async fn tenant_options(core: &charter_core::Core, access: &charter_core::Access) -> Result<Vec<TenantOption>, AppError> {
    if !access.is_platform_staff() {
        return Ok(Vec::new());
    }
    let tenants = core.list_tenants(access).await?;
    Ok(tenants.into_iter().map(|s| TenantOption { id: s.tenant.id.into_string(), slug: s.tenant.slug, name: s.tenant.name }).collect())
}

/// What the list page needs once: who is looking, and the tenants to filter by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyContext {
    /// Every tenant, for platform staff's menus; empty for tenant admins.
    pub tenants: Vec<TenantOption>,
    /// Whether the user sees the platform view (all tenants, labels).
    pub platform_view: bool,
    pub can_write: bool,
    /// The tenant admin's own tenant slug.
    pub own_slug: Option<String>,
}

#[server(endpoint = "policies/context")]
pub async fn load_policy_context() -> Result<PolicyContext, AppError> {
    use crate::auth::server::{access, core, session_user};
    use charter_core::Action;
    let (access, core) = (access()?, core()?);
    access.may(Action::ReadPolicies, &access.home())?;
    let platform_view = access.is_platform_staff();
    let tenants = tenant_options(&core, &access).await?;
    let own_slug = session_user().await?.and_then(|user| user.tenant).map(|t| t.slug);
    Ok(PolicyContext { tenants, platform_view, can_write: access.can(Action::WritePolicies), own_slug })
}

// JSON: a search with every filter empty has no fields at all, which a URL-encoded body cannot carry.
/// The policies matching `search`, narrowed to the tenant with the slug `tenant` when one is named.
#[server(endpoint = "policies/search", input = leptos::server_fn::codec::Json)]
pub async fn search_policies(search: PolicySearch, tenant: Option<String>, offset: i64) -> Result<Page<PolicyListing>, AppError> {
    use crate::auth::server::{access, core};
    let (access, core) = (access()?, core()?);
    let mut search = search;
    // The address names a tenant by its slug; the search wants its id. A tenant admin's list is
    // their tenant's whatever the browser asked for (the core sees to it).
    if let Some(slug) = tenant.filter(|slug| !slug.trim().is_empty() && access.is_platform_staff()) {
        search.tenant_id = Some(core.get_tenant(&access, charter_core::Target::Tenant(slug.trim())).await?.id);
    }
    Ok(core.search_policies(&access, &search, offset, PAGE_SIZE).await?)
}

fn non_empty(text: String) -> Option<String> {
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The list's filters as the address names them: `?tenant=…&include_platform=true&label=…&scope=…
/// &tool=…&q=…`, and `offset`, the first row shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ListAddress {
    /// The tenant's slug.
    tenant: String,
    include_platform: bool,
    label: String,
    scope: String,
    tool: String,
    text: String,
    offset: i64,
}

impl ListAddress {
    fn read(query: &leptos_router::params::ParamsMap) -> ListAddress {
        let get = |key: &str| query.get(key).unwrap_or_default();
        ListAddress {
            tenant: get("tenant"),
            include_platform: get("include_platform") == "true",
            label: get("label"),
            scope: get("scope"),
            tool: get("tool"),
            text: get("q"),
            offset: get("offset").parse::<i64>().unwrap_or(0).max(0),
        }
    }

    fn search(&self) -> PolicySearch {
        PolicySearch {
            tenant_id: None,
            include_platform: self.include_platform && !self.tenant.is_empty(),
            label: PolicyLabel::parse(&self.label),
            scope: self.scope.parse().ok(),
            tool: non_empty(self.tool.clone()),
            text: non_empty(self.text.clone()),
        }
    }

    /// The filters as query pairs, for the links between pages.
    fn filters(&self) -> Vec<(&'static str, String)> {
        vec![
            ("tenant", self.tenant.clone()),
            ("include_platform", if self.include_platform && !self.tenant.is_empty() { "true".to_owned() } else { String::new() }),
            ("label", self.label.clone()),
            ("scope", self.scope.clone()),
            ("tool", self.tool.clone()),
            ("q", self.text.clone()),
        ]
    }

    /// This list at another offset.
    fn at(&self, offset: i64) -> String {
        let mut pairs = self.filters();
        if offset > 0 {
            pairs.push(("offset", offset.to_string()));
        }
        format!("/policies{}", crate::components::address::filter_query(&pairs))
    }
}

#[component]
pub fn PoliciesPage() -> impl IntoView {
    // The address names the filters and the page: the filters are a GET form and the pages are
    // links, so every list is an address that a link, a reload or the way back shows again.
    let query = use_query_map();
    let address = move || query.with(ListAddress::read);
    let platform_view = expect_context::<crate::auth::SessionUser>().role.is_platform_wide();
    let context = Resource::new(|| (), |_| load_policy_context());
    let list = Resource::new(address, |address| search_policies(address.search(), non_empty(address.tenant.clone()), address.offset));
    view! {
        <Title text="Policies"/>
        <div class="flex flex-wrap items-start justify-between gap-3">
            <PageHeader title="Policies" subtitle="Every rule set that governs your agents' tool calls."/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    // Read before waiting, so it follows the address when a link changes only the query.
                    let tenant = query.with(ListAddress::read).tenant;
                    context.await.ok().map(|context| view! { <PolicyActions context tenant/> })
                })}
            </Transition>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let context = context.await.ok()?;
                context.platform_view.then(|| view! {
                    <p class="mb-4 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="draft-notice">
                        "Edits to platform policies are a draft: tenants run them once they are published and promoted on "
                        <a class="underline" href="/releases">"Releases"</a>"."
                    </p>
                })
            })}
        </Transition>
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let address = query.with(ListAddress::read);
                    let tenants = context.await.map(|context| context.tenants).unwrap_or_default();
                    view! { <PolicyFilters tenants platform_view address/> }
                })}
            </Transition>
            <Transition fallback=|| view! { <LoadingPanel/> }>
                {move || Suspend::new(async move {
                    let address = query.with_untracked(ListAddress::read);
                    match list.await {
                        Ok(page) => view! { <PolicyTable page platform_view address/> }.into_any(),
                        Err(error) => view! { <div class="p-4"><ErrorPanel error/></div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The filters, as a form that sends itself to the list's address. Platform staff also pick a
/// tenant (with or without the platform's policies that govern it) and a label.
#[component]
fn PolicyFilters(tenants: Vec<TenantOption>, platform_view: bool, address: ListAddress) -> impl IntoView {
    let ListAddress { tenant, include_platform, label, scope, tool, text, .. } = address;
    let chosen = |value: &str, current: &str| value == current;
    view! {
        <FilterForm path="/policies" class="p-4 grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-6 gap-3 border-b border-slate-200">
            {platform_view.then(|| view! {
                <div class="text-sm">
                    <label class="block">
                        <span class="block text-slate-600 mb-1">"Tenant"</span>
                        <select name="tenant" class=INPUT>
                            <option value="">"All tenants"</option>
                            {tenants.into_iter().map(|t| {
                                let selected = t.slug == tenant;
                                view! { <Choice value=t.slug label=t.name selected=selected/> }
                            }).collect_view()}
                        </select>
                    </label>
                    // Only a chosen tenant has platform policies that govern it.
                    <span class="mt-1 flex items-center gap-2 text-xs text-slate-600">
                        <input id="include-platform" name="include_platform" value="true" type="checkbox" disabled=tenant.is_empty() checked=include_platform/>
                        <label for="include-platform">"With the platform's policies, which govern it too"</label>
                    </span>
                </div>
                <label class="text-sm">
                    <span class="block text-slate-600 mb-1">"Label"</span>
                    <select name="label" class=INPUT>
                        <option value="">"Any label"</option>
                        <Choice value="platform_default" label="Platform Default" selected=chosen("platform_default", &label)/>
                        <Choice value="customer_defined" label="Customer Defined" selected=chosen("customer_defined", &label)/>
                    </select>
                </label>
            })}
            <label class="text-sm">
                <span class="block text-slate-600 mb-1">"Scope"</span>
                <select name="scope" class=INPUT>
                    <option value="">"Any scope"</option>
                    // A tenant admin never sees a platform policy: offering the scope would always show nothing.
                    {platform_view.then(|| view! { <Choice value="platform" label="Platform" selected=chosen("platform", &scope)/> })}
                    <Choice value="tenant" label="Tenant" selected=chosen("tenant", &scope)/>
                    <Choice value="agent" label="Agent" selected=chosen("agent", &scope)/>
                </select>
            </label>
            <label class="text-sm">
                <span class="block text-slate-600 mb-1">"Tool"</span>
                <input name="tool" type="search" class=INPUT placeholder="e.g. payments" value=tool/>
            </label>
            <label class="text-sm">
                <span class="block text-slate-600 mb-1">"Search"</span>
                <input name="q" type="search" class=INPUT placeholder="Name, description, agent" value=text/>
            </label>
        </FilterForm>
    }
}

/// New, import and export, as the user's role allows. Platform staff export the platform's
/// policies, or the tenant chosen in the filter.
#[component]
fn PolicyActions(context: PolicyContext, tenant: String) -> impl IntoView {
    let can_write = context.can_write;
    let chosen = context.tenants.iter().find(|t| t.slug == tenant).map(|t| (t.slug.clone(), t.name.clone()));
    let export = |format: &'static str| match (&context.own_slug, &chosen) {
        (Some(_), _) => (format!("/api/v1/policies/export?format={format}"), "Your tenant's policies".to_owned()),
        (None, Some((slug, name))) => (format!("/api/v1/tenants/{slug}/policies/export?format={format}"), format!("{name}'s policies")),
        (None, None) => (format!("/api/v1/platform/policies/export?format={format}"), "The platform's policies".to_owned()),
    };
    let (yaml, json) = (export("yaml"), export("json"));
    view! {
        <div class="flex flex-wrap gap-2">
            <a href=yaml.0 title=yaml.1 class=BUTTON_SECONDARY download="">"Export YAML"</a>
            <a href=json.0 title=json.1 class=BUTTON_SECONDARY download="">"Export JSON"</a>
            <Show when=move || can_write>
                <A href="/policies/import" attr:class=BUTTON_SECONDARY>"Import"</A>
                <A href="/policies/new" attr:class=BUTTON>"New policy"</A>
            </Show>
        </div>
    }
}

#[component]
fn PolicyTable(page: Page<PolicyListing>, platform_view: bool, address: ListAddress) -> impl IntoView {
    // An address past the last page (a list that shrank since the link was made) leads back to
    // its first page rather than to an empty list with nowhere to go.
    match (page.items.is_empty(), page.offset > 0 && page.total > 0) {
        (true, true) => {
            return view! {
                <p class="py-8 text-center text-sm text-slate-500" data-testid="past-the-end">
                    {format!("This page is past the end of the list, which has {}. ", counted(page.total, "policy", "policies"))}
                    <a href=address.at(0) class="text-indigo-700 underline">"Back to the first page"</a>
                </p>
            }
            .into_any();
        }
        (true, false) => return view! { <EmptyState message="No policy matches these filters."/> }.into_any(),
        (false, _) => {}
    }
    let first = page.offset + 1;
    let last = page.offset + i64::try_from(page.items.len()).unwrap_or(0);
    let total = page.total;
    let has_previous = page.offset > 0;
    let has_next = last < total;
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-sm" data-testid="policy-table">
                <thead class="text-left text-xs uppercase tracking-wide text-slate-500 bg-slate-50">
                    <tr>
                        <th class="px-4 py-2">"Policy"</th>
                        {platform_view.then(|| view! { <th class="px-4 py-2">"Label"</th> })}
                        <th class="px-4 py-2">"Scope"</th>
                        <th class="px-4 py-2">"Tools"</th>
                        <th class="px-4 py-2">"Version"</th>
                        <th class="px-4 py-2">"Updated"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {page
                        .items
                        .into_iter()
                        .map(|policy| {
                            let owner = match (&policy.tenant_name, &policy.agent) {
                                (Some(tenant), Some(agent)) => format!("{tenant} · agent {agent}"),
                                (Some(tenant), None) => tenant.clone(),
                                (None, _) => "Platform".to_owned(),
                            };
                            let tools = policy.tools.join(", ");
                            view! {
                                <tr class="hover:bg-slate-50" data-testid="policy-row">
                                    <td class="px-4 py-3">
                                        <A href=format!("/policies/{}", policy.id) attr:class="font-medium text-indigo-700 hover:underline">{policy.name.clone()}</A>
                                        <div class="text-xs text-slate-500">{owner}</div>
                                    </td>
                                    {platform_view.then(|| view! { <td class="px-4 py-3"><LabelBadge label=policy.label/></td> })}
                                    <td class="px-4 py-3"><ScopeBadge scope=policy.scope/></td>
                                    <td class="px-4 py-3 max-w-xs truncate font-mono text-xs" title=tools.clone()>{format!("{} · {tools}", counted(policy.rule_count, "rule", "rules"))}</td>
                                    <td class="px-4 py-3">{format!("v{}", policy.version)}</td>
                                    <td class="px-4 py-3 text-slate-500 whitespace-nowrap">{format!("{} by {}", format_date(policy.updated_at), policy.updated_by)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="flex items-center justify-between px-4 py-3 border-t border-slate-200 text-sm" aria-label="Pages">
            <span data-testid="page-range">{format!("{first}–{last} of {total}")}</span>
            // A page that does not exist is no link.
            <div class="flex gap-2">
                {page_link(has_previous.then(|| address.at((page.offset - PAGE_SIZE).max(0))), "Previous", "prev")}
                {page_link(has_next.then(|| address.at(page.offset + PAGE_SIZE)), "Next", "next")}
            </div>
        </nav>
    }
    .into_any()
}

/// A link to another page of the list, or its label greyed out where there is none.
fn page_link(href: Option<String>, label: &'static str, rel: &'static str) -> impl IntoView {
    match href {
        Some(href) => view! { <a href=href rel=rel class=BUTTON_SECONDARY>{label}</a> }.into_any(),
        None => view! { <span class=format!("{BUTTON_SECONDARY} opacity-50") aria-disabled="true">{label}</span> }.into_any(),
    }
}
