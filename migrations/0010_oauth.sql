-- OAuth 2.1 for MCP clients (AI assistants), as the MCP authorisation specification asks: clients
-- register themselves (RFC 7591), a signed-in tenant user approves one on the console's consent
-- page, and the client exchanges the short-lived code (with its PKCE verifier) for tokens bound to
-- that tenant and user. Codes and tokens are stored only as SHA-256 hashes.

-- Registered clients: public (no secret), so a client id is not a credential.
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    -- JSON array of the exact redirect URIs the client registered.
    redirect_uris TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- One approval of a client by a user: what the console lists as a connected assistant and revokes.
CREATE TABLE oauth_grants (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id    TEXT NOT NULL REFERENCES oauth_clients (id),
    -- Space-separated scopes, e.g. `policies:read policies:write`.
    scopes       TEXT NOT NULL,
    -- The MCP server URL the tokens are for (RFC 8707).
    resource     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX oauth_grants_by_tenant ON oauth_grants (tenant_id, created_at);
-- One live connection per user, client and resource: approving again updates it.
CREATE UNIQUE INDEX oauth_grants_live ON oauth_grants (tenant_id, user_id, client_id, resource) WHERE revoked_at IS NULL;

-- Authorisation codes between consent and the token request: single use, one minute. A used code
-- is kept until it expires, so that presenting it again revokes what it was exchanged for.
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    -- The redirect URI the authorisation request named (the token request must repeat it); NULL
    -- when it named none and the client's one registered URI was used.
    redirect_uri   TEXT,
    code_challenge TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);

-- Access tokens (an hour) and refresh tokens (30 days, rotated: each is exchanged once).
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    -- Space-separated: what this token may do, within its connection's scopes (a refresh may ask
    -- for fewer).
    scopes     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- When a refresh token was exchanged; presenting it again revokes the whole connection.
    used_at    BIGINT
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires_at);
