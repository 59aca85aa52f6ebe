//! Reading receipts back: one tenant's list with filters and a cursor, one receipt, counts and
//! the agents seen. Writing them is [`crate::receipt_writer`]'s job.

use crate::sql::Sql;
use crate::{AgentSummary, Receipt, ReceiptId, Store, StoreError, TenantId, ToolUsage};

/// Every column of `receipts`, in the order the writers bind them.
pub(crate) const RECEIPT_COLUMNS: &str = "id, tenant_id, api_key_id, agent, principal, tool, args, args_digest, verdict, reason, decision, policy_versions, \
     approval_id, latency_us, created_at, platform_release, tenant_revision, context, shadow_of, shadow_verdict, shadow_rule";

/// How many columns [`RECEIPT_COLUMNS`] names: each writer binds that many values per receipt.
pub(crate) const RECEIPT_COLUMN_COUNT: usize = 21;

/// What is read back: the written columns, and the digest of an upstream's answer (MCP gateway).
pub(crate) const RECEIPT_READ: &str = "id, tenant_id, api_key_id, agent, principal, tool, args, args_digest, verdict, reason, decision, policy_versions, \
     approval_id, latency_us, created_at, platform_release, tenant_revision, context, shadow_of, shadow_verdict, shadow_rule, result_digest";

/// Which receipts to list. Every field narrows the list; `None` means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptFilter {
    pub agent: Option<String>,
    pub tool: Option<String>,
    pub verdict: Option<charter_policy::Verdict>,
    /// Inclusive lower bound, milliseconds since the epoch.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound, milliseconds since the epoch.
    pub to_ms: Option<i64>,
    /// Only receipts older than this receipt id (the cursor of the previous page).
    pub before: Option<ReceiptId>,
}

/// Whose receipts to list: one tenant's, or (for platform staff) every tenant's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptScope {
    AllTenants,
    Tenant(TenantId),
}

impl Store {
    /// Receipts of `scope`, newest first, at most `limit`.
    pub async fn list_receipts(&self, scope: &ReceiptScope, filter: &ReceiptFilter, limit: i64) -> Result<Vec<Receipt>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {RECEIPT_READ} FROM receipts WHERE 1 = 1"));
        if let ReceiptScope::Tenant(tenant_id) = scope {
            sql.push(" AND tenant_id = ").bind(tenant_id.clone());
        }
        if let Some(agent) = &filter.agent {
            sql.push(" AND agent = ").bind(agent.clone());
        }
        if let Some(tool) = &filter.tool {
            sql.push(" AND tool = ").bind(tool.clone());
        }
        if let Some(verdict) = filter.verdict {
            sql.push(" AND verdict = ").bind(verdict.to_string());
        }
        if let Some(from) = filter.from_ms {
            sql.push(" AND created_at >= ").bind(from);
        }
        if let Some(to) = filter.to_ms {
            sql.push(" AND created_at < ").bind(to);
        }
        if let Some(before) = &filter.before {
            sql.push(" AND id < ").bind(before.clone());
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(limit);
        let (text, args) = sql.build()?;
        Ok(sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?)
    }

    /// One receipt of the tenant; another tenant's id is not found.
    pub async fn get_receipt(&self, tenant_id: &TenantId, id: &ReceiptId) -> Result<Receipt, StoreError> {
        let sql = format!("SELECT {RECEIPT_READ} FROM receipts WHERE id = $1 AND tenant_id = $2");
        let receipt: Option<Receipt> = sqlx::query_as(&sql).bind(id).bind(tenant_id).fetch_optional(&self.pool).await?;
        receipt.ok_or_else(|| StoreError::NotFound { what: "receipt", id: id.to_string() })
    }

    pub async fn count_receipts(&self, tenant_id: &TenantId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM receipts WHERE tenant_id = $1").bind(tenant_id).fetch_one(&self.pool).await?)
    }

    /// The tenant's agents: those named by agent policies and those that asked for decisions,
    /// with their counts, by name.
    pub async fn list_agents(&self, tenant_id: &TenantId) -> Result<Vec<AgentSummary>, StoreError> {
        let mut agents: std::collections::BTreeMap<String, AgentSummary> = std::collections::BTreeMap::new();
        let blank = |name: &str| AgentSummary { name: name.to_owned(), policies: 0, decisions: 0, last_decision_at: None };
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT agent, COUNT(*) FROM policies WHERE tenant_id = $1 AND agent IS NOT NULL GROUP BY agent")
            .bind(tenant_id)
            .fetch_all(&self.pool)
            .await?;
        for (name, count) in rows {
            agents.entry(name.clone()).or_insert_with(|| blank(&name)).policies = count;
        }
        let rows: Vec<(String, i64, i64)> =
            sqlx::query_as("SELECT agent, COUNT(*), MAX(created_at) FROM receipts WHERE tenant_id = $1 AND agent IS NOT NULL GROUP BY agent")
                .bind(tenant_id)
                .fetch_all(&self.pool)
                .await?;
        for (name, count, last) in rows {
            let agent = agents.entry(name.clone()).or_insert_with(|| blank(&name));
            agent.decisions = count;
            agent.last_decision_at = Some(last);
        }
        Ok(agents.into_values().collect())
    }

    /// Which tenants called `tool` since `since_ms`: their decisions and the last one's time, the
    /// busiest tenant first. Every tenant's receipts are read, so only platform staff get here.
    pub async fn tool_usage(&self, tool: &str, since_ms: i64) -> Result<Vec<ToolUsage>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT t.slug AS tenant_slug, t.name AS tenant_name, COUNT(*) AS calls, MAX(r.created_at) AS last_call_at \
             FROM receipts r JOIN tenants t ON t.id = r.tenant_id \
             WHERE r.tool = $1 AND r.created_at >= $2 \
             GROUP BY t.slug, t.name ORDER BY calls DESC, t.name",
        )
        .bind(tool)
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// A decided call as a replay reads it back: the request as stored (masked arguments masked) and
/// what was decided.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StoredCall {
    pub id: ReceiptId,
    pub agent: Option<String>,
    /// JSON of the principal.
    pub principal: String,
    pub tool: String,
    /// JSON of the arguments, masked fields as `[masked]`.
    pub args: String,
    #[sqlx(try_from = "String")]
    pub verdict: charter_policy::Verdict,
    /// JSON of the decision as it was made.
    pub decision: String,
    /// JSON of the context the engine saw; `None` on receipts written before it was kept.
    pub context: Option<String>,
    pub created_at: i64,
}

/// Which of a tenant's receipts a replay reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayWindow {
    pub tenant_id: TenantId,
    /// Receipts from this time on (milliseconds since the epoch).
    pub since_ms: i64,
    /// Only receipts of decisions that ran this platform release.
    pub ran_release: Option<i64>,
}

impl Store {
    /// One page of the receipts `window` names, oldest first, after `after` (the time and id of
    /// the last call of the previous page).
    pub async fn calls_to_replay(&self, window: &ReplayWindow, after: Option<&(i64, ReceiptId)>, limit: i64) -> Result<Vec<StoredCall>, StoreError> {
        let mut sql = Sql::new("SELECT id, agent, principal, tool, args, verdict, decision, context, created_at FROM receipts WHERE tenant_id = ");
        sql.bind(window.tenant_id.clone()).push(" AND created_at >= ").bind(window.since_ms);
        if let Some(release) = window.ran_release {
            sql.push(" AND platform_release = ").bind(release);
        }
        if let Some((at, id)) = after {
            // A row-value comparison, which both databases answer from the (tenant, time, id) index.
            sql.push(" AND (created_at, id) > (").bind(*at).push(", ").bind(id.clone()).push(")");
        }
        sql.push(" ORDER BY created_at, id LIMIT ").bind(limit);
        let (text, args) = sql.build()?;
        Ok(sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_count_is_the_columns_named() {
        assert_eq!(RECEIPT_COLUMNS.split(',').count(), RECEIPT_COLUMN_COUNT);
    }
}
