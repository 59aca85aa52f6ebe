//! Approvals: a `require_approval` decision leaves one pending, bound to the exact request (its
//! args digest and policy versions) and with an expiry. Every approver role asked must approve;
//! any one rejection rejects. Each vote is recorded with who and when, with an audit entry.

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::audit::{record, Change};
use crate::{now_ms, Actor, Approval, ApprovalId, ApprovalStatus, Store, StoreError, TenantId};

pub(crate) const APPROVAL_COLUMNS: &str = "id, tenant_id, receipt_id, agent, principal, tool, args, args_digest, approvers, matched, policy_versions, reason, status, requested_at, expires_at, resolved_at, resolved_by, comment, votes";

/// What is read back: the written columns, and when the gateway used the approval.
pub(crate) const APPROVAL_READ: &str = "id, tenant_id, receipt_id, agent, principal, tool, args, args_digest, approvers, matched, policy_versions, reason, status, requested_at, expires_at, resolved_at, resolved_by, comment, votes, consumed_at";

/// What an approver decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    Approve,
    Reject,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Vote {
    role: String,
    user: String,
    approve: bool,
    comment: Option<String>,
    at: i64,
}

pub(crate) async fn insert_approvals(conn: &mut AnyConnection, approvals: &[&Approval]) -> Result<(), StoreError> {
    for a in approvals {
        let sql =
            format!("INSERT INTO approvals ({APPROVAL_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)");
        sqlx::query(&sql)
            .bind(&a.id)
            .bind(&a.tenant_id)
            .bind(&a.receipt_id)
            .bind(&a.agent)
            .bind(&a.principal)
            .bind(&a.tool)
            .bind(&a.args)
            .bind(&a.args_digest)
            .bind(&a.approvers)
            .bind(&a.matched)
            .bind(&a.policy_versions)
            .bind(&a.reason)
            .bind(a.status.as_str())
            .bind(a.requested_at)
            .bind(a.expires_at)
            .bind(a.resolved_at)
            .bind(&a.resolved_by)
            .bind(&a.comment)
            .bind(&a.votes)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// One approval of the tenant; another tenant's id is not found.
    pub async fn get_approval(&self, tenant_id: &TenantId, id: &ApprovalId) -> Result<Approval, StoreError> {
        let sql = format!("SELECT {APPROVAL_READ} FROM approvals WHERE id = $1 AND tenant_id = $2");
        let approval: Option<Approval> = sqlx::query_as(&sql).bind(id).bind(tenant_id).fetch_optional(&self.pool).await?;
        let approval = approval.ok_or_else(|| StoreError::NotFound { what: "approval", id: id.to_string() })?;
        Ok(approval.expire_if_due(now_ms()))
    }

    /// The tenant's approvals, newest first; `pending_only` leaves out resolved and expired ones.
    pub async fn list_approvals(&self, tenant_id: &TenantId, pending_only: bool, limit: i64) -> Result<Vec<Approval>, StoreError> {
        let now = now_ms();
        let approvals: Vec<Approval> = if pending_only {
            let sql =
                format!("SELECT {APPROVAL_READ} FROM approvals WHERE tenant_id = $1 AND status = 'pending' AND expires_at > $2 ORDER BY id DESC LIMIT $3");
            sqlx::query_as(&sql).bind(tenant_id).bind(now).bind(limit).fetch_all(&self.pool).await?
        } else {
            let sql = format!("SELECT {APPROVAL_READ} FROM approvals WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2");
            sqlx::query_as(&sql).bind(tenant_id).bind(limit).fetch_all(&self.pool).await?
        };
        Ok(approvals.into_iter().map(|approval| approval.expire_if_due(now)).collect())
    }

    /// Records a vote by an approver holding `roles`. Approval needs every role asked; one rejection
    /// settles it. Voting on an approval that is no longer pending is refused.
    pub async fn resolve_approval(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        id: &ApprovalId,
        roles: &[String],
        resolution: Resolution,
        comment: Option<String>,
    ) -> Result<Approval, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Write first, so concurrent votes queue on the row (PostgreSQL) or the write lock (SQLite)
        // and each reads the votes the previous one committed.
        sqlx::query("UPDATE approvals SET votes = votes WHERE id = $1 AND tenant_id = $2").bind(id).bind(tenant_id).execute(&mut *tx).await?;
        let sql = format!("SELECT {APPROVAL_READ} FROM approvals WHERE id = $1 AND tenant_id = $2");
        let before: Option<Approval> = sqlx::query_as(&sql).bind(id).bind(tenant_id).fetch_optional(&mut *tx).await?;
        let before = before.ok_or_else(|| StoreError::NotFound { what: "approval", id: id.to_string() })?.expire_if_due(now);
        if before.status != ApprovalStatus::Pending {
            return Err(StoreError::invalid("status", format!("the approval is already {}", before.status)));
        }
        let asked: Vec<String> = serde_json::from_str(&before.approvers).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let mut votes: Vec<Vote> = serde_json::from_str(&before.votes).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let mine: Vec<&String> = asked.iter().filter(|role| roles.contains(role) && !votes.iter().any(|v| &v.role == *role)).collect();
        if mine.is_empty() {
            return Err(StoreError::invalid(
                "approvers",
                format!("this approval waits for {}; you hold none of those roles that has not voted", asked.join(", ")),
            ));
        }
        for role in mine {
            votes.push(Vote { role: role.clone(), user: actor.id.clone(), approve: resolution == Resolution::Approve, comment: comment.clone(), at: now });
        }
        let all_approved = asked.iter().all(|role| votes.iter().any(|v| &v.role == role && v.approve));
        let status = match resolution {
            Resolution::Reject => ApprovalStatus::Rejected,
            Resolution::Approve if all_approved => ApprovalStatus::Approved,
            Resolution::Approve => ApprovalStatus::Pending,
        };
        let settled = status != ApprovalStatus::Pending;
        let after = Approval {
            status,
            resolved_at: settled.then_some(now),
            resolved_by: settled.then(|| actor.id.clone()),
            comment: if settled { comment } else { before.comment.clone() },
            votes: serde_json::to_string(&votes).map_err(|err| StoreError::Corrupt(err.to_string()))?,
            ..before.clone()
        };
        let updated = sqlx::query("UPDATE approvals SET status = $1, resolved_at = $2, resolved_by = $3, comment = $4, votes = $5 WHERE id = $6 AND tenant_id = $7 AND status = 'pending' AND votes = $8")
            .bind(after.status.as_str())
            .bind(after.resolved_at)
            .bind(&after.resolved_by)
            .bind(&after.comment)
            .bind(&after.votes)
            .bind(id)
            .bind(tenant_id)
            .bind(&before.votes)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict { what: "vote on approval", key: id.to_string() });
        }
        let target = format!("approval:{id}");
        let action = match resolution {
            Resolution::Approve => "approval.approve",
            Resolution::Reject => "approval.reject",
        };
        record(
            &mut tx,
            actor,
            Change {
                tenant_id: Some(tenant_id),
                action,
                target: &target,
                before: serde_json::to_string(&before).ok(),
                after: serde_json::to_string(&after).ok(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
