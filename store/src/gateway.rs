//! The MCP gateway's records: upstream MCP servers behind sources of the catalog, their tools as a
//! tenant's agents reach them, the approvals that gateway calls use (once each), and the digest of
//! what an upstream answered.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use charter_policy::{CatalogTool, SourceKind};
use sqlx::{AnyConnection, FromRow};

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::error::conflict_on_unique;
use crate::tools::{load_source, switched_off, sync_enabled_tools, TOOL_COLUMNS};
use crate::{now_ms, Actor, ApiKeyId, Approval, ApprovalId, CatalogEntry, Owner, ReceiptId, SourceId, Store, StoreError, Tenant, TenantId, ToolSource};

/// A tool an upstream MCP server lists, as the catalog keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamTool {
    /// The catalog's name: the source's prefix and the upstream's name.
    pub tool: CatalogTool,
    /// The name the upstream knows it by.
    pub upstream_name: String,
    /// The JSON Schema of its input, as the upstream gave it.
    pub input_schema: String,
}

/// Where an upstream MCP server is and how Charter authenticates to it.
#[derive(Clone, PartialEq, Eq)]
pub struct UpstreamServer {
    pub source_id: SourceId,
    pub source_name: String,
    pub endpoint: String,
    pub tool_prefix: String,
    /// The `Authorization` header value Charter sends, if any.
    pub auth: Option<String>,
}

/// The header value is a credential: it never reaches a log.
impl fmt::Debug for UpstreamServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamServer")
            .field("source_id", &self.source_id)
            .field("source_name", &self.source_name)
            .field("endpoint", &self.endpoint)
            .field("tool_prefix", &self.tool_prefix)
            .field("auth", &self.auth.as_ref().map(|_| "[set]"))
            .finish()
    }
}

/// A tool the gateway serves to one tenant: enabled by the platform, exposed to the tenant, not
/// switched off by it, and served by an upstream.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayTool {
    pub name: String,
    pub description: String,
    pub upstream_name: String,
    /// JSON Schema of the input, read once; `None` when the upstream gave none (or none that
    /// reads as a JSON object).
    pub input_schema: Option<Arc<serde_json::Map<String, serde_json::Value>>>,
    pub upstream: UpstreamServer,
}

#[derive(FromRow)]
struct GatewayRow {
    name: String,
    description: String,
    upstream_name: Option<String>,
    input_schema: Option<String>,
    source_id: SourceId,
    source_name: String,
    endpoint: String,
    tool_prefix: String,
    upstream_auth: Option<String>,
}

/// What refreshing an upstream's tools changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefreshReport {
    /// New tools, added switched off: nothing new is callable before an admin enables it.
    pub added: Vec<String>,
    /// Tools whose description or input schema changed.
    pub updated: Vec<String>,
    /// Tools the upstream no longer lists, removed with the tenants' switches of them.
    pub removed: Vec<String>,
}

impl RefreshReport {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// The approval a repeated gateway call finds: the same tenant, API key, agent, principal, tool
/// and arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SameCall<'a> {
    pub tenant_id: &'a TenantId,
    /// The key whose decision asked for the approval: another key's approval (even of the same
    /// tenant and agent) lets nothing through.
    pub api_key_id: &'a ApiKeyId,
    pub agent: Option<&'a str>,
    pub principal: &'a str,
    pub tool: &'a str,
    pub args_digest: &'a str,
}

async fn insert_upstream_tools(conn: &mut AnyConnection, source_id: &SourceId, tools: &[UpstreamTool], enabled: bool, now: i64) -> Result<(), StoreError> {
    for tool in tools {
        sqlx::query(
            "INSERT INTO tools (id, source_id, name, method, path, description, enabled, updated_at, upstream_name, input_schema)
             VALUES ($1, $2, $3, NULL, NULL, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(source_id)
        .bind(&tool.tool.name)
        .bind(&tool.tool.description)
        .bind(i64::from(enabled))
        .bind(now)
        .bind(&tool.upstream_name)
        .bind(&tool.input_schema)
        .execute(&mut *conn)
        .await
        .map_err(|err| conflict_on_unique(err, "tool", &tool.tool.name))?;
    }
    Ok(())
}

impl Store {
    /// Registers an upstream MCP server as a source with the tools it listed, all enabled or all
    /// disabled, in one transaction with its audit entry (which leaves the credential out). A tool
    /// name another source has is refused and nothing is written.
    pub async fn add_upstream_source(&self, actor: &Actor, server: &UpstreamServer, tools: &[UpstreamTool], enabled: bool) -> Result<ToolSource, StoreError> {
        let name = server.source_name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::invalid("name", "must be 1-100 characters"));
        }
        let mut tx = self.pool.begin().await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO tool_sources (id, name, kind, created_at, created_by, endpoint, upstream_auth, tool_prefix) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&server.source_id)
        .bind(name)
        .bind(SourceKind::Mcp.as_str())
        .bind(now)
        .bind(&actor.id)
        .bind(&server.endpoint)
        .bind(&server.auth)
        .bind(&server.tool_prefix)
        .execute(&mut *tx)
        .await
        .map_err(|err| conflict_on_unique(err, "source", name))?;
        insert_upstream_tools(&mut tx, &server.source_id, tools, enabled, now).await?;
        sync_enabled_tools(&mut tx).await?;
        let source = load_source(&mut tx, &server.source_id).await?;
        let names: Vec<&str> = tools.iter().map(|tool| tool.tool.name.as_str()).collect();
        let after = serde_json::json!({ "source": &source, "tools": names }).to_string();
        let target = format!("tool_source:{name}");
        record(&mut tx, actor, Change { tenant_id: None, action: "tool_source.create", target: &target, before: None, after: Some(after) }).await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok(source)
    }

    /// The upstream server behind a source; not found for a source that is a document.
    pub async fn upstream_server(&self, source_id: &SourceId) -> Result<UpstreamServer, StoreError> {
        let row: Option<(String, Option<String>, String, Option<String>)> =
            sqlx::query_as("SELECT name, endpoint, tool_prefix, upstream_auth FROM tool_sources WHERE id = $1")
                .bind(source_id)
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some((source_name, Some(endpoint), tool_prefix, auth)) => {
                Ok(UpstreamServer { source_id: source_id.clone(), source_name, endpoint, tool_prefix, auth })
            }
            _ => Err(StoreError::NotFound { what: "upstream MCP server", id: source_id.to_string() }),
        }
    }

    /// Brings an upstream source's tools in line with what the upstream lists now: new tools are
    /// added switched off, changed descriptions and schemas are updated (switches and exposure
    /// kept), tools it no longer lists are removed with the tenants' switches of them. One
    /// transaction with its audit entry; nothing is written when nothing changed.
    pub async fn refresh_upstream_source(
        &self,
        actor: &Actor,
        source_id: &SourceId,
        tools: &[UpstreamTool],
    ) -> Result<(ToolSource, RefreshReport), StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = sqlx::query("UPDATE tool_sources SET name = name WHERE id = $1 AND endpoint IS NOT NULL").bind(source_id).execute(&mut *tx).await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "upstream MCP server", id: source_id.to_string() });
        }
        let have: Vec<(String, String, Option<String>)> =
            sqlx::query_as("SELECT name, description, input_schema FROM tools WHERE source_id = $1").bind(source_id).fetch_all(&mut *tx).await?;
        let have: BTreeMap<String, (String, Option<String>)> = have.into_iter().map(|(name, description, schema)| (name, (description, schema))).collect();
        let mut report = RefreshReport::default();
        let mut added = Vec::new();
        let now = now_ms();
        for tool in tools {
            match have.get(&tool.tool.name) {
                None => {
                    report.added.push(tool.tool.name.clone());
                    added.push(tool.clone());
                }
                Some((description, schema)) if *description != tool.tool.description || schema.as_deref() != Some(tool.input_schema.as_str()) => {
                    sqlx::query("UPDATE tools SET description = $1, input_schema = $2, upstream_name = $3, updated_at = $4 WHERE source_id = $5 AND name = $6")
                        .bind(&tool.tool.description)
                        .bind(&tool.input_schema)
                        .bind(&tool.upstream_name)
                        .bind(now)
                        .bind(source_id)
                        .bind(&tool.tool.name)
                        .execute(&mut *tx)
                        .await?;
                    report.updated.push(tool.tool.name.clone());
                }
                Some(_) => {}
            }
        }
        report.removed = have.keys().filter(|name| !tools.iter().any(|tool| &tool.tool.name == *name)).cloned().collect();
        if report.is_empty() {
            let source = load_source(&mut tx, source_id).await?;
            tx.commit().await?;
            return Ok((source, report));
        }
        insert_upstream_tools(&mut tx, source_id, &added, false, now).await?;
        for name in &report.removed {
            sqlx::query("DELETE FROM tenant_tool_switches WHERE tool_name = $1").bind(name).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM tools WHERE source_id = $1 AND name = $2").bind(source_id).bind(name).execute(&mut *tx).await?;
        }
        sync_enabled_tools(&mut tx).await?;
        let source = load_source(&mut tx, source_id).await?;
        let target = format!("tool_source:{}", source.name);
        let after = serde_json::to_string(&report).ok();
        record(&mut tx, actor, Change { tenant_id: None, action: "tool_source.refresh", target: &target, before: None, after }).await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok((source, report))
    }

    /// The tools the gateway serves `tenant`, by name: enabled by the platform, exposed to the
    /// tenant, not switched off by it, and served by an upstream MCP server. Kept beside the
    /// tenant's compiled policy set (and dropped with it on every change that could alter them),
    /// with that set.
    pub async fn gateway_offer(&self, tenant: &Tenant) -> Result<(Arc<crate::CompiledTenant>, Arc<Vec<GatewayTool>>), StoreError> {
        let compiled = self.policy_set(&tenant.id).await?;
        let tools = compiled.gateway.get_or_try_init(|| async { self.gateway_tools(tenant).await.map(Arc::new) }).await?.clone();
        Ok((compiled, tools))
    }

    /// The tools the gateway serves `tenant`, read from the database (see [`Store::gateway_offer`]).
    pub async fn gateway_tools(&self, tenant: &Tenant) -> Result<Vec<GatewayTool>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let off = switched_off(&mut conn, &tenant.id).await?;
        let rows: Vec<GatewayRow> = sqlx::query_as(
            "SELECT t.name, t.description, t.upstream_name, t.input_schema, s.id AS source_id, s.name AS source_name, s.endpoint, s.tool_prefix,
                    s.upstream_auth
             FROM tools t JOIN tool_sources s ON s.id = t.source_id
             WHERE t.enabled = 1 AND s.endpoint IS NOT NULL ORDER BY t.name",
        )
        .fetch_all(&mut *conn)
        .await?;
        // The exposure is read the one way the catalog reads it; tools exposed to everyone are not
        // in this list.
        let sql = format!("SELECT {TOOL_COLUMNS} FROM tools WHERE enabled = 1 AND exposed_to IS NOT NULL");
        let chosen: Vec<CatalogEntry> = sqlx::query_as(&sql).fetch_all(&mut *conn).await?;
        let hidden: HashSet<&str> = chosen.iter().filter(|tool| !tool.exposure.includes(&tenant.id, &tenant.plan)).map(|tool| tool.name.as_str()).collect();
        let mut tools: Vec<GatewayTool> = rows
            .into_iter()
            .filter(|row| !off.contains(&row.name) && !hidden.contains(&row.name.as_str()))
            .map(|row| GatewayTool {
                upstream_name: row.upstream_name.unwrap_or_else(|| row.name.strip_prefix(row.tool_prefix.as_str()).unwrap_or(&row.name).to_owned()),
                name: row.name,
                description: row.description,
                input_schema: row.input_schema.as_deref().and_then(|text| serde_json::from_str(text).ok()).map(Arc::new),
                upstream: UpstreamServer {
                    source_id: row.source_id,
                    source_name: row.source_name,
                    endpoint: row.endpoint,
                    tool_prefix: row.tool_prefix,
                    auth: row.upstream_auth,
                },
            })
            .collect();
        // By name as Rust orders strings (the database's collation may differ), so a name can be
        // looked up by binary search.
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(tools)
    }

    /// The approval an earlier identical gateway call (same key) asked for that can still serve:
    /// approved within `usable_ms` and not used yet, or still pending; the newest first.
    pub async fn approval_for_call(&self, call: &SameCall<'_>, now: i64, usable_ms: i64) -> Result<Option<Approval>, StoreError> {
        let columns = crate::approvals::APPROVAL_READ.split(", ").map(|column| format!("a.{column}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns} FROM approvals a JOIN receipts r ON r.id = a.receipt_id AND r.tenant_id = a.tenant_id
             WHERE a.tenant_id = $1 AND a.args_digest = $2 AND a.tool = $3 AND a.principal = $4 AND a.agent IS NOT DISTINCT FROM $5
               AND r.api_key_id = $6 AND a.consumed_at IS NULL
               AND ((a.status = 'approved' AND a.resolved_at > $7) OR (a.status = 'pending' AND a.expires_at > $8))
             ORDER BY CASE WHEN a.status = 'approved' THEN 0 ELSE 1 END, a.requested_at DESC LIMIT 1"
        );
        Ok(sqlx::query_as(&sql)
            .bind(call.tenant_id)
            .bind(call.args_digest)
            .bind(call.tool)
            .bind(call.principal)
            .bind(call.agent)
            .bind(call.api_key_id)
            .bind(now - usable_ms)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Marks an approved approval used by the call it was for. `false` when another call used it
    /// first (or it is not approved): each approval lets one call through.
    pub async fn consume_approval(&self, tenant_id: &TenantId, id: &ApprovalId, now: i64) -> Result<bool, StoreError> {
        let used = sqlx::query("UPDATE approvals SET consumed_at = $1 WHERE id = $2 AND tenant_id = $3 AND status = 'approved' AND consumed_at IS NULL")
            .bind(now)
            .bind(id)
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        Ok(used.rows_affected() == 1)
    }

    /// Records on a receipt the digest of what the upstream answered to the call it decided.
    pub async fn record_result_digest(&self, tenant_id: &TenantId, receipt_id: &ReceiptId, created_at: i64, digest: &str) -> Result<(), StoreError> {
        // `created_at` lets PostgreSQL look in the one weekly partition that holds the receipt.
        sqlx::query("UPDATE receipts SET result_digest = $1 WHERE id = $2 AND tenant_id = $3 AND created_at = $4")
            .bind(digest)
            .bind(receipt_id)
            .bind(tenant_id)
            .bind(created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
