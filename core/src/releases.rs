//! Changing policies safely: the platform's releases (publish, promote, pin, roll back) and each
//! tenant's revisions (list, read, pin). Each operation checks access once; the store audits every
//! step in the transaction that makes it.

use charter_store::{
    DraftChanges, Owner, Promotion, Release, ReleaseChoice, ReleaseSummary, Revision, RevisionSummary, Rollout, Selection, ShadowDiff, StoreError, TenantId,
    TenantRollout,
};

use crate::access::{Access, Action, Target};
use crate::{Core, CoreError};

/// To whom a release is promoted, as the caller names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromoteTo<'a> {
    /// Tenants by slug: they run the release at once, ahead of the rest.
    Tenants(&'a [String]),
    /// Every tenant that follows the general release.
    All,
}

/// A release or revision named by a request that does not exist is a mistake in that field.
pub(crate) fn selection_error(err: StoreError) -> CoreError {
    match err {
        StoreError::NotFound { what: "release", id } => CoreError::invalid("release", format!("`{id}` is not a published release")),
        StoreError::NotFound { what: "revision", id } => CoreError::invalid("revision", format!("`{id}` is not a revision of this tenant's policies")),
        other => other.into(),
    }
}

/// Only platform staff look at the platform's other releases and its draft; a tenant sees what it
/// runs.
pub(crate) fn check_selection(access: &Access, selection: Selection) -> Result<(), CoreError> {
    if selection.release.is_some() && !access.is_platform_staff() {
        return Err(CoreError::forbidden("only platform staff choose the platform release"));
    }
    Ok(())
}

impl Core {
    /// The rollout (newest and general release) and every release, newest first.
    pub async fn list_releases(&self, access: &Access) -> Result<(Rollout, Vec<ReleaseSummary>), CoreError> {
        access.may(Action::ReadReleases, &Owner::Platform)?;
        Ok((self.store.rollout().await?, self.store.list_releases().await?))
    }

    /// One release with every platform policy version it holds.
    pub async fn release(&self, access: &Access, number: i64) -> Result<Release, CoreError> {
        access.may(Action::ReadReleases, &Owner::Platform)?;
        Ok(self.store.get_release(number).await?)
    }

    /// How the platform's draft differs from its newest release.
    pub async fn draft_changes(&self, access: &Access) -> Result<DraftChanges, CoreError> {
        access.may(Action::ReadReleases, &Owner::Platform)?;
        Ok(self.store.draft_changes().await?)
    }

    /// Publishes the platform's draft as the next release; it runs nowhere until promoted.
    pub async fn publish_release(&self, access: &Access, note: &str) -> Result<ReleaseSummary, CoreError> {
        access.may(Action::ManageReleases, &Owner::Platform)?;
        Ok(self.store.publish_release(&access.actor(), note).await?)
    }

    /// Promotes release `number` to the named tenants or to all; returns the tenants it moved.
    pub async fn promote_release(&self, access: &Access, number: i64, to: PromoteTo<'_>) -> Result<Vec<TenantRollout>, CoreError> {
        access.may(Action::ManageReleases, &Owner::Platform)?;
        let promotion = match to {
            PromoteTo::All => Promotion::All,
            PromoteTo::Tenants(slugs) => Promotion::Tenants(self.tenants_named(slugs).await?),
        };
        Ok(self.store.promote_release(&access.actor(), number, &promotion).await?)
    }

    /// Which release and revision every tenant runs.
    pub async fn tenant_rollouts(&self, access: &Access) -> Result<Vec<TenantRollout>, CoreError> {
        access.may(Action::ReadReleases, &Owner::Platform)?;
        Ok(self.store.tenant_rollouts().await?)
    }

    /// Which release and revision the named tenant runs.
    pub async fn tenant_rollout(&self, access: &Access, target: Target<'_>) -> Result<TenantRollout, CoreError> {
        let tenant_id = self.tenant_target(access, target, Action::ReadPolicies).await?;
        Ok(self.store.tenant_rollout(&tenant_id).await?)
    }

    /// Pins the named tenant to a release (a rollback when earlier than what it runs), or with
    /// `None` lets it follow the general release.
    pub async fn pin_release(&self, access: &Access, target: Target<'_>, release: Option<i64>) -> Result<TenantRollout, CoreError> {
        let tenant_id = self.tenant_target(access, target, Action::ManageReleases).await?;
        Ok(self.store.pin_release(&access.actor(), &tenant_id, release).await?)
    }

    /// The named tenant's revisions, newest first, older than `before` when given.
    pub async fn list_revisions(&self, access: &Access, target: Target<'_>, before: Option<i64>) -> Result<Vec<RevisionSummary>, CoreError> {
        let tenant_id = self.tenant_target(access, target, Action::ReadPolicies).await?;
        Ok(self.store.list_revisions(&tenant_id, before).await?)
    }

    /// One revision of the named tenant's policies.
    pub async fn revision(&self, access: &Access, target: Target<'_>, number: i64) -> Result<Revision, CoreError> {
        let tenant_id = self.tenant_target(access, target, Action::ReadPolicies).await?;
        Ok(self.store.get_revision(&tenant_id, number).await?)
    }

    /// Pins the named tenant to one of its revisions, or with `None` lets it run its newest.
    pub async fn pin_revision(&self, access: &Access, target: Target<'_>, revision: Option<i64>) -> Result<TenantRollout, CoreError> {
        let tenant_id = self.tenant_target(access, target, Action::WritePolicies).await?;
        Ok(self.store.pin_revision(&access.actor(), &tenant_id, revision).await?)
    }

    /// Runs a platform release (or the draft; `None`: nothing) in shadow for the named tenants.
    pub async fn set_release_shadow(&self, access: &Access, slugs: &[String], release: Option<ReleaseChoice>) -> Result<Vec<TenantRollout>, CoreError> {
        access.may(Action::ManageReleases, &Owner::Platform)?;
        let tenants = self.tenants_named(slugs).await?;
        Ok(self.store.set_release_shadow(&access.actor(), &tenants, release).await?)
    }

    /// Runs a revision of the named tenant's own policies (`None`: none) in shadow.
    pub async fn set_revision_shadow(&self, access: &Access, target: Target<'_>, revision: Option<i64>) -> Result<TenantRollout, CoreError> {
        let tenant_id = self.tenant_target(access, target, Action::WritePolicies).await?;
        Ok(self.store.set_revision_shadow(&access.actor(), &tenant_id, revision).await?)
    }

    /// How the named tenant's decisions of the last `days` would differ under what ran in shadow.
    pub async fn shadow_diff(&self, access: &Access, target: Target<'_>, days: u32) -> Result<ShadowDiff, CoreError> {
        if days == 0 || days > crate::replay::MAX_REPLAY_DAYS {
            return Err(CoreError::invalid("days", format!("must be 1 to {}, not `{days}`", crate::replay::MAX_REPLAY_DAYS)));
        }
        let tenant_id = self.tenant_target(access, target, Action::ReadRecords).await?;
        let since_ms = charter_store::now_ms() - i64::from(days) * 24 * 60 * 60 * 1000;
        Ok(self.store.shadow_diff(&tenant_id, since_ms).await?)
    }

    /// The baselines the named tenant's policies may extend: those of the release it runs. Their
    /// documents are for the tenant to read, since their rules apply in its own scopes.
    pub async fn baselines(&self, access: &Access, target: Target<'_>) -> Result<Vec<charter_store::Baseline>, CoreError> {
        let tenant_id = self.tenant_target(access, target, Action::ReadPolicies).await?;
        Ok(self.store.baselines_for(&tenant_id).await?)
    }

    /// The tenants `slugs` name, each once; a slug that names none is a mistake in `tenants`.
    async fn tenants_named(&self, slugs: &[String]) -> Result<Vec<TenantId>, CoreError> {
        let mut tenants: Vec<TenantId> = Vec::with_capacity(slugs.len());
        for slug in slugs {
            let tenant = self.store.tenant_by_slug(slug.trim()).await?;
            let tenant = tenant.ok_or_else(|| CoreError::invalid("tenants", format!("`{slug}` is not a tenant")))?;
            if !tenants.contains(&tenant.id) {
                tenants.push(tenant.id);
            }
        }
        Ok(tenants)
    }

    /// The tenant `target` names, if the caller may do `action` there.
    pub(crate) async fn tenant_target(&self, access: &Access, target: Target<'_>, action: Action) -> Result<TenantId, CoreError> {
        match self.owner(access, target, action).await? {
            Owner::Tenant(tenant_id) => Ok(tenant_id),
            Owner::Platform => Err(CoreError::TenantRequired),
        }
    }
}

/// The platform release a selection names, in words for the console: `draft` or `release 4`.
pub fn describe_release(choice: ReleaseChoice) -> String {
    match choice {
        ReleaseChoice::Draft => "the draft".to_owned(),
        ReleaseChoice::Number(number) => format!("release {number}"),
    }
}
