//! Many tenants from the store (not a test): 10,000 tenants (`BENCH_TENANTS` sets how many), each
//! with one 100-rule tenant policy under a 30-rule platform policy, on SQLite and then on
//! PostgreSQL (`BENCH_DATABASES=sqlite` or `postgres` for one). A replica that starts with an
//! empty cache loads and compiles every tenant's set; then the platform publishes a release to
//! all, and every tenant's set is joined again (its own rules are not compiled again). Prints the
//! times, the resident memory and the cache's estimate of what the sets hold.
//!
//!     cargo bench -p charter-store --bench tenants
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

// Formatted as the engine's crate formats it, not as this one would.
#[rustfmt::skip]
#[path = "../../policy/benches/support/workload.rs"]
mod workload;

use std::sync::Arc;
use std::time::Instant;

use charter_policy::Policy;
use charter_store::{Actor, NewTenant, Owner, Promotion, Store, TenantId};

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0.0);
    pages * 4096.0 / f64::from(1 << 20)
}

/// Asks for every tenant's set, a few at a time, as decisions arriving for all of them would.
async fn load_all(store: &Store, tenants: &[TenantId]) -> f64 {
    let started = Instant::now();
    let tenants = Arc::new(tenants.to_vec());
    let workers = 8;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (store, tenants) = (store.clone(), tenants.clone());
        tasks.push(tokio::spawn(async move {
            for tenant in tenants.iter().skip(worker).step_by(workers) {
                store.policy_set(tenant).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    started.elapsed().as_secs_f64()
}

async fn seed(store: &Store, count: usize) -> Vec<TenantId> {
    let w = workload::workload(100);
    let system = Actor::system();
    let platform = Policy::from_yaml(&workload::charter_yaml("Platform", "platform", None, &w.platform)).unwrap();
    store.create_policy(&system, &Owner::Platform, &platform).await.unwrap();
    let release = store.publish_release(&system, "bench").await.unwrap();
    store.promote_release(&system, release.number, &Promotion::All).await.unwrap();
    let template = Policy::from_yaml(&workload::charter_yaml("Tenant", "tenant", None, &w.tenant)).unwrap().to_json().unwrap();
    let started = Instant::now();
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let tenant =
            store.create_tenant(NewTenant { slug: format!("t{i}"), name: format!("Tenant {i}"), plan: "enterprise".into(), policy_quota: None }).await.unwrap();
        let document = template.replace("5000", &(5_000 + i % 997).to_string());
        store.create_policy(&system, &Owner::Tenant(tenant.id.clone()), &Policy::from_json(&document).unwrap()).await.unwrap();
        ids.push(tenant.id);
    }
    println!("  seeded {count} tenants in {:.0} s", started.elapsed().as_secs_f64());
    ids
}

async fn run(backend: &str, url: &str, count: usize) {
    println!("{backend}:");
    let seeding = Store::connect(url).await.unwrap();
    let tenants = seed(&seeding, count).await;
    seeding.close().await;

    // A replica starting: nothing compiled yet.
    let store = Store::connect(url).await.unwrap();
    store.set_policy_cache_budget(16 << 30);
    let rss = resident_mib();
    let took = load_all(&store, &tenants).await;
    let (bytes, kept) = store.policy_cache_usage();
    println!(
        "  cold: {count} tenants loaded and compiled in {took:.1} s ({:.0} per second); resident {:.0} MiB more, {:.0} MiB in all; cache estimate {:.0} KiB per tenant, {kept} kept",
        count as f64 / took,
        resident_mib() - rss,
        resident_mib(),
        bytes as f64 / kept.max(1) as f64 / 1024.0
    );
    let took = load_all(&store, &tenants).await;
    println!("  warm: every set again from memory in {:.2} s", took);

    // A platform change: one release to all. The tenants' own rules are reused.
    let system = Actor::system();
    let platform = store.list_policies(&Owner::Platform).await.unwrap().into_iter().next().unwrap();
    let mut policy = charter_store::to_engine_policy(&platform).unwrap();
    policy.description = "changed".into();
    store.update_policy(&system, &Owner::Platform, &platform.id, platform.version, &policy).await.unwrap();
    let release = store.publish_release(&system, "bench change").await.unwrap();
    store.promote_release(&system, release.number, &Promotion::All).await.unwrap();
    let took = load_all(&store, &tenants).await;
    println!("  after a platform release to all: every set joined again in {took:.1} s; resident {:.0} MiB", resident_mib());
    store.close().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::var("BENCH_TENANTS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let only = std::env::var("BENCH_DATABASES").unwrap_or_default();
    println!("{count} tenants, each one policy of 100 rules under a platform policy of 30 rules");
    if only != "postgres" {
        let dir = std::env::temp_dir().join(format!("charter-bench-tenants-{}", charter_testkit::unique_suffix()));
        run("SQLite", &format!("sqlite://{}/charter.db", dir.display()), count).await;
        let _ = std::fs::remove_dir_all(dir);
    }
    if only != "sqlite" {
        match charter_testkit::postgres("bench_tenants").await {
            Some((database, url)) => {
                run("PostgreSQL", &url, count).await;
                database.remove().await;
            }
            None => println!("PostgreSQL: not reachable, skipped"),
        }
    }
}
