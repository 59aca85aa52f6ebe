//! Asking before a tool is switched off for every tenant: who called it lately.

use leptos::prelude::*;

use super::{ImpactOf, ToggleTool, ToolImpact};
use crate::components::feedback::ConfirmDialog;
use crate::components::ui::{counted, format_count, format_time, ErrorPanel};

/// The tool a platform admin asked to switch off, waiting for their confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SwitchOff {
    pub id: String,
    pub name: String,
}

/// Asks before a tool is switched off for every tenant, listing the tenants that called it in the
/// last week and how often, so the admin sees whom it stops.
#[component]
pub(super) fn SwitchOffDialog(switching_off: RwSignal<Option<SwitchOff>>, toggle: ServerAction<ToggleTool>) -> impl IntoView {
    let usage = ServerAction::<ImpactOf>::new();
    let open = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(tool) = switching_off.get() {
            usage.dispatch(ImpactOf { tool: tool.name });
            open.set(true);
        }
    });
    // Closing the dialog either way forgets the choice, so the same switch can ask again. Only a
    // change is written: a signal set notifies even with the same value.
    Effect::new(move |_| {
        if !open.get() && switching_off.with_untracked(Option::is_some) {
            switching_off.set(None);
        }
    });
    let name = move || switching_off.with(|tool| tool.as_ref().map(|t| t.name.clone()).unwrap_or_default());
    let details = move || match usage.value().get() {
        _ if usage.pending().get() => view! { <p class="text-slate-500">"Looking up who called it…"</p> }.into_any(),
        Some(Ok(impact)) if impact.tenants.is_empty() => {
            view! { <p data-testid="tool-impact-none">{format!("No tenant called it in the last {} days.", impact.days)}</p> }.into_any()
        }
        Some(Ok(impact)) => view! { <ImpactTable impact/> }.into_any(),
        Some(Err(error)) => view! { <ErrorPanel error/> }.into_any(),
        None => ().into_any(),
    };
    view! {
        {move || open.get().then(|| view! {
            <ConfirmDialog
                open
                title=format!("Switch {} off?", name())
                message="Every tenant's calls of this tool are denied from the very next decision."
                confirm_label="Switch off"
                details=details
                on_confirm=Callback::new(move |_| {
                    if let Some(tool) = switching_off.get_untracked() {
                        toggle.dispatch(ToggleTool { id: tool.id, enabled: false });
                    }
                })
            />
        })}
    }
}

#[component]
fn ImpactTable(impact: ToolImpact) -> impl IntoView {
    let ToolImpact { days, tenants } = impact;
    let total: i64 = tenants.iter().map(|t| t.calls).sum();
    view! {
        <p class="font-medium text-slate-800" data-testid="tool-impact-summary">
            {format!("Called {} in the last {days} days by {}:", counted(total, "time", "times"), counted(tenants.len(), "tenant", "tenants"))}
        </p>
        <table class="mt-2 min-w-full text-sm" data-testid="tool-impact">
            <thead class="text-left text-xs uppercase text-slate-500"><tr><th class="py-1 pr-3">"Tenant"</th><th class="py-1 pr-3">"Calls"</th><th class="py-1">"Last call"</th></tr></thead>
            <tbody class="divide-y divide-slate-100">
                {tenants.into_iter().map(|t| view! {
                    <tr data-testid="tool-impact-row"><td class="py-1 pr-3">{t.tenant_name}</td><td class="py-1 pr-3">{format_count(t.calls)}</td><td class="py-1 text-slate-500">{format_time(t.last_call_at)}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
