//! The approvals queue: requests waiting for the signed-in approver's roles, with what was asked,
//! the rule that asked for approval and the expiry; approve or reject with a comment. The agent's
//! poll of `/api/v1/approvals/{id}` sees the result at once.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::ui::{Card, EmptyState, ErrorPanel, LoadingPanel, PageHeader};
use crate::AppError;

/// A pending approval as the queue shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    pub id: String,
    pub tool: String,
    pub agent: Option<String>,
    /// The call's arguments, pretty-printed.
    pub args: String,
    pub reason: String,
    pub approvers: Vec<String>,
    /// Roles that have already approved.
    pub approved_by: Vec<String>,
    pub requested_at: i64,
    pub expires_at: i64,
}

#[server(endpoint = "approvals/queue")]
pub async fn approval_queue() -> Result<Vec<QueueItem>, AppError> {
    use crate::auth::server::{access, core};
    let queue = core()?.approval_queue(&access()?).await?;
    Ok(queue
        .into_iter()
        .map(|entry| {
            let approval = entry.approval;
            QueueItem {
                args: serde_json::from_str::<serde_json::Value>(&approval.args).and_then(|v| serde_json::to_string_pretty(&v)).unwrap_or(approval.args),
                id: approval.id.into_string(),
                tool: approval.tool,
                agent: approval.agent,
                reason: approval.reason,
                approvers: entry.approvers,
                approved_by: entry.approved_by,
                requested_at: approval.requested_at,
                expires_at: approval.expires_at,
            }
        })
        .collect())
}

#[server(endpoint = "approvals/resolve")]
pub async fn resolve_approval(id: String, approve: bool, comment: String) -> Result<String, AppError> {
    use crate::auth::server::{access, core};
    use charter_store::Resolution;
    let resolution = if approve { Resolution::Approve } else { Resolution::Reject };
    let approval = core()?.resolve_approval(&access()?, charter_core::Target::Own, &id.into(), resolution, Some(comment)).await?;
    Ok(approval.status.to_string())
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let resolve = ServerAction::<ResolveApproval>::new();
    let queue = Resource::new(move || resolve.version().get(), |_| approval_queue());
    let outcome = move || {
        resolve.value().get().map(|result| match result {
            Ok(status) => view! {
                <p role="status" class="mb-4 rounded-md bg-emerald-50 border border-emerald-200 px-3 py-2 text-sm text-emerald-800">
                    {match status.as_str() {
                        "approved" => "Approved. The agent's next poll sees it.".to_owned(),
                        "rejected" => "Rejected. The agent's next poll sees it.".to_owned(),
                        _ => "Your approval is recorded; other approver roles still have to approve.".to_owned(),
                    }}
                </p>
            }
            .into_any(),
            Err(error) => view! { <div class="mb-4"><ErrorPanel error/></div> }.into_any(),
        })
    };
    view! {
        <Title text="Approvals"/>
        <PageHeader title="Approvals" subtitle="Requests from your agents that wait for one of your approver roles."/>
        {outcome}
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match queue.await {
                    Ok(items) if items.is_empty() => view! { <Card><EmptyState message="Nothing waits for you."/></Card> }.into_any(),
                    Ok(items) => view! {
                        <div class="space-y-4">
                            {items.into_iter().map(|item| view! { <QueueCard item resolve/> }).collect_view()}
                        </div>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn QueueCard(item: QueueItem, resolve: ServerAction<ResolveApproval>) -> impl IntoView {
    let comment = RwSignal::new(String::new());
    let comment_id = format!("comment-{}", item.id);
    let id = StoredValue::new(item.id.clone());
    let send = move |approve: bool| {
        resolve.dispatch(ResolveApproval { id: id.get_value(), approve, comment: comment.get_untracked() });
    };
    let expires = crate::components::ui::format_date(item.expires_at);
    view! {
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm p-5" data-testid="approval-card">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="font-semibold"><code class="text-indigo-700">{item.tool.clone()}</code></h2>
                <span class="text-xs text-slate-500">{format!("expires {expires}")}</span>
            </div>
            <p class="mt-1 text-sm text-slate-700" data-testid="approval-reason">{item.reason.clone()}</p>
            <dl class="mt-3 grid grid-cols-1 sm:grid-cols-3 gap-2 text-sm">
                <div><dt class="text-xs uppercase text-slate-500">"Agent"</dt><dd>{item.agent.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                <div><dt class="text-xs uppercase text-slate-500">"Needs"</dt><dd>{item.approvers.join(", ")}</dd></div>
                <div><dt class="text-xs uppercase text-slate-500">"Approved by"</dt><dd>{if item.approved_by.is_empty() { "nobody yet".to_owned() } else { item.approved_by.join(", ") }}</dd></div>
            </dl>
            <pre class="mt-3 bg-slate-50 rounded-md p-3 text-xs overflow-x-auto" aria-label="Arguments">{item.args.clone()}</pre>
            <label for=comment_id.clone() class="mt-3 block text-sm font-medium text-slate-700">"Comment"</label>
            <textarea
                id=comment_id
                rows="2"
                class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
                prop:value=move || comment.get()
                on:input=move |ev| comment.set(event_target_value(&ev))
            ></textarea>
            <div class="mt-3 flex gap-2">
                <button
                    type="button"
                    class="rounded-md bg-emerald-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-500 focus:outline-none focus:ring-2 focus:ring-emerald-500 disabled:opacity-60"
                    disabled=move || resolve.pending().get()
                    on:click=move |_| send(true)
                >
                    "Approve"
                </button>
                <button
                    type="button"
                    class="rounded-md border border-red-300 px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50 focus:outline-none focus:ring-2 focus:ring-red-500 disabled:opacity-60"
                    disabled=move || resolve.pending().get()
                    on:click=move |_| send(false)
                >
                    "Reject"
                </button>
            </div>
        </section>
    }
}
