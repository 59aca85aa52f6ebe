//! The compiled policy sets in memory: the platform's rules of a release are compiled once and
//! shared by every tenant that runs it; a platform change joins the tenants' own compiled rules to
//! the new platform part instead of compiling them again (unless they extend a baseline that
//! changed); a tenant's change compiles that tenant again; the cache stays within its budget and
//! every decision is still right after an eviction. On SQLite and then on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::sync::Arc;

use charter_policy::{Basis, DecisionRequest, Policy, Verdict};
use charter_store::{Actor, NewTenant, Owner, Promotion, Store, Tenant, TenantId};
use charter_testkit::{each_database, release_platform};

async fn tenant(store: &Store, slug: &str) -> Tenant {
    store.create_tenant(NewTenant { slug: slug.into(), name: slug.into(), plan: "enterprise".into(), policy_quota: Some(10) }).await.unwrap()
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml(yaml).unwrap_or_else(|err| panic!("the test policy parses: {err}\n{yaml}"))
}

const OWN: &str = "name: Own\nscope: tenant\nrules:\n  - tool: \"docs.*\"\n    effect: allow\n  - tool: \"*.delete\"\n    effect: deny\n";

fn boundary(max: u32) -> Policy {
    policy(&format!("name: Spending\nscope: platform\nrules:\n  - tool: \"payments.*\"\n    limit: {{ args.amount: {{ max: {max} }} }}\n  - tool: \"*\"\n    effect: allow\n"))
}

async fn verdict(store: &Store, tenant_id: &TenantId, tool: &str, amount: u32) -> (Verdict, Basis) {
    let request = DecisionRequest { args: serde_json::json!({ "amount": amount }), ..DecisionRequest::new(tool) };
    let decision = store.policy_set(tenant_id).await.unwrap().set.decide_dry_run(&request, 0);
    (decision.verdict, decision.basis)
}

/// Waits for a PostgreSQL store's listener, which forgets every cache when it connects.
async fn listening(store: &Store) {
    for _ in 0..200 {
        if store.confirmed_current() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the store's change listener did not connect");
}

async fn seeded(store: &Store) -> (Tenant, Tenant) {
    listening(store).await;
    let admin = Actor::system();
    store.create_policy(&admin, &Owner::Platform, &boundary(1000)).await.unwrap();
    release_platform(store).await;
    let (acme, beta) = (tenant(store, "acme").await, tenant(store, "beta").await);
    for tenant in [&acme, &beta] {
        store.create_policy(&admin, &Owner::Tenant(tenant.id.clone()), &policy(OWN)).await.unwrap();
    }
    (acme, beta)
}

#[tokio::test]
async fn tenants_share_their_release_and_a_platform_change_does_not_compile_their_own_rules_again() {
    each_database("policy_cache", |store: Store| async move {
        let (acme, beta) = seeded(&store).await;
        let (a, b) = (store.policy_set(&acme.id).await.unwrap(), store.policy_set(&beta.id).await.unwrap());
        assert!(Arc::ptr_eq(a.set.platform_rules(), b.set.platform_rules()), "one compiled platform part for both tenants");
        assert!(!Arc::ptr_eq(a.set.tenant_rules(), b.set.tenant_rules()));
        assert_eq!(verdict(&store, &acme.id, "payments.send", 2000).await.0, Verdict::Deny);
        assert_eq!(verdict(&store, &acme.id, "crm.delete", 1).await.0, Verdict::Deny);

        // A new release to all: a new platform part, the same own rules, the new boundary.
        let admin = Actor::system();
        let spending = store.list_policies(&Owner::Platform).await.unwrap().into_iter().next().unwrap();
        store.update_policy(&admin, &Owner::Platform, &spending.id, spending.version, &boundary(5000)).await.unwrap();
        let release = store.publish_release(&admin, "raise").await.unwrap();
        store.promote_release(&admin, release.number, &Promotion::All).await.unwrap();
        let (a2, b2) = (store.policy_set(&acme.id).await.unwrap(), store.policy_set(&beta.id).await.unwrap());
        assert_eq!((a2.release, b2.release), (Some(release.number), Some(release.number)));
        assert!(!Arc::ptr_eq(a.set.platform_rules(), a2.set.platform_rules()));
        assert!(Arc::ptr_eq(a2.set.platform_rules(), b2.set.platform_rules()));
        assert!(Arc::ptr_eq(a.set.tenant_rules(), a2.set.tenant_rules()), "acme's own rules were not compiled again");
        assert!(Arc::ptr_eq(b.set.tenant_rules(), b2.set.tenant_rules()), "beta's own rules were not compiled again");
        assert_eq!(verdict(&store, &acme.id, "payments.send", 2000).await.0, Verdict::Allow, "the new release's cap is in force");

        // A switch of the catalog (a platform change of the live settings) also reuses them.
        let (mut settings, _) = store.platform_settings().await.unwrap();
        settings.enabled_tools = Some(["docs.read".to_owned()].into());
        store.set_platform_settings(&admin, &settings).await.unwrap();
        let a3 = store.policy_set(&acme.id).await.unwrap();
        assert!(Arc::ptr_eq(a2.set.tenant_rules(), a3.set.tenant_rules()));
        assert_eq!(verdict(&store, &acme.id, "payments.send", 1).await.1, Basis::ToolDisabled, "the switch is live");

        // A change of acme's compiles acme again, and beta not.
        store
            .create_policy(&admin, &Owner::Tenant(acme.id.clone()), &policy("name: More\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: deny\n"))
            .await
            .unwrap();
        let (a4, b4) = (store.policy_set(&acme.id).await.unwrap(), store.policy_set(&beta.id).await.unwrap());
        assert!(!Arc::ptr_eq(a3.set.tenant_rules(), a4.set.tenant_rules()));
        assert!(Arc::ptr_eq(b2.set.tenant_rules(), b4.set.tenant_rules()));
        assert_eq!(verdict(&store, &acme.id, "docs.read", 1).await.0, Verdict::Deny);
        assert_eq!(verdict(&store, &beta.id, "docs.read", 1).await.0, Verdict::Allow);
    })
    .await;
}

#[tokio::test]
async fn own_rules_that_extend_a_baseline_are_compiled_again_when_their_release_changes() {
    each_database("policy_cache_baseline", |store: Store| async move {
        listening(&store).await;
        let admin = Actor::system();
        let baseline =
            |effect: &str| policy(&format!("name: Docs baseline\nscope: platform\nbaseline: docs\nrules:\n  - tool: \"docs.*\"\n    effect: {effect}\n"));
        store.create_policy(&admin, &Owner::Platform, &baseline("allow")).await.unwrap();
        release_platform(&store).await;
        let acme = tenant(&store, "acme").await;
        store
            .create_policy(
                &admin,
                &Owner::Tenant(acme.id.clone()),
                &policy("name: Mine\nscope: tenant\nextends: [docs]\nrules:\n  - tool: crm.read\n    effect: allow\n"),
            )
            .await
            .unwrap();
        let before = store.policy_set(&acme.id).await.unwrap();
        assert_eq!(verdict(&store, &acme.id, "docs.read", 1).await.0, Verdict::Allow);

        let stored = store.list_policies(&Owner::Platform).await.unwrap().into_iter().next().unwrap();
        store.update_policy(&admin, &Owner::Platform, &stored.id, stored.version, &baseline("deny")).await.unwrap();
        release_platform(&store).await;
        let after = store.policy_set(&acme.id).await.unwrap();
        assert!(!Arc::ptr_eq(before.set.tenant_rules(), after.set.tenant_rules()), "the baseline's new rules are compiled in");
        assert_eq!(verdict(&store, &acme.id, "docs.read", 1).await.0, Verdict::Deny);
    })
    .await;
}

#[tokio::test]
async fn the_cache_stays_within_its_budget_and_evicted_tenants_decide_as_before() {
    each_database("policy_cache_budget", |store: Store| async move {
        let (acme, beta) = seeded(&store).await;
        let mut tenants = vec![acme, beta];
        for i in 0..10 {
            let tenant = tenant(&store, &format!("t{i}")).await;
            store.create_policy(&Actor::system(), &Owner::Tenant(tenant.id.clone()), &policy(OWN)).await.unwrap();
            tenants.push(tenant);
        }
        let one = store.policy_set(&tenants[0].id).await.unwrap();
        let weight = store.policy_cache_usage().0;
        assert!(weight > 0, "the set is weighed");
        // A budget of six sets, a set and a half for each of the cache's four shards: not all
        // twelve fit.
        let budget = weight * 6;
        store.set_policy_cache_budget(budget);
        for tenant in &tenants {
            store.policy_set(&tenant.id).await.unwrap();
        }
        let (bytes, kept) = store.policy_cache_usage();
        assert!(bytes <= budget, "{bytes} bytes kept, over the budget of {budget}");
        assert!(kept < tenants.len(), "some sets were evicted ({kept} kept)");
        for tenant in &tenants {
            assert_eq!(verdict(&store, &tenant.id, "crm.delete", 1).await.0, Verdict::Deny);
            assert_eq!(verdict(&store, &tenant.id, "payments.send", 2000).await.0, Verdict::Deny);
            assert_eq!(verdict(&store, &tenant.id, "docs.read", 1).await.0, Verdict::Allow);
        }
        drop(one);
        let metrics = charter_store::render_metrics();
        for name in [
            "charter_policy_cache_bytes",
            "charter_policy_cache_entries",
            "charter_policy_cache_evictions_total",
            "charter_policy_cache_misses_total",
            "charter_policy_rejoins_total",
            "charter_platform_compiles_total",
        ] {
            assert!(metrics.contains(name), "{name} is in /metrics");
        }
    })
    .await;
}
