-- How many days each tenant's receipts are kept. 90 unless the platform sets otherwise; older
-- receipts are deleted (on PostgreSQL, whole weekly partitions are dropped once every tenant's
-- retention has passed them; see store/src/retention.rs).
ALTER TABLE tenants ADD COLUMN receipt_retention_days BIGINT NOT NULL DEFAULT 90;
