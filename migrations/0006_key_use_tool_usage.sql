-- When each API key last authenticated a call. Written when the database verifies the key, so it is
-- exact to within the verified-key cache's lifetime (30 s) and costs one write per key per 30 s.
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
-- Who called a tool lately, across tenants: shown before a platform admin switches the tool off.
CREATE INDEX receipts_by_tool_time ON receipts (tool, created_at);
