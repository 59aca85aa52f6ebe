//! Records: receipts of decisions and the audit log of changes, read per tenant.

use charter_policy::{CallRecord, CompactDecision, Decision, Principal};
use charter_store::{AuditEntry, AuditScope, Owner, Receipt, ReceiptFilter, ReceiptId, ReceiptScope, ReleaseChoice, Selection};
use serde_json::{Map, Value};

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
        let receipts = self.expand_decisions(self.store.list_receipts(&scope, &filter, limit).await?).await;
        tenant_view::receipts_for(access, receipts)
    }

    /// One receipt of the named tenant.
    pub async fn get_receipt(&self, access: &Access, target: Target<'_>, id: &ReceiptId) -> Result<Receipt, CoreError> {
        let owner = self.owner(access, target, Action::ReadRecords).await?;
        let receipt = self.store.get_receipt(owner.tenant_id().ok_or(CoreError::TenantRequired)?, id).await?;
        let mut expanded = self.expand_decisions(vec![receipt]).await;
        tenant_view::receipt_for(access, expanded.pop().ok_or(CoreError::NotFound { what: "receipt", id: id.to_string() })?)
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

impl Core {
    /// Receipts keep their decisions compact (see `charter_policy::CompactDecision`): each is
    /// expanded here, with the set of the release and revision that decided, into the explanation
    /// the caller was given (masked fields masked). A receipt whose set cannot be had keeps its
    /// verdict, reason and basis, and says so in the log.
    pub(crate) async fn expand_decisions(&self, mut receipts: Vec<Receipt>) -> Vec<Receipt> {
        for receipt in &mut receipts {
            if !receipt.decision.starts_with("{\"compact\":") {
                continue;
            }
            match self.expanded(receipt).await {
                Ok(decision) => receipt.decision = decision,
                Err(err) => {
                    tracing::warn!(receipt = %receipt.id, error = %err, "a receipt's decision could not be expanded; it is shown without its rules");
                    if let Ok(compact) = serde_json::from_str::<CompactDecision>(&receipt.decision) {
                        receipt.decision = serde_json::to_string(&without_rules(compact)).unwrap_or_default();
                    }
                }
            }
        }
        receipts
    }

    async fn expanded(&self, receipt: &Receipt) -> Result<String, CoreError> {
        let unreadable = |what: &'static str| move |err: serde_json::Error| CoreError::internal(what, err);
        let compact: CompactDecision = serde_json::from_str(&receipt.decision).map_err(unreadable("reading a stored decision"))?;
        // A decision made before any rule (a tool switched off, a request refused) points at none.
        if compact.rules.is_empty() {
            return serde_json::to_string(&without_rules(compact)).map_err(unreadable("writing a decision"));
        }
        let args: Value = serde_json::from_str(&receipt.args).map_err(unreadable("reading stored arguments"))?;
        let principal: Principal = serde_json::from_str(&receipt.principal).map_err(unreadable("reading a stored principal"))?;
        let context: Map<String, Value> = match &receipt.context {
            Some(text) => serde_json::from_str(text).map_err(unreadable("reading a stored context"))?,
            None => Map::new(),
        };
        let selection = Selection { release: receipt.platform_release.map(ReleaseChoice::Number), revision: receipt.tenant_revision };
        let compiled = self.store.policy_set_at(&receipt.tenant_id, selection).await?;
        let decision = compiled
            .set
            .expand(&compact, CallRecord { args: &args, context: &context, principal: &principal })
            .map_err(|err| CoreError::internal("expanding a stored decision", err))?;
        serde_json::to_string(&decision).map_err(unreadable("writing a decision"))
    }
}

/// What a compact decision says without the rules it points at.
fn without_rules(compact: CompactDecision) -> Decision {
    Decision {
        verdict: compact.verdict,
        reason: compact.reason,
        basis: compact.basis,
        matched: Vec::new(),
        near_misses: Vec::new(),
        limits: Vec::new(),
        obligations: Vec::new(),
        approvers: compact.approvers,
        default_source: compact.default_source,
    }
}
