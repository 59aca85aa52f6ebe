//! Importing a set of policies (a file exported from the console, or a GitOps repository) in one
//! transaction: every policy is validated, checked against its parents and counted against the
//! quota exactly as a single save would be, and either all of it lands or none of it. A dry run
//! does the same work and rolls back, so the preview shows precisely what applying would do.

use charter_policy::{Policy, Scope};

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::policies::{audit_json, insert_policy, load_policies, remove_policy, replace_policy, to_engine_policy, SaveAction};
use crate::revisions::{lock_revisions, record_revision};
use crate::{Actor, ImportAction, ImportChange, Owner, Store, StoreError, StoredPolicy};

fn pretty(document: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(document).ok().and_then(|value| serde_json::to_string_pretty(&value).ok())
}

fn scope_rank(policy: &Policy) -> u8 {
    match policy.scope {
        Scope::Platform => 0,
        Scope::Tenant => 1,
        Scope::Agent => 2,
    }
}

/// Two policies say the same thing when their documents (without id and version) are equal.
fn same_document(stored: &StoredPolicy, incoming: &Policy) -> Result<bool, StoreError> {
    let mut existing = to_engine_policy(stored)?;
    existing.id = String::new();
    existing.version = 0;
    let mut incoming = incoming.clone();
    incoming.id = String::new();
    incoming.version = 0;
    Ok(existing == incoming)
}

fn in_policy(name: &str) -> impl FnOnce(StoreError) -> StoreError + '_ {
    move |source| StoreError::InPolicy { name: name.to_owned(), source: Box::new(source) }
}

impl Store {
    /// Imports `policies` into the tenant (or the platform for `None`), matching existing policies
    /// by name. With `delete_missing`, policies not in the file are deleted. With `dry_run`, the
    /// transaction is rolled back and only the list of changes is returned.
    pub async fn import_policies(
        &self,
        actor: &Actor,
        owner: &Owner,
        policies: &[Policy],
        delete_missing: bool,
        dry_run: bool,
    ) -> Result<Vec<ImportChange>, StoreError> {
        let mut seen = std::collections::BTreeSet::new();
        for policy in policies {
            if !seen.insert(policy.name.trim().to_lowercase()) {
                return Err(StoreError::invalid("policies", format!("the file names `{}` twice", policy.name.trim())));
            }
        }
        let mut tx = self.pool.begin().await?;
        // Write first, so SQLite takes its write lock before the reads below (a read upgraded to a
        // write later fails with "database is locked" when another writer got there in between),
        // and two imports on PostgreSQL queue instead of both reading the same policies.
        // The tenant row first, as every save of a tenant takes it, then the stamp.
        lock_revisions(&mut tx, owner).await?;
        sqlx::query("UPDATE change_stamp SET seq = seq WHERE id = 'changes'").execute(&mut *tx).await?;
        let existing = load_policies(&mut tx, owner).await?;
        let mut changes = Vec::new();
        // Deletions first, so that they free quota for what the file adds.
        if delete_missing {
            for stored in existing.iter().filter(|stored| !seen.contains(&stored.name.to_lowercase())) {
                remove_policy(&mut tx, owner, &stored.id, stored.version).await?;
                let target = format!("policy:{}", stored.id);
                record(
                    &mut tx,
                    actor,
                    Change { tenant_id: owner.tenant_id(), action: "policy.delete", target: &target, before: audit_json(stored), after: None },
                )
                .await?;
                changes.push(ImportChange {
                    action: ImportAction::Delete,
                    name: stored.name.clone(),
                    scope: stored.scope,
                    agent: stored.agent.clone(),
                    before: pretty(&stored.document),
                    after: None,
                    warnings: Vec::new(),
                });
            }
        }
        // Parents before children, so an agent policy is checked against the imported tenant policy.
        let mut ordered: Vec<&Policy> = policies.iter().collect();
        ordered.sort_by_key(|policy| scope_rank(policy));
        for policy in ordered {
            let name = policy.name.trim();
            let current = existing.iter().find(|stored| stored.name.to_lowercase() == name.to_lowercase());
            let change = match current {
                Some(stored) if same_document(stored, policy)? => ImportChange {
                    action: ImportAction::Unchanged,
                    name: name.to_owned(),
                    scope: stored.scope,
                    agent: stored.agent.clone(),
                    before: None,
                    after: None,
                    warnings: Vec::new(),
                },
                Some(stored) => {
                    let (after, report) = replace_policy(&mut tx, self.documents(), actor, owner, &stored.id, stored.version, policy, SaveAction::Update)
                        .await
                        .map_err(in_policy(name))?;
                    ImportChange {
                        action: ImportAction::Update,
                        name: name.to_owned(),
                        scope: after.scope,
                        agent: after.agent.clone(),
                        before: pretty(&stored.document),
                        after: pretty(&after.document),
                        warnings: report.warnings.iter().map(|w| w.message.clone()).collect(),
                    }
                }
                None => {
                    let (created, report) = insert_policy(&mut tx, self.documents(), actor, owner, policy).await.map_err(in_policy(name))?;
                    ImportChange {
                        action: ImportAction::Create,
                        name: name.to_owned(),
                        scope: created.scope,
                        agent: created.agent.clone(),
                        before: None,
                        after: pretty(&created.document),
                        warnings: report.warnings.iter().map(|w| w.message.clone()).collect(),
                    }
                }
            };
            changes.push(change);
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            let count = |action: ImportAction| changes.iter().filter(|change| change.action == action).count();
            let (created, updated, deleted) = (count(ImportAction::Create), count(ImportAction::Update), count(ImportAction::Delete));
            if created + updated + deleted > 0 {
                let summary = format!("imported a file: {created} created, {updated} updated, {deleted} deleted");
                record_revision(&mut tx, owner, actor, &summary).await?;
            }
            self.commit_change(tx, Invalidation::Policies(owner.clone())).await?;
        }
        Ok(changes)
    }
}
