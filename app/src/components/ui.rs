//! Small building blocks shared by pages, so every page looks the same.

use charter_store::Role;
use leptos::prelude::*;

use crate::pages::not_found::NotFound;
use crate::AppError;

#[component]
pub fn PageHeader(#[prop(into)] title: String, #[prop(optional, into)] subtitle: Option<String>) -> impl IntoView {
    view! {
        <div class="mb-6">
            <h1 class="text-2xl font-semibold tracking-tight">{title}</h1>
            {subtitle.map(|s| view! { <p class="mt-1 text-sm text-slate-500">{s}</p> })}
        </div>
    }
}

#[component]
pub fn Card(children: Children, #[prop(optional, into)] title: Option<String>) -> impl IntoView {
    view! {
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm">
            {title.map(|t| view! { <h2 class="px-5 pt-4 text-sm font-semibold text-slate-700">{t}</h2> })}
            <div class="p-5">{children()}</div>
        </section>
    }
}

/// A figure with its label, e.g. "3 tenants".
#[component]
pub fn Stat(#[prop(into)] label: String, #[prop(into)] value: String, #[prop(optional, into)] testid: String) -> impl IntoView {
    view! {
        <div class="bg-white rounded-xl border border-slate-200 shadow-sm px-5 py-4">
            <div class="text-xs uppercase tracking-wide text-slate-500">{label}</div>
            <div class="mt-1 text-2xl font-semibold" data-testid=testid>{value}</div>
        </div>
    }
}

#[component]
pub fn RoleBadge(role: Role) -> impl IntoView {
    let colours = match role {
        Role::PlatformAdmin => "bg-indigo-100 text-indigo-800",
        Role::Support => "bg-sky-100 text-sky-800",
        Role::TenantAdmin => "bg-emerald-100 text-emerald-800",
        Role::TenantMember => "bg-slate-100 text-slate-700",
    };
    view! {
        <span class=format!("text-xs font-medium px-2 py-0.5 rounded-full {colours}") data-testid="role-badge">
            {role.label()}
        </span>
    }
}

#[component]
pub fn LoadingPanel() -> impl IntoView {
    view! {
        <div class="p-6 animate-pulse space-y-3" aria-busy="true" aria-label="Loading">
            <div class="h-6 w-48 bg-slate-200 rounded"></div>
            <div class="h-4 w-full bg-slate-200 rounded"></div>
            <div class="h-4 w-5/6 bg-slate-200 rounded"></div>
        </div>
    }
}

#[component]
pub fn EmptyState(#[prop(into)] message: String) -> impl IntoView {
    view! { <p class="py-8 text-center text-sm text-slate-500">{message}</p> }
}

/// Shows a server function's error. "Not found" renders the not-found page, so a URL outside the
/// user's tenant looks exactly like one that does not exist.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    match error {
        AppError::NotFound => view! { <NotFound/> }.into_any(),
        other => view! {
            <div role="alert" class="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800">
                {other.to_string()}
            </div>
        }
        .into_any(),
    }
}

/// A millisecond timestamp as a UTC date, e.g. `2026-11-24`.
pub fn format_date(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    // Civil-from-days (Howard Hinnant's algorithm): exact for every date, no time crate needed.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::format_date;

    #[test]
    fn dates() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(951_782_400_000), "2000-02-29");
        assert_eq!(format_date(1_795_478_400_000), "2026-11-24");
    }
}
