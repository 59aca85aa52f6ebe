//! Who is calling, and what they may do. An [`Access`] is built once per request, from an API key
//! or from the session's user, and every operation of the core takes one: it is the only way to
//! reach tenant data. The rules of who may do what live in [`Access::may`], and nowhere else.

use charter_store::{Actor, ActorKind, ApiKeyAuth, ApiKeyId, BoundAgents, KeyScope, KeyScopes, OAuthScope, Owner, Role, ScopeSet, TenantId, User, UserId};

use crate::CoreError;

/// A person signed in to the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub user_id: UserId,
    pub username: String,
    /// The approver roles they hold in their tenant (e.g. `manager`); empty for most.
    pub approver_roles: Vec<String>,
    /// The channel they act through when it is not the console, e.g. `MCP (Claude)`.
    pub via: Option<String>,
    /// What they may do through this channel: everything their role allows in the console, or,
    /// for an assistant they connected, only what the scopes they granted it cover.
    pub grant: Grant,
}

/// How much of a person's standing a request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// The person themselves, signed in to the console.
    Full,
    /// An assistant acting for them with an OAuth token: the person's role, narrowed to these scopes.
    Scoped(ScopeSet),
}

/// An agent's API key: its tenant is the key's, never one a request names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentKey {
    pub key_id: ApiKeyId,
    pub prefix: String,
    pub tenant_id: TenantId,
    /// The agents the key acts for; empty when it is not bound.
    pub agents: BoundAgents,
    /// The channel the key is used through when it is not the HTTP API, e.g. `MCP (Claude)`.
    pub via: Option<String>,
    /// What the key may do.
    pub scopes: KeyScopes,
}

/// The caller of an operation, with the standing that decides what they may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    PlatformAdmin(Person),
    /// Sees what a platform admin sees; changes nothing.
    Support(Person),
    TenantAdmin {
        person: Person,
        tenant_id: TenantId,
    },
    /// A tenant's user without admin rights: an approver when they hold approver roles.
    TenantMember {
        person: Person,
        tenant_id: TenantId,
    },
    Agent(AgentKey),
}

/// What an operation does, for [`Access::may`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    ReadPolicies,
    WritePolicies,
    /// Receipts and the audit log.
    ReadRecords,
    ReadApprovals,
    ResolveApprovals,
    ReadKeys,
    WriteKeys,
    Decide,
    /// A tenant's facts: plan, quota, team.
    ReadTenant,
    /// Every tenant of the platform.
    ListTenants,
    /// A tenant's quota and settings, as the platform sets them.
    ManageTenants,
    ReadCatalog,
    WriteCatalog,
    ReadSettings,
    WriteSettings,
    /// Every console user of the platform.
    ReadUsers,
    /// The AI assistants connected to a tenant.
    ReadConnections,
    /// Disconnecting an assistant.
    RevokeConnections,
    /// A tenant switching off (or on again) a tool the platform exposes to it.
    SwitchTools,
    /// The platform's releases, and which release each tenant runs.
    ReadReleases,
    /// Publishing, promoting and pinning platform releases.
    ManageReleases,
}

impl Action {
    fn writes(self) -> bool {
        matches!(
            self,
            Action::WritePolicies
                | Action::ResolveApprovals
                | Action::WriteKeys
                | Action::ManageTenants
                | Action::WriteCatalog
                | Action::WriteSettings
                | Action::Decide
                | Action::RevokeConnections
                | Action::SwitchTools
                | Action::ManageReleases
        )
    }

    /// The scope an assistant needs to do this for its user; `None` for what no assistant does.
    fn scope_needed(self) -> Option<OAuthScope> {
        match self {
            Action::ReadPolicies | Action::ReadCatalog | Action::ReadRecords | Action::ReadTenant => Some(OAuthScope::PoliciesRead),
            Action::WritePolicies => Some(OAuthScope::PoliciesWrite),
            Action::ReadApprovals | Action::ResolveApprovals => Some(OAuthScope::Approvals),
            _ => None,
        }
    }

    /// Actions on the platform as a whole, for platform staff only.
    fn platform_wide(self) -> bool {
        matches!(
            self,
            Action::ListTenants
                | Action::ManageTenants
                | Action::WriteCatalog
                | Action::ReadSettings
                | Action::WriteSettings
                | Action::ReadUsers
                | Action::ReadReleases
                | Action::ManageReleases
        )
    }

    /// The platform's own data (its policies and settings), which does not exist for tenant
    /// callers: asking for it is "not found", exactly as for something that is not there.
    fn platform_data(self, owner: &Owner) -> bool {
        matches!(self, Action::ReadSettings | Action::WriteSettings)
            || (*owner == Owner::Platform && !matches!(self, Action::ReadCatalog) && !self.platform_wide())
    }
}

impl Access {
    /// The access of a console user, as loaded from the database for this request.
    pub fn for_user(user: &User) -> Result<Access, CoreError> {
        let person =
            Person { user_id: user.id.clone(), username: user.username.clone(), approver_roles: user.approver_roles.clone(), via: None, grant: Grant::Full };
        let tenant_id = || user.tenant_id.clone().ok_or_else(|| CoreError::internal("a tenant user without a tenant", &user.username));
        Ok(match user.role {
            Role::PlatformAdmin => Access::PlatformAdmin(person),
            Role::Support => Access::Support(person),
            Role::TenantAdmin => Access::TenantAdmin { tenant_id: tenant_id()?, person },
            Role::TenantMember => Access::TenantMember { tenant_id: tenant_id()?, person },
        })
    }

    /// The access of a verified API key.
    pub fn for_key(key: ApiKeyAuth) -> Access {
        Access::Agent(AgentKey { key_id: key.key_id, prefix: key.prefix, tenant_id: key.tenant_id, agents: key.agents, via: None, scopes: key.scopes })
    }

    /// The same caller acting through `channel` (such as `MCP (Claude)`), which the audit log
    /// names beside them.
    pub fn via(mut self, channel: impl Into<String>) -> Access {
        let channel = Some(channel.into());
        match &mut self {
            Access::PlatformAdmin(person) | Access::Support(person) => person.via = channel,
            Access::TenantAdmin { person, .. } | Access::TenantMember { person, .. } => person.via = channel,
            Access::Agent(key) => key.via = channel,
        }
        self
    }

    /// The same person with only `grant` of their standing (an assistant's token). An agent's key
    /// is unchanged.
    pub fn granted(mut self, grant: Grant) -> Access {
        match &mut self {
            Access::PlatformAdmin(person) | Access::Support(person) => person.grant = grant,
            Access::TenantAdmin { person, .. } | Access::TenantMember { person, .. } => person.grant = grant,
            Access::Agent(_) => {}
        }
        self
    }

    /// The channel the caller acts through when it is not the console or the HTTP API.
    pub fn channel(&self) -> Option<&str> {
        match self {
            Access::PlatformAdmin(person) | Access::Support(person) => person.via.as_deref(),
            Access::TenantAdmin { person, .. } | Access::TenantMember { person, .. } => person.via.as_deref(),
            Access::Agent(key) => key.via.as_deref(),
        }
    }

    /// The caller's own tenant; `None` for platform staff.
    pub fn own_tenant(&self) -> Option<&TenantId> {
        match self {
            Access::PlatformAdmin(_) | Access::Support(_) => None,
            Access::TenantAdmin { tenant_id, .. } | Access::TenantMember { tenant_id, .. } => Some(tenant_id),
            Access::Agent(key) => Some(&key.tenant_id),
        }
    }

    /// Where the caller's own data lives: their tenant, or the platform for platform staff.
    pub fn home(&self) -> Owner {
        match self.own_tenant() {
            Some(tenant_id) => Owner::Tenant(tenant_id.clone()),
            None => Owner::Platform,
        }
    }

    /// Whether [`Access::may`] allows `action` on the caller's own data, for showing or hiding
    /// controls; the operation itself checks again.
    pub fn can(&self, action: Action) -> bool {
        self.may(action, &self.home()).is_ok()
    }

    /// Platform admins and support see every tenant.
    pub fn is_platform_staff(&self) -> bool {
        matches!(self, Access::PlatformAdmin(_) | Access::Support(_))
    }

    pub fn person(&self) -> Option<&Person> {
        match self {
            Access::PlatformAdmin(person) | Access::Support(person) => Some(person),
            Access::TenantAdmin { person, .. } | Access::TenantMember { person, .. } => Some(person),
            Access::Agent(_) => None,
        }
    }

    /// The approver roles the caller holds (none for staff and agents).
    pub fn approver_roles(&self) -> &[String] {
        match self {
            Access::TenantAdmin { person, .. } | Access::TenantMember { person, .. } => &person.approver_roles,
            _ => &[],
        }
    }

    /// Who the audit log names for the caller's changes. A platform admin's change to a tenant's
    /// policy is recorded as the platform's (no tenant on the actor).
    pub fn actor(&self) -> Actor {
        let named = |id: String, via: &Option<String>| match via {
            Some(channel) => format!("{id} via {channel}"),
            None => id,
        };
        match self {
            Access::PlatformAdmin(person) | Access::Support(person) => {
                Actor { id: named(person.username.clone(), &person.via), kind: ActorKind::User, tenant_id: None }
            }
            Access::TenantAdmin { person, tenant_id } | Access::TenantMember { person, tenant_id } => {
                Actor { id: named(person.username.clone(), &person.via), kind: ActorKind::User, tenant_id: Some(tenant_id.clone()) }
            }
            Access::Agent(key) => Actor { id: named(format!("key:{}", key.prefix), &key.via), kind: ActorKind::ApiKey, tenant_id: Some(key.tenant_id.clone()) },
        }
    }

    /// Whether the caller may do `action` on data of `owner`. The owner has already been
    /// resolved for this caller (a tenant caller only ever reaches its own tenant); this is the one
    /// table of who may do what, for every edge.
    pub fn may(&self, action: Action, owner: &Owner) -> Result<(), CoreError> {
        use Action::*;
        if let Some(Grant::Scoped(scopes)) = self.person().map(|person| &person.grant) {
            match action.scope_needed() {
                Some(scope) if scopes.contains(scope) => {}
                Some(scope) => return Err(CoreError::Forbidden(format!("this assistant was not granted `{}`; reconnect it to grant more", scope.as_str()))),
                None => return Err(CoreError::forbidden("a connected assistant cannot do this; use the console")),
            }
        }
        match self {
            Access::PlatformAdmin(_) => match action {
                Decide => Err(CoreError::forbidden("decisions are asked with a tenant API key")),
                // Approvers are the tenant's own people; platform staff do not vote on a customer's requests.
                ResolveApprovals => Err(CoreError::forbidden("only the tenant's own approvers resolve its approvals")),
                _ => Ok(()),
            },
            Access::Support(_) => match action {
                Decide => Err(CoreError::forbidden("decisions are asked with a tenant API key")),
                ResolveApprovals => Err(CoreError::forbidden("only the tenant's own approvers resolve its approvals")),
                _ if action.writes() => Err(CoreError::ReadOnly),
                _ => Ok(()),
            },
            // Platform data does not exist for tenant callers; their own tenant was resolved already.
            _ if action.platform_data(owner) => Err(CoreError::NotFound { what: "platform data", id: String::new() }),
            _ if action.platform_wide() => Err(CoreError::forbidden("only platform staff may do this")),
            Access::TenantAdmin { person, .. } => match action {
                ReadPolicies | WritePolicies | ReadRecords | ReadApprovals | ReadKeys | WriteKeys | ReadTenant | ReadCatalog => Ok(()),
                ReadConnections | RevokeConnections | SwitchTools => Ok(()),
                ResolveApprovals if !person.approver_roles.is_empty() => Ok(()),
                ResolveApprovals => Err(CoreError::forbidden("you hold no approver role")),
                Decide => Err(CoreError::forbidden("decisions are asked with a tenant API key")),
                _ => Err(CoreError::forbidden("your role does not allow this")),
            },
            Access::TenantMember { person, .. } => match action {
                // Their own connections only; the operation filters.
                ReadTenant | ReadConnections | RevokeConnections => Ok(()),
                ReadApprovals | ResolveApprovals if !person.approver_roles.is_empty() => Ok(()),
                ReadApprovals | ResolveApprovals => Err(CoreError::forbidden("you hold no approver role")),
                Decide => Err(CoreError::forbidden("decisions are asked with a tenant API key")),
                _ => Err(CoreError::forbidden("your role does not allow this")),
            },
            // A tenant's own systems: decisions, polling approvals, and its policies as code, as far
            // as the key's scopes go.
            Access::Agent(key) => match action {
                Decide | ReadPolicies | WritePolicies | ReadRecords | ReadApprovals | ReadCatalog => {
                    let allowed = key_scopes_for(action);
                    if allowed.iter().any(|scope| key.scopes.contains(*scope)) {
                        Ok(())
                    } else {
                        let names: Vec<&str> = allowed.iter().map(|scope| scope.as_str()).collect();
                        Err(CoreError::Forbidden(format!("this API key was not given `{}`; create a key with that scope", names.join("` or `"))))
                    }
                }
                ReadKeys | WriteKeys | ResolveApprovals | ReadConnections | RevokeConnections | SwitchTools => {
                    Err(CoreError::forbidden("this call needs a signed-in person, not an API key"))
                }
                _ => Err(CoreError::forbidden("an API key does not allow this")),
            },
        }
    }
}

/// The key scopes any one of which allows `action` (the actions an API key may do at all).
fn key_scopes_for(action: Action) -> &'static [KeyScope] {
    match action {
        Action::Decide => &[KeyScope::Decide],
        // An agent polls the approvals its decisions asked for; a script reads them as records.
        Action::ReadApprovals => &[KeyScope::Decide, KeyScope::RecordsRead],
        Action::ReadPolicies | Action::ReadCatalog => &[KeyScope::PoliciesRead, KeyScope::PoliciesWrite],
        Action::WritePolicies => &[KeyScope::PoliciesWrite],
        Action::ReadRecords => &[KeyScope::RecordsRead],
        _ => &[],
    }
}

/// Which data an operation is about, as the caller named it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// The platform's own data (platform policies); platform staff only.
    Platform,
    /// The caller's own tenant (the key's, or the signed-in user's).
    Own,
    /// The tenant with this slug, as platform staff name it in `/api/v1/tenants/{slug}/...`. For a
    /// tenant caller, a slug other than their own is not found.
    Tenant(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(roles: &[&str]) -> Person {
        Person { user_id: "u".into(), username: "u@x".into(), approver_roles: roles.iter().map(|r| (*r).to_owned()).collect(), via: None, grant: Grant::Full }
    }

    fn tenant() -> Owner {
        Owner::Tenant("t".into())
    }

    /// The expected answer: allowed, or the kind of refusal.
    #[derive(Debug, PartialEq)]
    enum Answer {
        Yes,
        ReadOnly,
        Forbidden,
        NotFound,
    }

    fn answer(result: Result<(), CoreError>) -> Answer {
        match result {
            Ok(()) => Answer::Yes,
            Err(CoreError::ReadOnly) => Answer::ReadOnly,
            Err(CoreError::Forbidden(_)) => Answer::Forbidden,
            Err(CoreError::NotFound { .. }) => Answer::NotFound,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn check(access: &Access, owner: &Owner, expected: &[(Action, Answer)]) {
        for (action, want) in expected {
            assert_eq!(answer(access.may(*action, owner)), *want, "{access:?} {action:?} on {owner:?}");
        }
    }

    #[test]
    fn who_may_do_what() {
        use Action::*;
        use Answer::*;
        let admin = Access::TenantAdmin { person: person(&[]), tenant_id: "t".into() };
        check(
            &admin,
            &tenant(),
            &[
                (ReadPolicies, Yes),
                (WritePolicies, Yes),
                (ReadRecords, Yes),
                (WriteKeys, Yes),
                (ResolveApprovals, Forbidden),
                (Decide, Forbidden),
                (ManageTenants, Forbidden),
                (ListTenants, Forbidden),
                (SwitchTools, Yes),
                (ReadReleases, Forbidden),
                (ManageReleases, Forbidden),
            ],
        );
        check(&admin, &Owner::Platform, &[(ReadPolicies, NotFound), (ReadSettings, NotFound), (ReadCatalog, Yes), (WriteCatalog, Forbidden)]);

        let approver = Access::TenantMember { person: person(&["manager"]), tenant_id: "t".into() };
        check(
            &approver,
            &tenant(),
            &[(ReadApprovals, Yes), (ResolveApprovals, Yes), (ReadRecords, Forbidden), (ReadPolicies, Forbidden), (ReadKeys, Forbidden), (ReadTenant, Yes)],
        );
        let member = Access::TenantMember { person: person(&[]), tenant_id: "t".into() };
        check(&member, &tenant(), &[(ReadApprovals, Forbidden), (ResolveApprovals, Forbidden), (SwitchTools, Forbidden)]);

        let support = Access::Support(person(&[]));
        check(&support, &tenant(), &[(ReadPolicies, Yes), (WritePolicies, ReadOnly), (WriteKeys, ReadOnly), (ResolveApprovals, Forbidden), (ReadRecords, Yes)]);
        check(
            &support,
            &Owner::Platform,
            &[
                (ReadPolicies, Yes),
                (WritePolicies, ReadOnly),
                (WriteCatalog, ReadOnly),
                (ManageTenants, ReadOnly),
                (ReadUsers, Yes),
                (ReadReleases, Yes),
                (ManageReleases, ReadOnly),
            ],
        );

        let owner = Access::PlatformAdmin(person(&[]));
        check(&owner, &tenant(), &[(WritePolicies, Yes), (WriteKeys, Yes), (ResolveApprovals, Forbidden), (Decide, Forbidden)]);
        check(&owner, &Owner::Platform, &[(WritePolicies, Yes), (WriteCatalog, Yes), (WriteSettings, Yes), (ManageTenants, Yes), (ManageReleases, Yes)]);

        let key = |scopes: &[KeyScope]| {
            let scopes = KeyScopes::new(scopes.iter().copied());
            Access::Agent(AgentKey { key_id: "k".into(), prefix: "p".into(), tenant_id: "t".into(), agents: BoundAgents::default(), via: None, scopes })
        };
        let agent = key(&KeyScope::ALL);
        check(
            &agent,
            &tenant(),
            &[(Decide, Yes), (ReadPolicies, Yes), (WritePolicies, Yes), (ReadApprovals, Yes), (ResolveApprovals, Forbidden), (ReadKeys, Forbidden)],
        );
        check(&agent, &Owner::Platform, &[(ReadPolicies, NotFound), (ReadSettings, NotFound), (ReadReleases, Forbidden), (ManageReleases, Forbidden)]);
        // A key does what its scopes name, and nothing else.
        let deciding = key(&[KeyScope::Decide]);
        check(&deciding, &tenant(), &[(Decide, Yes), (ReadApprovals, Yes), (ReadPolicies, Forbidden), (WritePolicies, Forbidden), (ReadRecords, Forbidden)]);
        let reading = key(&[KeyScope::PoliciesRead]);
        check(&reading, &tenant(), &[(ReadPolicies, Yes), (ReadCatalog, Yes), (WritePolicies, Forbidden), (Decide, Forbidden), (ReadApprovals, Forbidden)]);
        let writing = key(&[KeyScope::PoliciesWrite]);
        check(&writing, &tenant(), &[(ReadPolicies, Yes), (WritePolicies, Yes), (Decide, Forbidden), (ReadRecords, Forbidden)]);
        let auditing = key(&[KeyScope::RecordsRead]);
        check(&auditing, &tenant(), &[(ReadRecords, Yes), (ReadApprovals, Yes), (ReadPolicies, Forbidden), (Decide, Forbidden)]);

        // An assistant has its user's role, narrowed to the scopes it was granted.
        let reader =
            Access::TenantAdmin { person: person(&["manager"]), tenant_id: "t".into() }.granted(Grant::Scoped(ScopeSet::new([OAuthScope::PoliciesRead])));
        check(
            &reader,
            &tenant(),
            &[
                (ReadPolicies, Yes),
                (ReadCatalog, Yes),
                (ReadRecords, Yes),
                (WritePolicies, Forbidden),
                (ReadApprovals, Forbidden),
                (ReadKeys, Forbidden),
                (ReadConnections, Forbidden),
            ],
        );
        let writer = Access::TenantMember { person: person(&[]), tenant_id: "t".into() }.granted(Grant::Scoped(ScopeSet::new(OAuthScope::ALL)));
        check(&writer, &tenant(), &[(ReadPolicies, Forbidden), (WritePolicies, Forbidden), (ReadApprovals, Forbidden)]);
        let approver = Access::TenantMember { person: person(&["cfo"]), tenant_id: "t".into() }.granted(Grant::Scoped(ScopeSet::new([OAuthScope::Approvals])));
        check(&approver, &tenant(), &[(ReadApprovals, Yes), (ResolveApprovals, Yes), (ReadPolicies, Forbidden)]);
    }
}
