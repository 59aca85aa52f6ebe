//! One tenant: its facts and its team. Platform admins and support may open any tenant; a tenant
//! user only their own, and any other slug answers "not found".

use charter_store::{Tenant, User};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::components::ui::{format_date, Card, EmptyState, ErrorPanel, LoadingPanel, PageHeader, RoleBadge, Stat};
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantFacts {
    pub tenant: Tenant,
    pub users: Vec<User>,
}

#[server(endpoint = "tenants/overview")]
pub async fn tenant_overview(slug: String) -> Result<TenantFacts, AppError> {
    use crate::auth::server::{require_user, store};
    let user = require_user().await?;
    let store = store()?;
    let tenant = store.tenant_by_slug(&slug).await?.ok_or(AppError::NotFound)?;
    let own_tenant = user.tenant.as_ref().is_some_and(|own| own.id == tenant.id);
    if !(user.role.is_platform_wide() || own_tenant) {
        return Err(AppError::NotFound);
    }
    let users = store.list_users(Some(&tenant.id)).await?;
    Ok(TenantFacts { tenant, users })
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
    let TenantFacts { tenant, users } = overview;
    view! {
        <Title text=tenant.name.clone()/>
        <PageHeader title=tenant.name.clone() subtitle=format!("Tenant `{}` · since {}", tenant.slug, format_date(tenant.created_at))/>
        <div class="grid grid-cols-1 sm:grid-cols-3 gap-4 mb-6">
            <Stat label="Plan" value=tenant.plan.clone() testid="tenant-plan"/>
            <Stat label="Policy quota" value=tenant.policy_quota.to_string() testid="tenant-quota"/>
            <Stat label="Users" value=users.len().to_string() testid="tenant-user-count"/>
        </div>
        <TeamTable users/>
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
