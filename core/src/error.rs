//! The one error type of the core. Every edge maps it to its own answer (an HTTP status and JSON
//! error, a console message), so a conflict is a conflict everywhere. Messages are lowercase
//! sentences that may be shown to the caller; internal failures are logged here and say nothing.

use charter_policy::{DelegationReport, ParseError};
use charter_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CoreError {
    /// No valid credential: a missing or revoked key, no session.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The caller is known but their role does not allow this.
    #[error("{0}")]
    Forbidden(String),
    /// Support staff may look at everything and change nothing.
    #[error("support accounts are read-only")]
    ReadOnly,
    /// Not there, or not the caller's to see: the two are one answer, so ids do not leak.
    #[error("{}", not_found(what, id))]
    NotFound { what: &'static str, id: String },
    /// Platform staff act on a tenant they name; this call named none.
    #[error("platform staff name the tenant, e.g. /api/v1/tenants/{{slug}}/...")]
    TenantRequired,
    /// A field of the input is unusable; nothing was written.
    #[error("`{field}` {message}")]
    Invalid { field: String, message: String },
    /// A policy document that does not parse, with its line and column.
    #[error("{0}")]
    InvalidPolicy(ParseError),
    #[error("{what} `{key}` already exists")]
    Conflict { what: &'static str, key: String },
    #[error("{what} `{id}` is at version {actual}, not {expected}: it was changed since you read it")]
    VersionConflict { what: &'static str, id: String, expected: i64, actual: i64 },
    #[error("the tenant's policy quota of {quota} is reached")]
    QuotaExceeded { quota: i64 },
    /// A tenant or agent rule that would loosen what a parent scope sets.
    #[error("the policy collides with its parents: {}", .0.errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; "))]
    Delegation(DelegationReport),
    /// One policy of several (an import) failed; `source` says how.
    #[error("policy `{name}`: {source}")]
    InPolicy { name: String, source: Box<CoreError> },
    /// A decision whose receipt could not be made durable: nothing was decided.
    #[error("the decision could not be recorded; nothing was decided, try again")]
    Unavailable,
    /// The database did not answer (down, restarting, or out of connections for too long).
    #[error("the database cannot be reached; nothing was decided or changed, try again shortly")]
    DatabaseUnavailable,
    /// An upstream MCP server behind the gateway failed, refused or did not answer in time; the
    /// message names it and says which.
    #[error("{0}")]
    Upstream(String),
    #[error("something went wrong on our side; it has been logged")]
    Internal,
}

fn not_found(what: &str, id: &str) -> String {
    if id.is_empty() {
        format!("no {what} here")
    } else {
        format!("{what} `{id}` not found")
    }
}

impl CoreError {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> CoreError {
        CoreError::Invalid { field: field.to_owned(), message: message.into() }
    }

    pub(crate) fn forbidden(message: &str) -> CoreError {
        CoreError::Forbidden(message.to_owned())
    }

    /// Logs an unexpected failure and answers with nothing the caller could misuse.
    pub(crate) fn internal(context: &str, err: impl std::fmt::Display) -> CoreError {
        tracing::error!(error = %err, "{context}");
        CoreError::Internal
    }
}

impl From<StoreError> for CoreError {
    fn from(err: StoreError) -> CoreError {
        match err {
            StoreError::Invalid { field, message } => CoreError::Invalid { field: field.to_owned(), message },
            StoreError::NotFound { what, id } => CoreError::NotFound { what, id },
            StoreError::Conflict { what, key } => CoreError::Conflict { what, key },
            StoreError::VersionConflict { what, id, expected, actual } => CoreError::VersionConflict { what, id, expected, actual },
            StoreError::QuotaExceeded { quota } => CoreError::QuotaExceeded { quota },
            StoreError::Delegation(report) => CoreError::Delegation(report),
            StoreError::InPolicy { name, source } => CoreError::InPolicy { name, source: Box::new(CoreError::from(*source)) },
            err if err.is_unreachable() => {
                tracing::warn!(error = %err, "the database cannot be reached");
                CoreError::DatabaseUnavailable
            }
            other => CoreError::internal("store failure", other),
        }
    }
}

impl From<ParseError> for CoreError {
    fn from(err: ParseError) -> CoreError {
        CoreError::InvalidPolicy(err)
    }
}
