//! The PostgreSQL receipt writer: a task that keeps one pooled connection and sends each batch
//! as a few multi-row INSERTs in one transaction.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Connection};
use tokio::sync::mpsc;

use super::{acknowledge, count, gather, BatchCounts, Job, ADD_TO_AGENTS, ADD_TO_DENIALS, ADD_TO_HOUR, ADD_TO_MINUTE, MAX_BATCH};
use crate::approvals::insert_approvals;
use crate::receipts::{RECEIPT_COLUMNS, RECEIPT_COLUMN_COUNT};
use crate::{Receipt, Store, StoreError};

/// How many receipts one INSERT statement carries. Every statement is a round trip to the
/// server, so rows are grouped.
const ROWS_PER_INSERT: usize = 64;

pub(super) async fn write_batches(store: Store, writer: String, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // The writer keeps one connection for itself rather than taking one from the pool per batch;
    // after a failure it lets that connection go and takes a fresh one.
    let mut connection: Option<PoolConnection<Any>> = None;
    while let Some(first) = queue.recv().await {
        gather(first, &mut queue, &mut batch);
        let outcome = match &mut connection {
            Some(conn) => commit_batch(conn, &writer, &batch).await,
            None => match store.pool.acquire().await {
                Ok(conn) => commit_batch(connection.insert(conn), &writer, &batch).await,
                Err(err) => Err(err.into()),
            },
        };
        let outcome = outcome.map_err(|err| {
            tracing::error!(error = %err, size = batch.len(), "a receipt batch failed to commit");
            connection = None;
            err.to_string()
        });
        acknowledge(&mut batch, &outcome);
    }
}

async fn commit_batch(conn: &mut AnyConnection, writer: &str, batch: &[Job]) -> Result<(), StoreError> {
    let mut tx = conn.begin().await?;
    let receipts: Vec<&Receipt> = batch.iter().map(|job| &job.receipt).collect();
    insert_receipts(&mut tx, &receipts).await?;
    let approvals: Vec<_> = batch.iter().filter_map(|job| job.approval.as_ref()).collect();
    if !approvals.is_empty() {
        insert_approvals(&mut tx, &approvals).await?;
    }
    // One statement per row counted: a batch adds to a handful of rows (per tenant and hour: one
    // per denied tool and rule, per agent and verdict, per verdict; and per verdict of its minute).
    let BatchCounts { denials, agents, hours, minutes } = count(batch);
    for (key, decisions) in denials {
        sqlx::query(ADD_TO_DENIALS)
            .bind(key.tenant_id)
            .bind(key.hour)
            .bind(key.tool)
            .bind(key.settled_by.platform.as_str())
            .bind(key.settled_by.tenant.as_str())
            .bind(writer)
            .bind(decisions)
            .execute(&mut *tx)
            .await?;
    }
    for ((tenant_id, hour, agent, verdict), decisions) in agents {
        sqlx::query(ADD_TO_AGENTS).bind(tenant_id).bind(hour).bind(agent).bind(verdict.as_str()).bind(writer).bind(decisions).execute(&mut *tx).await?;
    }
    for (sql, rows) in [(ADD_TO_HOUR, hours), (ADD_TO_MINUTE, minutes)] {
        for ((tenant_id, at, verdict), decisions) in rows {
            sqlx::query(sql).bind(tenant_id).bind(at).bind(verdict.as_str()).bind(writer).bind(decisions).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_receipts(conn: &mut AnyConnection, receipts: &[&Receipt]) -> Result<(), StoreError> {
    for chunk in receipts.chunks(ROWS_PER_INSERT) {
        let value_lists = (0..chunk.len())
            .map(|row| format!("({})", (1..=RECEIPT_COLUMN_COUNT).map(|col| format!("${}", row * RECEIPT_COLUMN_COUNT + col)).collect::<Vec<_>>().join(", ")))
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
                .bind(r.verdict.to_string())
                .bind(&r.reason)
                .bind(&r.decision)
                .bind(&r.policy_versions)
                .bind(&r.approval_id)
                .bind(r.latency_us)
                .bind(r.created_at)
                .bind(r.platform_release)
                .bind(r.tenant_revision)
                .bind(&r.context)
                .bind(&r.shadow_of)
                .bind(r.shadow_verdict.0.map(|verdict| verdict.to_string()))
                .bind(&r.shadow_rule);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
