//! Signing in and out, and who is signed in.
//!
//! The browser never decides what a user may see: every server function asks
//! [`server::require_user`] (or one of its siblings) for the signed-in user, loaded fresh from the
//! database on every call, and checks the role there.

use charter_store::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::AppError;

/// The signed-in user as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub approver_roles: Vec<String>,
    /// The user's own tenant; `None` for platform admins and support.
    pub tenant: Option<TenantRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRef {
    pub id: String,
    pub slug: String,
    pub name: String,
}

impl SessionUser {
    /// Support may look at everything and change nothing.
    pub fn is_read_only(&self) -> bool {
        self.role == Role::Support
    }
}

#[server(endpoint = "auth/login")]
pub async fn login(username: String, password: String) -> Result<(), AppError> {
    server::login(&username, &password).await?;
    leptos_axum::redirect("/");
    Ok(())
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
    //! The server half of authentication: sessions, the throttle and the role checks.

    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use charter_store::{Role, Store, User};
    use leptos::prelude::*;
    use tower_sessions::Session;

    pub use crate::throttle::LoginThrottle;
    use super::{SessionUser, TenantRef};
    use crate::AppError;

    /// The session key under which the signed-in user's id is kept.
    pub const USER_ID_KEY: &str = "user_id";

    /// The store, put into every server function's context by the server.
    pub fn store() -> Result<Store, AppError> {
        use_context::<Store>().ok_or_else(|| {
            match use_context::<axum::http::request::Parts>() {
                // A request without the store is a wiring bug.
                Some(parts) => tracing::error!(uri = %parts.uri, "the store is missing from the server function context"),
                // No request at all: a resource of a render pass the server already discarded
                // (a page created inside a `Suspend` that rendered again) ran late. Its answer
                // goes nowhere; the response was rendered from the live pass.
                None => tracing::debug!("a server function ran outside any request; ignored"),
            }
            AppError::Internal
        })
    }

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>().await.map_err(|err| {
            tracing::error!(error = ?err, "no session layer on this request");
            AppError::Internal
        })
    }

    async fn client_ip() -> String {
        match leptos_axum::extract::<ConnectInfo<SocketAddr>>().await {
            Ok(ConnectInfo(addr)) => addr.ip().to_string(),
            Err(_) => "unknown".to_owned(),
        }
    }

    pub async fn login(username: &str, password: &str) -> Result<(), AppError> {
        let throttle = use_context::<LoginThrottle>().ok_or(AppError::Internal)?;
        let keys = LoginThrottle::keys(username, &client_ip().await);
        if let Err(wait) = throttle.check(&keys, std::time::Instant::now()) {
            return Err(AppError::Throttled { retry_after_secs: wait.as_secs().max(1) });
        }
        let Some(user) = store()?.verify_login(username, password).await? else {
            throttle.record_failure(&keys, std::time::Instant::now());
            tracing::info!(username = %username.trim().to_lowercase(), "failed sign-in");
            return Err(AppError::BadCredentials);
        };
        throttle.record_success(&keys);
        let session = session().await?;
        // A new id at sign-in defeats session fixation: an id planted before sign-in is worthless.
        session.cycle_id().await.map_err(|_| AppError::Internal)?;
        session.insert(USER_ID_KEY, &user.id).await.map_err(|_| AppError::Internal)?;
        tracing::info!(user = %user.username, role = user.role.as_str(), "signed in");
        Ok(())
    }

    /// The signed-in user, or `None`. The server resolves it once per request, before the console
    /// renders or a server function runs (see [`crate::SignedIn`]); a request that did not pass
    /// that way loads it here.
    pub async fn session_user() -> Result<Option<SessionUser>, AppError> {
        let resolved = use_context::<axum::http::request::Parts>().and_then(|parts| parts.extensions.get::<crate::SignedIn>().cloned());
        if let Some(crate::SignedIn(user)) = resolved {
            return Ok(user);
        }
        load_session_user(&store()?, &session().await?).await
    }

    /// The user signed in on `session`, loaded from the database so that a deleted user or a
    /// changed role takes effect on the very next request.
    pub async fn load_session_user(store: &Store, session: &Session) -> Result<Option<SessionUser>, AppError> {
        let user_id: Option<String> = session.get(USER_ID_KEY).await.map_err(|_| AppError::Internal)?;
        let Some(user_id) = user_id else { return Ok(None) };
        let Some(user) = store.user_by_id(&user_id).await? else { return Ok(None) };
        let tenant = match &user.tenant_id {
            Some(tenant_id) => store
                .tenant_by_id(tenant_id)
                .await?
                .map(|t| TenantRef { id: t.id, slug: t.slug, name: t.name }),
            None => None,
        };
        Ok(Some(session_user_from(user, tenant)))
    }

    fn session_user_from(user: User, tenant: Option<TenantRef>) -> SessionUser {
        SessionUser {
            id: user.id,
            username: user.username,
            display_name: user.display_name,
            role: user.role,
            approver_roles: user.approver_roles,
            tenant,
        }
    }

    pub async fn require_user() -> Result<SessionUser, AppError> {
        session_user().await?.ok_or(AppError::Unauthenticated)
    }

    /// A platform admin or support user: the roles that see every tenant.
    pub async fn require_platform_viewer() -> Result<SessionUser, AppError> {
        let user = require_user().await?;
        if user.role.is_platform_wide() {
            Ok(user)
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// A user allowed to change things: support is refused here, whatever the browser shows.
    pub async fn require_writer() -> Result<SessionUser, AppError> {
        let user = require_user().await?;
        match user.role {
            Role::Support => Err(AppError::ReadOnly),
            _ => Ok(user),
        }
    }

    /// Who is acting, for the audit log: the user's email, and their tenant (none for platform
    /// staff, so an edit of a tenant's policy by a platform admin is recorded as the platform's).
    pub fn actor(user: &SessionUser) -> charter_store::Actor {
        charter_store::Actor {
            id: user.username.clone(),
            kind: charter_store::ActorKind::User,
            tenant_id: user.tenant.as_ref().map(|t| t.id.clone()),
        }
    }

    /// The tenant a request is about. Tenant users always get their own tenant (a different slug is
    /// "not found"); platform staff get the named tenant, or `None` for the platform itself.
    pub async fn tenant_in_view(user: &SessionUser, slug: Option<&str>) -> Result<Option<charter_store::Tenant>, AppError> {
        let slug = slug.map(str::trim).filter(|s| !s.is_empty());
        let store = store()?;
        match (&user.tenant, slug) {
            (Some(own), Some(slug)) if slug != own.slug => Err(AppError::NotFound),
            (Some(own), _) => Ok(Some(store.tenant_by_id(&own.id).await?.ok_or(AppError::NotFound)?)),
            (None, Some(slug)) if user.role.is_platform_wide() => Ok(Some(store.tenant_by_slug(slug).await?.ok_or(AppError::NotFound)?)),
            (None, None) if user.role.is_platform_wide() => Ok(None),
            (None, _) => Err(AppError::Forbidden),
        }
    }

    /// Tenant admins and platform staff manage policies; tenant members do not.
    pub async fn require_policy_viewer() -> Result<SessionUser, AppError> {
        let user = require_user().await?;
        match user.role {
            Role::PlatformAdmin | Role::Support | Role::TenantAdmin => Ok(user),
            Role::TenantMember => Err(AppError::Forbidden),
        }
    }

    /// A user who may change policies: tenant admins (their own tenant) and platform admins.
    /// Support is refused here, whatever the browser shows.
    pub async fn require_policy_writer() -> Result<SessionUser, AppError> {
        let user = require_policy_viewer().await?;
        if user.role == Role::Support {
            return Err(AppError::ReadOnly);
        }
        Ok(user)
    }
}
