//! Changing policies safely over HTTP. For platform staff: the platform's releases (list, read, the
//! draft's changes, publish, promote) and each tenant's release (pin, roll back, follow). For a
//! tenant (or staff naming it): which release and revision it runs, its revisions, and pinning one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use charter_core::{Candidate, PromoteTo, ReplayRequest, Target};
use charter_store::{DraftChanges, ReleaseChoice, ReleaseSummary, RevisionSummary, TenantRollout};
use serde::{Deserialize, Serialize};

use super::body::JsonBody;
use super::caller::{Caller, TenantPath};
use super::error::ApiError;
use super::history::VersionView;
use super::{ApiState, QueryParams};

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleaseView {
    pub number: i64,
    pub note: String,
    pub published_at: i64,
    pub published_by: String,
    /// How many platform policies it holds.
    pub policies: i64,
}

impl From<ReleaseSummary> for ReleaseView {
    fn from(r: ReleaseSummary) -> ReleaseView {
        ReleaseView { number: r.number, note: r.note, published_at: r.published_at, published_by: r.published_by, policies: r.policies }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleasesView {
    /// The newest release.
    pub latest: i64,
    /// The release promoted to all: every tenant without a pin runs it.
    pub general: i64,
    /// Newest first.
    pub releases: Vec<ReleaseView>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReleaseDetailView {
    pub release: ReleaseView,
    /// The platform settings as published.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub policies: Vec<VersionView>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DraftView {
    /// The release the draft is compared with (the newest).
    pub since: i64,
    /// Names of platform policies the draft adds.
    pub added: Vec<String>,
    /// Names of platform policies the draft changes, with the published and draft versions.
    pub changed: Vec<ChangedPolicy>,
    pub removed: Vec<String>,
    /// Whether the default behaviour differs.
    pub settings_changed: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangedPolicy {
    pub name: String,
    pub published_version: i64,
    pub draft_version: i64,
}

impl From<DraftChanges> for DraftView {
    fn from(d: DraftChanges) -> DraftView {
        DraftView {
            since: d.since,
            added: d.added,
            changed: d.changed.into_iter().map(|(name, published_version, draft_version)| ChangedPolicy { name, published_version, draft_version }).collect(),
            removed: d.removed,
            settings_changed: d.settings_changed,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// What the release changes, for the people who promote it (at most 500 characters).
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// Tenants (by slug) that run the release at once, ahead of the rest.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Promote to all: the release becomes the general one.
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TenantRolloutView {
    pub tenant: String,
    pub name: String,
    /// The platform release the tenant runs.
    pub release: i64,
    /// `canary` (promoted ahead of the rest), `pinned` (by a platform admin), or absent when it
    /// follows the general release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_pin: Option<String>,
    /// The revision of its own policies it runs.
    pub revision: i64,
    /// Its newest revision.
    pub latest_revision: i64,
    /// Whether it is pinned to `revision` rather than running its newest.
    pub revision_pinned: bool,
    /// What runs in shadow beside what it enforces, in words; absent when nothing does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shadow: Option<String>,
}

impl From<TenantRollout> for TenantRolloutView {
    fn from(t: TenantRollout) -> TenantRolloutView {
        TenantRolloutView {
            revision: t.revision(),
            shadow: t.shadow().map(charter_store::describe_selection),
            tenant: t.slug,
            name: t.name,
            release: t.release,
            release_pin: t.release_pin.map(|pin| pin.kind.as_str().to_owned()),
            latest_revision: t.latest_revision,
            revision_pinned: t.revision_pin.is_some(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PromotedView {
    /// The tenants whose release changed.
    pub moved: Vec<TenantRolloutView>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleasePinRequest {
    /// The release to pin the tenant to (earlier than what it runs: a rollback); null to let it
    /// follow the general release.
    pub release: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionPinRequest {
    /// The revision of the tenant's policies to run; null to run its newest.
    pub revision: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RevisionView {
    pub number: i64,
    pub saved_at: i64,
    pub saved_by: String,
    /// What the save did, in words.
    pub change: String,
    /// How many policies the tenant had after it.
    pub policies: i64,
}

impl From<RevisionSummary> for RevisionView {
    fn from(r: RevisionSummary) -> RevisionView {
        RevisionView { number: r.number, saved_at: r.saved_at, saved_by: r.saved_by, change: r.change, policies: r.policies }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RevisionDetailView {
    pub revision: RevisionView,
    pub policies: Vec<VersionView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RevisionsQuery {
    /// Only revisions older than this one (the last number of the previous page).
    pub before: Option<i64>,
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::Unprocessable { code: "invalid", message: format!("`{field}` {message}"), field: Some(field.to_owned()), details: None }
}

/// A release number from the path: a whole number from 1, else a 400 that names it.
fn release_number(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|number| *number > 0)
        .ok_or_else(|| ApiError::bad_request(Some("number"), format!("the release in the path must be a whole number from 1, not `{text}`")))
}

#[utoipa::path(get, path = "/api/v1/platform/releases", tag = "releases", operation_id = "list_releases",
    responses((status = 200, body = ReleasesView), (status = 403)))]
pub async fn list(State(state): State<ApiState>, Caller(access): Caller) -> Result<Json<ReleasesView>, ApiError> {
    let (rollout, releases) = state.core.list_releases(&access).await?;
    Ok(Json(ReleasesView { latest: rollout.latest, general: rollout.general, releases: releases.into_iter().map(ReleaseView::from).collect() }))
}

#[utoipa::path(post, path = "/api/v1/platform/releases", tag = "releases", operation_id = "publish_release", request_body = PublishRequest,
    responses((status = 201, body = ReleaseView, description = "Published; it runs nowhere until promoted"), (status = 403), (status = 422, description = "The draft holds nothing new, or the note is too long")))]
pub async fn publish(
    State(state): State<ApiState>,
    Caller(access): Caller,
    JsonBody(body): JsonBody<PublishRequest>,
) -> Result<(StatusCode, Json<ReleaseView>), ApiError> {
    let release = state.core.publish_release(&access, &body.note).await?;
    Ok((StatusCode::CREATED, Json(release.into())))
}

#[utoipa::path(get, path = "/api/v1/platform/releases/draft", tag = "releases", operation_id = "draft_changes",
    responses((status = 200, body = DraftView), (status = 403)))]
pub async fn draft(State(state): State<ApiState>, Caller(access): Caller) -> Result<Json<DraftView>, ApiError> {
    Ok(Json(state.core.draft_changes(&access).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/platform/releases/{number}", tag = "releases", operation_id = "get_release", params(("number" = i64, Path)),
    responses((status = 200, body = ReleaseDetailView), (status = 400), (status = 403), (status = 404)))]
pub async fn get(State(state): State<ApiState>, Caller(access): Caller, Path(number): Path<String>) -> Result<Json<ReleaseDetailView>, ApiError> {
    let release = state.core.release(&access, release_number(&number)?).await?;
    Ok(Json(ReleaseDetailView {
        settings: serde_json::from_str(&release.settings).unwrap_or_default(),
        release: release.summary.into(),
        policies: release.policies.into_iter().map(VersionView::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/platform/releases/{number}/promote", tag = "releases", operation_id = "promote_release", params(("number" = i64, Path)),
    request_body = PromoteRequest,
    responses((status = 200, body = PromotedView), (status = 400), (status = 403), (status = 404), (status = 422, description = "Neither tenants nor all, both, or a tenant that does not exist")))]
pub async fn promote(
    State(state): State<ApiState>,
    Caller(access): Caller,
    Path(number): Path<String>,
    JsonBody(body): JsonBody<PromoteRequest>,
) -> Result<Json<PromotedView>, ApiError> {
    let number = release_number(&number)?;
    let to = match (body.all, body.tenants.is_empty()) {
        (true, true) => PromoteTo::All,
        (false, false) => PromoteTo::Tenants(&body.tenants),
        (true, false) => return Err(invalid("all", "name tenants or promote to all, not both")),
        (false, true) => return Err(invalid("tenants", "name at least one tenant, or set `all`")),
    };
    let moved = state.core.promote_release(&access, number, to).await?;
    Ok(Json(PromotedView { moved: moved.into_iter().map(TenantRolloutView::from).collect() }))
}

#[utoipa::path(get, path = "/api/v1/platform/rollout", tag = "releases", operation_id = "list_tenant_rollouts",
    responses((status = 200, body = Vec<TenantRolloutView>, description = "Every tenant, by slug"), (status = 403)))]
pub async fn rollouts(State(state): State<ApiState>, Caller(access): Caller) -> Result<Json<Vec<TenantRolloutView>>, ApiError> {
    Ok(Json(state.core.tenant_rollouts(&access).await?.into_iter().map(TenantRolloutView::from).collect()))
}

#[utoipa::path(put, path = "/api/v1/tenants/{slug}/release", tag = "releases", operation_id = "pin_tenant_release", params(("slug" = String, Path)),
    request_body = ReleasePinRequest,
    responses((status = 200, body = TenantRolloutView), (status = 403), (status = 404, description = "No such tenant or release")))]
pub async fn pin_release(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    JsonBody(body): JsonBody<ReleasePinRequest>,
) -> Result<Json<TenantRolloutView>, ApiError> {
    Ok(Json(state.core.pin_release(&access, path.target(), body.release).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/rollout", tag = "releases", operation_id = "get_rollout",
    responses((status = 200, body = TenantRolloutView, description = "The platform release and the revision of its own policies the tenant runs"), (status = 404)))]
pub async fn rollout(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<TenantRolloutView>, ApiError> {
    Ok(Json(state.core.tenant_rollout(&access, path.target()).await?.into()))
}

#[utoipa::path(put, path = "/api/v1/rollout", tag = "releases", operation_id = "pin_revision", request_body = RevisionPinRequest,
    responses((status = 200, body = TenantRolloutView), (status = 403), (status = 404, description = "No such revision of this tenant")))]
pub async fn pin_revision(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    JsonBody(body): JsonBody<RevisionPinRequest>,
) -> Result<Json<TenantRolloutView>, ApiError> {
    Ok(Json(state.core.pin_revision(&access, path.target(), body.revision).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/revisions", tag = "releases", operation_id = "list_revisions", params(RevisionsQuery),
    responses((status = 200, body = Vec<RevisionView>, description = "Newest first, at most 100"), (status = 404)))]
pub async fn revisions(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<RevisionsQuery>,
) -> Result<Json<Vec<RevisionView>>, ApiError> {
    Ok(Json(state.core.list_revisions(&access, path.target(), query.before).await?.into_iter().map(RevisionView::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/revisions/{version}", tag = "releases", operation_id = "get_revision", params(("version" = i64, Path)),
    responses((status = 200, body = RevisionDetailView), (status = 400), (status = 404)))]
pub async fn revision(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<RevisionDetailView>, ApiError> {
    let revision = state.core.revision(&access, path.target(), path.version()?).await?;
    Ok(Json(RevisionDetailView { revision: revision.summary.into(), policies: revision.policies.into_iter().map(VersionView::from).collect() }))
}

/// A platform release by number, or `"draft"`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ReleaseField {
    Number(i64),
    Name(String),
}

impl ReleaseField {
    fn choice(&self) -> Result<ReleaseChoice, ApiError> {
        match self {
            ReleaseField::Number(number) if *number > 0 => Ok(ReleaseChoice::Number(*number)),
            ReleaseField::Name(name) if name == "draft" => Ok(ReleaseChoice::Draft),
            _ => Err(invalid("release", "must be a release number or `draft`")),
        }
    }
}

fn default_days() -> u32 {
    7
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseReplayRequest {
    /// The candidate: a release number, or `"draft"`.
    #[schema(value_type = Object)]
    pub release: ReleaseField,
    /// How many days of receipts to replay (1-90, 7 unless given).
    #[serde(default = "default_days")]
    pub days: u32,
    /// One tenant (by slug); every tenant when absent.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Only receipts of decisions that ran this release.
    #[serde(default)]
    pub ran_release: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionReplayRequest {
    /// The candidate revision of the tenant's own policies; its newest when absent.
    #[serde(default)]
    pub revision: Option<i64>,
    /// How many days of receipts to replay (1-90, 7 unless given).
    #[serde(default = "default_days")]
    pub days: u32,
    /// Only receipts of decisions that ran this platform release.
    #[serde(default)]
    pub ran_release: Option<i64>,
}

/// One request as its receipt keeps it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SampleView {
    pub receipt_id: String,
    pub agent: Option<String>,
    /// The arguments as stored (masked fields masked).
    #[schema(value_type = Object)]
    pub args: serde_json::Value,
    pub created_at: i64,
}

impl SampleView {
    fn new(receipt_id: String, agent: Option<String>, args: &str, created_at: i64) -> SampleView {
        SampleView { receipt_id, agent, args: serde_json::from_str(args).unwrap_or_default(), created_at }
    }
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FlipGroupView {
    pub tenant: String,
    pub tool: String,
    /// The verdict given at the time.
    pub from: String,
    /// The candidate's verdict.
    pub to: String,
    pub count: u64,
    /// The rule that decides under the candidate (or its default), in words.
    pub rule: String,
    pub examples: Vec<SampleView>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReplayView {
    pub candidate: String,
    pub days: u32,
    pub tenants: usize,
    pub replayed: u64,
    pub unchanged: u64,
    pub flipped: u64,
    /// A rule that could apply reads an argument the receipt keeps masked.
    pub unknown: u64,
    /// Settled by rate limits, budgets or unreachable counters, refused before any policy, or the
    /// tool was switched on or off since.
    pub set_aside: u64,
    /// Largest first.
    pub groups: Vec<FlipGroupView>,
    pub elapsed_ms: u64,
}

impl From<charter_core::ReplayReport> for ReplayView {
    fn from(r: charter_core::ReplayReport) -> ReplayView {
        ReplayView {
            candidate: r.candidate,
            days: r.days,
            tenants: r.tenants,
            replayed: r.replayed,
            unchanged: r.unchanged,
            flipped: r.flipped,
            unknown: r.unknown,
            set_aside: r.set_aside,
            groups: r
                .groups
                .into_iter()
                .map(|g| FlipGroupView {
                    tenant: g.tenant,
                    tool: g.tool,
                    from: g.from.to_string(),
                    to: g.to.to_string(),
                    count: g.count,
                    rule: g.rule,
                    examples: g.examples.into_iter().map(|e| SampleView::new(e.receipt_id.into_string(), e.agent, &e.args, e.created_at)).collect(),
                })
                .collect(),
            elapsed_ms: r.elapsed_ms,
        }
    }
}

#[utoipa::path(post, path = "/api/v1/platform/releases/replay", tag = "releases", operation_id = "replay_release", request_body = ReleaseReplayRequest,
    responses((status = 200, body = ReplayView, description = "Which decisions of which tenants the candidate would change"), (status = 403), (status = 404), (status = 422)))]
pub async fn replay_release(
    State(state): State<ApiState>,
    Caller(access): Caller,
    JsonBody(body): JsonBody<ReleaseReplayRequest>,
) -> Result<Json<ReplayView>, ApiError> {
    let request = ReplayRequest {
        candidate: Candidate::Release(body.release.choice()?),
        tenant: body.tenant.as_deref().map(Target::Tenant),
        days: body.days,
        ran_release: body.ran_release,
    };
    Ok(Json(state.core.replay(&access, request).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/revisions/replay", tag = "releases", operation_id = "replay_revision", request_body = RevisionReplayRequest,
    responses((status = 200, body = ReplayView, description = "Which of the tenant's decisions the revision would change"), (status = 403), (status = 404), (status = 422)))]
pub async fn replay_revision(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    JsonBody(body): JsonBody<RevisionReplayRequest>,
) -> Result<Json<ReplayView>, ApiError> {
    let request = ReplayRequest { candidate: Candidate::Revision(body.revision), tenant: Some(path.target()), days: body.days, ran_release: body.ran_release };
    Ok(Json(state.core.replay(&access, request).await?.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseShadowRequest {
    /// The tenants (by slug) the candidate runs in shadow for.
    pub tenants: Vec<String>,
    /// A release number or `"draft"`; null stops the shadow.
    #[schema(value_type = Object)]
    pub release: Option<ReleaseField>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionShadowRequest {
    /// A revision of the tenant's own policies; null stops the shadow.
    pub revision: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShadowQuery {
    /// How many days of decisions (1-90, 7 unless given).
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShadowGroupView {
    pub tool: String,
    /// The enforced verdict.
    pub verdict: String,
    /// What the candidate decided.
    pub shadow_verdict: String,
    /// The rule that settled the candidate's verdict, in words.
    pub rule: Option<String>,
    /// The candidate, in words.
    pub candidate: Option<String>,
    pub count: i64,
    pub samples: Vec<SampleView>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShadowDiffView {
    /// Decisions that also ran in shadow.
    pub shadowed: i64,
    /// Of those, the ones the candidate decided otherwise.
    pub differing: i64,
    pub groups: Vec<ShadowGroupView>,
}

#[utoipa::path(put, path = "/api/v1/platform/shadow", tag = "releases", operation_id = "set_release_shadow", request_body = ReleaseShadowRequest,
    responses((status = 200, body = Vec<TenantRolloutView>), (status = 403), (status = 404, description = "No such release"), (status = 422)))]
pub async fn set_release_shadow(
    State(state): State<ApiState>,
    Caller(access): Caller,
    JsonBody(body): JsonBody<ReleaseShadowRequest>,
) -> Result<Json<Vec<TenantRolloutView>>, ApiError> {
    let release = body.release.as_ref().map(ReleaseField::choice).transpose()?;
    let changed = state.core.set_release_shadow(&access, &body.tenants, release).await?;
    Ok(Json(changed.into_iter().map(TenantRolloutView::from).collect()))
}

#[utoipa::path(put, path = "/api/v1/shadow", tag = "releases", operation_id = "set_revision_shadow", request_body = RevisionShadowRequest,
    responses((status = 200, body = TenantRolloutView), (status = 403), (status = 404, description = "No such revision of this tenant")))]
pub async fn set_revision_shadow(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    JsonBody(body): JsonBody<RevisionShadowRequest>,
) -> Result<Json<TenantRolloutView>, ApiError> {
    Ok(Json(state.core.set_revision_shadow(&access, path.target(), body.revision).await?.into()))
}

#[utoipa::path(get, path = "/api/v1/shadow", tag = "releases", operation_id = "shadow_diff", params(ShadowQuery),
    responses((status = 200, body = ShadowDiffView, description = "The decisions the candidate in shadow decided otherwise, by tool and verdict pair"), (status = 404), (status = 422)))]
pub async fn shadow_diff(
    State(state): State<ApiState>,
    Caller(access): Caller,
    path: TenantPath,
    QueryParams(query): QueryParams<ShadowQuery>,
) -> Result<Json<ShadowDiffView>, ApiError> {
    let diff = state.core.shadow_diff(&access, path.target(), query.days.unwrap_or(7)).await?;
    Ok(Json(ShadowDiffView {
        shadowed: diff.shadowed,
        differing: diff.differing,
        groups: diff
            .groups
            .into_iter()
            .map(|g| ShadowGroupView {
                tool: g.tool,
                verdict: g.verdict,
                shadow_verdict: g.shadow_verdict,
                rule: g.shadow_rule,
                candidate: g.shadow_of,
                count: g.count,
                samples: g.samples.into_iter().map(|s| SampleView::new(s.id, s.agent, &s.args, s.created_at)).collect(),
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BaselineView {
    /// What a policy names in `extends`.
    pub name: String,
    pub title: String,
    pub description: String,
    pub version: i64,
    /// The baseline's document; its rules apply in the scope of each policy that extends it.
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
}

#[utoipa::path(get, path = "/api/v1/baselines", tag = "releases", operation_id = "list_baselines",
    responses((status = 200, body = Vec<BaselineView>, description = "The baselines of the platform release the tenant runs, by name"), (status = 404)))]
pub async fn baselines(State(state): State<ApiState>, Caller(access): Caller, path: TenantPath) -> Result<Json<Vec<BaselineView>>, ApiError> {
    let baselines = state.core.baselines(&access, path.target()).await?;
    Ok(Json(
        baselines
            .into_iter()
            .map(|b| BaselineView {
                document: serde_json::from_str(&b.document).unwrap_or_default(),
                name: b.name,
                title: b.title,
                description: b.description,
                version: b.version,
            })
            .collect(),
    ))
}
