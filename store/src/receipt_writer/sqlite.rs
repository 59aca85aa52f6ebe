//! The SQLite receipt writer: a thread that owns a native connection to the database file and
//! inserts each batch through cached prepared statements in one `BEGIN IMMEDIATE` transaction.
//!
//! The rest of the store reaches SQLite through sqlx, whose every statement is a message to a
//! worker thread and back with its arguments converted twice on the way. That is fine for the
//! console, but receipts are the one serial step every decision waits for; binding in place on a
//! thread of its own makes a receipt cost what SQLite itself costs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use tokio::sync::mpsc;

use super::{acknowledge, count, gather, BatchCounts, Job, ADD_TO_AGENTS, ADD_TO_DENIALS, ADD_TO_HOUR, ADD_TO_MINUTE, CHECKPOINT_EVERY_RECEIPTS, MAX_BATCH};
use crate::approvals::APPROVAL_COLUMNS;
use crate::receipts::{RECEIPT_COLUMNS, RECEIPT_COLUMN_COUNT};

/// Starts the writer thread. Should the thread fail to start, the queue is dropped with it and
/// every write reports that the writer has stopped: decisions are refused rather than answered
/// without a receipt.
pub(super) fn spawn(path: PathBuf, writer: String, queue: mpsc::Receiver<Job>) {
    let started = std::thread::Builder::new().name("receipt-writer".to_owned()).spawn(move || write_batches(&path, &writer, queue));
    if let Err(err) = started {
        tracing::error!(error = %err, "could not start the receipt writer thread");
    }
}

fn write_batches(path: &Path, writer: &str, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // After a failure the connection is dropped and the next batch opens a fresh one.
    let mut connection: Option<Connection> = None;
    let mut written_since_checkpoint = 0;
    while let Some(first) = queue.blocking_recv() {
        gather(first, &mut queue, &mut batch);
        let outcome = match &mut connection {
            Some(conn) => commit_batch(conn, writer, &batch),
            None => open(path).and_then(|conn| commit_batch(connection.insert(conn), writer, &batch)),
        };
        let outcome = outcome.map_err(|err| {
            tracing::error!(error = %err, size = batch.len(), "a receipt batch failed to commit");
            connection = None;
            err.to_string()
        });
        written_since_checkpoint += batch.len();
        acknowledge(&mut batch, &outcome);
        if written_since_checkpoint >= CHECKPOINT_EVERY_RECEIPTS {
            if let Some(conn) = &connection {
                checkpoint(conn);
            }
            written_since_checkpoint = 0;
        }
    }
}

/// Opens the database the way the pool's connections are set up (see `db::pool_options`).
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // FULL: a commit is on disk before it returns, so an acknowledged decision has its receipt.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(conn)
}

fn commit_batch(conn: &mut Connection, writer: &str, batch: &[Job]) -> rusqlite::Result<()> {
    // IMMEDIATE takes the write lock up front, so a console write in progress makes the batch
    // wait (up to the busy timeout) instead of failing halfway.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO receipts ({RECEIPT_COLUMNS}) VALUES ({})",
            (1..=RECEIPT_COLUMN_COUNT).map(|n| format!("?{n}")).collect::<Vec<_>>().join(", ")
        ))?;
        for Job { receipt: r, .. } in batch {
            insert.execute(params![
                r.id.as_str(),
                r.tenant_id.as_str(),
                r.api_key_id.as_ref().map(|id| id.as_str()),
                r.agent,
                r.principal,
                r.tool,
                r.args,
                r.args_digest,
                r.verdict.to_string(),
                r.reason,
                r.decision,
                r.policy_versions,
                r.approval_id.as_ref().map(|id| id.as_str()),
                r.latency_us,
                r.created_at,
                r.platform_release,
                r.tenant_revision,
                r.context,
                r.shadow_of,
                r.shadow_verdict.0.map(|verdict| verdict.to_string()),
                r.shadow_rule
            ])?;
        }
    }
    for a in batch.iter().filter_map(|job| job.approval.as_ref()) {
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO approvals ({APPROVAL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
        ))?;
        insert.execute(params![
            a.id.as_str(),
            a.tenant_id.as_str(),
            a.receipt_id.as_str(),
            a.agent,
            a.principal,
            a.tool,
            a.args,
            a.args_digest,
            a.approvers,
            a.matched,
            a.policy_versions,
            a.reason,
            a.status.as_str(),
            a.requested_at,
            a.expires_at,
            a.resolved_at,
            a.resolved_by,
            a.comment,
            a.votes
        ])?;
    }
    let BatchCounts { denials, agents, hours, minutes } = count(batch);
    if !denials.is_empty() {
        let mut add = tx.prepare_cached(ADD_TO_DENIALS)?;
        for (key, decisions) in denials {
            add.execute(params![key.tenant_id, key.hour, key.tool, key.settled_by.platform, key.settled_by.tenant, writer, decisions])?;
        }
    }
    {
        let mut add = tx.prepare_cached(ADD_TO_AGENTS)?;
        for ((tenant_id, hour, agent, verdict), decisions) in agents {
            add.execute(params![tenant_id, hour, agent, verdict.as_str(), writer, decisions])?;
        }
    }
    for (sql, rows) in [(ADD_TO_HOUR, hours), (ADD_TO_MINUTE, minutes)] {
        let mut add = tx.prepare_cached(sql)?;
        for ((tenant_id, at, verdict), decisions) in rows {
            add.execute(params![tenant_id, at, verdict.as_str(), writer, decisions])?;
        }
    }
    tx.commit()
}

/// SQLite's write-ahead log starts over only when a writer finds it wholly copied into the
/// database. Under steady load a checkpoint from another connection never catches up with this
/// writer, and the log would grow without end, slowing every lookup and leaving a huge backlog to
/// copy. Copying what the last few batches wrote, after their answers went out, keeps each copy
/// small and lets the next batch restart the log.
fn checkpoint(conn: &Connection) {
    // The pragma answers with a row (busy, log frames, checkpointed frames) that is not needed.
    if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %err, "WAL checkpoint failed");
    }
}
