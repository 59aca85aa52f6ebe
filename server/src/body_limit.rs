//! One limit on the bodies the console's server functions accept, the API's: 256 KiB
//! ([`MAX_BODY_BYTES`]). The two document uploads are the exception, at 2 MiB
//! ([`MAX_DOCUMENT_BYTES`]): a file of policies to import, and a tool source (an OpenAPI document
//! or an MCP tool list), which real services publish at a megabyte or more. A body past its limit
//! is answered 413 before it is read when it declares its length, and cut off as soon as it passes
//! the limit when it does not.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::Limited;

pub use crate::api::MAX_BODY_BYTES;

/// The largest document upload accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 2 * 1024 * 1024;

/// The server functions that take a whole document.
const DOCUMENT_UPLOADS: &[&str] = &["/api/policies/import", "/api/tools/add_source"];

/// The limit for a request to `path`.
pub fn limit_for(path: &str) -> usize {
    if DOCUMENT_UPLOADS.contains(&path) {
        MAX_DOCUMENT_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

pub async fn limit_bodies(request: Request, next: Next) -> Response {
    let limit = limit_for(request.uri().path());
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|value| value.to_str().ok()).and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, format!("the request body is larger than {} KiB, the most this accepts", limit / 1024)).into_response();
    }
    next.run(request.map(|body| Body::new(Limited::new(body, limit)))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_get_the_larger_limit_and_everything_else_the_apis() {
        assert_eq!(limit_for("/api/policies/import"), MAX_DOCUMENT_BYTES);
        assert_eq!(limit_for("/api/tools/add_source"), MAX_DOCUMENT_BYTES);
        assert_eq!(limit_for("/api/policies/save"), MAX_BODY_BYTES);
        assert_eq!(limit_for("/api/auth/login"), MAX_BODY_BYTES);
        assert_eq!(limit_for("/api/policies/import/extra"), MAX_BODY_BYTES);
    }
}
