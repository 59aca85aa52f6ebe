//! Many tenants in one process (not a test): 10,000 tenants (`BENCH_TENANTS` sets how many), each
//! with one 100-rule tenant policy under one 30-rule platform policy, read from their stored JSON
//! form and compiled. Prints the time to read and compile them all, the mean time to read one
//! 100-rule policy, and the heap each compiled tenant holds (counted by the allocator, exactly),
//! both with the platform's rules shared by every tenant and compiled into each as they once were.
//!
//!     cargo bench -p charter-policy --bench tenants
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/workload.rs"]
mod workload;

use std::alloc::System;
use std::sync::Arc;
use std::time::Instant;

use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

use charter_policy::{
    DefaultBehaviour, PlatformRules, PlatformSettings, Policy, PolicySet, TenantRules,
};

/// The system allocator, counting what is allocated and freed.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The bytes live on the heap now (a reallocation counts as what it added or freed).
fn live() -> usize {
    let stats = ALLOCATOR.stats();
    stats
        .bytes_allocated
        .saturating_sub(stats.bytes_deallocated)
}

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / f64::from(1 << 20)
}

/// Tenant `i`'s policy document as the store keeps it (JSON), its amounts its own.
fn tenant_document(template: &str, i: usize) -> String {
    template
        .replace("5000", &(5_000 + i % 997).to_string())
        .replace("\"Tenant\"", &format!("\"Tenant {i}\""))
}

fn main() {
    let tenants: usize = std::env::var("BENCH_TENANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let w = workload::workload(100);
    let platform_doc = Policy::from_yaml(&workload::charter_yaml(
        "Platform",
        "platform",
        None,
        &w.platform,
    ))
    .unwrap()
    .to_json()
    .unwrap();
    let template = Policy::from_yaml(&workload::charter_yaml("Tenant", "tenant", None, &w.tenant))
        .unwrap()
        .to_json()
        .unwrap();
    let documents: Vec<String> = (0..tenants)
        .map(|i| tenant_document(&template, i))
        .collect();
    let settings = PlatformSettings {
        default: DefaultBehaviour::Deny,
        enabled_tools: None,
    };
    println!(
        "{tenants} tenants, each one policy of {} rules under a platform policy of {} rules",
        w.tenant.len(),
        w.platform.len()
    );

    // Reading one 100-rule policy, on its own.
    let rounds: usize = 2_000;
    let started = Instant::now();
    for i in 0..rounds {
        std::hint::black_box(Policy::from_stored_json(&documents[i % documents.len()]).unwrap());
    }
    println!(
        "read one 100-rule policy from JSON: {:.0} us (mean of {rounds})",
        started.elapsed().as_secs_f64() / rounds as f64 * 1e6
    );

    // Shared: the platform part compiled once, each tenant its own part.
    let platform = Arc::new(PlatformRules::compile(&[Policy::from_stored_json(
        &platform_doc,
    )
    .unwrap()]));
    let heap_before = live();
    let rss_before = resident_mib();
    let mut read = 0.0;
    let mut compile = 0.0;
    let mut estimated = 0;
    let mut sets = Vec::with_capacity(tenants);
    for document in &documents {
        let started = Instant::now();
        let policy = Policy::from_stored_json(document).unwrap();
        let parsed = Instant::now();
        let own = Arc::new(TenantRules::compile(&[policy], &[]));
        estimated += own.approx_bytes();
        sets.push(PolicySet::assemble(settings.clone(), platform.clone(), own));
        read += (parsed - started).as_secs_f64();
        compile += parsed.elapsed().as_secs_f64();
    }
    let heap = live() - heap_before;
    println!(
        "shared platform part: read {read:.1} s + compile {compile:.1} s = {:.1} s; heap {:.0} KiB per tenant (estimate {:.0} KiB); resident {:.0} MiB more, {:.0} MiB in all",
        read + compile,
        heap as f64 / tenants as f64 / 1024.0,
        estimated as f64 / tenants as f64 / 1024.0,
        resident_mib() - rss_before,
        resident_mib()
    );
    drop(sets);

    // Unshared, as before: every tenant's set compiles the platform's rules again.
    let sample = tenants.min(1_000);
    let platform_policy = Policy::from_stored_json(&platform_doc).unwrap();
    let heap_before = live();
    let started = Instant::now();
    let sets: Vec<PolicySet> = documents[..sample]
        .iter()
        .map(|document| {
            PolicySet::compile(
                &settings,
                std::slice::from_ref(&platform_policy),
                &[Policy::from_stored_json(document).unwrap()],
                &[],
            )
        })
        .collect();
    let took = started.elapsed().as_secs_f64();
    let heap = live() - heap_before;
    println!(
        "platform compiled into each set ({sample} tenants): {:.2} ms per tenant; heap {:.0} KiB per tenant",
        took / sample as f64 * 1e3,
        heap as f64 / sample as f64 / 1024.0
    );
    drop(sets);
}
