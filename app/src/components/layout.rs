//! The frame around every signed-in page: navigation for the user's role, who is signed in, and
//! sign-out. Signed-out visitors are sent to the login page.

use charter_store::Role;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};

use crate::auth::SessionUser;
use crate::components::feedback::ToastRegion;
use crate::components::ui::RoleBadge;
use crate::SessionContext;

/// A navigation entry: label and link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NavItem {
    pub label: &'static str,
    pub href: String,
}

/// The navigation a role gets. Pages still check the role on the server; this only decides what
/// is offered.
pub fn nav_items(user: &SessionUser) -> Vec<NavItem> {
    let item = |label, href: &str| NavItem { label, href: href.to_owned() };
    let mut items = match (user.role, &user.tenant) {
        (Role::PlatformAdmin | Role::Support, _) => vec![
            item("Dashboard", "/"),
            item("Policies", "/policies"),
            item("Releases", "/releases"),
            item("Previewer", "/preview"),
            item("Tools & Sources", "/tools"),
            item("Tenants", "/tenants"),
            item("API keys", "/keys"),
            item("Receipts", "/receipts"),
            item("Audit log", "/audit"),
            item("Users", "/users"),
        ],
        (Role::TenantAdmin, Some(tenant)) => vec![
            item("Overview", "/"),
            item("Policies", "/policies"),
            item("Versions", "/versions"),
            item("Previewer", "/preview"),
            item("Approvals", "/approvals"),
            item("Tools", "/tools"),
            item("API keys", "/keys"),
            item("Receipts", "/receipts"),
            item("Audit log", "/audit"),
            item("AI assistant", "/assistant"),
            item("Team", &format!("/tenants/{}", tenant.slug)),
        ],
        (Role::TenantAdmin | Role::TenantMember, _) => vec![item("Overview", "/")],
    };
    // Approvers (tenant users with approver roles) get their queue; tenant admins have it already.
    if user.tenant.is_some() && !user.approver_roles.is_empty() && user.role != Role::TenantAdmin {
        items.push(item("Approvals", "/approvals"));
        // They may connect an assistant to resolve their approvals in conversation.
        items.push(item("AI assistant", "/assistant"));
    }
    items
}

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    // Synchronous on purpose: the page inside renders once on the server and hydrates as rendered.
    match expect_context::<SessionContext>().user {
        Some(user) => view! { <Frame user/> }.into_any(),
        None => view! { <Redirect path="/login"/> }.into_any(),
    }
}

#[component]
fn Frame(user: SessionUser) -> impl IntoView {
    let session = expect_context::<SessionContext>();
    let items = nav_items(&user);
    let read_only = user.is_read_only();
    let scope = user.tenant.as_ref().map(|t| t.name.clone()).unwrap_or_else(|| "Platform".to_owned());
    provide_context(user.clone());
    view! {
        <div class="min-h-screen md:flex">
            <aside class="bg-slate-900 text-slate-100 md:w-60 md:min-h-screen flex flex-col">
                <MainMenu scope>
                    {items
                        .into_iter()
                        .map(|item| {
                            view! {
                                <A
                                    href=item.href
                                    exact=true
                                    attr:class="px-3 py-2 rounded-md text-sm text-slate-300 hover:bg-slate-800 hover:text-white aria-[current=page]:bg-slate-800 aria-[current=page]:text-white whitespace-nowrap"
                                >
                                    {item.label}
                                </A>
                            }
                        })
                        .collect_view()}
                </MainMenu>
            </aside>
            <div class="flex-1 min-w-0 flex flex-col">
                <header class="bg-white border-b border-slate-200 px-6 py-3 flex flex-wrap items-center justify-between gap-3">
                    <div class="flex items-center gap-3">
                        <span class="text-sm font-medium" data-testid="user-name">{user.display_name.clone()}</span>
                        <RoleBadge role=user.role/>
                        <Show when=move || read_only>
                            <span
                                class="text-xs font-medium px-2 py-0.5 rounded-full bg-amber-100 text-amber-800"
                                data-testid="read-only-badge"
                                title="Support accounts can look at everything and change nothing"
                            >
                                "Read-only"
                            </span>
                        </Show>
                    </div>
                    <ActionForm action=session.logout>
                        <button
                            type="submit"
                            class="text-sm px-3 py-1.5 rounded-md border border-slate-300 hover:bg-slate-100 focus:outline-none focus:ring-2 focus:ring-indigo-500"
                        >
                            "Sign out"
                        </button>
                    </ActionForm>
                </header>
                <ToastRegion/>
                <main class="flex-1 p-4 sm:p-6 max-w-6xl w-full">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

/// The console's name, whose console it is (`scope`), and the main navigation (its entries are the
/// children): the sidebar from `md` up; on a phone a menu behind a button, so every entry fits.
/// It needs nothing from the page around it.
#[island]
fn MainMenu(scope: String, children: Children) -> impl IntoView {
    let menu_open = RwSignal::new(false);
    view! {
        <div class="px-5 py-4 flex items-center gap-2 border-b border-slate-800">
            <span class="inline-grid place-items-center w-8 h-8 rounded-lg bg-indigo-500 font-bold">"C"</span>
            <div>
                <div class="font-semibold tracking-tight">"Charter"</div>
                <div class="text-xs text-slate-400" data-testid="scope-name">{scope}</div>
            </div>
            <button
                type="button"
                class="ml-auto md:hidden rounded-md border border-slate-700 px-3 py-1.5 text-sm text-slate-200 hover:bg-slate-800 focus:outline-none focus:ring-2 focus:ring-indigo-500"
                aria-controls="main-nav"
                aria-expanded=move || menu_open.get().to_string()
                on:click=move |_| menu_open.update(|open| *open = !*open)
            >
                {move || if menu_open.get() { "Close menu" } else { "Menu" }}
            </button>
        </div>
        <nav
            id="main-nav"
            aria-label="Main"
            class=move || if menu_open.get() { "flex flex-col gap-1 p-3" } else { "hidden md:flex md:flex-col gap-1 p-3" }
            data-testid="main-nav"
            // Choosing an entry closes the menu on a phone.
            on:click=move |_| menu_open.set(false)
        >
            {children()}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TenantRef;

    fn user(role: Role, tenant: Option<&str>) -> SessionUser {
        SessionUser {
            id: "u".into(),
            username: "u@x".into(),
            display_name: "U".into(),
            role,
            approver_roles: vec![],
            tenant: tenant.map(|slug| TenantRef { id: "t".into(), slug: slug.into(), name: "T".into() }),
        }
    }

    fn check(role: Role, tenant: Option<&str>, expected: &[(&str, &str)]) {
        let actual: Vec<_> = nav_items(&user(role, tenant)).into_iter().map(|i| (i.label, i.href)).collect();
        let expected: Vec<_> = expected.iter().map(|(l, h)| (*l, (*h).to_owned())).collect();
        assert_eq!(actual, expected, "navigation of {role:?}");
    }

    #[test]
    fn navigation_follows_the_role() {
        let platform = [
            ("Dashboard", "/"),
            ("Policies", "/policies"),
            ("Releases", "/releases"),
            ("Previewer", "/preview"),
            ("Tools & Sources", "/tools"),
            ("Tenants", "/tenants"),
            ("API keys", "/keys"),
            ("Receipts", "/receipts"),
            ("Audit log", "/audit"),
            ("Users", "/users"),
        ];
        check(Role::PlatformAdmin, None, &platform);
        check(Role::Support, None, &platform);
        check(
            Role::TenantAdmin,
            Some("bank"),
            &[
                ("Overview", "/"),
                ("Policies", "/policies"),
                ("Versions", "/versions"),
                ("Previewer", "/preview"),
                ("Approvals", "/approvals"),
                ("Tools", "/tools"),
                ("API keys", "/keys"),
                ("Receipts", "/receipts"),
                ("Audit log", "/audit"),
                ("AI assistant", "/assistant"),
                ("Team", "/tenants/bank"),
            ],
        );
        check(Role::TenantMember, Some("bank"), &[("Overview", "/")]);
        let approver = SessionUser { approver_roles: vec!["manager".into()], ..user(Role::TenantMember, Some("bank")) };
        let actual: Vec<_> = nav_items(&approver).into_iter().map(|i| i.label).collect();
        assert_eq!(actual, ["Overview", "Approvals", "AI assistant"], "an approver gets the queue, and may connect an assistant to it");
        let approving_admin = SessionUser { approver_roles: vec!["cfo".into()], ..user(Role::TenantAdmin, Some("bank")) };
        let labels: Vec<_> = nav_items(&approving_admin).into_iter().map(|i| i.label).collect();
        assert_eq!(labels.iter().filter(|l| **l == "Approvals").count(), 1, "once for an admin who also approves: {labels:?}");
    }
}
