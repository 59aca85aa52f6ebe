//! Messages that outlive a page load: a plain HTML form posts to a server function, the server
//! answers with a redirect back to the page, and the page that loads next shows what happened.
//!
//! A server function that succeeded on a plain form post keeps its message in the session
//! ([`server::after_redirect`]); the server takes the session's messages out as it starts rendering
//! the next page ([`server::take`]), and renders them as toasts that fade away by themselves
//! ([`Pending`], shown by the toast region), with or without script. A form post that failed comes back with the error in the address instead
//! (`__path` and `__err`, read by `ServerAction`), so the page renders it beside the form. Forms
//! that work without the browser bundle are what lets a page ship without one.

use leptos::prelude::*;
use leptos::server::SharedValue;
use serde::{Deserialize, Serialize};

use crate::components::feedback::ToastKind;

/// One message for the next page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    pub kind: ToastKind,
    pub message: String,
}

/// The messages the server took out of the session for the page it is rendering. The server puts
/// this into the request's extensions before the page renders.
#[derive(Clone, Debug, Default)]
pub struct PendingFlash(pub Vec<Flash>);

/// The messages the server took out of the session for the page being rendered, as the page
/// shows them: in the toast region, from the server's HTML on, so they need no script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pending(pub Vec<Flash>);

/// Provides this page's messages to the toast region. The list travels inside the page, so the
/// browser's render while hydrating matches the server's exactly.
pub fn provide_pending() {
    provide_context(Pending(SharedValue::new(pending_on_server).into_inner()));
}

fn pending_on_server() -> Vec<Flash> {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<PendingFlash>().cloned()).map(|p| p.0).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Vec::new()
    }
}

/// The page a form was posted from, as a path on this site, without the query parameters through
/// which server_fn reports a refusal (`__path`, `__err`) and without an empty `?`. `None` for
/// another site's address.
pub fn back_to(referer: &str) -> Option<String> {
    // The path starts at the first `/` after the scheme's `//`; a bare path is taken as it is.
    let path = match referer.split_once("://") {
        Some((_, rest)) => rest.get(rest.find('/')?..)?,
        None => referer,
    };
    let path = path.split('#').next().unwrap_or_default();
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let kept: Vec<&str> = query.split('&').filter(|pair| !pair.is_empty() && !pair.starts_with("__path=") && !pair.starts_with("__err=")).collect();
    let back = if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) };
    crate::auth::local_path(&back).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::back_to;

    fn check(referer: &str, expected: Option<&str>) {
        assert_eq!(back_to(referer).as_deref(), expected, "{referer}");
    }

    #[test]
    fn a_form_goes_back_to_its_own_page_without_the_last_refusal() {
        check("http://127.0.0.1:3000/tenants/rocketlane", Some("/tenants/rocketlane"));
        check("https://console.example/tenants/rocketlane?__path=%2Fapi%2Ftenants%2Fset_quota&__err=abc", Some("/tenants/rocketlane"));
        check("https://console.example/keys?tenant=acme&__path=x&__err=y#top", Some("/keys?tenant=acme"));
        check("https://console.example/keys?__err=y&tenant=acme", Some("/keys?tenant=acme"));
        check("https://console.example", None);
        check("/tenants/rocketlane?", Some("/tenants/rocketlane"));
        check("//evil.example/path", None);
    }
}

#[cfg(feature = "ssr")]
pub mod server {
    use axum::http::header::{ACCEPT, LOCATION, REFERER};
    use axum::http::HeaderValue;
    use leptos::prelude::*;
    use tower_sessions::Session;

    use super::Flash;
    use crate::components::feedback::ToastKind;

    /// Where the session keeps the messages for the next page.
    const SESSION_KEY: &str = "charter.flash";
    /// A page never shows more than this many; older ones are dropped first.
    const MOST: usize = 5;

    /// Keeps `message` for the page the browser loads next, when this server function was called
    /// by a plain form post (which leptos_axum answers with a redirect back to the page). A call
    /// from the page's script shows its own outcome and keeps nothing. The change it reports is
    /// already made, so a session that cannot keep the message is logged, not an error: the page
    /// shows the saved state either way.
    pub async fn after_redirect(kind: ToastKind, message: String) {
        let Some(parts) = use_context::<axum::http::request::Parts>() else { return };
        if !is_plain_form_post() {
            return;
        }
        let header = |name| parts.headers.get(name).and_then(|value: &HeaderValue| value.to_str().ok());
        // server_fn sends the browser back to the whole `Referer`, less an earlier refusal's
        // `__path` and `__err` but with an empty `?` where they were; this address is the page's own.
        if let Some(back) = header(REFERER).and_then(super::back_to) {
            if let (Some(response), Ok(location)) = (use_context::<leptos_axum::ResponseOptions>(), HeaderValue::from_str(&back)) {
                response.insert_header(LOCATION, location);
            }
        }
        if let Err(err) = keep(kind, message).await {
            tracing::warn!(error = %err, "could not keep a message for the next page");
        }
    }

    /// Keeps `message` for the page the browser loads next, however this server function was
    /// called: for a part of a page that loads the page again once it has done its work, so the
    /// page shows the new state and says what changed.
    pub async fn for_next_page(kind: ToastKind, message: String) {
        if let Err(err) = keep(kind, message).await {
            tracing::warn!(error = %err, "could not keep a message for the next page");
        }
    }

    /// Whether the server function being run was called by a plain HTML form post, which asks for
    /// a page (`Accept: text/html`) and which server_fn answers with a redirect back to it. A page
    /// being rendered (a GET) is not one, even when its resources call server functions.
    pub fn is_plain_form_post() -> bool {
        use_context::<axum::http::request::Parts>().is_some_and(|parts| {
            parts.method == axum::http::Method::POST
                && parts.headers.get(ACCEPT).and_then(|value| value.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
        })
    }

    async fn keep(kind: ToastKind, message: String) -> Result<(), String> {
        let session = crate::auth::server::session().await.map_err(|err| err.to_string())?;
        let mut messages: Vec<Flash> = session.get(SESSION_KEY).await.map_err(|err| err.to_string())?.unwrap_or_default();
        messages.push(Flash { kind, message });
        let excess = messages.len().saturating_sub(MOST);
        messages.drain(..excess);
        session.insert(SESSION_KEY, messages).await.map_err(|err| err.to_string())
    }

    /// Takes the session's messages out, for the page being rendered. A session that cannot be
    /// read shows no messages: they are a courtesy, and the page itself shows the saved state.
    pub async fn take(session: &Session) -> Vec<Flash> {
        // Reading first: removing marks the session changed, and a changed session is written back
        // to the store, which every page load would otherwise do.
        let taken = match session.get::<Vec<Flash>>(SESSION_KEY).await {
            Ok(None) => return Vec::new(),
            Ok(Some(_)) => session.remove::<Vec<Flash>>(SESSION_KEY).await,
            Err(err) => Err(err),
        };
        taken
            .unwrap_or_else(|err| {
                tracing::warn!(error = %err, "could not read the session's messages for the next page");
                None
            })
            .unwrap_or_default()
    }
}
