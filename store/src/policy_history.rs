//! Policy history: every save of a policy is an immutable version (the document, who, when), written
//! in the same transaction as the save and its audit entry. Versions are read only among their
//! owner's, like the policies themselves; restoring one saves its document again as a new version.

use charter_policy::{DelegationReport, Policy};
use sqlx::AnyConnection;

use crate::changes::Invalidation;
use crate::policies::{lock_policy, replace_policy, SaveAction};
use crate::revisions::{lock_revisions, record_revision};
use crate::sql::Sql;
use crate::{Actor, Owner, PolicyId, PolicyVersion, Store, StoreError, StoredPolicy};

const VERSION_COLUMNS: &str = "policy_id, version, tenant_id, scope, agent, name, description, document, saved_at, saved_by";

/// Records `stored` (just written) as its version.
pub(crate) async fn record_version(conn: &mut AnyConnection, stored: &StoredPolicy) -> Result<(), StoreError> {
    let sql = format!("INSERT INTO policy_versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
    sqlx::query(&sql)
        .bind(&stored.id)
        .bind(stored.version)
        .bind(&stored.tenant_id)
        .bind(stored.scope.to_string())
        .bind(&stored.agent)
        .bind(&stored.name)
        .bind(&stored.description)
        .bind(&stored.document)
        .bind(stored.updated_at)
        .bind(&stored.updated_by)
        .execute(conn)
        .await?;
    Ok(())
}

async fn load_version(conn: &mut AnyConnection, owner: &Owner, id: &PolicyId, version: i64) -> Result<PolicyVersion, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {VERSION_COLUMNS} FROM policy_versions WHERE policy_id = "));
    sql.bind(id.clone()).push(" AND version = ").bind(version).push(" AND ").owner("tenant_id", owner);
    let (text, args) = sql.build()?;
    let found: Option<PolicyVersion> = sqlx::query_as_with(&text, args).fetch_optional(conn).await?;
    found.ok_or_else(|| StoreError::NotFound { what: "policy version", id: format!("{id} v{version}") })
}

impl Store {
    /// Every version of one of the owner's policies, newest first. Another owner's policy, or one
    /// that never existed, is not found.
    pub async fn list_policy_versions(&self, owner: &Owner, id: &PolicyId) -> Result<Vec<PolicyVersion>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {VERSION_COLUMNS} FROM policy_versions WHERE policy_id = "));
        sql.bind(id.clone()).push(" AND ").owner("tenant_id", owner).push(" ORDER BY version DESC");
        let (text, args) = sql.build()?;
        let versions: Vec<PolicyVersion> = sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?;
        if versions.is_empty() {
            return Err(StoreError::NotFound { what: "policy", id: id.to_string() });
        }
        Ok(versions)
    }

    /// One version of one of the owner's policies.
    pub async fn get_policy_version(&self, owner: &Owner, id: &PolicyId, version: i64) -> Result<PolicyVersion, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_version(&mut conn, owner, id, version).await
    }

    /// Saves the document of `version` again, as the policy's next version, if the policy is still
    /// at `expected_version`. The document is checked as any save is (its scope, the parents'
    /// rules, the name), so a version the platform has since outlawed is refused, not restored.
    pub async fn restore_policy_version(
        &self,
        actor: &Actor,
        owner: &Owner,
        id: &PolicyId,
        version: i64,
        expected_version: i64,
    ) -> Result<(StoredPolicy, DelegationReport), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Write first, so SQLite takes its write lock before any read (a reading transaction that
        // later writes fails at once when another writer got there first) and PostgreSQL the row's.
        lock_revisions(&mut tx, owner).await?;
        lock_policy(&mut tx, owner, id).await?;
        let old = load_version(&mut tx, owner, id, version).await?;
        let policy = Policy::from_stored_json(&old.document).map_err(|err| StoreError::Corrupt(format!("policy `{id}` version {version}: {err}")))?;
        let restored = replace_policy(&mut tx, self.documents(), actor, owner, id, expected_version, &policy, SaveAction::Restore { version }).await?;
        let change = format!("restored `{}` to version {version} (saved as version {})", restored.0.name, restored.0.version);
        record_revision(&mut tx, owner, actor, &change).await?;
        self.commit_change(tx, Invalidation::Policies(owner.clone())).await?;
        Ok(restored)
    }
}
