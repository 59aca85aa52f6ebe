//! The API's one error shape: `{"error": {"code", "message", "field"?, "details"?}}` with a fitting
//! status. Internal failures are logged (by the core) and answered with a generic message:
//! nothing leaks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use charter_core::CoreError;
use serde_json::{json, Value};

#[derive(Debug)]
pub enum ApiError {
    Unauthenticated(&'static str),
    Forbidden(String),
    NotFound(String),
    BadRequest { message: String, field: Option<String> },
    Unprocessable { code: &'static str, message: String, field: Option<String>, details: Option<Value> },
    Conflict { code: &'static str, message: String },
    PreconditionRequired(String),
    PayloadTooLarge,
    UnsupportedMediaType(String),
    Unavailable(String),
    Internal,
}

impl ApiError {
    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { message: message.into(), field: field.map(str::to_owned) }
    }
}

impl From<CoreError> for ApiError {
    fn from(err: CoreError) -> ApiError {
        let message = err.to_string();
        match err {
            CoreError::Unauthenticated(message) => ApiError::Unauthenticated(message),
            CoreError::Forbidden(_) | CoreError::ReadOnly => ApiError::Forbidden(message),
            CoreError::NotFound { .. } => ApiError::NotFound(message),
            CoreError::TenantRequired => ApiError::bad_request(None, message),
            CoreError::Invalid { field, .. } => ApiError::Unprocessable { code: "invalid", message, field: Some(field), details: None },
            CoreError::InvalidPolicy(err) => {
                let details = json!({ "line": err.line, "column": err.column, "path": err.path });
                ApiError::Unprocessable { code: "invalid_policy", message, field: err.path.clone(), details: Some(details) }
            }
            CoreError::Conflict { .. } => ApiError::Conflict { code: "conflict", message },
            CoreError::VersionConflict { .. } => ApiError::Conflict { code: "version_conflict", message },
            CoreError::QuotaExceeded { .. } => ApiError::Unprocessable { code: "quota_exceeded", message, field: None, details: None },
            CoreError::Delegation(report) => ApiError::Unprocessable {
                code: "delegation",
                message: report.errors.iter().map(|e| format!("{}: {}", e.path, e.message)).collect::<Vec<_>>().join("; "),
                field: report.errors.first().map(|e| e.path.clone()),
                details: serde_json::to_value(&report).ok(),
            },
            CoreError::InPolicy { name, source } => match ApiError::from(*source) {
                ApiError::Unprocessable { code, message, field, details } => {
                    ApiError::Unprocessable { code, message: format!("policy `{name}`: {message}"), field, details }
                }
                ApiError::Conflict { code, message } => ApiError::Conflict { code, message: format!("policy `{name}`: {message}") },
                other => other,
            },
            CoreError::Unavailable | CoreError::DatabaseUnavailable | CoreError::Upstream(_) => ApiError::Unavailable(message),
            CoreError::Internal => ApiError::Internal,
        }
    }
}

impl From<charter_policy::ParseError> for ApiError {
    fn from(err: charter_policy::ParseError) -> ApiError {
        ApiError::from(CoreError::InvalidPolicy(err))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, field, details) = match self {
            ApiError::Unauthenticated(message) => (StatusCode::UNAUTHORIZED, "unauthenticated", message.to_owned(), None, None),
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, "forbidden", message, None, None),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, "not_found", message, None, None),
            ApiError::BadRequest { message, field } => (StatusCode::BAD_REQUEST, "bad_request", message, field, None),
            ApiError::Unprocessable { code, message, field, details } => (StatusCode::UNPROCESSABLE_ENTITY, code, message, field, details),
            ApiError::Conflict { code, message } => (StatusCode::CONFLICT, code, message, None, None),
            ApiError::PreconditionRequired(message) => (StatusCode::PRECONDITION_REQUIRED, "version_required", message, None, None),
            ApiError::PayloadTooLarge => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the body is larger than {} bytes", super::MAX_BODY_BYTES), None, None)
            }
            ApiError::UnsupportedMediaType(message) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message, None, None),
            ApiError::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", message, None, None),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal", CoreError::Internal.to_string(), None, None),
        };
        let mut error = serde_json::Map::new();
        error.insert("code".to_owned(), Value::from(code));
        error.insert("message".to_owned(), Value::from(message));
        if let Some(field) = field {
            error.insert("field".to_owned(), Value::String(field));
        }
        if let Some(details) = details {
            error.insert("details".to_owned(), details);
        }
        (status, Json(json!({ "error": error }))).into_response()
    }
}
