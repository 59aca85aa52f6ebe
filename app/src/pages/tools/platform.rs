//! The platform's view of Tools & Sources: sources, tools with their switches and exposure.

use charter_store::{CatalogEntry, Exposure, TenantId, ToolSource};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::impact::{SwitchOff, SwitchOffDialog};
use super::{AddSource, CatalogView, DeleteSource, ExposeTool, ToggleTool};
use crate::components::feedback::ConfirmPost;
use crate::components::ui::{Card, EmptyState, ErrorPanel, FileText, PageHeader, Toggle, BUTTON, BUTTON_SECONDARY, INPUT};
use crate::pages::policies::TenantOption;

#[component]
pub(super) fn PlatformCatalog(catalog: CatalogView, add: ServerAction<AddSource>, toggle: ServerAction<ToggleTool>) -> impl IntoView {
    let can_write = catalog.can_write;
    // The header counts the tools agents call; Charter's own are counted on their own card.
    let agents_sources = || catalog.sources.iter().filter(|s| !s.builtin);
    let total: i64 = agents_sources().map(|s| s.tool_count).sum();
    let enabled: i64 = agents_sources().map(|s| s.enabled_count).sum();
    let imported = agents_sources().count();
    let tools = StoredValue::new(catalog.tools);
    let switching_off = RwSignal::new(None::<SwitchOff>);
    provide_context(switching_off);
    provide_context(StoredValue::new(catalog.tenants));
    let exposing = RwSignal::new(None::<CatalogEntry>);
    provide_context(exposing);
    view! {
        <SwitchOffDialog switching_off toggle/>
        <ExposureDialog exposing/>
        <PageHeader title="Tools & Sources" subtitle=format!("{enabled} of {total} tools enabled across {imported} sources. A disabled tool is denied on the next call.")/>
        <div class="space-y-6">
            {can_write.then(|| view! { <AddSourceForm add/> <super::upstream::ConnectUpstreamForm/> })}
            {(imported == 0).then(|| view! { <Card><EmptyState message="No sources of agents' tools yet: every tool is enabled until a catalog exists."/></Card> })}
            {catalog.sources.into_iter().map(|source| {
                let source_tools = tools.with_value(|all| all.iter().filter(|t| t.source_id == source.id).cloned().collect::<Vec<_>>());
                view! { <SourceCard source tools=source_tools can_write toggle/> }
            }).collect_view()}
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
fn SourceCard(source: ToolSource, tools: Vec<CatalogEntry>, can_write: bool, toggle: ServerAction<ToggleTool>) -> impl IntoView {
    let id = source.id.to_string();
    let kind = match (source.builtin, source.endpoint.is_some()) {
        (true, _) => "Charter's own MCP tools, for assistants",
        (false, true) => "MCP server, through the gateway",
        (false, false) => source.kind.label(),
    };
    view! {
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm" data-testid="source-card">
            <div class="flex flex-wrap items-center justify-between gap-2 px-5 py-3 border-b border-slate-200">
                <div>
                    <h2 class="font-semibold">{source.name.clone()}</h2>
                    <p class="text-xs text-slate-500">{if source.builtin { kind.to_owned() } else { format!("{kind} · added by {}", source.created_by) }}</p>
                </div>
                <div class="flex items-center gap-3">
                    <span class="text-sm font-medium" data-testid="source-count">{format!("{} of {} enabled", source.enabled_count, source.tool_count)}</span>
                    {(can_write && !source.builtin).then(|| view! {
                        <ConfirmPost
                            id=format!("remove-source-{id}")
                            button="Remove"
                            title=format!("Remove {}?", source.name)
                            message="Its tools leave the catalog and are denied on the next call. Added again later, they are new tools: enabled or not as you choose then, exposed to every tenant, and no tenant's switch is kept."
                            confirm_label="Remove source"
                            action=DeleteSource::url()
                            fields=vec![("id", id.clone())]
                        />
                    })}
                </div>
            </div>
            {source.endpoint.is_some().then(|| view! { <super::upstream::UpstreamLine source=source.clone() can_write/> })}
            <div class="p-3"><ToolTable tools can_write toggle=Some(toggle)/></div>
        </section>
    }
}

#[component]
pub(super) fn ToolTable(tools: Vec<CatalogEntry>, can_write: bool, toggle: Option<ServerAction<ToggleTool>>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-sm">
                <thead class="text-left text-xs uppercase text-slate-500"><tr>
                    <th class="px-2 py-1">"Tool"</th><th class="px-2 py-1">"Method"</th><th class="px-2 py-1">"Path"</th><th class="px-2 py-1">"Description"</th><th class="px-2 py-1">"Exposed to"</th><th class="px-2 py-1">"Enabled"</th>
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
                                <td class="px-2 py-2"><ExposureCell tool=tool.clone() can_write/></td>
                                <td class="px-2 py-2">
                                    {if can_write {
                                        let switching_off = use_context::<RwSignal<Option<SwitchOff>>>();
                                        let id = id.clone();
                                        let on_click = Callback::new(move |_| {
                                            let Some(toggle) = toggle else { return };
                                            match (enabled, switching_off) {
                                                // Off affects every tenant: ask first, showing who would be stopped.
                                                (true, Some(switching_off)) => switching_off.set(Some(SwitchOff { id: id.to_string(), name: name.get_value() })),
                                                _ => { toggle.dispatch(ToggleTool { id: id.to_string(), enabled: !enabled }); }
                                            }
                                        });
                                        view! { <Toggle on=enabled label=label.clone() on_click/> }.into_any()
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

/// Words for whom a tool is exposed to, naming tenants when their names are known.
pub(super) fn exposure_words(exposure: &Exposure, tenants: &[TenantOption]) -> String {
    match exposure {
        Exposure::Everyone => "every tenant".to_owned(),
        Exposure::Chosen { tenants: chosen, plans } => {
            let name = |id: &TenantId| tenants.iter().find(|t| t.id == id.as_str()).map(|t| t.name.clone()).unwrap_or_else(|| id.to_string());
            let mut parts: Vec<String> = chosen.iter().map(name).collect();
            parts.extend(plans.iter().map(|plan| format!("plan {plan}")));
            match parts.len() {
                0 => "no tenant".to_owned(),
                1..=3 => parts.join(", "),
                n => format!("{} and {} more", parts.iter().take(2).cloned().collect::<Vec<_>>().join(", "), n - 2),
            }
        }
    }
}

/// Whom the tool is exposed to, and for platform admins a button to change it.
#[component]
fn ExposureCell(tool: CatalogEntry, can_write: bool) -> impl IntoView {
    let tenants = expect_context::<StoredValue<Vec<TenantOption>>>();
    let exposing = expect_context::<RwSignal<Option<CatalogEntry>>>();
    let words = tenants.with_value(|tenants| exposure_words(&tool.exposure, tenants));
    let label = format!("Choose who gets {}", tool.name);
    let tool = StoredValue::new(tool);
    view! {
        <span class="text-xs text-slate-700" data-testid="tool-exposure">{words}</span>
        {can_write.then(|| view! {
            <button type="button" class="ml-2 text-xs text-indigo-700 underline" aria-label=label on:click=move |_| exposing.set(Some(tool.get_value()))>"Change"</button>
        })}
    }
}

/// Chooses whom a tool is exposed to: every tenant, or the tenants ticked and the plans named.
#[component]
fn ExposureDialog(exposing: RwSignal<Option<CatalogEntry>>) -> impl IntoView {
    let expose = expect_context::<ServerAction<ExposeTool>>();
    let tenants = expect_context::<StoredValue<Vec<TenantOption>>>();
    let everyone = RwSignal::new(true);
    let chosen = RwSignal::new(Vec::<String>::new());
    let plans = RwSignal::new(String::new());
    // Opening the dialog starts from the tool's present exposure.
    Effect::new(move |_| {
        if let Some(tool) = exposing.get() {
            match &tool.exposure {
                Exposure::Everyone => {
                    everyone.set(true);
                    chosen.set(Vec::new());
                    plans.set(String::new());
                }
                Exposure::Chosen { tenants: ids, plans: named } => {
                    everyone.set(false);
                    let slugs = tenants.with_value(|all| all.iter().filter(|t| ids.iter().any(|id| id.as_str() == t.id)).map(|t| t.slug.clone()).collect());
                    chosen.set(slugs);
                    plans.set(named.join(", "));
                }
            }
        }
    });
    // A saved choice closes the dialog.
    Effect::new(move |_| {
        if let Some(Ok(_)) = expose.value().get() {
            exposing.set(None);
        }
    });
    let save = move |_| {
        let Some(tool) = exposing.get_untracked() else { return };
        let plans = plans.get_untracked().split(',').map(str::trim).filter(|plan| !plan.is_empty()).map(str::to_owned).collect();
        expose.dispatch(ExposeTool { id: tool.id.to_string(), everyone: everyone.get_untracked(), tenants: chosen.get_untracked(), plans });
    };
    view! {
        {move || exposing.get().map(|tool| view! {
            <div class="fixed inset-0 z-40 grid place-items-center bg-slate-900/40 px-4">
                <div role="dialog" aria-modal="true" aria-labelledby="exposure-title" class="bg-white rounded-xl shadow-xl max-w-lg w-full p-6">
                    <h2 id="exposure-title" class="text-lg font-semibold">{format!("Who gets {}?", tool.name)}</h2>
                    <p class="mt-1 text-sm text-slate-600">"A tenant that does not get the tool is denied every call of it; a tenant that gets it may still switch it off for itself."</p>
                    <fieldset class="mt-4 space-y-2 text-sm">
                        <label class="flex items-center gap-2"><input type="radio" name="exposure" prop:checked=move || everyone.get() on:change=move |_| everyone.set(true)/>"Every tenant"</label>
                        <label class="flex items-center gap-2"><input type="radio" name="exposure" prop:checked=move || !everyone.get() on:change=move |_| everyone.set(false)/>"Only the tenants and plans chosen here"</label>
                    </fieldset>
                    <div class="mt-3 space-y-3" class:opacity-50=move || everyone.get()>
                        <div class="max-h-48 overflow-y-auto rounded-md border border-slate-200 p-2 space-y-1 text-sm">
                            {tenants.get_value().into_iter().map(|tenant| {
                                let slug = StoredValue::new(tenant.slug.clone());
                                view! {
                                    <label class="flex items-center gap-2">
                                        <input type="checkbox" disabled=move || everyone.get()
                                            prop:checked=move || chosen.with(|chosen| chosen.contains(&slug.get_value()))
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                chosen.update(|chosen| {
                                                    chosen.retain(|s| *s != slug.get_value());
                                                    if on { chosen.push(slug.get_value()); }
                                                });
                                            }/>
                                        {tenant.name}
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                        <label class="block text-sm"><span class="block text-slate-600 mb-1">"Plans (every tenant on them; separate with commas)"</span>
                            <input id="exposure-plans" class=INPUT placeholder="enterprise" disabled=move || everyone.get() prop:value=move || plans.get() on:input=move |ev| plans.set(event_target_value(&ev))/></label>
                    </div>
                    {move || expose.value().get().and_then(Result::err).map(|error| view! { <div class="mt-3"><ErrorPanel error/></div> })}
                    <div class="mt-5 flex justify-end gap-3">
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| exposing.set(None)>"Cancel"</button>
                        <button type="button" class=BUTTON disabled=move || expose.pending().get() on:click=save>"Save"</button>
                    </div>
                </div>
            </div>
        })}
    }
}
