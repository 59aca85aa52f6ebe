//! Policy history in the store: every save is a version, read only among its owner's, kept after
//! the policy is deleted, and restored as the next version through the same checks as any save.
//! Every test runs on SQLite and then on PostgreSQL (see `charter_testkit::each_database`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use charter_policy::Policy;
use charter_store::{Actor, ActorKind, AuditScope, NewTenant, Owner, Store, StoreError, Tenant};
use charter_testkit::each_database;

async fn tenant(store: &Store, slug: &str) -> Tenant {
    store.create_tenant(NewTenant { slug: slug.into(), name: slug.into(), plan: "enterprise".into(), policy_quota: Some(10) }).await.unwrap()
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml(yaml).unwrap_or_else(|err| panic!("the test policy parses: {err}\n{yaml}"))
}

fn member(username: &str, tenant: &Tenant) -> Actor {
    Actor { id: username.into(), kind: ActorKind::User, tenant_id: Some(tenant.id.clone()) }
}

fn finance(max: u32) -> Policy {
    policy(&format!(
        "name: Finance\nscope: tenant\nrules:\n  - id: pay\n    tool: payments.transfer\n    effect: allow\n    limit: {{ args.amount: {{ max: {max} }} }}\n"
    ))
}

#[tokio::test]
async fn every_save_is_a_version_and_restoring_one_saves_it_again() {
    each_database("history", |store: Store| async move {
        let acme = tenant(&store, "acme").await;
        let zeta = tenant(&store, "zeta").await;
        let owner = Owner::Tenant(acme.id.clone());
        let alice = member("alice@acme", &acme);
        let (created, _) = store.create_policy(&alice, &owner, &finance(1000)).await.unwrap();
        store.update_policy(&alice, &owner, &created.id, 1, &finance(2000)).await.unwrap();
        let bob = member("bob@acme", &acme);
        store.update_policy(&bob, &owner, &created.id, 2, &finance(3000)).await.unwrap();

        let history = store.list_policy_versions(&owner, &created.id).await.unwrap();
        let seen: Vec<(i64, &str)> = history.iter().map(|v| (v.version, v.saved_by.as_str())).collect();
        assert_eq!(seen, [(3, "bob@acme"), (2, "alice@acme"), (1, "alice@acme")], "newest first, each with who saved it");
        assert!(history[2].document.contains("1000") && history[0].document.contains("3000"), "each keeps its own document");

        // Another tenant's id is not found, nor is the platform's view of a tenant policy.
        for stranger in [Owner::Tenant(zeta.id.clone()), Owner::Platform] {
            assert!(matches!(store.list_policy_versions(&stranger, &created.id).await, Err(StoreError::NotFound { .. })), "{stranger:?}");
            assert!(matches!(store.get_policy_version(&stranger, &created.id, 1).await, Err(StoreError::NotFound { .. })), "{stranger:?}");
        }
        assert!(matches!(store.get_policy_version(&owner, &created.id, 9).await, Err(StoreError::NotFound { .. })));

        // Restoring needs the current version; a stale one is refused and changes nothing.
        let stale = store.restore_policy_version(&alice, &owner, &created.id, 1, 2).await;
        assert!(matches!(stale, Err(StoreError::VersionConflict { expected: 2, actual: 3, .. })), "{stale:?}");
        let (restored, _) = store.restore_policy_version(&alice, &owner, &created.id, 1, 3).await.unwrap();
        assert_eq!(restored.version, 4);
        assert_eq!(restored.document, history[2].document, "version 1's document, saved again");
        assert_eq!(store.get_policy(&owner, &created.id).await.unwrap().document, history[2].document);
        assert_eq!(store.list_policy_versions(&owner, &created.id).await.unwrap().len(), 4, "restoring adds a version, it rewrites none");

        // The audit entry says it was a restore, and of which version.
        let audit = store.search_audit(&AuditScope::Tenant(acme.id.clone()), Some("policy.restore"), None, 10).await.unwrap();
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert!(audit[0].after.as_deref().unwrap_or_default().contains("\"restored_from_version\":1"), "{:?}", audit[0].after);

        // A deleted policy's history stays.
        store.delete_policy(&alice, &owner, &created.id, Some(4)).await.unwrap();
        assert_eq!(store.list_policy_versions(&owner, &created.id).await.unwrap().len(), 4);
        assert!(matches!(store.restore_policy_version(&alice, &owner, &created.id, 1, 4).await, Err(StoreError::NotFound { .. })));
    })
    .await;
}

#[tokio::test]
async fn a_restored_version_is_checked_like_any_save() {
    each_database("history_checked", |store: Store| async move {
        let acme = tenant(&store, "acme").await;
        let owner = Owner::Tenant(acme.id.clone());
        let alice = member("alice@acme", &acme);
        let (created, _) = store.create_policy(&alice, &owner, &finance(50_000)).await.unwrap();
        store.update_policy(&alice, &owner, &created.id, 1, &finance(5_000)).await.unwrap();
        // The platform then caps payments at 10,000: version 1's cap of 50,000 would loosen it.
        let platform = policy("name: Guardrails\nscope: platform\nrules:\n  - tool: \"payments.*\"\n    limit: { args.amount: { max: 10000 } }\n");
        store.create_policy(&Actor::system(), &Owner::Platform, &platform).await.unwrap();
        charter_testkit::release_platform(&store).await;
        let refused = store.restore_policy_version(&alice, &owner, &created.id, 1, 2).await;
        assert!(matches!(refused, Err(StoreError::Delegation(_))), "{refused:?}");
        assert_eq!(store.get_policy(&owner, &created.id).await.unwrap().version, 2, "nothing was written");
        assert_eq!(store.list_policy_versions(&owner, &created.id).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn imports_and_platform_policies_keep_history_too() {
    each_database("history_import", |store: Store| async move {
        let acme = tenant(&store, "acme").await;
        let owner = Owner::Tenant(acme.id.clone());
        let alice = member("alice@acme", &acme);
        store.import_policies(&alice, &owner, &[finance(1000)], false, false).await.unwrap();
        store.import_policies(&alice, &owner, &[finance(2000)], false, false).await.unwrap();
        let id = store.list_policies(&owner).await.unwrap()[0].id.clone();
        let versions: Vec<i64> = store.list_policy_versions(&owner, &id).await.unwrap().iter().map(|v| v.version).collect();
        assert_eq!(versions, [2, 1]);

        let guard = policy("name: Guardrails\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n");
        let (platform, _) = store.create_policy(&Actor::system(), &Owner::Platform, &guard).await.unwrap();
        assert_eq!(store.list_policy_versions(&Owner::Platform, &platform.id).await.unwrap().len(), 1);
        assert!(
            matches!(store.list_policy_versions(&owner, &platform.id).await, Err(StoreError::NotFound { .. })),
            "a tenant never reads the platform's history"
        );
    })
    .await;
}
