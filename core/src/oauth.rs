//! OAuth 2.1 for MCP clients, as the MCP authorisation specification asks: clients register
//! themselves (RFC 7591), a signed-in tenant user approves one on the console's consent page, the
//! client exchanges the code with its PKCE verifier (S256 only) for an access token bound to that
//! tenant, that user and Charter's MCP URL (RFC 8707), and refreshes it with a rotating refresh
//! token. An assistant acts as its user, within the scopes the user granted: the user's role still
//! applies on every call, so a token never does more than its user could in the console.
//!
//! The edges (`server/src/oauth.rs` for the HTTP endpoints, the console's consent and assistant
//! pages) only parse and map; every check is here.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use charter_policy::{RateCounter, RateKey, RateKeyKind};
use charter_store::{
    AccessGrant, Actor, ActorKind, Connection, ConnectionId, ConsentView, IssuedTokens, NewConnection, OAuthClient, OAuthScope, Redemption, ScopeSet,
    TokenRefusal,
};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::access::{Access, Action, Grant, Target};
use crate::facts::ClientAddress;
use crate::{Core, CoreError};

/// The most redirect URIs one client registers.
const MAX_REDIRECT_URIS: usize = 10;
/// The longest client name kept.
const MAX_CLIENT_NAME: usize = 100;
/// Registration needs no credential, so the platform takes at most this many an hour; clients
/// nobody connects are forgotten after a day, which bounds what strangers can store.
const MAX_REGISTRATIONS_PER_HOUR: i64 = 1000;
/// How many clients one address registers in an hour: a person's few assistants, with room for
/// reconnecting, but not a script that would use up the platform's cap.
pub const MAX_REGISTRATIONS_PER_ADDRESS: u64 = 20;

/// An OAuth error as RFC 6749 names them; the edge answers `{ "error": code, "error_description" }`.
#[derive(Debug, Error)]
pub enum OAuthError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidClientMetadata(String),
    #[error("{0}")]
    InvalidRedirectUri(String),
    #[error("the client is not registered here")]
    InvalidClient,
    #[error("{0}")]
    InvalidGrant(&'static str),
    #[error("grant type `{0}` is not supported; use `authorization_code` or `refresh_token`")]
    UnsupportedGrantType(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    InvalidTarget(String),
    #[error("too many clients registered in the last hour from here or in all; try again later")]
    TooManyRegistrations,
    /// The shared counts cannot be reached, so a registration cannot be counted.
    #[error("registration is paused for a moment on our side; try again shortly")]
    RegistrationPaused,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl OAuthError {
    /// The error code of the OAuth answer.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClientMetadata(_) => "invalid_client_metadata",
            OAuthError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::TooManyRegistrations | OAuthError::RegistrationPaused => "temporarily_unavailable",
            OAuthError::Core(CoreError::DatabaseUnavailable | CoreError::Unavailable) => "temporarily_unavailable",
            OAuthError::Core(_) => "server_error",
        }
    }
}

impl From<charter_store::StoreError> for OAuthError {
    fn from(err: charter_store::StoreError) -> OAuthError {
        OAuthError::Core(err.into())
    }
}

/// What a client sends to register (RFC 7591); what is not here is ignored.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct ClientMetadata {
    #[serde(default)]
    pub client_name: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub response_types: Option<Vec<String>>,
    #[serde(default)]
    pub token_endpoint_auth_method: Option<String>,
}

/// The query of an authorisation request, as the client sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct AuthorizationRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub resource: Option<String>,
}

/// Why an authorisation request cannot go ahead, in words for the person on the consent page.
/// It is shown there and never sent to the client's redirect URI: anyone can register a client
/// with any redirect URI, so redirecting before the person has answered would make Charter an
/// open redirector (RFC 9700, 4.11.2).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct AuthorizationRefused(pub String);

/// A valid authorisation request, waiting for the user's consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingConsent {
    pub client: OAuthClient,
    pub redirect_uri: String,
    /// Whether the request named the redirect URI (the token request must then repeat it).
    pub redirect_uri_named: bool,
    /// What the client asked for (everything when it named nothing).
    pub scopes: ScopeSet,
    pub code_challenge: String,
    pub state: Option<String>,
    pub resource: String,
}

impl AuthorizationRequest {
    /// Reads the query of `/oauth/authorize` (or of the consent page, which carries it on); an
    /// unknown parameter is ignored, as OAuth asks.
    pub fn from_query(query: &str) -> AuthorizationRequest {
        let mut request = AuthorizationRequest::default();
        for (name, value) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            let field = match name.as_ref() {
                "response_type" => &mut request.response_type,
                "client_id" => &mut request.client_id,
                "redirect_uri" => &mut request.redirect_uri,
                "code_challenge" => &mut request.code_challenge,
                "code_challenge_method" => &mut request.code_challenge_method,
                "state" => &mut request.state,
                "scope" => &mut request.scope,
                "resource" => &mut request.resource,
                _ => continue,
            };
            *field = Some(value.into_owned());
        }
        request
    }
}

impl PendingConsent {
    /// Where the browser goes once the user has answered: the client's redirect URI with these
    /// parameters and the request's `state`.
    fn answer(&self, params: &[(&str, &str)]) -> String {
        // RFC 9207: the issuer, so a client talking to several servers cannot be mixed up.
        let issuer = self.resource.strip_suffix("/mcp").unwrap_or(&self.resource);
        let mut params = params.to_vec();
        params.push(("iss", issuer));
        redirect_with(&self.redirect_uri, &params, self.state.as_deref())
    }
}

/// A token request's form fields (RFC 6749 section 4.1.3 and 6).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
}

impl Core {
    /// Registers a public client (RFC 7591). Its redirect URIs must be HTTPS, or HTTP on this
    /// machine's loopback address, or an app's own scheme; nothing else is ever redirected to.
    ///
    /// Registration needs no credential, so each client address registers at most
    /// [`MAX_REGISTRATIONS_PER_ADDRESS`] clients an hour (counted where the rate limits are, so
    /// across replicas with Redis), under a platform-wide cap.
    pub async fn register_client(&self, metadata: ClientMetadata, address: &ClientAddress) -> Result<OAuthClient, OAuthError> {
        self.count_registration(address)?;
        if metadata.redirect_uris.is_empty() {
            return Err(OAuthError::InvalidRedirectUri("`redirect_uris` must name at least one URI".into()));
        }
        if metadata.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(OAuthError::InvalidRedirectUri(format!("`redirect_uris` names at most {MAX_REDIRECT_URIS} URIs")));
        }
        for (index, uri) in metadata.redirect_uris.iter().enumerate() {
            check_redirect_uri(uri).map_err(|message| OAuthError::InvalidRedirectUri(format!("`redirect_uris[{index}]` {message}")))?;
        }
        if let Some(types) = &metadata.grant_types {
            if let Some(other) = types.iter().find(|grant| !matches!(grant.as_str(), "authorization_code" | "refresh_token")) {
                return Err(OAuthError::InvalidClientMetadata(format!("`grant_types` may hold `authorization_code` and `refresh_token`, not `{other}`")));
            }
        }
        if let Some(types) = &metadata.response_types {
            if let Some(other) = types.iter().find(|response| response.as_str() != "code") {
                return Err(OAuthError::InvalidClientMetadata(format!("`response_types` may hold `code` only, not `{other}`")));
            }
        }
        if let Some(method) = metadata.token_endpoint_auth_method.as_deref().filter(|method| *method != "none") {
            return Err(OAuthError::InvalidClientMetadata(format!(
                "`token_endpoint_auth_method` must be `none` (clients here are public and prove themselves with PKCE), not `{method}`"
            )));
        }
        // The name is the client's own choice and is shown to people: no control or invisible
        // formatting characters (a bidi override could make one name read as another).
        let name: String =
            metadata.client_name.as_deref().unwrap_or("").chars().filter(|c| !c.is_control() && !is_invisible(*c)).take(MAX_CLIENT_NAME).collect();
        let name = match name.trim() {
            "" => "Unnamed client".to_owned(),
            name => name.to_owned(),
        };
        let hour_ago = charter_store::now_ms() - 60 * 60 * 1000;
        if self.store.clients_registered_since(hour_ago).await? >= MAX_REGISTRATIONS_PER_HOUR {
            return Err(OAuthError::TooManyRegistrations);
        }
        Ok(self.store.register_oauth_client(&name, &metadata.redirect_uris).await?)
    }

    /// Counts one registration from `address`, or refuses it past the hour's allowance. When the
    /// counts cannot be reached, registration is refused (fail closed).
    fn count_registration(&self, address: &ClientAddress) -> Result<(), OAuthError> {
        let key = RateKey {
            per: RateKeyKind::Key,
            subject: format!("oauth-registration/{}", address.0.as_deref().unwrap_or("unknown")),
            tool: "oauth.register".to_owned(),
            window_secs: 3600,
        };
        let now = u64::try_from(charter_store::now_ms()).unwrap_or(0);
        match self.rate.hit(&key, std::time::Duration::from_secs(3600), MAX_REGISTRATIONS_PER_ADDRESS, now) {
            Ok(count) if count <= MAX_REGISTRATIONS_PER_ADDRESS => Ok(()),
            Ok(_) => Err(OAuthError::TooManyRegistrations),
            Err(_) => Err(OAuthError::RegistrationPaused),
        }
    }

    /// Checks an authorisation request for `resource` (Charter's MCP URL).
    pub async fn check_authorization(&self, request: &AuthorizationRequest, resource: &str) -> Result<PendingConsent, AuthorizationRefused> {
        let refuse = |message: String| Err(AuthorizationRefused(message));
        let client_id = request.client_id.as_deref().unwrap_or("");
        let client = match self.store.oauth_client(client_id).await {
            Ok(Some(client)) => client,
            Ok(None) => return refuse(format!("the application asking to connect (client `{client_id}`) is not registered with Charter")),
            Err(err) => return refuse(CoreError::from(err).to_string()),
        };
        let redirect_uri = match (&request.redirect_uri, client.redirect_uris.as_slice()) {
            (Some(uri), registered) if registered.contains(uri) => uri.clone(),
            (Some(uri), _) => return refuse(format!("`{uri}` is not a redirect URI `{}` registered", client.name)),
            (None, [only]) => only.clone(),
            (None, _) => return refuse("the request names no `redirect_uri`".into()),
        };
        if request.response_type.as_deref() != Some("code") {
            return refuse(format!(
                "`{}` asked for response_type `{}`; Charter answers `code` only",
                client.name,
                request.response_type.as_deref().unwrap_or("")
            ));
        }
        let code_challenge = match request.code_challenge.as_deref() {
            Some(challenge) if is_pkce_value(challenge) => challenge.to_owned(),
            _ => return refuse(format!("`{}` sent no valid PKCE code_challenge, which Charter requires", client.name)),
        };
        if request.code_challenge_method.as_deref() != Some("S256") {
            return refuse(format!("`{}` must use the PKCE code_challenge_method `S256`", client.name));
        }
        let scopes = match request.scope.as_deref().map(str::trim).filter(|scope| !scope.is_empty()) {
            None => ScopeSet::new(OAuthScope::ALL),
            Some(text) => match ScopeSet::parse(text) {
                Ok(scopes) => scopes,
                Err(unknown) => return refuse(format!("`{}` asked for the unknown scope `{unknown}`", client.name)),
            },
        };
        if let Some(asked) = &request.resource {
            if !same_resource(asked, resource) {
                return refuse(format!("`{}` asked for access to `{asked}`; this server grants access to `{resource}` only", client.name));
            }
        }
        Ok(PendingConsent {
            client,
            redirect_uri,
            redirect_uri_named: request.redirect_uri.is_some(),
            scopes,
            code_challenge,
            state: request.state.clone(),
            resource: resource.to_owned(),
        })
    }

    /// What the consent page shows the signed-in user about a pending request.
    pub async fn consent_view(&self, access: &Access, pending: &PendingConsent) -> Result<ConsentView, CoreError> {
        let (person, tenant_id) = connecting_person(access)?;
        let grantable = grantable_scopes(access);
        let tenant = self.tenant(tenant_id).await?;
        Ok(ConsentView {
            client_name: pending.client.name.clone(),
            redirect_host: url::Url::parse(&pending.redirect_uri)
                .ok()
                .map(|uri| match (uri.host_str(), uri.port()) {
                    (Some(host), Some(port)) => format!("{host}:{port}"),
                    (Some(host), None) => host.to_owned(),
                    (None, _) => format!("{}:", uri.scheme()),
                })
                .unwrap_or_default(),
            tenant_name: tenant.name.clone(),
            username: person.username.clone(),
            scopes: pending.scopes.intersection(&grantable).iter().collect(),
            withheld: pending.scopes.iter().filter(|scope| !grantable.contains(*scope)).collect(),
        })
    }

    /// The signed-in user approves the client with `chosen` scopes (those they ticked of what it
    /// asked for and their role allows). Returns the URL that sends them back with the code.
    pub async fn approve_consent(&self, access: &Access, pending: &PendingConsent, chosen: &ScopeSet) -> Result<String, CoreError> {
        let (person, tenant_id) = connecting_person(access)?;
        let scopes = chosen.intersection(&pending.scopes).intersection(&grantable_scopes(access));
        if scopes.is_empty() {
            return Err(CoreError::invalid("scopes", "tick at least one thing the assistant may do"));
        }
        let new = NewConnection {
            tenant_id: tenant_id.clone(),
            user_id: person.user_id.clone(),
            client_id: pending.client.id.clone(),
            scopes,
            resource: pending.resource.clone(),
            named_redirect_uri: pending.redirect_uri_named.then(|| pending.redirect_uri.clone()),
            code_challenge: pending.code_challenge.clone(),
        };
        let (_, code) = self.store.approve_connection(&access.actor(), &new).await?;
        Ok(pending.answer(&[("code", &code)]))
    }

    /// The user declines: the URL that tells the client so.
    pub fn deny_consent(&self, pending: &PendingConsent) -> String {
        pending.answer(&[("error", "access_denied"), ("error_description", "the user declined to connect")])
    }

    /// Answers a token request: an authorisation code with its PKCE verifier, or a refresh token.
    pub async fn token(&self, request: &TokenRequest, resource: &str) -> Result<IssuedTokens, OAuthError> {
        if let Some(asked) = &request.resource {
            if !same_resource(asked, resource) {
                return Err(OAuthError::InvalidTarget(format!("this server grants tokens for `{resource}` only")));
            }
        }
        let client_id = required(&request.client_id, "client_id")?;
        match request.grant_type.as_deref() {
            Some("authorization_code") => self.redeem_code(request, client_id).await,
            Some("refresh_token") => {
                let presented = required(&request.refresh_token, "refresh_token")?;
                // Checked before the token is spent: a refused request leaves it usable.
                let asked = match request.scope.as_deref().map(str::trim).filter(|scope| !scope.is_empty()) {
                    Some(text) => Some(ScopeSet::parse(text).map_err(|unknown| OAuthError::InvalidScope(format!("unknown scope `{unknown}`")))?),
                    None => None,
                };
                match self.store.refresh_tokens(presented, client_id, asked.as_ref()).await? {
                    Ok((_, tokens)) => Ok(tokens),
                    Err(TokenRefusal::Unknown) => Err(OAuthError::InvalidGrant("the refresh token is not valid or its connection was revoked")),
                    Err(TokenRefusal::Expired) => Err(OAuthError::InvalidGrant("the refresh token has expired; connect again")),
                    Err(TokenRefusal::Reused) => Err(OAuthError::InvalidGrant("the refresh token was used before; the connection is revoked, connect again")),
                    Err(TokenRefusal::WiderScope(carried)) => Err(OAuthError::InvalidScope(format!("the refresh token carries `{carried}` only"))),
                }
            }
            Some(other) => Err(OAuthError::UnsupportedGrantType(other.to_owned())),
            None => Err(OAuthError::InvalidRequest("`grant_type` is missing".into())),
        }
    }

    async fn redeem_code(&self, request: &TokenRequest, client_id: &str) -> Result<IssuedTokens, OAuthError> {
        let code = required(&request.code, "code")?;
        let verifier = required(&request.code_verifier, "code_verifier")?;
        let redeemed = match self.store.redeem_authorization_code(code).await? {
            Redemption::Fresh(redeemed) => redeemed,
            Redemption::Replayed => return Err(OAuthError::InvalidGrant("the code was used already; the connection it made is revoked, connect again")),
            Redemption::Unknown => return Err(OAuthError::InvalidGrant("the code is not valid or its connection was revoked")),
        };
        if redeemed.expires_at <= charter_store::now_ms() {
            return Err(OAuthError::InvalidGrant("the code has expired; authorise again"));
        }
        if redeemed.grant.client_id != *client_id {
            return Err(OAuthError::InvalidGrant("the code was issued to another client"));
        }
        // OAuth 2.1, 4.1.3: a redirect URI the authorisation request named is repeated here.
        if let Some(named) = &redeemed.named_redirect_uri {
            if request.redirect_uri.as_deref() != Some(named.as_str()) {
                return Err(OAuthError::InvalidGrant("`redirect_uri` must repeat the authorisation request's"));
            }
        }
        if !is_pkce_value(verifier) || URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != redeemed.code_challenge {
            return Err(OAuthError::InvalidGrant("the code_verifier does not match the code_challenge"));
        }
        Ok(self.store.issue_tokens(&redeemed.grant).await?)
    }

    /// The access of an OAuth access token presented to `resource`: its user as they are now
    /// (their role applies), limited to the granted scopes, acting "via MCP (client)".
    pub async fn access_for_token(&self, presented: &str, resource: &str) -> Result<Access, CoreError> {
        let invalid = CoreError::Unauthenticated("the access token is not valid, has expired, or its connection was revoked");
        let Some(grant) = self.store.verify_access_token(presented.trim()).await? else { return Err(invalid) };
        if !same_resource(&grant.resource, resource) {
            return Err(CoreError::Unauthenticated("the access token was issued for another server"));
        }
        let Some(user) = self.store.user_by_id(&grant.user_id).await? else { return Err(invalid) };
        if user.tenant_id.as_ref() != Some(&grant.tenant_id) {
            return Err(invalid);
        }
        Ok(Access::for_user(&user)?.granted(Grant::Scoped(grant.scopes.clone())).via(channel(&grant)))
    }

    /// Revokes the connection a token belongs to, at the client's request (RFC 7009). An unknown
    /// token, or another client's, changes nothing, and the answer is the same.
    pub async fn revoke_token(&self, presented: &str, client_id: Option<&str>) -> Result<(), CoreError> {
        let Some(grant) = self.store.connection_of_token(presented.trim()).await? else { return Ok(()) };
        if client_id.is_some_and(|client_id| grant.client_id != *client_id) {
            return Ok(());
        }
        let username = self.store.user_by_id(&grant.user_id).await?.map(|user| user.username).unwrap_or_else(|| grant.user_id.to_string());
        let actor = Actor { id: format!("{username} via {}", channel(&grant)), kind: ActorKind::User, tenant_id: Some(grant.tenant_id.clone()) };
        match self.store.revoke_connection(&actor, &grant.tenant_id, &grant.connection_id).await {
            Ok(_) | Err(charter_store::StoreError::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// The assistants connected to the tenant `target` names: all of them for its admins (and
    /// platform staff naming it), a member's own for a member.
    pub async fn list_connections(&self, access: &Access, target: Target<'_>) -> Result<Vec<Connection>, CoreError> {
        let owner = self.owner(access, target, Action::ReadConnections).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        let mut connections = self.store.list_connections(tenant_id).await?;
        if let Access::TenantMember { person, .. } = access {
            connections.retain(|connection| connection.user_id == person.user_id);
        }
        Ok(connections)
    }

    /// Disconnects an assistant: every token it holds stops working at once.
    pub async fn revoke_connection(&self, access: &Access, target: Target<'_>, id: &ConnectionId) -> Result<Connection, CoreError> {
        let owner = self.owner(access, target, Action::RevokeConnections).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        if let Access::TenantMember { person, .. } = access {
            let theirs = self.store.connection(tenant_id, id).await?.is_some_and(|connection| connection.user_id == person.user_id);
            if !theirs {
                return Err(CoreError::NotFound { what: "connection", id: id.to_string() });
            }
        }
        Ok(self.store.revoke_connection(&access.actor(), tenant_id, id).await?)
    }

    /// Forgets expired codes and tokens and clients nobody connected; the hourly job.
    pub async fn purge_expired_oauth(&self) -> Result<u64, CoreError> {
        Ok(self.store.purge_expired_oauth(charter_store::now_ms()).await?)
    }
}

/// How the audit log names an assistant's channel: its name, which the client chose itself, and
/// the start of its client id, which tells two clients of one name apart.
fn channel(grant: &AccessGrant) -> String {
    let id: String = grant.client_id.as_str().chars().take(16).collect();
    format!("MCP ({}, client {id})", grant.client_name)
}

/// Only a tenant's own people connect an assistant: the connection acts in one tenant, as them.
fn connecting_person(access: &Access) -> Result<(&crate::Person, &charter_store::TenantId), CoreError> {
    match access {
        Access::TenantAdmin { person, tenant_id } | Access::TenantMember { person, tenant_id } if person.grant == Grant::Full => Ok((person, tenant_id)),
        Access::TenantAdmin { .. } | Access::TenantMember { .. } => Err(CoreError::forbidden("a connected assistant cannot connect another")),
        Access::PlatformAdmin(_) | Access::Support(_) => Err(CoreError::forbidden("an assistant connects to one tenant: sign in as one of the tenant's users")),
        Access::Agent(_) => Err(CoreError::forbidden("this call needs a signed-in person, not an API key")),
    }
}

/// The scopes the caller's role can give an assistant: those whose actions it may do itself.
fn grantable_scopes(access: &Access) -> ScopeSet {
    let needs = |scope: OAuthScope| match scope {
        OAuthScope::PoliciesRead => Action::ReadPolicies,
        OAuthScope::PoliciesWrite => Action::WritePolicies,
        OAuthScope::Approvals => Action::ReadApprovals,
    };
    ScopeSet::new(OAuthScope::ALL.into_iter().filter(|scope| access.can(needs(*scope))))
}

/// Unicode's invisible formatting characters: zero-width ones, bidi embeddings, overrides and
/// isolates, and the byte order mark.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}')
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, OAuthError> {
    value.as_deref().map(str::trim).filter(|value| !value.is_empty()).ok_or_else(|| OAuthError::InvalidRequest(format!("`{field}` is missing")))
}

/// PKCE verifiers and S256 challenges: 43 to 128 unreserved characters (RFC 7636).
fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Two spellings of one resource URL: a trailing slash does not make another server.
fn same_resource(a: &str, b: &str) -> bool {
    a.trim_end_matches('/').eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// Schemes an app must never be sent to with a code.
const UNSAFE_SCHEMES: [&str; 7] = ["javascript", "data", "file", "vbscript", "blob", "about", "ftp"];

/// A redirect URI a client may register: absolute, without a fragment, and HTTPS, HTTP on a
/// loopback address (a desktop app's local listener), or an app's private scheme.
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let parsed = url::Url::parse(uri).map_err(|err| format!("`{uri}` is not an absolute URI: {err}"))?;
    if parsed.fragment().is_some() {
        return Err(format!("`{uri}` must not have a fragment"));
    }
    match parsed.scheme() {
        "https" => Ok(()),
        "http" => match parsed.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err(format!("`{uri}` uses plain HTTP away from this machine; use HTTPS")),
        },
        scheme if UNSAFE_SCHEMES.contains(&scheme) => Err(format!("`{uri}` uses the `{scheme}` scheme, which is never redirected to")),
        _ => Ok(()),
    }
}

/// `uri` with `params` and `state` added to its query.
fn redirect_with(uri: &str, params: &[(&str, &str)], state: Option<&str>) -> String {
    let Ok(mut url) = url::Url::parse(uri) else { return uri.to_owned() };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    url.to_string()
}

/// Where this server is reached from outside: `CHARTER_PUBLIC_URL` when it is set (it must be
/// behind a proxy that ends TLS), else the request's own host over HTTP. Shared by the edges so the
/// metadata, the consent page and the token checks agree on one URL.
#[derive(Clone, Debug, Default)]
pub struct PublicUrl(pub Option<String>);

impl PublicUrl {
    /// The base URL for a request sent to `host`, without a trailing slash.
    pub fn base(&self, host: Option<&str>) -> String {
        match &self.0 {
            Some(public) => public.trim_end_matches('/').to_owned(),
            None => format!("http://{}", host.unwrap_or("localhost")),
        }
    }

    /// Charter's MCP server URL, the resource its tokens are for.
    pub fn mcp_resource(&self, host: Option<&str>) -> String {
        format!("{}/mcp", self.base(host))
    }
}

/// An access token an assistant presents, told apart from an API key by its prefix.
pub fn is_access_token(presented: &str) -> bool {
    presented.trim().starts_with(charter_store::ACCESS_TOKEN_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(uri: &str, allowed: bool) {
        assert_eq!(check_redirect_uri(uri).is_ok(), allowed, "{uri}: {:?}", check_redirect_uri(uri));
    }

    #[test]
    fn redirect_uris_that_may_be_registered() {
        check("https://claude.ai/api/mcp/auth_callback", true);
        check("http://127.0.0.1:33418/callback", true);
        check("http://localhost:6274/oauth/callback", true);
        check("http://[::1]:8080/cb", true);
        check("cursor://anysphere.cursor-retrieval/oauth/callback", true);
        check("http://evil.example/callback", false);
        check("http://127.0.0.1.evil.example/callback", false);
        check("javascript:alert(1)", false);
        check("data:text/html,hi", false);
        check("https://claude.ai/cb#fragment", false);
        check("/relative/callback", false);
    }

    #[test]
    fn pkce_values() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_pkce_value(verifier));
        // RFC 7636 appendix B: this verifier's S256 challenge.
        assert_eq!(URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(!is_pkce_value("short"));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn answers_keep_the_state_and_the_redirect_uri_query() {
        assert_eq!(redirect_with("https://app.example/cb?x=1", &[("code", "c 1")], Some("s&t")), "https://app.example/cb?x=1&code=c+1&state=s%26t");
        assert!(same_resource("http://127.0.0.1:3000/mcp/", "http://127.0.0.1:3000/mcp"));
        assert!(!same_resource("http://127.0.0.1:3000/mcp", "http://127.0.0.1:3001/mcp"));
    }
}
