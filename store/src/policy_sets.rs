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

use crate::{Owner, Selection, Store, StoreError, TenantId};

/// How a platform policy's id is marked in [`CompiledTenant::versions`].
pub const PLATFORM_VERSION_PREFIX: &str = "platform:";

/// One tenant's compiled set and the version of every policy in it (recorded on receipts;
/// platform policies under [`PLATFORM_VERSION_PREFIX`]).
#[derive(Debug)]
pub struct CompiledTenant {
    pub set: PolicySet,
    pub versions: BTreeMap<String, u64>,
    /// The platform release compiled in; `None` for the platform's draft.
    pub release: Option<i64>,
    /// The tenant's revision compiled in.
    pub revision: i64,
    /// The candidate that runs in shadow beside this set, if any.
    pub shadow: Option<Selection>,
    /// The tools the MCP gateway serves this tenant, read on first use. They change with the
    /// catalog (a platform change) and the tenant's switches (a change of the tenant), which drop
    /// this whole entry, so they are kept as long as the compiled set.
    pub(crate) gateway: tokio::sync::OnceCell<Arc<Vec<crate::GatewayTool>>>,
}

/// The most sets compiled for a named release or revision kept at once; past it they are all
/// dropped (they are previews and pinned decisions, rarely many at a time).
const MAX_SELECTED: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct PolicySets {
    generation: AtomicU64,
    /// What each tenant runs now.
    tenants: RwLock<HashMap<TenantId, Arc<CompiledTenant>>>,
    /// Sets compiled for a named release or revision.
    selected: RwLock<HashMap<(TenantId, Selection), Arc<CompiledTenant>>>,
}

impl PolicySets {
    /// Drops one tenant's sets, or every set for a change of the platform's.
    pub(crate) fn invalidate(&self, owner: &Owner) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut tenants) = self.tenants.write() {
            match owner {
                Owner::Tenant(tenant_id) => {
                    tenants.remove(tenant_id);
                }
                Owner::Platform => tenants.clear(),
            }
        }
        if let Ok(mut selected) = self.selected.write() {
            match owner {
                Owner::Tenant(tenant_id) => selected.retain(|(tenant, _), _| tenant != tenant_id),
                Owner::Platform => selected.clear(),
            }
        }
    }

    fn get(&self, tenant_id: &TenantId, selection: Selection) -> Option<Arc<CompiledTenant>> {
        if selection == Selection::default() {
            self.tenants.read().ok()?.get(tenant_id).cloned()
        } else {
            self.selected.read().ok()?.get(&(tenant_id.clone(), selection)).cloned()
        }
    }

    fn keep(&self, tenant_id: &TenantId, selection: Selection, compiled: Arc<CompiledTenant>, generation: u64) {
        if selection == Selection::default() {
            if let Ok(mut tenants) = self.tenants.write() {
                if self.generation.load(Ordering::SeqCst) == generation {
                    tenants.insert(tenant_id.clone(), compiled);
                }
            }
        } else if let Ok(mut selected) = self.selected.write() {
            if self.generation.load(Ordering::SeqCst) == generation {
                if selected.len() >= MAX_SELECTED {
                    selected.clear();
                }
                selected.insert((tenant_id.clone(), selection), compiled);
            }
        }
    }
}

impl Store {
    /// The tenant's compiled policy set as it runs now: from memory, or compiled from the database
    /// on a miss.
    pub async fn policy_set(&self, tenant_id: &TenantId) -> Result<Arc<CompiledTenant>, StoreError> {
        self.policy_set_at(tenant_id, Selection::default()).await
    }

    /// The tenant's compiled policy set at the platform release and tenant revision `selection`
    /// names (what it runs now where it names none). A release or revision that does not exist is
    /// not found.
    pub async fn policy_set_at(&self, tenant_id: &TenantId, selection: Selection) -> Result<Arc<CompiledTenant>, StoreError> {
        if let Some(hit) = self.policy_sets.get(tenant_id, selection) {
            crate::metrics().policy_cache_hits.inc();
            return Ok(hit);
        }
        let generation = self.policy_sets.generation.load(Ordering::SeqCst);
        let stored = self.load_engine_rows(tenant_id, selection).await?;
        // Reading the documents and compiling them is CPU work: off the async workers.
        let compiled = self
            .compiles
            .run(move || {
                let (release, revision, shadow) = (stored.release, stored.revision, stored.shadow);
                let inputs = stored.into_engine_inputs()?;
                // Platform policies are recorded as `platform:<id>`, so that a tenant's view of a
                // receipt can leave them out (a tenant does not learn the platform's policy ids).
                let platform = inputs.platform.iter().map(|policy| (format!("{PLATFORM_VERSION_PREFIX}{}", policy.id), policy.version));
                let own = inputs.tenant.iter().chain(&inputs.agents).map(|policy| (policy.id.clone(), policy.version));
                let versions = platform.chain(own).collect();
                Ok::<_, StoreError>(Arc::new(CompiledTenant {
                    set: PolicySet::compile(&inputs.settings, &inputs.platform, &inputs.tenant, &inputs.agents),
                    versions,
                    release,
                    revision,
                    shadow,
                    gateway: tokio::sync::OnceCell::new(),
                }))
            })
            .await??;
        crate::metrics().policy_recompiles.inc();
        self.policy_sets.keep(tenant_id, selection, compiled.clone(), generation);
        Ok(compiled)
    }
}
