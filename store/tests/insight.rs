//! The dashboards' counts, kept by the receipt writer beside the receipts, on both databases: every
//! figure equals counting the receipts one by one, each tenant sees only its own, and the counts go
//! with the receipts when their retention passes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use charter_policy::Verdict;
use charter_store::insight::{DAY_MS, HOUR_MS, MINUTE_MS};
use charter_store::{now_ms, Actor, NewTenant, Receipt, ReceiptScope, ReceiptWriter, SettledBy, Store, Tenant, VerdictCounts, Window, Words};
use charter_testkit::each_database;

async fn tenant(store: &Store, slug: &str) -> Tenant {
    store.create_tenant(NewTenant { slug: slug.into(), name: slug.into(), plan: "enterprise".into(), policy_quota: None }).await.unwrap()
}

/// A decision as the test writes it, and as the expected figures count it.
#[derive(Clone, Debug)]
struct Written {
    tenant: String,
    at: i64,
    verdict: Verdict,
    tool: &'static str,
    agent: Option<&'static str>,
    settled_by: Option<&'static str>,
}

/// Decisions spread over five weeks, every verdict, three tools, two agents and none, two deny
/// rules, for two tenants; some in the last hour.
fn decisions(acme: &Tenant, zeta: &Tenant, now: i64) -> Vec<Written> {
    let tools = ["expense.submit", "crm.delete", "docs.read"];
    let agents = [Some("expense-bot"), Some("support-bot"), None];
    (0..240_i64)
        .map(|n| {
            let tenant = if n % 3 == 0 { zeta } else { acme };
            // Half in the last two hours (minutes apart), the rest days apart, some past 30 days.
            let at = if n % 2 == 0 { now - (n % 90) * MINUTE_MS - 1 } else { now - (n % 35) * DAY_MS - (n % 24) * HOUR_MS };
            let verdict = [Verdict::Allow, Verdict::Deny, Verdict::RequireApproval, Verdict::Deny][usize::try_from(n % 4).unwrap()];
            let settled_by = match verdict {
                Verdict::Allow => None,
                Verdict::Deny if n % 5 == 0 => Some("platform policy `No bulk deletes` rule 1"),
                Verdict::Deny => Some("tenant policy `Finance` rule 2"),
                Verdict::RequireApproval => Some("tenant policy `Finance` rule 3"),
            };
            Written {
                tenant: tenant.id.to_string(),
                at,
                verdict,
                tool: tools[usize::try_from(n % 3).unwrap()],
                agent: agents[usize::try_from(n % 7 % 3).unwrap()],
                settled_by,
            }
        })
        .collect()
}

/// Writes every decision through the receipt writer, many at once so that batches hold several
/// tenants, tools and verdicts.
async fn write_all(store: &Store, written: &[Written]) {
    let writer = ReceiptWriter::start(store.clone());
    let mut writes = tokio::task::JoinSet::new();
    for w in written {
        let receipt =
            Receipt { verdict: w.verdict, tool: w.tool.into(), agent: w.agent.map(str::to_owned), ..charter_testkit::receipt(&w.tenant.as_str().into(), w.at) };
        // The tenant's words differ from the platform's, as for a confidential platform rule.
        let settled_by = w.settled_by.map(|words| SettledBy { platform: words.to_owned(), tenant: format!("as the tenant reads {words}") });
        let writer = writer.clone();
        writes.spawn(async move { writer.write(receipt, None, settled_by).await });
    }
    while let Some(result) = writes.join_next().await {
        result.unwrap().unwrap();
    }
}

/// The decisions of `scope` as they are stored, counted one by one: (time, verdict, tool, agent).
async fn stored(store: &Store, scope: &ReceiptScope) -> Vec<(i64, Verdict, String, String)> {
    let rows: Vec<(String, i64, String, String, Option<String>)> =
        sqlx::query_as("SELECT tenant_id, created_at, verdict, tool, agent FROM receipts").fetch_all(store.pool()).await.unwrap();
    rows.into_iter()
        .filter(|(tenant_id, ..)| match scope {
            ReceiptScope::AllTenants => true,
            ReceiptScope::Tenant(id) => id.as_str() == tenant_id,
        })
        .map(|(_, at, verdict, tool, agent)| (at, verdict.parse().unwrap(), tool, agent.unwrap_or_default()))
        .collect()
}

async fn check_series(store: &Store, scope: &ReceiptScope, window: Window) {
    let now = now_ms();
    let series = store.decision_series(scope, window, now).await.unwrap();
    let (from, to) = window.span(now);
    assert_eq!(series.len(), usize::try_from(window.buckets()).unwrap());
    let mut expected: BTreeMap<i64, VerdictCounts> = (0..window.buckets()).map(|n| (from + n * window.bucket_ms(), VerdictCounts::default())).collect();
    for (at, verdict, ..) in stored(store, scope).await {
        if (from..to).contains(&at) {
            expected.get_mut(&(at - at.rem_euclid(window.bucket_ms()))).unwrap().add(verdict, 1);
        }
    }
    let actual: BTreeMap<i64, VerdictCounts> = series.iter().map(|bucket| (bucket.start_ms, bucket.counts)).collect();
    assert_eq!(actual, expected, "{window:?} of {scope:?}");
    assert!(actual.values().any(|counts| counts.total() > 0), "the test counts something in {window:?}");
}

#[tokio::test]
async fn the_counts_equal_counting_the_receipts_one_by_one() {
    each_database("insight_counts", |store: Store| async move {
        let (acme, zeta) = (tenant(&store, "acme").await, tenant(&store, "zeta").await);
        let written = decisions(&acme, &zeta, now_ms());
        write_all(&store, &written).await;
        let scopes = [ReceiptScope::AllTenants, ReceiptScope::Tenant(acme.id.clone()), ReceiptScope::Tenant(zeta.id.clone())];
        for scope in &scopes {
            for window in Window::ALL {
                check_series(&store, scope, window).await;
            }
        }

        let from = now_ms() - 40 * DAY_MS;
        for scope in &scopes {
            // Denials by tenant and tool, and by the rule that denied, in the platform's words.
            let tools = store.denied_tools(scope, from, 100, Words::Platform).await.unwrap();
            let mut expected: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
            for w in written.iter().filter(|w| w.verdict == Verdict::Deny) {
                let in_scope = match scope {
                    ReceiptScope::AllTenants => true,
                    ReceiptScope::Tenant(id) => id.as_str() == w.tenant,
                };
                if in_scope {
                    let slug = if w.tenant == acme.id.as_str() { "acme" } else { "zeta" };
                    *expected.entry((slug.to_owned(), w.tool.to_owned())).or_default().entry(w.settled_by.unwrap().to_owned()).or_default() += 1;
                }
            }
            let actual: BTreeMap<(String, String), BTreeMap<String, i64>> = tools
                .iter()
                .map(|tool| {
                    assert_eq!(tool.denials, tool.rules.iter().map(|rule| rule.decisions).sum::<i64>());
                    ((tool.tenant.clone(), tool.tool.clone()), tool.rules.iter().map(|rule| (rule.rule.clone(), rule.decisions)).collect())
                })
                .collect();
            assert_eq!(actual, expected, "denied tools of {scope:?}");
            assert!(tools.windows(2).all(|pair| pair[0].denials >= pair[1].denials), "most denied first");
            // The same in the tenant's words.
            let theirs = store.denied_tools(scope, from, 100, Words::Tenant).await.unwrap();
            let rules: BTreeSet<String> = theirs.iter().flat_map(|tool| tool.rules.iter().map(|rule| rule.rule.clone())).collect();
            assert!(!rules.is_empty() && rules.iter().all(|rule| rule.starts_with("as the tenant reads ")), "{rules:?}");
            assert_eq!(theirs.iter().map(|tool| tool.denials).sum::<i64>(), tools.iter().map(|tool| tool.denials).sum::<i64>());

            // Agents by tenant, with their decisions by verdict.
            let agents = store.busiest_agents(scope, from, 100).await.unwrap();
            let mut expected: BTreeMap<String, VerdictCounts> = BTreeMap::new();
            for (_, verdict, _, agent) in stored(&store, scope).await {
                expected.entry(agent).or_default().add(verdict, 1);
            }
            let mut actual: BTreeMap<String, VerdictCounts> = BTreeMap::new();
            for agent in &agents {
                let counts = actual.entry(agent.agent.clone()).or_default();
                for verdict in Verdict::ALL {
                    counts.add(*verdict, agent.counts.of(*verdict));
                }
            }
            assert_eq!(actual, expected, "agents of {scope:?}");
            assert!(agents.windows(2).all(|pair| pair[0].counts.total() >= pair[1].counts.total()), "busiest first");
        }
        let top = store.denied_tools(&ReceiptScope::AllTenants, from, 2, Words::Platform).await.unwrap();
        assert_eq!(top.len(), 2, "a list is cut at its limit");
    })
    .await;
}

#[tokio::test]
async fn the_counts_go_with_the_receipts_when_their_retention_passes() {
    each_database("insight_retention", |store: Store| async move {
        let (acme, zeta) = (tenant(&store, "acme").await, tenant(&store, "zeta").await);
        let acme = store.set_receipt_retention(&Actor::system(), &acme.id, 7).await.unwrap();
        let now = now_ms();
        let aged = |tenant: &Tenant, days: i64| Written {
            tenant: tenant.id.to_string(),
            at: now - days * DAY_MS,
            verdict: Verdict::Deny,
            tool: "crm.delete",
            agent: None,
            settled_by: Some("rule"),
        };
        let mut written: Vec<Written> = [1, 3, 10, 20].into_iter().map(|days| aged(&acme, days)).collect();
        written.extend([1, 10, 20].into_iter().map(|days| aged(&zeta, days)));
        // Three hours ago, for the minute counts.
        written.push(Written { at: now - 3 * HOUR_MS, ..aged(&zeta, 0) });
        write_all(&store, &written).await;
        let denials = |tenant: &Tenant| {
            let scope = ReceiptScope::Tenant(tenant.id.clone());
            let store = store.clone();
            async move { store.decision_series(&scope, Window::Month, now).await.unwrap().iter().map(|bucket| bucket.counts.deny).sum::<i64>() }
        };
        assert_eq!((denials(&acme).await, denials(&zeta).await), (4, 4));
        let minutes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decision_minutes").fetch_one(store.pool()).await.unwrap();
        assert_eq!(minutes, 8);

        store.enforce_retention(now).await.unwrap();
        assert_eq!(denials(&acme).await, 2, "the counts of the receipts retention removed are gone");
        assert_eq!(denials(&zeta).await, 4, "another tenant's are kept for its own retention");
        let denied = store.denied_tools(&ReceiptScope::Tenant(acme.id.clone()), now - 30 * DAY_MS, 10, Words::Tenant).await.unwrap();
        assert_eq!(denied[0].denials, 2);
        let minutes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decision_minutes").fetch_one(store.pool()).await.unwrap();
        assert_eq!(minutes, 0, "minutes older than two hours are trimmed");
    })
    .await;
}

#[tokio::test]
async fn waiting_approvals_are_the_tenants_own_oldest_first() {
    each_database("insight_waiting", |store: Store| async move {
        let (acme, zeta) = (tenant(&store, "acme").await, tenant(&store, "zeta").await);
        let now = now_ms();
        let writer = ReceiptWriter::start(store.clone());
        for (tenant, age_minutes, status) in [(&acme, 30, "pending"), (&acme, 90, "pending"), (&acme, 10, "approved"), (&zeta, 5, "pending")] {
            let receipt = Receipt { verdict: Verdict::RequireApproval, ..charter_testkit::receipt(&tenant.id, now - age_minutes * MINUTE_MS) };
            writer.write(receipt.clone(), None, Some(SettledBy::default())).await.unwrap();
            sqlx::query(
                "INSERT INTO approvals (id, tenant_id, receipt_id, agent, principal, tool, args, args_digest, approvers, matched, policy_versions, reason, status, requested_at, expires_at, votes) \
                 VALUES ($1, $2, $3, $4, '{}', $5, '{}', $6, '[]', '[]', '{}', 'test', $7, $8, $9, '[]')",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(tenant.id.as_str())
            .bind(receipt.id.as_str())
            .bind(receipt.agent.clone())
            .bind(receipt.tool.clone())
            .bind(receipt.args_digest.clone())
            .bind(status)
            .bind(receipt.created_at)
            .bind(receipt.created_at + DAY_MS)
            .execute(store.pool())
            .await
            .unwrap();
        }
        let (total, waiting) = store.waiting_approvals(&ReceiptScope::Tenant(acme.id.clone()), now, 10).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(waiting.iter().map(|w| (w.tenant.as_str(), (now - w.requested_at) / MINUTE_MS)).collect::<Vec<_>>(), [("acme", 90), ("acme", 30)]);
        let (total, waiting) = store.waiting_approvals(&ReceiptScope::AllTenants, now, 1).await.unwrap();
        assert_eq!((total, waiting.len()), (3, 1), "every tenant's count, the list cut at its limit");
        let (total, _) = store.waiting_approvals(&ReceiptScope::AllTenants, now + 2 * DAY_MS, 10).await.unwrap();
        assert_eq!(total, 0, "expired requests no longer wait");
    })
    .await;
}
