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

/// How a platform policy's id is marked in [`CompiledTenant::versions`].
pub const PLATFORM_VERSION_PREFIX: &str = "platform:";

/// One tenant's compiled set and the version of every policy in it (recorded on receipts;
/// platform policies under [`PLATFORM_VERSION_PREFIX`]).
#[derive(Debug)]
pub struct CompiledTenant {
    pub set: PolicySet,
    pub versions: BTreeMap<String, u64>,
    /// The tools the MCP gateway serves this tenant, read on first use. They change with the
    /// catalog (a platform change) and the tenant's switches (a change of the tenant), which drop
    /// this whole entry, so they are kept as long as the compiled set.
    pub(crate) gateway: tokio::sync::OnceCell<Arc<Vec<crate::GatewayTool>>>,
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
            crate::metrics().policy_cache_hits.inc();
            return Ok(hit);
        }
        let generation = self.policy_sets.generation.load(Ordering::SeqCst);
        let stored = self.load_engine_rows(tenant_id).await?;
        // Reading the documents and compiling them is CPU work: off the async workers.
        let compiled = self
            .compiles
            .run(move || {
                let inputs = stored.into_engine_inputs()?;
                // Platform policies are recorded as `platform:<id>`, so that a tenant's view of a
                // receipt can leave them out (a tenant does not learn the platform's policy ids).
                let platform = inputs.platform.iter().map(|policy| (format!("{PLATFORM_VERSION_PREFIX}{}", policy.id), policy.version));
                let own = inputs.tenant.iter().chain(&inputs.agents).map(|policy| (policy.id.clone(), policy.version));
                let versions = platform.chain(own).collect();
                Ok::<_, StoreError>(Arc::new(CompiledTenant {
                    set: PolicySet::compile(&inputs.settings, &inputs.platform, &inputs.tenant, &inputs.agents),
                    versions,
                    gateway: tokio::sync::OnceCell::new(),
                }))
            })
            .await??;
        crate::metrics().policy_recompiles.inc();
        if let Ok(mut tenants) = self.policy_sets.tenants.write() {
            if self.policy_sets.generation.load(Ordering::SeqCst) == generation {
                tenants.insert(tenant_id.clone(), compiled.clone());
            }
        }
        Ok(compiled)
    }
}
