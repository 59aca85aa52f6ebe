//! API keys: tenant admins manage their own tenant's, platform admins any tenant's. The secret is
//! in the answer to the create call and nowhere else, ever.

use charter_store::{ApiKeyId, ApiKeyInfo, NewApiKey};

use crate::access::{Access, Action, Target};
use crate::{Core, CoreError};

impl Core {
    pub async fn list_keys(&self, access: &Access, target: Target<'_>) -> Result<Vec<ApiKeyInfo>, CoreError> {
        let owner = self.owner(access, target, Action::ReadKeys).await?;
        Ok(self.store.list_api_keys(owner.tenant_id().ok_or(CoreError::TenantRequired)?).await?)
    }

    /// A new key for the named tenant; `name` says what it is for.
    pub async fn create_key(&self, access: &Access, target: Target<'_>, name: &str) -> Result<NewApiKey, CoreError> {
        let owner = self.owner(access, target, Action::WriteKeys).await?;
        Ok(self.store.create_api_key(&access.actor(), owner.tenant_id().ok_or(CoreError::TenantRequired)?, name).await?)
    }

    /// Revokes one of the named tenant's keys; another tenant's key id is not found.
    pub async fn revoke_key(&self, access: &Access, target: Target<'_>, id: &ApiKeyId) -> Result<ApiKeyInfo, CoreError> {
        let owner = self.owner(access, target, Action::WriteKeys).await?;
        Ok(self.store.revoke_api_key(&access.actor(), owner.tenant_id().ok_or(CoreError::TenantRequired)?, id).await?)
    }
}
