//! Secrets the replicas share through the database: each is made once, by whichever replica asks
//! first, and never leaves the server.

use rand::RngCore;

use crate::{Store, StoreError};

impl Store {
    /// The secret named `name`: 32 random bytes, hex-encoded, made and stored the first time any
    /// replica asks (two asking at once both read the one that was stored).
    pub async fn server_secret(&self, name: &str) -> Result<String, StoreError> {
        let mut bytes = [0_u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(hex::encode(bytes))
            .execute(&self.pool)
            .await?;
        let value: String = sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(&self.pool).await?;
        Ok(value)
    }
}
