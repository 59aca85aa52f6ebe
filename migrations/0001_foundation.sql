-- Foundation: tenants, console users and browser sessions.
-- Every statement here must run unchanged on SQLite and on PostgreSQL: ids are text, times are
-- BIGINT milliseconds since the Unix epoch, flags are BOOLEAN, and nothing auto-increments.

CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    slug         TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    plan         TEXT NOT NULL,
    policy_quota BIGINT NOT NULL DEFAULT 100 CHECK (policy_quota >= 0),
    created_at   BIGINT NOT NULL
);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('platform_admin', 'support', 'tenant_admin', 'tenant_member')),
    tenant_id      TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    -- JSON array of approver role names (e.g. ["manager","cfo"]) that this user may act as.
    approver_roles TEXT NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL,
    -- Platform-wide users belong to no tenant; tenant users always belong to exactly one.
    CHECK ((role IN ('platform_admin', 'support') AND tenant_id IS NULL)
        OR (role IN ('tenant_admin', 'tenant_member') AND tenant_id IS NOT NULL))
);
CREATE INDEX users_by_tenant ON users (tenant_id);

-- Browser sessions (tower-sessions records). `data` is the JSON of the session's key/value map.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    expiry_date BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expiry_date);
