//! Two replicas on one PostgreSQL database: a change committed through one is live on the other
//! within a second, through `LISTEN`/`NOTIFY`, whatever either has cached. PostgreSQL only (one
//! SQLite node has nobody to tell); under CI a missing PostgreSQL fails these tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::future::Future;
use std::time::{Duration, Instant};

use charter_policy::Policy;
use charter_store::{Actor, BoundAgents, Invalidation, NewTenant, Owner, Store, Tenant};
use charter_testkit::postgres_replicas;

/// How long a change may take to reach the other replica.
const BOUND: Duration = Duration::from_secs(1);

/// Polls `check` until it holds, and says how long that took; fails past the bound.
async fn within_bound<F, Fut>(what: &str, check: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < BOUND, "{what}: still stale after {BOUND:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until both replicas' listeners are connected: a listener that connects forgets every
/// cache, which must not be what makes a test pass.
async fn both_listening(a: &Store, b: &Store) {
    within_bound("both listeners connect", || async { a.hears_changes() && b.hears_changes() }).await;
}

async fn tenant(store: &Store) -> Tenant {
    store.create_tenant(NewTenant { slug: "acme".into(), name: "Acme".into(), plan: "enterprise".into(), policy_quota: Some(10) }).await.unwrap()
}

fn policy(yaml: &str) -> Policy {
    Policy::from_yaml(yaml).unwrap()
}

#[tokio::test]
async fn a_policy_change_through_one_replica_is_live_on_the_other() {
    let Some((a, b, cleanup)) = postgres_replicas("replicas_policies").await else { return };
    both_listening(&a, &b).await;
    let acme = tenant(&a).await;
    let owner = Owner::Tenant(acme.id.clone());
    // B compiles and caches the tenant's set, with no policy in it: two reads give the same set.
    within_bound("B caches Acme's set", || async {
        let (first, second) = (b.policy_set(&acme.id).await.unwrap(), b.policy_set(&acme.id).await.unwrap());
        std::sync::Arc::ptr_eq(&first, &second) && first.versions.is_empty()
    })
    .await;
    let (created, _) =
        a.create_policy(&Actor::system(), &owner, &policy("name: Finance\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: deny\n")).await.unwrap();
    let took =
        within_bound("a tenant policy created on A, seen by B", || async { b.policy_set(&acme.id).await.unwrap().versions.contains_key(created.id.as_str()) })
            .await;
    eprintln!("tenant policy reached the other replica in {took:?}");

    // A platform change drops every tenant's set on B too.
    let guard = policy("name: Guard\nscope: platform\nrules:\n  - tool: \"system.*\"\n    effect: deny\n");
    let (platform, _) = a.create_policy(&Actor::system(), &Owner::Platform, &guard).await.unwrap();
    charter_testkit::release_platform(&a).await;
    let marked = format!("platform:{}", platform.id);
    within_bound("a platform policy created on A, seen by B", || async { b.policy_set(&acme.id).await.unwrap().versions.contains_key(&marked) }).await;
    cleanup.remove().await;
}

#[tokio::test]
async fn a_key_revoked_through_one_replica_is_refused_by_the_other() {
    let Some((a, b, cleanup)) = postgres_replicas("replicas_keys").await else { return };
    both_listening(&a, &b).await;
    let acme = tenant(&a).await;
    let key = a.create_api_key(&Actor::system(), &acme.id, "bot", BoundAgents::default(), charter_store::KeyScopes::all()).await.unwrap();
    // B verifies the key once and would trust it for 30 s without hearing of the revocation.
    assert!(b.authenticate_api_key(&key.secret).await.unwrap().is_some());
    a.revoke_api_key(&Actor::system(), &acme.id, &key.info.id).await.unwrap();
    let took = within_bound("a key revoked on A, refused by B", || async { b.authenticate_api_key(&key.secret).await.unwrap().is_none() }).await;
    eprintln!("revocation reached the other replica in {took:?}");
    cleanup.remove().await;
}

#[tokio::test]
async fn a_tenant_change_reaches_the_other_replicas_subscribers() {
    let Some((a, b, cleanup)) = postgres_replicas("replicas_tenants").await else { return };
    both_listening(&a, &b).await;
    let acme = tenant(&a).await;
    let mut heard = b.subscribe_changes();
    a.set_time_zone(&Actor::system(), &acme.id, "Europe/Paris").await.unwrap();
    let started = Instant::now();
    loop {
        let change = tokio::time::timeout(BOUND.saturating_sub(started.elapsed()), heard.recv()).await.expect("B hears within the bound").unwrap();
        if change == Invalidation::Tenant(acme.id.clone()) {
            break;
        }
    }
    assert!(b.hears_changes(), "B's listener is connected");
    cleanup.remove().await;
}

#[tokio::test]
async fn a_change_whose_announcement_was_lost_reaches_the_other_replica_in_about_two_seconds() {
    let Some((a, b, cleanup)) = postgres_replicas("replicas_lost").await else { return };
    both_listening(&a, &b).await;
    let acme = tenant(&a).await;
    let zeta = a.create_tenant(NewTenant { slug: "zeta".into(), name: "Zeta".into(), plan: "enterprise".into(), policy_quota: Some(10) }).await.unwrap();
    // A policy of another tenant gives a document in its stored form.
    let deny = policy("name: Lost\nscope: tenant\nrules:\n  - tool: expense.submit\n    effect: deny\n");
    let (template, _) = a.create_policy(&Actor::system(), &Owner::Tenant(zeta.id.clone()), &deny).await.unwrap();
    // B caches Acme's empty set: two reads in a row give the very same compiled set.
    within_bound("B caches Acme's set", || async {
        let (first, second) = (b.policy_set(&acme.id).await.unwrap(), b.policy_set(&acme.id).await.unwrap());
        std::sync::Arc::ptr_eq(&first, &second) && first.versions.is_empty()
    })
    .await;

    // Written straight into the database, the stamp bumped, and no announcement: as if the NOTIFY
    // had been lost on the way.
    sqlx::query(
        "INSERT INTO policies (id, tenant_id, scope, agent, name, description, version, document, created_at, updated_at, updated_by, tool_index) \
         VALUES ($1, $2, 'tenant', NULL, 'Lost', '', 1, $3, 0, 0, 'test', '')",
    )
    .bind("lost-policy")
    .bind(acme.id.as_str())
    .bind(&template.document)
    .execute(a.pool())
    .await
    .unwrap();
    // With its version and the tenant's next revision, as a save writes them.
    for statement in [
        "INSERT INTO policy_versions (policy_id, version, tenant_id, scope, agent, name, description, document, saved_at, saved_by) \
         SELECT id, version, tenant_id, scope, agent, name, description, document, updated_at, updated_by FROM policies WHERE id = 'lost-policy'",
        "UPDATE tenants SET revision = revision + 1 WHERE id = $1",
        "INSERT INTO tenant_revisions (tenant_id, number, saved_at, saved_by, change) SELECT id, revision, 0, 'test', 'lost' FROM tenants WHERE id = $1",
        "INSERT INTO tenant_revision_policies (tenant_id, revision, policy_id, version) \
         SELECT p.tenant_id, t.revision, p.id, p.version FROM policies p JOIN tenants t ON t.id = p.tenant_id WHERE p.tenant_id = $1",
    ] {
        let query = sqlx::query(statement);
        let query = if statement.contains("$1") { query.bind(acme.id.as_str()) } else { query };
        query.execute(a.pool()).await.unwrap();
    }
    sqlx::query("UPDATE change_stamp SET seq = seq + 1 WHERE id = 'changes'").execute(a.pool()).await.unwrap();
    let started = Instant::now();
    loop {
        if b.policy_set(&acme.id).await.unwrap().versions.contains_key("lost-policy") {
            break;
        }
        assert!(started.elapsed() < Duration::from_millis(2500), "B missed the change for {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("a change without its announcement reached the other replica in {:?}", started.elapsed());
    cleanup.remove().await;
}

#[tokio::test]
async fn a_replica_that_cannot_read_the_change_stamp_stops_saying_it_is_current() {
    let Some((a, b, cleanup)) = postgres_replicas("replicas_current").await else { return };
    both_listening(&a, &b).await;
    assert!(b.confirmed_current(), "a listener that just connected is current");
    // The stamp cannot be read: B cannot tell whether it missed an announcement.
    sqlx::query("ALTER TABLE change_stamp RENAME TO change_stamp_away").execute(a.pool()).await.unwrap();
    let started = Instant::now();
    while b.confirmed_current() {
        assert!(started.elapsed() < Duration::from_secs(8), "B still says it is current after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("B stopped saying it is current after {:?}", started.elapsed());
    assert!(b.hears_changes(), "the listener itself is still connected");

    sqlx::query("ALTER TABLE change_stamp_away RENAME TO change_stamp").execute(a.pool()).await.unwrap();
    let started = Instant::now();
    while !b.confirmed_current() {
        assert!(started.elapsed() < Duration::from_secs(3), "B is not current again after {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cleanup.remove().await;
}
