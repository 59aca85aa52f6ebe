//! The compiled policy set of each tenant, kept in memory within a budget and replaced atomically
//! on change.
//!
//! A decision takes an `Arc` of its tenant's set and never waits for a writer. A set is joined
//! from two shared parts (`compiled_parts`): the platform's rules of the tenant's release, compiled
//! once for every tenant, and the tenant's own rules at its revision. The sets live in a cache
//! weighed by an estimate of their own rules' heap and bounded by a budget
//! ([`DEFAULT_POLICY_CACHE_BYTES`], or `Store::set_policy_cache_budget`); past it the least
//! valuable are evicted (quick_cache's CLOCK-Pro) and compiled again on their next use.
//!
//! Every committed change invalidates what it affects, so the very next decision sees it:
//! - a change of a tenant drops that tenant's sets;
//! - a change of the platform's marks every set stale (a new platform epoch) and drops the
//!   draft's platform part. A stale set is joined again on its next use: its tenant's settings are
//!   read again, the platform part of its release is compiled once for all tenants (numbered
//!   releases are kept, they never change), and its own rules are reused unless their revision
//!   changed or they extend a baseline of another release.
//!
//! A generation counter stops a load that raced with a change from caching what it read before.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use charter_policy::{PlatformSettings, PolicySet};
use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};

use crate::compiled_parts::{OwnPart, PlatformPart};
use crate::{Owner, ReleaseChoice, Selection, Store, StoreError, TenantId};

/// How a platform policy's id is marked in [`CompiledTenant::versions`].
pub const PLATFORM_VERSION_PREFIX: &str = "platform:";

/// The compiled sets' budget unless the process sets another: 256 MiB, some 2,500 tenants of 100
/// rules each (their platform parts are shared and not counted).
pub const DEFAULT_POLICY_CACHE_BYTES: u64 = 256 << 20;

/// One tenant's compiled set and the version of every policy in it (recorded on receipts;
/// platform policies under [`PLATFORM_VERSION_PREFIX`]).
#[derive(Debug)]
pub struct CompiledTenant {
    pub set: PolicySet,
    pub versions: BTreeMap<String, u64>,
    /// `versions` as JSON, as every receipt of this set records them.
    pub versions_json: String,
    /// The platform release compiled in; `None` for the platform's draft.
    pub release: Option<i64>,
    /// The tenant's revision compiled in.
    pub revision: i64,
    /// The candidate that runs in shadow beside this set, if any.
    pub shadow: Option<Selection>,
    /// The tools the MCP gateway serves this tenant, read on first use. They change with the
    /// catalog (a platform change) and the tenant's switches (a change of the tenant), which make
    /// this whole entry stale, so they are kept as long as the compiled set.
    pub(crate) gateway: tokio::sync::OnceCell<Arc<Vec<crate::GatewayTool>>>,
    /// The tenant's own compiled rules, reused when the platform changes.
    pub(crate) own: Arc<OwnPart>,
    /// The platform epoch this set was joined in; an older one is stale.
    epoch: u64,
    /// What this set weighs in the cache.
    bytes: u64,
}

/// The most sets compiled for a named release or revision kept at once; past it they are all
/// dropped (they are previews and pinned decisions, rarely many at a time).
const MAX_SELECTED: usize = 1024;

/// The most numbered releases' platform parts kept; past it they are all dropped (tenants run a
/// handful of releases at a time: the general one, canaries, pins).
const MAX_PLATFORM_PARTS: usize = 64;

/// The cache's shards. Each holds a quarter of the budget, and a set larger than a shard's share
/// is served without being kept.
const SHARDS: usize = 4;

#[derive(Clone)]
struct ByBytes;

impl Weighter<TenantId, Arc<CompiledTenant>> for ByBytes {
    fn weight(&self, _tenant: &TenantId, compiled: &Arc<CompiledTenant>) -> u64 {
        compiled.bytes
    }
}

/// Counts evictions for `/metrics`.
#[derive(Clone, Default)]
struct CountEvictions;

impl Lifecycle<TenantId, Arc<CompiledTenant>> for CountEvictions {
    type RequestState = ();

    fn on_evict(&self, _state: &mut (), _tenant: TenantId, _compiled: Arc<CompiledTenant>) {
        crate::metrics().policy_cache_evictions.inc();
    }
}

type TenantCache = Cache<TenantId, Arc<CompiledTenant>, ByBytes, DefaultHashBuilder, CountEvictions>;

pub(crate) struct PolicySets {
    generation: AtomicU64,
    /// Bumped by every change of the platform's: sets joined in an older epoch are stale.
    epoch: AtomicU64,
    /// What each tenant runs now.
    tenants: TenantCache,
    /// Sets compiled for a named release or revision.
    selected: RwLock<HashMap<(TenantId, Selection), Arc<CompiledTenant>>>,
    /// The platform's compiled rules by release (`None`: the draft).
    platforms: RwLock<HashMap<Option<i64>, Arc<PlatformPart>>>,
    /// The platform's live settings (the tools enabled now), read once for every tenant.
    live: RwLock<Option<Arc<PlatformSettings>>>,
    /// Held by changes and by what keeps a load, so that a load that began before a change is
    /// never kept after it.
    writes: Mutex<()>,
    /// Held while a platform part is read and compiled.
    platform_loading: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for PolicySets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySets").field("tenants", &self.tenants.len()).field("bytes", &self.tenants.weight()).finish_non_exhaustive()
    }
}

impl Default for PolicySets {
    fn default() -> Self {
        PolicySets::with_budget(DEFAULT_POLICY_CACHE_BYTES)
    }
}

impl PolicySets {
    pub(crate) fn with_budget(bytes: u64) -> PolicySets {
        let options = OptionsBuilder::new()
            // Some 100 KB a tenant: a guess that only sizes the table; the weights decide.
            .estimated_items_capacity(usize::try_from(bytes / 100_000).unwrap_or(usize::MAX).max(16))
            .weight_capacity(bytes)
            .shards(SHARDS)
            .build();
        let tenants = match options {
            Ok(options) => Cache::with_options(options, ByBytes, DefaultHashBuilder::default(), CountEvictions),
            // The options above are always valid; a cache of one entry's worth is the safe fallback.
            Err(_) => Cache::with(16, bytes, ByBytes, DefaultHashBuilder::default(), CountEvictions),
        };
        PolicySets {
            generation: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            tenants,
            selected: RwLock::default(),
            platforms: RwLock::default(),
            live: RwLock::default(),
            writes: Mutex::new(()),
            platform_loading: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) fn set_budget(&self, bytes: u64) {
        self.tenants.set_capacity(bytes);
        self.report();
    }

    /// Drops one tenant's sets, or marks every set stale for a change of the platform's.
    pub(crate) fn invalidate(&self, owner: &Owner) {
        let _writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        self.drop_changed(owner);
        self.report();
    }

    /// What `invalidate` does, with `writes` held.
    fn drop_changed(&self, owner: &Owner) {
        match owner {
            Owner::Tenant(tenant_id) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
                self.tenants.remove(tenant_id);
                if let Ok(mut selected) = self.selected.write() {
                    selected.retain(|(tenant, _), _| tenant != tenant_id);
                }
            }
            Owner::Platform => {
                self.epoch.fetch_add(1, Ordering::SeqCst);
                self.generation.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut platforms) = self.platforms.write() {
                    platforms.remove(&None);
                }
                if let Ok(mut live) = self.live.write() {
                    *live = None;
                }
                if let Ok(mut selected) = self.selected.write() {
                    selected.clear();
                }
            }
        }
    }

    /// Forgets everything compiled (when this replica may have missed changes).
    pub(crate) fn forget_all(&self) {
        let _writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        self.drop_changed(&Owner::Platform);
        self.tenants.clear();
        if let Ok(mut platforms) = self.platforms.write() {
            platforms.clear();
        }
        self.report();
    }

    fn get(&self, tenant_id: &TenantId, selection: Selection) -> Option<Arc<CompiledTenant>> {
        if selection == Selection::default() {
            self.tenants.get(tenant_id)
        } else {
            self.selected.read().ok()?.get(&(tenant_id.clone(), selection)).cloned()
        }
    }

    /// Keeps what a load read, unless a change came since it began (checked with `writes` held,
    /// so no change can slip in between the check and the insertion).
    fn keep(&self, tenant_id: &TenantId, selection: Selection, compiled: Arc<CompiledTenant>, generation: u64) {
        let _writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if selection == Selection::default() {
            self.tenants.insert(tenant_id.clone(), compiled);
            self.report();
        } else if let Ok(mut selected) = self.selected.write() {
            if selected.len() >= MAX_SELECTED {
                selected.clear();
            }
            selected.insert((tenant_id.clone(), selection), compiled);
        }
    }

    fn platform(&self, release: Option<i64>) -> Option<Arc<PlatformPart>> {
        self.platforms.read().ok()?.get(&release).cloned()
    }

    fn keep_platform(&self, part: Arc<PlatformPart>, generation: u64) {
        // A numbered release never changes; the draft's part is kept only if no change came
        // while it was read.
        let _writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        if part.release.is_none() && self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if let Ok(mut platforms) = self.platforms.write() {
            if platforms.len() >= MAX_PLATFORM_PARTS {
                platforms.clear();
            }
            platforms.insert(part.release, part);
        }
    }

    fn live_settings(&self) -> Option<Arc<PlatformSettings>> {
        self.live.read().ok()?.clone()
    }

    fn keep_live_settings(&self, settings: Arc<PlatformSettings>, generation: u64) {
        let _writes = self.writes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Ok(mut live) = self.live.write() {
            if self.generation.load(Ordering::SeqCst) == generation {
                *live = Some(settings);
            }
        }
    }

    fn report(&self) {
        let metrics = crate::metrics();
        metrics.policy_cache_bytes.set(i64::try_from(self.tenants.weight()).unwrap_or(i64::MAX));
        metrics.policy_cache_entries.set(i64::try_from(self.tenants.len()).unwrap_or(i64::MAX));
    }
}

impl Store {
    /// The tenant's compiled policy set as it runs now: from memory, or compiled from the database
    /// on a miss.
    pub async fn policy_set(&self, tenant_id: &TenantId) -> Result<Arc<CompiledTenant>, StoreError> {
        self.policy_set_at(tenant_id, Selection::default()).await
    }

    /// Sets the memory budget of the compiled policy sets kept (an estimate of their own rules'
    /// heap), evicting at once what is over it.
    pub fn set_policy_cache_budget(&self, bytes: u64) {
        self.policy_sets.set_budget(bytes);
    }

    /// The estimated heap of the compiled sets kept now, and how many there are.
    pub fn policy_cache_usage(&self) -> (u64, usize) {
        (self.policy_sets.tenants.weight(), self.policy_sets.tenants.len())
    }

    /// The tenant's compiled policy set at the platform release and tenant revision `selection`
    /// names (what it runs now where it names none). A release or revision that does not exist is
    /// not found.
    pub async fn policy_set_at(&self, tenant_id: &TenantId, selection: Selection) -> Result<Arc<CompiledTenant>, StoreError> {
        // The epoch is read before the generation: a set labelled with an epoch was read after
        // every platform change of the epochs before it.
        let epoch = self.policy_sets.epoch.load(Ordering::SeqCst);
        let cached = self.policy_sets.get(tenant_id, selection);
        if let Some(hit) = &cached {
            if hit.epoch == epoch {
                crate::metrics().policy_cache_hits.inc();
                return Ok(hit.clone());
            }
        }
        crate::metrics().policy_cache_misses.inc();
        let generation = self.policy_sets.generation.load(Ordering::SeqCst);
        let compiled = Arc::new(self.join_policy_set(tenant_id, selection, cached.map(|stale| stale.own.clone()), epoch, generation).await?);
        self.policy_sets.keep(tenant_id, selection, compiled.clone(), generation);
        Ok(compiled)
    }

    /// Reads what the tenant runs at `selection` and joins its set: the platform part of its
    /// release (compiled once for every tenant), and its own part (`reusable` when it still fits).
    async fn join_policy_set(
        &self,
        tenant_id: &TenantId,
        selection: Selection,
        reusable: Option<Arc<OwnPart>>,
        epoch: u64,
        generation: u64,
    ) -> Result<CompiledTenant, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let tenant_row =
            crate::tenants::tenant_row(&mut conn, tenant_id).await?.ok_or_else(|| StoreError::NotFound { what: "tenant", id: tenant_id.to_string() })?;
        let rollout = crate::releases::load_tenant_rollout(&mut conn, tenant_id).await?;
        let choice = selection.release.unwrap_or(ReleaseChoice::Number(rollout.release));
        let release = match choice {
            ReleaseChoice::Draft => None,
            ReleaseChoice::Number(number) => Some(number),
        };
        let platform = match self.policy_sets.platform(release) {
            Some(part) => part,
            None => {
                // One load at a time: the tenants that miss together after a release wait for
                // the first to compile it, then share its part.
                let _loading = self.policy_sets.platform_loading.lock().await;
                match self.policy_sets.platform(release) {
                    Some(part) => part,
                    None => {
                        let part = Arc::new(self.load_platform_part(&mut conn, choice).await?);
                        crate::metrics().platform_compiles.inc();
                        self.policy_sets.keep_platform(part.clone(), generation);
                        part
                    }
                }
            }
        };
        // The tools this tenant has: the platform's enabled ones (live: the catalog's switches are
        // an emergency brake, never staged) it exposes to the tenant, less those the tenant
        // switched off.
        let live = match self.policy_sets.live_settings() {
            Some(live) => live,
            None => {
                let (live, _) = crate::policies::load_settings(&mut conn).await?;
                let live = Arc::new(live);
                self.policy_sets.keep_live_settings(live.clone(), generation);
                live
            }
        };
        let mut settings = platform.settings.clone();
        settings.enabled_tools = crate::tools::enabled_for_tenant(&mut conn, &tenant_row, live.enabled_tools.clone()).await?;
        // Read by number even for the newest revision: its rows never change, so what is read is
        // exactly the revision the receipts will name.
        let revision = selection.revision.unwrap_or(rollout.revision());
        let own = match reusable.filter(|own| own.fits(revision, &platform)) {
            Some(own) => {
                crate::metrics().policy_rejoins.inc();
                own
            }
            None => {
                let own = Arc::new(self.load_own_part(&mut conn, tenant_id, revision, platform.clone()).await?);
                crate::metrics().policy_recompiles.inc();
                own
            }
        };
        // What runs in shadow runs beside what the tenant enforces, not beside a preview.
        let shadow = if selection == Selection::default() { rollout.shadow() } else { None };
        let versions: BTreeMap<String, u64> = platform.versions.iter().chain(&own.versions).cloned().collect();
        let versions_json = serde_json::to_string(&versions).map_err(|err| StoreError::Corrupt(format!("policy versions: {err}")))?;
        let enabled_bytes = settings.enabled_tools.as_ref().map_or(0, |tools| tools.iter().map(|tool| tool.len() + 32).sum::<usize>());
        let bytes = own.rules.approx_bytes() + enabled_bytes + std::mem::size_of::<CompiledTenant>();
        Ok(CompiledTenant {
            set: PolicySet::assemble(settings, platform.rules.clone(), own.rules.clone()),
            versions,
            versions_json,
            release: platform.release,
            revision,
            shadow,
            gateway: tokio::sync::OnceCell::new(),
            own,
            epoch,
            bytes: u64::try_from(bytes).unwrap_or(u64::MAX),
        })
    }
}
