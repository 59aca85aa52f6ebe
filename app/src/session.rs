//! The signed-in user, shared by every page in the browser and during server rendering.

use leptos::prelude::*;
use leptos::server::SharedValue;

use crate::auth::{Logout, SessionUser};

/// Who is signed in, plus the sign-out action.
///
/// The user is known before the first byte of a page is rendered: the server resolves the session
/// once per request (see [`SignedIn`]) and the value travels inside the page to the browser, which
/// reads it back while hydrating. Nothing about the frame of a page waits for a resource, so
/// the server renders every page exactly once and the browser hydrates exactly what it rendered.
/// Signing in or out loads the next page whole (see `prepare_browser`), so the user never changes under a page.
#[derive(Clone)]
pub struct SessionContext {
    pub logout: ServerAction<Logout>,
    pub user: Option<SessionUser>,
}

/// The signed-in user of a request, put into the request's extensions by the server before the
/// console renders or a server function runs. `None` inside: nobody is signed in.
#[derive(Clone, Debug, Default)]
pub struct SignedIn(pub Option<SessionUser>);

impl SessionContext {
    pub fn provide() -> SessionContext {
        let user = SharedValue::new(signed_in_user).into_inner();
        let context = SessionContext { logout: ServerAction::<Logout>::new(), user };
        provide_context(context.clone());
        context
    }
}

/// The request's user, on the server. In the browser this never runs: the value comes from the page.
fn signed_in_user() -> Option<SessionUser> {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<SignedIn>().cloned()).and_then(|signed_in| signed_in.0)
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}
