//! The dashboards: decisions over time by verdict, what was denied and by which rules, the busiest
//! agents, what waits for approval and what changed lately, for the platform (every tenant) or
//! one tenant. Counts come from the tables the receipt writer keeps beside the receipts.

use charter_policy::{Basis, Decision};
use charter_store::{Insight, Owner, ReceiptScope, RecentChange, Window, Words};

use crate::access::{Access, Action, Target};
use crate::records::{AuditOf, ReceiptsOf};
use crate::{Core, CoreError};

/// How many tools, agents, approvals and changes each list of a dashboard shows.
const LIST_LENGTH: usize = 8;

impl Core {
    /// The dashboard of `of` for `window`, drawn now. Reading it takes what reading receipts and
    /// the audit log takes (platform staff for every tenant; a tenant's admins and support for a
    /// tenant).
    pub async fn insight(&self, access: &Access, of: ReceiptsOf<'_>, window: Window) -> Result<Insight, CoreError> {
        let (scope, audit) = match of {
            ReceiptsOf::EveryTenant if access.is_platform_staff() => {
                access.may(Action::ReadRecords, &Owner::Platform)?;
                (ReceiptScope::AllTenants, AuditOf::Everything)
            }
            ReceiptsOf::EveryTenant => return Err(CoreError::TenantRequired),
            ReceiptsOf::Tenant(target) => {
                let owner = self.owner(access, target, Action::ReadRecords).await?;
                let tenant_id = owner.tenant_id().ok_or(CoreError::TenantRequired)?.to_owned();
                (ReceiptScope::Tenant(tenant_id), AuditOf::Tenant(target))
            }
        };
        let now_ms = charter_store::now_ms();
        let series = self.store.decision_series(&scope, window, now_ms).await?;
        let mut totals = charter_store::VerdictCounts::default();
        for bucket in &series {
            for verdict in charter_policy::Verdict::ALL {
                totals.add(*verdict, bucket.counts.of(*verdict));
            }
        }
        let (from_ms, _) = window.span(now_ms);
        let lists_from_ms = from_ms - from_ms.rem_euclid(charter_store::insight::HOUR_MS);
        // Platform staff read the platform's words; a tenant reads a confidential platform rule as
        // "a platform boundary".
        let words = if access.is_platform_staff() { Words::Platform } else { Words::Tenant };
        let denied_tools = self.store.denied_tools(&scope, lists_from_ms, LIST_LENGTH, words).await?;
        let busiest_agents = self.store.busiest_agents(&scope, lists_from_ms, LIST_LENGTH).await?;
        let (waiting_total, waiting) = self.store.waiting_approvals(&scope, now_ms, i64::try_from(LIST_LENGTH).unwrap_or(8)).await?;
        let entries = self.search_audit(access, audit, Some("policy."), None, i64::try_from(LIST_LENGTH).unwrap_or(8)).await?;
        let mut changes = Vec::with_capacity(entries.len());
        for entry in entries {
            let tenant = match &entry.tenant_id {
                Some(tenant_id) => Some(self.tenant(tenant_id).await.map(|tenant| tenant.slug.clone()).unwrap_or_else(|_| tenant_id.to_string())),
                None => None,
            };
            changes.push(RecentChange {
                tenant,
                actor: entry.actor,
                action: entry.action,
                target: entry.target,
                href: None,
                at: entry.created_at,
                before: entry.before,
                after: entry.after,
            });
        }
        Ok(Insight {
            window,
            now_ms,
            every_tenant: scope == ReceiptScope::AllTenants,
            series,
            totals,
            lists_from_ms,
            denied_tools,
            busiest_agents,
            waiting,
            waiting_total,
            changes,
        })
    }
}

/// What settled a decision, in words, for the dashboards: the decisive rule, or the step of the
/// decision procedure when no rule was.
pub(crate) fn settled_by(decision: &Decision) -> String {
    if let Some(matched) = decision.matched.iter().find(|matched| matched.decisive) {
        return matched.rule.to_string();
    }
    match decision.basis {
        Basis::ToolDisabled => "the tool is not enabled",
        Basis::ExplicitDeny => "a refusal before any policy",
        Basis::Requirement => "an unmet requirement",
        Basis::Cap => "a cap",
        Basis::RateLimit => "a rate limit",
        Basis::Budget => "a budget",
        Basis::CountersUnavailable => "the counters out of reach",
        Basis::Rules => "the rules",
        Basis::Default => "the default behaviour",
    }
    .to_owned()
}

/// The dashboard a caller sees on the console's first page: the platform's for platform staff, their
/// tenant's for a tenant's admins; `None` for whom may not read records (such as an approver).
pub fn insight_target(access: &Access) -> Option<ReceiptsOf<'static>> {
    if access.is_platform_staff() {
        return Some(ReceiptsOf::EveryTenant);
    }
    access.can(Action::ReadRecords).then_some(ReceiptsOf::Tenant(Target::Own))
}
