//! What the dashboards show: decisions counted by time and verdict, the tools denied most and the
//! rules that denied them, the busiest agents, and the approvals still waiting. The counts come from
//! `decision_hours`, `decision_minutes`, `denial_counts` and `agent_counts`, which the receipt writer keeps in the transaction of the
//! receipts it counts, so a dashboard reads a few hundred rows however many receipts a tenant has.
//!
//! The types are always compiled (the console shows them); the queries need the `db` feature.

use charter_policy::Verdict;
use serde::{Deserialize, Serialize};

use crate::ApprovalId;

/// A stretch of time a dashboard looks back over.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// The last 60 minutes, by minute.
    Hour,
    /// The last 24 hours, by hour.
    #[default]
    Day,
    /// The last 30 days, by day (UTC).
    Month,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Hour, Window::Day, Window::Month];

    /// How the window is named in an address (`?window=day`).
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Month => "month",
        }
    }

    /// The window an address names; anything else is the default (the last day).
    pub fn from_query(text: Option<&str>) -> Window {
        Window::ALL.into_iter().find(|window| Some(window.as_str()) == text).unwrap_or_default()
    }

    pub fn label(self) -> &'static str {
        match self {
            Window::Hour => "Last hour",
            Window::Day => "Last 24 hours",
            Window::Month => "Last 30 days",
        }
    }

    /// The width of one bar of the chart, in milliseconds.
    pub fn bucket_ms(self) -> i64 {
        match self {
            Window::Hour => MINUTE_MS,
            Window::Day => HOUR_MS,
            Window::Month => DAY_MS,
        }
    }

    /// How many bars the chart has.
    pub fn buckets(self) -> i64 {
        match self {
            Window::Hour => 60,
            Window::Day => 24,
            Window::Month => 30,
        }
    }

    /// The start of the first bar and the end of the last one, for a chart drawn at `now_ms`: the
    /// last bar is the one `now_ms` falls in.
    pub fn span(self, now_ms: i64) -> (i64, i64) {
        let width = self.bucket_ms();
        let end = now_ms - now_ms.rem_euclid(width) + width;
        (end - width * self.buckets(), end)
    }
}

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// Decisions by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictCounts {
    pub allow: i64,
    pub deny: i64,
    pub require_approval: i64,
}

impl VerdictCounts {
    pub fn total(&self) -> i64 {
        self.allow + self.deny + self.require_approval
    }

    pub fn add(&mut self, verdict: Verdict, decisions: i64) {
        match verdict {
            Verdict::Allow => self.allow += decisions,
            Verdict::Deny => self.deny += decisions,
            Verdict::RequireApproval => self.require_approval += decisions,
        }
    }

    pub fn of(&self, verdict: Verdict) -> i64 {
        match verdict {
            Verdict::Allow => self.allow,
            Verdict::Deny => self.deny,
            Verdict::RequireApproval => self.require_approval,
        }
    }

    /// `part` of the total as a whole percentage, or `None` when nothing was decided.
    pub fn percent(&self, part: i64) -> Option<i64> {
        let total = self.total();
        (total > 0).then(|| (part * 100 + total / 2) / total)
    }
}

/// One bar of a chart: the decisions from `start_ms` for one bucket's width.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub start_ms: i64,
    pub counts: VerdictCounts,
}

/// A tool that was denied, and the rules that denied it (most first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeniedTool {
    /// The tenant's slug (the platform's dashboard lists every tenant's).
    pub tenant: String,
    pub tool: String,
    pub denials: i64,
    pub rules: Vec<RuleCount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    /// The rule or step that settled the decision, as the tenant may read it; empty for decisions
    /// counted before rules were.
    pub rule: String,
    pub decisions: i64,
}

/// What one agent asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentActivity {
    pub tenant: String,
    /// Empty for calls that named no agent.
    pub agent: String,
    pub counts: VerdictCounts,
}

/// An approval request nobody has resolved yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "db", derive(sqlx::FromRow))]
pub struct WaitingApproval {
    pub id: ApprovalId,
    pub tenant: String,
    pub tool: String,
    pub agent: Option<String>,
    pub requested_at: i64,
}

/// A change of policies, as a dashboard lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentChange {
    /// The tenant's slug; `None` for the platform's own policies.
    pub tenant: Option<String>,
    pub actor: String,
    pub action: String,
    /// What changed: the audit entry's target (`policy:<id>`), which the console puts in words.
    pub target: String,
    /// Where it can be seen, once the console has put it in words.
    #[serde(default)]
    pub href: Option<String>,
    pub at: i64,
    /// The entry's before and after, for putting the target in words on the server; never sent to
    /// the browser.
    #[serde(skip)]
    pub before: Option<String>,
    #[serde(skip)]
    pub after: Option<String>,
}

/// A dashboard: what was decided in the window, what was denied and by which rules, who asked
/// most, what waits for approval and what changed lately.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Insight {
    pub window: Window,
    /// When it was drawn.
    pub now_ms: i64,
    /// Every tenant's decisions (the platform's dashboard), or one tenant's.
    pub every_tenant: bool,
    /// One bucket per bar of the chart, oldest first.
    pub series: Vec<Bucket>,
    pub totals: VerdictCounts,
    /// Since when the lists of tools and agents count (the start of the window's first hour).
    pub lists_from_ms: i64,
    pub denied_tools: Vec<DeniedTool>,
    pub busiest_agents: Vec<AgentActivity>,
    /// The longest waiting approval requests, and how many wait in all.
    pub waiting: Vec<WaitingApproval>,
    pub waiting_total: i64,
    pub changes: Vec<RecentChange>,
}

/// What settled a deny or an approval request, in words: the rule, or the step of the procedure.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SettledBy {
    /// As platform staff read it.
    pub platform: String,
    /// As the tenant may read it (a confidential platform rule is "a platform boundary").
    pub tenant: String,
}

/// In whose words the rules that settled decisions are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Words {
    Platform,
    Tenant,
}

/// The row of `denial_counts` a denial adds to (besides its writer).
#[cfg(feature = "db")]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct DenialKey<'a> {
    pub tenant_id: &'a str,
    pub hour: i64,
    pub tool: &'a str,
    pub settled_by: &'a SettledBy,
}

#[cfg(feature = "db")]
mod queries {
    use std::collections::HashMap;

    use charter_policy::Verdict;

    use super::{AgentActivity, Bucket, DeniedTool, RuleCount, VerdictCounts, WaitingApproval, Window, Words, DAY_MS, HOUR_MS};
    use crate::sql::Sql;
    use crate::{ReceiptScope, Store, StoreError};

    fn verdict(text: &str) -> Result<Verdict, StoreError> {
        text.parse().map_err(|_| StoreError::Corrupt(format!("decision count with verdict `{text}`")))
    }

    fn scoped(sql: &mut Sql<'_>, column: &str, scope: &ReceiptScope) {
        if let ReceiptScope::Tenant(tenant_id) = scope {
            sql.push(" AND ").push(column).push(" = ").bind(tenant_id.clone());
        }
    }

    impl Store {
        /// The decisions of `scope` in `window` drawn at `now_ms`, one bucket per bar (empty bars
        /// included), oldest first.
        pub async fn decision_series(&self, scope: &ReceiptScope, window: Window, now_ms: i64) -> Result<Vec<Bucket>, StoreError> {
            let (from, to) = window.span(now_ms);
            let mut sql = match window {
                Window::Hour => Sql::new("SELECT minute, verdict, CAST(SUM(decisions) AS BIGINT) FROM decision_minutes WHERE minute >= "),
                Window::Day => Sql::new("SELECT hour, verdict, CAST(SUM(decisions) AS BIGINT) FROM decision_hours WHERE hour >= "),
                Window::Month => {
                    Sql::new(&format!("SELECT hour - hour % {DAY_MS}, verdict, CAST(SUM(decisions) AS BIGINT) FROM decision_hours WHERE hour >= "))
                }
            };
            sql.bind(from);
            let time = if window == Window::Hour { "minute" } else { "hour" };
            sql.push(&format!(" AND {time} < ")).bind(to);
            scoped(&mut sql, "tenant_id", scope);
            sql.push(&match window {
                Window::Month => format!(" GROUP BY hour - hour % {DAY_MS}, verdict"),
                _ => format!(" GROUP BY {time}, verdict"),
            });
            let (text, args) = sql.build()?;
            let rows: Vec<(i64, String, i64)> = sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?;
            let width = window.bucket_ms();
            let mut buckets: Vec<Bucket> = (0..window.buckets()).map(|n| Bucket { start_ms: from + n * width, counts: VerdictCounts::default() }).collect();
            for (start, text, decisions) in rows {
                let slot = usize::try_from((start - from).div_euclid(width)).ok();
                if let Some(bucket) = slot.and_then(|slot| buckets.get_mut(slot)) {
                    bucket.counts.add(verdict(&text)?, decisions);
                }
            }
            Ok(buckets)
        }

        /// The tools of `scope` denied most since `from_ms` (rounded down to its hour), at most
        /// `limit`, each with the rules that denied it, in `words`.
        pub async fn denied_tools(&self, scope: &ReceiptScope, from_ms: i64, limit: usize, words: Words) -> Result<Vec<DeniedTool>, StoreError> {
            let settled_by = match words {
                Words::Platform => "c.settled_by",
                Words::Tenant => "c.settled_by_tenant",
            };
            // Summed by tenant id first, then named: a join per counted row would cost more.
            let mut sql = Sql::new(&format!(
                "SELECT t.slug, g.tool, g.rule, g.decisions FROM (SELECT c.tenant_id, c.tool, {settled_by} AS rule, CAST(SUM(c.decisions) AS BIGINT) AS decisions \
                 FROM denial_counts c WHERE c.hour >= "
            ));
            sql.bind(from_ms - from_ms.rem_euclid(HOUR_MS));
            scoped(&mut sql, "c.tenant_id", scope);
            sql.push(&format!(" GROUP BY c.tenant_id, c.tool, {settled_by}) g JOIN tenants t ON t.id = g.tenant_id"));
            let (text, args) = sql.build()?;
            let rows: Vec<(String, String, String, i64)> = sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?;
            let mut tools: HashMap<(String, String), DeniedTool> = HashMap::new();
            for (tenant, tool, rule, decisions) in rows {
                let entry = tools.entry((tenant.clone(), tool.clone())).or_insert_with(|| DeniedTool { tenant, tool, denials: 0, rules: Vec::new() });
                entry.denials += decisions;
                entry.rules.push(RuleCount { rule, decisions });
            }
            let mut tools: Vec<DeniedTool> = tools.into_values().collect();
            for tool in &mut tools {
                tool.rules.sort_by(|a, b| b.decisions.cmp(&a.decisions).then_with(|| a.rule.cmp(&b.rule)));
            }
            tools.sort_by(|a, b| b.denials.cmp(&a.denials).then_with(|| (&a.tenant, &a.tool).cmp(&(&b.tenant, &b.tool))));
            tools.truncate(limit);
            Ok(tools)
        }

        /// The agents of `scope` that asked most since `from_ms` (rounded down to its hour), at
        /// most `limit`.
        pub async fn busiest_agents(&self, scope: &ReceiptScope, from_ms: i64, limit: usize) -> Result<Vec<AgentActivity>, StoreError> {
            let mut sql = Sql::new(
                "SELECT t.slug, g.agent, g.verdict, g.decisions FROM (SELECT c.tenant_id, c.agent, c.verdict, CAST(SUM(c.decisions) AS BIGINT) AS decisions \
                 FROM agent_counts c WHERE c.hour >= ",
            );
            sql.bind(from_ms - from_ms.rem_euclid(HOUR_MS));
            scoped(&mut sql, "c.tenant_id", scope);
            sql.push(" GROUP BY c.tenant_id, c.agent, c.verdict) g JOIN tenants t ON t.id = g.tenant_id");
            let (text, args) = sql.build()?;
            let rows: Vec<(String, String, String, i64)> = sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?;
            let mut agents: HashMap<(String, String), AgentActivity> = HashMap::new();
            for (tenant, agent, text, decisions) in rows {
                let entry = agents.entry((tenant.clone(), agent.clone())).or_insert_with(|| AgentActivity { tenant, agent, counts: VerdictCounts::default() });
                entry.counts.add(verdict(&text)?, decisions);
            }
            let mut agents: Vec<AgentActivity> = agents.into_values().collect();
            agents.sort_by(|a, b| b.counts.total().cmp(&a.counts.total()).then_with(|| (&a.tenant, &a.agent).cmp(&(&b.tenant, &b.agent))));
            agents.truncate(limit);
            Ok(agents)
        }

        /// Approval requests of `scope` still waiting at `now_ms`, oldest first, at most `limit`,
        /// and how many wait in all.
        pub async fn waiting_approvals(&self, scope: &ReceiptScope, now_ms: i64, limit: i64) -> Result<(i64, Vec<WaitingApproval>), StoreError> {
            let mut count = Sql::new("SELECT COUNT(*) FROM approvals WHERE status = 'pending' AND expires_at > ");
            count.bind(now_ms);
            scoped(&mut count, "tenant_id", scope);
            let (text, args) = count.build()?;
            let total: i64 = sqlx::query_scalar_with(&text, args).fetch_one(&self.pool).await?;
            let mut sql = Sql::new(
                "SELECT a.id, t.slug AS tenant, a.tool, a.agent, a.requested_at FROM approvals a JOIN tenants t ON t.id = a.tenant_id \
                 WHERE a.status = 'pending' AND a.expires_at > ",
            );
            sql.bind(now_ms);
            scoped(&mut sql, "a.tenant_id", scope);
            sql.push(" ORDER BY a.requested_at, a.id LIMIT ").bind(limit);
            let (text, args) = sql.build()?;
            Ok((total, sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?))
        }
    }
}
