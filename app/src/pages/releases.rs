//! Platform releases: the draft's changes since the newest release and publishing it; every release
//! with the tenants that run it; promoting a release to chosen tenants (canaries) or to all; and,
//! per tenant, pinning it to a release (a rollback when earlier) or letting it follow the general
//! release. Platform admins act, through plain form posts that work without the browser bundle;
//! support sees the same, read-only.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::feedback::ConfirmPost;
use crate::components::ui::{
    counted, format_time, ActionError, Card, EmptyState, ErrorPanel, FormRefusal, LoadingPanel, PageHeader, BUTTON, BUTTON_SECONDARY, INPUT,
};
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRow {
    pub number: i64,
    pub note: String,
    pub published_by: String,
    pub published_at: i64,
    pub policies: i64,
    /// The tenants that run it ahead of the general release.
    pub canaries: Vec<String>,
    /// The tenants a platform admin pinned to it.
    pub pinned: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRow {
    pub slug: String,
    pub name: String,
    pub release: i64,
    /// "follows the general release", "canary", or "pinned".
    pub standing: String,
    pub revision: i64,
    pub revision_pinned: bool,
    /// What runs in shadow for it, in words.
    pub shadow: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasesView {
    pub general: i64,
    pub latest: i64,
    pub releases: Vec<ReleaseRow>,
    /// What the draft changes since the newest release, one line each; empty when nothing.
    pub draft: Vec<String>,
    pub tenants: Vec<TenantRow>,
    pub can_manage: bool,
}

#[server(endpoint = "releases/overview")]
pub async fn releases_overview() -> Result<ReleasesView, AppError> {
    use crate::auth::server::{access, core};
    use charter_store::PinKind;
    let (access, core) = (access()?, core()?);
    let (rollout, releases) = core.list_releases(&access).await?;
    let draft = core.draft_changes(&access).await?;
    let rollouts = core.tenant_rollouts(&access).await?;
    let with_pin = |number: i64, kind: PinKind| -> Vec<String> {
        rollouts.iter().filter(|t| t.release_pin.is_some_and(|pin| pin.release == number && pin.kind == kind)).map(|t| t.name.clone()).collect()
    };
    let releases = releases
        .into_iter()
        .map(|r| ReleaseRow {
            canaries: with_pin(r.number, PinKind::Canary),
            pinned: with_pin(r.number, PinKind::Pinned),
            number: r.number,
            note: r.note,
            published_by: r.published_by,
            published_at: r.published_at,
            policies: r.policies,
        })
        .collect();
    let mut lines: Vec<String> = draft.added.iter().map(|name| format!("adds policy “{name}”")).collect();
    lines.extend(draft.changed.iter().map(|(name, from, to)| format!("changes policy “{name}” (v{from} → v{to})")));
    lines.extend(draft.removed.iter().map(|name| format!("removes policy “{name}”")));
    if draft.settings_changed {
        lines.push("changes the default behaviour".to_owned());
    }
    let tenants = rollouts
        .into_iter()
        .map(|t| TenantRow {
            standing: match t.release_pin.map(|pin| pin.kind) {
                None => "follows the general release".to_owned(),
                Some(PinKind::Canary) => "canary".to_owned(),
                Some(PinKind::Pinned) => "pinned".to_owned(),
            },
            revision: t.revision(),
            revision_pinned: t.revision_pin.is_some(),
            shadow: t.shadow().map(charter_store::describe_selection),
            slug: t.slug,
            name: t.name,
            release: t.release,
        })
        .collect();
    Ok(ReleasesView {
        general: rollout.general,
        latest: rollout.latest,
        releases,
        draft: lines,
        tenants,
        can_manage: access.can(charter_core::Action::ManageReleases),
    })
}

/// The releases a previewer may choose, newest first: empty for anyone but platform staff.
#[server(endpoint = "releases/options")]
pub async fn release_options() -> Result<Vec<i64>, AppError> {
    use crate::auth::server::{access, core};
    let (access, core) = (access()?, core()?);
    if !access.is_platform_staff() {
        return Ok(Vec::new());
    }
    Ok(core.list_releases(&access).await?.1.into_iter().map(|r| r.number).collect())
}

#[server(endpoint = "releases/publish")]
pub async fn publish_release(note: String) -> Result<i64, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    let number = core()?.publish_release(&access, &note).await?.number;
    done(format!("Published release {number}. It runs nowhere until you promote it.")).await;
    Ok(number)
}

/// Tells the page that loads after a plain form post of this page what was done.
#[cfg(feature = "ssr")]
async fn done(message: String) {
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, message).await;
}

/// Promotes `number` to one tenant (`tenant` a slug) or, with an empty `tenant`, to all; returns
/// how many tenants moved.
#[server(endpoint = "releases/promote")]
pub async fn promote_release(number: i64, tenant: String) -> Result<usize, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::PromoteTo;
    let access = access()?;
    let slugs = [tenant.trim().to_owned()];
    let to = if tenant.trim().is_empty() { PromoteTo::All } else { PromoteTo::Tenants(&slugs) };
    let moved = core()?.promote_release(&access, number, to).await?.len();
    done(format!("Promoted: {} moved to it.", counted(moved, "tenant", "tenants"))).await;
    Ok(moved)
}

/// Pins a tenant to `release`, or with an empty `release` lets it follow the general release.
#[server(endpoint = "releases/pin")]
pub async fn pin_tenant_release(tenant: String, release: String) -> Result<i64, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::Target;
    let access = access()?;
    let release = crate::pages::versions::server::optional_number("release", &release)?;
    let runs = core()?.pin_release(&access, Target::Tenant(tenant.trim()), release).await?.release;
    done(format!("The tenant now runs release {runs}.")).await;
    Ok(runs)
}

/// A replay's findings as the page shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayShown {
    /// One sentence: what was replayed and what it found.
    pub summary: String,
    pub groups: Vec<FlipRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlipRow {
    pub tenant: String,
    pub tool: String,
    pub change: String,
    pub count: u64,
    pub rule: String,
    /// Example requests: the agent and the arguments as stored.
    pub examples: Vec<String>,
}

/// Replays the last `days` of every tenant's receipts against `release` (`draft` or a number).
#[server(endpoint = "releases/replay")]
pub async fn replay_release(release: String, days: u32) -> Result<ReplayShown, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::{Candidate, ReplayRequest};
    let access = access()?;
    let choice = crate::pages::preview::server::release_choice(&release)?
        .ok_or_else(|| AppError::Invalid { field: "release".into(), message: "choose the draft or a release".into() })?;
    let report = core()?.replay(&access, ReplayRequest { candidate: Candidate::Release(choice), tenant: None, days, ran_release: None }).await?;
    let summary = format!(
        "{} against {} of {} over the last {}: {} would change, {} stay the same, {} unknown (a rule reads a masked argument), {} set aside (settled by counts, refused before any policy, or a tool switched since). Took {} ms.",
        report.candidate,
        counted(report.replayed, "decision", "decisions"),
        counted(report.tenants, "tenant", "tenants"),
        counted(report.days, "day", "days"),
        report.flipped,
        report.unchanged,
        report.unknown,
        report.set_aside,
        report.elapsed_ms
    );
    let groups = report
        .groups
        .into_iter()
        .map(|g| FlipRow {
            change: format!("{} → {}", g.from, g.to),
            examples: g.examples.into_iter().map(|e| format!("{}{}", e.agent.map(|a| format!("{a}: ")).unwrap_or_default(), e.args)).collect(),
            tenant: g.tenant,
            tool: g.tool,
            count: g.count,
            rule: g.rule,
        })
        .collect();
    Ok(ReplayShown { summary, groups })
}

/// Runs `release` (`draft` or a number) in shadow for one tenant, or with an empty `release`
/// stops it.
#[server(endpoint = "releases/shadow")]
pub async fn shadow_release(tenant: String, release: String) -> Result<Option<String>, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    let release = crate::pages::preview::server::release_choice(&release)?;
    let changed = core()?.set_release_shadow(&access, &[tenant.trim().to_owned()], release).await?;
    let candidate = changed.into_iter().next().and_then(|t| t.shadow()).map(charter_store::describe_selection);
    done(match &candidate {
        Some(candidate) => format!("Running {candidate} in shadow for the tenant."),
        None => "Nothing runs in shadow for the tenant any more.".to_owned(),
    })
    .await;
    Ok(candidate)
}

#[component]
pub fn ReleasesPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| releases_overview());
    // `?replay=N` replays the draft against the last N days of receipts.
    let query = leptos_router::hooks::use_query_map();
    let asked = move || query.with(|query| query.get("replay"));
    view! {
        <Title text="Releases"/>
        <PageHeader title="Platform releases" subtitle="Platform policy edits are a draft until published; a release reaches tenants when you promote it, to a canary first, then to all."/>
        <Refusal/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                let asked = asked();
                match overview.await {
                    Ok(overview) => {
                        // An empty draft has nothing to replay, and its card shows no replay.
                        let replay = match asked.as_deref() {
                            // A number the server refuses (0, or not a number) is answered with why.
                            Some(days) if !overview.draft.is_empty() => Some(replay_release("draft".to_owned(), days.trim().parse().unwrap_or(0)).await),
                            _ => None,
                        };
                        let days = asked.unwrap_or_else(|| "7".to_owned());
                        view! { <Overview overview replay days/> }.into_any()
                    }
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

// Publishing, promoting, pinning and shadows are plain HTML forms that post to their server
// functions: the page loads again with the new state and says what was done (`crate::flash`), or
// with the refusal in its address, shown above the page's cards.

/// Why the last form post of this page was refused, if it was.
#[component]
fn Refusal() -> impl IntoView {
    let refused = |message: &str, error: Option<AppError>| error.map(|error| format!("{message}: {error}"));
    let message = refused("Not published", ServerAction::<PublishRelease>::new().value().get_untracked().and_then(Result::err))
        .or_else(|| refused("Not promoted", ServerAction::<PromoteRelease>::new().value().get_untracked().and_then(Result::err)))
        .or_else(|| refused("Not changed", ServerAction::<PinTenantRelease>::new().value().get_untracked().and_then(Result::err)))
        .or_else(|| refused("Not changed", ServerAction::<ShadowRelease>::new().value().get_untracked().and_then(Result::err)));
    message.map(|message| view! { <div class="mb-6"><FormRefusal message/></div> })
}

#[component]
fn Overview(overview: ReleasesView, replay: Option<Result<ReplayShown, AppError>>, days: String) -> impl IntoView {
    let ReleasesView { general, latest, releases, draft, tenants, can_manage } = overview;
    let tenant_choices = StoredValue::new(tenants.iter().map(|t| (t.slug.clone(), t.name.clone())).collect::<Vec<_>>());
    let release_numbers = StoredValue::new(releases.iter().map(|r| r.number).collect::<Vec<_>>());
    view! {
        <div class="space-y-6">
            <DraftCard draft latest can_manage replay days/>
            <Card title="Releases">
                <ul class="divide-y divide-slate-100" data-testid="releases">
                    {releases.into_iter().map(|release| view! {
                        <ReleaseItem release general can_manage tenants=tenant_choices.get_value()/>
                    }).collect_view()}
                </ul>
            </Card>
            <Card title="Tenants">
                <table class="min-w-full text-sm" data-testid="tenant-releases">
                    <thead class="text-left text-xs uppercase text-slate-500">
                        <tr><th class="py-1 pr-3">"Tenant"</th><th class="py-1 pr-3">"Runs"</th><th class="py-1 pr-3">"Its own policies"</th><th class="py-1">""</th></tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {tenants.into_iter().map(|tenant| view! {
                            <TenantItem tenant can_manage releases=release_numbers.get_value()/>
                        }).collect_view()}
                    </tbody>
                </table>
            </Card>
        </div>
    }
}

#[component]
fn DraftCard(draft: Vec<String>, latest: i64, can_manage: bool, replay: Option<Result<ReplayShown, AppError>>, days: String) -> impl IntoView {
    let empty = draft.is_empty();
    view! {
        <Card title="Draft">
            {if empty {
                view! { <EmptyState message=format!("The draft is release {latest} as published: edit a platform policy or the default behaviour to start the next release.")/> }.into_any()
            } else {
                view! {
                    <p class="text-sm text-slate-600">{format!("Since release {latest}, the draft:")}</p>
                    <ul class="mt-1 text-sm list-disc pl-5" data-testid="draft-changes">
                        {draft.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(!empty).then(|| view! { <ReplayForm days replay/> })}
            {(can_manage && !empty).then(|| view! {
                <form method="post" action=PublishRelease::url() class="mt-4 flex flex-wrap items-end gap-2">
                    <label class="text-sm grow"><span class="block text-slate-600 mb-1">"Release note"</span>
                        <input id="release-note" name="note" class=INPUT placeholder="What changes, for whoever promotes it"/>
                    </label>
                    <button type="submit" class=BUTTON>{format!("Publish release {}", latest + 1)}</button>
                </form>
            })}
        </Card>
    }
}

#[component]
fn ReleaseItem(release: ReleaseRow, general: i64, can_manage: bool, tenants: Vec<(String, String)>) -> impl IntoView {
    let ReleaseRow { number, note, published_by, published_at, policies, canaries, pinned } = release;
    let mut runs = Vec::new();
    if number == general {
        runs.push("general: every tenant without a pin".to_owned());
    }
    if !canaries.is_empty() {
        runs.push(format!("canary: {}", canaries.join(", ")));
    }
    if !pinned.is_empty() {
        runs.push(format!("pinned: {}", pinned.join(", ")));
    }
    view! {
        <li class="py-3" data-testid="release" data-number=number.to_string()>
            <div class="flex flex-wrap items-baseline gap-2">
                <span class="font-semibold">{format!("Release {number}")}</span>
                {(number == general).then(|| view! { <span class="rounded bg-emerald-100 text-emerald-800 text-xs px-2 py-0.5">"general"</span> })}
                <span class="text-xs text-slate-500">{format!("{} · {} · {}", published_by, format_time(published_at), counted(policies, "policy", "policies"))}</span>
            </div>
            {(!note.is_empty()).then(|| view! { <p class="text-sm text-slate-700">{note}</p> })}
            <p class="text-xs text-slate-500" data-testid="release-runs">{if runs.is_empty() { "Runs nowhere.".to_owned() } else { format!("Runs at {}.", runs.join("; ")) }}</p>
            {can_manage.then(|| view! {
                <div class="mt-2 flex flex-wrap items-center gap-2">
                    <form method="post" action=PromoteRelease::url() class="flex flex-wrap items-center gap-2">
                        <input type="hidden" name="number" value=number.to_string()/>
                        <select name="tenant" class=format!("{INPUT} w-auto") aria-label=format!("Tenant to promote release {number} to")>
                            {tenants.into_iter().map(|(slug, name)| view! { <option value=slug>{name}</option> }).collect_view()}
                        </select>
                        <button type="submit" class=BUTTON_SECONDARY>"Promote to this tenant"</button>
                    </form>
                    {(number != general).then(|| view! {
                        <ConfirmPost
                            id=format!("promote-all-{number}")
                            button="Promote to all"
                            button_class=BUTTON_SECONDARY
                            title=format!("Promote release {number} to all?")
                            message="Every tenant that follows the general release runs it from the next decision; canaries of it or of an earlier release join them. Tenants pinned by a platform admin stay where they are."
                            confirm_label="Promote to all"
                            action=PromoteRelease::url()
                            // An empty tenant promotes to all.
                            fields=vec![("number", number.to_string()), ("tenant", String::new())]
                        />
                    })}
                </div>
            })}
        </li>
    }
}

#[component]
fn TenantItem(tenant: TenantRow, can_manage: bool, releases: Vec<i64>) -> impl IntoView {
    let TenantRow { slug, name, release, standing, revision, revision_pinned, shadow: candidate } = tenant;
    let shadowing = candidate.is_some();
    let following = standing.starts_with("follows");
    // The forms of one row; each names the tenant.
    let row = slug.clone();
    let form = move |action: &'static str, fields: AnyView, button: &'static str| {
        view! {
            <form method="post" action=action class="flex items-center gap-2">
                <input type="hidden" name="tenant" value=row.clone()/>
                {fields}
                <button type="submit" class=BUTTON_SECONDARY>{button}</button>
            </form>
        }
    };
    let release_options = |selected: Option<i64>| {
        releases.iter().map(|&n| view! { <option value=n.to_string() selected=Some(n) == selected>{format!("Release {n}")}</option> }).collect_view()
    };
    let pin = form(
        PinTenantRelease::url(),
        view! { <select name="release" class=format!("{INPUT} w-auto") aria-label=format!("Release for {slug}")>{release_options(Some(release))}</select> }
            .into_any(),
        "Pin or roll back",
    );
    // An empty release follows the general one again; an empty shadow stops it.
    let follow =
        (!following).then(|| form(PinTenantRelease::url(), view! { <input type="hidden" name="release" value=""/> }.into_any(), "Follow the general release"));
    let run_shadow = form(
        ShadowRelease::url(),
        view! {
            <select name="release" class=format!("{INPUT} w-auto") aria-label=format!("Shadow for {slug}")>
                <option value="draft">"The draft"</option>
                {release_options(None)}
            </select>
        }
        .into_any(),
        "Run in shadow",
    );
    let stop_shadow = shadowing.then(|| form(ShadowRelease::url(), view! { <input type="hidden" name="release" value=""/> }.into_any(), "Stop the shadow"));
    view! {
        <tr data-testid="tenant-release" data-tenant=slug.clone()>
            <td class="py-2 pr-3">{name}</td>
            <td class="py-2 pr-3"><span class="font-medium" data-testid="tenant-runs">{format!("Release {release}")}</span>" "<span class="text-xs text-slate-500">{standing}</span></td>
            <td class="py-2 pr-3 text-xs text-slate-600">
                <div>{format!("revision {revision}{}", if revision_pinned { " (pinned)" } else { "" })}</div>
                <div data-testid="tenant-shadow">{candidate.map(|c| format!("in shadow: {c}"))}</div>
                <a class="underline" href=format!("/versions?tenant={slug}")>"Versions and shadow diff"</a>
            </td>
            <td class="py-2">
                {can_manage.then(|| view! { <div class="flex flex-wrap items-center gap-2">{pin}{follow}{run_shadow}{stop_shadow}</div> })}
            </td>
        </tr>
    }
}

/// Replays the draft against recent receipts and shows which decisions would change. A GET form:
/// the replay asked is the address (`?replay=N`), answered by the server, so a reload or a link
/// shows it again and it works without script.
#[component]
fn ReplayForm(days: String, replay: Option<Result<ReplayShown, AppError>>) -> impl IntoView {
    view! {
        <form method="get" action="/releases" class="mt-4 flex flex-wrap items-end gap-2">
            <label class="text-sm"><span class="block text-slate-600 mb-1">"Days of receipts"</span>
                <input id="replay-days" name="replay" type="number" min="1" max="90" required value=days class=format!("{INPUT} w-24")/>
            </label>
            <button type="submit" class=BUTTON_SECONDARY>"Replay the draft"</button>
        </form>
        {replay.map(|result| match result {
            Ok(shown) => view! { <ReplayResult shown/> }.into_any(),
            Err(error) => view! { <div class="mt-3"><ActionError error/></div> }.into_any(),
        })}
    }
}

#[component]
fn ReplayResult(shown: ReplayShown) -> impl IntoView {
    let ReplayShown { summary, groups } = shown;
    view! {
        <div class="mt-3 border-t border-slate-200 pt-3" data-testid="replay-report">
            <p class="text-sm" data-testid="replay-summary">{summary}</p>
            {(!groups.is_empty()).then(|| view! {
                <table class="mt-2 min-w-full text-sm">
                    <thead class="text-left text-xs uppercase text-slate-500">
                        <tr><th class="py-1 pr-3">"Tenant"</th><th class="py-1 pr-3">"Tool"</th><th class="py-1 pr-3">"Change"</th><th class="py-1 pr-3">"Decisions"</th><th class="py-1">"Now decided by"</th></tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {groups.into_iter().map(|g| view! {
                            <tr data-testid="replay-group" data-tenant=g.tenant.clone()>
                                <td class="py-2 pr-3">{g.tenant.clone()}</td>
                                <td class="py-2 pr-3 font-mono text-xs">{g.tool.clone()}</td>
                                <td class="py-2 pr-3">{g.change.clone()}</td>
                                <td class="py-2 pr-3">{g.count}</td>
                                <td class="py-2">
                                    <div>{g.rule.clone()}</div>
                                    {g.examples.iter().map(|e| view! { <div class="text-xs font-mono text-slate-500 truncate" title=e.clone()>{e.clone()}</div> }).collect_view()}
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </div>
    }
}
