//! Receipts, written by group commit: decisions hand their receipt (and approval, if any) to one
//! writer task, which inserts everything that has queued up in a single transaction and then
//! acknowledges each waiting decision. A decision is answered only after its receipt is durable,
//! yet a busy server pays one commit per batch rather than one per decision.

use sqlx::any::AnyRow;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Connection, Row};
use tokio::sync::{mpsc, oneshot};

use crate::approvals::insert_approvals;
use crate::{AgentSummary, Approval, Backend, Receipt, Store, StoreError};

/// The most records one transaction takes; more wait for the next batch.
const MAX_BATCH: usize = 256;
const RECEIPT_COLUMNS: &str = "id, tenant_id, api_key_id, agent, principal, tool, args, args_digest, verdict, reason, decision, policy_versions, approval_id, latency_us, created_at";

struct Job {
    receipt: Receipt,
    approval: Option<Approval>,
    done: oneshot::Sender<Result<(), String>>,
}

/// The handle decisions use to make their receipts durable. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReceiptWriter {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("receipt", &self.receipt.id).finish()
    }
}

impl ReceiptWriter {
    /// Starts the writer task on the current tokio runtime.
    pub fn start(store: Store) -> ReceiptWriter {
        let (jobs, queue) = mpsc::channel(MAX_BATCH * 16);
        tokio::spawn(write_batches(store, queue));
        ReceiptWriter { jobs }
    }

    /// Returns once the receipt (and approval) are committed.
    pub async fn write(&self, receipt: Receipt, approval: Option<Approval>) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        self.jobs
            .send(Job { receipt, approval, done })
            .await
            .map_err(|_| StoreError::Corrupt("the receipt writer has stopped".to_owned()))?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Corrupt(format!("receipt batch failed: {message}"))),
            Err(_) => Err(StoreError::Corrupt("the receipt writer has stopped".to_owned())),
        }
    }
}

async fn write_batches(store: Store, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // The writer keeps one connection for itself rather than taking one from the pool per batch;
    // after a failure it lets that connection go and takes a fresh one.
    let mut connection: Option<PoolConnection<Any>> = None;
    let mut written_since_checkpoint = 0;
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = match &mut connection {
            Some(conn) => commit_batch(conn, store.backend(), &batch).await,
            None => match store.pool.acquire().await {
                Ok(conn) => commit_batch(connection.insert(conn), store.backend(), &batch).await,
                Err(err) => Err(err.into()),
            },
        };
        let outcome = outcome.map_err(|err| {
            tracing::error!(error = %err, size = batch.len(), "a receipt batch failed to commit");
            connection = None;
            err.to_string()
        });
        written_since_checkpoint += batch.len();
        for job in batch.drain(..) {
            let _ = job.done.send(outcome.clone());
        }
        if store.backend() == Backend::Sqlite && written_since_checkpoint >= CHECKPOINT_EVERY_RECEIPTS {
            if let Some(conn) = &mut connection {
                checkpoint_between_batches(conn).await;
            }
            written_since_checkpoint = 0;
        }
    }
}

/// How many receipts the writer commits between its own checkpoints: about a megabyte of log, so
/// each checkpoint is a pause of a few milliseconds rather than a long copy.
const CHECKPOINT_EVERY_RECEIPTS: usize = 512;

/// SQLite's write-ahead log starts over only when a writer finds it wholly copied into the
/// database. Under steady load a checkpoint from another connection never catches up with this
/// writer, and the log would grow without end, slowing every lookup and leaving a huge backlog to
/// copy. Copying what the last few batches wrote, after their answers went out, keeps each copy
/// small and lets the next batch restart the log.
async fn checkpoint_between_batches(conn: &mut AnyConnection) {
    if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&mut *conn).await {
        tracing::warn!(error = %err, "WAL checkpoint failed");
    }
}

async fn commit_batch(conn: &mut AnyConnection, backend: Backend, batch: &[Job]) -> Result<(), StoreError> {
    let mut tx = conn.begin().await?;
    let receipts: Vec<&Receipt> = batch.iter().map(|job| &job.receipt).collect();
    insert_receipts(&mut tx, backend, &receipts).await?;
    let approvals: Vec<&Approval> = batch.iter().filter_map(|job| job.approval.as_ref()).collect();
    if !approvals.is_empty() {
        insert_approvals(&mut tx, &approvals).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// How many receipts one INSERT statement carries. Every statement is a round trip (to the
/// PostgreSQL server, or to sqlx's SQLite worker thread), so rows are grouped; SQLite's parameter
/// lookup grows with the square of a statement's parameters, so its statements stay smaller.
const POSTGRES_ROWS_PER_INSERT: usize = 64;
const SQLITE_ROWS_PER_INSERT: usize = 16;

async fn insert_receipts(conn: &mut AnyConnection, backend: Backend, receipts: &[&Receipt]) -> Result<(), StoreError> {
    let rows_per_insert = match backend {
        Backend::Sqlite => SQLITE_ROWS_PER_INSERT,
        Backend::Postgres => POSTGRES_ROWS_PER_INSERT,
    };
    for chunk in receipts.chunks(rows_per_insert) {
        let value_lists = (0..chunk.len())
            .map(|row| format!("({})", (1..=15).map(|col| format!("${}", row * 15 + col)).collect::<Vec<_>>().join(", ")))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("INSERT INTO receipts ({RECEIPT_COLUMNS}) VALUES {value_lists}");
        let mut query = sqlx::query(&sql);
        for r in chunk {
            query = query
                .bind(&r.id)
                .bind(&r.tenant_id)
                .bind(&r.api_key_id)
                .bind(&r.agent)
                .bind(&r.principal)
                .bind(&r.tool)
                .bind(&r.args)
                .bind(&r.args_digest)
                .bind(&r.verdict)
                .bind(&r.reason)
                .bind(&r.decision)
                .bind(&r.policy_versions)
                .bind(&r.approval_id)
                .bind(r.latency_us)
                .bind(r.created_at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

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
