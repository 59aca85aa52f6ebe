//! Who is calling the API, and which tenant the call names. The access comes from the API key or
//! the session; the tenant from the key or the session, or, for platform staff, from the `{slug}`
//! of `/api/v1/tenants/{slug}/...`: never from a request body.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use charter_app::auth::server::USER_ID_KEY;
use charter_core::{Access, Target};
use tower_sessions::Session;

use super::error::ApiError;
use super::ApiState;

/// The caller's access, built once for the request.
pub struct Caller(pub Access);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Caller, ApiError> {
        if let Some(header) = parts.headers.get(AUTHORIZATION) {
            let token = header
                .to_str()
                .ok()
                .and_then(|value| value.split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token)
                .ok_or(ApiError::Unauthenticated("the Authorization header must be `Bearer <api key>`"))?;
            return Ok(Caller(state.core.access_for_key(token).await?));
        }
        let session = Session::from_request_parts(parts, state).await.map_err(|_| ApiError::Internal)?;
        let user_id: Option<String> = session.get(USER_ID_KEY).await.map_err(|_| ApiError::Internal)?;
        let Some(user_id) = user_id else {
            return Err(ApiError::Unauthenticated("send `Authorization: Bearer <api key>` or sign in"));
        };
        match state.core.session_user(&user_id.into()).await? {
            Some((user, _)) => Ok(Caller(Access::for_user(&user)?)),
            None => Err(ApiError::Unauthenticated("the session's user no longer exists")),
        }
    }
}

/// The path of a tenant-scoped route: the tenant it names (`{slug}`) and the object's `{id}`.
pub struct TenantPath {
    slug: Option<String>,
    raw_id: String,
    raw_version: Option<String>,
}

impl TenantPath {
    /// The tenant the path names: the `{slug}`, or the caller's own.
    pub fn target(&self) -> Target<'_> {
        match &self.slug {
            Some(slug) => Target::Tenant(slug),
            None => Target::Own,
        }
    }

    /// The `{id}` of the path, as the id type the operation takes.
    pub fn id<I: From<String>>(&self) -> I {
        I::from(self.raw_id.clone())
    }

    /// The `{version}` of the path: a whole number, else a 400 that names it.
    pub fn version(&self) -> Result<i64, ApiError> {
        let text = self.raw_version.as_deref().unwrap_or_default();
        text.parse::<i64>()
            .ok()
            .filter(|version| *version > 0)
            .ok_or_else(|| ApiError::bad_request(Some("version"), format!("the version in the path must be a whole number from 1, not `{text}`")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TenantPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<TenantPath, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state).await.map_err(|_| ApiError::Internal)?;
        let param = |name: &str| params.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_owned());
        Ok(TenantPath { slug: param("slug"), raw_id: param("id").unwrap_or_default(), raw_version: param("version") })
    }
}
