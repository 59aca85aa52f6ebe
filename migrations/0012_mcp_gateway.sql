-- The MCP gateway (issue 15): upstream MCP servers registered as sources, the way their tools are
-- called, the approvals a gateway call used, and the digest of what an upstream answered.

-- An upstream MCP server (Streamable HTTP) behind a source of kind 'mcp'; NULL for documents. The
-- authorisation header Charter sends it is kept as given (it must be presented, so it cannot be
-- hashed) and never shown again.
ALTER TABLE tool_sources ADD COLUMN endpoint TEXT;
ALTER TABLE tool_sources ADD COLUMN upstream_auth TEXT;
-- Put before each upstream tool's name in the catalog (`crm.` makes `search` `crm.search`), so two
-- upstreams' tools of the same name can both be governed.
ALTER TABLE tool_sources ADD COLUMN tool_prefix TEXT NOT NULL DEFAULT '';

-- The tool's name at its upstream (the catalog's name may carry the source's prefix), and the JSON
-- Schema of its input as the upstream described it, which the gateway lists to agents.
ALTER TABLE tools ADD COLUMN upstream_name TEXT;
ALTER TABLE tools ADD COLUMN input_schema TEXT;

-- When the gateway forwarded the approved call an approval was for: an approval is used once.
ALTER TABLE approvals ADD COLUMN consumed_at BIGINT;
CREATE INDEX approvals_by_call ON approvals (tenant_id, args_digest);

-- SHA-256 of the canonical JSON of the upstream's answer to a call the gateway forwarded.
ALTER TABLE receipts ADD COLUMN result_digest TEXT;
