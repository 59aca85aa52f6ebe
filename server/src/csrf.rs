//! Cross-site request forgery: a state-changing request that a browser sends from another site is
//! refused, whether it carries the console's session cookie (a forged change) or not (a forged
//! sign-in). Session cookies are SameSite=Lax already; this holds even where that does not (a
//! sibling subdomain, an old browser). Requests that carry neither `Origin` nor `Sec-Fetch-Site`
//! (curl, scripts, other servers) and requests authenticated by an API key are not a browser's
//! forgery and pass.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::error::ApiError;

/// The console's own origin, when it is configured (`CHARTER_PUBLIC_URL`); otherwise a request's
/// origin must match the host it was sent to.
#[derive(Clone, Debug, Default)]
pub struct OwnOrigin(pub Option<String>);

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Why the request looks forged, if it does.
fn forged(headers: &HeaderMap, own: &OwnOrigin) -> Option<String> {
    if headers.contains_key(header::AUTHORIZATION) {
        return None;
    }
    let fetch_site = headers.get("sec-fetch-site").and_then(|value| value.to_str().ok()).unwrap_or("");
    if matches!(fetch_site, "cross-site" | "same-site") {
        return Some(format!("the browser says this request comes from another site (`Sec-Fetch-Site: {fetch_site}`)"));
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("").trim_end_matches('/');
    let expected = match &own.0 {
        Some(public) => vec![public.trim_end_matches('/').to_owned()],
        None => {
            let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or("");
            vec![format!("http://{host}"), format!("https://{host}")]
        }
    };
    (!expected.iter().any(|own| own.eq_ignore_ascii_case(origin))).then(|| format!("the request comes from `{origin}`, not from the console"))
}

/// The OAuth endpoints clients call from their own origin; none of them reads the session.
fn cookie_free(path: &str) -> bool {
    matches!(path, "/oauth/register" | "/oauth/token" | "/oauth/revoke")
}

/// Refuses forged state-changing requests with a 403 in the API's error shape; nothing runs.
pub async fn same_origin_only(State(own): State<OwnOrigin>, request: Request, next: Next) -> Response {
    if changes_state(request.method()) && !cookie_free(request.uri().path()) {
        if let Some(reason) = forged(request.headers(), &own) {
            tracing::warn!(uri = %request.uri(), %reason, "refused a cross-site request");
            return ApiError::Forbidden(format!("cross-site request refused: {reason}")).into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn check(pairs: &[(&str, &str)], own: Option<&str>, refused: bool) {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        let own = OwnOrigin(own.map(str::to_owned));
        assert_eq!(forged(&headers, &own).is_some(), refused, "{pairs:?} with {own:?}");
    }

    #[test]
    fn forged_requests_are_recognised() {
        let session = ("cookie", "theme=dark; charter_session=abc");
        let host = ("host", "console.example:3000");
        // A browser on the console itself.
        check(&[session, host, ("origin", "http://console.example:3000"), ("sec-fetch-site", "same-origin")], None, false);
        check(&[session, host, ("sec-fetch-site", "same-origin")], None, false);
        // Another site, however the browser says so.
        check(&[session, host, ("origin", "https://evil.example")], None, true);
        check(&[session, host, ("sec-fetch-site", "cross-site")], None, true);
        check(&[session, host, ("sec-fetch-site", "same-site"), ("origin", "http://console.example:3000")], None, true);
        check(&[session, host, ("origin", "null")], None, true);
        // A configured public address is the only origin accepted.
        check(&[session, ("origin", "https://charter.example")], Some("https://charter.example/"), false);
        check(&[session, host, ("origin", "http://console.example:3000")], Some("https://charter.example"), true);
        // Scripts send neither header; keys and cookie-less requests are not forgeries.
        check(&[session, host], None, false);
        check(&[("authorization", "Bearer chk_x_y"), host, ("origin", "https://evil.example")], None, false);
        // A forged sign-in carries no session yet, and is refused all the same.
        check(&[host, ("origin", "https://evil.example")], None, true);
    }
}
