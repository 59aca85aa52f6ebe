//! Approvals. The queue: requests waiting for the signed-in approver's roles, with who asked and
//! when, what was asked, the rule that asked for approval and the expiry; approve or reject with a
//! comment (the agent's poll of `/api/v1/approvals/{id}` sees the result at once); the answer is a
//! plain form post, which works without the browser bundle. Below it, every
//! approval of the tenant for its admins (an approver sees those addressed to their roles),
//! pending and resolved, filtered by status in the URL.

use charter_store::ApprovalStatus;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::auth::SessionUser;
use crate::components::ui::{format_time, Card, EmptyState, ErrorPanel, FormRefusal, LoadingPanel, PageHeader};
use crate::AppError;

/// Who an approval is for: the person the agent acted for, as the agent said.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskedFor {
    pub user: Option<String>,
    pub roles: Vec<String>,
}

impl AskedFor {
    /// E.g. `u-7 (roles: analyst)`, or `nobody named`.
    pub fn describe(&self) -> String {
        match (&self.user, self.roles.is_empty()) {
            (Some(user), true) => user.clone(),
            (Some(user), false) => format!("{user} (roles: {})", self.roles.join(", ")),
            (None, false) => format!("a user with roles {}", self.roles.join(", ")),
            (None, true) => "nobody named".to_owned(),
        }
    }
}

/// The principal of a stored request, read for display; a shape it does not know shows as nobody.
#[cfg(feature = "ssr")]
fn asked_for(principal: &str) -> AskedFor {
    let value: serde_json::Value = serde_json::from_str(principal).unwrap_or_default();
    AskedFor {
        user: value.get("user").and_then(|u| u.as_str()).map(str::to_owned),
        roles: value
            .get("roles")
            .and_then(|r| r.as_array())
            .map(|roles| roles.iter().filter_map(|r| r.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
    }
}

/// A pending approval as the queue shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    pub id: String,
    pub tool: String,
    pub agent: Option<String>,
    pub asked_for: AskedFor,
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
                asked_for: asked_for(&approval.principal),
                reason: crate::readable::sentence(&approval.reason),
                approvers: entry.approvers,
                approved_by: entry.approved_by,
                requested_at: approval.requested_at,
                expires_at: approval.expires_at,
            }
        })
        .collect())
}

/// Approves or rejects one pending approval as the signed-in approver. The queue's cards post to
/// it as plain forms; the page that loads next says what happened.
#[server(endpoint = "approvals/resolve")]
pub async fn resolve_approval(id: String, approve: bool, comment: String) -> Result<ApprovalStatus, AppError> {
    use crate::auth::server::{access, core};
    use charter_store::Resolution;
    let resolution = if approve { Resolution::Approve } else { Resolution::Reject };
    let approval = core()?.resolve_approval(&access()?, charter_core::Target::Own, &id.into(), resolution, Some(comment)).await?;
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, resolved_message(approval.status).to_owned()).await;
    Ok(approval.status)
}

/// What an approver is told once their answer is recorded.
pub fn resolved_message(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Approved => "Approved. The agent's next poll sees it.",
        ApprovalStatus::Rejected => "Rejected. The agent's next poll sees it.",
        // Pending still: other roles named by the rule have yet to approve. (An expired approval
        // cannot be resolved, so it never comes back from a resolution.)
        ApprovalStatus::Pending | ApprovalStatus::Expired => "Your approval is recorded; other approver roles still have to approve.",
    }
}

/// One approval of the tenant, pending or resolved, as the history lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRow {
    pub id: String,
    pub tool: String,
    pub agent: Option<String>,
    pub asked_for: AskedFor,
    pub reason: String,
    pub approvers: Vec<String>,
    pub status: ApprovalStatus,
    pub requested_at: i64,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub comment: Option<String>,
}

/// The tenant's approvals, newest first: all of them for its admins, those addressed to the
/// caller's roles for an approver.
#[server(endpoint = "approvals/history")]
pub async fn approval_history(pending_only: bool) -> Result<Vec<ApprovalRow>, AppError> {
    use crate::auth::server::{access, core};
    let approvals = core()?.list_approvals(&access()?, charter_core::Target::Own, pending_only, 200).await?;
    Ok(approvals
        .into_iter()
        .map(|approval| ApprovalRow {
            approvers: serde_json::from_str(&approval.approvers).unwrap_or_default(),
            asked_for: asked_for(&approval.principal),
            id: approval.id.into_string(),
            tool: approval.tool,
            agent: approval.agent,
            reason: crate::readable::sentence(&approval.reason),
            status: approval.status,
            requested_at: approval.requested_at,
            resolved_at: approval.resolved_at,
            resolved_by: approval.resolved_by,
            comment: approval.comment,
        })
        .collect())
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let user = expect_context::<SessionUser>();
    let is_approver = !user.approver_roles.is_empty();
    let subtitle = match (is_approver, user.role == charter_store::Role::TenantAdmin) {
        (true, true) => "Requests from your agents that wait for one of your approver roles, and every approval of your tenant.",
        (true, false) => "Requests from your agents that wait for one of your approver roles.",
        (false, _) => "Every approval of your tenant: who asked, for what, and how it was resolved.",
    };
    view! {
        <Title text="Approvals"/>
        <PageHeader title="Approvals" subtitle=subtitle/>
        {is_approver.then(|| view! { <WaitingForYou/> })}
        <ApprovalHistory/>
    }
}

/// The requests that wait for one of the signed-in approver's roles. Each card is a plain form: an
/// answer reloads the page, which then shows the queue without it and says what happened.
#[component]
fn WaitingForYou() -> impl IntoView {
    let queue = Resource::new(|| (), |_| approval_queue());
    // A refused answer (resolved meanwhile by someone else, expired, a comment too long) comes back
    // in the address, and is shown above the queue.
    let refused = ServerAction::<ResolveApproval>::new().value().get_untracked().and_then(Result::err);
    view! {
        <h2 class="text-sm font-semibold text-slate-700 mb-3">"Waiting for you"</h2>
        {refused.map(|error| view! { <div class="mb-4"><FormRefusal message=format!("Not resolved: {error}")/></div> })}
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match queue.await {
                    Ok(items) if items.is_empty() => view! { <Card><EmptyState message="Nothing waits for you."/></Card> }.into_any(),
                    Ok(items) => view! {
                        <div class="space-y-4">
                            {items.into_iter().map(|item| view! { <QueueCard item/> }).collect_view()}
                        </div>
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Every approval the caller may see, pending or resolved; `?status=pending` keeps the pending ones.
#[component]
fn ApprovalHistory() -> impl IntoView {
    let query = use_query_map();
    let pending_only = move || query.read().get("status").as_deref() == Some("pending");
    let history = Resource::new(pending_only, approval_history);
    let tab = |label: &'static str, href: &'static str, active: bool| {
        let class =
            if active { "px-3 py-1.5 rounded-md text-sm bg-indigo-600 text-white" } else { "px-3 py-1.5 rounded-md text-sm text-slate-700 hover:bg-slate-100" };
        view! { <A href=href attr:class=class attr:data-active=active.to_string()>{label}</A> }
    };
    view! {
        <div class="mt-8 flex flex-wrap items-center justify-between gap-2 mb-3">
            <h2 class="text-sm font-semibold text-slate-700">"All approvals"</h2>
            <nav aria-label="Approval status" class="flex gap-1" data-testid="approval-filter">
                {move || view! { {tab("All", "/approvals", !pending_only())}{tab("Pending", "/approvals?status=pending", pending_only())} }}
            </nav>
        </div>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match history.await {
                    Ok(rows) if rows.is_empty() => view! { <Card><EmptyState message="No approvals here."/></Card> }.into_any(),
                    Ok(rows) => view! { <HistoryTable rows/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn HistoryTable(rows: Vec<ApprovalRow>) -> impl IntoView {
    view! {
        <div class="overflow-x-auto bg-white rounded-xl border border-slate-200 shadow-sm">
            <table class="min-w-full text-sm" data-testid="approval-history">
                <thead class="text-left text-xs uppercase tracking-wide text-slate-500 bg-slate-50">
                    <tr>
                        <th class="px-4 py-2">"Asked"</th>
                        <th class="px-4 py-2">"Tool"</th>
                        <th class="px-4 py-2">"Agent, for"</th>
                        <th class="px-4 py-2">"Needs"</th>
                        <th class="px-4 py-2">"Status"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {rows.into_iter().map(|row| {
                        let outcome = match (&row.resolved_by, row.resolved_at) {
                            (Some(by), Some(at)) => format!("{} by {by}, {}", row.status, format_time(at)),
                            _ => row.status.to_string(),
                        };
                        view! {
                            <tr data-testid="approval-row" data-status=row.status.to_string()>
                                <td class="px-4 py-2 whitespace-nowrap text-slate-600">{format_time(row.requested_at)}</td>
                                <td class="px-4 py-2"><code class="text-xs text-indigo-700">{row.tool}</code><p class="text-xs text-slate-500">{row.reason}</p></td>
                                <td class="px-4 py-2">{row.agent.unwrap_or_else(|| "—".to_owned())}<p class="text-xs text-slate-500">{row.asked_for.describe()}</p></td>
                                <td class="px-4 py-2">{row.approvers.join(", ")}</td>
                                <td class="px-4 py-2" data-testid="approval-status">{outcome}{row.comment.map(|c| view! { <p class="text-xs text-slate-500">{format!("“{c}”")}</p> })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn QueueCard(item: QueueItem) -> impl IntoView {
    let comment_id = format!("comment-{}", item.id);
    let expires = crate::components::ui::format_date(item.expires_at);
    view! {
        <section class="bg-white rounded-xl border border-slate-200 shadow-sm p-5" data-testid="approval-card">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h2 class="font-semibold"><code class="text-indigo-700">{item.tool.clone()}</code></h2>
                <span class="text-xs text-slate-500">{format!("expires {expires}")}</span>
            </div>
            <p class="mt-1 text-sm text-slate-700" data-testid="approval-reason">{item.reason.clone()}</p>
            <dl class="mt-3 grid grid-cols-1 sm:grid-cols-3 gap-2 text-sm">
                <div><dt class="text-xs uppercase text-slate-500">"Asked"</dt><dd data-testid="approval-asked">{format_time(item.requested_at)}</dd></div>
                <div><dt class="text-xs uppercase text-slate-500">"Agent"</dt><dd>{item.agent.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                <div><dt class="text-xs uppercase text-slate-500">"On behalf of"</dt><dd data-testid="approval-for">{item.asked_for.describe()}</dd></div>
                <div><dt class="text-xs uppercase text-slate-500">"Needs"</dt><dd>{item.approvers.join(", ")}</dd></div>
                <div><dt class="text-xs uppercase text-slate-500">"Approved by"</dt><dd>{if item.approved_by.is_empty() { "nobody yet".to_owned() } else { item.approved_by.join(", ") }}</dd></div>
            </dl>
            <pre class="mt-3 bg-slate-50 rounded-md p-3 text-xs overflow-x-auto" aria-label="Arguments">{item.args.clone()}</pre>
            // The button pressed sends `approve`; both send the comment.
            <form method="post" action=ResolveApproval::url()>
                <input type="hidden" name="id" value=item.id.clone()/>
                <label for=comment_id.clone() class="mt-3 block text-sm font-medium text-slate-700">"Comment"</label>
                <textarea
                    id=comment_id
                    name="comment"
                    rows="2"
                    class="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/30"
                ></textarea>
                <div class="mt-3 flex gap-2">
                    <button
                        type="submit"
                        name="approve"
                        value="true"
                        class="rounded-md bg-emerald-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-500 focus:outline-none focus:ring-2 focus:ring-emerald-500"
                    >
                        "Approve"
                    </button>
                    <button
                        type="submit"
                        name="approve"
                        value="false"
                        class="rounded-md border border-red-300 px-3 py-1.5 text-sm font-medium text-red-700 hover:bg-red-50 focus:outline-none focus:ring-2 focus:ring-red-500"
                    >
                        "Reject"
                    </button>
                </div>
            </form>
        </section>
    }
}
