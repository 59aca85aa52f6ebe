//! The dashboards' reads at scale (not a test): a tenant whose last 30 days hold 10 million
//! decisions, counted as the receipt writer counts them (`BENCH_DECISIONS` sets how many), among
//! three such tenants, on SQLite and then on PostgreSQL (`BENCH_DATABASES=sqlite` or `postgres` for
//! one). Every hour of the 30 days has denials of each of 30 tools by each of 3 rules and decisions
//! of each of 20 agents with each verdict: 90 rows of `denial_counts` and 60 of `agent_counts` an
//! hour, about 108,000 per tenant in all. Prints the median time of each read a dashboard makes,
//! for the tenant and for the platform (every tenant).
//!
//!     cargo bench -p charter-store --bench insight
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Instant;

use charter_store::insight::{DAY_MS, HOUR_MS, MINUTE_MS};
use charter_store::{now_ms, NewTenant, ReceiptScope, Store, TenantId, Window, Words};

const TOOLS: usize = 30;
const AGENTS: usize = 20;
const RULES: usize = 3;
const ROWS_PER_INSERT: usize = 500;

/// Inserts `rows` (each a list of SQL literals) into `table` in multi-row statements.
async fn insert(store: &Store, table: &str, columns: &str, rows: &[String]) {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = format!("INSERT INTO {table} ({columns}) VALUES {}", chunk.join(", "));
        sqlx::query(&sql).execute(store.pool()).await.unwrap();
    }
}

/// Counts as the writer would keep them for `decisions` decisions of `tenant` over 30 days.
async fn seed(store: &Store, tenant: &TenantId, decisions: i64, now: i64) {
    let hours = 30 * 24;
    let per_hour = decisions / hours;
    let first = now - now.rem_euclid(HOUR_MS) - (hours - 1) * HOUR_MS;
    let (mut denials, mut agents, mut by_hour) = (Vec::new(), Vec::new(), Vec::new());
    // Of each hour's decisions: 80% allowed, 15% denied, 5% awaiting approval.
    let shares = [("allow", 80), ("deny", 15), ("require_approval", 5)];
    for h in 0..hours {
        let hour = first + h * HOUR_MS;
        for (verdict, percent) in shares {
            let total = per_hour * percent / 100;
            by_hour.push(format!("('{tenant}', {hour}, '{verdict}', 'w', {total})"));
            for agent in 0..AGENTS {
                agents.push(format!("('{tenant}', {hour}, 'agent-{agent}', '{verdict}', 'w', {})", total / AGENTS as i64));
            }
            if verdict == "deny" {
                for tool in 0..TOOLS {
                    for rule in 0..RULES {
                        let rule = format!("tenant policy `Rules {tool}` rule {rule}");
                        denials.push(format!("('{tenant}', {hour}, 'tool.{tool}', '{rule}', '{rule}', 'w', {})", total / (TOOLS * RULES) as i64));
                    }
                }
            }
        }
    }
    insert(store, "denial_counts", "tenant_id, hour, tool, settled_by, settled_by_tenant, writer, decisions", &denials).await;
    insert(store, "agent_counts", "tenant_id, hour, agent, verdict, writer, decisions", &agents).await;
    insert(store, "decision_hours", "tenant_id, hour, verdict, writer, decisions", &by_hour).await;
    let minutes: Vec<String> =
        (0..60).map(|m| format!("('{tenant}', {}, 'allow', 'w', {})", now - now.rem_euclid(MINUTE_MS) - m * MINUTE_MS, per_hour / 60)).collect();
    insert(store, "decision_minutes", "tenant_id, minute, verdict, writer, decisions", &minutes).await;
}

/// The median of `runs` timings of `read`, in milliseconds.
async fn median_ms<F, Fut>(runs: usize, read: F) -> f64
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        read().await;
        times.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

async fn reads(store: &Store, scope: &ReceiptScope, words: Words, now: i64) {
    let from = now - 30 * DAY_MS;
    let mut all = 0.0;
    for window in Window::ALL {
        let took = median_ms(7, || async {
            store.decision_series(scope, window, now).await.unwrap();
        })
        .await;
        all += if window == Window::Month { took } else { 0.0 };
        println!("    chart, {}: {took:.1} ms", window.label().to_lowercase());
    }
    let denied = median_ms(7, || async {
        store.denied_tools(scope, from, 8, words).await.unwrap();
    })
    .await;
    let agents = median_ms(7, || async {
        store.busiest_agents(scope, from, 8).await.unwrap();
    })
    .await;
    let waiting = median_ms(7, || async {
        store.waiting_approvals(scope, now, 8).await.unwrap();
    })
    .await;
    println!("    tools denied most: {denied:.1} ms; busiest agents: {agents:.1} ms; approvals waiting: {waiting:.1} ms");
    println!("    the 30-day dashboard's reads in all: {:.1} ms", all + denied + agents + waiting);
}

async fn run(backend: &str, url: &str, decisions: i64) {
    println!("{backend}:");
    let store = Store::connect(url).await.unwrap();
    let now = now_ms();
    let started = Instant::now();
    let mut tenants = Vec::new();
    for n in 0..3 {
        let tenant = store
            .create_tenant(NewTenant { slug: format!("busy-{n}"), name: format!("Busy {n}"), plan: "enterprise".into(), policy_quota: None })
            .await
            .unwrap();
        seed(&store, &tenant.id, decisions, now).await;
        tenants.push(tenant.id);
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM denial_counts) + (SELECT COUNT(*) FROM agent_counts)").fetch_one(store.pool()).await.unwrap();
    println!("  seeded 3 tenants of {decisions} decisions in 30 days ({rows} rows for the lists) in {:.0} s", started.elapsed().as_secs_f64());
    println!("  one tenant's dashboard:");
    reads(&store, &ReceiptScope::Tenant(tenants[0].clone()), Words::Tenant, now).await;
    println!("  the platform's dashboard (3 such tenants):");
    reads(&store, &ReceiptScope::AllTenants, Words::Platform, now).await;
    store.close().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let decisions: i64 = std::env::var("BENCH_DECISIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000_000);
    let only = std::env::var("BENCH_DATABASES").unwrap_or_default();
    if only != "postgres" {
        let dir = std::env::temp_dir().join(format!("charter-bench-insight-{}", charter_testkit::unique_suffix()));
        run("SQLite", &format!("sqlite://{}/charter.db", dir.display()), decisions).await;
        let _ = std::fs::remove_dir_all(dir);
    }
    if only != "sqlite" {
        match charter_testkit::postgres("bench_insight").await {
            Some((database, url)) => {
                run("PostgreSQL", &url, decisions).await;
                database.remove().await;
            }
            None => println!("PostgreSQL: not reachable, skipped"),
        }
    }
}
