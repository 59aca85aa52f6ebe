//! The platform's view of Tools & Sources: sources, tools with their switches and exposure.

use charter_store::{CatalogEntry, Exposure, TenantId, ToolSource};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::impact::SwitchOffPost;
use super::{AddSource, CatalogView, DeleteSource, ExposeTool, ToggleTool};
use crate::components::feedback::ConfirmPost;
use crate::components::ui::{Card, EmptyState, FileText, FormRefusal, PageHeader, SwitchPost, BUTTON, BUTTON_SECONDARY, INPUT};
use crate::island_code::PreloadIslands;
use crate::pages::policies::TenantOption;

#[component]
pub(super) fn PlatformCatalog(catalog: CatalogView) -> impl IntoView {
    let can_write = catalog.can_write;
    // The header counts the tools agents call; Charter's own are counted on their own card.
    let agents_sources = || catalog.sources.iter().filter(|s| !s.builtin);
    let total: i64 = agents_sources().map(|s| s.tool_count).sum();
    let enabled: i64 = agents_sources().map(|s| s.enabled_count).sum();
    let imported = agents_sources().count();
    let tools = StoredValue::new(catalog.tools);
    provide_context(StoredValue::new(catalog.tenants));
    view! {
        <PageHeader title="Tools & Sources" subtitle=format!("{enabled} of {total} tools enabled across {imported} sources. A disabled tool is denied on the next call.")/>
        <div class="space-y-6">
            {can_write.then(|| view! {
                <PreloadIslands islands=&["add_source_form", "connect_upstream_form", "impact_lookup"]/>
                <AddSourceForm/>
                <super::upstream::ConnectUpstreamForm/>
            })}
            {(imported == 0).then(|| view! { <Card><EmptyState message="No sources of agents' tools yet: every tool is enabled until a catalog exists."/></Card> })}
            {catalog.sources.into_iter().map(|source| {
                let source_tools = tools.with_value(|all| all.iter().filter(|t| t.source_id == source.id).cloned().collect::<Vec<_>>());
                view! { <SourceCard source tools=source_tools can_write/> }
            }).collect_view()}
        </div>
    }
}

/// Imports a source from a document pasted or uploaded. It needs nothing from the page around it:
/// once the source is added, the page loads again with it in the catalog and says so. A refused
/// document stays in the form, with the reason beside it.
#[island(lazy)]
fn AddSourceForm() -> impl IntoView {
    let add = ServerAction::<AddSource>::new();
    reload_when_done(add);
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
                {move || add.value().get().and_then(|r| r.err()).map(|error| view! { <FormRefusal message=format!("Source not added: {error}")/> })}
            </form>
        </Card>
    }
}

#[component]
fn SourceCard(source: ToolSource, tools: Vec<CatalogEntry>, can_write: bool) -> impl IntoView {
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
            <div class="p-3"><ToolTable tools can_write/></div>
        </section>
    }
}

#[component]
pub(super) fn ToolTable(tools: Vec<CatalogEntry>, can_write: bool) -> impl IntoView {
    view! {
        <div class="overflow-x-auto">
            <table class="min-w-full text-sm">
                <thead class="text-left text-xs uppercase text-slate-500"><tr>
                    <th class="px-2 py-1">"Tool"</th><th class="px-2 py-1">"Method"</th><th class="px-2 py-1">"Path"</th><th class="px-2 py-1">"Description"</th><th class="px-2 py-1">"Exposed to"</th><th class="px-2 py-1">"Enabled"</th>
                </tr></thead>
                <tbody class="divide-y divide-slate-100">
                    {tools.into_iter().map(|tool| {
                        let id = tool.id.to_string();
                        let enabled = tool.enabled;
                        let name = tool.name.clone();
                        view! {
                            <tr data-testid="tool-row" data-tool=tool.name.clone()>
                                <td class="px-2 py-2 font-mono text-xs">{tool.name.clone()}</td>
                                <td class="px-2 py-2">{tool.method.clone().map(|m| view! { <span class="text-xs font-semibold text-slate-700 bg-slate-100 rounded px-1.5 py-0.5">{m}</span> })}</td>
                                <td class="px-2 py-2 font-mono text-xs text-slate-600">{tool.path.clone().unwrap_or_default()}</td>
                                <td class="px-2 py-2 text-slate-600">{tool.description.clone()}</td>
                                <td class="px-2 py-2"><ExposureCell tool=tool.clone() can_write/></td>
                                <td class="px-2 py-2">
                                    {match (can_write, enabled) {
                                        // Off affects every tenant: it asks first, showing who would be stopped.
                                        (true, true) => view! { <SwitchOffPost id name/> }.into_any(),
                                        (true, false) => {
                                            let fields = vec![("id", id), ("enabled", "true".to_owned())];
                                            view! { <SwitchPost on=false label=format!("Enable {name}") action=ToggleTool::url() fields/> }.into_any()
                                        }
                                        // Read-only viewers get the state in words, not a control.
                                        (false, _) => view! { <span class="text-xs" data-testid="tool-state">{if enabled { "Enabled" } else { "Disabled" }}</span> }.into_any(),
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

/// Whom the tool is exposed to, and for platform admins a button to change it: the browser's own
/// popover with a plain form (every tenant, or the tenants ticked and the plans named), so it
/// works without the bundle; the page loads again with the new exposure and says so.
#[component]
fn ExposureCell(tool: CatalogEntry, can_write: bool) -> impl IntoView {
    let tenants = expect_context::<StoredValue<Vec<TenantOption>>>();
    let words = tenants.with_value(|tenants| exposure_words(&tool.exposure, tenants));
    view! {
        <span class="text-xs text-slate-700" data-testid="tool-exposure">{words}</span>
        {can_write.then(|| view! { <ExposureForm tool tenants=tenants.get_value()/> })}
    }
}

#[component]
fn ExposureForm(tool: CatalogEntry, tenants: Vec<TenantOption>) -> impl IntoView {
    let popover = format!("expose-{}", tool.id);
    let (opener, closer, title_id) = (popover.clone(), popover.clone(), format!("{popover}-title"));
    let labelled_by = title_id.clone();
    let (everyone, chosen, plans) = match &tool.exposure {
        Exposure::Everyone => (true, Vec::new(), String::new()),
        Exposure::Chosen { tenants: ids, plans } => (false, ids.iter().map(|id| id.to_string()).collect::<Vec<_>>(), plans.join(", ")),
    };
    view! {
        <button type="button" class="ml-2 text-xs text-indigo-700 underline" aria-label=format!("Choose who gets {}", tool.name) popovertarget=opener>"Change"</button>
        <div id=popover popover="auto" role="dialog" aria-labelledby=labelled_by class="m-auto w-[calc(100vw-2rem)] max-w-lg rounded-xl bg-white p-6 text-left shadow-xl backdrop:bg-slate-900/50">
            <h2 id=title_id class="text-lg font-semibold">{format!("Who gets {}?", tool.name)}</h2>
            <p class="mt-1 text-sm text-slate-600">"A tenant that does not get the tool is denied every call of it; a tenant that gets it may still switch it off for itself."</p>
            <form method="post" action=ExposeTool::url()>
                <input type="hidden" name="id" value=tool.id.to_string()/>
                <fieldset class="mt-4 space-y-2 text-sm">
                    <label class="flex items-center gap-2"><input type="radio" name="everyone" value="true" checked=everyone/>"Every tenant"</label>
                    <label class="flex items-center gap-2"><input type="radio" name="everyone" value="false" checked=!everyone/>"Only the tenants and plans chosen here"</label>
                </fieldset>
                // Counted only for "Only the tenants and plans chosen here".
                <div class="mt-3 space-y-3">
                    <fieldset class="max-h-48 overflow-y-auto rounded-md border border-slate-200 p-2 space-y-1 text-sm">
                        <legend class="sr-only">"Tenants"</legend>
                        {tenants.into_iter().map(|tenant| {
                            let ticked = chosen.contains(&tenant.id);
                            view! { <label class="flex items-center gap-2"><input type="checkbox" name="tenants[]" value=tenant.slug checked=ticked/>{tenant.name}</label> }
                        }).collect_view()}
                    </fieldset>
                    <label class="block text-sm"><span class="block text-slate-600 mb-1">"Plans (every tenant on them; separate with commas)"</span>
                        <input name="plans" class=INPUT placeholder="enterprise" value=plans/></label>
                </div>
                <div class="mt-5 flex justify-end gap-3">
                    <button type="button" autofocus class=BUTTON_SECONDARY popovertarget=closer popovertargetaction="hide">"Cancel"</button>
                    <button type="submit" class=BUTTON>"Save"</button>
                </div>
            </form>
        </div>
    }
}

/// Loads the page again once `action` has succeeded: the server keeps its message for that page.
pub(super) fn reload_when_done<A>(action: ServerAction<A>)
where
    A: leptos::server_fn::ServerFn + Clone + Send + Sync + 'static,
    A::Output: Send + Sync + 'static,
    A::Error: Send + Sync + 'static,
{
    Effect::new(move |_| {
        if action.value().with(|value| matches!(value, Some(Ok(_)))) {
            crate::components::feedback::reload_page();
        }
    });
}
