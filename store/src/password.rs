//! Password hashing with argon2id. Hashing is deliberately slow, so it runs on the blocking pool.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::StoreError;

/// Hashes a password with argon2id and a fresh random salt (PHC string format).
pub async fn hash_password(password: &str) -> Result<String, StoreError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|_| StoreError::PasswordHash)
    })
    .await
    .map_err(|_| StoreError::PasswordHash)?
}

/// Checks a password against a stored PHC hash. A malformed hash never verifies.
pub async fn verify_password(password: &str, phc_hash: &str) -> bool {
    let password = password.to_owned();
    let phc_hash = phc_hash.to_owned();
    tokio::task::spawn_blocking(move || match PasswordHash::new(&phc_hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}
