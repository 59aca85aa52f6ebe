//! Records: receipts of decisions and the audit log of changes, read per tenant.

use charter_store::{AuditEntry, AuditScope, Owner, Receipt, ReceiptFilter, ReceiptId, ReceiptScope};

use crate::access::{Access, Action, Target};
use crate::tenant_view;
use crate::{Core, CoreError};

/// Whose receipts to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiptsOf<'a> {
    /// Every tenant's (platform staff only).
    EveryTenant,
    Tenant(Target<'a>),
}

/// Whose audit entries to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditOf<'a> {
    /// The platform's and every tenant's (platform staff only).
    Everything,
    /// The platform's own changes (platform staff only).
    Platform,
    Tenant(Target<'a>),
}

impl Core {
    /// Receipts, newest first, at most `limit`.
    pub async fn list_receipts(&self, access: &Access, of: ReceiptsOf<'_>, filter: &ReceiptFilter, limit: i64) -> Result<Vec<Receipt>, CoreError> {
        let scope = match of {
            ReceiptsOf::EveryTenant if access.is_platform_staff() => {
                access.may(Action::ReadRecords, &Owner::Platform)?;
                ReceiptScope::AllTenants
            }
            ReceiptsOf::EveryTenant => return Err(CoreError::TenantRequired),
            ReceiptsOf::Tenant(target) => {
                let owner = self.owner(access, target, Action::ReadRecords).await?;
                ReceiptScope::Tenant(owner.tenant_id().ok_or(CoreError::TenantRequired)?.to_owned())
            }
        };
        // Receipts hold agents in their one spelling; so does the filter.
        let mut filter = filter.clone();
        if let Some(agent) = &filter.agent {
            filter.agent = Some(charter_policy::normalise_agent(agent).map_err(|err| CoreError::invalid("agent", err.to_string()))?);
        }
        tenant_view::receipts_for(access, self.store.list_receipts(&scope, &filter, limit).await?)
    }

    /// One receipt of the named tenant.
    pub async fn get_receipt(&self, access: &Access, target: Target<'_>, id: &ReceiptId) -> Result<Receipt, CoreError> {
        let owner = self.owner(access, target, Action::ReadRecords).await?;
        tenant_view::receipt_for(access, self.store.get_receipt(owner.tenant_id().ok_or(CoreError::TenantRequired)?, id).await?)
    }

    /// Audit entries, newest first: optionally only actions starting with `action_prefix`, older
    /// than the entry `before`, at most `limit`.
    pub async fn search_audit(
        &self,
        access: &Access,
        of: AuditOf<'_>,
        action_prefix: Option<&str>,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, CoreError> {
        let scope = match of {
            AuditOf::Everything | AuditOf::Platform if !access.is_platform_staff() => return Err(CoreError::TenantRequired),
            AuditOf::Everything => {
                access.may(Action::ReadRecords, &Owner::Platform)?;
                AuditScope::Everything
            }
            AuditOf::Platform => {
                access.may(Action::ReadRecords, &Owner::Platform)?;
                AuditScope::Platform
            }
            AuditOf::Tenant(target) => {
                let owner = self.owner(access, target, Action::ReadRecords).await?;
                AuditScope::Tenant(owner.tenant_id().ok_or(CoreError::TenantRequired)?.to_owned())
            }
        };
        Ok(self.store.search_audit(&scope, action_prefix, before, limit).await?)
    }

    /// The usernames of platform staff, so an audit log can mark their edits of a tenant's data
    /// as the platform's. Anyone who may read audit entries may know who wrote them.
    pub async fn staff_usernames(&self, access: &Access) -> Result<std::collections::HashSet<String>, CoreError> {
        access.may(Action::ReadRecords, &access.home())?;
        let staff = self.store.list_users(&Owner::Platform).await?;
        Ok(staff.into_iter().filter(|user| user.role.is_platform_wide()).map(|user| user.username).collect())
    }
}
