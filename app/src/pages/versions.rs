//! A tenant's versions: the platform release it runs and the revision of its own policies, every
//! revision (each save of its policies) with what it changed, and pinning the tenant to one of them
//! or running the newest again. Tenant admins see their own; platform staff open a tenant's from
//! the releases page (`?tenant=slug`).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::feedback::{ConfirmDialog, Toasts};
use crate::components::ui::{counted, format_time, Card, ErrorPanel, LoadingPanel, PageHeader, BUTTON_SECONDARY};
use crate::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRow {
    pub number: i64,
    pub saved_by: String,
    pub saved_at: i64,
    pub change: String,
    pub policies: i64,
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
    Ok(VersionsView {
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
    use charter_core::Target;
    let access = access()?;
    let target = match tenant.as_deref().map(str::trim).filter(|slug| !slug.is_empty()) {
        Some(slug) => Target::Tenant(slug),
        None => Target::Own,
    };
    let revision = match revision.trim() {
        "" => None,
        text => {
            Some(text.parse::<i64>().map_err(|_| AppError::Invalid { field: "revision".into(), message: format!("must be a revision number, not `{text}`") })?)
        }
    };
    Ok(core()?.pin_revision(&access, target, revision).await?.revision())
}

#[component]
pub fn VersionsPage() -> impl IntoView {
    let query = use_query_map();
    let tenant = move || query.read().get("tenant");
    let toasts = expect_context::<Toasts>();
    let pin = ServerAction::<PinRevision>::new();
    Effect::new(move |_| match pin.value().get() {
        Some(Ok(revision)) => toasts.success(format!("Decisions now run revision {revision}.")),
        Some(Err(error)) => toasts.error(format!("Not changed: {error}")),
        None => {}
    });
    let overview = Resource::new(move || (tenant(), pin.version().get()), |(tenant, _)| versions_overview(tenant));
    view! {
        <Title text="Versions"/>
        <PageHeader title="Versions" subtitle="Every save of your policies is a revision. Decisions run the newest unless you pin an earlier one; saves go on while pinned and are enforced once you run the newest again."/>
        <Transition fallback=|| view! { <LoadingPanel/> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(view_model) => view! { <VersionsPanel view_model pin/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn VersionsPanel(view_model: VersionsView, pin: ServerAction<PinRevision>) -> impl IntoView {
    let VersionsView { tenant, slug, release, revision, latest, pinned, revisions, can_pin } = view_model;
    let slug = StoredValue::new(slug);
    let chosen = RwSignal::new(None::<i64>);
    let confirm = RwSignal::new(false);
    let standing = if pinned {
        format!("{tenant} runs platform release {release} and revision {revision} of its own policies, pinned (the newest is {latest}).")
    } else {
        format!("{tenant} runs platform release {release} and its newest revision, {revision}.")
    };
    view! {
        <div class="space-y-6">
            <Card>
                <p class="text-sm" data-testid="versions-standing">{standing}</p>
                {(pinned && can_pin).then(|| view! {
                    <button type="button" class=format!("{BUTTON_SECONDARY} mt-2") on:click=move |_| { pin.dispatch(PinRevision { tenant: slug.get_value(), revision: String::new() }); }>
                        {format!("Run the newest revision ({latest})")}
                    </button>
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
                                    view! {
                                        <button type="button" class=format!("{BUTTON_SECONDARY} ml-auto") on:click=move |_| { chosen.set(Some(number)); confirm.set(true); }>"Pin"</button>
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
        {move || chosen.get().map(|number| view! {
            <ConfirmDialog
                open=confirm
                title=format!("Pin revision {number}?")
                message="From the next decision your policies are enforced as this revision left them. Saves go on making revisions; none is enforced until you run the newest again."
                confirm_label="Pin"
                on_confirm=Callback::new(move |_| { pin.dispatch(PinRevision { tenant: slug.get_value(), revision: number.to_string() }); })
            />
        })}
    }
}
