//! The append-only audit log. Entries are written with [`record`] inside the transaction of the
//! change they describe, so a change and its entry commit together or not at all.

use sqlx::AnyConnection;

use crate::sql::Sql;
use crate::{now_ms, Actor, AuditEntry, Store, StoreError, TenantId};

/// What an audit entry says about a change.
pub struct Change<'a> {
    pub tenant_id: Option<&'a TenantId>,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub(crate) async fn record(conn: &mut AnyConnection, actor: &Actor, change: Change<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, actor, actor_kind, action, target, before_json, after_json, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(change.tenant_id)
    .bind(&actor.id)
    .bind(actor.kind.as_str())
    .bind(change.action)
    .bind(change.target)
    .bind(change.before)
    .bind(change.after)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Whose audit entries to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditScope {
    /// Every entry, platform and tenants (platform staff only).
    Everything,
    /// The platform's own entries (platform policies, settings, the tool catalog).
    Platform,
    /// One tenant's entries.
    Tenant(TenantId),
}

impl Store {
    /// Audit entries of `scope`, newest first, optionally only actions starting with
    /// `action_prefix` (e.g. `policy.`), older than the `before` id, at most `limit`.
    pub async fn search_audit(&self, scope: &AuditScope, action_prefix: Option<&str>, before: Option<&str>, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = Sql::new("SELECT id, tenant_id, actor, actor_kind, action, target, before_json, after_json, created_at FROM audit_log WHERE 1 = 1");
        // No sentinel such as "~" for "from the newest": how it compares with an id depends on the
        // database's collation (in `en_US`, `~` sorts before digits and would hide every entry).
        if let Some(before) = before {
            sql.push(" AND id < ").bind(before.to_owned());
        }
        match scope {
            AuditScope::Everything => {}
            AuditScope::Platform => {
                sql.push(" AND tenant_id IS NULL");
            }
            AuditScope::Tenant(tenant_id) => {
                sql.push(" AND tenant_id = ").bind(tenant_id.clone());
            }
        }
        if let Some(prefix) = action_prefix.map(str::trim).filter(|p| !p.is_empty()) {
            // Action names are our own identifiers (letters, dots, underscores), never user text,
            // but the pattern is escaped anyway so `_` matches literally.
            let pattern = format!("{}%", prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            sql.push(" AND action LIKE ").bind(pattern).push(" ESCAPE '\\'");
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
        let (text, args) = sql.build()?;
        Ok(sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?)
    }
}
