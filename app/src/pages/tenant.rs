//! One tenant: its facts and its team. Platform admins and support may open any tenant; a tenant
//! user only their own, and any other slug answers "not found".

use charter_store::{AgentSummary, Tenant, User};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::components::feedback::Toasts;
use crate::components::ui::{format_date, format_time, Card, EmptyState, ErrorPanel, LoadingPanel, PageHeader, RoleBadge, Stat, VerdictBadge, BUTTON, INPUT};
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantFacts {
    pub tenant: Tenant,
    pub users: Vec<User>,
    pub policy_count: i64,
    pub agents: Vec<AgentSummary>,
    pub recent: Vec<RecentDecision>,
    /// Platform admins may change the quota.
    pub can_edit_quota: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentDecision {
    pub tool: String,
    pub agent: Option<String>,
    pub verdict: charter_policy::Verdict,
    pub reason: String,
    pub created_at: i64,
}

#[server(endpoint = "tenants/overview")]
pub async fn tenant_overview(slug: String) -> Result<TenantFacts, AppError> {
    use crate::auth::server::{access, core};
    let overview = core()?.tenant_overview(&access()?, &slug).await?;
    let recent = overview
        .recent
        .into_iter()
        .map(|r| RecentDecision { tool: r.tool, agent: r.agent, verdict: r.verdict, reason: r.reason, created_at: r.created_at })
        .collect();
    Ok(TenantFacts {
        tenant: overview.tenant,
        users: overview.users,
        policy_count: overview.policy_count,
        agents: overview.agents,
        recent,
        can_edit_quota: overview.can_manage,
    })
}

#[server(endpoint = "tenants/set_quota")]
pub async fn set_quota(slug: String, quota: String) -> Result<i64, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    let quota: i64 = quota
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid { field: "policy quota".into(), message: format!("must be a whole number, not `{}`", quota.trim()) })?;
    Ok(core()?.set_quota(&access, &slug, quota).await?.policy_quota)
}

#[server(endpoint = "tenants/set_retention")]
pub async fn set_retention(slug: String, days: String) -> Result<i64, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    let days: i64 = days
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid { field: "receipt retention".into(), message: format!("must be a whole number of days, not `{}`", days.trim()) })?;
    Ok(core()?.set_receipt_retention(&access, &slug, days).await?.receipt_retention_days)
}

#[component]
pub fn TenantPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let save_quota = ServerAction::<SetQuota>::new();
    let toasts = expect_context::<Toasts>();
    Effect::new(move |_| match save_quota.value().get() {
        Some(Ok(quota)) => toasts.success(format!("Policy quota set to {quota}.")),
        Some(Err(error)) => toasts.error(format!("Quota not changed: {error}")),
        None => {}
    });
    let save_retention = ServerAction::<SetRetention>::new();
    Effect::new(move |_| match save_retention.value().get() {
        Some(Ok(days)) => toasts.success(format!("Receipts are now kept {days} days.")),
        Some(Err(error)) => toasts.error(format!("Retention not changed: {error}")),
        None => {}
    });
    provide_context(save_quota);
    provide_context(save_retention);
    let overview = Resource::new(move || (slug(), save_quota.version().get(), save_retention.version().get()), |(slug, _, _)| tenant_overview(slug));
    view! {
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <TenantDetails overview/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn TenantDetails(overview: TenantFacts) -> impl IntoView {
    let TenantFacts { tenant, users, policy_count, agents, recent, can_edit_quota } = overview;
    view! {
        <Title text=tenant.name.clone()/>
        <PageHeader title=tenant.name.clone() subtitle=format!("Tenant `{}` · since {}", tenant.slug, format_date(tenant.created_at))/>
        <div class="grid grid-cols-1 sm:grid-cols-5 gap-4 mb-6">
            <Stat label="Plan" value=tenant.plan.clone() testid="tenant-plan"/>
            <Stat label="Policy quota" value=tenant.policy_quota.to_string() testid="tenant-quota"/>
            <Stat label="Policies" value=format!("{policy_count} of {}", tenant.policy_quota) testid="tenant-policy-count"/>
            <Stat label="Users" value=users.len().to_string() testid="tenant-user-count"/>
            <Stat label="Receipts kept" value=format!("{} days", tenant.receipt_retention_days) testid="tenant-retention"/>
        </div>
        {can_edit_quota.then(|| view! {
            <div class="grid grid-cols-1 lg:grid-cols-2 gap-6 mb-6">
                <QuotaForm slug=tenant.slug.clone() quota=tenant.policy_quota/>
                <RetentionForm slug=tenant.slug.clone() days=tenant.receipt_retention_days/>
            </div>
        })}
        // Platform staff reach the tenant's keys from here; tenant admins have them in the navigation.
        {use_context::<crate::auth::SessionUser>().filter(|user| user.role.is_platform_wide()).map(|_| view! {
            <p class="mb-6 text-sm"><a href=format!("/keys?tenant={}", tenant.slug) class="text-indigo-700 hover:underline" data-testid="tenant-keys-link">"API keys of this tenant"</a></p>
        })}
        <div class="grid grid-cols-1 lg:grid-cols-2 gap-6 mb-6">
            <AgentsCard agents/>
            <RecentCard recent/>
        </div>
        <TeamTable users/>
    }
}

#[component]
fn QuotaForm(slug: String, quota: i64) -> impl IntoView {
    let save = expect_context::<ServerAction<SetQuota>>();
    let on_save = Callback::new(move |quota: String| {
        save.dispatch(SetQuota { slug: slug.clone(), quota });
    });
    view! {
        <NumberSetting title="Policy quota" label="Most policies this tenant may keep" input_id="quota-input" button="Save quota"
            value=quota pending=save.pending().into() on_save/>
    }
}

#[component]
fn RetentionForm(slug: String, days: i64) -> impl IntoView {
    let save = expect_context::<ServerAction<SetRetention>>();
    let on_save = Callback::new(move |days: String| {
        save.dispatch(SetRetention { slug: slug.clone(), days });
    });
    view! {
        <NumberSetting title="Receipt retention" label="Days this tenant's receipts are kept (1 to 3650)" input_id="retention-input" button="Save retention"
            value=days pending=save.pending().into() on_save/>
    }
}

/// A card with one number the platform sets for a tenant, and its save button.
#[component]
fn NumberSetting(
    title: &'static str,
    label: &'static str,
    input_id: &'static str,
    button: &'static str,
    value: i64,
    pending: Signal<bool>,
    on_save: Callback<String>,
) -> impl IntoView {
    let text = RwSignal::new(value.to_string());
    view! {
        <Card title=title>
            <form class="flex flex-wrap items-end gap-3" on:submit=move |ev| { ev.prevent_default(); on_save.run(text.get_untracked()); }>
                <label class="text-sm"><span class="block text-slate-600 mb-1">{label}</span>
                    <input id=input_id inputmode="numeric" class=INPUT prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))/></label>
                <button type="submit" class=BUTTON disabled=move || pending.get()>{button}</button>
            </form>
        </Card>
    }
}

#[component]
fn AgentsCard(agents: Vec<AgentSummary>) -> impl IntoView {
    view! {
        <Card title="Agents">
            {if agents.is_empty() {
                view! { <EmptyState message="No agents yet: none has a policy or asked for a decision."/> }.into_any()
            } else {
                view! {
                    <table class="min-w-full text-sm" data-testid="agents-table">
                        <thead class="text-left text-xs uppercase text-slate-500"><tr><th class="py-1 pr-3">"Agent"</th><th class="py-1 pr-3">"Policies"</th><th class="py-1 pr-3">"Decisions"</th><th class="py-1">"Last decision"</th></tr></thead>
                        <tbody class="divide-y divide-slate-100">
                            {agents.into_iter().map(|a| view! {
                                <tr><td class="py-2 pr-3 font-mono text-xs">{a.name}</td><td class="py-2 pr-3">{a.policies}</td><td class="py-2 pr-3">{a.decisions}</td>
                                <td class="py-2 text-slate-500">{a.last_decision_at.map(format_time).unwrap_or_else(|| "—".into())}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </Card>
    }
}

#[component]
fn RecentCard(recent: Vec<RecentDecision>) -> impl IntoView {
    view! {
        <Card title="Recent decisions">
            {if recent.is_empty() {
                view! { <EmptyState message="No decisions yet."/> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-slate-100" data-testid="recent-decisions">
                        {recent.into_iter().map(|r| view! {
                            <li class="py-2 flex items-center gap-2 text-sm">
                                <VerdictBadge verdict=r.verdict/>
                                <code class="text-xs text-indigo-700">{r.tool}</code>
                                <span class="text-xs text-slate-500 truncate" title=r.reason.clone()>{r.agent.unwrap_or_default()}</span>
                                <span class="ml-auto text-xs text-slate-500">{format_time(r.created_at)}</span>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </Card>
    }
}

#[component]
fn TeamTable(users: Vec<User>) -> impl IntoView {
    if users.is_empty() {
        return view! { <Card title="Team"><EmptyState message="No users in this tenant yet."/></Card> }.into_any();
    }
    view! {
        <Card title="Team">
            <div class="overflow-x-auto">
                <table class="min-w-full text-sm" data-testid="team-table">
                    <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                        <tr>
                            <th class="py-2 pr-4">"Name"</th>
                            <th class="py-2 pr-4">"Email"</th>
                            <th class="py-2 pr-4">"Role"</th>
                            <th class="py-2">"Approves as"</th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {users
                            .into_iter()
                            .map(|user| {
                                let approves = if user.approver_roles.is_empty() { "—".to_owned() } else { user.approver_roles.join(", ") };
                                view! {
                                    <tr>
                                        <td class="py-2 pr-4 font-medium">{user.display_name}</td>
                                        <td class="py-2 pr-4 text-slate-600">{user.username}</td>
                                        <td class="py-2 pr-4"><RoleBadge role=user.role/></td>
                                        <td class="py-2 text-slate-600">{approves}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </Card>
    }
    .into_any()
}
