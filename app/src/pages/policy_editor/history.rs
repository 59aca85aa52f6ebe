//! A policy's history beside the editor: every saved version with who saved it and when, the
//! difference between any version and the current one (rule by rule in words, and the documents
//! line by line), and restoring a version after a confirmation, which saves it as the next one.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::feedback::{ConfirmDialog, Toasts};
use crate::components::ui::{format_time, Card, ErrorPanel, BUTTON_SECONDARY};
use crate::AppError;

/// One saved version as the history lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionRow {
    pub version: i64,
    pub saved_by: String,
    pub saved_at: i64,
}

/// What changed between two versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionDiff {
    pub from: i64,
    pub to: i64,
    /// Rule by rule, as sentences.
    pub changes: Vec<String>,
    /// `(sign, text)` of each line of the two documents.
    pub lines: Vec<(char, String)>,
}

#[server(endpoint = "policies/history")]
pub async fn policy_history(id: String, tenant_slug: Option<String>) -> Result<Vec<VersionRow>, AppError> {
    use crate::auth::server::{access, core, target};
    let access = access()?;
    let versions = core()?.policy_history(&access, target(&access, tenant_slug.as_deref()), &id.into()).await?;
    Ok(versions.into_iter().map(|v| VersionRow { version: v.version, saved_by: v.saved_by, saved_at: v.saved_at }).collect())
}

#[server(endpoint = "policies/diff")]
pub async fn diff_versions(id: String, tenant_slug: Option<String>, from: i64, to: i64) -> Result<VersionDiff, AppError> {
    use crate::auth::server::{access, core, target};
    let access = access()?;
    let diff = core()?.diff_policy_versions(&access, target(&access, tenant_slug.as_deref()), &id.into(), from, to).await?;
    Ok(VersionDiff {
        from: diff.from,
        to: diff.to,
        changes: diff.changes.iter().map(|change| crate::readable::sentence(change)).collect(),
        lines: diff.lines.into_iter().map(|line| (line.sign, line.text)).collect(),
    })
}

#[server(endpoint = "policies/restore")]
pub async fn restore_version(id: String, tenant_slug: Option<String>, version: i64, expected: i64) -> Result<i64, AppError> {
    use crate::auth::server::{access, core, target};
    let access = access()?;
    let saved = core()?.restore_policy_version(&access, target(&access, tenant_slug.as_deref()), &id.into(), version, expected).await?;
    Ok(saved.policy.version)
}

/// The history card. `current` is the version the editor holds; `reload` is bumped after a
/// restore so the page loads the policy again.
#[component]
pub(super) fn HistoryCard(id: String, tenant_slug: Option<String>, current: RwSignal<i64>, read_only: bool, reload: RwSignal<u64>) -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    let id = StoredValue::new(id);
    let tenant_slug = StoredValue::new(tenant_slug);
    let versions = Resource::new(move || current.get(), move |_| policy_history(id.get_value(), tenant_slug.get_value()));
    let diff = ServerAction::<DiffVersions>::new();
    let restore = ServerAction::<RestoreVersion>::new();
    let restoring = RwSignal::new(None::<i64>);
    let confirm = RwSignal::new(false);
    Effect::new(move |_| match restore.value().get() {
        Some(Ok(version)) => {
            toasts.success(format!("Restored as version {version}."));
            reload.update(|n| *n += 1);
        }
        Some(Err(error)) => toasts.error(format!("Not restored: {error}")),
        None => {}
    });
    let compare = move |version: i64| {
        diff.dispatch(DiffVersions { id: id.get_value(), tenant_slug: tenant_slug.get_value(), from: version, to: current.get_untracked() });
    };
    view! {
        <Card title="History">
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading the versions…"</p> }>
                {move || Suspend::new(async move {
                    match versions.await {
                        Ok(rows) => view! {
                            <ul class="divide-y divide-slate-100 text-sm" data-testid="policy-history">
                                {rows.into_iter().map(|row| {
                                    let version = row.version;
                                    let latest = version == current.get_untracked();
                                    view! {
                                        <li class="py-2 flex flex-wrap items-center gap-2" data-testid="history-version" data-version=version.to_string()>
                                            <span class="font-medium">{format!("v{version}")}</span>
                                            <span class="text-xs text-slate-500">{format!("{} · {}", row.saved_by, format_time(row.saved_at))}</span>
                                            {if latest {
                                                view! { <span class="ml-auto text-xs text-emerald-700">"current"</span> }.into_any()
                                            } else {
                                                view! {
                                                    <span class="ml-auto flex gap-1">
                                                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| compare(version)>"Compare"</button>
                                                        {(!read_only).then(|| view! {
                                                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| { restoring.set(Some(version)); confirm.set(true); }>"Restore"</button>
                                                        })}
                                                    </span>
                                                }.into_any()
                                            }}
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })}
            </Transition>
            {move || diff.value().get().map(|result| match result {
                Ok(diff) => view! { <DiffPanel diff/> }.into_any(),
                Err(error) => view! { <ErrorPanel error/> }.into_any(),
            })}
        </Card>
        {move || restoring.get().map(|version| view! {
            <ConfirmDialog
                open=confirm
                title=format!("Restore version {version}?")
                message="Its document is saved as the next version and applies from the next decision. The current version stays in the history; unsaved edits in the editor are replaced."
                confirm_label="Restore"
                on_confirm=Callback::new(move |_| {
                    restore.dispatch(RestoreVersion { id: id.get_value(), tenant_slug: tenant_slug.get_value(), version, expected: current.get_untracked() });
                })
            />
        })}
    }
}

#[component]
fn DiffPanel(diff: VersionDiff) -> impl IntoView {
    let VersionDiff { from, to, changes, lines } = diff;
    view! {
        <div class="mt-3 border-t border-slate-200 pt-3" data-testid="version-diff">
            <h3 class="text-xs uppercase text-slate-500">{format!("From v{from} to v{to}")}</h3>
            {if changes.is_empty() {
                view! { <p class="text-sm text-slate-600 mt-1">"No change."</p> }.into_any()
            } else {
                view! {
                    <ul class="mt-1 text-sm list-disc pl-5" data-testid="version-changes">
                        {changes.into_iter().map(|change| view! { <li>{change}</li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <pre class="mt-2 rounded-md border border-slate-200 text-xs overflow-x-auto" data-testid="version-lines">
                {lines.into_iter().map(|(sign, text)| {
                    let class = match sign { '+' => "block bg-emerald-50 text-emerald-800 px-2", '-' => "block bg-red-50 text-red-800 px-2", _ => "block text-slate-500 px-2" };
                    view! { <span class=class>{format!("{sign} {text}")}</span> }
                }).collect_view()}
            </pre>
        </div>
    }
}
