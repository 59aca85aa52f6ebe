//! Shadow mode: a candidate runs beside what a tenant enforces. A platform admin names a release
//! (or the draft) for chosen tenants; a tenant names a revision of its own policies. Each change is
//! audited (`shadow.start`, `shadow.stop`) with before and after; the decisions' receipts carry
//! the candidate's verdict, which `shadow_diff` groups.

use serde_json::json;
use sqlx::AnyConnection;

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::releases::{load_tenant_rollout, release_settings};
use crate::revisions::revision_policies;
use crate::rollout::{describe_selection, ReleaseChoice, ShadowDiff, ShadowGroup, ShadowSample, TenantRollout};
use crate::{Actor, Owner, Store, StoreError, TenantId};

/// How many sample requests each group of a shadow diff keeps.
const SAMPLES: i64 = 3;

fn shadow_json(rollout: &TenantRollout) -> String {
    json!({ "shadow": rollout.shadow().map(describe_selection) }).to_string()
}

/// Which half of a tenant's shadow changes.
enum ShadowPart {
    /// The platform release (stored as `draft` or the number).
    Release(Option<String>),
    Revision(Option<i64>),
}

/// Writes one tenant's shadow change and its audit entry, inside the caller's transaction.
async fn change_shadow(conn: &mut AnyConnection, actor: &Actor, tenant_id: &TenantId, part: ShadowPart) -> Result<TenantRollout, StoreError> {
    // The row is written first: SQLite takes its write lock, PostgreSQL the row's, before the read.
    crate::revisions::lock_revisions(&mut *conn, &Owner::Tenant(tenant_id.clone())).await?;
    let before = load_tenant_rollout(&mut *conn, tenant_id).await?;
    // Named by the half that changes: a tenant stopping its revision stops, whatever the platform
    // still runs in shadow for it.
    let starts = match &part {
        ShadowPart::Release(release) => release.is_some(),
        ShadowPart::Revision(revision) => revision.is_some(),
    };
    let update = match part {
        ShadowPart::Release(release) => sqlx::query("UPDATE tenants SET shadow_release = $1 WHERE id = $2").bind(release),
        ShadowPart::Revision(revision) => sqlx::query("UPDATE tenants SET shadow_revision = $1 WHERE id = $2").bind(revision),
    };
    update.bind(tenant_id).execute(&mut *conn).await?;
    let after = load_tenant_rollout(&mut *conn, tenant_id).await?;
    let action = if starts { "shadow.start" } else { "shadow.stop" };
    let change = Change { tenant_id: Some(tenant_id), action, target: "shadow", before: Some(shadow_json(&before)), after: Some(shadow_json(&after)) };
    record(conn, actor, change).await?;
    Ok(after)
}

impl Store {
    /// Runs `release` (or, with `None`, nothing) in shadow for each of `tenants`.
    pub async fn set_release_shadow(&self, actor: &Actor, tenants: &[TenantId], release: Option<ReleaseChoice>) -> Result<Vec<TenantRollout>, StoreError> {
        if tenants.is_empty() {
            return Err(StoreError::invalid("tenants", "name at least one tenant"));
        }
        let mut tx = self.pool.begin().await?;
        // Written first, as a promotion does, so that the two queue; tenants in one order.
        sqlx::query("UPDATE platform_rollout SET general = general WHERE id = 'platform'").execute(&mut *tx).await?;
        if let Some(ReleaseChoice::Number(number)) = release {
            release_settings(&mut tx, number).await?;
        }
        let mut ordered: Vec<&TenantId> = tenants.iter().collect();
        ordered.sort();
        let mut changed = Vec::with_capacity(tenants.len());
        for tenant_id in ordered {
            changed.push(change_shadow(&mut tx, actor, tenant_id, ShadowPart::Release(release.map(ReleaseChoice::stored))).await?);
        }
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok(changed)
    }

    /// Runs the tenant's revision `revision` (or, with `None`, none) in shadow.
    pub async fn set_revision_shadow(&self, actor: &Actor, tenant_id: &TenantId, revision: Option<i64>) -> Result<TenantRollout, StoreError> {
        let mut tx = self.pool.begin().await?;
        crate::revisions::lock_revisions(&mut tx, &Owner::Tenant(tenant_id.clone())).await?;
        if let Some(number) = revision {
            revision_policies(&mut tx, tenant_id, number).await?;
        }
        let changed = change_shadow(&mut tx, actor, tenant_id, ShadowPart::Revision(revision)).await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Tenant(tenant_id.clone()))).await?;
        Ok(changed)
    }

    /// How the tenant's decisions since `since_ms` would differ under what ran in shadow, by
    /// tool and verdict pair (at most 50 groups, largest first), with sample requests.
    pub async fn shadow_diff(&self, tenant_id: &TenantId, since_ms: i64) -> Result<ShadowDiff, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let (shadowed, differing): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN shadow_verdict <> verdict THEN 1 ELSE 0 END), 0) FROM receipts \
             WHERE tenant_id = $1 AND created_at >= $2 AND shadow_verdict IS NOT NULL",
        )
        .bind(tenant_id)
        .bind(since_ms)
        .fetch_one(&mut *conn)
        .await?;
        let mut groups: Vec<ShadowGroup> = sqlx::query_as(
            "SELECT tool, verdict, shadow_verdict, shadow_rule, shadow_of, COUNT(*) AS count FROM receipts \
             WHERE tenant_id = $1 AND created_at >= $2 AND shadow_verdict IS NOT NULL AND shadow_verdict <> verdict \
             GROUP BY tool, verdict, shadow_verdict, shadow_rule, shadow_of ORDER BY count DESC, tool LIMIT 50",
        )
        .bind(tenant_id)
        .bind(since_ms)
        .fetch_all(&mut *conn)
        .await?;
        for group in &mut groups {
            group.samples = sqlx::query_as::<_, ShadowSample>(
                "SELECT id, agent, args, created_at FROM receipts WHERE tenant_id = $1 AND created_at >= $2 AND tool = $3 AND verdict = $4 \
                 AND shadow_verdict = $5 AND COALESCE(shadow_rule, '') = $6 AND COALESCE(shadow_of, '') = $7 ORDER BY created_at DESC, id DESC LIMIT $8",
            )
            .bind(tenant_id)
            .bind(since_ms)
            .bind(&group.tool)
            .bind(&group.verdict)
            .bind(&group.shadow_verdict)
            .bind(group.shadow_rule.clone().unwrap_or_default())
            .bind(group.shadow_of.clone().unwrap_or_default())
            .bind(SAMPLES)
            .fetch_all(&mut *conn)
            .await?;
        }
        Ok(ShadowDiff { shadowed, differing, groups })
    }
}

#[cfg(test)]
mod tests {
    use crate::rollout::{describe_selection, ReleaseChoice, Selection};

    #[test]
    fn candidates_read_as_words() {
        let check = |selection: Selection, expected: &str| assert_eq!(describe_selection(selection), expected);
        check(Selection { release: Some(ReleaseChoice::Draft), revision: None }, "the platform's draft");
        check(Selection { release: Some(ReleaseChoice::Number(4)), revision: Some(7) }, "platform release 4 with revision 7");
        check(Selection { release: None, revision: Some(7) }, "revision 7");
        assert_eq!(ReleaseChoice::parse_stored(&ReleaseChoice::Number(12).stored()), Some(ReleaseChoice::Number(12)));
        assert_eq!(ReleaseChoice::parse_stored("draft"), Some(ReleaseChoice::Draft));
        assert_eq!(ReleaseChoice::parse_stored("soon"), None);
    }
}
