-- Policies, the audit trail, API keys, receipts and approvals.
-- Same dialect rules as 0001: text ids, BIGINT millisecond times, JSON kept as TEXT.

-- The platform's own settings; exactly one row, id 'platform'.
CREATE TABLE platform_settings (
    id         TEXT PRIMARY KEY CHECK (id = 'platform'),
    -- The full PlatformSettings JSON of the engine (default behaviour, enabled tools).
    settings   TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE policies (
    id          TEXT PRIMARY KEY,
    -- NULL for platform policies; every tenant and agent policy belongs to exactly one tenant.
    tenant_id   TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    scope       TEXT NOT NULL CHECK (scope IN ('platform', 'tenant', 'agent')),
    agent       TEXT,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    version     BIGINT NOT NULL,
    -- The policy document as canonical JSON (the engine's serialisation), without id and version.
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    updated_by  TEXT NOT NULL,
    CHECK ((scope = 'platform' AND tenant_id IS NULL AND agent IS NULL)
        OR (scope = 'tenant' AND tenant_id IS NOT NULL AND agent IS NULL)
        OR (scope = 'agent' AND tenant_id IS NOT NULL AND agent IS NOT NULL))
);
-- Names are unique within a tenant (and among platform policies).
CREATE UNIQUE INDEX policies_unique_name ON policies (COALESCE(tenant_id, ''), name);
CREATE INDEX policies_by_tenant ON policies (tenant_id, scope);

-- Append-only: rows are inserted in the same transaction as the change they describe and never
-- updated or deleted by the application.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT,
    actor       TEXT NOT NULL,
    actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'system')),
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX audit_by_tenant_time ON audit_log (tenant_id, created_at, id);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    -- The public part of the key, shown in lists; the secret part is stored only as a SHA-256 hash.
    prefix      TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id);

CREATE TABLE receipts (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    api_key_id      TEXT,
    agent           TEXT,
    principal       TEXT NOT NULL,
    tool            TEXT NOT NULL,
    args            TEXT NOT NULL,
    args_digest     TEXT NOT NULL,
    verdict         TEXT NOT NULL CHECK (verdict IN ('allow', 'deny', 'require_approval')),
    reason          TEXT NOT NULL,
    decision        TEXT NOT NULL,
    policy_versions TEXT NOT NULL,
    approval_id     TEXT,
    latency_us      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX receipts_by_tenant_time ON receipts (tenant_id, created_at, id);

CREATE TABLE approvals (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    receipt_id      TEXT NOT NULL,
    agent           TEXT,
    principal       TEXT NOT NULL,
    tool            TEXT NOT NULL,
    args            TEXT NOT NULL,
    args_digest     TEXT NOT NULL,
    approvers       TEXT NOT NULL,
    matched         TEXT NOT NULL,
    policy_versions TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    resolved_at     BIGINT,
    resolved_by     TEXT,
    comment         TEXT,
    -- JSON array of {role, user, approve, comment, at}: one vote per approver role asked.
    votes           TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX approvals_by_tenant_status ON approvals (tenant_id, status, requested_at);
