//! One tenant: its facts and its team. Platform admins and support may open any tenant; a tenant
//! user only their own, and any other slug answers "not found".

use charter_store::{AgentSummary, Tenant, User};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::components::ui::{
    format_date, format_time, Card, EmptyState, ErrorPanel, FormRefusal, LoadingPanel, PageHeader, RoleBadge, Stat, VerdictBadge, BUTTON, INPUT,
};
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
    let quota = core()?.set_quota(&access, &slug, quota).await?.policy_quota;
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, format!("Policy quota set to {quota}.")).await;
    Ok(quota)
}

#[server(endpoint = "tenants/set_retention")]
pub async fn set_retention(slug: String, days: String) -> Result<i64, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    let days: i64 = days
        .trim()
        .parse()
        .map_err(|_| AppError::Invalid { field: "receipt retention".into(), message: format!("must be a whole number of days, not `{}`", days.trim()) })?;
    let days = core()?.set_receipt_retention(&access, &slug, days).await?.receipt_retention_days;
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, format!("Receipts are now kept {days} days.")).await;
    Ok(days)
}

#[component]
pub fn TenantPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let overview = Resource::new(slug, tenant_overview);
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

// The two settings are plain HTML forms that post to their server functions: the server saves,
// answers with a redirect back to this page, and the page loads again with the new value and a
// message (see `crate::flash`), or with the error in its address, shown beside the form. They work
// without the browser bundle.

#[component]
fn QuotaForm(slug: String, quota: i64) -> impl IntoView {
    // On the server, a failed post's error comes back through the address into the action.
    let failed = ServerAction::<SetQuota>::new().value().get_untracked().and_then(Result::err);
    view! {
        <NumberSetting title="Policy quota" label="Most policies this tenant may keep" input_id="quota-input" name="quota" button="Save quota"
            action=SetQuota::url() slug value=quota error=failed.map(|error| format!("Quota not changed: {error}"))/>
    }
}

#[component]
fn RetentionForm(slug: String, days: i64) -> impl IntoView {
    let failed = ServerAction::<SetRetention>::new().value().get_untracked().and_then(Result::err);
    view! {
        <NumberSetting title="Receipt retention" label="Days this tenant's receipts are kept (1 to 3650)" input_id="retention-input" name="days" button="Save retention"
            action=SetRetention::url() slug value=days error=failed.map(|error| format!("Retention not changed: {error}"))/>
    }
}

/// A card with one number the platform sets for a tenant, and its save button: a form that posts
/// `slug` and `name` to the server function at `action`. `error` is what the last post of this form
/// was refused for.
#[component]
fn NumberSetting(
    title: &'static str,
    label: &'static str,
    input_id: &'static str,
    name: &'static str,
    button: &'static str,
    action: &'static str,
    slug: String,
    value: i64,
    error: Option<String>,
) -> impl IntoView {
    let error_id = format!("{input_id}-error");
    let described_by = error.is_some().then(|| error_id.clone());
    view! {
        <Card title=title>
            <form method="post" action=action class="flex flex-wrap items-end gap-3">
                <input type="hidden" name="slug" value=slug/>
                <label class="text-sm"><span class="block text-slate-600 mb-1">{label}</span>
                    <input id=input_id name=name inputmode="numeric" class=INPUT value=value.to_string() aria-invalid=error.is_some().then_some("true") aria-describedby=described_by/></label>
                <button type="submit" class=BUTTON>{button}</button>
            </form>
            {error.map(|message| view! { <div class="mt-3"><FormRefusal message id=error_id/></div> })}
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
