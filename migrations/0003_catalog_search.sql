-- The tool catalog (Tools & Sources) and a searchable digest of each policy's tools.
-- Same dialect rules as 0001: text ids, BIGINT millisecond times.

-- The tool patterns of a policy's rules, lower-cased, one per line with a newline before
-- and after each,
-- so the platform view can filter by tool in the database. Written with every policy change; rows
-- from before this migration are filled in at startup.
ALTER TABLE policies ADD COLUMN tool_index TEXT NOT NULL DEFAULT '';

-- Where tools come from: a pasted or uploaded OpenAPI 3 document, or an MCP `tools/list` answer.
CREATE TABLE tool_sources (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL CHECK (kind IN ('openapi', 'mcp')),
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);

-- One row per tool. A tool name is unique across sources: it is what policies and agents use.
-- Once the catalog holds any tool, only its enabled tools may be called (the platform settings'
-- enabled set is rewritten from this table in the same transaction as every change here).
CREATE TABLE tools (
    id          TEXT PRIMARY KEY,
    source_id   TEXT NOT NULL REFERENCES tool_sources (id) ON DELETE CASCADE,
    name        TEXT NOT NULL UNIQUE,
    method      TEXT,
    path        TEXT,
    description TEXT NOT NULL DEFAULT '',
    enabled     BIGINT NOT NULL DEFAULT 1,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX tools_by_source ON tools (source_id, name);
