//! Every tenant of the platform, for platform admins and support.

use charter_store::TenantSummary;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

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
    let filter = use_query_map().get_untracked().get("filter").unwrap_or_default();
    view! {
        <Title text="Tenants"/>
        <PageHeader title="Tenants" subtitle="Every customer on the platform, with its plan and policy quota."/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || {
                let filter = filter.clone();
                Suspend::new(async move {
                match tenants.await {
                    Ok(tenants) => view! { <TenantTable tenants filter/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })
            }}
        </Transition>
    }
}

/// Does a tenant match the filter text? Name, slug and plan are searched, ignoring case.
pub fn matches_filter(summary: &TenantSummary, filter: &str) -> bool {
    let needle = filter.trim().to_lowercase();
    needle.is_empty() || [&summary.tenant.name, &summary.tenant.slug, &summary.tenant.plan].iter().any(|field| field.to_lowercase().contains(&needle))
}

/// The tenant table with a filter box, rendered by the server. Typing narrows the rows at once
/// (`forms.js`: `data-filter-rows`); without script the box is a search form, and the server hides
/// the rows that do not match `filter`.
#[component]
pub fn TenantTable(tenants: Vec<TenantSummary>, filter: String) -> impl IntoView {
    let total = tenants.len();
    let shown = tenants.iter().filter(|t| matches_filter(t, &filter)).count();
    let empty = if total == 0 { "No tenants yet." } else { "No tenant matches the filter." };
    view! {
        <Card>
            <div class="flex flex-wrap items-center justify-between gap-3 mb-4">
                <form method="get" role="search" class="flex items-center gap-2 text-sm">
                    <label for="tenant-filter" class="text-slate-600">"Filter"</label>
                    <input
                        id="tenant-filter"
                        name="filter"
                        type="search"
                        value=filter.clone()
                        placeholder="Name, slug or plan"
                        aria-label="Filter tenants"
                        aria-controls="tenant-table"
                        data-filter-rows="tenant-table"
                        class="rounded-md border border-slate-300 px-3 py-1.5 text-sm w-64 focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
                    />
                </form>
                <span class="text-sm text-slate-500" data-testid="tenant-count" data-count-for="tenant-table" data-noun="tenants" aria-live="polite">
                    {format!("{shown} of {total} tenants")}
                </span>
            </div>
            <div data-empty-for="tenant-table" hidden=shown > 0>
                <EmptyState message=empty/>
            </div>
            <div class="overflow-x-auto">
                <table id="tenant-table" class="min-w-full text-sm" data-testid="tenant-table" hidden=shown == 0>
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
                        {tenants.into_iter().map(|summary| {
                            let hidden = !matches_filter(&summary, &filter);
                            // What the filter searches, as `matches_filter` does.
                            let text = [&summary.tenant.name, &summary.tenant.slug, &summary.tenant.plan].map(|field| field.to_lowercase()).join(" ");
                            view! {
                                <tr data-testid="tenant-row" data-filter-text=text hidden=hidden>
                                    <td class="py-2 pr-4">
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
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
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
