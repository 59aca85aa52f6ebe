//! Small building blocks shared by pages, so every page looks the same.

use charter_policy::{Scope, Verdict};
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

/// An option of a menu whose choice comes from the address, marked `selected` in the server's
/// HTML. A page shown again by back or forward shows that choice too: `forms.js` resets filter
/// forms to what the server wrote.
#[component]
pub fn Choice(#[prop(into)] value: String, #[prop(into)] label: String, selected: bool) -> impl IntoView {
    view! { <option value=value selected=selected>{label}</option> }
}

/// Why the last plain form post on this page was refused: server_fn brings the error back in the
/// page's address, and the page renders it beside the form. `id` lets the form's field point at it
/// (`aria-describedby`).
#[component]
pub fn FormRefusal(#[prop(into)] message: String, #[prop(optional, into)] id: Option<String>) -> impl IntoView {
    view! {
        <p id=id role="alert" data-testid="form-error" class="rounded-md bg-red-50 border border-red-200 px-3 py-2 text-sm text-red-800">{message}</p>
    }
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

/// Shows why an interactive part's call failed, beside the part. Unlike [`ErrorPanel`] it never
/// renders the not-found page: the part sits inside a page that exists, and in the browser there is
/// no router or page head to render one with.
#[component]
pub fn ActionError(error: AppError) -> impl IntoView {
    let message = match error {
        AppError::NotFound => "Not found: it no longer exists, or your account cannot see it.".to_owned(),
        other => other.to_string(),
    };
    view! {
        <div role="alert" class="rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800">{message}</div>
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

/// A whole number with thousands separated, e.g. `1,000,000`.
pub fn format_count(value: impl TryInto<i64>) -> String {
    let value: i64 = value.try_into().unwrap_or(i64::MAX);
    let digits = value.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// A count with its noun in the right number, e.g. `1 rule`, `3 rules`, `1,200 calls`.
pub fn counted(count: impl TryInto<i64>, one: &str, many: &str) -> String {
    let count: i64 = count.try_into().unwrap_or(i64::MAX);
    format!("{} {}", format_count(count), if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::{counted, format_count, format_date};

    #[test]
    fn counts() {
        for (value, expected) in
            [(0, "0"), (7, "7"), (999, "999"), (1000, "1,000"), (1_000_000, "1,000,000"), (-12_345, "-12,345"), (i64::MIN, "-9,223,372,036,854,775,808")]
        {
            assert_eq!(format_count(value), expected, "{value}");
        }
        assert_eq!(counted(1, "rule", "rules"), "1 rule");
        assert_eq!(counted(0_usize, "rule", "rules"), "0 rules");
        assert_eq!(counted(2500, "call", "calls"), "2,500 calls");
    }

    #[test]
    fn dates() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(951_782_400_000), "2000-02-29");
        assert_eq!(format_date(1_795_478_400_000), "2026-11-24");
    }
}

/// The scope a rule or policy comes from, as a coloured badge.
#[component]
pub fn ScopeBadge(scope: Scope) -> impl IntoView {
    let colours = match scope {
        Scope::Platform => "bg-indigo-100 text-indigo-800",
        Scope::Tenant => "bg-emerald-100 text-emerald-800",
        Scope::Agent => "bg-amber-100 text-amber-800",
    };
    view! { <span class=format!("text-xs font-medium px-2 py-0.5 rounded-full {colours}") data-testid="scope-badge">{scope.to_string()}</span> }
}

/// "Platform Default" or "Customer Defined".
#[component]
pub fn LabelBadge(label: charter_store::PolicyLabel) -> impl IntoView {
    let colours = match label {
        charter_store::PolicyLabel::PlatformDefault => "bg-indigo-600 text-white",
        charter_store::PolicyLabel::CustomerDefined => "bg-white text-slate-700 ring-1 ring-inset ring-slate-300",
    };
    view! { <span class=format!("text-xs font-medium px-2 py-0.5 rounded-md whitespace-nowrap {colours}") data-testid="policy-label">{label.text()}</span> }
}

/// The verdict of a decision, coloured.
#[component]
pub fn VerdictBadge(verdict: Verdict) -> impl IntoView {
    let colours = match verdict {
        Verdict::Allow => "bg-emerald-100 text-emerald-800",
        Verdict::Deny => "bg-red-100 text-red-800",
        Verdict::RequireApproval => "bg-amber-100 text-amber-800",
    };
    view! { <span class=format!("text-xs font-semibold px-2 py-0.5 rounded-full {colours}") data-testid="verdict">{verdict.to_string()}</span> }
}

/// Classes shared by every text input and select, so forms look alike.
pub const INPUT: &str = "block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30";
/// The primary button.
pub const BUTTON: &str = "inline-flex items-center gap-1 rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white hover:bg-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500 focus:ring-offset-1 disabled:opacity-60";
/// A secondary button.
pub const BUTTON_SECONDARY: &str = "inline-flex items-center gap-1 rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-indigo-500 disabled:opacity-60";
/// A destructive button.
pub const BUTTON_DANGER: &str = "inline-flex items-center gap-1 rounded-md border border-red-300 bg-white px-3 py-2 text-sm font-medium text-red-700 hover:bg-red-50 focus:outline-none focus:ring-2 focus:ring-red-500 disabled:opacity-60";

/// A millisecond timestamp as UTC date and time, e.g. `2026-11-24 09:30 UTC`.
pub fn format_time(ms: i64) -> String {
    let minutes = ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{} {:02}:{:02} UTC", format_date(ms), minutes / 60, minutes % 60)
}

/// A file input that hands the chosen file's text to `on_text`.
#[component]
pub fn FileText(#[prop(into)] id: String, #[prop(into)] accept: String, on_text: Callback<String>) -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| {
        use leptos::wasm_bindgen::JsCast;
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        leptos::task::spawn_local(async move {
            if let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                on_text.run(text.as_string().unwrap_or_default());
            }
        });
    };
    view! {
        <input
            id=id
            type="file"
            accept=accept
            class="block text-sm text-slate-600 file:mr-3 file:rounded-md file:border-0 file:bg-slate-100 file:px-3 file:py-1.5 file:text-sm file:font-medium hover:file:bg-slate-200"
            on:change=on_change
        />
    }
}

/// The look of an on/off switch: its track and its knob.
pub fn switch_look(on: bool) -> (&'static str, &'static str) {
    let track = if on {
        "relative inline-flex h-5 w-9 rounded-full bg-emerald-500 focus:outline-none focus:ring-2 focus:ring-indigo-500"
    } else {
        "relative inline-flex h-5 w-9 rounded-full bg-slate-300 focus:outline-none focus:ring-2 focus:ring-indigo-500"
    };
    let knob =
        if on { "absolute top-0.5 left-4 h-4 w-4 rounded-full bg-white shadow" } else { "absolute top-0.5 left-0.5 h-4 w-4 rounded-full bg-white shadow" };
    (track, knob)
}

/// An on/off switch (`role="switch"`, named by `label` for assistive technology and tests) that
/// posts `fields` to the server function at `action` as a plain form: the page loads again with
/// the new state and says what changed.
#[component]
pub fn SwitchPost(on: bool, #[prop(into)] label: String, action: &'static str, fields: Vec<(&'static str, String)>) -> impl IntoView {
    let (track, knob) = switch_look(on);
    view! {
        <form method="post" action=action class="inline">
            {fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view()}
            <button type="submit" role="switch" aria-checked=on.to_string() aria-label=label class=track>
                <span class=knob></span>
            </button>
        </form>
    }
}
