//! Reading receipts back: one tenant's list with filters and a cursor, one receipt, counts and
//! the agents seen. Writing them is [`crate::receipt_writer`]'s job.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{AgentSummary, Receipt, Store, StoreError};

/// Every column of `receipts`, in the order the writers bind them.
pub(crate) const RECEIPT_COLUMNS: &str = "id, tenant_id, api_key_id, agent, principal, tool, args, args_digest, verdict, reason, decision, policy_versions, approval_id, latency_us, created_at";

fn receipt_from_row(row: &AnyRow) -> Result<Receipt, sqlx::Error> {
    Ok(Receipt {
        id: row.try_get("id")?,
        tenant_id: row.try_get("tenant_id")?,
        api_key_id: row.try_get("api_key_id")?,
        agent: row.try_get("agent")?,
        principal: row.try_get("principal")?,
        tool: row.try_get("tool")?,
        args: row.try_get("args")?,
        args_digest: row.try_get("args_digest")?,
        verdict: row.try_get("verdict")?,
        reason: row.try_get("reason")?,
        decision: row.try_get("decision")?,
        policy_versions: row.try_get("policy_versions")?,
        approval_id: row.try_get("approval_id")?,
        latency_us: row.try_get("latency_us")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Which receipts to list. Every field narrows the list; `None` means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiptFilter {
    pub agent: Option<String>,
    pub tool: Option<String>,
    pub verdict: Option<String>,
    /// Inclusive lower bound, milliseconds since the epoch.
    pub from_ms: Option<i64>,
    /// Exclusive upper bound, milliseconds since the epoch.
    pub to_ms: Option<i64>,
    /// Only receipts older than this receipt id (the cursor of the previous page).
    pub before: Option<String>,
}

enum Bind {
    Text(String),
    Int(i64),
}

impl Store {
    /// One tenant's receipts (every tenant's for `None`, for platform staff), newest first, at
    /// most `limit`.
    pub async fn list_receipts(&self, tenant_id: Option<&str>, filter: &ReceiptFilter, limit: i64) -> Result<Vec<Receipt>, StoreError> {
        let mut clauses = vec!["1 = 1".to_owned()];
        let mut binds = Vec::new();
        let mut push = |clause: &str, bind: Bind| {
            binds.push(bind);
            clauses.push(clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(tenant_id) = tenant_id {
            push("tenant_id = ?", Bind::Text(tenant_id.to_owned()));
        }
        if let Some(agent) = &filter.agent {
            push("agent = ?", Bind::Text(agent.clone()));
        }
        if let Some(tool) = &filter.tool {
            push("tool = ?", Bind::Text(tool.clone()));
        }
        if let Some(verdict) = &filter.verdict {
            push("verdict = ?", Bind::Text(verdict.clone()));
        }
        if let Some(from) = filter.from_ms {
            push("created_at >= ?", Bind::Int(from));
        }
        if let Some(to) = filter.to_ms {
            push("created_at < ?", Bind::Int(to));
        }
        if let Some(before) = &filter.before {
            push("id < ?", Bind::Text(before.clone()));
        }
        let sql = format!(
            "SELECT {RECEIPT_COLUMNS} FROM receipts WHERE {} ORDER BY id DESC LIMIT ${}",
            clauses.join(" AND "),
            binds.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(n) => query.bind(n),
            };
        }
        let rows = query.bind(limit).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(receipt_from_row).collect::<Result<_, _>>()?)
    }

    /// One receipt of the tenant; another tenant's id is not found.
    pub async fn get_receipt(&self, tenant_id: &str, id: &str) -> Result<Receipt, StoreError> {
        let sql = format!("SELECT {RECEIPT_COLUMNS} FROM receipts WHERE id = $1 AND tenant_id = $2");
        let row = sqlx::query(&sql).bind(id).bind(tenant_id).fetch_optional(&self.pool).await?;
        let row = row.ok_or_else(|| StoreError::NotFound { what: "receipt", id: id.to_owned() })?;
        Ok(receipt_from_row(&row)?)
    }

    pub async fn count_receipts(&self, tenant_id: &str) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM receipts WHERE tenant_id = $1").bind(tenant_id).fetch_one(&self.pool).await?)
    }

    /// The tenant's agents: those named by agent policies and those that asked for decisions,
    /// with their counts, by name.
    pub async fn list_agents(&self, tenant_id: &str) -> Result<Vec<AgentSummary>, StoreError> {
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
}
