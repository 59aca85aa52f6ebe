//! The dashboards' insight: decisions over time by verdict, deny and approval rates, the tools
//! denied most and the rules that denied them, the busiest agents, approvals waiting and recent
//! policy changes. The platform's dashboard covers every tenant; a tenant's covers its own agents.

use charter_store::{AgentActivity, DeniedTool, Insight, RecentChange, WaitingApproval, Window};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::chart::DecisionChart;
use crate::components::ui::{counted, format_count, format_time, Card, EmptyState, ErrorPanel, LoadingPanel, Stat};
use crate::AppError;

/// The dashboard of the signed-in user for `window` (`hour`, `day` or `month`); `None` for a user
/// who may not read receipts (such as an approver).
#[server(endpoint = "dashboard/insight")]
pub async fn decision_insight(window: String) -> Result<Option<Insight>, AppError> {
    use crate::auth::server::{access, core};
    let (access, core) = (access()?, core()?);
    let window = Window::from_query(Some(window.as_str()));
    let Some(of) = charter_core::insight_target(&access) else { return Ok(None) };
    let mut insight = core.insight(&access, of, window).await?;
    // Targets in words, as the audit log names them: never a bare id.
    for change in &mut insight.changes {
        let view = crate::pages::audit::describe_target(&change.target, change.before.as_deref(), change.after.as_deref(), change.tenant.as_deref());
        change.target = view.text;
        change.href = view.href;
    }
    Ok(Some(insight))
}

/// The insight panels, for the window the address names (`?window=`).
#[component]
pub fn InsightSection() -> impl IntoView {
    let query = use_query_map();
    let window = move || Window::from_query(query.read().get("window").as_deref());
    let insight = Resource::new(window, |window| decision_insight(window.as_str().to_owned()));
    view! {
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match insight.await {
                    Ok(Some(insight)) => view! { <InsightPanels insight/> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `part` of `whole` in words, e.g. `12%`, or a dash when nothing was decided.
fn rate(percent: Option<i64>) -> String {
    percent.map_or_else(|| "–".to_owned(), |p| format!("{p}%"))
}

/// How long ago `at` was, at `now`, in the largest whole unit.
pub fn age(now_ms: i64, at: i64) -> String {
    let minutes = (now_ms - at).max(0) / 60_000;
    match minutes {
        0 => "under a minute".to_owned(),
        1..60 => counted(minutes, "minute", "minutes"),
        60..1440 => counted(minutes / 60, "hour", "hours"),
        _ => counted(minutes / 1440, "day", "days"),
    }
}

#[component]
fn InsightPanels(insight: Insight) -> impl IntoView {
    let Insight { window, now_ms, every_tenant, series, totals, lists_from_ms, denied_tools, busiest_agents, waiting, waiting_total, changes } = insight;
    let since = format!("since {}", format_time(lists_from_ms));
    view! {
        <section class="mb-6" aria-labelledby="insight-heading">
            <div class="flex flex-wrap items-center justify-between gap-3 mb-3">
                <h2 id="insight-heading" class="text-sm font-semibold text-slate-700">
                    {if every_tenant { "Decisions of every tenant" } else { "Decisions of your agents" }}
                </h2>
                <nav aria-label="Time window" class="inline-flex rounded-md border border-slate-300 bg-white text-sm overflow-hidden">
                    {Window::ALL.map(|choice| {
                        let current = choice == window;
                        view! {
                            <a
                                href=format!("/?window={}", choice.as_str())
                                aria-current=current.then_some("page")
                                data-testid="insight-window"
                                class=if current { "px-3 py-1.5 bg-indigo-600 text-white" } else { "px-3 py-1.5 text-slate-700 hover:bg-slate-50" }
                            >
                                {choice.label()}
                            </a>
                        }
                    })}
                </nav>
            </div>
            <div class="grid grid-cols-1 sm:grid-cols-4 gap-4 mb-4">
                <Stat label="Decisions" value=format_count(totals.total()) testid="insight-decisions"/>
                <Stat label="Denied" value=format_count(totals.deny) testid="insight-denied"/>
                <Stat label="Deny rate" value=rate(totals.percent(totals.deny)) testid="insight-deny-rate"/>
                <Stat label="Approval rate" value=rate(totals.percent(totals.require_approval)) testid="insight-approval-rate"/>
            </div>
            <Card title=format!("Decisions by verdict, {}", window.label().to_lowercase())>
                <DecisionChart window series/>
            </Card>
            <div class="grid grid-cols-1 lg:grid-cols-2 gap-4 mt-4">
                <Card title=format!("Tools denied most, {since}")>
                    <DeniedTools tools=denied_tools every_tenant/>
                </Card>
                <Card title=format!("Busiest agents, {since}")>
                    <BusiestAgents agents=busiest_agents every_tenant/>
                </Card>
                <Card title=format!("Waiting for approval ({})", format_count(waiting_total))>
                    <Waiting waiting now_ms every_tenant/>
                </Card>
                <Card title="Recent policy changes">
                    <Changes changes now_ms/>
                </Card>
            </div>
        </section>
    }
}

/// `tenant / name` on the platform's dashboard, `name` on a tenant's.
fn named(every_tenant: bool, tenant: &str, name: &str) -> String {
    if every_tenant {
        format!("{tenant} / {name}")
    } else {
        name.to_owned()
    }
}

#[component]
fn DeniedTools(tools: Vec<DeniedTool>, every_tenant: bool) -> impl IntoView {
    if tools.is_empty() {
        return view! { <EmptyState message="Nothing was denied."/> }.into_any();
    }
    view! {
        <ul class="divide-y divide-slate-100 text-sm">
            {tools.into_iter().map(|tool| view! {
                <li class="py-2" data-testid="denied-tool">
                    <div class="flex justify-between gap-3">
                        <span class="font-mono">{named(every_tenant, &tool.tenant, &tool.tool)}</span>
                        <span class="font-semibold">{counted(tool.denials, "denial", "denials")}</span>
                    </div>
                    <ul class="mt-1 text-xs text-slate-600">
                        {tool.rules.into_iter().map(|rule| view! {
                            <li data-testid="denied-by">
                                {if rule.rule.is_empty() { "by a rule not recorded then".to_owned() } else { format!("by {}", crate::readable::sentence(&rule.rule)) }}
                                ": " {format_count(rule.decisions)}
                            </li>
                        }).collect_view()}
                    </ul>
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn BusiestAgents(agents: Vec<AgentActivity>, every_tenant: bool) -> impl IntoView {
    if agents.is_empty() {
        return view! { <EmptyState message="No decisions yet."/> }.into_any();
    }
    view! {
        <table class="w-full text-left text-sm">
            <thead class="text-xs uppercase text-slate-500">
                <tr>
                    <th scope="col" class="pb-1">"Agent"</th>
                    <th scope="col" class="pb-1 pl-3 text-right">"Decisions"</th>
                    <th scope="col" class="pb-1 pl-3 text-right">"Denied"</th>
                    <th scope="col" class="pb-1 pl-3 text-right">"Awaiting approval"</th>
                </tr>
            </thead>
            <tbody>
                {agents.into_iter().map(|agent| {
                    let name = if agent.agent.is_empty() { "(no agent named)".to_owned() } else { agent.agent.clone() };
                    view! {
                        <tr class="border-t border-slate-100" data-testid="busy-agent">
                            <td class="py-1 font-mono" data-testid="busy-agent-name">{named(every_tenant, &agent.tenant, &name)}</td>
                            <td class="py-1 pl-3 text-right" data-testid="busy-agent-decisions">{format_count(agent.counts.total())}</td>
                            <td class="py-1 pl-3 text-right" data-testid="busy-agent-denied">{format_count(agent.counts.deny)}</td>
                            <td class="py-1 pl-3 text-right">{format_count(agent.counts.require_approval)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn Waiting(waiting: Vec<WaitingApproval>, now_ms: i64, every_tenant: bool) -> impl IntoView {
    if waiting.is_empty() {
        return view! { <EmptyState message="Nothing waits for approval."/> }.into_any();
    }
    view! {
        <ul class="divide-y divide-slate-100 text-sm">
            {waiting.into_iter().map(|request| {
                let agent = request.agent.clone().map(|agent| format!(" by {agent}")).unwrap_or_default();
                view! {
                    <li class="py-2 flex justify-between gap-3" data-testid="waiting-approval">
                        <span><span class="font-mono">{named(every_tenant, &request.tenant, &request.tool)}</span>{agent}</span>
                        <span class="text-slate-600">"waiting " {age(now_ms, request.requested_at)}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
        {(!every_tenant).then(|| view! { <a href="/approvals?status=pending" class="mt-2 inline-block text-sm text-indigo-700 hover:underline">"Open the approvals"</a> })}
    }
    .into_any()
}

#[component]
fn Changes(changes: Vec<RecentChange>, now_ms: i64) -> impl IntoView {
    if changes.is_empty() {
        return view! { <EmptyState message="No policy changes yet."/> }.into_any();
    }
    view! {
        <ul class="divide-y divide-slate-100 text-sm">
            {changes.into_iter().map(|change| {
                let whose = change.tenant.clone().unwrap_or_else(|| "platform".to_owned());
                view! {
                    <li class="py-2" data-testid="recent-change">
                        <div class="flex justify-between gap-3">
                            <span>
                                <span class="font-mono">{change.action.clone()}</span> " "
                                {match change.href.clone() {
                                    Some(href) => view! { <a href=href class="text-indigo-700 hover:underline">{change.target.clone()}</a> }.into_any(),
                                    None => view! { <span>{change.target.clone()}</span> }.into_any(),
                                }}
                            </span>
                            <span class="text-slate-600 whitespace-nowrap">{age(now_ms, change.at)} " ago"</span>
                        </div>
                        <div class="text-xs text-slate-500">{whose} " · " {change.actor.clone()}</div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::age;

    #[test]
    fn ages_read_in_their_largest_unit() {
        for (minutes, expected) in [(0, "under a minute"), (1, "1 minute"), (59, "59 minutes"), (60, "1 hour"), (1439, "23 hours"), (2880, "2 days")] {
            assert_eq!(age(minutes * 60_000, 0), expected, "{minutes}");
        }
    }
}
