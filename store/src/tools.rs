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
use crate::{now_ms, Actor, CatalogEntry, Exposure, Owner, SourceId, Store, StoreError, Tenant, TenantId, TenantTool, ToolId, ToolSource};

const SOURCE_SELECT: &str = "SELECT s.id, s.name, s.kind, s.created_at, s.created_by, s.builtin, s.endpoint, s.tool_prefix,
        CASE WHEN s.upstream_auth IS NULL THEN 0 ELSE 1 END AS authenticated,
        (SELECT COUNT(*) FROM tools t WHERE t.source_id = s.id) AS tool_count,
        (SELECT COUNT(*) FROM tools t WHERE t.source_id = s.id AND t.enabled = 1) AS enabled_count
    FROM tool_sources s";

pub(crate) const TOOL_COLUMNS: &str = "id, source_id, name, method, path, description, enabled, exposed_to";

/// How `tools.exposed_to` keeps a chosen exposure (NULL is every tenant).
#[derive(serde::Serialize, serde::Deserialize)]
struct Chosen {
    tenants: Vec<TenantId>,
    plans: Vec<String>,
}

fn stored_exposure(exposure: &Exposure) -> Result<Option<String>, StoreError> {
    match exposure {
        Exposure::Everyone => Ok(None),
        Exposure::Chosen { tenants, plans } => {
            serde_json::to_string(&Chosen { tenants: tenants.clone(), plans: plans.clone() }).map(Some).map_err(|err| StoreError::Corrupt(err.to_string()))
        }
    }
}

/// Written by hand: `enabled` is an integer in both databases (`sqlx`'s `Any` driver decodes no
/// integer as a bool), and the exposure is JSON or NULL.
impl FromRow<'_, AnyRow> for CatalogEntry {
    fn from_row(row: &AnyRow) -> Result<CatalogEntry, sqlx::Error> {
        let exposure = match row.try_get::<Option<String>, _>("exposed_to")? {
            None => Exposure::Everyone,
            Some(text) => {
                let chosen: Chosen = serde_json::from_str(&text).map_err(|err| sqlx::Error::Decode(Box::new(err)))?;
                Exposure::Chosen { tenants: chosen.tenants, plans: chosen.plans }
            }
        };
        Ok(CatalogEntry {
            id: row.try_get("id")?,
            source_id: row.try_get("source_id")?,
            name: row.try_get("name")?,
            method: row.try_get("method")?,
            path: row.try_get("path")?,
            description: row.try_get("description")?,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            exposure,
        })
    }
}

impl FromRow<'_, AnyRow> for ToolSource {
    fn from_row(row: &AnyRow) -> Result<ToolSource, sqlx::Error> {
        let kind: String = row.try_get("kind")?;
        Ok(ToolSource {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            kind: SourceKind::try_from(kind).map_err(|err| sqlx::Error::Decode(Box::new(err)))?,
            created_at: row.try_get("created_at")?,
            created_by: row.try_get("created_by")?,
            tool_count: row.try_get("tool_count")?,
            enabled_count: row.try_get("enabled_count")?,
            builtin: row.try_get::<i64, _>("builtin")? != 0,
            endpoint: row.try_get("endpoint")?,
            tool_prefix: row.try_get("tool_prefix")?,
            authenticated: row.try_get::<i64, _>("authenticated")? != 0,
        })
    }
}

pub(crate) async fn load_source(conn: &mut AnyConnection, id: &SourceId) -> Result<ToolSource, StoreError> {
    let sql = format!("{SOURCE_SELECT} WHERE s.id = $1");
    let source: Option<ToolSource> = sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?;
    source.ok_or_else(|| StoreError::NotFound { what: "tool source", id: id.to_string() })
}

/// The tools agents call: every source's but the platform's own (Charter's policy tools, which
/// assistants use over MCP and no decision is asked about).
pub(crate) const AGENT_TOOLS: &str = "tools t JOIN tool_sources s ON s.id = t.source_id WHERE s.builtin = 0";

/// Rewrites the platform settings' enabled tools from the catalog: every tool enabled when the
/// catalog has no agent tools (no catalog yet), otherwise exactly the catalog's enabled ones.
pub(crate) async fn sync_enabled_tools(conn: &mut AnyConnection) -> Result<(), StoreError> {
    sqlx::query("UPDATE platform_settings SET version = version WHERE id = 'platform'").execute(&mut *conn).await?;
    let (mut settings, version) = load_settings(&mut *conn).await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {AGENT_TOOLS}")).fetch_one(&mut *conn).await?;
    let enabled: Vec<String> = sqlx::query_scalar(&format!("SELECT t.name FROM {AGENT_TOOLS} AND t.enabled = 1")).fetch_all(&mut *conn).await?;
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
        let before = lock_tool(&mut tx, tool_id).await?;
        let sql = format!("SELECT {TOOL_COLUMNS} FROM tools WHERE id = $1");
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
        if source.builtin {
            return Err(StoreError::invalid("source", "Charter's own tools cannot be removed; switch single tools off instead"));
        }
        // Tenants' switches of these tools go with them: a tool of the same name added later is a
        // new tool, which every tenant it is exposed to has until it switches it off.
        sqlx::query("DELETE FROM tenant_tool_switches WHERE tool_name IN (SELECT name FROM tools WHERE source_id = $1)")
            .bind(source_id)
            .execute(&mut *tx)
            .await?;
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

    /// Sets which tenants the platform exposes a tool to, with its audit entry; the next decision
    /// of every tenant sees it. The caller has checked that the chosen tenants exist.
    pub async fn set_tool_exposure(&self, actor: &Actor, tool_id: &ToolId, exposure: &Exposure) -> Result<CatalogEntry, StoreError> {
        let mut tx = self.pool.begin().await?;
        let before = lock_tool(&mut tx, tool_id).await?;
        let sql = format!("SELECT {TOOL_COLUMNS} FROM tools WHERE id = $1");
        sqlx::query("UPDATE tools SET exposed_to = $1, updated_at = $2 WHERE id = $3")
            .bind(stored_exposure(exposure)?)
            .bind(now_ms())
            .bind(tool_id)
            .execute(&mut *tx)
            .await?;
        let after: CatalogEntry = sqlx::query_as(&sql).bind(tool_id).fetch_one(&mut *tx).await?;
        let target = format!("tool:{}", after.name);
        let change = Change {
            tenant_id: None,
            action: "tool.expose",
            target: &target,
            before: serde_json::to_string(&before).ok(),
            after: serde_json::to_string(&after).ok(),
        };
        record(&mut tx, actor, change).await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok(after)
    }

    /// The tools the platform enabled and exposes to `tenant`, each with the tenant's own switch,
    /// by name.
    pub async fn tenant_tools(&self, tenant: &Tenant) -> Result<Vec<TenantTool>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let off = switched_off(&mut conn, &tenant.id).await?;
        let sql = format!("SELECT {TOOL_COLUMNS} FROM tools WHERE enabled = 1 ORDER BY name");
        let tools: Vec<CatalogEntry> = sqlx::query_as(&sql).fetch_all(&mut *conn).await?;
        Ok(tools
            .into_iter()
            .filter(|tool| tool.exposure.includes(&tenant.id, &tenant.plan))
            .map(|tool| TenantTool { on: !off.contains(&tool.name), tool })
            .collect())
    }

    /// A tenant's admin switches a tool off (or on again) for their tenant, with its audit entry;
    /// the tenant's next decision sees it. Only a tool the platform enabled and exposes to the
    /// tenant can be switched: another is not found.
    pub async fn switch_tenant_tool(&self, actor: &Actor, tenant: &Tenant, tool_name: &str, on: bool) -> Result<TenantTool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // The tenant row first: two admins switching at once take turns.
        sqlx::query("UPDATE tenants SET name = name WHERE id = $1").bind(&tenant.id).execute(&mut *tx).await?;
        let sql = format!("SELECT {TOOL_COLUMNS} FROM tools WHERE name = $1 AND enabled = 1");
        let tool: Option<CatalogEntry> = sqlx::query_as(&sql).bind(tool_name).fetch_optional(&mut *tx).await?;
        let tool = tool
            .filter(|tool| tool.exposure.includes(&tenant.id, &tenant.plan))
            .ok_or_else(|| StoreError::NotFound { what: "tool", id: tool_name.to_owned() })?;
        let was_on = !switched_off(&mut tx, &tenant.id).await?.contains(&tool.name);
        if was_on != on {
            if on {
                sqlx::query("DELETE FROM tenant_tool_switches WHERE tenant_id = $1 AND tool_name = $2")
                    .bind(&tenant.id)
                    .bind(&tool.name)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query("INSERT INTO tenant_tool_switches (tenant_id, tool_name, switched_at, switched_by) VALUES ($1, $2, $3, $4)")
                    .bind(&tenant.id)
                    .bind(&tool.name)
                    .bind(now_ms())
                    .bind(&actor.id)
                    .execute(&mut *tx)
                    .await?;
            }
            let target = format!("tool:{}", tool.name);
            let action = if on { "tool.switch_on" } else { "tool.switch_off" };
            let state = |on: bool| serde_json::json!({ "tool": tool.name, "on": on }).to_string();
            let change = Change { tenant_id: Some(&tenant.id), action, target: &target, before: Some(state(was_on)), after: Some(state(on)) };
            record(&mut tx, actor, change).await?;
        }
        self.commit_change(tx, Invalidation::Policies(Owner::Tenant(tenant.id.clone()))).await?;
        Ok(TenantTool { tool, on })
    }

    /// Makes sure the platform's own source `name` holds exactly `tools` (enabled when new; the
    /// switches and exposure of tools it already has are kept). Run at start: the tools are
    /// Charter's own, so a new version's tools appear and removed ones go.
    pub async fn ensure_builtin_source(&self, name: &str, tools: &[CatalogTool]) -> Result<ToolSource, StoreError> {
        match self.try_ensure_builtin_source(name, tools).await {
            // Another replica starting at the same moment made it first: now it is there.
            Err(StoreError::Conflict { .. }) => self.try_ensure_builtin_source(name, tools).await,
            other => other,
        }
    }

    async fn try_ensure_builtin_source(&self, name: &str, tools: &[CatalogTool]) -> Result<ToolSource, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Write first (SQLite's write lock, PostgreSQL's row lock on the settings), so two
        // replicas starting at once take turns instead of one failing to upgrade a read.
        sqlx::query("UPDATE platform_settings SET version = version WHERE id = 'platform'").execute(&mut *tx).await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM tool_sources WHERE name = $1 AND builtin = 1").bind(name).fetch_optional(&mut *tx).await?;
        let now = now_ms();
        let created = existing.is_none();
        let id = match existing {
            Some(id) => SourceId::new(id),
            None => {
                let id = SourceId::new(uuid::Uuid::now_v7().to_string());
                sqlx::query("INSERT INTO tool_sources (id, name, kind, created_at, created_by, builtin) VALUES ($1, $2, $3, $4, $5, 1)")
                    .bind(&id)
                    .bind(name)
                    .bind(SourceKind::Mcp.as_str())
                    .bind(now)
                    .bind(&Actor::system().id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|err| conflict_on_unique(err, "source", name))?;
                id
            }
        };
        // Tools this build does not serve stay: a newer replica of a rolling deploy may serve them,
        // and their switches and exposure are the platform's choices.
        let have: Vec<String> = sqlx::query_scalar("SELECT name FROM tools WHERE source_id = $1").bind(&id).fetch_all(&mut *tx).await?;
        let added: Vec<&CatalogTool> = tools.iter().filter(|tool| !have.contains(&tool.name)).collect();
        for tool in &added {
            sqlx::query("INSERT INTO tools (id, source_id, name, method, path, description, enabled, updated_at) VALUES ($1, $2, $3, NULL, NULL, $4, 1, $5)")
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(&id)
                .bind(&tool.name)
                .bind(&tool.description)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|err| conflict_on_unique(err, "tool", &tool.name))?;
        }
        let source = load_source(&mut tx, &id).await?;
        if !added.is_empty() {
            let target = format!("tool_source:{name}");
            let after = serde_json::json!({ "source": &source, "added": added.iter().map(|tool| &tool.name).collect::<Vec<_>>() }).to_string();
            let action = if created { "tool_source.create" } else { "tool_source.update" };
            record(&mut tx, &Actor::system(), Change { tenant_id: None, action, target: &target, before: None, after: Some(after) }).await?;
        }
        // No announcement: these tools are not in any tenant's compiled set (see `AGENT_TOOLS`),
        // and MCP reads them from the database on every request.
        tx.commit().await?;
        Ok(source)
    }

    /// Of the platform's own source `name`, the tools `tenant` has: enabled by the platform,
    /// exposed to it, and not switched off by it.
    pub async fn builtin_tools_for(&self, name: &str, tenant: &Tenant) -> Result<BTreeSet<String>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let off = switched_off(&mut conn, &tenant.id).await?;
        let sql = format!(
            "SELECT t.{} FROM tools t JOIN tool_sources s ON s.id = t.source_id WHERE s.name = $1 AND s.builtin = 1 AND t.enabled = 1",
            TOOL_COLUMNS.replace(", ", ", t.")
        );
        let tools: Vec<CatalogEntry> = sqlx::query_as(&sql).bind(name).fetch_all(&mut *conn).await?;
        Ok(tools.into_iter().filter(|tool| tool.exposure.includes(&tenant.id, &tenant.plan) && !off.contains(&tool.name)).map(|tool| tool.name).collect())
    }
}

/// Locks one tool for a change and reads it as it is. A no-op write first takes the row lock (on
/// SQLite the write lock), so the read is the state this change replaces even when two admins
/// change the same tool at once.
async fn lock_tool(conn: &mut AnyConnection, tool_id: &ToolId) -> Result<CatalogEntry, StoreError> {
    let locked = sqlx::query("UPDATE tools SET name = name WHERE id = $1").bind(tool_id).execute(&mut *conn).await?;
    if locked.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "tool", id: tool_id.to_string() });
    }
    let sql = format!("SELECT {TOOL_COLUMNS} FROM tools WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(tool_id).fetch_one(&mut *conn).await?)
}

/// The names of the tools `tenant_id` switched off.
pub(crate) async fn switched_off(conn: &mut AnyConnection, tenant_id: &TenantId) -> Result<BTreeSet<String>, StoreError> {
    let names: Vec<String> = sqlx::query_scalar("SELECT tool_name FROM tenant_tool_switches WHERE tenant_id = $1").bind(tenant_id).fetch_all(conn).await?;
    Ok(names.into_iter().collect())
}

/// Narrows the platform's enabled tools to what `tenant` has: exposed to it and not switched off
/// by it. The decision path compiles each tenant's set with this.
pub(crate) async fn enabled_for_tenant(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    enabled: Option<BTreeSet<String>>,
) -> Result<Option<BTreeSet<String>>, StoreError> {
    let Some(mut enabled) = enabled else { return Ok(None) };
    let off = switched_off(&mut *conn, &tenant.id).await?;
    let sql = format!("SELECT t.{} FROM {AGENT_TOOLS} AND t.enabled = 1 AND t.exposed_to IS NOT NULL", TOOL_COLUMNS.replace(", ", ", t."));
    let chosen: Vec<CatalogEntry> = sqlx::query_as(&sql).fetch_all(&mut *conn).await?;
    // Tool names are unique in the catalog: one exposure each.
    let hidden: BTreeSet<String> = chosen.into_iter().filter(|tool| !tool.exposure.includes(&tenant.id, &tenant.plan)).map(|tool| tool.name).collect();
    enabled.retain(|name| !off.contains(name) && !hidden.contains(name));
    Ok(Some(enabled))
}
