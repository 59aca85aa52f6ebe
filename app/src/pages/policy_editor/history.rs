//! A policy's history beside the editor: every saved version with who saved it and when, the
//! difference between any version and the current one (rule by rule in words, and the documents
//! line by line), and restoring a version after a confirmation, which saves it as the next one.
//! All of it is rendered by the server and works without script.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use serde::{Deserialize, Serialize};

use crate::components::feedback::ConfirmPost;
use crate::components::ui::{format_time, ActionError, Card, BUTTON_SECONDARY};
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
    // The history card posts a plain form; the page it goes back to says what happened.
    let message = format!("Restored as version {}.", saved.policy.version);
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, message).await;
    Ok(saved.policy.version)
}

/// The history card, rendered by the server: each version with who saved it and when; "Compare"
/// loads the page again with that version's difference from the current one (`compare`), and
/// "Restore" asks in the browser's own popover, then posts a plain form. Both work without script.
#[component]
pub(super) fn HistoryCard(
    id: String,
    tenant_slug: Option<String>,
    current: i64,
    read_only: bool,
    versions: Vec<VersionRow>,
    compare: Option<Result<VersionDiff, AppError>>,
) -> impl IntoView {
    view! {
        <Card title="History">
            <ul class="divide-y divide-slate-100 text-sm" data-testid="policy-history">
                {versions.into_iter().map(|row| {
                    let version = row.version;
                    let latest = version == current;
                    let mut fields = vec![("id", id.clone()), ("version", version.to_string()), ("expected", current.to_string())];
                    if let Some(slug) = &tenant_slug {
                        fields.push(("tenant_slug", slug.clone()));
                    }
                    view! {
                        <li class="py-2 flex flex-wrap items-center gap-2" data-testid="history-version" data-version=version.to_string()>
                            <span class="font-medium">{format!("v{version}")}</span>
                            <span class="text-xs text-slate-500">{format!("{} · {}", row.saved_by, format_time(row.saved_at))}</span>
                            {if latest {
                                view! { <span class="ml-auto text-xs text-emerald-700">"current"</span> }.into_any()
                            } else {
                                view! {
                                    <span class="ml-auto flex gap-1">
                                        <a href=format!("?compare={version}#version-diff") class=BUTTON_SECONDARY>"Compare"</a>
                                        {(!read_only).then(|| view! {
                                            <ConfirmPost
                                                id=format!("restore-{version}")
                                                button="Restore"
                                                button_class=BUTTON_SECONDARY
                                                title=format!("Restore version {version}?")
                                                message="Its document is saved as the next version and applies from the next decision. The current version stays in the history; unsaved edits in the editor are replaced."
                                                confirm_label="Restore"
                                                action=RestoreVersion::url()
                                                fields
                                            />
                                        })}
                                    </span>
                                }.into_any()
                            }}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {compare.map(|result| match result {
                Ok(diff) => view! { <DiffPanel diff/> }.into_any(),
                Err(error) => view! { <div class="mt-3"><ActionError error/></div> }.into_any(),
            })}
        </Card>
    }
}

#[component]
fn DiffPanel(diff: VersionDiff) -> impl IntoView {
    let VersionDiff { from, to, changes, lines } = diff;
    view! {
        <div id="version-diff" class="mt-3 border-t border-slate-200 pt-3" data-testid="version-diff">
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
