-- Every saved version of every policy, immutable: the document, who saved it and when. The history
-- outlives the policy: a deleted policy's versions stay, for the audit and for the record.
CREATE TABLE policy_versions (
    policy_id   TEXT NOT NULL,
    version     BIGINT NOT NULL,
    -- NULL for platform policies; a tenant's versions go with the tenant.
    tenant_id   TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL CHECK (scope IN ('platform', 'tenant', 'agent')),
    agent       TEXT,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The document as the policies table keeps it: canonical JSON without id and version.
    document    TEXT NOT NULL,
    saved_at    BIGINT NOT NULL,
    saved_by    TEXT NOT NULL,
    PRIMARY KEY (policy_id, version)
);
CREATE INDEX policy_versions_by_tenant ON policy_versions (tenant_id, policy_id, version);
-- Policies saved before history was kept start it with their current version.
INSERT INTO policy_versions (policy_id, version, tenant_id, scope, agent, name, description, document, saved_at, saved_by)
SELECT id, version, tenant_id, scope, agent, name, description, document, updated_at, updated_by FROM policies;
