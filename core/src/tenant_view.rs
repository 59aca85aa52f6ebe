//! Records as a tenant's people and agents may read them: the platform's rules appear as platform
//! boundaries (`charter_policy`'s `tenant_view`), never with the platform policy's id, name,
//! version or conditions. What is stored is the full explanation; platform staff read that.

use charter_policy::{matched_seen_by_tenant, reason_seen_by_tenant, Decision, EffectivePolicy, MatchedRule};
use charter_store::{Approval, Receipt, PLATFORM_VERSION_PREFIX};

use crate::access::Access;
use crate::CoreError;

/// Whether `access` is a tenant's (a person of a tenant, or an agent's key).
pub(crate) fn is_tenant_side(access: &Access) -> bool {
    !access.is_platform_staff()
}

/// The versions of the tenant's own policies in a recorded `policy_versions`, without the
/// platform's (recorded under `PLATFORM_VERSION_PREFIX`).
fn own_versions(recorded: &str) -> Result<String, CoreError> {
    let mut versions: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(recorded).map_err(|err| CoreError::internal("reading recorded policy versions", err))?;
    versions.retain(|id, _| !id.starts_with(PLATFORM_VERSION_PREFIX));
    serde_json::to_string(&versions).map_err(|err| CoreError::internal("writing policy versions", err))
}

pub(crate) fn decision_for(access: &Access, decision: Decision) -> Decision {
    if is_tenant_side(access) {
        decision.into_seen_by_tenant()
    } else {
        decision
    }
}

pub(crate) fn effective_for(access: &Access, effective: EffectivePolicy) -> EffectivePolicy {
    if is_tenant_side(access) {
        effective.seen_by_tenant()
    } else {
        effective
    }
}

pub(crate) fn receipt_for(access: &Access, receipt: Receipt) -> Result<Receipt, CoreError> {
    if !is_tenant_side(access) {
        return Ok(receipt);
    }
    let decision: Decision = serde_json::from_str(&receipt.decision).map_err(|err| CoreError::internal("reading a stored decision", err))?;
    let seen = decision.seen_by_tenant();
    let stored = serde_json::to_string(&seen).map_err(|err| CoreError::internal("writing a decision", err))?;
    let policy_versions = own_versions(&receipt.policy_versions)?;
    Ok(Receipt { reason: seen.reason, decision: stored, policy_versions, ..receipt })
}

pub(crate) fn receipts_for(access: &Access, receipts: Vec<Receipt>) -> Result<Vec<Receipt>, CoreError> {
    receipts.into_iter().map(|receipt| receipt_for(access, receipt)).collect()
}

pub(crate) fn approval_for(access: &Access, approval: Approval) -> Result<Approval, CoreError> {
    if !is_tenant_side(access) {
        return Ok(approval);
    }
    let matched: Vec<MatchedRule> = serde_json::from_str(&approval.matched).map_err(|err| CoreError::internal("reading an approval's rules", err))?;
    let reason = reason_seen_by_tenant(&approval.reason, &matched, &[], None);
    let seen: Vec<MatchedRule> = matched.iter().map(matched_seen_by_tenant).collect();
    let matched = serde_json::to_string(&seen).map_err(|err| CoreError::internal("writing an approval's rules", err))?;
    let policy_versions = own_versions(&approval.policy_versions)?;
    Ok(Approval { reason, matched, policy_versions, ..approval })
}
