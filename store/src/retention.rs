//! How long receipts are kept. Each tenant has a retention in days (90 unless the platform sets
//! otherwise); a retention run deletes every tenant's receipts older than its own retention.
//!
//! On PostgreSQL the receipts table is partitioned by time: one partition per week (Monday 00:00
//! UTC to the next), made eight weeks ahead, and a default partition that takes any row no week
//! holds so that a receipt is never refused for want of a partition. A run drops whole weeks that
//! every tenant's retention has passed (cheap at any volume), then deletes what is left tenant by
//! tenant. Several replicas may run it at once: making or dropping a week takes an advisory lock,
//! so their runs never collide (the per-tenant deletes simply find nothing left to delete).

use time::{Date, OffsetDateTime};

use crate::{Backend, Store, StoreError};

/// How many days a new tenant's receipts are kept.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
pub const MIN_RETENTION_DAYS: i64 = 1;
pub const MAX_RETENTION_DAYS: i64 = 3_650;

const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-01 was a Thursday: weeks start four days later, on Mondays.
const MONDAY_OFFSET_MS: i64 = 4 * DAY_MS;
/// How many weeks ahead partitions are made, so a missed run or two never leaves the writer
/// without one.
const WEEKS_AHEAD: i64 = 8;
/// The advisory lock retention runs and the conversion to partitions take (any constant that no
/// other part of Charter uses).
const RETENTION_LOCK: i64 = 0x0043_4852_5452_4554;
/// Partitions are named after the Monday they start on: `receipts_p20261130`.
const PARTITION_PREFIX: &str = "receipts_p";

/// What a retention run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Receipts deleted one by one (past a tenant's retention, inside a week that is kept).
    pub deleted: u64,
    /// Weekly partitions dropped whole (PostgreSQL), with every receipt in them.
    pub dropped_partitions: Vec<String>,
    /// Weekly partitions made ahead (PostgreSQL).
    pub created_partitions: Vec<String>,
}

/// One weekly partition of the receipts table: `[start_ms, start_ms + a week)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptPartition {
    pub name: String,
    pub start_ms: i64,
}

impl ReceiptPartition {
    /// The week holding `ms`.
    fn holding(ms: i64) -> Option<ReceiptPartition> {
        let start_ms = (ms - MONDAY_OFFSET_MS).div_euclid(WEEK_MS) * WEEK_MS + MONDAY_OFFSET_MS;
        let date = OffsetDateTime::from_unix_timestamp(start_ms / 1000).ok()?.date();
        let name = format!("{PARTITION_PREFIX}{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day());
        Some(ReceiptPartition { name, start_ms })
    }

    /// A partition read back from its name; `None` for any other table.
    fn named(name: &str) -> Option<ReceiptPartition> {
        let digits = name.strip_prefix(PARTITION_PREFIX)?;
        let number = |range: std::ops::Range<usize>| digits.get(range).and_then(|part| part.parse::<i32>().ok());
        if digits.len() != 8 {
            return None;
        }
        let month = time::Month::try_from(u8::try_from(number(4..6)?).ok()?).ok()?;
        let date = Date::from_calendar_date(number(0..4)?, month, u8::try_from(number(6..8)?).ok()?).ok()?;
        let start_ms = date.midnight().assume_utc().unix_timestamp() * 1000;
        Some(ReceiptPartition { name: name.to_owned(), start_ms })
    }

    fn end_ms(&self) -> i64 {
        self.start_ms + WEEK_MS
    }
}

impl Store {
    /// Turns the receipts table into a partitioned one, keeping every receipt, unless it is one
    /// already (PostgreSQL; SQLite keeps one table). Runs at every start, after the migrations.
    pub(crate) async fn partition_receipts(&self) -> Result<(), StoreError> {
        if self.backend() != Backend::Postgres || self.receipts_are_partitioned().await? {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(RETENTION_LOCK).execute(&mut *tx).await?;
        // Another replica may have converted it while this one waited for the lock.
        let kind: String = sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = 'receipts'::regclass").fetch_one(&mut *tx).await?;
        if kind == "p" {
            return Ok(());
        }
        for statement in [
            "ALTER TABLE receipts RENAME TO receipts_unpartitioned",
            "ALTER TABLE receipts_unpartitioned RENAME CONSTRAINT receipts_pkey TO receipts_unpartitioned_pkey",
            "ALTER INDEX receipts_by_tenant_time RENAME TO receipts_unpartitioned_by_tenant_time",
            "ALTER INDEX receipts_by_tool_time RENAME TO receipts_unpartitioned_by_tool_time",
            // The same columns and checks; the primary key must hold the partition key.
            "CREATE TABLE receipts (
                LIKE receipts_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
                PRIMARY KEY (id, created_at)
            ) PARTITION BY RANGE (created_at)",
            "ALTER TABLE receipts ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE",
            "CREATE INDEX receipts_by_tenant_time ON receipts (tenant_id, created_at, id)",
            "CREATE INDEX receipts_by_tool_time ON receipts (tool, created_at)",
            "CREATE TABLE receipts_default PARTITION OF receipts DEFAULT",
        ] {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        let weeks: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT created_at - ((created_at - $1) % $2 + $2) % $2 FROM receipts_unpartitioned")
            .bind(MONDAY_OFFSET_MS)
            .bind(WEEK_MS)
            .fetch_all(&mut *tx)
            .await?;
        for start_ms in weeks {
            if let Some(week) = ReceiptPartition::holding(start_ms) {
                create_partition(&mut tx, &week).await?;
            }
        }
        sqlx::query(&format!("INSERT INTO receipts ({columns}) SELECT {columns} FROM receipts_unpartitioned", columns = crate::receipts::RECEIPT_READ))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DROP TABLE receipts_unpartitioned").execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!("the receipts table is now partitioned by week");
        Ok(())
    }

    async fn receipts_are_partitioned(&self) -> Result<bool, StoreError> {
        let kind: String = sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = 'receipts'::regclass").fetch_one(&self.pool).await?;
        Ok(kind == "p")
    }

    /// The weekly partitions of the receipts table, oldest first (empty on SQLite).
    pub async fn receipt_partitions(&self) -> Result<Vec<ReceiptPartition>, StoreError> {
        if self.backend() != Backend::Postgres {
            return Ok(Vec::new());
        }
        let names: Vec<String> =
            sqlx::query_scalar("SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'receipts'::regclass")
                .fetch_all(&self.pool)
                .await?;
        let mut partitions: Vec<ReceiptPartition> = names.iter().filter_map(|name| ReceiptPartition::named(name)).collect();
        partitions.sort_by_key(|partition| partition.start_ms);
        Ok(partitions)
    }

    /// Deletes every tenant's receipts older than its retention, as of `now_ms`; on PostgreSQL,
    /// drops the weeks every tenant's retention has passed and makes the weeks ahead first.
    pub async fn enforce_retention(&self, now_ms: i64) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport::default();
        if self.backend() == Backend::Postgres {
            // A week that cannot be made or dropped now (a long reading holds the table) is tried
            // again next run; the per-tenant deletes below still keep every retention.
            match self.make_partitions_ahead(now_ms).await {
                Ok(created) => report.created_partitions = created,
                Err(err) => tracing::warn!(error = %err, "could not make the receipt partitions ahead; trying again next run"),
            }
            match self.drop_expired_partitions(now_ms).await {
                Ok(dropped) => report.dropped_partitions = dropped,
                Err(err) => tracing::warn!(error = %err, "could not drop expired receipt partitions; trying again next run"),
            }
        }
        let tenants: Vec<(String, i64)> = sqlx::query_as("SELECT id, receipt_retention_days FROM tenants").fetch_all(&self.pool).await?;
        for (tenant_id, days) in tenants {
            let deleted = sqlx::query("DELETE FROM receipts WHERE tenant_id = $1 AND created_at < $2")
                .bind(&tenant_id)
                .bind(now_ms - days * DAY_MS)
                .execute(&self.pool)
                .await?;
            report.deleted += deleted.rows_affected();
            // The dashboards' counts go with the receipts they counted (an hour is kept while any
            // of its receipts may be).
            let cutoff = now_ms - days * DAY_MS;
            for table in ["decision_hours", "denial_counts", "agent_counts"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND hour < $2"))
                    .bind(&tenant_id)
                    .bind(cutoff - cutoff.rem_euclid(crate::insight::HOUR_MS))
                    .execute(&self.pool)
                    .await?;
            }
        }
        // Minutes are drawn for the last hour only.
        sqlx::query("DELETE FROM decision_minutes WHERE minute < $1").bind(now_ms - 2 * crate::insight::HOUR_MS).execute(&self.pool).await?;
        if report.deleted > 0 || !report.dropped_partitions.is_empty() {
            tracing::info!(deleted = report.deleted, dropped = ?report.dropped_partitions, "receipts past their retention are gone");
        }
        Ok(report)
    }

    /// Makes the partitions of this week and the [`WEEKS_AHEAD`] after it that do not exist yet.
    pub(crate) async fn make_partitions_ahead(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        let existing = self.receipt_partitions().await?;
        let mut created = Vec::new();
        for week in 0..=WEEKS_AHEAD {
            let Some(partition) = ReceiptPartition::holding(now_ms + week * WEEK_MS) else { continue };
            if existing.contains(&partition) {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(RETENTION_LOCK).execute(&mut *tx).await?;
            if create_partition(&mut tx, &partition).await? {
                created.push(partition.name);
            }
            tx.commit().await?;
        }
        Ok(created)
    }

    /// Drops the weeks that ended before the longest retention of any tenant began.
    async fn drop_expired_partitions(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        let longest: Option<i64> = sqlx::query_scalar("SELECT MAX(receipt_retention_days) FROM tenants").fetch_one(&self.pool).await?;
        let kept_from = now_ms - longest.unwrap_or(DEFAULT_RETENTION_DAYS) * DAY_MS;
        let mut dropped = Vec::new();
        for partition in self.receipt_partitions().await?.into_iter().filter(|partition| partition.end_ms() <= kept_from) {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(RETENTION_LOCK).execute(&mut *tx).await?;
            // Dropping takes an exclusive lock on the receipts table: rather than queue behind a
            // long reading (and hold every receipt writer behind it), give up and try next run.
            sqlx::query("SET LOCAL lock_timeout = '2s'").execute(&mut *tx).await?;
            // Another replica's run may have dropped it while this one waited for the lock.
            let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(&partition.name).fetch_one(&mut *tx).await?;
            if exists {
                sqlx::query(&format!("DROP TABLE {}", partition.name)).execute(&mut *tx).await?;
                dropped.push(partition.name);
            }
            tx.commit().await?;
        }
        Ok(dropped)
    }
}

/// Makes one week's partition unless it exists; says whether it made it. Receipts of that week
/// already in the default partition move into it. The week is built as a table of its own and
/// attached, which locks the receipts table far less than `CREATE TABLE ... PARTITION OF` would:
/// receipts keep being written meanwhile.
async fn create_partition(conn: &mut sqlx::AnyConnection, partition: &ReceiptPartition) -> Result<bool, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(&partition.name).fetch_one(&mut *conn).await?;
    if exists {
        return Ok(false);
    }
    let (name, start, end) = (&partition.name, partition.start_ms, partition.end_ms());
    // The names and bounds are Charter's own numbers, never a caller's text. The default partition
    // is locked first, so no receipt lands in it between the copy and the delete (ATTACH takes the
    // same lock anyway); receipts routed to other weeks go on being written meanwhile.
    for statement in [
        "LOCK TABLE receipts_default IN ACCESS EXCLUSIVE MODE".to_owned(),
        format!("CREATE TABLE {name} (LIKE receipts INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"),
        format!("INSERT INTO {name} SELECT * FROM receipts_default WHERE created_at >= {start} AND created_at < {end}"),
        format!("DELETE FROM receipts_default WHERE created_at >= {start} AND created_at < {end}"),
        format!("ALTER TABLE {name} ADD CONSTRAINT {name}_bounds CHECK (created_at >= {start} AND created_at < {end})"),
        format!("ALTER TABLE receipts ATTACH PARTITION {name} FOR VALUES FROM ({start}) TO ({end})"),
    ] {
        sqlx::query(&statement).execute(&mut *conn).await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ms: i64, expected_name: &str) {
        let week = ReceiptPartition::holding(ms).unwrap();
        assert_eq!(week.name, expected_name);
        assert!(week.start_ms <= ms && ms < week.end_ms(), "{ms} falls in {week:?}");
        assert_eq!(ReceiptPartition::named(&week.name), Some(week));
    }

    #[test]
    fn weeks_start_on_mondays_and_read_back_from_their_names() {
        // 2026-12-06 04:49 UTC, a Sunday: the week began on Monday 2026-11-30.
        check(1_796_532_540_000, "receipts_p20261130");
        // Monday 2026-11-30 00:00:00.000 UTC starts its own week; a millisecond before does not.
        check(1_795_996_800_000, "receipts_p20261130");
        check(1_795_996_799_999, "receipts_p20261123");
        check(0, "receipts_p19691229");
        assert_eq!(ReceiptPartition::named("receipts_default"), None);
        assert_eq!(ReceiptPartition::named("receipts_p2026113"), None);
        assert_eq!(ReceiptPartition::named("receipts_p20261340"), None);
    }
}
