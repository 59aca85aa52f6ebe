//! Platform releases and tenant revisions in the store: platform edits are a draft until a release
//! is published and promoted; canaries, promotion to all, pins and rollbacks decide which release
//! each tenant compiles; every save of a tenant's policies is a revision it can be pinned to.
//! Every test runs on SQLite and then on PostgreSQL (see `charter_testkit::each_database`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use charter_policy::Policy;
use charter_store::{Actor, AuditScope, NewTenant, Owner, PinKind, Promotion, ReleaseChoice, ReleasePin, Selection, Store, StoreError, Tenant, TenantId};
use charter_testkit::each_database;

async fn tenant(store: &Store, slug: &str) -> Tenant {
    store.create_tenant(NewTenant { slug: slug.into(), name: slug.into(), plan: "enterprise".into(), policy_quota: Some(10) }).await.unwrap()
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml(yaml).unwrap_or_else(|err| panic!("the test policy parses: {err}\n{yaml}"))
}

fn boundary(max: u32) -> Policy {
    policy(&format!("name: Spending\nscope: platform\nrules:\n  - tool: payments.transfer\n    limit: {{ args.amount: {{ max: {max} }} }}\n"))
}

/// The platform release a tenant compiles and the version of `platform_policy` in it (`None` when
/// the release does not hold it).
async fn runs(store: &Store, tenant_id: &TenantId, platform_policy: &str) -> (Option<i64>, Option<u64>) {
    let compiled = store.policy_set(tenant_id).await.unwrap();
    (compiled.release, compiled.versions.get(&format!("platform:{platform_policy}")).copied())
}

/// How the tenant's compiled set settles a transfer of `amount`.
async fn basis(store: &Store, tenant_id: &TenantId, amount: u32) -> charter_policy::Basis {
    let request = charter_policy::DecisionRequest {
        tool: "payments.transfer".into(),
        args: serde_json::json!({ "amount": amount }),
        agent: None,
        principal: charter_policy::Principal::default(),
        context: serde_json::Map::new(),
        session: None,
    };
    store.policy_set(tenant_id).await.unwrap().set.decide_dry_run(&request, 0).basis
}

async fn actions(store: &Store) -> Vec<String> {
    store.search_audit(&AuditScope::Everything, Some("release."), None, 100).await.unwrap().into_iter().rev().map(|e| e.action).collect()
}

#[tokio::test]
async fn platform_edits_reach_tenants_only_through_published_promoted_releases() {
    each_database("releases", |store: Store| async move {
        let admin = Actor::system();
        let acme = tenant(&store, "acme").await;
        let beta = tenant(&store, "beta").await;
        assert_eq!(store.rollout().await.unwrap().general, 1, "release 1 is the platform as it was");

        let (spending, _) = store.create_policy(&admin, &Owner::Platform, &boundary(1000)).await.unwrap();
        let id = spending.id.to_string();
        assert_eq!(runs(&store, &acme.id, &id).await, (Some(1), None), "a draft runs nowhere");
        let draft = store.draft_changes().await.unwrap();
        assert_eq!((draft.since, draft.added.clone()), (1, vec!["Spending".to_owned()]));
        let preview = store.policy_set_at(&acme.id, Selection { release: Some(ReleaseChoice::Draft), revision: None }).await.unwrap();
        assert!(preview.versions.contains_key(&format!("platform:{id}")) && preview.release.is_none(), "the draft can be previewed");

        let two = store.publish_release(&admin, "spending cap").await.unwrap();
        assert_eq!((two.number, two.policies), (2, 1));
        assert!(store.draft_changes().await.unwrap().is_empty());
        let again = store.publish_release(&admin, "nothing").await;
        assert!(matches!(again, Err(StoreError::Invalid { field: "draft", .. })), "{again:?}");
        assert_eq!(store.rollout().await.unwrap().latest, 2, "a refused publish takes no number");
        assert_eq!(runs(&store, &acme.id, &id).await, (Some(1), None), "published is not promoted");

        // A canary runs it at once; the others do not.
        let moved = store.promote_release(&admin, 2, &Promotion::Tenants(vec![acme.id.clone()])).await.unwrap();
        assert_eq!(moved[0].release_pin, Some(ReleasePin { release: 2, kind: PinKind::Canary }));
        assert_eq!(runs(&store, &acme.id, &id).await, (Some(2), Some(1)));
        assert_eq!(runs(&store, &beta.id, &id).await, (Some(1), None));

        // To all: the canary rejoins the general release.
        store.promote_release(&admin, 2, &Promotion::All).await.unwrap();
        assert_eq!(store.tenant_rollout(&acme.id).await.unwrap().release_pin, None);
        assert_eq!(runs(&store, &beta.id, &id).await, (Some(2), Some(1)));

        // A change, released to all; then one tenant is rolled back alone and follows again.
        store.update_policy(&admin, &Owner::Platform, &spending.id, 1, &boundary(500)).await.unwrap();
        assert_eq!(store.draft_changes().await.unwrap().changed, vec![("Spending".to_owned(), 1, 2)]);
        store.publish_release(&admin, "lower cap").await.unwrap();
        store.promote_release(&admin, 3, &Promotion::All).await.unwrap();
        let back = store.pin_release(&admin, &beta.id, Some(2)).await.unwrap();
        assert_eq!((back.release, back.release_pin.map(|p| p.kind)), (2, Some(PinKind::Pinned)));
        assert_eq!(runs(&store, &beta.id, &id).await, (Some(2), Some(1)), "beta runs release 2's version of the policy");
        assert_eq!(runs(&store, &acme.id, &id).await, (Some(3), Some(2)), "acme is untouched");
        // And decides by exactly its rules: 600 is over release 3's cap, under release 2's.
        assert_eq!(basis(&store, &acme.id, 600).await, charter_policy::Basis::Cap);
        assert_eq!(basis(&store, &beta.id, 600).await, charter_policy::Basis::Default);
        // A pinned tenant stays where it is when a release is promoted to all.
        store.update_policy(&admin, &Owner::Platform, &spending.id, 2, &boundary(400)).await.unwrap();
        store.publish_release(&admin, "lower still").await.unwrap();
        store.promote_release(&admin, 4, &Promotion::All).await.unwrap();
        assert_eq!(runs(&store, &beta.id, &id).await.0, Some(2));
        assert_eq!(store.pin_release(&admin, &beta.id, None).await.unwrap().release, 4);
        assert_eq!(runs(&store, &beta.id, &id).await, (Some(4), Some(3)));

        // Releases that do not exist are not found, and change nothing.
        assert!(matches!(store.pin_release(&admin, &beta.id, Some(99)).await, Err(StoreError::NotFound { what: "release", .. })));
        assert!(matches!(store.promote_release(&admin, 99, &Promotion::All).await, Err(StoreError::NotFound { what: "release", .. })));
        assert_eq!(store.rollout().await.unwrap().general, 4);
        let release = store.get_release(2).await.unwrap();
        assert_eq!((release.policies.len(), release.policies[0].version), (1, 1), "a release keeps the versions it was published with");

        assert_eq!(
            actions(&store).await,
            [
                "release.publish",
                "release.promote",
                // To all: one entry in each moved tenant's log (acme's pin, beta's release), one
                // in the platform's.
                "release.promote",
                "release.promote",
                "release.promote",
                "release.publish",
                "release.promote",
                "release.promote",
                "release.promote",
                "release.rollback",
                "release.publish",
                // Beta is pinned and stays: acme's entry and the platform's.
                "release.promote",
                "release.promote",
                "release.follow"
            ]
        );
    })
    .await;
}

#[tokio::test]
async fn concurrent_publishes_and_promotions_queue() {
    each_database("releases_race", |store: Store| async move {
        let admin = Actor::system();
        tenant(&store, "acme").await;
        store.create_policy(&admin, &Owner::Platform, &boundary(1000)).await.unwrap();
        let (first, second) = tokio::join!(store.publish_release(&admin, "a"), store.publish_release(&admin, "b"));
        let published: Vec<i64> = [&first, &second].iter().filter_map(|r| r.as_ref().ok()).map(|r| r.number).collect();
        assert_eq!(published, [2], "one publishes release 2; the other finds nothing new: {first:?} {second:?}");
        store.create_policy(&admin, &Owner::Platform, &policy("name: Other\nscope: platform\nrules:\n  - tool: shell.*\n    effect: deny\n")).await.unwrap();
        let (published, promoted) = tokio::join!(store.publish_release(&admin, "c"), store.promote_release(&admin, 2, &Promotion::All));
        assert_eq!(published.unwrap().number, 3);
        promoted.unwrap();
        assert_eq!(store.rollout().await.unwrap(), charter_store::Rollout { latest: 3, general: 2 });
    })
    .await;
}

#[tokio::test]
async fn every_tenant_save_is_a_revision_it_can_be_pinned_to() {
    each_database("revisions", |store: Store| async move {
        let acme = tenant(&store, "acme").await;
        let zeta = tenant(&store, "zeta").await;
        let owner = Owner::Tenant(acme.id.clone());
        let alice = Actor { id: "alice@acme".into(), kind: charter_store::ActorKind::User, tenant_id: Some(acme.id.clone()) };
        let finance =
            |max: u32| policy(&format!("name: Finance\nscope: tenant\nrules:\n  - tool: payments.transfer\n    limit: {{ args.amount: {{ max: {max} }} }}\n"));
        let (created, _) = store.create_policy(&alice, &owner, &finance(1000)).await.unwrap();
        store.update_policy(&alice, &owner, &created.id, 1, &finance(2000)).await.unwrap();
        let (other, _) =
            store.create_policy(&alice, &owner, &policy("name: Docs\nscope: tenant\nrules:\n  - tool: docs.*\n    effect: allow\n")).await.unwrap();
        store.delete_policy(&alice, &owner, &other.id, None).await.unwrap();

        let revisions = store.list_revisions(&acme.id, None).await.unwrap();
        let seen: Vec<(i64, &str, i64)> = revisions.iter().map(|r| (r.number, r.change.as_str(), r.policies)).collect();
        assert_eq!(
            seen,
            [
                (5, "deleted `Docs`", 1),
                (4, "created `Docs`", 2),
                (3, "updated `Finance` to version 2", 1),
                (2, "created `Finance`", 1),
                (1, "the tenant was created", 0)
            ]
        );
        assert_eq!(store.list_revisions(&acme.id, Some(3)).await.unwrap().len(), 2, "a page older than revision 3");
        let two = store.get_revision(&acme.id, 2).await.unwrap();
        assert_eq!((two.policies.len(), two.policies[0].version), (1, 1));

        // Pinned to revision 2, decisions run Finance at version 1; saves go on and wait.
        let pinned = store.pin_revision(&alice, &acme.id, Some(2)).await.unwrap();
        assert_eq!((pinned.revision(), pinned.latest_revision), (2, 5));
        let compiled = store.policy_set(&acme.id).await.unwrap();
        assert_eq!((compiled.revision, compiled.versions.get(created.id.as_str()).copied()), (2, Some(1)));
        store.update_policy(&alice, &owner, &created.id, 2, &finance(3000)).await.unwrap();
        assert_eq!(store.policy_set(&acme.id).await.unwrap().revision, 2, "a save while pinned is not enforced");
        let newest = store.pin_revision(&alice, &acme.id, None).await.unwrap();
        assert_eq!(newest.revision(), 6);
        assert_eq!(store.policy_set(&acme.id).await.unwrap().versions.get(created.id.as_str()).copied(), Some(3));

        // Revisions are the tenant's own: zeta has only its first.
        assert!(matches!(store.get_revision(&zeta.id, 2).await, Err(StoreError::NotFound { what: "revision", .. })));
        assert!(matches!(store.pin_revision(&alice, &zeta.id, Some(2)).await, Err(StoreError::NotFound { what: "revision", .. })));
        assert_eq!(store.tenant_rollout(&zeta.id).await.unwrap().revision_pin, None, "a refused pin changes nothing");
        let at_two = store.policy_set_at(&acme.id, Selection { release: None, revision: Some(2) }).await.unwrap();
        assert_eq!(at_two.versions.get(created.id.as_str()).copied(), Some(1), "a decision may name an earlier revision");
        let audit = store.search_audit(&AuditScope::Tenant(acme.id.clone()), Some("revision."), None, 10).await.unwrap();
        assert_eq!(audit.iter().rev().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["revision.pin", "revision.unpin"]);
    })
    .await;
}

#[tokio::test]
async fn a_baseline_applies_in_the_scope_of_each_policy_that_extends_it() {
    each_database("baselines", |store: Store| async move {
        let admin = Actor::system();
        let acme = tenant(&store, "acme").await;
        let zeta = tenant(&store, "zeta").await;
        let phi = |export: &str| {
            policy(&format!(
                "name: PHI protection\nscope: platform\nbaseline: hipaa-phi\nrules:\n  - tool: \"patients.*\"\n    mask: [args.ssn]\n  - tool: patients.export\n    effect: {export}\n"
            ))
        };
        let (baseline, _) = store.create_policy(&admin, &Owner::Platform, &phi("deny")).await.unwrap();
        let clinic = policy("name: Clinic\nscope: tenant\nextends: [hipaa-phi]\nrules:\n  - tool: \"patients.*\"\n    effect: allow\n");
        let early = store.create_policy(&admin, &Owner::Tenant(acme.id.clone()), &clinic).await;
        assert!(
            matches!(&early, Err(StoreError::Delegation(report)) if report.errors[0].path == "extends[0]"),
            "a draft baseline cannot be extended yet: {early:?}"
        );
        charter_testkit::release_platform(&store).await;
        store.create_policy(&admin, &Owner::Tenant(acme.id.clone()), &clinic).await.unwrap();
        let open = policy("name: Clinic\nscope: tenant\nrules:\n  - tool: \"patients.*\"\n    effect: allow\n");
        store.create_policy(&admin, &Owner::Tenant(zeta.id.clone()), &open).await.unwrap();

        let decide = |tenant_id: TenantId, tool: &'static str| {
            let store = store.clone();
            async move {
                let request = charter_policy::DecisionRequest {
                    tool: tool.into(),
                    args: serde_json::json!({ "ssn": "123-45-6789" }),
                    agent: None,
                    principal: charter_policy::Principal::default(),
                    context: serde_json::Map::new(),
                    session: None,
                };
                store.policy_set(&tenant_id).await.unwrap().set.decide_dry_run(&request, 0)
            }
        };
        let export = decide(acme.id.clone(), "patients.export").await;
        assert_eq!(export.verdict, charter_policy::Verdict::Deny);
        let source = &export.matched.iter().find(|m| m.decisive).unwrap().rule.policy;
        assert_eq!((source.scope, source.policy_name.as_str()), (charter_policy::Scope::Tenant, "baseline hipaa-phi (extended by Clinic)"));
        let read = decide(acme.id.clone(), "patients.read").await;
        assert_eq!(read.verdict, charter_policy::Verdict::Allow);
        assert!(read.obligations.iter().any(|o| o.field == "args.ssn"), "the baseline's mask applies: {read:?}");
        assert_eq!(decide(zeta.id.clone(), "patients.export").await.verdict, charter_policy::Verdict::Allow, "a baseline is no platform rule");
        assert_eq!(store.policy_set(&acme.id).await.unwrap().versions.get("baseline:hipaa-phi"), Some(&1));

        // It changes through releases only, and one name is one baseline.
        store.update_policy(&admin, &Owner::Platform, &baseline.id, 1, &phi("allow")).await.unwrap();
        assert_eq!(decide(acme.id.clone(), "patients.export").await.verdict, charter_policy::Verdict::Deny, "the draft changes nothing yet");
        charter_testkit::release_platform(&store).await;
        assert_eq!(decide(acme.id.clone(), "patients.export").await.verdict, charter_policy::Verdict::Allow);
        let twin = store.create_policy(&admin, &Owner::Platform, &policy("name: Other\nscope: platform\nbaseline: hipaa-phi\n")).await;
        assert!(matches!(twin, Err(StoreError::Conflict { what: "baseline", .. })), "{twin:?}");
        let listed = store.baselines_for(&acme.id).await.unwrap();
        assert_eq!((listed.len(), listed[0].name.as_str(), listed[0].version), (1, "hipaa-phi", 2));
    })
    .await;
}
