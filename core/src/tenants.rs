//! Tenants and people: the platform's customers, their quota and settings, and the console users.

use charter_store::{AgentKeys, AgentSummary, Owner, PolicySearch, Receipt, ReceiptFilter, ReceiptScope, RetentionReport, Tenant, TenantSummary, User};

use crate::access::{Access, Action, Target};
use crate::facts::time_zone;
use crate::{Core, CoreError};

/// One tenant at a glance, as far as the caller may see it.
#[derive(Clone, Debug)]
pub struct TenantOverview {
    pub tenant: Tenant,
    pub users: Vec<User>,
    pub policy_count: i64,
    /// Agents and recent decisions, for those who may read the tenant's records; empty otherwise.
    pub agents: Vec<AgentSummary>,
    pub recent: Vec<Receipt>,
    /// Whether the caller may change the quota (platform admins).
    pub can_manage: bool,
}

impl Core {
    /// Every tenant with its user counts, for platform staff.
    pub async fn list_tenants(&self, access: &Access) -> Result<Vec<TenantSummary>, CoreError> {
        access.may(Action::ListTenants, &Owner::Platform)?;
        Ok(self.store.list_tenants().await?)
    }

    /// The tenant with `slug`: its facts and team, its agents and last decisions.
    pub async fn tenant_overview(&self, access: &Access, slug: &str) -> Result<TenantOverview, CoreError> {
        let owner = self.owner(access, Target::Tenant(slug), Action::ReadTenant).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?.to_owned();
        let tenant = self.store.tenant_by_id(&tenant_id).await?.ok_or_else(|| CoreError::NotFound { what: "tenant", id: slug.to_owned() })?;
        let users = self.store.list_users(&owner).await?;
        let policy_count = self.store.search_policies(&PolicySearch { tenant_id: Some(tenant_id.clone()), ..PolicySearch::default() }, 0, 1).await?.total;
        let (agents, recent) = match access.may(Action::ReadRecords, &owner) {
            Ok(()) => (
                self.store.list_agents(&tenant_id).await?,
                self.expand_decisions(self.store.list_receipts(&ReceiptScope::Tenant(tenant_id.clone()), &ReceiptFilter::default(), 10).await?).await,
            ),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let can_manage = access.may(Action::ManageTenants, &Owner::Platform).is_ok();
        Ok(TenantOverview { tenant, users, policy_count, agents, recent, can_manage })
    }

    /// Sets how many policies the tenant with `slug` may keep.
    pub async fn set_quota(&self, access: &Access, slug: &str, quota: i64) -> Result<Tenant, CoreError> {
        let tenant = self.managed_tenant(access, slug).await?;
        let tenant = self.store.set_policy_quota(&access.actor(), &tenant.id, quota).await?;
        self.forget_tenant(&tenant.id);
        Ok(tenant)
    }

    /// Sets how many days the receipts of the tenant with `slug` are kept (platform admins): a
    /// compliance promise the platform makes, so the tenant cannot shorten its own audit trail.
    pub async fn set_receipt_retention(&self, access: &Access, slug: &str, days: i64) -> Result<Tenant, CoreError> {
        let tenant = self.managed_tenant(access, slug).await?;
        let tenant = self.store.set_receipt_retention(&access.actor(), &tenant.id, days).await?;
        self.forget_tenant(&tenant.id);
        Ok(tenant)
    }

    /// Deletes every tenant's receipts past its retention (on PostgreSQL, whole weeks at once)
    /// and makes the weeks ahead: the server runs it every hour. Not an operation anyone calls.
    pub async fn enforce_retention(&self) -> Result<RetentionReport, CoreError> {
        Ok(self.store.enforce_retention(charter_store::now_ms()).await?)
    }

    /// The tenant with `slug`, for a platform admin who manages tenants.
    async fn managed_tenant(&self, access: &Access, slug: &str) -> Result<Tenant, CoreError> {
        access.may(Action::ManageTenants, &Owner::Platform)?;
        self.store.tenant_by_slug(slug).await?.ok_or_else(|| CoreError::NotFound { what: "tenant", id: slug.to_owned() })
    }

    /// Sets the time zone the named tenant's clock facts are read in. Tenant admins set their own;
    /// platform admins any tenant's.
    pub async fn set_time_zone(&self, access: &Access, target: Target<'_>, zone: &str) -> Result<Tenant, CoreError> {
        let owner = self.owner(access, target, Action::WritePolicies).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        if matches!(access, Access::Agent(_)) {
            return Err(CoreError::forbidden("this call needs a signed-in person, not an API key"));
        }
        time_zone(zone)?;
        let tenant = self.store.set_time_zone(&access.actor(), tenant_id, zone.trim()).await?;
        self.forget_tenant(tenant_id);
        Ok(tenant)
    }

    /// Sets whether the named tenant's API keys must be bound to agents. Only a person may: a key
    /// must not be able to lift the rule that binds it.
    pub async fn set_agent_keys(&self, access: &Access, target: Target<'_>, agent_keys: AgentKeys) -> Result<Tenant, CoreError> {
        let owner = self.owner(access, target, Action::WriteKeys).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        if matches!(access, Access::Agent(_)) {
            return Err(CoreError::forbidden("this call needs a signed-in person, not an API key"));
        }
        let tenant = self.store.set_agent_keys(&access.actor(), tenant_id, agent_keys).await?;
        self.forget_tenant(tenant_id);
        Ok(tenant)
    }

    /// The named tenant's row.
    pub async fn get_tenant(&self, access: &Access, target: Target<'_>) -> Result<Tenant, CoreError> {
        let owner = self.owner(access, target, Action::ReadTenant).await?;
        let tenant = self.tenant_of(&owner).await?.ok_or(CoreError::TenantRequired)?;
        Ok((*tenant).clone())
    }

    /// Every console user, with their tenant's name, for platform staff.
    pub async fn list_users(&self, access: &Access) -> Result<Vec<(User, Option<String>)>, CoreError> {
        access.may(Action::ReadUsers, &Owner::Platform)?;
        Ok(self.store.list_all_users().await?)
    }

    /// The named tenant's agents: named by an agent policy, by decisions, or both.
    pub async fn list_agents(&self, access: &Access, target: Target<'_>) -> Result<Vec<AgentSummary>, CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        Ok(self.store.list_agents(owner.tenant_id().ok_or(CoreError::TenantRequired)?).await?)
    }

    /// Whether a platform admin exists; a fresh production database has none until
    /// [`Core::create_owner`].
    pub async fn has_platform_admin(&self) -> Result<bool, CoreError> {
        Ok(self.store.count_platform_admins().await? > 0)
    }

    /// Creates a platform admin: how an operator gives a fresh database its first owner (the
    /// `charter admin create-owner` command, run with the database's credentials).
    pub async fn create_owner(&self, username: &str, display_name: &str, password: &str) -> Result<User, CoreError> {
        let display_name = if display_name.trim().is_empty() { "Platform owner" } else { display_name.trim() };
        let new = charter_store::NewUser {
            username: username.to_owned(),
            display_name: display_name.to_owned(),
            password: password.to_owned(),
            role: charter_store::Role::PlatformAdmin,
            tenant_id: None,
            approver_roles: Vec::new(),
        };
        Ok(self.store.create_user(new).await?)
    }
}
