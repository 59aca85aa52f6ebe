//! Security headers on every response: HTML pages, the API, static files and errors alike.
//!
//! Framing is refused (`frame-ancestors 'none'`, and `X-Frame-Options` for older browsers), content
//! types are not sniffed, no referrer leaves for another origin, and behind https browsers are told
//! to use nothing else (HSTS). Console pages set their own Content-Security-Policy, which adds a
//! script policy with the page's nonce (`charter_app::page_content_security_policy`); this layer
//! leaves a header a response already has alone.

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

/// The headers and their values; HSTS only when the console is served over https.
pub fn security_headers(https: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = vec![
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(charter_app::BASE_CONTENT_SECURITY_POLICY)),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    ];
    if https {
        headers.push((header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains")));
    }
    headers
}

/// Adds [`security_headers`] to every response of `router` that does not set them itself.
pub fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>, https: bool) -> Router<S> {
    security_headers(https).into_iter().fold(router, |router, (name, value)| router.layer(SetResponseHeaderLayer::if_not_present(name, value)))
}
