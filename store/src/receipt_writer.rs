//! Receipts, written by group commit: decisions hand their receipt (and approval, if any) to one
//! writer, which inserts everything that has queued up in a single transaction and then
//! acknowledges each waiting decision. A decision is answered only after its receipt is durable,
//! yet a busy server pays one commit per batch rather than one per decision.
//!
//! On SQLite the writer is a thread of its own with a native connection ([`sqlite`]): the
//! decision API's throughput is bounded by this one serial step, and a prepared statement bound
//! in place costs a fraction of a round trip through sqlx's worker thread. On PostgreSQL it is a
//! task on the runtime that sends multi-row INSERTs through the pool ([`postgres`]).

mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use charter_policy::Verdict;

use crate::insight::{DenialKey, SettledBy, HOUR_MS, MINUTE_MS};
use crate::{Approval, Receipt, Store, StoreError};

/// The most records one transaction takes; more wait for the next batch.
const MAX_BATCH: usize = 256;

/// How many receipts the SQLite writer commits between its own checkpoints: about half a megabyte
/// of log, so each checkpoint pauses the writer for a millisecond or two. Measured on 2 cores,
/// every 512 receipts gave p99 latencies of 4.6 to 5.5 ms, every 256 gave 3.5 to 3.9 ms, and every
/// 128 no better than 256 for more time spent checkpointing.
const CHECKPOINT_EVERY_RECEIPTS: usize = 256;

struct Job {
    receipt: Receipt,
    approval: Option<Approval>,
    /// What the dashboards count the decision under besides its verdict (see [`ReceiptWriter::write`]).
    settled_by: SettledBy,
    done: oneshot::Sender<Result<(), String>>,
    /// Counts the job as unwritten until the writer is done with it (and drops it).
    _pending: Pending,
}

/// One receipt handed to the writer and not yet committed (or failed): the count goes down when
/// the job is dropped, after its batch, or at once if the writer has stopped.
struct Pending(Arc<AtomicUsize>);

impl Pending {
    fn new(count: &Arc<AtomicUsize>) -> Pending {
        count.fetch_add(1, Ordering::SeqCst);
        Pending(count.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("receipt", &self.receipt.id).finish()
    }
}

/// The handle decisions use to make their receipts durable. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ReceiptWriter {
    jobs: mpsc::Sender<Job>,
    pending: Arc<AtomicUsize>,
}

impl ReceiptWriter {
    /// Starts the writer: a thread for SQLite, a task on the current tokio runtime for PostgreSQL.
    /// It stops once every clone of the handle is dropped.
    pub fn start(store: Store) -> ReceiptWriter {
        let (jobs, queue) = mpsc::channel(MAX_BATCH * 16);
        let writer = writer_id();
        match store.sqlite_path() {
            Some(path) => sqlite::spawn(path.to_owned(), writer, queue),
            None => {
                tokio::spawn(postgres::write_batches(store, writer, queue));
            }
        }
        ReceiptWriter { jobs, pending: Arc::default() }
    }

    /// Waits until every receipt handed to the writer so far is committed (or has failed), at
    /// most `within`; says whether it got there. For a graceful shutdown: a decision whose client
    /// went away is still written, and this waits for it too.
    pub async fn flush(&self, within: Duration) -> bool {
        let started = Instant::now();
        while self.pending.load(Ordering::SeqCst) > 0 {
            if started.elapsed() >= within {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Receipts handed to the writer and not yet committed.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Returns once the receipt (and approval) are committed, and the decision counted in the
    /// dashboards' tables in the same transaction: by tenant, hour (and minute) and verdict, by agent
    /// and verdict, and a denial by tool and `settled_by` (the rule or step that denied; `None` for
    /// a decision that is no denial).
    pub async fn write(&self, receipt: Receipt, approval: Option<Approval>, settled_by: Option<SettledBy>) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        let settled_by = settled_by.unwrap_or_default();
        self.jobs
            .send(Job { receipt, approval, settled_by, done, _pending: Pending::new(&self.pending) })
            .await
            .map_err(|_| StoreError::Corrupt("the receipt writer has stopped".to_owned()))?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(StoreError::Corrupt(format!("receipt batch failed: {message}"))),
            Err(_) => Err(StoreError::Corrupt("the receipt writer has stopped".to_owned())),
        }
    }
}

/// Adds whatever has queued up behind `first` to `batch`, up to [`MAX_BATCH`], without waiting.
fn gather(first: Job, queue: &mut mpsc::Receiver<Job>, batch: &mut Vec<Job>) {
    batch.push(first);
    while batch.len() < MAX_BATCH {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    let figures = crate::metrics();
    figures.receipt_batch.observe(batch.len() as f64);
    figures.receipt_queue.set(i64::try_from(queue.len()).unwrap_or(i64::MAX));
}

/// Tells every decision of the batch how its commit went, and empties the batch.
fn acknowledge(batch: &mut Vec<Job>, outcome: &Result<(), String>) {
    if outcome.is_err() {
        crate::metrics().receipt_failures.inc();
    }
    for job in batch.drain(..) {
        // A decision whose client went away no longer listens; its receipt is written anyway.
        let _ = job.done.send(outcome.clone());
    }
}

/// A row of `decision_hours` or `decision_minutes`: tenant, hour or minute, and verdict.
type TimeKey<'a> = (&'a str, i64, Verdict);

/// A row of `agent_counts`: tenant, hour, agent and verdict.
type AgentKey<'a> = (&'a str, i64, &'a str, Verdict);

/// A batch's decisions as the rows of the dashboards' tables they add to, each with how many, in
/// one order. Each writer adds to rows of its own (see [`writer_id`]), so replicas never wait on
/// each other's rows; the order keeps that true of any two batches whatever happens.
fn count(batch: &[Job]) -> BatchCounts<'_> {
    let mut denials: HashMap<DenialKey<'_>, i64> = HashMap::new();
    let mut agents: HashMap<AgentKey<'_>, i64> = HashMap::new();
    let mut hours: HashMap<TimeKey<'_>, i64> = HashMap::new();
    let mut minutes: HashMap<TimeKey<'_>, i64> = HashMap::new();
    for Job { receipt: r, settled_by, .. } in batch {
        let (tenant_id, at) = (r.tenant_id.as_str(), r.created_at);
        let hour = at - at.rem_euclid(HOUR_MS);
        if r.verdict == Verdict::Deny {
            *denials.entry(DenialKey { tenant_id, hour, tool: &r.tool, settled_by }).or_default() += 1;
        }
        *agents.entry((tenant_id, hour, r.agent.as_deref().unwrap_or_default(), r.verdict)).or_default() += 1;
        *hours.entry((tenant_id, hour, r.verdict)).or_default() += 1;
        *minutes.entry((tenant_id, at - at.rem_euclid(MINUTE_MS), r.verdict)).or_default() += 1;
    }
    BatchCounts { denials: sorted(denials), agents: sorted(agents), hours: sorted(hours), minutes: sorted(minutes) }
}

/// The rows of `map` in their order.
fn sorted<K: Ord, V>(map: HashMap<K, V>) -> Vec<(K, V)> {
    let mut rows: Vec<(K, V)> = map.into_iter().collect();
    rows.sort_by(|(a, _), (b, _)| a.cmp(b));
    rows
}

/// What one batch adds to the dashboards' counts.
struct BatchCounts<'a> {
    denials: Vec<(DenialKey<'a>, i64)>,
    agents: Vec<(AgentKey<'a>, i64)>,
    hours: Vec<(TimeKey<'a>, i64)>,
    minutes: Vec<(TimeKey<'a>, i64)>,
}

/// This writer's name in the dashboards' tables: random, taken when the writer starts.
fn writer_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Adds to a row of `denial_counts` (both databases bind `$n` parameters and accept this upsert).
const ADD_TO_DENIALS: &str = "INSERT INTO denial_counts (tenant_id, hour, tool, settled_by, settled_by_tenant, writer, decisions) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, hour, tool, settled_by, writer) \
     DO UPDATE SET decisions = denial_counts.decisions + excluded.decisions";

/// Adds to a row of `agent_counts`.
const ADD_TO_AGENTS: &str = "INSERT INTO agent_counts (tenant_id, hour, agent, verdict, writer, decisions) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (tenant_id, hour, agent, verdict, writer) DO UPDATE SET decisions = agent_counts.decisions + excluded.decisions";

/// Adds to an hour's count.
const ADD_TO_HOUR: &str = "INSERT INTO decision_hours (tenant_id, hour, verdict, writer, decisions) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (tenant_id, hour, verdict, writer) DO UPDATE SET decisions = decision_hours.decisions + excluded.decisions";

/// Adds to a minute's count.
const ADD_TO_MINUTE: &str = "INSERT INTO decision_minutes (tenant_id, minute, verdict, writer, decisions) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (tenant_id, minute, verdict, writer) DO UPDATE SET decisions = decision_minutes.decisions + excluded.decisions";
