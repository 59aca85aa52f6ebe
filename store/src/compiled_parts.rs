//! The two compiled parts a tenant's policy set is joined from, and how each is read.
//!
//! - A [`PlatformPart`]: the platform's rules of one release (or of the draft), read and compiled
//!   once and shared by every tenant that runs it; with the release's baselines, ready for the
//!   tenants' policies that extend them.
//! - An [`OwnPart`]: one tenant's own rules (tenant and agent scope) at one revision, compiled
//!   once. A platform change joins it to the new platform part without compiling it again, unless
//!   its policies extend a baseline whose release changed.
//!
//! Releases and revisions are immutable rows, read by number, so a part compiled for a number is
//! right for as long as the number is the one in force.

use std::collections::HashMap;
use std::sync::Arc;

use charter_policy::{PlatformRules, PlatformSettings, Policy, Scope, TenantRules};
use sqlx::AnyConnection;

use crate::policies::{load_policies, to_engine_policy, BASELINE_PREFIX};
use crate::{Owner, ReleaseChoice, Store, StoreError, StoredPolicy, TenantId};

/// The platform's rules of one release, or of the draft (`release` is `None`).
#[derive(Debug)]
pub(crate) struct PlatformPart {
    pub release: Option<i64>,
    /// The default behaviour the release was published with (the enabled tools are read live).
    pub settings: PlatformSettings,
    pub rules: Arc<PlatformRules>,
    /// The release's baselines by name: not enforced as platform policies, they join the tenant
    /// and agent policies that extend them.
    baselines: HashMap<String, Policy>,
    /// Each platform policy's id and version, in the order compiled.
    pub versions: Vec<(String, u64)>,
}

/// A tenant's own rules at one revision.
#[derive(Debug)]
pub(crate) struct OwnPart {
    pub revision: i64,
    /// The platform part whose baselines its policies extend (`Some(None)`: the draft's); `None`
    /// when they extend none, and so stay right under any release.
    pub baselines_from: Option<Option<i64>>,
    pub rules: Arc<TenantRules>,
    /// Each own policy's id and version, baseline extensions as `baseline:<name>`.
    pub versions: Vec<(String, u64)>,
}

impl OwnPart {
    /// Whether this part is the tenant's own rules at `revision` under `platform`.
    pub(crate) fn fits(&self, revision: i64, platform: &PlatformPart) -> bool {
        self.revision == revision
            && match self.baselines_from {
                None => true,
                // The draft's baselines change without a new number: never reused.
                Some(Some(release)) => platform.release == Some(release),
                Some(None) => false,
            }
    }
}

impl Store {
    /// Reads and compiles the platform's rules at `choice`.
    pub(crate) async fn load_platform_part(&self, conn: &mut AnyConnection, choice: ReleaseChoice) -> Result<PlatformPart, StoreError> {
        let (release, settings, stored) = match choice {
            ReleaseChoice::Draft => {
                let (settings, _) = crate::policies::load_settings(&mut *conn).await?;
                (None, settings, load_policies(&mut *conn, &Owner::Platform).await?)
            }
            ReleaseChoice::Number(number) => {
                let settings = crate::releases::release_settings(&mut *conn, number).await?;
                (Some(number), settings, crate::releases::release_policies(&mut *conn, number).await?)
            }
        };
        // Reading the documents and compiling them is CPU work: off the async workers.
        self.compiles.run(move || compile_platform(release, settings, &stored)).await?
    }

    /// Reads and compiles the tenant's own policies at `revision`, extending the baselines of
    /// `platform`.
    pub(crate) async fn load_own_part(
        &self,
        conn: &mut AnyConnection,
        tenant_id: &TenantId,
        revision: i64,
        platform: Arc<PlatformPart>,
    ) -> Result<OwnPart, StoreError> {
        let stored = crate::revisions::revision_policies(conn, tenant_id, revision).await?;
        self.compiles.run(move || compile_own(revision, &stored, &platform)).await?
    }
}

fn compile_platform(release: Option<i64>, settings: PlatformSettings, stored: &[StoredPolicy]) -> Result<PlatformPart, StoreError> {
    let mut policies = Vec::new();
    let mut baselines = HashMap::new();
    for stored in stored {
        let policy = to_engine_policy(stored)?;
        match policy.baseline.clone() {
            Some(name) => {
                baselines.insert(name, policy);
            }
            None => policies.push(policy),
        }
    }
    // Platform policies are recorded as `platform:<id>`, so that a tenant's view of a receipt can
    // leave them out (a tenant does not learn the platform's policy ids).
    let versions = policies.iter().map(|policy| (format!("{}{}", crate::PLATFORM_VERSION_PREFIX, policy.id), policy.version)).collect();
    Ok(PlatformPart { release, settings, rules: Arc::new(PlatformRules::compile(&policies)), baselines, versions })
}

/// A platform baseline is not a platform policy: its rules join, as a policy of their own in the
/// same scope, every tenant or agent policy that extends it (a baseline the release does not hold
/// adds nothing; saving such a policy is refused).
fn compile_own(revision: i64, stored: &[StoredPolicy], platform: &PlatformPart) -> Result<OwnPart, StoreError> {
    let (mut tenant, mut agents) = (Vec::new(), Vec::new());
    let mut extends_any = false;
    for stored in stored {
        let policy = to_engine_policy(stored)?;
        extends_any |= !policy.extends.is_empty();
        let extensions: Vec<Policy> =
            policy.extends.iter().filter_map(|name| platform.baselines.get(name).map(|baseline| extension(&policy, name, baseline))).collect();
        let into = if policy.scope == Scope::Agent { &mut agents } else { &mut tenant };
        into.push(policy);
        into.extend(extensions);
    }
    let versions = tenant.iter().chain(&agents).map(|policy| (policy.id.clone(), policy.version)).collect();
    Ok(OwnPart { revision, baselines_from: extends_any.then_some(platform.release), rules: Arc::new(TenantRules::compile(&tenant, &agents)), versions })
}

/// The rules of baseline `name` as a policy in the scope of `policy`, which extends it. Its id
/// names the baseline, never the platform policy behind it.
fn extension(policy: &Policy, name: &str, baseline: &Policy) -> Policy {
    Policy {
        id: format!("{BASELINE_PREFIX}{name}"),
        name: format!("baseline {name} (extended by {})", policy.name),
        description: baseline.description.clone(),
        scope: policy.scope,
        agent: policy.agent.clone(),
        version: baseline.version,
        default: baseline.default,
        confidential: false,
        baseline: None,
        extends: Vec::new(),
        rules: baseline.rules.clone(),
    }
}
