//! Asking before a tool is switched off for every tenant: who called it lately.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::{ImpactOf, ToggleTool, ToolImpact};
use crate::components::feedback::ConfirmPopover;
use crate::components::ui::{counted, format_count, format_time, switch_look, ActionError};

/// The switch of a tool that is on, for a platform admin. Switching it off stops it for every
/// tenant, so it asks first, in the browser's own popover, listing the tenants that called it in
/// the last week and how often (looked up each time the popover opens); confirming is a plain form
/// post, and the page loads again with the tool off. Focus starts on "Cancel".
#[component]
pub(super) fn SwitchOffPost(id: String, name: String) -> impl IntoView {
    let (track, knob) = switch_look(true);
    let popover = format!("switch-off-{id}");
    view! {
        <button type="button" role="switch" aria-checked="true" aria-label=format!("Enable {name}") class=track popovertarget=popover.clone()>
            <span class=knob></span>
        </button>
        <ConfirmPopover
            id=popover
            title=format!("Switch {name} off?")
            message="Every tenant's calls of this tool are denied from the very next decision.".to_owned()
            confirm_label="Switch off".to_owned()
            action=ToggleTool::url()
            fields=vec![("id", id), ("enabled", "false".to_owned())]
        >
            <ImpactLookup tool=name/>
        </ConfirmPopover>
    }
}

/// Who called `tool` in the last week, looked up whenever the popover it sits in opens, so the
/// numbers are those of the moment the admin asks. Without script it says nothing, and the
/// question stands on its own.
#[island(lazy)]
fn ImpactLookup(tool: String) -> impl IntoView {
    let usage = ServerAction::<ImpactOf>::new();
    let marker = NodeRef::<leptos::html::Div>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos::wasm_bindgen::closure::Closure;
        use leptos::wasm_bindgen::JsCast;
        let Some(popover) = marker.get().and_then(|div| div.closest("[popover]").ok().flatten()) else { return };
        let look_up = {
            let (popover, tool) = (popover.clone(), tool.clone());
            move || {
                if popover.matches(":popover-open").unwrap_or(false) {
                    usage.dispatch(ImpactOf { tool: tool.clone() });
                }
            }
        };
        // Opened before the page became interactive: look up now.
        look_up();
        let on_toggle = Closure::<dyn Fn(web_sys::Event)>::new(move |_| look_up());
        let _ = popover.add_event_listener_with_callback("toggle", on_toggle.as_ref().unchecked_ref());
        // The popover lives as long as the page; so does its listener.
        on_toggle.forget();
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = tool;
    let details = move || match usage.value().get() {
        _ if usage.pending().get() => view! { <p class="text-slate-500">"Looking up who called it…"</p> }.into_any(),
        Some(Ok(impact)) if impact.tenants.is_empty() => {
            view! { <p data-testid="tool-impact-none">{format!("No tenant called it in the last {} days.", impact.days)}</p> }.into_any()
        }
        Some(Ok(impact)) => view! { <ImpactTable impact/> }.into_any(),
        Some(Err(error)) => view! { <ActionError error/> }.into_any(),
        None => ().into_any(),
    };
    view! { <div node_ref=marker class="mt-3 text-sm">{details}</div> }
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
