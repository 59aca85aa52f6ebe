//! Upstream MCP servers on Tools & Sources: a platform admin connects one (its tools join the
//! catalog; agents call them through the MCP gateway, where Charter decides every call) and reads
//! its tools again when they change.

use charter_store::ToolSource;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::{ConnectUpstream, RefreshUpstream};
use crate::components::ui::{Card, FormRefusal, BUTTON, BUTTON_SECONDARY, INPUT};

/// Connects an upstream MCP server. It needs nothing from the page around it: once connected, the
/// page loads again with the new source and says so.
#[island(lazy)]
pub(super) fn ConnectUpstreamForm() -> impl IntoView {
    let connect = ServerAction::<ConnectUpstream>::new();
    super::platform::reload_when_done(connect);
    let name = RwSignal::new(String::new());
    let endpoint = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let prefix = RwSignal::new(String::new());
    let enabled = RwSignal::new(false);
    view! {
        <Card title="Connect an MCP server">
            <p class="text-sm text-slate-600 mb-3">
                "Charter reads the tools a Streamable HTTP MCP server lists. Agents then call them through the MCP gateway, which decides every call, masks answers and holds calls for approval."
            </p>
            <form class="grid gap-3 md:grid-cols-2" on:submit=move |ev| {
                ev.prevent_default();
                connect.dispatch(ConnectUpstream {
                    name: name.get_untracked(),
                    endpoint: endpoint.get_untracked(),
                    token: token.get_untracked(),
                    tool_prefix: prefix.get_untracked(),
                    enabled: enabled.get_untracked(),
                });
            }>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Server name"</span>
                    <input id="upstream-name" class=INPUT placeholder="CRM" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Endpoint (Streamable HTTP)"</span>
                    <input id="upstream-endpoint" type="url" class=INPUT placeholder="https://crm.example/mcp" prop:value=move || endpoint.get() on:input=move |ev| endpoint.set(event_target_value(&ev))/></label>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Bearer token (optional; never shown again)"</span>
                    <input id="upstream-token" type="password" autocomplete="off" class=INPUT prop:value=move || token.get() on:input=move |ev| token.set(event_target_value(&ev))/></label>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Name prefix for its tools (optional)"</span>
                    <input id="upstream-prefix" class=INPUT placeholder="crm." prop:value=move || prefix.get() on:input=move |ev| prefix.set(event_target_value(&ev))/></label>
                <label class="flex items-center gap-2 text-sm md:col-span-2">
                    <input type="checkbox" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                    "Enable its tools at once"
                </label>
                <div class="md:col-span-2 space-y-2">
                    <button type="submit" class=BUTTON disabled=move || connect.pending().get()>
                        {move || if connect.pending().get() { "Connecting…" } else { "Connect" }}
                    </button>
                    {move || connect.value().get().and_then(|r| r.err()).map(|error| view! { <FormRefusal message=format!("Not connected: {error}")/> })}
                </div>
            </form>
        </Card>
    }
}

/// The endpoint of an upstream source, and (for platform admins) a button that reads its tools
/// again.
#[component]
pub(super) fn UpstreamLine(source: ToolSource, can_write: bool) -> impl IntoView {
    let endpoint = source.endpoint.clone().unwrap_or_default();
    let id = source.id.to_string();
    let auth = if source.authenticated { " · with a bearer token" } else { "" };
    let prefix = if source.tool_prefix.is_empty() { String::new() } else { format!(" · tools named {}…", source.tool_prefix) };
    view! {
        <div class="flex flex-wrap items-center gap-2 px-5 py-2 text-xs text-slate-600 border-b border-slate-100" data-testid="upstream">
            <span>"MCP server "<code class="font-mono">{endpoint}</code>{auth}{prefix}</span>
            {can_write.then(|| view! {
                <form method="post" action=RefreshUpstream::url()>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class=BUTTON_SECONDARY>"Read its tools again"</button>
                </form>
            })}
        </div>
    }
}
