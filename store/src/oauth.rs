//! OAuth 2.1 for MCP clients: registered clients, connections (a user's approval of a client),
//! single-use authorisation codes, and access and refresh tokens. Codes and tokens are 256 bits
//! of randomness stored only as SHA-256 hashes, like API keys. The protocol's checks (PKCE,
//! redirect URIs, scopes) are the core's; this module keeps the records and their lifetimes.

use rand::RngCore;
use sqlx::{AnyConnection, Row};

use crate::api_keys::hash_key;
use crate::audit::{record, Change};
use crate::error::conflict_on_unique;
use crate::{now_ms, Actor, Connection, ConnectionId, OAuthClientId, ScopeSet, Store, StoreError, TenantId, UserId};

/// An authorisation code is exchanged within a minute of consent, or never.
pub const CODE_TTL_MS: i64 = 60 * 1000;
/// An access token lasts an hour; the client refreshes it.
pub const ACCESS_TOKEN_TTL_MS: i64 = 60 * 60 * 1000;
/// A refresh token lasts 30 days and is exchanged once.
pub const REFRESH_TOKEN_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// A client that no user connected within a day of registering is forgotten.
const UNUSED_CLIENT_TTL_MS: i64 = 24 * 60 * 60 * 1000;
/// `last_used_at` is written at most this often per connection.
const LAST_USED_RESOLUTION_MS: i64 = 60 * 1000;

/// A client that registered itself (RFC 7591). Public: it has no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthClient {
    pub id: OAuthClientId,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub created_at: i64,
}

/// What a user approved on the consent page, for [`Store::approve_connection`].
#[derive(Clone, Debug)]
pub struct NewConnection {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub client_id: OAuthClientId,
    pub scopes: ScopeSet,
    /// The MCP server URL the tokens will be for.
    pub resource: String,
    /// The redirect URI the authorisation request named, which the token request must repeat;
    /// `None` when it named none (the client's one registered URI was used).
    pub named_redirect_uri: Option<String>,
    /// The PKCE challenge (S256) the client sent with its authorisation request.
    pub code_challenge: String,
}

/// A connection as a token or code resolves it.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AccessGrant {
    pub connection_id: ConnectionId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub client_id: OAuthClientId,
    pub client_name: String,
    #[sqlx(try_from = "String")]
    pub scopes: ScopeSet,
    pub resource: String,
}

/// A redeemed authorisation code: what it was issued for.
#[derive(Clone, Debug)]
pub struct AuthorizationCode {
    pub grant: AccessGrant,
    /// The redirect URI the authorisation request named, if it named one.
    pub named_redirect_uri: Option<String>,
    pub code_challenge: String,
    pub expires_at: i64,
}

/// What presenting an authorisation code came to.
#[derive(Clone, Debug)]
pub enum Redemption {
    /// Its first use: it is spent now, whatever the caller concludes.
    Fresh(Box<AuthorizationCode>),
    /// Used before: someone else holds it too, so the connection it made was revoked.
    Replayed,
    /// Not a code of a live connection, or never one at all.
    Unknown,
}

/// A fresh pair of tokens. The secrets are in this answer and nowhere else.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in_ms: i64,
    pub scopes: ScopeSet,
}

/// Why a refresh token was not exchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Not a refresh token of a live connection of this client (or never one at all).
    Unknown,
    Expired,
    /// Exchanged before: someone else holds it too, so the whole connection was revoked.
    Reused,
    /// More than the token carries was asked for: it carries these.
    WiderScope(ScopeSet),
}

const GRANT_COLUMNS: &str = "g.id AS connection_id, g.tenant_id, g.user_id, g.client_id, c.name AS client_name, g.scopes, g.resource";
const CONNECTION_COLUMNS: &str =
    "g.id, g.tenant_id, g.user_id, u.username, g.client_id, c.name AS client_name, g.scopes, g.created_at, g.last_used_at, g.revoked_at";

fn secret(kind: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{kind}_{}", hex::encode(bytes))
}

/// The prefix of an OAuth access token, which tells it apart from an API key (`chk_`).
pub const ACCESS_TOKEN_PREFIX: &str = "chat_";

impl Store {
    /// Registers a client. The caller has validated its name and redirect URIs.
    pub async fn register_oauth_client(&self, name: &str, redirect_uris: &[String]) -> Result<OAuthClient, StoreError> {
        let client = OAuthClient {
            id: OAuthClientId::new(format!("mcp_{}", uuid::Uuid::now_v7().simple())),
            name: name.to_owned(),
            redirect_uris: redirect_uris.to_vec(),
            created_at: now_ms(),
        };
        let uris = serde_json::to_string(&client.redirect_uris).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        sqlx::query("INSERT INTO oauth_clients (id, name, redirect_uris, created_at) VALUES ($1, $2, $3, $4)")
            .bind(&client.id)
            .bind(&client.name)
            .bind(uris)
            .bind(client.created_at)
            .execute(&self.pool)
            .await?;
        Ok(client)
    }

    /// How many clients registered at or after `since_ms`.
    pub async fn clients_registered_since(&self, since_ms: i64) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM oauth_clients WHERE created_at >= $1").bind(since_ms).fetch_one(&self.pool).await?)
    }

    pub async fn oauth_client(&self, id: &str) -> Result<Option<OAuthClient>, StoreError> {
        let row = sqlx::query("SELECT id, name, redirect_uris, created_at FROM oauth_clients WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        let uris: String = row.try_get("redirect_uris")?;
        Ok(Some(OAuthClient {
            id: OAuthClientId::new(row.try_get::<String, _>("id")?),
            name: row.try_get("name")?,
            redirect_uris: serde_json::from_str(&uris).map_err(|err| StoreError::Corrupt(err.to_string()))?,
            created_at: row.try_get("created_at")?,
        }))
    }

    /// Records a user's approval of a client and returns the authorisation code for it. A user who
    /// approves the same client again keeps one connection, with the scopes of this approval.
    /// Audited as `assistant.connect`.
    pub async fn approve_connection(&self, actor: &Actor, new: &NewConnection) -> Result<(Connection, String), StoreError> {
        match self.try_approve_connection(actor, new).await {
            // Two approvals at once: the other made the connection; this one updates it.
            Err(StoreError::Conflict { .. }) => self.try_approve_connection(actor, new).await,
            other => other,
        }
    }

    async fn try_approve_connection(&self, actor: &Actor, new: &NewConnection) -> Result<(Connection, String), StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Write first, so a concurrent approval waits here (and SQLite takes its write lock now).
        let live = "user_id = $2 AND client_id = $3 AND tenant_id = $4 AND resource = $5 AND revoked_at IS NULL";
        let updated = sqlx::query(&format!("UPDATE oauth_grants SET scopes = $1 WHERE {live}"))
            .bind(new.scopes.to_string())
            .bind(&new.user_id)
            .bind(&new.client_id)
            .bind(&new.tenant_id)
            .bind(&new.resource)
            .execute(&mut *tx)
            .await?;
        let (id, before) = if updated.rows_affected() > 0 {
            let id: String = sqlx::query_scalar(&format!("SELECT id FROM oauth_grants WHERE scopes = $1 AND {live}"))
                .bind(new.scopes.to_string())
                .bind(&new.user_id)
                .bind(&new.client_id)
                .bind(&new.tenant_id)
                .bind(&new.resource)
                .fetch_one(&mut *tx)
                .await?;
            let id = ConnectionId::new(id);
            let before = connection_in(&mut tx, &new.tenant_id, &id).await?;
            (id, before)
        } else {
            let id = ConnectionId::new(uuid::Uuid::now_v7().to_string());
            sqlx::query("INSERT INTO oauth_grants (id, tenant_id, user_id, client_id, scopes, resource, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&id)
                .bind(&new.tenant_id)
                .bind(&new.user_id)
                .bind(&new.client_id)
                .bind(new.scopes.to_string())
                .bind(&new.resource)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|err| conflict_on_unique(err, "connection", new.client_id.as_str()))?;
            (id, None)
        };
        let code = secret("chac");
        sqlx::query("INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash_key(&code))
            .bind(&id)
            .bind(&new.named_redirect_uri)
            .bind(&new.code_challenge)
            .bind(now + CODE_TTL_MS)
            .execute(&mut *tx)
            .await?;
        let connection =
            connection_in(&mut tx, &new.tenant_id, &id).await?.ok_or_else(|| StoreError::Corrupt("a connection vanished while it was made".into()))?;
        let target = format!("assistant:{}", connection.client_name);
        let change = Change {
            tenant_id: Some(&new.tenant_id),
            action: "assistant.connect",
            target: &target,
            before: before.as_ref().and_then(|before| serde_json::to_string(before).ok()),
            after: serde_json::to_string(&connection).ok(),
        };
        record(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok((connection, code))
    }

    /// Redeems an authorisation code: spent from now on, whatever the caller concludes. A spent
    /// code presented again revokes the connection it was exchanged for (someone else has it).
    pub async fn redeem_authorization_code(&self, code: &str) -> Result<Redemption, StoreError> {
        let hash = hash_key(code);
        let mut tx = self.pool.begin().await?;
        // Write first: two redemptions at once take turns, and only one finds the code unspent.
        let spent =
            sqlx::query("UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL").bind(now_ms()).bind(&hash).execute(&mut *tx).await?;
        let row = sqlx::query("SELECT grant_id, redirect_uri, code_challenge, expires_at FROM oauth_codes WHERE code_hash = $1")
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else { return Ok(Redemption::Unknown) };
        let grant_id = ConnectionId::new(row.try_get::<String, _>("grant_id")?);
        let sql = format!("SELECT {GRANT_COLUMNS} FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id WHERE g.id = $1 AND g.revoked_at IS NULL");
        let grant: Option<AccessGrant> = sqlx::query_as(&sql).bind(&grant_id).fetch_optional(&mut *tx).await?;
        let Some(grant) = grant else { return Ok(Redemption::Unknown) };
        if spent.rows_affected() == 0 {
            revoke_with_audit(&mut tx, &grant, "an authorisation code was presented again").await?;
            tx.commit().await?;
            return Ok(Redemption::Replayed);
        }
        let code = AuthorizationCode {
            grant,
            named_redirect_uri: row.try_get("redirect_uri")?,
            code_challenge: row.try_get("code_challenge")?,
            expires_at: row.try_get("expires_at")?,
        };
        tx.commit().await?;
        Ok(Redemption::Fresh(Box::new(code)))
    }

    /// A new access and refresh token for a live connection, carrying its scopes.
    pub async fn issue_tokens(&self, grant: &AccessGrant) -> Result<IssuedTokens, StoreError> {
        let mut tx = self.pool.begin().await?;
        let tokens = issue_in(&mut tx, grant, &grant.scopes).await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// Exchanges a refresh token of `client_id` for a new pair carrying `asked` (its own scopes
    /// when `None`); the old one is spent. A spent token presented again means two parties hold
    /// it: the connection is revoked.
    pub async fn refresh_tokens(
        &self,
        refresh_token: &str,
        client_id: &str,
        asked: Option<&ScopeSet>,
    ) -> Result<Result<(AccessGrant, IssuedTokens), TokenRefusal>, StoreError> {
        let now = now_ms();
        let hash = hash_key(refresh_token);
        let mut tx = self.pool.begin().await?;
        // Write first: two exchanges at once take turns (SQLite's write lock, PostgreSQL's row
        // lock), and only one finds the token unspent. Anything refused below rolls it back.
        let spent = sqlx::query("UPDATE oauth_tokens SET used_at = $1 WHERE token_hash = $2 AND kind = 'refresh' AND used_at IS NULL")
            .bind(now)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        let sql = format!(
            "SELECT {GRANT_COLUMNS}, t.expires_at, t.scopes AS token_scopes FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN oauth_clients c ON c.id = g.client_id
             WHERE t.token_hash = $1 AND t.kind = 'refresh' AND g.revoked_at IS NULL"
        );
        let Some(row) = sqlx::query(&sql).bind(&hash).fetch_optional(&mut *tx).await? else { return Ok(Err(TokenRefusal::Unknown)) };
        let grant = <AccessGrant as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row(&row)?;
        if grant.client_id != *client_id {
            return Ok(Err(TokenRefusal::Unknown));
        }
        if spent.rows_affected() != 1 {
            revoke_with_audit(&mut tx, &grant, "a spent refresh token was presented again").await?;
            tx.commit().await?;
            return Ok(Err(TokenRefusal::Reused));
        }
        if row.try_get::<i64, _>("expires_at")? <= now {
            return Ok(Err(TokenRefusal::Expired));
        }
        let carried = token_scopes(&row, &grant)?;
        let scopes = match asked {
            Some(asked) if asked.iter().any(|scope| !carried.contains(scope)) => return Ok(Err(TokenRefusal::WiderScope(carried))),
            Some(asked) => asked.clone(),
            None => carried,
        };
        let tokens = issue_in(&mut tx, &grant, &scopes).await?;
        tx.commit().await?;
        Ok(Ok((grant, tokens)))
    }

    /// The live connection an unexpired access token belongs to, noting its use.
    pub async fn verify_access_token(&self, token: &str) -> Result<Option<AccessGrant>, StoreError> {
        let now = now_ms();
        let sql = format!(
            "SELECT {GRANT_COLUMNS}, t.scopes AS token_scopes FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN oauth_clients c ON c.id = g.client_id
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.expires_at > $2 AND g.revoked_at IS NULL"
        );
        let row = sqlx::query(&sql).bind(hash_key(token)).bind(now).fetch_optional(&self.pool).await?;
        let grant = match row {
            Some(row) => {
                let grant = <AccessGrant as sqlx::FromRow<'_, sqlx::any::AnyRow>>::from_row(&row)?;
                // What this token carries, within what the connection holds now.
                Some(AccessGrant { scopes: token_scopes(&row, &grant)?, ..grant })
            }
            None => None,
        };
        if let Some(grant) = &grant {
            sqlx::query("UPDATE oauth_grants SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
                .bind(now)
                .bind(&grant.connection_id)
                .bind(now - LAST_USED_RESOLUTION_MS)
                .execute(&self.pool)
                .await?;
        }
        Ok(grant)
    }

    /// The live connection any of its tokens (access or refresh, spent or not) belongs to.
    pub async fn connection_of_token(&self, token: &str) -> Result<Option<AccessGrant>, StoreError> {
        let sql = format!(
            "SELECT {GRANT_COLUMNS} FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN oauth_clients c ON c.id = g.client_id
             WHERE t.token_hash = $1 AND g.revoked_at IS NULL"
        );
        Ok(sqlx::query_as(&sql).bind(hash_key(token)).fetch_optional(&self.pool).await?)
    }

    /// The tenant's live connections, newest first.
    pub async fn list_connections(&self, tenant_id: &TenantId) -> Result<Vec<Connection>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id JOIN users u ON u.id = g.user_id
             WHERE g.tenant_id = $1 AND g.revoked_at IS NULL ORDER BY g.created_at DESC, g.id"
        );
        Ok(sqlx::query_as(&sql).bind(tenant_id).fetch_all(&self.pool).await?)
    }

    pub async fn connection(&self, tenant_id: &TenantId, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        connection_in(&mut conn, tenant_id, id).await
    }

    /// Revokes one of the tenant's connections and every token it holds; another tenant's id is
    /// not found. Audited as `assistant.revoke`.
    pub async fn revoke_connection(&self, actor: &Actor, tenant_id: &TenantId, id: &ConnectionId) -> Result<Connection, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Write first: a concurrent revocation waits here and then finds the connection gone.
        sqlx::query("UPDATE oauth_grants SET scopes = scopes WHERE id = $1 AND tenant_id = $2").bind(id).bind(tenant_id).execute(&mut *tx).await?;
        let before = connection_in(&mut tx, tenant_id, id).await?.filter(|connection| connection.revoked_at.is_none());
        let before = before.ok_or_else(|| StoreError::NotFound { what: "connection", id: id.to_string() })?;
        revoke_in(&mut tx, id, now).await?;
        let after = Connection { revoked_at: Some(now), ..before.clone() };
        let target = format!("assistant:{}", before.client_name);
        let change = Change {
            tenant_id: Some(tenant_id),
            action: "assistant.revoke",
            target: &target,
            before: serde_json::to_string(&before).ok(),
            after: serde_json::to_string(&after).ok(),
        };
        record(&mut tx, actor, change).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Forgets expired codes and tokens, and clients nobody connected within a day. Returns how
    /// many records went.
    pub async fn purge_expired_oauth(&self, now_ms: i64) -> Result<u64, StoreError> {
        let codes = sqlx::query("DELETE FROM oauth_codes WHERE expires_at <= $1").bind(now_ms).execute(&self.pool).await?.rows_affected();
        let tokens = sqlx::query("DELETE FROM oauth_tokens WHERE expires_at <= $1").bind(now_ms).execute(&self.pool).await?.rows_affected();
        let clients =
            sqlx::query("DELETE FROM oauth_clients WHERE created_at <= $1 AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.id)")
                .bind(now_ms - UNUSED_CLIENT_TTL_MS)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(codes + tokens + clients)
    }
}

async fn connection_in(conn: &mut AnyConnection, tenant_id: &TenantId, id: &ConnectionId) -> Result<Option<Connection>, StoreError> {
    let sql = format!(
        "SELECT {CONNECTION_COLUMNS} FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id JOIN users u ON u.id = g.user_id
         WHERE g.id = $1 AND g.tenant_id = $2"
    );
    Ok(sqlx::query_as(&sql).bind(id).bind(tenant_id).fetch_optional(conn).await?)
}

async fn issue_in(conn: &mut AnyConnection, grant: &AccessGrant, scopes: &ScopeSet) -> Result<IssuedTokens, StoreError> {
    let now = now_ms();
    let tokens = IssuedTokens {
        access_token: secret(ACCESS_TOKEN_PREFIX.trim_end_matches('_')),
        refresh_token: secret("chrt"),
        expires_in_ms: ACCESS_TOKEN_TTL_MS,
        scopes: scopes.clone(),
    };
    for (token, kind, ttl) in [(&tokens.access_token, "access", ACCESS_TOKEN_TTL_MS), (&tokens.refresh_token, "refresh", REFRESH_TOKEN_TTL_MS)] {
        sqlx::query("INSERT INTO oauth_tokens (token_hash, grant_id, kind, scopes, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash_key(token))
            .bind(&grant.connection_id)
            .bind(kind)
            .bind(scopes.to_string())
            .bind(now + ttl)
            .execute(&mut *conn)
            .await?;
    }
    Ok(tokens)
}

async fn revoke_in(conn: &mut AnyConnection, id: &ConnectionId, now: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE oauth_grants SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now).bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM oauth_tokens WHERE grant_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM oauth_codes WHERE grant_id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// What a token row carries, within what its connection holds now (approving again with fewer
/// scopes narrows the tokens already out).
fn token_scopes(row: &sqlx::any::AnyRow, grant: &AccessGrant) -> Result<ScopeSet, StoreError> {
    let text: String = row.try_get("token_scopes")?;
    let carried = ScopeSet::parse(&text).map_err(|unknown| StoreError::Corrupt(format!("a token carries the unknown scope `{unknown}`")))?;
    Ok(carried.intersection(&grant.scopes))
}

/// Revokes a connection because one of its credentials turned up twice, with its audit entry.
async fn revoke_with_audit(conn: &mut AnyConnection, grant: &AccessGrant, why: &str) -> Result<(), StoreError> {
    let before = connection_in(&mut *conn, &grant.tenant_id, &grant.connection_id).await?;
    let now = now_ms();
    revoke_in(&mut *conn, &grant.connection_id, now).await?;
    tracing::warn!(connection = %grant.connection_id, client = %grant.client_name, "{why}; the connection is revoked");
    let actor = Actor { id: format!("system ({why})"), kind: crate::ActorKind::System, tenant_id: Some(grant.tenant_id.clone()) };
    let target = format!("assistant:{}", grant.client_name);
    let after = before.clone().map(|connection| Connection { revoked_at: Some(now), ..connection });
    let change = Change {
        tenant_id: Some(&grant.tenant_id),
        action: "assistant.revoke",
        target: &target,
        before: before.as_ref().and_then(|before| serde_json::to_string(before).ok()),
        after: after.as_ref().and_then(|after| serde_json::to_string(after).ok()),
    };
    record(conn, &actor, change).await
}
