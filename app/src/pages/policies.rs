//! The policy list. Platform staff see every policy of the platform and of every tenant, labelled
//! "Platform Default" or "Customer Defined", filtered and paged in the database; a tenant admin
//! sees only their own tenant's and agents' policies. The filters live in the address
//! (`?tenant=meridian-bank&include_platform=true&scope=agent&tool=payments&q=bot`), so a link,
//! a reload or the way back from a policy keeps them. Export and import start here.

use charter_store::{Page, PolicyLabel, PolicyListing, PolicySearch};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use serde::{Deserialize, Serialize};

use crate::components::address::{keep_in_address, opened_with};
use crate::components::ui::{counted, format_date, EmptyState, ErrorPanel, LabelBadge, LoadingPanel, PageHeader, ScopeBadge, BUTTON, BUTTON_SECONDARY, INPUT};
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

#[component]
pub fn PoliciesPage() -> impl IntoView {
    // The address gives the filters once, as the page opens; typing then rewrites the address in
    // place, so there is one history entry for the list and no race between the two.
    let initial = opened_with;
    let platform_view = expect_context::<crate::auth::SessionUser>().role.is_platform_wide();
    // The tenant's slug.
    let tenant = RwSignal::new(initial("tenant"));
    let include_platform = RwSignal::new(initial("include_platform") == "true");
    let label = RwSignal::new(initial("label"));
    let scope = RwSignal::new(initial("scope"));
    let tool = RwSignal::new(initial("tool"));
    let text = RwSignal::new(initial("q"));
    let offset = RwSignal::new(0_i64);
    let search = move || PolicySearch {
        tenant_id: None,
        include_platform: include_platform.get() && !tenant.get().is_empty(),
        label: PolicyLabel::parse(&label.get()),
        scope: scope.get().parse().ok(),
        tool: non_empty(tool.get()),
        text: non_empty(text.get()),
    };
    keep_in_address("/policies", move || {
        vec![
            ("tenant", tenant.get()),
            ("include_platform", if include_platform.get() && !tenant.get().is_empty() { "true".to_owned() } else { String::new() }),
            ("label", label.get()),
            ("scope", scope.get()),
            ("tool", tool.get()),
            ("q", text.get()),
        ]
    });
    // Any change of a filter starts again at the first page.
    Effect::new(move |previous: Option<PolicySearch>| {
        let current = search();
        if previous.is_some_and(|p| p != current) {
            offset.set(0);
        }
        current
    });
    let context = Resource::new(|| (), |_| load_policy_context());
    let list = Resource::new(move || (search(), non_empty(tenant.get()), offset.get()), |(search, tenant, offset)| search_policies(search, tenant, offset));
    view! {
        <Title text="Policies"/>
        <div class="flex flex-wrap items-start justify-between gap-3">
            <PageHeader title="Policies" subtitle="Every rule set that governs your agents' tool calls."/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
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
            <form class="p-4 grid grid-cols-1 sm:grid-cols-2 lg:grid-cols-5 gap-3 border-b border-slate-200" on:submit=|ev| ev.prevent_default() role="search">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let context = context.await.ok()?;
                        context.platform_view.then(|| {
                            let tenants = context.tenants.clone();
                            view! {
                                <div class="text-sm">
                                <label class="block">
                                    <span class="block text-slate-600 mb-1">"Tenant"</span>
                                    <select class=INPUT prop:value=move || tenant.get() on:change=move |ev| tenant.set(event_target_value(&ev))>
                                        <option value="">"All tenants"</option>
                                        {tenants.into_iter().map(|t| {
                                            let selected = t.slug == tenant.get_untracked();
                                            view! { <option value=t.slug.clone() selected=selected prop:selected=selected>{t.name}</option> }
                                        }).collect_view()}
                                    </select>
                                </label>
                                    <span class="mt-1 flex items-center gap-2 text-xs text-slate-600">
                                        <input
                                            id="include-platform"
                                            type="checkbox"
                                            disabled=move || tenant.get().is_empty()
                                            prop:checked=move || include_platform.get()
                                            on:change=move |ev| include_platform.set(event_target_checked(&ev))
                                        />
                                        <label for="include-platform">"With the platform's policies, which govern it too"</label>
                                    </span>
                                </div>
                                <label class="text-sm">
                                    <span class="block text-slate-600 mb-1">"Label"</span>
                                    <select class=INPUT prop:value=move || label.get() on:change=move |ev| label.set(event_target_value(&ev))>
                                        <option value="">"Any label"</option>
                                        <option value="platform_default" selected=label.get_untracked() == "platform_default">"Platform Default"</option>
                                        <option value="customer_defined" selected=label.get_untracked() == "customer_defined">"Customer Defined"</option>
                                    </select>
                                </label>
                            }
                        })
                    })}
                </Transition>
                <label class="text-sm">
                    <span class="block text-slate-600 mb-1">"Scope"</span>
                    <select class=INPUT prop:value=move || scope.get() on:change=move |ev| scope.set(event_target_value(&ev))>
                        <option value="">"Any scope"</option>
                        // A tenant admin never sees a platform policy: offering the scope would always show nothing.
                        {platform_view.then(|| view! { <option value="platform" selected=scope.get_untracked() == "platform">"Platform"</option> })}
                        <option value="tenant" selected=scope.get_untracked() == "tenant">"Tenant"</option>
                        <option value="agent" selected=scope.get_untracked() == "agent">"Agent"</option>
                    </select>
                </label>
                <label class="text-sm">
                    <span class="block text-slate-600 mb-1">"Tool"</span>
                    <input type="search" class=INPUT placeholder="e.g. payments" prop:value=move || tool.get() on:input=move |ev| tool.set(event_target_value(&ev))/>
                </label>
                <label class="text-sm">
                    <span class="block text-slate-600 mb-1">"Search"</span>
                    <input type="search" class=INPUT placeholder="Name, description, agent" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))/>
                </label>
            </form>
            <Transition fallback=|| view! { <LoadingPanel/> }>
                {move || Suspend::new(async move {
                    let platform_view = context.await.map(|c| c.platform_view).unwrap_or(false);
                    match list.await {
                        Ok(page) => view! { <PolicyTable page platform_view offset/> }.into_any(),
                        Err(error) => view! { <div class="p-4"><ErrorPanel error/></div> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// New, import and export, as the user's role allows. Platform staff export the platform's
/// policies, or the tenant chosen in the filter.
#[component]
fn PolicyActions(context: PolicyContext, tenant: RwSignal<String>) -> impl IntoView {
    let can_write = context.can_write;
    let own_slug = StoredValue::new(context.own_slug.clone());
    let tenants = StoredValue::new(context.tenants);
    let export = move |format: &'static str| {
        let chosen = tenants.with_value(|all| all.iter().find(|t| t.slug == tenant.get()).map(|t| (t.slug.clone(), t.name.clone())));
        match (own_slug.get_value(), chosen) {
            (Some(_), _) => (format!("/api/v1/policies/export?format={format}"), "Your tenant's policies".to_owned()),
            (None, Some((slug, name))) => (format!("/api/v1/tenants/{slug}/policies/export?format={format}"), format!("{name}'s policies")),
            (None, None) => (format!("/api/v1/platform/policies/export?format={format}"), "The platform's policies".to_owned()),
        }
    };
    view! {
        <div class="flex flex-wrap gap-2">
            <a href=move || export("yaml").0 title=move || export("yaml").1 class=BUTTON_SECONDARY download="">"Export YAML"</a>
            <a href=move || export("json").0 title=move || export("json").1 class=BUTTON_SECONDARY download="">"Export JSON"</a>
            <Show when=move || can_write>
                <A href="/policies/import" attr:class=BUTTON_SECONDARY>"Import"</A>
                <A href="/policies/new" attr:class=BUTTON>"New policy"</A>
            </Show>
        </div>
    }
}

#[component]
fn PolicyTable(page: Page<PolicyListing>, platform_view: bool, offset: RwSignal<i64>) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <EmptyState message="No policy matches these filters."/> }.into_any();
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
            <div class="flex gap-2">
                <button type="button" class=BUTTON_SECONDARY disabled=!has_previous on:click=move |_| offset.update(|o| *o = (*o - PAGE_SIZE).max(0))>"Previous"</button>
                <button type="button" class=BUTTON_SECONDARY disabled=!has_next on:click=move |_| offset.update(|o| *o += PAGE_SIZE)>"Next"</button>
            </div>
        </nav>
    }
    .into_any()
}
