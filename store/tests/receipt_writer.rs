//! The receipt writer: group commit of receipts and approvals, on SQLite (a native connection on
//! a thread of its own) and on PostgreSQL (a task on the pool). Every test but the last runs on
//! both (see `charter_testkit::each_database`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use charter_policy::Verdict;
use charter_store::{Approval, ApprovalId, ApprovalStatus, NewTenant, Receipt, ReceiptWriter, Store, Tenant, TenantId};
use charter_testkit::each_database;

async fn tenant(store: &Store, slug: &str) -> Tenant {
    store.create_tenant(NewTenant { slug: slug.into(), name: slug.into(), plan: "enterprise".into(), policy_quota: None }).await.unwrap()
}

fn receipt(tenant_id: &TenantId, created_at: i64) -> Receipt {
    Receipt { verdict: Verdict::RequireApproval, ..charter_testkit::receipt(tenant_id, created_at) }
}

fn approval_for(receipt: &Receipt, tenant_id: &TenantId) -> Approval {
    Approval {
        id: ApprovalId::new(uuid::Uuid::now_v7().to_string()),
        tenant_id: tenant_id.clone(),
        receipt_id: receipt.id.clone(),
        agent: receipt.agent.clone(),
        principal: receipt.principal.clone(),
        tool: receipt.tool.clone(),
        args: receipt.args.clone(),
        args_digest: receipt.args_digest.clone(),
        approvers: "[\"finance\"]".into(),
        matched: "[]".into(),
        policy_versions: "{}".into(),
        reason: "test".into(),
        status: ApprovalStatus::Pending,
        requested_at: receipt.created_at,
        expires_at: receipt.created_at + 60_000,
        resolved_at: None,
        resolved_by: None,
        comment: None,
        votes: "[]".into(),
        consumed_at: None,
    }
}

async fn ids(store: &Store, table: &str) -> Vec<String> {
    sqlx::query_scalar(&format!("SELECT id FROM {table} ORDER BY id")).fetch_all(store.pool()).await.unwrap()
}

#[tokio::test]
async fn a_batch_that_cannot_commit_fails_its_decisions_and_the_next_batch_commits() {
    each_database("writer_failure", |store: Store| async move {
        let acme = tenant(&store, "acme").await;
        let writer = ReceiptWriter::start(store.clone());
        // The database refuses a receipt of a tenant that does not exist (a foreign key).
        let orphan = receipt(&"no-such-tenant".into(), 1);
        let err = writer.write(orphan, None, None).await.unwrap_err();
        assert!(err.to_string().contains("receipt batch failed"), "the decision learns its receipt is not durable: {err}");
        assert!(ids(&store, "receipts").await.is_empty(), "nothing of the failed batch is stored");
        for table in ["decision_hours", "decision_minutes", "denial_counts", "agent_counts"] {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(store.pool()).await.unwrap();
            assert_eq!(rows, 0, "nor counted in {table}");
        }

        let kept = receipt(&acme.id, 2);
        writer.write(kept.clone(), None, None).await.unwrap();
        assert_eq!(ids(&store, "receipts").await, [kept.id], "the writer goes on after a failure");
    })
    .await;
}

#[tokio::test]
async fn a_receipt_and_its_approval_commit_together_or_not_at_all() {
    each_database("writer_approval", |store: Store| async move {
        let acme = tenant(&store, "acme").await;
        let writer = ReceiptWriter::start(store.clone());
        let asked = receipt(&acme.id, 1);
        let approval = approval_for(&asked, &acme.id);
        writer.write(asked.clone(), Some(approval.clone()), None).await.unwrap();
        assert_eq!(ids(&store, "receipts").await, std::slice::from_ref(&asked.id));
        assert_eq!(store.get_approval(&acme.id, &approval.id).await.unwrap().receipt_id, asked.id, "the approval is bound to its receipt");

        // An approval the database refuses takes its receipt down with it.
        let second = receipt(&acme.id, 2);
        let refused = approval_for(&second, &"no-such-tenant".into());
        assert!(writer.write(second, Some(refused), None).await.is_err());
        assert_eq!(ids(&store, "receipts").await, [asked.id], "the receipt of a refused approval is not stored");
        assert_eq!(ids(&store, "approvals").await, [approval.id]);
    })
    .await;
}

#[tokio::test]
async fn concurrent_decisions_each_get_their_own_receipt() {
    each_database("writer_concurrent", |store: Store| async move {
        let acme = tenant(&store, "acme").await;
        let writer = ReceiptWriter::start(store.clone());
        let mut writes = tokio::task::JoinSet::new();
        let mut expected = Vec::new();
        for i in 0..600 {
            let r = receipt(&acme.id, i);
            expected.push(r.id.clone());
            let writer = writer.clone();
            writes.spawn(async move { writer.write(r, None, None).await });
        }
        while let Some(written) = writes.join_next().await {
            written.unwrap().unwrap();
        }
        expected.sort();
        assert_eq!(ids(&store, "receipts").await, expected, "every acknowledged receipt is stored, once");
    })
    .await;
}

/// Under a steady stream of receipts SQLite's write-ahead log must start over now and then rather
/// than hold everything written: the writer checkpoints between batches (SQLite only).
#[tokio::test]
async fn the_sqlite_write_ahead_log_stays_small_under_a_steady_stream_of_receipts() {
    let mut databases = charter_testkit::databases("wal").await;
    let sqlite = databases.remove(0);
    for other in databases {
        other.remove().await;
    }
    let store = sqlite.store.clone();
    let outcome = tokio::spawn(async move {
        let acme = tenant(&store, "acme").await;
        let (_, _, file): (i64, String, String) = sqlx::query_as("PRAGMA database_list").fetch_one(store.pool()).await.unwrap();
        let writer = ReceiptWriter::start(store.clone());
        let explanation = format!("{{\"reason\":\"{}\"}}", "x".repeat(1_000));
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..8_000 {
            let writer = writer.clone();
            let mut r = receipt(&acme.id, i);
            r.decision = explanation.clone();
            writes.spawn(async move { writer.write(r, None, None).await });
        }
        while let Some(written) = writes.join_next().await {
            written.unwrap().unwrap();
        }
        let total: i64 = sqlx::query_scalar("SELECT SUM(LENGTH(decision)) FROM receipts").fetch_one(store.pool()).await.unwrap();
        let wal = std::fs::metadata(format!("{file}-wal")).map(|m| m.len()).unwrap_or(0);
        assert!(total > 8_000_000, "the receipts hold {total} bytes");
        assert!(wal * 4 < u64::try_from(total).unwrap(), "the log holds {wal} bytes after {total} bytes of receipts: it never started over");
    })
    .await;
    sqlite.remove().await;
    outcome.unwrap();
}

#[tokio::test]
async fn flushing_waits_for_receipts_whose_decisions_were_abandoned() {
    each_database("writer_flush", |store: Store| async move {
        let acme = tenant(&store, "acme").await;
        let writer = ReceiptWriter::start(store.clone());
        let mut handed = Vec::new();
        let mut abandoned = 0;
        // Twenty, so that the test task's cooperative budget (128 operations a poll) never makes
        // a hand-over itself wait.
        for n in 0..20 {
            let receipt = receipt(&acme.id, n);
            handed.push(receipt.id.to_string());
            // The decision hands its receipt over and is dropped before the commit (its client went
            // away, or the server is shutting down): the receipt is written all the same.
            if tokio::time::timeout(std::time::Duration::ZERO, writer.write(receipt, None, None)).await.is_err() {
                abandoned += 1;
            }
        }
        assert!(abandoned > 0, "some decisions were dropped before their commit");
        assert!(writer.flush(std::time::Duration::from_secs(20)).await, "every handed receipt is committed within the time");
        assert_eq!(writer.pending(), 0);
        handed.sort();
        assert_eq!(ids(&store, "receipts").await, handed);
    })
    .await;
}
