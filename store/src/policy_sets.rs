//! The compiled policy set of each tenant, kept in memory and replaced atomically on change.
//!
//! A decision takes an `Arc` of its tenant's set and never waits for a writer. Every committed
//! policy or settings change invalidates the affected entries (a platform change all of them), so
//! the very next decision compiles from the database and sees the change. A generation counter
//! stops a load that raced with a change from caching what it read before the change.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use charter_policy::PolicySet;

use crate::{Owner, Store, StoreError, TenantId};

/// One tenant's compiled set and the version of every policy in it (recorded on receipts).
#[derive(Debug)]
pub struct CompiledTenant {
    pub set: PolicySet,
    pub versions: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub(crate) struct PolicySets {
    generation: AtomicU64,
    tenants: RwLock<HashMap<TenantId, Arc<CompiledTenant>>>,
}

impl PolicySets {
    /// Drops one tenant's set, or every set for a change of the platform's.
    pub(crate) fn invalidate(&self, owner: &Owner) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let Ok(mut tenants) = self.tenants.write() else { return };
        match owner {
            Owner::Tenant(tenant_id) => {
                tenants.remove(tenant_id);
            }
            Owner::Platform => tenants.clear(),
        }
    }

    fn get(&self, tenant_id: &TenantId) -> Option<Arc<CompiledTenant>> {
        self.tenants.read().ok()?.get(tenant_id).cloned()
    }
}

impl Store {
    /// The tenant's compiled policy set: from memory, or compiled from the database on a miss.
    pub async fn policy_set(&self, tenant_id: &TenantId) -> Result<Arc<CompiledTenant>, StoreError> {
        if let Some(hit) = self.policy_sets.get(tenant_id) {
            return Ok(hit);
        }
        let generation = self.policy_sets.generation.load(Ordering::SeqCst);
        let inputs = self.load_engine_inputs(tenant_id).await?;
        let versions = inputs.platform.iter().chain(&inputs.tenant).chain(&inputs.agents).map(|policy| (policy.id.clone(), policy.version)).collect();
        let compiled = Arc::new(CompiledTenant { set: PolicySet::compile(&inputs.settings, &inputs.platform, &inputs.tenant, &inputs.agents), versions });
        if let Ok(mut tenants) = self.policy_sets.tenants.write() {
            if self.policy_sets.generation.load(Ordering::SeqCst) == generation {
                tenants.insert(tenant_id.clone(), compiled.clone());
            }
        }
        Ok(compiled)
    }
}
