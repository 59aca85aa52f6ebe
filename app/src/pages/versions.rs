//! A tenant's versions: the platform release it runs and the revision of its own policies, every
//! revision (each save of its policies) with what it changed, and pinning the tenant to one of them
//! or running the newest again. Tenant admins see their own; platform staff open a tenant's from
//! the releases page (`?tenant=slug`).

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::feedback::ConfirmPost;
use crate::components::ui::{counted, format_time, Card, ErrorPanel, FormRefusal, LoadingPanel, PageHeader, BUTTON_SECONDARY};
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRow {
    pub number: i64,
    pub saved_by: String,
    pub saved_at: i64,
    pub change: String,
    pub policies: i64,
}

/// The decisions a candidate in shadow decided otherwise, by tool and verdict pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowRow {
    pub tool: String,
    /// E.g. "allow → deny".
    pub change: String,
    pub count: i64,
    pub rule: String,
    /// Sample requests: the agent and the arguments as stored.
    pub samples: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionsView {
    pub tenant: String,
    /// The tenant's slug when platform staff named it.
    pub slug: Option<String>,
    pub release: i64,
    pub revision: i64,
    pub latest: i64,
    pub pinned: bool,
    pub revisions: Vec<RevisionRow>,
    pub can_pin: bool,
    /// What runs in shadow, in words; `None` when nothing does.
    pub shadow: Option<String>,
    /// The revision the tenant runs in shadow, if one.
    pub shadow_revision: Option<i64>,
    /// Decisions of the last 7 days that also ran in shadow, and how many of them differ.
    pub shadowed: i64,
    pub differing: i64,
    pub shadow_rows: Vec<ShadowRow>,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use crate::AppError;

    /// The tenant a page names (`?tenant=slug`, for platform staff), or the caller's own.
    pub fn target_of(tenant: &Option<String>) -> charter_core::Target<'_> {
        match tenant.as_deref().map(str::trim).filter(|slug| !slug.is_empty()) {
            Some(slug) => charter_core::Target::Tenant(slug),
            None => charter_core::Target::Own,
        }
    }

    /// A number typed into `field`, or `None` when it is empty.
    pub fn optional_number(field: &str, text: &str) -> Result<Option<i64>, AppError> {
        match text.trim() {
            "" => Ok(None),
            text => text.parse::<i64>().map(Some).map_err(|_| AppError::Invalid { field: field.into(), message: format!("must be a number, not `{text}`") }),
        }
    }
}

#[server(endpoint = "versions/overview")]
pub async fn versions_overview(tenant: Option<String>) -> Result<VersionsView, AppError> {
    use crate::auth::server::{access, core};
    use charter_core::{Action, Target};
    let (access, core) = (access()?, core()?);
    let slug = tenant.filter(|slug| !slug.trim().is_empty());
    let target = match &slug {
        Some(slug) => Target::Tenant(slug.trim()),
        None if access.is_platform_staff() => {
            return Err(AppError::Invalid { field: "tenant".into(), message: "choose a tenant on the releases page".into() });
        }
        None => Target::Own,
    };
    let rollout = core.tenant_rollout(&access, target).await?;
    let revisions = core.list_revisions(&access, target, None).await?;
    let can_pin = access.may(Action::WritePolicies, &charter_store::Owner::Tenant(rollout.tenant_id.clone())).is_ok();
    let diff = core.shadow_diff(&access, target, 7).await?;
    let shadow_rows = diff
        .groups
        .into_iter()
        .map(|g| ShadowRow {
            change: format!("{} → {}", g.verdict, g.shadow_verdict),
            rule: g.shadow_rule.unwrap_or_default(),
            samples: g.samples.into_iter().map(|s| format!("{}{}", s.agent.map(|a| format!("{a}: ")).unwrap_or_default(), s.args)).collect(),
            tool: g.tool,
            count: g.count,
        })
        .collect();
    Ok(VersionsView {
        shadow: rollout.shadow().map(charter_store::describe_selection),
        shadow_revision: rollout.shadow_revision,
        shadowed: diff.shadowed,
        differing: diff.differing,
        shadow_rows,
        tenant: rollout.name.clone(),
        slug,
        release: rollout.release,
        revision: rollout.revision(),
        latest: rollout.latest_revision,
        pinned: rollout.revision_pin.is_some(),
        revisions: revisions
            .into_iter()
            .map(|r| RevisionRow { number: r.number, saved_by: r.saved_by, saved_at: r.saved_at, change: r.change, policies: r.policies })
            .collect(),
        can_pin,
    })
}

/// Pins the tenant to `revision`, or with an empty `revision` lets it run its newest.
#[server(endpoint = "versions/pin")]
pub async fn pin_revision(tenant: Option<String>, revision: String) -> Result<i64, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    let (target, revision) = (server::target_of(&tenant), server::optional_number("revision", &revision)?);
    let runs = core()?.pin_revision(&access, target, revision).await?.revision();
    done(format!("Decisions now run revision {runs}.")).await;
    Ok(runs)
}

/// Tells the page that loads after a plain form post of this page what was done.
#[cfg(feature = "ssr")]
async fn done(message: String) {
    crate::flash::server::after_redirect(crate::components::feedback::ToastKind::Success, message).await;
}

/// Runs `revision` of the tenant's policies in shadow, or with an empty `revision` stops it.
#[server(endpoint = "versions/shadow")]
pub async fn shadow_revision(tenant: Option<String>, revision: String) -> Result<Option<String>, AppError> {
    use crate::auth::server::{access, core};
    let access = access()?;
    let (target, revision) = (server::target_of(&tenant), server::optional_number("revision", &revision)?);
    let candidate = core()?.set_revision_shadow(&access, target, revision).await?.shadow().map(charter_store::describe_selection);
    done(match &candidate {
        Some(candidate) => format!("Running {candidate} in shadow: decisions are unchanged, their receipts show what it would decide."),
        None => "Nothing runs in shadow any more.".to_owned(),
    })
    .await;
    Ok(candidate)
}

#[component]
pub fn VersionsPage() -> impl IntoView {
    let query = use_query_map();
    let tenant = move || query.read().get("tenant");
    let overview = Resource::new(tenant, versions_overview);
    // Pinning and shadows are plain form posts: the page loads again with the new state and says
    // what was done (`crate::flash`), or with the refusal in its address, shown here.
    let refused = ServerAction::<PinRevision>::new()
        .value()
        .get_untracked()
        .and_then(Result::err)
        .or_else(|| ServerAction::<ShadowRevision>::new().value().get_untracked().and_then(Result::err));
    view! {
        <Title text="Versions"/>
        <PageHeader title="Versions" subtitle="Every save of your policies is a revision. Decisions run the newest unless you pin an earlier one; saves go on while pinned and are enforced once you run the newest again."/>
        {refused.map(|error| view! { <div class="mb-6"><FormRefusal message=format!("Not changed: {error}")/></div> })}
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(view_model) => view! { <VersionsPanel view_model/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// A form of this page: it names the tenant when platform staff opened another tenant's versions.
fn version_form(action: &'static str, slug: &Option<String>, revision: String, button: impl Into<String>) -> impl IntoView {
    let button = button.into();
    view! {
        <form method="post" action=action>
            {slug.clone().map(|slug| view! { <input type="hidden" name="tenant" value=slug/> })}
            <input type="hidden" name="revision" value=revision/>
            <button type="submit" class=BUTTON_SECONDARY>{button}</button>
        </form>
    }
}

#[component]
fn VersionsPanel(view_model: VersionsView) -> impl IntoView {
    let VersionsView {
        tenant,
        slug,
        release,
        revision,
        latest,
        pinned,
        revisions,
        can_pin,
        shadow: candidate,
        shadow_revision,
        shadowed,
        differing,
        shadow_rows,
    } = view_model;
    let standing = if pinned {
        format!("{tenant} runs platform release {release} and revision {revision} of its own policies, pinned (the newest is {latest}).")
    } else {
        format!("{tenant} runs platform release {release} and its newest revision, {revision}.")
    };
    let tenant_field = slug.clone().map(|slug| ("tenant", slug));
    // An empty revision runs the newest again, or stops the shadow.
    let run_newest = (pinned && can_pin).then(|| version_form(PinRevision::url(), &slug, String::new(), format!("Run the newest revision ({latest})")));
    let stop_shadow = (shadow_revision.is_some() && can_pin).then(|| version_form(ShadowRevision::url(), &slug, String::new(), "Stop the shadow"));
    view! {
        <div class="space-y-6">
            <Card>
                <p class="text-sm" data-testid="versions-standing">{standing}</p>
                {run_newest.map(|form| view! { <div class="mt-2">{form}</div> })}
            </Card>
            <Card title="Shadow">
                <p class="text-sm" data-testid="shadow-standing">{match &candidate {
                    Some(candidate) => format!("{candidate} runs in shadow: every decision is also decided by it, and its receipt shows what it would have decided. In the last 7 days {shadowed} decisions ran in shadow; {differing} would have been decided otherwise."),
                    None => "Nothing runs in shadow. Try a revision in shadow to see, on live decisions, what it would change before you pin it.".to_owned(),
                }}</p>
                {stop_shadow.map(|form| view! { <div class="mt-2">{form}</div> })}
                {(!shadow_rows.is_empty()).then(|| view! {
                    <table class="mt-3 min-w-full text-sm" data-testid="shadow-diff">
                        <thead class="text-left text-xs uppercase text-slate-500">
                            <tr><th class="py-1 pr-3">"Tool"</th><th class="py-1 pr-3">"Enforced → in shadow"</th><th class="py-1 pr-3">"Decisions"</th><th class="py-1">"Decided in shadow by"</th></tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {shadow_rows.into_iter().map(|row| view! {
                                <tr data-testid="shadow-row">
                                    <td class="py-2 pr-3 font-mono text-xs">{row.tool.clone()}</td>
                                    <td class="py-2 pr-3">{row.change.clone()}</td>
                                    <td class="py-2 pr-3">{row.count}</td>
                                    <td class="py-2">
                                        <div>{row.rule.clone()}</div>
                                        {row.samples.iter().map(|sample| view! { <div class="text-xs font-mono text-slate-500 truncate" title=sample.clone()>{sample.clone()}</div> }).collect_view()}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                })}
            </Card>
            <Card title="Revisions">
                <ul class="divide-y divide-slate-100 text-sm" data-testid="revisions">
                    {revisions.into_iter().map(|row| {
                        let number = row.number;
                        let running = number == revision;
                        view! {
                            <li class="py-2 flex flex-wrap items-center gap-2" data-testid="revision" data-number=number.to_string()>
                                <span class="font-medium">{format!("Revision {number}")}</span>
                                <span>{row.change.clone()}</span>
                                <span class="text-xs text-slate-500">{format!("{} · {} · {}", row.saved_by, format_time(row.saved_at), counted(row.policies, "policy", "policies"))}</span>
                                {if running {
                                    view! { <span class="ml-auto text-xs text-emerald-700">"enforced"</span> }.into_any()
                                } else if can_pin {
                                    let shadowing = shadow_revision == Some(number);
                                    let mut fields = vec![("revision", number.to_string())];
                                    fields.extend(tenant_field.clone());
                                    view! {
                                        <div class="ml-auto flex gap-1">
                                            {(!shadowing).then(|| version_form(ShadowRevision::url(), &slug, number.to_string(), "Try in shadow"))}
                                            <ConfirmPost
                                                id=format!("pin-revision-{number}")
                                                button="Pin"
                                                button_class=BUTTON_SECONDARY
                                                title=format!("Pin revision {number}?")
                                                message="From the next decision your policies are enforced as this revision left them. Saves go on making revisions; none is enforced until you run the newest again."
                                                confirm_label="Pin"
                                                action=PinRevision::url()
                                                fields
                                            />
                                        </div>
                                    }.into_any()
                                } else {
                                    ().into_any()
                                }}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Card>
        </div>
    }
}
