//! The one error type of the console's server functions. It crosses to the browser as JSON, so it
//! carries only what a person may read: never SQL, paths or stack traces.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::{Bytes, Encodes};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Error)]
pub enum AppError {
    #[error("please sign in to continue")]
    Unauthenticated,
    #[error("wrong email or password")]
    BadCredentials,
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} seconds")]
    Throttled { retry_after_secs: u64 },
    #[error("your role does not allow this")]
    Forbidden,
    #[error("support accounts are read-only")]
    ReadOnly,
    #[error("not found")]
    NotFound,
    #[error("{} {}", crate::readable::path_in_words(.field), crate::readable::sentence(.message))]
    Invalid { field: String, message: String },
    /// The change was refused as a whole: a stale version, the quota, a parent's rule.
    #[error("{}", crate::readable::sentence(.0))]
    Rejected(String),
    #[error("signing in is paused for a moment on our side; try again shortly")]
    Unavailable,
    #[error("something went wrong on our side; it has been logged")]
    Internal,
    #[error("could not reach the server: {0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status a server function answers with when it fails this way: a refused sign-in is
    /// a 401 and a bad field a 422, never a 500 that says "our fault".
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden | AppError::ReadOnly => 403,
            AppError::NotFound => 404,
            AppError::Rejected(_) => 409,
            AppError::Invalid { .. } => 422,
            AppError::Throttled { .. } => 429,
            AppError::Internal => 500,
            AppError::Unavailable => 503,
            AppError::Transport(_) => 502,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }

    /// Serialises the error for the browser and, on the server, gives the response its status
    /// (except for a plain form post, which server_fn answers with a redirect back to its page
    /// carrying the error in the address; a status would replace the redirect's).
    fn ser(&self) -> Bytes {
        #[cfg(feature = "ssr")]
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let (Ok(status), false) = (axum::http::StatusCode::from_u16(self.status()), crate::flash::server::is_plain_form_post()) {
                response.set_status(status);
            }
            // A throttled client is told when to try again, as HTTP says (RFC 9110, 10.2.3).
            if let AppError::Throttled { retry_after_secs } = self {
                if let Ok(value) = axum::http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                    response.insert_header(axum::http::header::RETRY_AFTER, value);
                }
            }
        }
        <JsonEncoding as Encodes<AppError>>::encode(self).unwrap_or_else(|_| Bytes::from_static(br#""Internal""#))
    }
}

#[cfg(feature = "ssr")]
impl From<charter_core::CoreError> for AppError {
    fn from(err: charter_core::CoreError) -> Self {
        use charter_core::CoreError;
        let message = err.to_string();
        match err {
            CoreError::Unauthenticated(_) => AppError::Unauthenticated,
            CoreError::Forbidden(_) => AppError::Forbidden,
            CoreError::ReadOnly => AppError::ReadOnly,
            CoreError::NotFound { .. } => AppError::NotFound,
            CoreError::TenantRequired => AppError::Invalid { field: "tenant".to_owned(), message: "must be chosen".to_owned() },
            CoreError::Invalid { field, message } => AppError::Invalid { field, message },
            CoreError::InvalidPolicy(err) => {
                AppError::Invalid { field: err.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "policy".to_owned()), message: err.to_string() }
            }
            CoreError::Conflict { .. } | CoreError::VersionConflict { .. } | CoreError::QuotaExceeded { .. } | CoreError::Delegation(_) => {
                AppError::Rejected(message)
            }
            CoreError::InPolicy { name, source } => match AppError::from(*source) {
                AppError::Internal => AppError::Internal,
                AppError::NotFound => AppError::Rejected(format!("policy `{name}`: not found")),
                inner => AppError::Rejected(format!("policy `{name}`: {inner}")),
            },
            CoreError::DatabaseUnavailable | CoreError::Upstream(_) => AppError::Rejected(message),
            CoreError::Unavailable | CoreError::Internal => AppError::Internal,
        }
    }
}
