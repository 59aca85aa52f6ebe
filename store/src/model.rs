//! Domain types shared by the server and the browser. No database code lives here.

use serde::{Deserialize, Serialize};

/// What a console user may do. Platform-wide roles belong to no tenant; tenant roles to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    Support,
    TenantAdmin,
    TenantMember,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::PlatformAdmin, Role::Support, Role::TenantAdmin, Role::TenantMember];

    /// The stored and serialised name, e.g. `platform_admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::Support => "support",
            Role::TenantAdmin => "tenant_admin",
            Role::TenantMember => "tenant_member",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == name)
    }

    /// The name people read in the console.
    pub fn label(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "Platform admin",
            Role::Support => "Support (read-only)",
            Role::TenantAdmin => "Tenant admin",
            Role::TenantMember => "Tenant member",
        }
    }

    /// Platform admins and support see every tenant; tenant users see only their own.
    pub fn is_platform_wide(self) -> bool {
        matches!(self, Role::PlatformAdmin | Role::Support)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub plan: String,
    pub policy_quota: i64,
    pub created_at: i64,
}

/// A tenant with the counts the tenant list shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSummary {
    pub tenant: Tenant,
    pub admins: i64,
    pub members: i64,
}

/// A console user as the rest of the system sees it: the password hash never leaves the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub tenant_id: Option<String>,
    pub approver_roles: Vec<String>,
    pub created_at: i64,
}
