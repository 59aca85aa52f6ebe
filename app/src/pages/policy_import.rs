//! Import: a file exported from the console (or kept in a repository) is validated as a whole,
//! previewed as the list of changes it would make with a diff for each, and applied in one
//! transaction: all of it lands, or none of it.

use charter_policy::Scope;
use charter_store::ImportAction;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ui::{ActionError, Card, ErrorPanel, FileText, FormRefusal, LoadingPanel, PageHeader, BUTTON, BUTTON_SECONDARY, INPUT};
use crate::island_code::PreloadIslands;
use crate::pages::audit::DiffLine;
use crate::pages::policy_editor::load_editor_context;
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChange {
    pub action: ImportAction,
    pub name: String,
    pub scope: Scope,
    pub agent: Option<String>,
    pub diff: Vec<DiffLine>,
    pub warnings: Vec<String>,
}

#[server(endpoint = "policies/import")]
pub async fn import_policies(tenant_slug: Option<String>, text: String, delete_missing: bool, apply: bool) -> Result<Vec<PlannedChange>, AppError> {
    use crate::auth::server::{access, core, target};
    use crate::pages::audit::diff_lines;
    let access = access()?;
    let changes = core()?.import_policies(&access, target(&access, tenant_slug.as_deref()), &text, delete_missing, !apply).await?;
    Ok(changes
        .into_iter()
        .map(|change| PlannedChange {
            diff: if change.action == ImportAction::Unchanged {
                Vec::new()
            } else {
                diff_lines(change.before.as_deref().unwrap_or(""), change.after.as_deref().unwrap_or(""))
            },
            action: change.action,
            name: change.name,
            scope: change.scope,
            agent: change.agent,
            warnings: change.warnings,
        })
        .collect())
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let context = Resource::new(|| (), |_| load_editor_context());
    view! {
        <Title text="Import policies"/>
        <PageHeader title="Import policies" subtitle="Bring in an exported file. You see every change before anything is written."/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match context.await {
                    Ok(context) => view! { <PreloadIslands islands=&["importer"]/><Importer tenants=context.tenants platform_view=context.platform_view/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The import form, its preview and what applying did. It needs nothing from the page around it.
#[island(lazy)]
fn Importer(tenants: Vec<crate::pages::policies::TenantOption>, platform_view: bool) -> impl IntoView {
    let target = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let delete_missing = RwSignal::new(false);
    let preview = ServerAction::<ImportPolicies>::new();
    let apply = ServerAction::<ImportPolicies>::new();
    // Any edit of the inputs invalidates the preview: apply only what was previewed.
    let previewed = RwSignal::new(false);
    Effect::new(move |_| {
        let _ = (target.get(), text.get(), delete_missing.get());
        previewed.set(false);
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = preview.value().get() {
            previewed.set(true);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = apply.value().get() {
            previewed.set(false);
        }
    });
    // What applying did, said under the form.
    let applied = move || {
        apply.value().get().map(|result| match result {
            Ok(changes) => {
                let changed = changes.iter().filter(|c| c.action != ImportAction::Unchanged).count();
                let noun = if changed == 1 { "policy" } else { "policies" };
                view! {
                    <p role="status" data-testid="import-result" class="rounded-md bg-emerald-50 border border-emerald-200 px-3 py-2 text-sm text-emerald-800">
                        {format!("Import applied: {changed} {noun} changed.")}
                    </p>
                }
                .into_any()
            }
            Err(error) => view! { <FormRefusal message=format!("Import not applied: {error}")/> }.into_any(),
        })
    };
    let request = move |apply: bool| ImportPolicies {
        tenant_slug: Some(target.get_untracked()).filter(|s| !s.is_empty()),
        text: text.get_untracked(),
        delete_missing: delete_missing.get_untracked(),
        apply,
    };
    view! {
        <div class="space-y-6">
            <Card>
                <form class="space-y-3" on:submit=move |ev| { ev.prevent_default(); preview.dispatch(request(false)); }>
                    {platform_view.then(|| view! {
                        <label class="block text-sm"><span class="block text-slate-600 mb-1">"Import into"</span>
                            <select id="import-target" class=INPUT on:change=move |ev| target.set(event_target_value(&ev))>
                                <option value="">"Platform policies"</option>
                                {tenants.into_iter().map(|t| view! { <option value=t.slug>{t.name}</option> }).collect_view()}
                            </select>
                        </label>
                    })}
                    <div class="text-sm">
                        <label for="import-file" class="block text-slate-600 mb-1">"Exported file (YAML or JSON)"</label>
                        <FileText id="import-file" accept=".yaml,.yml,.json" on_text=Callback::new(move |t| text.set(t))/>
                    </div>
                    <label class="block text-sm"><span class="block text-slate-600 mb-1">"…or paste it"</span>
                        <textarea id="import-text" rows="10" class=format!("{INPUT} font-mono") prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea></label>
                    <label class="flex items-center gap-2 text-sm">
                        <input id="import-delete-missing" type="checkbox" prop:checked=move || delete_missing.get() on:change=move |ev| delete_missing.set(event_target_checked(&ev))/>
                        "Delete policies that are not in the file"
                    </label>
                    <div class="flex gap-2">
                        <button type="submit" class=BUTTON_SECONDARY disabled=move || preview.pending().get()>"Preview changes"</button>
                        <button type="button" class=BUTTON disabled=move || !previewed.get() || apply.pending().get() on:click=move |_| { apply.dispatch(request(true)); }>"Apply import"</button>
                    </div>
                </form>
            </Card>
            {applied}
            {move || preview.value().get().map(|result| match result {
                Ok(changes) => view! { <ChangeList changes/> }.into_any(),
                Err(error) => view! { <ActionError error/> }.into_any(),
            })}
        </div>
    }
}

#[component]
fn ChangeList(changes: Vec<PlannedChange>) -> impl IntoView {
    let count = |action: ImportAction| changes.iter().filter(|c| c.action == action).count();
    let summary = format!(
        "{} to create, {} to update, {} to delete, {} unchanged",
        count(ImportAction::Create),
        count(ImportAction::Update),
        count(ImportAction::Delete),
        count(ImportAction::Unchanged)
    );
    view! {
        <Card title="What the import will do">
            <p class="text-sm text-slate-700 mb-3" data-testid="import-summary">{summary}</p>
            <ul class="space-y-3">
                {changes.into_iter().map(|change| {
                    let colour = match change.action {
                        ImportAction::Create => "bg-emerald-100 text-emerald-800",
                        ImportAction::Update => "bg-amber-100 text-amber-800",
                        ImportAction::Delete => "bg-red-100 text-red-800",
                        ImportAction::Unchanged => "bg-slate-100 text-slate-600",
                    };
                    view! {
                        <li class="border border-slate-200 rounded-lg" data-testid="import-change">
                            <div class="flex items-center gap-2 px-3 py-2">
                                <span class=format!("text-xs font-semibold px-2 py-0.5 rounded {colour}")>{change.action.to_string()}</span>
                                <span class="font-medium text-sm">{change.name.clone()}</span>
                                <span class="text-xs text-slate-500">{change.scope.to_string()}{change.agent.clone().map(|a| format!(" · agent {a}"))}</span>
                            </div>
                            {change.warnings.iter().map(|w| view! { <p class="px-3 text-xs text-amber-700">{format!("Warning: {w}")}</p> }).collect_view()}
                            {(!change.diff.is_empty()).then(|| view! {
                                <pre class="border-t border-slate-200 text-xs overflow-x-auto max-h-64">
                                    {change.diff.iter().map(|line| {
                                        let class = match line.sign { '+' => "block bg-emerald-50 text-emerald-800 px-2", '-' => "block bg-red-50 text-red-800 px-2", _ => "block text-slate-500 px-2" };
                                        view! { <span class=class>{format!("{} {}", line.sign, line.text)}</span> }
                                    }).collect_view()}
                                </pre>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Card>
    }
}
