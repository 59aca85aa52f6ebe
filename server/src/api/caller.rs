//! Who is calling the API, and on behalf of which tenant. The tenant comes from the API key or the
//! session, or, for platform staff, from the `{slug}` in the URL: never from a request body.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use charter_app::auth::server::USER_ID_KEY;
use charter_store::{Actor, ActorKind, ApiKeyAuth, Role, User};
use tower_sessions::Session;

use super::error::ApiError;
use super::ApiState;

#[derive(Clone, Debug)]
pub enum Caller {
    Key(ApiKeyAuth),
    User(User),
}

impl Caller {
    pub fn actor(&self) -> Actor {
        match self {
            Caller::Key(key) => Actor { id: format!("key:{}", key.prefix), kind: ActorKind::ApiKey, tenant_id: Some(key.tenant_id.clone()) },
            Caller::User(user) => Actor { id: user.username.clone(), kind: ActorKind::User, tenant_id: user.tenant_id.clone() },
        }
    }
}

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
            let key = state.store.authenticate_api_key(token.trim()).await?;
            return key.map(Caller::Key).ok_or(ApiError::Unauthenticated("the API key is not valid or has been revoked"));
        }
        let session = Session::from_request_parts(parts, state).await.map_err(|_| ApiError::Internal)?;
        let user_id: Option<String> = session.get(USER_ID_KEY).await.map_err(|_| ApiError::Internal)?;
        let Some(user_id) = user_id else {
            return Err(ApiError::Unauthenticated("send `Authorization: Bearer <api key>` or sign in"));
        };
        let user = state.store.user_by_id(&user_id).await?;
        user.map(Caller::User).ok_or(ApiError::Unauthenticated("the session's user no longer exists"))
    }
}

/// The tenant a call acts on, and whether the caller may change it.
#[derive(Clone, Debug)]
pub struct TenantAccess {
    pub tenant_id: String,
    pub actor: Actor,
    pub writable: bool,
    pub caller: Caller,
}

impl TenantAccess {
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.writable {
            Ok(())
        } else {
            Err(ApiError::Forbidden("this account is read-only".to_owned()))
        }
    }
}

/// A path parameter by name, if the route has it.
pub fn path_param(params: &RawPathParams, name: &str) -> Option<String> {
    params.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_owned())
}

/// Resolves the tenant of a tenant-scoped call. `slug` is the `{slug}` of
/// `/api/v1/tenants/{slug}/...`, present only on those routes.
pub async fn tenant_access(state: &ApiState, caller: Caller, slug: Option<String>) -> Result<TenantAccess, ApiError> {
    let named = match &slug {
        Some(slug) => Some(state.store.tenant_by_slug(slug).await?.ok_or_else(|| ApiError::NotFound(format!("tenant `{slug}` not found")))?),
        None => None,
    };
    let not_found = || ApiError::NotFound(format!("tenant `{}` not found", slug.clone().unwrap_or_default()));
    let (tenant_id, writable) = match &caller {
        Caller::Key(key) => {
            if named.as_ref().is_some_and(|t| t.id != key.tenant_id) {
                return Err(not_found());
            }
            (key.tenant_id.clone(), true)
        }
        Caller::User(user) => match user.role {
            Role::PlatformAdmin | Role::Support => {
                let tenant = named.ok_or_else(|| ApiError::bad_request(None, "platform staff name the tenant: /api/v1/tenants/{slug}/..."))?;
                (tenant.id, user.role == Role::PlatformAdmin)
            }
            Role::TenantAdmin | Role::TenantMember => {
                let own = user.tenant_id.clone().ok_or(ApiError::Internal)?;
                if named.as_ref().is_some_and(|t| t.id != own) {
                    return Err(not_found());
                }
                (own, user.role == Role::TenantAdmin)
            }
        },
    };
    let actor = caller.actor();
    Ok(TenantAccess { tenant_id, actor, writable, caller })
}

/// The caller as a console user, for calls only people make (approving, managing keys).
pub fn require_user(caller: &Caller) -> Result<&User, ApiError> {
    match caller {
        Caller::User(user) => Ok(user),
        Caller::Key(_) => Err(ApiError::Forbidden("this call needs a signed-in person, not an API key".to_owned())),
    }
}
