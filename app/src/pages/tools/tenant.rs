//! A tenant's view of its tools: what the platform exposes to it, each with the tenant's own
//! switch. A tool switched off is denied for the tenant's agents (or, for Charter's policy tools,
//! absent from its assistants' MCP tools) from the next call; switching it on again restores it.

use charter_store::{TenantTool, CHARTER_TOOL_PREFIX};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::SwitchTool;
use crate::components::ui::{Card, EmptyState, PageHeader, SwitchPost};

#[component]
pub(super) fn TenantCatalog(tools: Vec<TenantTool>, can_switch: bool, governed: bool) -> impl IntoView {
    let (ours, agents): (Vec<TenantTool>, Vec<TenantTool>) = tools.into_iter().partition(|tool| tool.tool.name.starts_with(CHARTER_TOOL_PREFIX));
    view! {
        <PageHeader title="Tools" subtitle="The tools the platform makes available to your tenant. Switch off what your tenant should not use: its calls are denied from the next one."/>
        <div class="space-y-6">
            <Card title="Tools your agents call">
                {if !governed {
                    view! { <EmptyState message="The platform has no tool catalog yet: every tool is enabled, and your rules decide."/> }.into_any()
                } else if agents.is_empty() {
                    view! { <EmptyState message="The platform makes none of its tools available to your tenant: every call is denied."/> }.into_any()
                } else {
                    view! { <SwitchTable tools=agents can_switch/> }.into_any()
                }}
            </Card>
            <Card title="Charter policy tools (for your AI assistant)">
                {if ours.is_empty() {
                    view! { <EmptyState message="The platform makes none of Charter's policy tools available to your tenant."/> }.into_any()
                } else {
                    view! { <SwitchTable tools=ours can_switch/> }.into_any()
                }}
            </Card>
        </div>
    }
}

#[component]
fn SwitchTable(tools: Vec<TenantTool>, can_switch: bool) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-sm">
                <thead class="text-left text-xs uppercase text-slate-500"><tr>
                    <th class="px-2 py-1">"Tool"</th><th class="px-2 py-1">"Method"</th><th class="px-2 py-1">"Path"</th><th class="px-2 py-1">"Description"</th><th class="px-2 py-1">"For your tenant"</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {tools.into_iter().map(|TenantTool { tool, on }| {
                        let label = format!("Use {}", tool.name);
                        // The switch posts the state it turns the tool to.
                        let fields = vec![("tool", tool.name.clone()), ("on", (!on).to_string())];
                        view! {
                            <tr data-testid="tool-row" data-tool=tool.name.clone()>
                                <td class="px-2 py-2 font-mono text-xs">{tool.name.clone()}</td>
                                <td class="px-2 py-2">{tool.method.clone().map(|m| view! { <span class="text-xs font-semibold text-slate-700 bg-slate-100 rounded px-1.5 py-0.5">{m}</span> })}</td>
                                <td class="px-2 py-2 font-mono text-xs text-slate-600">{tool.path.clone().unwrap_or_default()}</td>
                                <td class="px-2 py-2 text-slate-600">{tool.description.clone()}</td>
                                <td class="px-2 py-2">
                                    {if can_switch {
                                        view! { <SwitchPost on label action=SwitchTool::url() fields/> }.into_any()
                                    } else {
                                        view! { <span class="text-xs" data-testid="tool-state">{if on { "On" } else { "Switched off" }}</span> }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
