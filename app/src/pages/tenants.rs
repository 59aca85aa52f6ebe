//! Every tenant of the platform, for platform admins and support.

use charter_store::TenantSummary;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{format_date, Card, EmptyState, ErrorPanel, LoadingPanel, PageHeader};
use crate::AppError;

#[server(endpoint = "tenants/list")]
pub async fn list_tenants() -> Result<Vec<TenantSummary>, AppError> {
    use crate::auth::server::{access, core};
    Ok(core()?.list_tenants(&access()?).await?)
}

#[component]
pub fn TenantsPage() -> impl IntoView {
    let tenants = Resource::new(|| (), |_| list_tenants());
    view! {
        <Title text="Tenants"/>
        <PageHeader title="Tenants" subtitle="Every customer on the platform, with its plan and policy quota."/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match tenants.await {
                    Ok(tenants) => view! { <TenantTable tenants/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Does a tenant match the filter text? Name, slug and plan are searched, ignoring case.
pub fn matches_filter(summary: &TenantSummary, filter: &str) -> bool {
    let needle = filter.trim().to_lowercase();
    needle.is_empty() || [&summary.tenant.name, &summary.tenant.slug, &summary.tenant.plan].iter().any(|field| field.to_lowercase().contains(&needle))
}

/// The tenant table with a filter box. Filtering happens in the browser, as the user types; the
/// table needs nothing from the page around it.
#[island(lazy)]
pub fn TenantTable(tenants: Vec<TenantSummary>) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let total = tenants.len();
    let tenants = StoredValue::new(tenants);
    let visible = move || {
        let filter = filter.get();
        tenants.with_value(|all| all.iter().filter(|t| matches_filter(t, &filter)).cloned().collect::<Vec<_>>())
    };
    view! {
        <Card>
            <div class="flex flex-wrap items-center justify-between gap-3 mb-4">
                <label class="flex items-center gap-2 text-sm">
                    <span class="text-slate-600">"Filter"</span>
                    <input
                        type="search"
                        placeholder="Name, slug or plan"
                        aria-label="Filter tenants"
                        class="rounded-md border border-slate-300 px-3 py-1.5 text-sm w-64 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
                        prop:value=move || filter.get()
                        on:input=move |ev| filter.set(event_target_value(&ev))
                    />
                </label>
                <span class="text-sm text-slate-500" data-testid="tenant-count">
                    {move || format!("{} of {} tenants", visible().len(), total)}
                </span>
            </div>
            <Show
                when=move || !visible().is_empty()
                fallback=move || view! { <EmptyState message=if total == 0 { "No tenants yet." } else { "No tenant matches the filter." }/> }
            >
                <div class="overflow-x-auto">
                    <table class="min-w-full text-sm" data-testid="tenant-table">
                        <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                            <tr>
                                <th class="py-2 pr-4">"Tenant"</th>
                                <th class="py-2 pr-4">"Plan"</th>
                                <th class="py-2 pr-4">"Policy quota"</th>
                                <th class="py-2 pr-4">"Admins"</th>
                                <th class="py-2 pr-4">"Members"</th>
                                <th class="py-2">"Since"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {move || visible().into_iter().map(|summary| view! {
                                <tr data-testid="tenant-row">
                                    <td class="py-2 pr-4">
                                        // A plain link: the router's own needs the router, which a part
                                        // hydrated on its own does not have.
                                        <a href=format!("/tenants/{}", summary.tenant.slug) class="font-medium text-indigo-700 hover:underline">
                                            {summary.tenant.name.clone()}
                                        </a>
                                        <div class="text-xs text-slate-500">{summary.tenant.slug.clone()}</div>
                                    </td>
                                    <td class="py-2 pr-4">{summary.tenant.plan.clone()}</td>
                                    <td class="py-2 pr-4">{summary.tenant.policy_quota}</td>
                                    <td class="py-2 pr-4">{summary.admins}</td>
                                    <td class="py-2 pr-4">{summary.members}</td>
                                    <td class="py-2 text-slate-500">{format_date(summary.tenant.created_at)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </Show>
        </Card>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charter_store::Tenant;

    fn summary(name: &str, slug: &str, plan: &str) -> TenantSummary {
        TenantSummary {
            tenant: Tenant {
                id: slug.into(),
                slug: slug.into(),
                name: name.into(),
                plan: plan.into(),
                policy_quota: 100,
                time_zone: "UTC".into(),
                agent_keys: charter_store::AgentKeys::Optional,
                receipt_retention_days: 90,
                created_at: 0,
            },
            admins: 1,
            members: 0,
        }
    }

    #[test]
    fn filter_searches_name_slug_and_plan_ignoring_case() {
        let bank = summary("First Meridian Bank", "meridian-bank", "enterprise");
        for (filter, expected) in [("", true), ("  ", true), ("MERIDIAN", true), ("bank", true), ("enter", true), ("health", false)] {
            assert_eq!(matches_filter(&bank, filter), expected, "filter `{filter}`");
        }
    }
}
