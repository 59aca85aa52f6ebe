-- API keys bound to agents: a JSON array of agent names in their one spelling; empty when the key
-- may act for any agent (the agent is then the one the request names).
ALTER TABLE api_keys ADD COLUMN agents TEXT NOT NULL DEFAULT '[]';
-- Whether every API key of the tenant must be bound to agents: `optional` or `required`.
ALTER TABLE tenants ADD COLUMN agent_keys TEXT NOT NULL DEFAULT 'optional';
