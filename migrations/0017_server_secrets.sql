-- Secrets every replica shares and no outside service holds: made once, by whichever replica
-- asks first (`Store::server_secret`), and read by the rest. `sign_in_keys` keys the hash that
-- names the sign-in throttle's records in Redis, so that whoever can read Redis cannot test an
-- email address or a client address against them.
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
