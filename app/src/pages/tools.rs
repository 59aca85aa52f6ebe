//! Tools & Sources. Platform admins add sources (an OpenAPI 3 document or an MCP `tools/list`
//! answer, pasted or uploaded), see each source's "N of M enabled", and switch single tools on
//! and off; a disabled tool is denied by the very next decision, so switching one off first shows
//! which tenants called it in the last week and asks. Support sees the same, read-only.
//! Tenant admins see the enabled tools they can write rules for.

use charter_store::{CatalogEntry, ToolSource, ToolUsage as TenantCalls};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::feedback::{ConfirmDialog, Toasts};
use crate::components::ui::{
    counted, format_count, format_time, Card, EmptyState, ErrorPanel, FileText, LoadingPanel, PageHeader, BUTTON, BUTTON_DANGER, INPUT,
};
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogView {
    pub sources: Vec<ToolSource>,
    pub tools: Vec<CatalogEntry>,
    pub platform_view: bool,
    pub can_write: bool,
}

#[server(endpoint = "tools/catalog")]
pub async fn tool_catalog() -> Result<CatalogView, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    let catalog = core()?.catalog(&access).await?;
    let can_write = access.may(charter_core::Action::WriteCatalog, &charter_store::Owner::Platform).is_ok();
    Ok(CatalogView { sources: catalog.sources, tools: catalog.tools, platform_view: access.is_platform_staff(), can_write })
}

#[server(endpoint = "tools/add_source")]
pub async fn add_source(name: String, document: String, enabled: bool) -> Result<ToolSource, AppError> {
    use crate::auth::server::{access, core};
    Ok(core()?.add_source(&access()?, &name, &document, enabled).await?)
}

#[server(endpoint = "tools/toggle")]
pub async fn toggle_tool(id: String, enabled: bool) -> Result<CatalogEntry, AppError> {
    use crate::auth::server::{access, core};
    Ok(core()?.toggle_tool(&access()?, &id.into(), enabled).await?)
}

/// Who called a tool lately: what switching it off would stop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolImpact {
    /// How many days back the calls were counted.
    pub days: i64,
    /// The tenants that called it, the busiest first.
    pub tenants: Vec<TenantCalls>,
}

/// Which tenants called the tool lately: shown before it is switched off.
#[server(name = ImpactOf, endpoint = "tools/usage")]
pub async fn tool_usage(tool: String) -> Result<ToolImpact, AppError> {
    use crate::auth::server::{access, core};
    let tenants = core()?.tool_usage(&access()?, &tool).await?;
    Ok(ToolImpact { days: charter_core::TOOL_USAGE_DAYS, tenants })
}

#[server(endpoint = "tools/delete_source")]
pub async fn delete_source(id: String) -> Result<(), AppError> {
    use crate::auth::server::{access, core};
    core()?.delete_source(&access()?, &id.into()).await?;
    Ok(())
}

#[component]
pub fn ToolsPage() -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    let add = ServerAction::<AddSource>::new();
    let toggle = ServerAction::<ToggleTool>::new();
    let remove = ServerAction::<DeleteSource>::new();
    Effect::new(move |_| match add.value().get() {
        Some(Ok(source)) => toasts.success(format!("Added {} with {} tools.", source.name, source.tool_count)),
        Some(Err(error)) => toasts.error(format!("Source not added: {error}")),
        None => {}
    });
    Effect::new(move |_| match toggle.value().get() {
        Some(Ok(tool)) => toasts.success(format!("{} is now {}.", tool.name, if tool.enabled { "enabled" } else { "disabled" })),
        Some(Err(error)) => toasts.error(format!("Not changed: {error}")),
        None => {}
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => toasts.success("Source removed."),
        Some(Err(error)) => toasts.error(format!("Not removed: {error}")),
        None => {}
    });
    let catalog = Resource::new(move || (add.version().get(), toggle.version().get(), remove.version().get()), |_| tool_catalog());
    view! {
        <Title text="Tools & Sources"/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Ok(catalog) if catalog.platform_view => view! { <PlatformCatalog catalog add toggle remove/> }.into_any(),
                    Ok(catalog) => view! { <TenantCatalog tools=catalog.tools/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TenantCatalog(tools: Vec<CatalogEntry>) -> impl IntoView {
    view! {
        <PageHeader title="Tools" subtitle="The tools the platform has enabled. Your rules can name any of them."/>
        <Card>
            {if tools.is_empty() {
                view! { <EmptyState message="The platform has no tool catalog yet: every tool is enabled."/> }.into_any()
            } else {
                view! { <ToolTable tools can_write=false toggle=None/> }.into_any()
            }}
        </Card>
    }
}

#[component]
fn PlatformCatalog(catalog: CatalogView, add: ServerAction<AddSource>, toggle: ServerAction<ToggleTool>, remove: ServerAction<DeleteSource>) -> impl IntoView {
    let can_write = catalog.can_write;
    let total: i64 = catalog.sources.iter().map(|s| s.tool_count).sum();
    let enabled: i64 = catalog.sources.iter().map(|s| s.enabled_count).sum();
    let tools = StoredValue::new(catalog.tools);
    let switching_off = RwSignal::new(None::<SwitchOff>);
    provide_context(switching_off);
    view! {
        <SwitchOffDialog switching_off toggle/>
        <PageHeader title="Tools & Sources" subtitle=format!("{enabled} of {total} tools enabled across {} sources. A disabled tool is denied on the next call.", catalog.sources.len())/>
        <div class="space-y-6">
            {can_write.then(|| view! { <AddSourceForm add/> })}
            {if catalog.sources.is_empty() {
                view! { <Card><EmptyState message="No sources yet: every tool is enabled until a catalog exists."/></Card> }.into_any()
            } else {
                catalog.sources.into_iter().map(|source| {
                    let source_tools = tools.with_value(|all| all.iter().filter(|t| t.source_id == source.id).cloned().collect::<Vec<_>>());
                    view! { <SourceCard source tools=source_tools can_write toggle remove/> }
                }).collect_view().into_any()
            }}
        </div>
    }
}

#[component]
fn AddSourceForm(add: ServerAction<AddSource>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let document = RwSignal::new(String::new());
    let enabled = RwSignal::new(true);
    view! {
        <Card title="Add a source">
            <form class="space-y-3" on:submit=move |ev| {
                ev.prevent_default();
                add.dispatch(AddSource { name: name.get_untracked(), document: document.get_untracked(), enabled: enabled.get_untracked() });
            }>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"Name"</span>
                    <input id="source-name" class=INPUT placeholder="Payments API" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                <div class="text-sm">
                    <label for="source-file" class="block text-slate-600 mb-1">"Upload an OpenAPI 3 document (JSON or YAML) or an MCP tools/list answer"</label>
                    <FileText id="source-file" accept=".json,.yaml,.yml" on_text=Callback::new(move |text| document.set(text))/>
                </div>
                <label class="block text-sm"><span class="block text-slate-600 mb-1">"…or paste it"</span>
                    <textarea id="source-document" rows="8" class=format!("{INPUT} font-mono") placeholder="openapi: 3.0.0 …" prop:value=move || document.get() on:input=move |ev| document.set(event_target_value(&ev))></textarea></label>
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                    "Enable the new tools at once"
                </label>
                <button type="submit" class=BUTTON disabled=move || add.pending().get()>"Import tools"</button>
                {move || add.value().get().and_then(|r| r.err()).map(|error| view! { <ErrorPanel error/> })}
            </form>
        </Card>
    }
}

#[component]
fn SourceCard(
    source: ToolSource,
    tools: Vec<CatalogEntry>,
    can_write: bool,
    toggle: ServerAction<ToggleTool>,
    remove: ServerAction<DeleteSource>,
) -> impl IntoView {
    let confirm = RwSignal::new(false);
    let id = source.id.clone();
    let kind = source.kind.label();
    view! {
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm" data-testid="source-card">
            <div class="flex flex-wrap items-center justify-between gap-2 px-5 py-3 border-b border-slate-200">
                <div>
                    <h2 class="font-semibold">{source.name.clone()}</h2>
                    <p class="text-xs text-slate-500">{format!("{kind} · added by {}", source.created_by)}</p>
                </div>
                <div class="flex items-center gap-3">
                    <span class="text-sm font-medium" data-testid="source-count">{format!("{} of {} enabled", source.enabled_count, source.tool_count)}</span>
                    {can_write.then(|| view! { <button type="button" class=BUTTON_DANGER on:click=move |_| confirm.set(true)>"Remove"</button> })}
                </div>
            </div>
            <div class="p-3"><ToolTable tools can_write toggle=Some(toggle)/></div>
            <ConfirmDialog open=confirm title=format!("Remove {}?", source.name) message="Its tools leave the catalog and are denied on the next call." confirm_label="Remove source"
                on_confirm=Callback::new(move |_| { remove.dispatch(DeleteSource { id: id.to_string() }); })/>
        </section>
    }
}

#[component]
fn ToolTable(tools: Vec<CatalogEntry>, can_write: bool, toggle: Option<ServerAction<ToggleTool>>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-sm">
                <thead class="text-left text-xs uppercase text-slate-500"><tr>
                    <th class="px-2 py-1">"Tool"</th><th class="px-2 py-1">"Method"</th><th class="px-2 py-1">"Path"</th><th class="px-2 py-1">"Description"</th><th class="px-2 py-1">"Enabled"</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {tools.into_iter().map(|tool| {
                        let id = tool.id.clone();
                        let enabled = tool.enabled;
                        let label = format!("Enable {}", tool.name);
                        let name = StoredValue::new(tool.name.clone());
                        view! {
                            <tr data-testid="tool-row" data-tool=tool.name.clone()>
                                <td class="px-2 py-2 font-mono text-xs">{tool.name.clone()}</td>
                                <td class="px-2 py-2">{tool.method.clone().map(|m| view! { <span class="text-xs font-semibold text-slate-700 bg-slate-100 rounded px-1.5 py-0.5">{m}</span> })}</td>
                                <td class="px-2 py-2 font-mono text-xs text-slate-600">{tool.path.clone().unwrap_or_default()}</td>
                                <td class="px-2 py-2 text-slate-600">{tool.description.clone()}</td>
                                <td class="px-2 py-2">
                                    {if can_write {
                                        view! {
                                            <button
                                                type="button"
                                                role="switch"
                                                aria-checked=enabled.to_string()
                                                aria-label=label
                                                class=if enabled { "relative inline-flex h-5 w-9 rounded-full bg-emerald-500 focus:outline-none focus:ring-2 focus:ring-indigo-500" } else { "relative inline-flex h-5 w-9 rounded-full bg-slate-300 focus:outline-none focus:ring-2 focus:ring-indigo-500" }
                                                on:click=move |_| {
                                                    let Some(toggle) = toggle else { return };
                                                    match (enabled, use_context::<RwSignal<Option<SwitchOff>>>()) {
                                                        // Off affects every tenant: ask first, showing who would be stopped.
                                                        (true, Some(switching_off)) => switching_off.set(Some(SwitchOff { id: id.to_string(), name: name.get_value() })),
                                                        _ => { toggle.dispatch(ToggleTool { id: id.to_string(), enabled: !enabled }); }
                                                    }
                                                }
                                            >
                                                <span class=if enabled { "absolute top-0.5 left-4 h-4 w-4 rounded-full bg-white shadow" } else { "absolute top-0.5 left-0.5 h-4 w-4 rounded-full bg-white shadow" }></span>
                                            </button>
                                        }.into_any()
                                    } else {
                                        // Read-only viewers get the state in words, not a control.
                                        view! { <span class="text-xs" data-testid="tool-state">{if enabled { "Enabled" } else { "Disabled" }}</span> }.into_any()
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

/// The tool a platform admin asked to switch off, waiting for their confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SwitchOff {
    id: String,
    name: String,
}

/// Asks before a tool is switched off for every tenant, listing the tenants that called it in the
/// last week and how often, so the admin sees whom it stops.
#[component]
fn SwitchOffDialog(switching_off: RwSignal<Option<SwitchOff>>, toggle: ServerAction<ToggleTool>) -> impl IntoView {
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
