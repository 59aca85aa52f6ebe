//! API keys: tenant admins manage their own tenant's, platform admins any tenant's. The secret is
//! in the answer to the create call and nowhere else, ever.

use charter_policy::normalise_agent;
use charter_store::{AgentKeys, ApiKeyId, ApiKeyInfo, BoundAgents, KeyScope, KeyScopes, NewApiKey};

use crate::access::{Access, Action, Target};
use crate::{Core, CoreError};

impl Core {
    pub async fn list_keys(&self, access: &Access, target: Target<'_>) -> Result<Vec<ApiKeyInfo>, CoreError> {
        let owner = self.owner(access, target, Action::ReadKeys).await?;
        Ok(self.store.list_api_keys(owner.tenant_id().ok_or(CoreError::TenantRequired)?).await?)
    }

    /// A new key for the named tenant; `name` says what it is for. A key bound to `agents` acts
    /// for those agents only; a tenant that requires bound keys gets no unbound one. `scopes` names
    /// what it may do (`None`: everything a key may do).
    pub async fn create_key(
        &self,
        access: &Access,
        target: Target<'_>,
        name: &str,
        agents: &[String],
        scopes: Option<&[String]>,
    ) -> Result<NewApiKey, CoreError> {
        let owner = self.owner(access, target, Action::WriteKeys).await?;
        let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?;
        let agents = bound_agents(agents)?;
        let scopes = scopes.map(key_scopes).transpose()?.unwrap_or_else(KeyScopes::all);
        if !agents.is_bound() && self.tenant(tenant_id).await?.agent_keys == AgentKeys::Required {
            return Err(CoreError::invalid("agents", "this tenant requires every API key to be bound to agents: name at least one"));
        }
        Ok(self.store.create_api_key(&access.actor(), tenant_id, name, agents, scopes).await?)
    }

    /// Revokes one of the named tenant's keys; another tenant's key id is not found.
    pub async fn revoke_key(&self, access: &Access, target: Target<'_>, id: &ApiKeyId) -> Result<ApiKeyInfo, CoreError> {
        let owner = self.owner(access, target, Action::WriteKeys).await?;
        Ok(self.store.revoke_api_key(&access.actor(), owner.tenant_id().ok_or(CoreError::TenantRequired)?, id).await?)
    }
}

/// The most agents one key may act for.
pub const MAX_KEY_AGENTS: usize = 50;

/// The scopes named, each one Charter knows.
fn key_scopes(names: &[String]) -> Result<KeyScopes, CoreError> {
    let scopes = names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            KeyScope::parse(name).ok_or_else(|| {
                let known: Vec<&str> = KeyScope::ALL.iter().map(|scope| scope.as_str()).collect();
                CoreError::invalid(&format!("scopes[{index}]"), format!("`{name}` is not a scope: use {}", known.join(", ")))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err(CoreError::invalid("scopes", "must name at least one of decide, policies:read, policies:write, records:read"));
    }
    Ok(KeyScopes::new(scopes))
}

/// The agents a key is to act for, each in its one spelling, without repeats.
fn bound_agents(agents: &[String]) -> Result<BoundAgents, CoreError> {
    if agents.len() > MAX_KEY_AGENTS {
        return Err(CoreError::invalid("agents", format!("a key acts for at most {MAX_KEY_AGENTS} agents, not {}", agents.len())));
    }
    let mut bound: Vec<String> = Vec::with_capacity(agents.len());
    for (index, agent) in agents.iter().enumerate() {
        let agent = normalise_agent(agent).map_err(|err| CoreError::invalid(&format!("agents[{index}]"), err.to_string()))?;
        if !bound.contains(&agent) {
            bound.push(agent);
        }
    }
    Ok(BoundAgents(bound))
}
