-- What a tenant API key may do (issue 15): a JSON list of scopes, `decide` (ask for decisions, poll
-- the approvals they asked for, call tools through the MCP gateway), `policies:read`,
-- `policies:write` and `records:read` (receipts, approvals and the audit log). NULL for keys made
-- before scopes: every scope, as they had.
ALTER TABLE api_keys ADD COLUMN scopes TEXT;
