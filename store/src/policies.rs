//! Policies: validated by the engine, checked against their parents, counted against the tenant's
//! quota, versioned for optimistic concurrency, and written together with their audit entry.

use charter_policy::{check_policy, lint, DelegationIssue, DelegationReport, PlatformSettings, Policy, Scope};
use sqlx::{AnyConnection, Row};

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::error::conflict_on_unique;
use crate::policy_history::record_version;
use crate::policy_search::tool_index;
use crate::revisions::{lock_revisions, record_revision};
use crate::sql::Sql;
use crate::{now_ms, Actor, HeavyWork, Owner, PolicyId, Store, StoreError, StoredPolicy, TenantId};

const COLUMNS: &str = "id, tenant_id, scope, agent, name, description, version, document, created_at, updated_at, updated_by";

/// Turns a stored row back into the engine's policy, with its id and version.
pub fn to_engine_policy(stored: &StoredPolicy) -> Result<Policy, StoreError> {
    let mut policy = Policy::from_stored_json(&stored.document).map_err(|err| StoreError::Corrupt(format!("policy `{}`: {err}", stored.id)))?;
    policy.id = stored.id.to_string();
    policy.version = u64::try_from(stored.version).unwrap_or(0);
    Ok(policy)
}

/// The canonical stored document: the policy without its store-assigned id and version.
fn document_of(policy: &Policy) -> Result<String, StoreError> {
    let mut document = policy.clone();
    document.id = String::new();
    document.version = 0;
    let text = document.to_json().map_err(|err| StoreError::Corrupt(err.to_string()))?;
    // What is stored must always read back: a document that parses once but not in its stored
    // form would fail every later decision of its tenant and every list that shows it.
    Policy::from_stored_json(&text).map_err(|err| StoreError::invalid("policy", format!("cannot be stored as written: {err}")))?;
    Ok(text)
}

/// A platform policy is owned by no tenant; tenant and agent policies by exactly one.
fn check_owner(owner: &Owner, policy: &Policy) -> Result<(), StoreError> {
    match (owner, policy.scope) {
        (Owner::Platform, Scope::Platform) | (Owner::Tenant(_), Scope::Tenant | Scope::Agent) => {}
        (Owner::Platform, scope) => return Err(StoreError::invalid("scope", format!("must be `platform` here, not `{scope}`"))),
        (Owner::Tenant(_), Scope::Platform) => return Err(StoreError::invalid("scope", "a tenant can only write `tenant` or `agent` policies")),
    }
    if policy.scope == Scope::Agent && policy.agent.as_deref().is_none_or(|a| a.trim().is_empty()) {
        return Err(StoreError::invalid("agent", "an agent policy must name its agent"));
    }
    if policy.scope != Scope::Agent && policy.agent.is_some() {
        return Err(StoreError::invalid("agent", "only an agent policy names an agent"));
    }
    if policy.name.trim().is_empty() {
        return Err(StoreError::invalid("name", "must not be empty"));
    }
    Ok(())
}

pub(crate) fn audit_json(policy: &StoredPolicy) -> Option<String> {
    serde_json::to_string(policy).ok()
}

pub(crate) async fn load_settings(conn: &mut AnyConnection) -> Result<(PlatformSettings, i64), StoreError> {
    let row = sqlx::query("SELECT settings, version FROM platform_settings WHERE id = 'platform'").fetch_optional(conn).await?;
    match row {
        Some(row) => {
            let text: String = row.try_get("settings")?;
            let settings = serde_json::from_str(&text).map_err(|err| StoreError::Corrupt(format!("platform settings: {err}")))?;
            Ok((settings, row.try_get("version")?))
        }
        None => Ok((PlatformSettings::default(), 0)),
    }
}

pub(crate) async fn load_policies(conn: &mut AnyConnection, owner: &Owner) -> Result<Vec<StoredPolicy>, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM policies WHERE "));
    sql.owner("tenant_id", owner).push(" ORDER BY scope, agent, name");
    let (text, args) = sql.build()?;
    Ok(sqlx::query_as_with(&text, args).fetch_all(conn).await?)
}

/// One of the owner's policies, read inside the caller's connection or transaction.
async fn load_policy(conn: &mut AnyConnection, owner: &Owner, id: &PolicyId) -> Result<StoredPolicy, StoreError> {
    let mut sql = Sql::new(&format!("SELECT {COLUMNS} FROM policies WHERE id = "));
    sql.bind(id.clone()).push(" AND ").owner("tenant_id", owner);
    let (text, args) = sql.build()?;
    let policy: Option<StoredPolicy> = sqlx::query_as_with(&text, args).fetch_optional(conn).await?;
    policy.ok_or_else(|| StoreError::NotFound { what: "policy", id: id.to_string() })
}

/// The parents a tenant or agent policy is checked against: every platform policy and the
/// tenant's own policies (the engine ignores those not strictly above the child's scope). A
/// platform policy has no parents; it gets the language's warnings only.
async fn delegation_report(
    conn: &mut AnyConnection,
    lane: &HeavyWork,
    owner: &Owner,
    policy: &Policy,
    replacing: Option<&PolicyId>,
) -> Result<DelegationReport, StoreError> {
    let tenant_id = match owner {
        Owner::Platform => {
            if let Some(name) = &policy.baseline {
                // One baseline of each name in the draft (and so in every release).
                for stored in load_policies(&mut *conn, &Owner::Platform).await? {
                    if Some(&stored.id) != replacing && to_engine_policy(&stored)?.baseline.as_ref() == Some(name) {
                        return Err(StoreError::Conflict { what: "baseline", key: name.clone() });
                    }
                }
            }
            let (settings, _) = load_settings(&mut *conn).await?;
            return Ok(DelegationReport { errors: Vec::new(), warnings: lint(policy, &[], &settings) });
        }
        Owner::Tenant(tenant_id) => tenant_id,
    };
    // The platform's rules as this tenant runs them: those of its release, not the draft.
    let release = crate::releases::load_tenant_rollout(&mut *conn, tenant_id).await?.release;
    let (mut settings, platform) = crate::releases::platform_at_release(&mut *conn, release).await?;
    // A tenant's warnings about tools it cannot call speak of the tools it has, and so say
    // nothing about the tools exposed to other tenants only.
    let sql = format!("SELECT {} FROM tenants WHERE id = $1", crate::tenants::TENANT_COLUMNS);
    let tenant: Option<crate::Tenant> = sqlx::query_as(&sql).bind(tenant_id).fetch_optional(&mut *conn).await?;
    if let Some(tenant) = tenant {
        settings.enabled_tools = crate::tools::enabled_for_tenant(&mut *conn, &tenant, settings.enabled_tools.take()).await?;
    }
    let own: Vec<StoredPolicy> = load_policies(&mut *conn, owner).await?.into_iter().filter(|stored| Some(&stored.id) != replacing).collect();
    let policy = policy.clone();
    // Reading every parent is CPU work that grows with the tenant: off the async workers.
    let report = lane
        .run(move || {
            let mut parents = Vec::with_capacity(platform.len() + own.len());
            let mut baselines = Vec::new();
            for stored in &platform {
                let parent = to_engine_policy(stored)?;
                // A baseline is not enforced as a platform policy, so it is no parent.
                match parent.baseline {
                    Some(name) => baselines.push(name),
                    None => parents.push(parent),
                }
            }
            // A baseline the tenant's release lacks is an error beside its line, as a collision is.
            let known = if baselines.is_empty() { "it has none".to_owned() } else { format!("it has {}", baselines.join(", ")) };
            let unknown: Vec<DelegationIssue> = policy
                .extends
                .iter()
                .enumerate()
                .filter(|(_, name)| !baselines.contains(name))
                .map(|(index, name)| DelegationIssue {
                    path: format!("extends[{index}]"),
                    message: format!("`{name}` is not a baseline of the platform release this tenant runs; {known}"),
                    parent: None,
                    parent_rule_index: None,
                })
                .collect();
            let mut regexes = policy.regex_cost();
            for stored in &own {
                let parent = to_engine_policy(stored)?;
                regexes = regexes + parent.regex_cost();
                parents.push(parent);
            }
            if let Some(excess) = regexes.tenant_excess() {
                return Err(StoreError::invalid("rules", excess));
            }
            let mut report = check_policy(&policy, &parents, &settings);
            report.errors.splice(0..0, unknown);
            Ok(report)
        })
        .await??;
    if report.is_ok() {
        Ok(report)
    } else {
        Err(StoreError::Delegation(report))
    }
}

/// Saves of platform baselines queue on the rollout row, so two cannot both find a name free.
async fn lock_baseline_names(conn: &mut AnyConnection, owner: &Owner, policy: &Policy) -> Result<(), StoreError> {
    if *owner == Owner::Platform && policy.baseline.is_some() {
        sqlx::query("UPDATE platform_rollout SET latest = latest WHERE id = 'platform'").execute(conn).await?;
    }
    Ok(())
}

/// Locks one of the owner's policies for the rest of the transaction and reads it. The first
/// statement is a write, so PostgreSQL takes the row lock and SQLite its write lock before the
/// read: two writers queue instead of both reading the old row (or SQLite failing the second
/// with "database is locked" when it upgrades a read).
pub(crate) async fn lock_policy(conn: &mut AnyConnection, owner: &Owner, id: &PolicyId) -> Result<StoredPolicy, StoreError> {
    let mut lock = Sql::new("UPDATE policies SET version = version WHERE id = ");
    lock.bind(id.clone()).push(" AND ").owner("tenant_id", owner);
    let (text, args) = lock.build()?;
    sqlx::query_with(&text, args).execute(&mut *conn).await?;
    load_policy(conn, owner, id).await
}

/// Deletes one of the owner's policies if it is still at `version`; false when it was not.
pub(crate) async fn remove_policy(conn: &mut AnyConnection, owner: &Owner, id: &PolicyId, version: i64) -> Result<bool, StoreError> {
    let mut delete = Sql::new("DELETE FROM policies WHERE id = ");
    delete.bind(id.clone()).push(" AND version = ").bind(version).push(" AND ").owner("tenant_id", owner);
    let (text, args) = delete.build()?;
    Ok(sqlx::query_with(&text, args).execute(conn).await?.rows_affected() == 1)
}

/// Creates a policy inside the caller's transaction after validating its scope, its parents and
/// the tenant's quota, and records the audit entry there too.
pub(crate) async fn insert_policy(
    conn: &mut AnyConnection,
    lane: &HeavyWork,
    actor: &Actor,
    owner: &Owner,
    policy: &Policy,
) -> Result<(StoredPolicy, DelegationReport), StoreError> {
    check_owner(owner, policy)?;
    if let Owner::Tenant(tenant_id) = owner {
        // Touching the tenant row serialises concurrent creates for one tenant (a row lock on
        // PostgreSQL, the write lock on SQLite), so two of them cannot both squeeze under the quota.
        let locked = sqlx::query("UPDATE tenants SET policy_quota = policy_quota WHERE id = $1").bind(tenant_id).execute(&mut *conn).await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "tenant", id: tenant_id.to_string() });
        }
        let quota: i64 = sqlx::query_scalar("SELECT policy_quota FROM tenants WHERE id = $1").bind(tenant_id).fetch_one(&mut *conn).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM policies WHERE tenant_id = $1").bind(tenant_id).fetch_one(&mut *conn).await?;
        if count >= quota {
            return Err(StoreError::QuotaExceeded { quota });
        }
    }
    lock_baseline_names(&mut *conn, owner, policy).await?;
    let report = delegation_report(&mut *conn, lane, owner, policy, None).await?;
    let now = now_ms();
    let stored = StoredPolicy {
        id: PolicyId::new(uuid::Uuid::now_v7().to_string()),
        tenant_id: owner.tenant_id().cloned(),
        scope: policy.scope,
        agent: policy.agent.clone(),
        name: policy.name.trim().to_owned(),
        description: policy.description.clone(),
        version: 1,
        document: document_of(policy)?,
        created_at: now,
        updated_at: now,
        updated_by: actor.id.clone(),
    };
    let sql = format!("INSERT INTO policies ({COLUMNS}, tool_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)");
    sqlx::query(&sql)
        .bind(&stored.id)
        .bind(&stored.tenant_id)
        .bind(stored.scope.to_string())
        .bind(&stored.agent)
        .bind(&stored.name)
        .bind(&stored.description)
        .bind(stored.version)
        .bind(&stored.document)
        .bind(stored.created_at)
        .bind(stored.updated_at)
        .bind(&stored.updated_by)
        .bind(tool_index(policy))
        .execute(&mut *conn)
        .await
        .map_err(|err| conflict_on_unique(err, "policy", &stored.name))?;
    record_version(&mut *conn, &stored).await?;
    let target = format!("policy:{}", stored.id);
    record(&mut *conn, actor, Change { tenant_id: owner.tenant_id(), action: "policy.create", target: &target, before: None, after: audit_json(&stored) })
        .await?;
    Ok((stored, report))
}

/// Why a policy is written again, as its audit entry says: an edit, or an earlier version restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SaveAction {
    Update,
    Restore { version: i64 },
}

/// Replaces a policy inside the caller's transaction if it is still at `expected_version`, and
/// records the new version in its history.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn replace_policy(
    conn: &mut AnyConnection,
    lane: &HeavyWork,
    actor: &Actor,
    owner: &Owner,
    id: &PolicyId,
    expected_version: i64,
    policy: &Policy,
    action: SaveAction,
) -> Result<(StoredPolicy, DelegationReport), StoreError> {
    check_owner(owner, policy)?;
    let before = lock_policy(&mut *conn, owner, id).await?;
    if before.version != expected_version {
        return Err(StoreError::VersionConflict { what: "policy", id: id.to_string(), expected: expected_version, actual: before.version });
    }
    lock_baseline_names(&mut *conn, owner, policy).await?;
    let report = delegation_report(&mut *conn, lane, owner, policy, Some(id)).await?;
    let after = StoredPolicy {
        scope: policy.scope,
        agent: policy.agent.clone(),
        name: policy.name.trim().to_owned(),
        description: policy.description.clone(),
        version: expected_version + 1,
        document: document_of(policy)?,
        updated_at: now_ms(),
        updated_by: actor.id.clone(),
        ..before.clone()
    };
    // The version in the WHERE clause makes the check and the write one atomic step.
    let mut update = Sql::new("UPDATE policies SET scope = ");
    update
        .bind(after.scope.to_string())
        .push(", agent = ")
        .bind(after.agent.clone())
        .push(", name = ")
        .bind(after.name.clone())
        .push(", description = ")
        .bind(after.description.clone())
        .push(", version = ")
        .bind(after.version)
        .push(", document = ")
        .bind(after.document.clone())
        .push(", updated_at = ")
        .bind(after.updated_at)
        .push(", updated_by = ")
        .bind(after.updated_by.clone())
        .push(", tool_index = ")
        .bind(tool_index(policy))
        .push(" WHERE id = ")
        .bind(id.clone())
        .push(" AND version = ")
        .bind(expected_version)
        .push(" AND ")
        .owner("tenant_id", owner);
    let (text, args) = update.build()?;
    let updated = sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(|err| conflict_on_unique(err, "policy", &after.name))?;
    if updated.rows_affected() == 0 {
        let actual = load_policy(&mut *conn, owner, id).await.map(|current| current.version).unwrap_or(-1);
        return Err(StoreError::VersionConflict { what: "policy", id: id.to_string(), expected: expected_version, actual });
    }
    record_version(&mut *conn, &after).await?;
    let target = format!("policy:{id}");
    let (action, after_json) = match action {
        SaveAction::Update => ("policy.update", audit_json(&after)),
        // The entry says which version came back.
        SaveAction::Restore { version } => {
            let mut restored = serde_json::to_value(&after).ok();
            if let Some(object) = restored.as_mut().and_then(|v| v.as_object_mut()) {
                object.insert("restored_from_version".to_owned(), serde_json::json!(version));
            }
            ("policy.restore", restored.map(|v| v.to_string()))
        }
    };
    record(&mut *conn, actor, Change { tenant_id: owner.tenant_id(), action, target: &target, before: audit_json(&before), after: after_json }).await?;
    Ok((after, report))
}

impl Store {
    /// The owner's policies: one tenant's (tenant and agent scope), or the platform's.
    pub async fn list_policies(&self, owner: &Owner) -> Result<Vec<StoredPolicy>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_policies(&mut conn, owner).await
    }

    /// One policy, looked up only among the owner's: another tenant's id is simply not found.
    pub async fn get_policy(&self, owner: &Owner, id: &PolicyId) -> Result<StoredPolicy, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_policy(&mut conn, owner, id).await
    }

    /// Who owns the policy `id`. The one lookup of a policy by its id alone: the application core
    /// asks it only for platform staff, who may open any tenant's policy by id.
    pub async fn policy_owner(&self, id: &PolicyId) -> Result<Owner, StoreError> {
        let owner: Option<Option<TenantId>> = sqlx::query_scalar("SELECT tenant_id FROM policies WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        match owner {
            Some(Some(tenant_id)) => Ok(Owner::Tenant(tenant_id)),
            Some(None) => Ok(Owner::Platform),
            None => Err(StoreError::NotFound { what: "policy", id: id.to_string() }),
        }
    }

    /// What saving `policy` would say, without saving: the owner check as an error, the
    /// delegation check as a report (errors and warnings), read in one snapshot.
    pub async fn check_policy(&self, owner: &Owner, policy: &Policy, replacing: Option<&PolicyId>) -> Result<DelegationReport, StoreError> {
        check_owner(owner, policy)?;
        let mut conn = self.pool.acquire().await?;
        match delegation_report(&mut conn, self.documents(), owner, policy, replacing).await {
            Ok(report) | Err(StoreError::Delegation(report)) => Ok(report),
            Err(other) => Err(other),
        }
    }

    /// Creates a policy after validating its scope, its parents and the tenant's quota.
    /// Returns the stored policy and the delegation warnings.
    pub async fn create_policy(&self, actor: &Actor, owner: &Owner, policy: &Policy) -> Result<(StoredPolicy, DelegationReport), StoreError> {
        let mut tx = self.pool.begin().await?;
        let created = insert_policy(&mut tx, self.documents(), actor, owner, policy).await?;
        record_revision(&mut tx, owner, actor, &format!("created `{}`", created.0.name)).await?;
        self.commit_change(tx, Invalidation::Policies(owner.clone())).await?;
        Ok(created)
    }

    /// Replaces a policy's document if it is still at `expected_version`; a stale version is a
    /// [`StoreError::VersionConflict`], never a lost update.
    pub async fn update_policy(
        &self,
        actor: &Actor,
        owner: &Owner,
        id: &PolicyId,
        expected_version: i64,
        policy: &Policy,
    ) -> Result<(StoredPolicy, DelegationReport), StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_revisions(&mut tx, owner).await?;
        let updated = replace_policy(&mut tx, self.documents(), actor, owner, id, expected_version, policy, SaveAction::Update).await?;
        record_revision(&mut tx, owner, actor, &format!("updated `{}` to version {}", updated.0.name, updated.0.version)).await?;
        self.commit_change(tx, Invalidation::Policies(owner.clone())).await?;
        Ok(updated)
    }

    /// Deletes a policy; with `expected_version`, only if it is still at that version.
    pub async fn delete_policy(&self, actor: &Actor, owner: &Owner, id: &PolicyId, expected_version: Option<i64>) -> Result<StoredPolicy, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_revisions(&mut tx, owner).await?;
        let before = lock_policy(&mut tx, owner, id).await?;
        let expected = expected_version.unwrap_or(before.version);
        if before.version != expected {
            return Err(StoreError::VersionConflict { what: "policy", id: id.to_string(), expected, actual: before.version });
        }
        if !remove_policy(&mut tx, owner, id, expected).await? {
            return Err(StoreError::VersionConflict { what: "policy", id: id.to_string(), expected, actual: -1 });
        }
        let target = format!("policy:{id}");
        record(&mut tx, actor, Change { tenant_id: owner.tenant_id(), action: "policy.delete", target: &target, before: audit_json(&before), after: None })
            .await?;
        record_revision(&mut tx, owner, actor, &format!("deleted `{}`", before.name)).await?;
        self.commit_change(tx, Invalidation::Policies(owner.clone())).await?;
        Ok(before)
    }

    pub async fn platform_settings(&self) -> Result<(PlatformSettings, i64), StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_settings(&mut conn).await
    }

    /// Replaces the platform settings (default behaviour, enabled tools) with an audit entry.
    pub async fn set_platform_settings(&self, actor: &Actor, settings: &PlatformSettings) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Write first: it takes the row lock (PostgreSQL) or the write lock (SQLite) before the read.
        sqlx::query("UPDATE platform_settings SET version = version WHERE id = 'platform'").execute(&mut *tx).await?;
        let (before, version) = load_settings(&mut tx).await?;
        // Once the tool catalog has tools, it alone says which are enabled (Tools & Sources).
        let catalog: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", crate::tools::AGENT_TOOLS)).fetch_one(&mut *tx).await?;
        if catalog > 0 && settings.enabled_tools != before.enabled_tools {
            return Err(StoreError::invalid("enabled_tools", "is managed by the tool catalog once it has tools; enable or disable tools there"));
        }
        let text = serde_json::to_string(settings).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        sqlx::query(
            "INSERT INTO platform_settings (id, settings, version, updated_at) VALUES ('platform', $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, version = excluded.version, updated_at = excluded.updated_at",
        )
        .bind(&text)
        .bind(version + 1)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        let before = serde_json::to_string(&before).ok();
        record(&mut tx, actor, Change { tenant_id: None, action: "platform.settings", target: "platform", before, after: Some(text) }).await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok(version + 1)
    }
}

/// How a baseline's rules are marked among a tenant's policies (and in receipts' versions).
pub const BASELINE_PREFIX: &str = "baseline:";
