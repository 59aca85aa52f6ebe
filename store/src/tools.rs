//! The tool catalog: sources (OpenAPI documents, MCP `tools/list` answers), the tools extracted
//! from them, and which of those are enabled. The platform settings' enabled set is rewritten from
//! the catalog in the same transaction as every catalog change, so the decision path reads one
//! place and the very next decision sees the change.

use std::collections::BTreeSet;

use charter_policy::{CatalogTool, SourceKind};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow, Row};

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::error::conflict_on_unique;
use crate::policies::load_settings;
use crate::{now_ms, Actor, CatalogEntry, Owner, SourceId, Store, StoreError, ToolId, ToolSource};

const SOURCE_SELECT: &str = "SELECT s.id, s.name, s.kind, s.created_at, s.created_by,
        (SELECT COUNT(*) FROM tools t WHERE t.source_id = s.id) AS tool_count,
        (SELECT COUNT(*) FROM tools t WHERE t.source_id = s.id AND t.enabled = 1) AS enabled_count
    FROM tool_sources s";

const TOOL_COLUMNS: &str = "id, source_id, name, method, path, description, enabled";

/// Written by hand for one column: `enabled` is an integer in both databases (`sqlx`'s `Any`
/// driver decodes no integer as a bool).
impl FromRow<'_, AnyRow> for CatalogEntry {
    fn from_row(row: &AnyRow) -> Result<CatalogEntry, sqlx::Error> {
        Ok(CatalogEntry {
            id: row.try_get("id")?,
            source_id: row.try_get("source_id")?,
            name: row.try_get("name")?,
            method: row.try_get("method")?,
            path: row.try_get("path")?,
            description: row.try_get("description")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
        })
    }
}

async fn load_source(conn: &mut AnyConnection, id: &SourceId) -> Result<ToolSource, StoreError> {
    let sql = format!("{SOURCE_SELECT} WHERE s.id = $1");
    let source: Option<ToolSource> = sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?;
    source.ok_or_else(|| StoreError::NotFound { what: "tool source", id: id.to_string() })
}

/// Rewrites the platform settings' enabled tools from the catalog: every tool enabled when the
/// catalog is empty (no catalog yet), otherwise exactly the catalog's enabled tools.
async fn sync_enabled_tools(conn: &mut AnyConnection) -> Result<(), StoreError> {
    sqlx::query("UPDATE platform_settings SET version = version WHERE id = 'platform'").execute(&mut *conn).await?;
    let (mut settings, version) = load_settings(&mut *conn).await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tools").fetch_one(&mut *conn).await?;
    let enabled: Vec<String> = sqlx::query_scalar("SELECT name FROM tools WHERE enabled = 1").fetch_all(&mut *conn).await?;
    settings.enabled_tools = (total > 0).then(|| enabled.into_iter().collect::<BTreeSet<_>>());
    let text = serde_json::to_string(&settings).map_err(|err| StoreError::Corrupt(err.to_string()))?;
    sqlx::query(
        "INSERT INTO platform_settings (id, settings, version, updated_at) VALUES ('platform', $1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, version = excluded.version, updated_at = excluded.updated_at",
    )
    .bind(&text)
    .bind(version + 1)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Every source with its "N of M enabled" counts, by name.
    pub async fn list_tool_sources(&self) -> Result<Vec<ToolSource>, StoreError> {
        let sql = format!("{SOURCE_SELECT} ORDER BY s.name");
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    /// The catalog's tools, of one source or of all, by name.
    pub async fn list_catalog(&self, source_id: Option<&SourceId>) -> Result<Vec<CatalogEntry>, StoreError> {
        let entries = match source_id {
            Some(source_id) => {
                let sql = format!("SELECT {TOOL_COLUMNS} FROM tools WHERE source_id = $1 ORDER BY name");
                sqlx::query_as(&sql).bind(source_id).fetch_all(&self.pool).await?
            }
            None => {
                let sql = format!("SELECT {TOOL_COLUMNS} FROM tools ORDER BY name");
                sqlx::query_as(&sql).fetch_all(&self.pool).await?
            }
        };
        Ok(entries)
    }

    /// Adds a source and its tools, all enabled or all disabled, in one transaction with its audit
    /// entry. A tool name another source already has is refused and nothing is written.
    pub async fn add_tool_source(&self, actor: &Actor, name: &str, kind: SourceKind, tools: &[CatalogTool], enabled: bool) -> Result<ToolSource, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::invalid("name", "must be 1-100 characters"));
        }
        if tools.is_empty() {
            return Err(StoreError::invalid("document", "holds no tools"));
        }
        let mut tx = self.pool.begin().await?;
        let id = SourceId::new(uuid::Uuid::now_v7().to_string());
        let now = now_ms();
        sqlx::query("INSERT INTO tool_sources (id, name, kind, created_at, created_by) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(name)
            .bind(kind.as_str())
            .bind(now)
            .bind(&actor.id)
            .execute(&mut *tx)
            .await
            .map_err(|err| conflict_on_unique(err, "source", name))?;
        for tool in tools {
            sqlx::query("INSERT INTO tools (id, source_id, name, method, path, description, enabled, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(&id)
                .bind(&tool.name)
                .bind(&tool.method)
                .bind(&tool.path)
                .bind(&tool.description)
                .bind(i64::from(enabled))
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|err| conflict_on_unique(err, "tool", &tool.name))?;
        }
        sync_enabled_tools(&mut tx).await?;
        let source = load_source(&mut tx, &id).await?;
        let after = serde_json::json!({ "source": &source, "tools": tools }).to_string();
        let target = format!("tool_source:{name}");
        record(&mut tx, actor, Change { tenant_id: None, action: "tool_source.create", target: &target, before: None, after: Some(after) }).await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok(source)
    }

    /// Enables or disables one tool, with its audit entry; the next decision sees it.
    pub async fn set_tool_enabled(&self, actor: &Actor, tool_id: &ToolId, enabled: bool) -> Result<CatalogEntry, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A no-op write first takes the row lock (on SQLite the write lock), so the `before` read
        // next is the state this change replaces even when two admins toggle the same tool at once.
        let locked = sqlx::query("UPDATE tools SET name = name WHERE id = $1").bind(tool_id).execute(&mut *tx).await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "tool", id: tool_id.to_string() });
        }
        let sql = format!("SELECT {TOOL_COLUMNS} FROM tools WHERE id = $1");
        let before: CatalogEntry = sqlx::query_as(&sql).bind(tool_id).fetch_one(&mut *tx).await?;
        sqlx::query("UPDATE tools SET enabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(enabled))
            .bind(now_ms())
            .bind(tool_id)
            .execute(&mut *tx)
            .await?;
        let after: CatalogEntry = sqlx::query_as(&sql).bind(tool_id).fetch_one(&mut *tx).await?;
        sync_enabled_tools(&mut tx).await?;
        let target = format!("tool:{}", after.name);
        let action = if enabled { "tool.enable" } else { "tool.disable" };
        record(
            &mut tx,
            actor,
            Change { tenant_id: None, action, target: &target, before: serde_json::to_string(&before).ok(), after: serde_json::to_string(&after).ok() },
        )
        .await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok(after)
    }

    /// Removes a source and its tools, with its audit entry.
    pub async fn delete_tool_source(&self, actor: &Actor, source_id: &SourceId) -> Result<ToolSource, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tool_sources SET name = name WHERE id = $1").bind(source_id).execute(&mut *tx).await?;
        let source = load_source(&mut tx, source_id).await?;
        sqlx::query("DELETE FROM tools WHERE source_id = $1").bind(source_id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM tool_sources WHERE id = $1").bind(source_id).execute(&mut *tx).await?;
        sync_enabled_tools(&mut tx).await?;
        let target = format!("tool_source:{}", source.name);
        record(
            &mut tx,
            actor,
            Change { tenant_id: None, action: "tool_source.delete", target: &target, before: serde_json::to_string(&source).ok(), after: None },
        )
        .await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok(source)
    }
}
