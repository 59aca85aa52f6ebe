//! AI assistants connected over OAuth (MCP clients): what a user granted them, as the console shows
//! it. Shared with the browser, so no database code lives here.

use serde::{Deserialize, Serialize};

use crate::ids::{ConnectionId, OAuthClientId, TenantId, UserId};

/// What a connected assistant may do on its user's behalf, within what the user's role allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OAuthScope {
    /// Read policies, effective policies and what-ifs, the tool catalog and receipts.
    #[serde(rename = "policies:read")]
    PoliciesRead,
    /// Create, change and delete the tenant's policies.
    #[serde(rename = "policies:write")]
    PoliciesWrite,
    /// Read approvals and resolve those addressed to the user's approver roles.
    #[serde(rename = "approvals")]
    Approvals,
}

impl OAuthScope {
    pub const ALL: [OAuthScope; 3] = [OAuthScope::PoliciesRead, OAuthScope::PoliciesWrite, OAuthScope::Approvals];

    /// The name OAuth messages carry, e.g. `policies:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthScope::PoliciesRead => "policies:read",
            OAuthScope::PoliciesWrite => "policies:write",
            OAuthScope::Approvals => "approvals",
        }
    }

    pub fn parse(name: &str) -> Option<OAuthScope> {
        OAuthScope::ALL.into_iter().find(|scope| scope.as_str() == name)
    }

    /// What the consent page says the scope allows.
    pub fn describe(self) -> &'static str {
        match self {
            OAuthScope::PoliciesRead => "Read your policies, preview what they decide, and read the tool catalog and receipts",
            OAuthScope::PoliciesWrite => "Create, change and delete your tenant's policies",
            OAuthScope::Approvals => "See pending approvals and approve or reject those addressed to your approver roles",
        }
    }
}

/// A set of scopes, written space-separated as OAuth does (`policies:read approvals`), in a fixed
/// order without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ScopeSet(Vec<OAuthScope>);

impl ScopeSet {
    pub fn new(scopes: impl IntoIterator<Item = OAuthScope>) -> ScopeSet {
        let mut scopes: Vec<OAuthScope> = scopes.into_iter().collect();
        scopes.sort();
        scopes.dedup();
        ScopeSet(scopes)
    }

    /// Reads a space-separated list; an unknown name is returned as the error.
    pub fn parse(text: &str) -> Result<ScopeSet, String> {
        text.split_whitespace().map(|name| OAuthScope::parse(name).ok_or_else(|| name.to_owned())).collect::<Result<Vec<_>, _>>().map(ScopeSet::new)
    }

    pub fn contains(&self, scope: OAuthScope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = OAuthScope> + '_ {
        self.0.iter().copied()
    }

    /// The scopes of both sets.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.iter().copied().filter(|scope| other.contains(*scope)).collect())
    }
}

impl std::fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|scope| scope.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

impl From<ScopeSet> for String {
    fn from(scopes: ScopeSet) -> String {
        scopes.to_string()
    }
}

impl TryFrom<String> for ScopeSet {
    type Error = String;

    fn try_from(text: String) -> Result<ScopeSet, String> {
        ScopeSet::parse(&text).map_err(|unknown| format!("unknown scope `{unknown}`"))
    }
}

/// An assistant a user connected: the console's "connected clients" row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct Connection {
    pub id: ConnectionId,
    pub tenant_id: TenantId,
    pub user_id: UserId,
    /// The user who approved it.
    pub username: String,
    pub client_id: OAuthClientId,
    /// The name the client registered itself with, e.g. `Claude`.
    pub client_name: String,
    #[cfg_attr(feature = "db", sqlx(try_from = "String"))]
    pub scopes: ScopeSet,
    pub created_at: i64,
    /// When one of its tokens was last used, to within a minute; `None` if never.
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What the consent page shows a person about an assistant asking to connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentView {
    pub client_name: String,
    /// Where the person returns to, e.g. `claude.ai` or `127.0.0.1:33418`.
    pub redirect_host: String,
    pub tenant_name: String,
    pub username: String,
    /// The scopes the client asked for that the person's role can give.
    pub scopes: Vec<OAuthScope>,
    /// The scopes the client asked for that the person's role cannot give, so they are left out.
    pub withheld: Vec<OAuthScope>,
}
