use thiserror::Error;

/// Everything the store can fail with. Messages are shown to operators, never to end users as-is:
/// the server maps them to its own error type so that database internals do not leak.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("`{field}` {message}")]
    Invalid { field: &'static str, message: String },
    #[error("{what} `{key}` already exists")]
    Conflict { what: &'static str, key: String },
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} `{id}` is at version {actual}, not {expected}: it was changed since you read it")]
    VersionConflict { what: &'static str, id: String, expected: i64, actual: i64 },
    #[error("the tenant's policy quota of {quota} is reached")]
    QuotaExceeded { quota: i64 },
    #[error("the policy collides with its parents: {}", .0.errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    Delegation(charter_policy::DelegationReport),
    #[error("policy `{name}`: {source}")]
    InPolicy { name: String, source: Box<StoreError> },
    #[error("a stored value is corrupt: {0}")]
    Corrupt(String),
    #[error("password hashing failed")]
    PasswordHash,
    #[error("background work failed: {0}")]
    Worker(String),
    #[error("could not prepare the database location: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether the database is out of reach (down, restarting, no connection to be had in time),
    /// rather than a query having failed: the caller may try again shortly.
    pub fn is_unreachable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_)) => true,
            // PostgreSQL shutting down or starting up (admin_shutdown, crash_shutdown,
            // cannot_connect_now), out of connections while replicas reconnect (too_many_connections),
            // or a connection exception (class 08).
            StoreError::Database(sqlx::Error::Database(db)) => {
                let code = db.code();
                matches!(code.as_deref(), Some("57P01" | "57P02" | "57P03" | "53300")) || code.is_some_and(|code| code.starts_with("08"))
            }
            _ => false,
        }
    }

    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> StoreError {
        StoreError::Invalid { field, message: message.into() }
    }
}

/// `value` without surrounding whitespace, or an error naming `field` when it is longer than
/// `max_chars` characters.
pub(crate) fn bounded<'a>(field: &'static str, value: &'a str, max_chars: usize) -> Result<&'a str, StoreError> {
    let value = value.trim();
    if value.chars().count() > max_chars {
        return Err(StoreError::invalid(field, format!("must be at most {max_chars} characters")));
    }
    Ok(value)
}

/// Turns a unique-constraint violation into a readable conflict and leaves other errors alone.
pub(crate) fn conflict_on_unique(err: sqlx::Error, what: &'static str, key: &str) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict { what, key: key.to_owned() },
        _ => StoreError::Database(err),
    }
}
