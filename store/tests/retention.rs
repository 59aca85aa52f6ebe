//! Receipt retention: each tenant's receipts older than its own retention go, on both databases;
//! on PostgreSQL the receipts table is partitioned by week, whole weeks go once every tenant's
//! retention has passed them, and a table from before partitioning is converted keeping every
//! receipt.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use charter_store::{now_ms, Actor, NewTenant, ReceiptWriter, Store, Tenant};
use charter_testkit::each_database;

const DAY_MS: i64 = 86_400_000;

async fn tenant(store: &Store, slug: &str) -> Tenant {
    store.create_tenant(NewTenant { slug: slug.into(), name: slug.into(), plan: "enterprise".into(), policy_quota: None }).await.unwrap()
}

/// Writes one receipt of `tenant` per age (days before `now`), through the receipt writer.
async fn receipts_aged(store: &Store, tenant: &Tenant, now: i64, ages_in_days: &[i64]) {
    let writer = ReceiptWriter::start(store.clone());
    for age in ages_in_days {
        writer.write(charter_testkit::receipt(&tenant.id, now - age * DAY_MS), None, None).await.unwrap();
    }
}

/// The ages in days of the tenant's receipts, youngest first.
async fn ages(store: &Store, tenant: &Tenant, now: i64) -> Vec<i64> {
    let times: Vec<i64> = sqlx::query_scalar("SELECT created_at FROM receipts WHERE tenant_id = $1 ORDER BY created_at DESC")
        .bind(tenant.id.as_str())
        .fetch_all(store.pool())
        .await
        .unwrap();
    times.into_iter().map(|at| (now - at) / DAY_MS).collect()
}

#[tokio::test]
async fn each_tenants_receipts_are_kept_for_its_own_retention() {
    each_database("retention_tenants", |store| async move {
        let now = now_ms();
        let (acme, zeta) = (tenant(&store, "acme").await, tenant(&store, "zeta").await);
        assert_eq!(zeta.receipt_retention_days, 90, "90 days unless the platform says otherwise");
        let acme = store.set_receipt_retention(&Actor::system(), &acme.id, 7).await.unwrap();
        assert_eq!(acme.receipt_retention_days, 7);
        for tenant in [&acme, &zeta] {
            receipts_aged(&store, tenant, now, &[100, 30, 1]).await;
        }

        let report = store.enforce_retention(now).await.unwrap();
        assert_eq!(report.deleted, 3, "{report:?}");
        assert_eq!(ages(&store, &acme, now).await, [1]);
        assert_eq!(ages(&store, &zeta, now).await, [1, 30]);
        assert_eq!(store.enforce_retention(now).await.unwrap().deleted, 0, "a second run finds nothing more");

        for refused in [0, 3651, -5] {
            let err = store.set_receipt_retention(&Actor::system(), &acme.id, refused).await.unwrap_err();
            assert_eq!(err.to_string(), format!("`receipt_retention_days` must be 1-3650 days, got `{refused}`"));
        }
        assert_eq!(store.tenant_by_id(&acme.id).await.unwrap().unwrap().receipt_retention_days, 7, "nothing was written");
    })
    .await;
}

#[tokio::test]
async fn old_weeks_are_dropped_whole_once_every_tenants_retention_has_passed_them() {
    let Some((database, _)) = charter_testkit::postgres("retention_weeks").await else { return };
    let store = database.store.clone();
    let now = now_ms();
    let partitions = store.receipt_partitions().await.unwrap();
    assert_eq!(partitions.len(), 9, "this week and eight ahead: {partitions:?}");
    assert!(partitions[0].start_ms <= now && now < partitions[0].start_ms + 7 * DAY_MS);

    // As if a run 200 days ago had made that week's partition, and receipts were written then.
    let then = now - 200 * DAY_MS;
    let report = store.enforce_retention(then).await.unwrap();
    let old_week = report.created_partitions.first().cloned().expect("the week of 200 days ago is made");
    let (acme, zeta) = (tenant(&store, "acme").await, tenant(&store, "zeta").await);
    receipts_aged(&store, &acme, now, &[200, 1]).await;
    receipts_aged(&store, &zeta, now, &[200, 1]).await;
    let in_old_week: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {old_week}")).fetch_one(store.pool()).await.unwrap();
    assert_eq!(in_old_week, 2, "both old receipts are in their week's partition");

    // Zeta keeps a year: the week stays, and acme's old receipt goes row by row.
    store.set_receipt_retention(&Actor::system(), &zeta.id, 365).await.unwrap();
    let report = store.enforce_retention(now).await.unwrap();
    assert!(report.dropped_partitions.is_empty(), "{report:?}");
    assert_eq!((ages(&store, &acme, now).await, ages(&store, &zeta, now).await), (vec![1], vec![1, 200]));

    // Back to 90 days: every tenant's retention has passed the old week, which goes whole.
    store.set_receipt_retention(&Actor::system(), &zeta.id, 90).await.unwrap();
    let (first, second) = tokio::join!(store.enforce_retention(now), store.enforce_retention(now));
    let dropped: Vec<String> = [first.unwrap(), second.unwrap()].into_iter().flat_map(|report| report.dropped_partitions).collect();
    assert!(dropped.contains(&old_week), "two runs at once, one drops it: {dropped:?}");
    assert_eq!(ages(&store, &zeta, now).await, [1]);
    let left = store.receipt_partitions().await.unwrap();
    assert!(left.iter().all(|partition| partition.start_ms > then), "no week of 200 days ago is left: {left:?}");
    database.remove().await;
}

#[tokio::test]
async fn receipts_from_before_partitioning_are_all_kept_when_the_table_is_converted() {
    let Some((database, _)) = charter_testkit::postgres("retention_convert").await else { return };
    let store = database.store.clone();
    let now = now_ms();
    let acme = tenant(&store, "acme").await;
    receipts_aged(&store, &acme, now, &[0, 10, 20_000]).await;
    // The table as migrations 0002 and 0006 made it, with the receipts in it.
    for statement in [
        "CREATE TABLE receipts_plain AS SELECT * FROM receipts",
        "DROP TABLE receipts",
        "ALTER TABLE receipts_plain RENAME TO receipts",
        "ALTER TABLE receipts ADD PRIMARY KEY (id)",
        "CREATE INDEX receipts_by_tenant_time ON receipts (tenant_id, created_at, id)",
        "CREATE INDEX receipts_by_tool_time ON receipts (tool, created_at)",
    ] {
        sqlx::query(statement).execute(store.pool()).await.unwrap();
    }
    assert!(store.receipt_partitions().await.unwrap().is_empty(), "not partitioned any more");

    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(ages(&store, &acme, now).await, [0, 10, 20_000], "every receipt is kept");
    let partitions = store.receipt_partitions().await.unwrap();
    for age in [0, 10, 20_000] {
        let at = now - age * DAY_MS;
        assert!(partitions.iter().any(|p| p.start_ms <= at && at < p.start_ms + 7 * DAY_MS), "the week {age} days ago has its partition: {partitions:?}");
    }
    // And it keeps taking receipts.
    receipts_aged(&store, &acme, now, &[2]).await;
    assert_eq!(ages(&store, &acme, now).await, [0, 2, 10, 20_000]);
    database.remove().await;
}
