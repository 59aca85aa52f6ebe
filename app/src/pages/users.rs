//! Every console user, for platform admins and support.

use charter_store::User;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ui::{format_date, Card, ErrorPanel, LoadingPanel, PageHeader, RoleBadge};
use crate::AppError;

/// A user with the name of the tenant it belongs to, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub user: User,
    pub tenant_name: Option<String>,
}

#[server(endpoint = "users/list")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    use crate::auth::server::{access, core};
    let users = core()?.list_users(&access()?).await?;
    Ok(users.into_iter().map(|(user, tenant_name)| UserRow { user, tenant_name }).collect())
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <Title text="Users"/>
        <PageHeader title="Users" subtitle="Platform staff first, then each tenant's people."/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(rows) => view! { <UserTable rows/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UserTable(rows: Vec<UserRow>) -> impl IntoView {
    view! {
        <Card>
            <div class="overflow-x-auto">
                <table class="min-w-full text-sm" data-testid="user-table">
                    <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                        <tr>
                            <th class="py-2 pr-4">"Name"</th>
                            <th class="py-2 pr-4">"Email"</th>
                            <th class="py-2 pr-4">"Role"</th>
                            <th class="py-2 pr-4">"Tenant"</th>
                            <th class="py-2">"Since"</th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {rows
                            .into_iter()
                            .map(|row| {
                                view! {
                                    <tr>
                                        <td class="py-2 pr-4 font-medium">{row.user.display_name}</td>
                                        <td class="py-2 pr-4 text-slate-600">{row.user.username}</td>
                                        <td class="py-2 pr-4"><RoleBadge role=row.user.role/></td>
                                        <td class="py-2 pr-4">{row.tenant_name.unwrap_or_else(|| "Platform".to_owned())}</td>
                                        <td class="py-2 text-slate-500">{format_date(row.user.created_at)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </Card>
    }
}
