//! The process's operating figures, for `/metrics` in Prometheus's text format: decisions by
//! tenant and verdict and how long they took, the receipt writer's batches and queue, the policy
//! cache, how long changes take to reach this replica, failures of the shared counters, and the
//! MCP gateway's calls to upstreams.

use std::sync::LazyLock;

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// Every figure, registered once per process.
pub struct Metrics {
    registry: Registry,
    /// `charter_decisions_total{tenant, verdict}`: answered decisions.
    pub decisions: IntCounterVec,
    /// `charter_decision_duration_seconds`: from the request reaching the core to the durable
    /// receipt.
    pub decision_seconds: Histogram,
    /// `charter_receipt_batch_size`: receipts committed per transaction.
    pub receipt_batch: Histogram,
    /// `charter_receipt_queue_depth`: receipts waiting for the writer after the last batch left.
    pub receipt_queue: IntGauge,
    /// `charter_receipt_write_failures_total`: batches that could not be committed.
    pub receipt_failures: IntCounter,
    /// `charter_policy_cache_hits_total`: decisions served from a compiled policy set in memory.
    pub policy_cache_hits: IntCounter,
    /// `charter_policy_cache_misses_total`: decisions whose tenant's set was not in memory or was
    /// stale.
    pub policy_cache_misses: IntCounter,
    /// `charter_policy_cache_evictions_total`: compiled sets evicted to stay within the budget.
    pub policy_cache_evictions: IntCounter,
    /// `charter_policy_cache_bytes`: the estimated heap of the compiled sets kept (their own
    /// rules; the shared platform parts are not counted).
    pub policy_cache_bytes: IntGauge,
    /// `charter_policy_cache_entries`: the compiled sets kept.
    pub policy_cache_entries: IntGauge,
    /// `charter_policy_recompiles_total`: tenants' own rules compiled (a first use, or after a
    /// change of the tenant's).
    pub policy_recompiles: IntCounter,
    /// `charter_policy_rejoins_total`: tenants' sets joined to a new platform part without
    /// compiling their own rules again.
    pub policy_rejoins: IntCounter,
    /// `charter_platform_compiles_total`: platform parts (a release's or the draft's rules)
    /// compiled, once for every tenant that runs them.
    pub platform_compiles: IntCounter,
    /// `charter_change_propagation_seconds`: from a change's announcement on another replica to
    /// this replica applying it (includes the replicas' clock difference).
    pub propagation_seconds: Histogram,
    /// `charter_changes_missed_total`: times this replica found an announcement overdue and forgot
    /// every cache.
    pub changes_missed: IntCounter,
    /// `charter_redis_errors_total`: operations on the shared counters that failed.
    pub redis_errors: IntCounter,
    /// `charter_gateway_upstream_calls_total{source, outcome}`: calls the MCP gateway forwarded,
    /// by upstream and how they ended (`answered`, `tool_error`, `failed`, `timeout`).
    pub upstream_calls: IntCounterVec,
    /// `charter_gateway_upstream_duration_seconds`: how long upstreams took to answer forwarded
    /// calls.
    pub upstream_seconds: Histogram,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::register);

/// The process's figures.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

/// Every figure in Prometheus's text exposition format.
pub fn render_metrics() -> String {
    TextEncoder::new().encode_to_string(&METRICS.registry.gather()).unwrap_or_default()
}

fn seconds(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)).unwrap_or_else(|_| unreachable_metric())
}

/// The names and labels below are constants that Prometheus accepts; a metric that cannot be
/// created is a programming error caught by the tests the first time they render.
#[allow(clippy::panic)]
fn unreachable_metric() -> ! {
    panic!("a metric's constant name or labels were refused")
}

impl Metrics {
    fn register() -> Metrics {
        let latency = vec![0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
        let metrics = Metrics {
            registry: Registry::new(),
            decisions: IntCounterVec::new(Opts::new("charter_decisions_total", "Answered decisions, by tenant and verdict."), &["tenant", "verdict"])
                .unwrap_or_else(|_| unreachable_metric()),
            decision_seconds: seconds("charter_decision_duration_seconds", "Time from a decision request reaching the core to its durable receipt.", latency),
            receipt_batch: Histogram::with_opts(
                HistogramOpts::new("charter_receipt_batch_size", "Receipts committed per transaction by the receipt writer.")
                    .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0]),
            )
            .unwrap_or_else(|_| unreachable_metric()),
            receipt_queue: IntGauge::new("charter_receipt_queue_depth", "Receipts waiting for the writer when its last batch left.")
                .unwrap_or_else(|_| unreachable_metric()),
            receipt_failures: IntCounter::new("charter_receipt_write_failures_total", "Receipt batches that could not be committed.")
                .unwrap_or_else(|_| unreachable_metric()),
            policy_cache_hits: IntCounter::new("charter_policy_cache_hits_total", "Decisions served from a compiled policy set in memory.")
                .unwrap_or_else(|_| unreachable_metric()),
            policy_cache_misses: IntCounter::new("charter_policy_cache_misses_total", "Decisions whose tenant's compiled set was not in memory, or stale.")
                .unwrap_or_else(|_| unreachable_metric()),
            policy_cache_evictions: IntCounter::new("charter_policy_cache_evictions_total", "Compiled policy sets evicted to stay within the memory budget.")
                .unwrap_or_else(|_| unreachable_metric()),
            policy_cache_bytes: IntGauge::new("charter_policy_cache_bytes", "Estimated heap of the compiled policy sets kept (tenants' own rules).")
                .unwrap_or_else(|_| unreachable_metric()),
            policy_cache_entries: IntGauge::new("charter_policy_cache_entries", "Compiled policy sets kept in memory.")
                .unwrap_or_else(|_| unreachable_metric()),
            policy_recompiles: IntCounter::new(
                "charter_policy_recompiles_total",
                "Tenants' own rules compiled (first use, or after a change of the tenant's).",
            )
            .unwrap_or_else(|_| unreachable_metric()),
            policy_rejoins: IntCounter::new("charter_policy_rejoins_total", "Tenants' sets joined to a new platform part without compiling their own rules.")
                .unwrap_or_else(|_| unreachable_metric()),
            platform_compiles: IntCounter::new("charter_platform_compiles_total", "Platform parts compiled, once for every tenant that runs them.")
                .unwrap_or_else(|_| unreachable_metric()),
            propagation_seconds: seconds(
                "charter_change_propagation_seconds",
                "Time from a change announced by another replica to this replica applying it.",
                vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5],
            ),
            changes_missed: IntCounter::new("charter_changes_missed_total", "Announcements found overdue, after which every cache was forgotten.")
                .unwrap_or_else(|_| unreachable_metric()),
            redis_errors: IntCounter::new("charter_redis_errors_total", "Operations on the shared counters in Redis that failed.")
                .unwrap_or_else(|_| unreachable_metric()),
            upstream_calls: IntCounterVec::new(
                Opts::new("charter_gateway_upstream_calls_total", "Calls the MCP gateway forwarded to an upstream, by upstream and outcome."),
                &["source", "outcome"],
            )
            .unwrap_or_else(|_| unreachable_metric()),
            upstream_seconds: seconds(
                "charter_gateway_upstream_duration_seconds",
                "Time upstream MCP servers took to answer calls the gateway forwarded.",
                vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
            ),
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 18] = [
            Box::new(metrics.decisions.clone()),
            Box::new(metrics.decision_seconds.clone()),
            Box::new(metrics.receipt_batch.clone()),
            Box::new(metrics.receipt_queue.clone()),
            Box::new(metrics.receipt_failures.clone()),
            Box::new(metrics.policy_cache_hits.clone()),
            Box::new(metrics.policy_cache_misses.clone()),
            Box::new(metrics.policy_cache_evictions.clone()),
            Box::new(metrics.policy_cache_bytes.clone()),
            Box::new(metrics.policy_cache_entries.clone()),
            Box::new(metrics.policy_recompiles.clone()),
            Box::new(metrics.policy_rejoins.clone()),
            Box::new(metrics.platform_compiles.clone()),
            Box::new(metrics.propagation_seconds.clone()),
            Box::new(metrics.changes_missed.clone()),
            Box::new(metrics.redis_errors.clone()),
            Box::new(metrics.upstream_calls.clone()),
            Box::new(metrics.upstream_seconds.clone()),
        ];
        for collector in collectors {
            if metrics.registry.register(collector).is_err() {
                unreachable_metric();
            }
        }
        metrics
    }
}
