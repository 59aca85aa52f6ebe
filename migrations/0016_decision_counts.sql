-- Dashboards (issue 18): decisions counted as the receipt writer commits them, in the same
-- transaction as their receipts, so a dashboard reads a few hundred rows instead of counting
-- millions of receipts.
--
-- `decision_counts` holds one row per tenant, hour (its start, ms since the epoch, UTC), verdict,
-- tool, agent ('' when the call named none) and `settled_by`: for a deny or an approval request,
-- the rule (or step) that settled it as the tenant may read it; '' for allows and for receipts
-- counted before this table existed. `decision_minutes` counts the last two hours by minute for
-- the "last hour" chart; the retention job trims both.
CREATE TABLE decision_counts (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour       BIGINT NOT NULL,
    verdict    TEXT NOT NULL CHECK (verdict IN ('allow', 'deny', 'require_approval')),
    tool       TEXT NOT NULL,
    agent      TEXT NOT NULL,
    settled_by TEXT NOT NULL,
    decisions  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, verdict, tool, agent, settled_by)
);
CREATE INDEX decision_counts_by_hour ON decision_counts (hour);

CREATE TABLE decision_minutes (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    minute    BIGINT NOT NULL,
    verdict   TEXT NOT NULL CHECK (verdict IN ('allow', 'deny', 'require_approval')),
    decisions BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, minute, verdict)
);
CREATE INDEX decision_minutes_by_minute ON decision_minutes (minute);

-- Receipts written before: counted by hour and minute as they stand.
INSERT INTO decision_counts (tenant_id, hour, verdict, tool, agent, settled_by, decisions)
SELECT tenant_id, created_at - created_at % 3600000, verdict, tool, COALESCE(agent, ''), '', COUNT(*)
FROM receipts
GROUP BY tenant_id, created_at - created_at % 3600000, verdict, tool, COALESCE(agent, '');

INSERT INTO decision_minutes (tenant_id, minute, verdict, decisions)
SELECT tenant_id, created_at - created_at % 60000, verdict, COUNT(*)
FROM receipts
WHERE created_at >= (SELECT COALESCE(MAX(created_at), 0) FROM receipts) - 7200000
GROUP BY tenant_id, created_at - created_at % 60000, verdict;
