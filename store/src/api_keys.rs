//! Tenant API keys. A key reads `chk_<prefix>_<secret>`: the prefix is public (lists show it), the
//! whole key is stored only as a SHA-256 hash. Keys are 256 bits of randomness, so a fast hash is
//! the right tool here (argon2 is for guessable passwords) and keeps every decision cheap.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::{now_ms, Actor, ApiKeyId, ApiKeyInfo, BoundAgents, KeyScopes, Store, StoreError, TenantId};

/// A verified key: whose it is, the agents it acts for (none when it is not bound) and what it
/// may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyAuth {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub prefix: String,
    pub agents: BoundAgents,
    pub scopes: KeyScopes,
}

#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub info: ApiKeyInfo,
    /// The whole key. Shown once, never stored.
    pub secret: String,
}

/// How long a verified key is trusted without asking the database again. Revoking through this
/// process takes effect at once; another replica notices within this time.
const VERIFIED_KEY_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    verified: RwLock<HashMap<String, (ApiKeyAuth, Instant)>>,
}

impl KeyCache {
    /// Forgets one key, revoked here or on another replica.
    pub(crate) fn forget(&self, key_id: &ApiKeyId) {
        if let Ok(mut verified) = self.verified.write() {
            verified.retain(|_, (auth, _)| auth.key_id != *key_id);
        }
    }

    pub(crate) fn forget_all(&self) {
        if let Ok(mut verified) = self.verified.write() {
            verified.clear();
        }
    }
}

pub(crate) fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Compares two equal-length strings without an early exit, so timing does not reveal a prefix match.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const COLUMNS: &str = "id, tenant_id, name, prefix, agents, created_at, created_by, revoked_at, last_used_at, scopes";

impl Store {
    /// A new key of the tenant, bound to `agents` (names already in their one spelling) or, when
    /// empty, to none, that may do what `scopes` allow.
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        name: &str,
        agents: BoundAgents,
        scopes: KeyScopes,
    ) -> Result<NewApiKey, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 100 {
            return Err(StoreError::invalid("name", "must be 1-100 characters"));
        }
        if scopes.is_empty() {
            return Err(StoreError::invalid("scopes", "must name at least one of decide, policies:read, policies:write, records:read"));
        }
        if self.tenant_by_id(tenant_id).await?.is_none() {
            return Err(StoreError::NotFound { what: "tenant", id: tenant_id.to_string() });
        }
        let prefix = Alphanumeric.sample_string(&mut rand::thread_rng(), 10).to_lowercase();
        let mut secret_bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret_bytes);
        let secret = format!("chk_{prefix}_{}", hex::encode(secret_bytes));
        let info = ApiKeyInfo {
            id: ApiKeyId::new(uuid::Uuid::now_v7().to_string()),
            tenant_id: tenant_id.clone(),
            name: name.to_owned(),
            prefix,
            agents,
            created_at: now_ms(),
            created_by: actor.id.clone(),
            revoked_at: None,
            last_used_at: None,
            scopes,
        };
        let mut tx = self.pool.begin().await?;
        let agents = serde_json::to_string(&info.agents).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let scopes = serde_json::to_string(&info.scopes).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, prefix, agents, secret_hash, created_at, created_by, scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
            .bind(&info.id)
            .bind(&info.tenant_id)
            .bind(&info.name)
            .bind(&info.prefix)
            .bind(agents)
            .bind(hash_key(&secret))
            .bind(info.created_at)
            .bind(&info.created_by)
            .bind(scopes)
            .execute(&mut *tx)
            .await?;
        let target = format!("api_key:{}", info.prefix);
        record(
            &mut tx,
            actor,
            Change { tenant_id: Some(tenant_id), action: "api_key.create", target: &target, before: None, after: serde_json::to_string(&info).ok() },
        )
        .await?;
        tx.commit().await?;
        Ok(NewApiKey { info, secret })
    }

    pub async fn list_api_keys(&self, tenant_id: &TenantId) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id");
        Ok(sqlx::query_as(&sql).bind(tenant_id).fetch_all(&self.pool).await?)
    }

    /// Revokes one of the tenant's keys; another tenant's key id is not found.
    pub async fn revoke_api_key(&self, actor: &Actor, tenant_id: &TenantId, key_id: &ApiKeyId) -> Result<ApiKeyInfo, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Write first: a concurrent revocation waits here and then sees this one's result.
        sqlx::query("UPDATE api_keys SET name = name WHERE id = $1 AND tenant_id = $2").bind(key_id).bind(tenant_id).execute(&mut *tx).await?;
        let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1 AND tenant_id = $2");
        let before: Option<ApiKeyInfo> = sqlx::query_as(&sql).bind(key_id).bind(tenant_id).fetch_optional(&mut *tx).await?;
        let before = before.ok_or_else(|| StoreError::NotFound { what: "api key", id: key_id.to_string() })?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let after = ApiKeyInfo { revoked_at: Some(now_ms()), ..before.clone() };
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL")
            .bind(after.revoked_at)
            .bind(key_id)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        let target = format!("api_key:{}", before.prefix);
        record(
            &mut tx,
            actor,
            Change {
                tenant_id: Some(tenant_id),
                action: "api_key.revoke",
                target: &target,
                before: serde_json::to_string(&before).ok(),
                after: serde_json::to_string(&after).ok(),
            },
        )
        .await?;
        self.commit_change(tx, Invalidation::KeyRevoked(key_id.clone())).await?;
        Ok(after)
    }

    /// Verifies a presented key. `None` for anything that is not a live key. A key the database
    /// verifies has its last use recorded.
    pub async fn authenticate_api_key(&self, presented: &str) -> Result<Option<ApiKeyAuth>, StoreError> {
        let hash = hash_key(presented);
        if let Some((auth, at)) = self.api_keys.verified.read().ok().and_then(|v| v.get(&hash).cloned()) {
            if at.elapsed() < VERIFIED_KEY_TTL {
                return Ok(Some(auth));
            }
        }
        let Some(prefix) = presented.strip_prefix("chk_").and_then(|rest| rest.split_once('_')).map(|(prefix, _)| prefix) else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT id, tenant_id, agents, secret_hash, scopes FROM api_keys WHERE prefix = $1 AND revoked_at IS NULL")
            .bind(prefix)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let stored_hash: String = row.try_get("secret_hash")?;
        if !constant_time_eq(&stored_hash, &hash) {
            return Ok(None);
        }
        let agents: String = row.try_get("agents")?;
        let agents = BoundAgents::try_from(agents).map_err(|err| StoreError::Corrupt(format!("api key `{prefix}` agents: {err}")))?;
        let scopes: Option<String> = row.try_get("scopes")?;
        let scopes = KeyScopes::try_from(scopes).map_err(|err| StoreError::Corrupt(format!("api key `{prefix}` scopes: {err}")))?;
        let auth = ApiKeyAuth { key_id: row.try_get("id")?, tenant_id: row.try_get("tenant_id")?, prefix: prefix.to_owned(), agents, scopes };
        // Verified by the database at most once per cache lifetime, so this write is too.
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now_ms()).bind(&auth.key_id).execute(&self.pool).await?;
        if let Ok(mut verified) = self.api_keys.verified.write() {
            verified.insert(hash, (auth.clone(), Instant::now()));
        }
        Ok(Some(auth))
    }
}

pub(crate) type SharedKeyCache = Arc<KeyCache>;
