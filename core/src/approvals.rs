//! Approvals: a tenant's pending requests, polled by its agents and resolved by its approvers.

use charter_store::{ApiKeyId, Approval, ApprovalId, KeyScope, Resolution};
use serde::Deserialize;

use crate::access::{Access, Action, Target};
use crate::tenant_view;
use crate::{Core, CoreError};

/// A pending approval as an approver's queue shows it.
#[derive(Clone, Debug)]
pub struct QueueEntry {
    pub approval: Approval,
    /// The approver roles asked.
    pub approvers: Vec<String>,
    /// The roles that have approved so far.
    pub approved_by: Vec<String>,
}

#[derive(Deserialize)]
struct Vote {
    role: String,
}

fn roles_of(approval: &Approval) -> (Vec<String>, Vec<String>) {
    let approvers: Vec<String> = serde_json::from_str(&approval.approvers).unwrap_or_default();
    let votes: Vec<Vote> = serde_json::from_str(&approval.votes).unwrap_or_default();
    (approvers, votes.into_iter().map(|vote| vote.role).collect())
}

/// The key of an agent that may see only the approvals its own decisions asked for: one given
/// `decide` without `records:read`.
fn polling_key(access: &Access) -> Option<&ApiKeyId> {
    match access {
        Access::Agent(key) if !key.scopes.contains(KeyScope::RecordsRead) => Some(&key.key_id),
        _ => None,
    }
}

/// The longest comment an approver may leave with a vote.
pub const MAX_COMMENT_CHARS: usize = 2_000;

impl Core {
    /// The named tenant's approvals, newest first. An approver who is not a tenant admin sees only
    /// those addressed to one of their roles.
    pub async fn list_approvals(&self, access: &Access, target: Target<'_>, pending_only: bool, limit: i64) -> Result<Vec<Approval>, CoreError> {
        let owner = self.owner(access, target, Action::ReadApprovals).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        if polling_key(access).is_some() {
            return Err(CoreError::forbidden(
                "listing approvals needs `records:read`; a key with `decide` polls the approvals its own decisions asked for, by id",
            ));
        }
        let mut approvals = self.store.list_approvals(tenant_id, pending_only, limit).await?;
        if let Access::TenantMember { person, .. } = access {
            approvals.retain(|approval| roles_of(approval).0.iter().any(|role| person.approver_roles.contains(role)));
        }
        approvals.into_iter().map(|approval| tenant_view::approval_for(access, approval)).collect()
    }

    /// The signed-in approver's queue: pending requests still waiting for one of their roles.
    pub async fn approval_queue(&self, access: &Access) -> Result<Vec<QueueEntry>, CoreError> {
        let owner = self.owner(access, Target::Own, Action::ResolveApprovals).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        let mine = access.approver_roles();
        let pending = self.store.list_approvals(tenant_id, true, 500).await?;
        pending
            .into_iter()
            .filter_map(|approval| {
                let (approvers, approved_by) = roles_of(&approval);
                let waits_for_me = approvers.iter().any(|role| mine.contains(role) && !approved_by.contains(role));
                waits_for_me.then_some((approval, approvers, approved_by))
            })
            .map(|(approval, approvers, approved_by)| Ok(QueueEntry { approval: tenant_view::approval_for(access, approval)?, approvers, approved_by }))
            .collect()
    }

    /// One approval of the named tenant, as the agent polls it.
    pub async fn get_approval(&self, access: &Access, target: Target<'_>, id: &ApprovalId) -> Result<Approval, CoreError> {
        let owner = self.owner(access, target, Action::ReadApprovals).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        let approval = self.store.get_approval(tenant_id, id).await?;
        if let Some(key_id) = polling_key(access) {
            // Another key's approval is not this one's to see: not found, as for another tenant's.
            let asked_by = self.store.get_receipt(tenant_id, &approval.receipt_id).await.ok().and_then(|receipt| receipt.api_key_id);
            if asked_by.as_ref() != Some(key_id) {
                return Err(CoreError::NotFound { what: "approval", id: id.to_string() });
            }
        }
        tenant_view::approval_for(access, approval)
    }

    /// Records the caller's vote for each of their approver roles the approval asks for.
    pub async fn resolve_approval(
        &self,
        access: &Access,
        target: Target<'_>,
        id: &ApprovalId,
        resolution: Resolution,
        comment: Option<String>,
    ) -> Result<Approval, CoreError> {
        let owner = self.owner(access, target, Action::ResolveApprovals).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        let comment = comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        if comment.as_ref().is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
            return Err(CoreError::invalid("comment", format!("must be at most {MAX_COMMENT_CHARS} characters")));
        }
        let resolved = self.store.resolve_approval(&access.actor(), tenant_id, id, access.approver_roles(), resolution, comment).await?;
        tenant_view::approval_for(access, resolved)
    }
}
