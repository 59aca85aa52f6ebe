-- Tool exposure per tenant (issue 15). The platform exposes each tool to every tenant (NULL) or to
-- chosen ones: JSON {"tenants": [tenant ids], "plans": [plan names]}, a tenant getting the tool
-- when it is named or on a named plan. A tenant's admin may switch off, for their tenant, a tool
-- the platform exposes; never switch on one it does not.
ALTER TABLE tools ADD COLUMN exposed_to TEXT;

-- The platform's own sources: Charter's policy tools, which assistants use over MCP. They cannot
-- be deleted, and their tools are not tools agents call, so they are left out of the decision
-- path's enabled set.
ALTER TABLE tool_sources ADD COLUMN builtin BIGINT NOT NULL DEFAULT 0;

CREATE TABLE tenant_tool_switches (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    tool_name   TEXT NOT NULL,
    switched_at BIGINT NOT NULL,
    switched_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, tool_name)
);
