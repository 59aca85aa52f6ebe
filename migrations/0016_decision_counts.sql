-- Dashboards (issue 18): decisions counted as the receipt writer commits them, in the same
-- transaction as their receipts, so a dashboard reads a few hundred rows instead of counting
-- millions of receipts.
--
-- Every row is one writer's (`writer`: a random id a receipt writer takes when it starts; '' for
-- rows counted from receipts written before these tables): replicas writing for the same tenant at
-- the same moment add to rows of their own and never wait on each other's locks. Readers sum them.
--
-- `decision_hours` and `decision_minutes` count decisions by tenant, hour (or minute: start in ms
-- since the epoch, UTC) and verdict: the charts. The lists have a table each, so that neither
-- multiplies the other's names: `denial_counts` counts denials by tool and what settled them
-- (`settled_by` in the platform's words, `settled_by_tenant` as the tenant may read it: a
-- confidential platform rule is "a platform boundary"; both '' for receipts counted from before),
-- `agent_counts` decisions by agent ('' when the call named none) and verdict. The retention job
-- trims all four. The lists' tables are read through covering indexes (a tenant's 30 days from
-- the index alone); none by hour alone: the platform's lists read most rows of the window anyway.
CREATE TABLE decision_hours (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour      BIGINT NOT NULL,
    verdict   TEXT NOT NULL CHECK (verdict IN ('allow', 'deny', 'require_approval')),
    writer    TEXT NOT NULL,
    decisions BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, verdict, writer)
);
CREATE INDEX decision_hours_by_hour ON decision_hours (hour);

CREATE TABLE decision_minutes (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    minute    BIGINT NOT NULL,
    verdict   TEXT NOT NULL CHECK (verdict IN ('allow', 'deny', 'require_approval')),
    writer    TEXT NOT NULL,
    decisions BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, minute, verdict, writer)
);
CREATE INDEX decision_minutes_by_minute ON decision_minutes (minute);

CREATE TABLE denial_counts (
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour              BIGINT NOT NULL,
    tool              TEXT NOT NULL,
    settled_by        TEXT NOT NULL,
    settled_by_tenant TEXT NOT NULL,
    writer            TEXT NOT NULL,
    decisions         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, tool, settled_by, writer)
);
-- Covering: a tenant's 30 days are read from the index alone.
CREATE INDEX denial_counts_read ON denial_counts (tenant_id, hour, tool, settled_by, settled_by_tenant, decisions);

CREATE TABLE agent_counts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hour      BIGINT NOT NULL,
    agent     TEXT NOT NULL,
    verdict   TEXT NOT NULL CHECK (verdict IN ('allow', 'deny', 'require_approval')),
    writer    TEXT NOT NULL,
    decisions BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, agent, verdict, writer)
);
CREATE INDEX agent_counts_read ON agent_counts (tenant_id, hour, agent, verdict, decisions);

-- Receipts written before: counted as they stand.
INSERT INTO decision_hours (tenant_id, hour, verdict, writer, decisions)
SELECT tenant_id, created_at - created_at % 3600000, verdict, '', COUNT(*)
FROM receipts
GROUP BY tenant_id, created_at - created_at % 3600000, verdict;

INSERT INTO decision_minutes (tenant_id, minute, verdict, writer, decisions)
SELECT tenant_id, created_at - created_at % 60000, verdict, '', COUNT(*)
FROM receipts
WHERE created_at >= (SELECT COALESCE(MAX(created_at), 0) FROM receipts) - 7200000
GROUP BY tenant_id, created_at - created_at % 60000, verdict;

INSERT INTO denial_counts (tenant_id, hour, tool, settled_by, settled_by_tenant, writer, decisions)
SELECT tenant_id, created_at - created_at % 3600000, tool, '', '', '', COUNT(*)
FROM receipts
WHERE verdict = 'deny'
GROUP BY tenant_id, created_at - created_at % 3600000, tool;

INSERT INTO agent_counts (tenant_id, hour, agent, verdict, writer, decisions)
SELECT tenant_id, created_at - created_at % 3600000, COALESCE(agent, ''), verdict, '', COUNT(*)
FROM receipts
GROUP BY tenant_id, created_at - created_at % 3600000, COALESCE(agent, ''), verdict;
