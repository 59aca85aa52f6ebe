-- Changing policies safely (issue 14). Platform policy edits are a draft (the `policies` table)
-- until published as a numbered release: an immutable snapshot of the platform's policies (their
-- versions, whose documents `policy_versions` keeps) and settings. Each tenant runs the release
-- promoted to all, or the one it is pinned to. Every save of a tenant's policies is a numbered
-- revision of its whole set, which a tenant may pin and a decision may name.

CREATE TABLE platform_releases (
    number       BIGINT PRIMARY KEY,
    -- The platform settings JSON as published (the default behaviour).
    settings     TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    published_at BIGINT NOT NULL,
    published_by TEXT NOT NULL
);

CREATE TABLE platform_release_policies (
    release_number BIGINT NOT NULL REFERENCES platform_releases (number),
    policy_id      TEXT NOT NULL,
    version        BIGINT NOT NULL,
    PRIMARY KEY (release_number, policy_id)
);

-- One row: `latest` numbers releases (touching it serialises publishes); `general` is the release
-- promoted to all, which every tenant without a pin runs. Written by the server at start-up with
-- release 1, the platform's policies as they were when releases began.
CREATE TABLE platform_rollout (
    id      TEXT PRIMARY KEY CHECK (id = 'platform'),
    latest  BIGINT NOT NULL,
    general BIGINT NOT NULL
);

-- The release a tenant runs instead of the general one: `canary` when a release was promoted to it
-- ahead of the rest (it rejoins the general release when that is promoted to all); `pinned` when a
-- platform admin pinned or rolled it back (it stays until unpinned).
ALTER TABLE tenants ADD COLUMN release_pin BIGINT;
ALTER TABLE tenants ADD COLUMN release_pin_kind TEXT CHECK (release_pin_kind IN ('canary', 'pinned'));
-- The tenant's latest revision (touching it serialises saves) and the one it is pinned to, if any.
ALTER TABLE tenants ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
ALTER TABLE tenants ADD COLUMN revision_pin BIGINT;

CREATE TABLE tenant_revisions (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number    BIGINT NOT NULL,
    saved_at  BIGINT NOT NULL,
    saved_by  TEXT NOT NULL,
    -- What the save did, in words: "updated `Finance` to version 3".
    change    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, number)
);

CREATE TABLE tenant_revision_policies (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    revision  BIGINT NOT NULL,
    policy_id TEXT NOT NULL,
    version   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, revision, policy_id)
);

-- Every tenant starts with revision 1: its policies as they are.
INSERT INTO tenant_revisions (tenant_id, number, saved_at, saved_by, change)
SELECT id, 1, created_at, 'system', 'policies as they were when revisions began' FROM tenants;
INSERT INTO tenant_revision_policies (tenant_id, revision, policy_id, version)
SELECT tenant_id, 1, id, version FROM policies WHERE tenant_id IS NOT NULL;

-- What each decision ran: the platform release and the tenant revision, and the request's context
-- as the engine saw it (the server's facts included), so that a candidate can be replayed against
-- it. NULL on receipts written before.
ALTER TABLE receipts ADD COLUMN platform_release BIGINT;
ALTER TABLE receipts ADD COLUMN tenant_revision BIGINT;
ALTER TABLE receipts ADD COLUMN context TEXT;
