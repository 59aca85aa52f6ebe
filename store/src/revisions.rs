//! Tenant revisions: every save of a tenant's policies (create, edit, delete, restore, import) is
//! the next numbered revision of its whole set, written in the save's transaction. A tenant runs
//! its newest revision unless it is pinned to an earlier one; a decision may name one.

use serde_json::json;
use sqlx::AnyConnection;

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::releases::load_tenant_rollout;
use crate::rollout::{Revision, RevisionSummary, TenantRollout};
use crate::{Actor, Owner, Store, StoreError, StoredPolicy, TenantId};

const SUMMARY: &str = "SELECT r.number, r.saved_at, r.saved_by, r.change, \
     (SELECT COUNT(*) FROM tenant_revision_policies p WHERE p.tenant_id = r.tenant_id AND p.revision = r.number) AS policies \
     FROM tenant_revisions r WHERE r.tenant_id = $1";

/// The most revisions one page lists.
pub const REVISION_PAGE: i64 = 100;

/// Takes the tenant's row lock before a save touches any policy, so that saves of one tenant queue
/// in one order (the tenant first, then its policies) and their revision numbers follow their
/// commits. Nothing for the platform, whose edits are its draft.
pub(crate) async fn lock_revisions(conn: &mut AnyConnection, owner: &Owner) -> Result<(), StoreError> {
    let Owner::Tenant(tenant_id) = owner else { return Ok(()) };
    let locked = sqlx::query("UPDATE tenants SET revision = revision WHERE id = $1").bind(tenant_id).execute(conn).await?;
    if locked.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "tenant", id: tenant_id.to_string() });
    }
    Ok(())
}

/// Records the tenant's policies as they now are (inside the save's transaction) as its next
/// revision, saying what the save did.
pub(crate) async fn record_revision(conn: &mut AnyConnection, owner: &Owner, actor: &Actor, change: &str) -> Result<(), StoreError> {
    let Owner::Tenant(tenant_id) = owner else { return Ok(()) };
    sqlx::query("UPDATE tenants SET revision = revision + 1 WHERE id = $1").bind(tenant_id).execute(&mut *conn).await?;
    let number: i64 = sqlx::query_scalar("SELECT revision FROM tenants WHERE id = $1").bind(tenant_id).fetch_one(&mut *conn).await?;
    sqlx::query("INSERT INTO tenant_revisions (tenant_id, number, saved_at, saved_by, change) VALUES ($1, $2, $3, $4, $5)")
        .bind(tenant_id)
        .bind(number)
        .bind(crate::now_ms())
        .bind(&actor.id)
        .bind(change)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO tenant_revision_policies (tenant_id, revision, policy_id, version) SELECT tenant_id, $2, id, version FROM policies WHERE tenant_id = $1",
    )
    .bind(tenant_id)
    .bind(number)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The tenant's policies (tenant and agent scope) at revision `number`; not found when the tenant
/// has no such revision.
pub(crate) async fn revision_policies(conn: &mut AnyConnection, tenant_id: &TenantId, number: i64) -> Result<Vec<StoredPolicy>, StoreError> {
    let sql = "SELECT v.policy_id AS id, v.tenant_id, v.scope, v.agent, v.name, v.description, v.version, v.document, \
               v.saved_at AS created_at, v.saved_at AS updated_at, v.saved_by AS updated_by \
               FROM tenant_revision_policies r JOIN policy_versions v ON v.policy_id = r.policy_id AND v.version = r.version \
               WHERE r.tenant_id = $1 AND r.revision = $2 AND v.tenant_id = $1 ORDER BY v.scope, v.agent, v.name";
    let policies: Vec<StoredPolicy> = sqlx::query_as(sql).bind(tenant_id).bind(number).fetch_all(&mut *conn).await?;
    // A revision holds no policies when they were all deleted; only then is it worth asking
    // whether the revision exists at all.
    if policies.is_empty() {
        let exists: Option<i64> = sqlx::query_scalar("SELECT number FROM tenant_revisions WHERE tenant_id = $1 AND number = $2")
            .bind(tenant_id)
            .bind(number)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound { what: "revision", id: number.to_string() });
        }
    }
    Ok(policies)
}

impl Store {
    /// The tenant's revisions, newest first: at most [`REVISION_PAGE`], older than `before` if given.
    pub async fn list_revisions(&self, tenant_id: &TenantId, before: Option<i64>) -> Result<Vec<RevisionSummary>, StoreError> {
        let sql = format!("{SUMMARY} AND r.number < $2 ORDER BY r.number DESC LIMIT {REVISION_PAGE}");
        Ok(sqlx::query_as(&sql).bind(tenant_id).bind(before.unwrap_or(i64::MAX)).fetch_all(&self.pool).await?)
    }

    /// One of the tenant's revisions with every policy version in it. Another tenant's revision
    /// is not found: numbers are the tenant's own.
    pub async fn get_revision(&self, tenant_id: &TenantId, number: i64) -> Result<Revision, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let summary: Option<RevisionSummary> =
            sqlx::query_as(&format!("{SUMMARY} AND r.number = $2")).bind(tenant_id).bind(number).fetch_optional(&mut *conn).await?;
        let summary = summary.ok_or_else(|| StoreError::NotFound { what: "revision", id: number.to_string() })?;
        let policies = revision_policies(&mut conn, tenant_id, number).await?.into_iter().map(StoredPolicy::into_version).collect();
        Ok(Revision { summary, policies })
    }

    /// Pins the tenant to its revision `number`, or with `None` lets it run its newest again.
    /// Saves go on making revisions while it is pinned; they are enforced once it is unpinned.
    pub async fn pin_revision(&self, actor: &Actor, tenant_id: &TenantId, number: Option<i64>) -> Result<TenantRollout, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_revisions(&mut tx, &Owner::Tenant(tenant_id.clone())).await?;
        let before = load_tenant_rollout(&mut tx, tenant_id).await?;
        if let Some(number) = number {
            revision_policies(&mut tx, tenant_id, number).await?;
        }
        sqlx::query("UPDATE tenants SET revision_pin = $1 WHERE id = $2").bind(number).bind(tenant_id).execute(&mut *tx).await?;
        let after = load_tenant_rollout(&mut tx, tenant_id).await?;
        let state = |rollout: &TenantRollout| json!({ "revision": rollout.revision(), "pinned": rollout.revision_pin.is_some() }).to_string();
        let change = Change {
            tenant_id: Some(tenant_id),
            action: if number.is_some() { "revision.pin" } else { "revision.unpin" },
            target: &format!("revision:{}", after.revision()),
            before: Some(state(&before)),
            after: Some(state(&after)),
        };
        record(&mut tx, actor, change).await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Tenant(tenant_id.clone()))).await?;
        Ok(after)
    }
}
