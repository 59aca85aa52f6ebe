//! Signing in and out, and who is signed in.
//!
//! The browser never decides what a user may see: every server function asks
//! [`server::require_user`] (or one of its siblings) for the signed-in user, loaded fresh from the
//! database on every call, and checks the role there.

use charter_store::{Role, TenantId, UserId};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// The signed-in user as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub approver_roles: Vec<String>,
    /// The user's own tenant; `None` for platform admins and support.
    pub tenant: Option<TenantRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRef {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
}

impl SessionUser {
    /// Support may look at everything and change nothing.
    pub fn is_read_only(&self) -> bool {
        self.role == Role::Support
    }
}

/// `next` is where to go once signed in (the consent page an assistant sent the user to); only a
/// path on this site is followed.
#[server(endpoint = "auth/login")]
pub async fn login(username: String, password: String, next: Option<String>) -> Result<(), AppError> {
    server::login(&username, &password).await?;
    leptos_axum::redirect(next.as_deref().and_then(local_path).unwrap_or("/"));
    Ok(())
}

/// `next` when it is a path on this site, never another site's address (`//evil.example`,
/// `https://…`, `/\evil.example`), so the sign-in page cannot be used to send people elsewhere.
pub fn local_path(next: &str) -> Option<&str> {
    let next = next.trim();
    // Printable ASCII only: a browser drops a tab or newline, so `/<tab>/evil.example` would be
    // `//evil.example`; a path's other characters arrive percent-encoded, and a redirect must be
    // a valid header.
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.bytes().all(|byte| byte.is_ascii_graphic());
    local.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_paths_of_this_site_are_followed() {
        for ok in ["/", "/oauth/consent?client_id=a&state=b%20c", "/policies/123"] {
            assert_eq!(local_path(ok), Some(ok), "{ok}");
        }
        for elsewhere in ["//evil.example", "https://evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "/é", "evil.example", "/a b"] {
            assert_eq!(local_path(elsewhere), None, "{elsewhere:?}");
        }
    }
}

#[server(endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    let session = server::session().await?;
    session.flush().await.map_err(|err| {
        tracing::error!(error = %err, "could not delete a session");
        AppError::Internal
    })?;
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "auth/me")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    server::session_user().await
}

#[cfg(feature = "ssr")]
pub mod server {
    //! The server half of authentication: sessions, the throttle, and the caller's access. Every
    //! rule of who may do what lives in the application core (`charter_core::Access::may`); server
    //! functions only ask for the [`access`] the server resolved for the request and pass it on.

    use charter_core::{Access, Core};
    use charter_store::{Tenant, User};
    use leptos::prelude::*;
    use tower_sessions::Session;

    use super::{SessionUser, TenantRef};
    use crate::AppError;
    pub use charter_core::{LoginAttempt, LoginThrottle, Refusal};

    /// The session key under which the signed-in user's id is kept.
    pub const USER_ID_KEY: &str = "user_id";

    /// The caller's access, resolved once per request by the server before any server function or
    /// page runs (beside [`crate::SignedIn`]). `None` inside: nobody is signed in.
    #[derive(Clone, Debug, Default)]
    pub struct SessionAccess(pub Option<Access>);

    /// The application core, put into every server function's context by the server.
    pub fn core() -> Result<Core, AppError> {
        use_context::<Core>().ok_or_else(|| {
            match use_context::<axum::http::request::Parts>() {
                // A request without the core is a wiring bug.
                Some(parts) => tracing::error!(uri = %parts.uri, "the core is missing from the server function context"),
                None => tracing::debug!("a server function ran outside any request; ignored"),
            }
            AppError::Internal
        })
    }

    /// This server's public base URL for the current request (see `charter_core::PublicUrl`).
    pub fn public_base() -> String {
        public_url().base(request_host().as_deref())
    }

    /// Charter's MCP server URL, the resource assistants' tokens are for.
    pub fn mcp_resource() -> String {
        public_url().mcp_resource(request_host().as_deref())
    }

    fn public_url() -> charter_core::PublicUrl {
        use_context::<charter_core::PublicUrl>().unwrap_or_default()
    }

    fn request_host() -> Option<String> {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.headers.get(axum::http::header::HOST).and_then(|host| host.to_str().ok()).map(str::to_owned))
    }

    /// The signed-in caller's access, or "please sign in".
    pub fn access() -> Result<Access, AppError> {
        let resolved = use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<SessionAccess>().cloned());
        match resolved {
            Some(SessionAccess(Some(access))) => Ok(access),
            Some(SessionAccess(None)) => Err(AppError::Unauthenticated),
            None => {
                tracing::error!("a server function ran without the session resolved");
                Err(AppError::Internal)
            }
        }
    }

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|err| {
            tracing::error!(error = ?err, "no session layer on this request");
            AppError::Internal
        })
    }

    /// The address the server worked out for this request (the peer, or the trusted proxy's).
    fn client_address() -> String {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<charter_core::ClientAddress>().and_then(|address| address.0.clone()))
            .unwrap_or_else(|| "unknown".to_owned())
    }

    pub async fn login(username: &str, password: &str) -> Result<(), AppError> {
        let throttle = use_context::<LoginThrottle>().ok_or(AppError::Internal)?;
        let attempt = LoginAttempt::new(username, &client_address());
        let now_ms = || u64::try_from(charter_store::now_ms()).unwrap_or(0);
        match throttle.check(&attempt, now_ms()) {
            Ok(()) => {}
            Err(Refusal::Wait(wait)) => return Err(AppError::Throttled { retry_after_secs: wait.as_secs().max(1) }),
            // Fail closed: an attempt that cannot be counted could be one of a million guesses.
            Err(Refusal::Unavailable(why)) => {
                tracing::warn!(%why, "sign-in refused: the throttle's shared records cannot be reached");
                return Err(AppError::Unavailable);
            }
        }
        let Some(user) = core()?.sign_in(username, password).await? else {
            throttle.record_failure(&attempt, now_ms());
            tracing::info!(username = %username.trim().to_lowercase(), address = %client_address(), "failed sign-in");
            return Err(AppError::BadCredentials);
        };
        throttle.record_success(&attempt, now_ms());
        let session = session().await?;
        // A new id at sign-in defeats session fixation: an id planted before sign-in is worthless.
        session.cycle_id().await.map_err(|_| AppError::Internal)?;
        session.insert(USER_ID_KEY, &user.id).await.map_err(|_| AppError::Internal)?;
        tracing::info!(user = %user.username, role = user.role.as_str(), "signed in");
        Ok(())
    }

    /// The signed-in user as pages see it, or `None`: what the server resolved for this request.
    pub async fn session_user() -> Result<Option<SessionUser>, AppError> {
        let resolved = use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<crate::SignedIn>().cloned());
        match resolved {
            Some(crate::SignedIn(user)) => Ok(user),
            None => Ok(resolve_session(&core()?, &session().await?).await?.0),
        }
    }

    /// Who is signed in on `session`, as pages see them and as the core checks them. Loaded from
    /// the database on every request, so a deleted user or a changed role takes effect at once.
    pub async fn resolve_session(core: &Core, session: &Session) -> Result<(Option<SessionUser>, Option<Access>), AppError> {
        let user_id: Option<String> = session.get(USER_ID_KEY).await.map_err(|_| AppError::Internal)?;
        let Some(user_id) = user_id else { return Ok((None, None)) };
        let Some((user, tenant)) = core.session_user(&user_id.into()).await? else { return Ok((None, None)) };
        let access = Access::for_user(&user)?;
        Ok((Some(session_user_from(user, tenant)), Some(access)))
    }

    fn session_user_from(user: User, tenant: Option<Tenant>) -> SessionUser {
        SessionUser {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            approver_roles: user.approver_roles,
            tenant: tenant.map(|t| TenantRef { id: t.id, slug: t.slug, name: t.name }),
        }
    }

    /// The target a console page names: a tenant's slug, or none. For platform staff no slug means
    /// the platform itself; for a tenant user it means their own tenant.
    pub fn target<'a>(access: &Access, slug: Option<&'a str>) -> charter_core::Target<'a> {
        match slug.map(str::trim).filter(|slug| !slug.is_empty()) {
            Some(slug) => charter_core::Target::Tenant(slug),
            None if access.is_platform_staff() => charter_core::Target::Platform,
            None => charter_core::Target::Own,
        }
    }
}
