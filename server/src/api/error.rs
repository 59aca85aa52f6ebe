//! The API's one error shape: `{"error": {"code", "message", "field"?, "details"?}}` with a fitting
//! status. Internal failures are logged and answered with a generic message: nothing leaks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use charter_policy::ParseError;
use charter_store::StoreError;
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
    Unavailable,
    Internal,
}

impl ApiError {
    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest { message: message.into(), field: field.map(str::to_owned) }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Unprocessable { code: "invalid", message: message.into(), field: Some(field.to_owned()), details: None }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::Invalid { field, message } => ApiError::Unprocessable {
                code: "invalid",
                message: format!("`{field}` {message}"),
                field: Some(field.to_owned()),
                details: None,
            },
            StoreError::NotFound { what, id } => ApiError::NotFound(format!("{what} `{id}` not found")),
            err @ StoreError::Conflict { .. } => ApiError::Conflict { code: "conflict", message: err.to_string() },
            err @ StoreError::VersionConflict { .. } => ApiError::Conflict { code: "version_conflict", message: err.to_string() },
            err @ StoreError::QuotaExceeded { .. } => {
                ApiError::Unprocessable { code: "quota_exceeded", message: err.to_string(), field: None, details: None }
            }
            StoreError::Delegation(report) => ApiError::Unprocessable {
                code: "delegation",
                message: report.errors.iter().map(|e| format!("{}: {}", e.path, e.message)).collect::<Vec<_>>().join("; "),
                field: report.errors.first().map(|e| e.path.clone()),
                details: serde_json::to_value(&report).ok(),
            },
            StoreError::InPolicy { name, source } => match ApiError::from(*source) {
                ApiError::Unprocessable { code, message, field, details } => {
                    ApiError::Unprocessable { code, message: format!("policy `{name}`: {message}"), field, details }
                }
                ApiError::Conflict { code, message } => ApiError::Conflict { code, message: format!("policy `{name}`: {message}") },
                other => other,
            },
            other => {
                tracing::error!(error = %other, "store failure behind the API");
                ApiError::Internal
            }
        }
    }
}

impl From<ParseError> for ApiError {
    fn from(err: ParseError) -> ApiError {
        let details = json!({ "line": err.line, "column": err.column, "path": err.path });
        ApiError::Unprocessable { code: "invalid_policy", message: err.to_string(), field: err.path.clone(), details: Some(details) }
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
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", format!("the body is larger than {} bytes", super::MAX_BODY_BYTES), None, None),
            ApiError::UnsupportedMediaType(message) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", message, None, None),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the decision could not be recorded; nothing was decided, try again".to_owned(), None, None),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side; it has been logged".to_owned(), None, None),
        };
        let mut error = json!({ "code": code, "message": message });
        if let Some(field) = field {
            error["field"] = Value::String(field);
        }
        if let Some(details) = details {
            error["details"] = details;
        }
        (status, Json(json!({ "error": error }))).into_response()
    }
}
