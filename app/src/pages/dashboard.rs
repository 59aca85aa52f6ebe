//! The landing page after sign-in. Platform staff see the platform at a glance; tenant users see
//! their own tenant.

use charter_store::TenantSummary;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::auth::SessionUser;
use crate::components::ui::{format_count, Card, ErrorPanel, LoadingPanel, PageHeader, Stat};
use crate::pages::insight::InsightSection;
use crate::pages::tenant::{tenant_overview, TenantFacts};
use crate::pages::tenants::TenantTable;
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformFacts {
    pub tenants: Vec<TenantSummary>,
    pub users: i64,
}

#[server(endpoint = "dashboard/platform")]
pub async fn platform_overview() -> Result<PlatformFacts, AppError> {
    use crate::auth::server::{access, core};
    let (access, core) = (access()?, core()?);
    let tenants = core.list_tenants(&access).await?;
    let users = i64::try_from(core.list_users(&access).await?.len()).unwrap_or(i64::MAX);
    Ok(PlatformFacts { tenants, users })
}

/// What waits in the approvals queue, as a tenant user's overview shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalCounts {
    /// Requests waiting for one of the caller's approver roles; `None` for a caller with none.
    pub waiting_for_you: Option<usize>,
    /// Every pending request of the tenant; `None` unless the caller administers it.
    pub pending_in_tenant: Option<usize>,
}

#[server(name = CountApprovals, endpoint = "dashboard/approvals")]
pub async fn approval_counts() -> Result<ApprovalCounts, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::{Action, Target};
    let (access, core) = (access()?, core()?);
    let waiting_for_you = match access.approver_roles().is_empty() {
        true => None,
        false => Some(core.approval_queue(&access).await?.len()),
    };
    let pending_in_tenant = match access.can(Action::WritePolicies) && !access.is_platform_staff() {
        true => Some(core.list_approvals(&access, Target::Own, true, 500).await?.len()),
        false => None,
    };
    Ok(ApprovalCounts { waiting_for_you, pending_in_tenant })
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let user = expect_context::<SessionUser>();
    match user.tenant.clone() {
        Some(tenant) if !user.role.is_platform_wide() => view! { <TenantDashboard user slug=tenant.slug/> }.into_any(),
        _ => view! { <PlatformDashboard user/> }.into_any(),
    }
}

#[component]
fn PlatformDashboard(user: SessionUser) -> impl IntoView {
    let overview = Resource::new(|| (), |_| platform_overview());
    let access = if user.is_read_only() { "Read-only" } else { "Full" };
    let filter = StoredValue::new(leptos_router::hooks::use_query_map().get_untracked().get("filter").unwrap_or_default());
    view! {
        <Title text="Dashboard"/>
        <PageHeader title="Platform dashboard" subtitle=format!("Signed in as {} ({})", user.display_name, user.role.label())/>
        <InsightSection/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(PlatformFacts { tenants, users }) => view! {
                        <div class="grid grid-cols-1 sm:grid-cols-3 gap-4 mb-6">
                            <Stat label="Tenants" value=tenants.len().to_string() testid="stat-tenants"/>
                            <Stat label="Console users" value=users.to_string() testid="stat-users"/>
                            <Stat label="Your access" value=access testid="stat-access"/>
                        </div>
                        <h2 class="text-sm font-semibold text-slate-700 mb-3">"Tenants"</h2>
                        <TenantTable tenants filter=filter.get_value()/>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TenantDashboard(user: SessionUser, slug: String) -> impl IntoView {
    let overview = Resource::new(move || slug.clone(), tenant_overview);
    let counts = Resource::new(|| (), |_| approval_counts());
    view! {
        <Title text="Overview"/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || {
                let user = user.clone();
                Suspend::new(async move {
                    match overview.await {
                        Ok(overview) => view! { <TenantSummaryView user overview/> }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })
            }}
        </Transition>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move { counts.await.ok().map(|counts| view! { <ApprovalStats counts/> }) })}
        </Transition>
        <div class="mt-6">
            <InsightSection/>
        </div>
    }
}

#[component]
fn TenantSummaryView(user: SessionUser, overview: TenantFacts) -> impl IntoView {
    let TenantFacts { tenant, users, .. } = overview;
    let approves = if user.approver_roles.is_empty() {
        "You do not approve requests.".to_owned()
    } else {
        format!("You approve requests addressed to: {}.", user.approver_roles.join(", "))
    };
    view! {
        <PageHeader title=tenant.name.clone() subtitle=format!("Signed in as {} ({})", user.display_name, user.role.label())/>
        <div class="grid grid-cols-1 sm:grid-cols-3 gap-4 mb-6">
            <Stat label="Plan" value=tenant.plan.clone() testid="tenant-plan"/>
            <Stat label="Policy quota" value=tenant.policy_quota.to_string() testid="tenant-quota"/>
            <Stat label="Team" value=users.len().to_string() testid="tenant-user-count"/>
        </div>
        <Card title="Your role">
            <p class="text-sm text-slate-600" data-testid="approver-roles">{approves}</p>
        </Card>
    }
}

/// The approval counts, each a link to the list it counts.
#[component]
fn ApprovalStats(counts: ApprovalCounts) -> impl IntoView {
    let link = "block rounded-xl focus:outline-none focus:ring-2 focus:ring-indigo-500 hover:ring-2 hover:ring-indigo-200";
    let any = counts.waiting_for_you.is_some() || counts.pending_in_tenant.is_some();
    any.then(|| view! {
        <div class="grid grid-cols-1 sm:grid-cols-3 gap-4 mt-6">
            {counts.waiting_for_you.map(|n| view! {
                <a href="/approvals" class=link><Stat label="Waiting for your approval" value=format_count(n) testid="stat-waiting-for-you"/></a>
            })}
            {counts.pending_in_tenant.map(|n| view! {
                <a href="/approvals?status=pending" class=link><Stat label="Pending approvals in your tenant" value=format_count(n) testid="stat-pending-approvals"/></a>
            })}
        </div>
    })
}
