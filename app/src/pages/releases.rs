//! Platform releases: the draft's changes since the newest release and publishing it; every release
//! with the tenants that run it; promoting a release to chosen tenants (canaries) or to all; and,
//! per tenant, pinning it to a release (a rollback when earlier) or letting it follow the general
//! release. Platform admins act; support sees the same, read-only.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::components::feedback::{ConfirmDialog, Toasts};
use crate::components::ui::{counted, format_time, Card, EmptyState, ErrorPanel, LoadingPanel, PageHeader, BUTTON, BUTTON_SECONDARY, INPUT};
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
    Ok(core()?.publish_release(&access, &note).await?.number)
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
    Ok(core()?.promote_release(&access, number, to).await?.len())
}

/// Pins a tenant to `release`, or with an empty `release` lets it follow the general release.
#[server(endpoint = "releases/pin")]
pub async fn pin_tenant_release(tenant: String, release: String) -> Result<i64, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::Target;
    let access = access()?;
    let release = crate::pages::versions::server::optional_number("release", &release)?;
    Ok(core()?.pin_release(&access, Target::Tenant(tenant.trim()), release).await?.release)
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
    Ok(changed.into_iter().next().and_then(|t| t.shadow()).map(charter_store::describe_selection))
}

#[component]
pub fn ReleasesPage() -> impl IntoView {
    let toasts = expect_context::<Toasts>();
    let publish = ServerAction::<PublishRelease>::new();
    let promote = ServerAction::<PromoteRelease>::new();
    let pin = ServerAction::<PinTenantRelease>::new();
    let shadow = ServerAction::<ShadowRelease>::new();
    provide_context(shadow);
    let overview =
        Resource::new(move || (publish.version().get(), promote.version().get(), pin.version().get(), shadow.version().get()), |_| releases_overview());
    Effect::new(move |_| match shadow.value().get() {
        Some(Ok(Some(candidate))) => toasts.success(format!("Running {candidate} in shadow for the tenant.")),
        Some(Ok(None)) => toasts.success("Nothing runs in shadow for the tenant any more."),
        Some(Err(error)) => toasts.error(format!("Not changed: {error}")),
        None => {}
    });
    Effect::new(move |_| match publish.value().get() {
        Some(Ok(number)) => toasts.success(format!("Published release {number}. It runs nowhere until you promote it.")),
        Some(Err(error)) => toasts.error(format!("Not published: {error}")),
        None => {}
    });
    Effect::new(move |_| match promote.value().get() {
        Some(Ok(moved)) => toasts.success(format!("Promoted: {} moved to it.", counted(moved, "tenant", "tenants"))),
        Some(Err(error)) => toasts.error(format!("Not promoted: {error}")),
        None => {}
    });
    Effect::new(move |_| match pin.value().get() {
        Some(Ok(release)) => toasts.success(format!("The tenant now runs release {release}.")),
        Some(Err(error)) => toasts.error(format!("Not changed: {error}")),
        None => {}
    });
    view! {
        <Title text="Releases"/>
        <PageHeader title="Platform releases" subtitle="Platform policy edits are a draft until published; a release reaches tenants when you promote it, to a canary first, then to all."/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <Overview overview publish promote pin/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Overview(
    overview: ReleasesView,
    publish: ServerAction<PublishRelease>,
    promote: ServerAction<PromoteRelease>,
    pin: ServerAction<PinTenantRelease>,
) -> impl IntoView {
    let ReleasesView { general, latest, releases, draft, tenants, can_manage } = overview;
    let tenant_choices = StoredValue::new(tenants.iter().map(|t| (t.slug.clone(), t.name.clone())).collect::<Vec<_>>());
    let release_numbers = StoredValue::new(releases.iter().map(|r| r.number).collect::<Vec<_>>());
    view! {
        <div class="space-y-6">
            <DraftCard draft latest can_manage publish/>
            <Card title="Releases">
                <ul class="divide-y divide-slate-100" data-testid="releases">
                    {releases.into_iter().map(|release| view! {
                        <ReleaseItem release general can_manage promote tenants=tenant_choices.get_value()/>
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
                            <TenantItem tenant can_manage pin releases=release_numbers.get_value()/>
                        }).collect_view()}
                    </tbody>
                </table>
            </Card>
        </div>
    }
}

#[component]
fn DraftCard(draft: Vec<String>, latest: i64, can_manage: bool, publish: ServerAction<PublishRelease>) -> impl IntoView {
    let note = RwSignal::new(String::new());
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
            {(!empty).then(|| view! { <ReplayForm/> })}
            {(can_manage && !empty).then(|| view! {
                <form class="mt-4 flex flex-wrap items-end gap-2" on:submit=move |ev| {
                    ev.prevent_default();
                    publish.dispatch(PublishRelease { note: note.get_untracked() });
                }>
                    <label class="text-sm grow"><span class="block text-slate-600 mb-1">"Release note"</span>
                        <input id="release-note" class=INPUT placeholder="What changes, for whoever promotes it" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))/>
                    </label>
                    <button type="submit" class=BUTTON disabled=move || publish.pending().get()>{format!("Publish release {}", latest + 1)}</button>
                </form>
            })}
        </Card>
    }
}

#[component]
fn ReleaseItem(release: ReleaseRow, general: i64, can_manage: bool, promote: ServerAction<PromoteRelease>, tenants: Vec<(String, String)>) -> impl IntoView {
    let ReleaseRow { number, note, published_by, published_at, policies, canaries, pinned } = release;
    let chosen = RwSignal::new(tenants.first().map(|(slug, _)| slug.clone()).unwrap_or_default());
    let confirm_all = RwSignal::new(false);
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
                    <select class=format!("{INPUT} w-auto") aria-label=format!("Tenant to promote release {number} to") on:change=move |ev| chosen.set(event_target_value(&ev))>
                        {tenants.iter().map(|(slug, name)| view! { <option value=slug.clone()>{name.clone()}</option> }).collect_view()}
                    </select>
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| { promote.dispatch(PromoteRelease { number, tenant: chosen.get_untracked() }); }>"Promote to this tenant"</button>
                    {(number != general).then(|| view! {
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| confirm_all.set(true)>"Promote to all"</button>
                    })}
                </div>
            })}
            <ConfirmDialog
                open=confirm_all
                title=format!("Promote release {number} to all?")
                message="Every tenant that follows the general release runs it from the next decision; canaries of it or of an earlier release join them. Tenants pinned by a platform admin stay where they are."
                confirm_label="Promote to all"
                on_confirm=Callback::new(move |_| { promote.dispatch(PromoteRelease { number, tenant: String::new() }); })
            />
        </li>
    }
}

#[component]
fn TenantItem(tenant: TenantRow, can_manage: bool, pin: ServerAction<PinTenantRelease>, releases: Vec<i64>) -> impl IntoView {
    let TenantRow { slug, name, release, standing, revision, revision_pinned, shadow: candidate } = tenant;
    let shadow = expect_context::<ServerAction<ShadowRelease>>();
    let chosen = RwSignal::new(release.to_string());
    let shadow_choice = RwSignal::new("draft".to_owned());
    let shadowing = candidate.is_some();
    let slug = StoredValue::new(slug);
    let following = standing.starts_with("follows");
    view! {
        <tr data-testid="tenant-release" data-tenant=slug.get_value()>
            <td class="py-2 pr-3">{name}</td>
            <td class="py-2 pr-3"><span class="font-medium" data-testid="tenant-runs">{format!("Release {release}")}</span>" "<span class="text-xs text-slate-500">{standing}</span></td>
            <td class="py-2 pr-3 text-xs text-slate-600">
                <div>{format!("revision {revision}{}", if revision_pinned { " (pinned)" } else { "" })}</div>
                <div data-testid="tenant-shadow">{candidate.map(|c| format!("in shadow: {c}"))}</div>
                <a class="underline" href=format!("/versions?tenant={}", slug.get_value())>"Versions and shadow diff"</a>
            </td>
            <td class="py-2">
                {can_manage.then(|| view! {
                    <div class="flex flex-wrap items-center gap-2">
                        <select class=format!("{INPUT} w-auto") aria-label=format!("Release for {}", slug.get_value()) on:change=move |ev| chosen.set(event_target_value(&ev))>
                            {releases.iter().map(|n| view! { <option value=n.to_string() selected=*n == release>{format!("Release {n}")}</option> }).collect_view()}
                        </select>
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| { pin.dispatch(PinTenantRelease { tenant: slug.get_value(), release: chosen.get_untracked() }); }>
                            {move || if chosen.get().parse::<i64>().is_ok_and(|n| n < release) { "Roll back" } else { "Pin" }}
                        </button>
                        {(!following).then(|| view! {
                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| { pin.dispatch(PinTenantRelease { tenant: slug.get_value(), release: String::new() }); }>"Follow the general release"</button>
                        })}
                        <select class=format!("{INPUT} w-auto") aria-label=format!("Shadow for {}", slug.get_value()) on:change=move |ev| shadow_choice.set(event_target_value(&ev))>
                            <option value="draft">"The draft"</option>
                            {releases.iter().map(|n| view! { <option value=n.to_string()>{format!("Release {n}")}</option> }).collect_view()}
                        </select>
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| { shadow.dispatch(ShadowRelease { tenant: slug.get_value(), release: shadow_choice.get_untracked() }); }>"Run in shadow"</button>
                        {shadowing.then(|| view! {
                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| { shadow.dispatch(ShadowRelease { tenant: slug.get_value(), release: String::new() }); }>"Stop the shadow"</button>
                        })}
                    </div>
                })}
            </td>
        </tr>
    }
}

/// Replays the draft against recent receipts and shows which decisions would change.
#[component]
fn ReplayForm() -> impl IntoView {
    let days = RwSignal::new("7".to_owned());
    let replay = ServerAction::<ReplayRelease>::new();
    view! {
        <form class="mt-4 flex flex-wrap items-end gap-2" on:submit=move |ev| {
            ev.prevent_default();
            let days = days.get_untracked().trim().parse::<u32>().unwrap_or(0);
            replay.dispatch(ReplayRelease { release: "draft".to_owned(), days });
        }>
            <label class="text-sm"><span class="block text-slate-600 mb-1">"Days of receipts"</span>
                <input id="replay-days" type="number" min="1" max="90" class=format!("{INPUT} w-24") prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev))/>
            </label>
            <button type="submit" class=BUTTON_SECONDARY disabled=move || replay.pending().get()>"Replay the draft"</button>
        </form>
        {move || replay.value().get().map(|result| match result {
            Ok(shown) => view! { <ReplayResult shown/> }.into_any(),
            Err(error) => view! { <div class="mt-3"><ErrorPanel error/></div> }.into_any(),
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
