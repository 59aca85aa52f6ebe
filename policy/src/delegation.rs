//! The save-time delegation check: a tenant or agent policy may only restrict what its parents
//! allow. Evaluation enforces this anyway (denies win, caps take the minimum); the check tells
//! the author up front, naming the parent rule, instead of letting a rule silently do nothing.
//!
//! The rules, with "overlap" as computed by `tool::overlap`:
//!
//! | child rule | parent rule | tools | outcome |
//! |---|---|---|---|
//! | allow / require_approval | unconditional deny | child's tools within the parent's | error |
//! | allow / require_approval | unconditional deny | partial or possible overlap | warning |
//! | allow / require_approval | conditional deny | any overlap | warning |
//! | cap above the parent's, same argument | cap | child within parent, or parent within child | error |
//! | cap above the parent's, same argument | cap | possible overlap | warning |
//! | rate above the parent's, same key | rate limit | as for caps | error / warning |
//! | `default: allow` | parents' default `deny` | - | error |
//! | exact tool not in the enabled catalog | - | - | warning |

use serde::{Deserialize, Serialize};

use crate::decide::number;
use crate::model::{DefaultBehaviour, Effect, PlatformSettings, Policy, PolicyRef, Rule, Scope};
use crate::tool::{overlap, Overlap, ToolMatch};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DelegationReport {
    pub errors: Vec<DelegationIssue>,
    pub warnings: Vec<DelegationIssue>,
}

impl DelegationReport {
    /// Whether the policy may be saved (warnings do not stop it).
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationIssue {
    /// Where in the child policy, such as `rules[1].effect`.
    pub path: String,
    pub message: String,
    /// The parent policy collided with; `None` for issues with the platform settings.
    pub parent: Option<PolicyRef>,
    /// The parent's rule, 0-based; `None` when the issue is not about one rule.
    pub parent_rule_index: Option<usize>,
}

/// Checks `child` against its parents: platform policies for a tenant policy, platform and
/// tenant policies for an agent policy. Parents not strictly above the child's scope are ignored,
/// so the caller may pass every policy of the tenant. A platform policy has no parents.
pub fn check_delegation(
    child: &Policy,
    parents: &[Policy],
    parent_settings: &PlatformSettings,
) -> DelegationReport {
    let mut report = DelegationReport::default();
    if child.scope == Scope::Platform {
        return report;
    }
    let parents: Vec<&Policy> = parents.iter().filter(|p| p.scope < child.scope).collect();
    check_default(child, &parents, parent_settings, &mut report);
    for (index, rule) in child.rules.iter().enumerate() {
        check_enabled(index, rule, parent_settings, &mut report);
        for parent in &parents {
            for (parent_index, parent_rule) in parent.rules.iter().enumerate() {
                let pair = Pair {
                    index,
                    rule,
                    parent,
                    parent_index,
                    parent_rule,
                };
                pair.check(&mut report);
            }
        }
    }
    report
}

fn check_default(
    child: &Policy,
    parents: &[&Policy],
    settings: &PlatformSettings,
    report: &mut DelegationReport,
) {
    if child.default != Some(DefaultBehaviour::Allow) {
        return;
    }
    if settings.default == DefaultBehaviour::Deny {
        report.errors.push(DelegationIssue {
            path: "default".into(),
            message: "default `allow` is looser than the platform default `deny`".into(),
            parent: None,
            parent_rule_index: None,
        });
        return;
    }
    if let Some(parent) = parents
        .iter()
        .find(|p| p.default == Some(DefaultBehaviour::Deny))
    {
        let parent_ref = PolicyRef::of(parent);
        report.errors.push(DelegationIssue {
            path: "default".into(),
            message: format!("default `allow` is looser than the default `deny` of {parent_ref}"),
            parent: Some(parent_ref),
            parent_rule_index: None,
        });
    }
}

fn check_enabled(
    index: usize,
    rule: &Rule,
    settings: &PlatformSettings,
    report: &mut DelegationReport,
) {
    if let ToolMatch::Exact(name) = &rule.tool {
        if !settings.is_enabled(name) {
            report.warnings.push(DelegationIssue {
                path: format!("rules[{index}].tool"),
                message: format!(
                    "rule {} names tool `{name}`, which is not enabled for this tenant, so it is denied anyway",
                    index + 1
                ),
                parent: None,
                parent_rule_index: None,
            });
        }
    }
}

/// One child rule against one parent rule.
struct Pair<'a> {
    index: usize,
    rule: &'a Rule,
    parent: &'a Policy,
    parent_index: usize,
    parent_rule: &'a Rule,
}

enum Severity {
    Error,
    Warning,
}

impl Pair<'_> {
    fn check(&self, report: &mut DelegationReport) {
        let overlap = overlap(&self.rule.tool, &self.parent_rule.tool);
        if overlap == Overlap::Disjoint {
            return;
        }
        self.check_deny(overlap, report);
        self.check_caps(overlap, report);
        self.check_rate(overlap, report);
        self.check_budget(overlap, report);
    }

    fn issue(
        &self,
        severity: Severity,
        path: String,
        message: String,
        report: &mut DelegationReport,
    ) {
        // A confidential platform policy is named to tenants only as a platform boundary, and
        // its rule (tool match, conditions, caps) is not described.
        let issue = match self.parent.confidential {
            true => DelegationIssue {
                path,
                message: match severity {
                    Severity::Error => format!(
                        "rule {} ({}) collides with a platform boundary",
                        self.index + 1,
                        self.rule.summary()
                    ),
                    Severity::Warning => format!(
                        "rule {} ({}) overlaps a platform boundary, which still applies",
                        self.index + 1,
                        self.rule.summary()
                    ),
                },
                parent: Some(PolicyRef::platform_boundary(true)),
                parent_rule_index: None,
            },
            false => DelegationIssue {
                path,
                message,
                parent: Some(PolicyRef::of(self.parent)),
                parent_rule_index: Some(self.parent_index),
            },
        };
        match severity {
            Severity::Error => report.errors.push(issue),
            Severity::Warning => report.warnings.push(issue),
        }
    }

    /// "platform policy `Platform guardrails` rule 1"
    fn parent_rule_name(&self) -> String {
        if self.parent.confidential {
            return PolicyRef::platform_boundary(true).to_string();
        }
        format!(
            "{} rule {}",
            PolicyRef::of(self.parent),
            self.parent_index + 1
        )
    }

    fn check_deny(&self, overlap: Overlap, report: &mut DelegationReport) {
        let grants = matches!(
            self.rule.effect,
            Some(Effect::Allow | Effect::RequireApproval)
        );
        if !grants || self.parent_rule.effect != Some(Effect::Deny) {
            return;
        }
        let (n, summary, parent, tool) = (
            self.index + 1,
            self.rule.summary(),
            self.parent_rule_name(),
            &self.parent_rule.tool,
        );
        let path = format!("rules[{}].effect", self.index);
        if self.parent_rule.is_conditional() {
            let message = format!(
                "rule {n} ({summary}) overlaps {parent}, which denies `{tool}` when {}; that deny still applies",
                conditions(self.parent_rule)
            );
            return self.issue(Severity::Warning, path, message, report);
        }
        if overlap == Overlap::Subset {
            let message = format!("rule {n} ({summary}) collides with {parent}: deny `{tool}`");
            return self.issue(Severity::Error, path, message, report);
        }
        let message = format!(
            "rule {n} ({summary}) also covers tools that {parent} denies (`{tool}`); that deny still applies to them"
        );
        self.issue(Severity::Warning, path, message, report);
    }

    fn check_caps(&self, overlap: Overlap, report: &mut DelegationReport) {
        for cap in &self.rule.limit {
            for parent_cap in self
                .parent_rule
                .limit
                .iter()
                .filter(|p| p.field == cap.field)
            {
                if let (Some(max), Some(parent_max)) = (cap.max, parent_cap.max) {
                    if parent_max < max {
                        let message = format!(
                            "rule {} (`{}`) caps `{}` at {}, above the cap of {} set by {} (`{}`)",
                            self.index + 1,
                            self.rule.tool,
                            cap.field,
                            number(max),
                            number(parent_max),
                            self.parent_rule_name(),
                            self.parent_rule.tool
                        );
                        let path = format!("rules[{}].limit.{}", self.index, cap.field);
                        self.issue(severity(overlap), path, message, report);
                    }
                }
                if let (Some(min), Some(parent_min)) = (cap.min, parent_cap.min) {
                    if parent_min > min {
                        let message = format!(
                            "rule {} (`{}`) holds `{}` at a minimum of {}, below the minimum of {} set by {} (`{}`)",
                            self.index + 1,
                            self.rule.tool,
                            cap.field,
                            number(min),
                            number(parent_min),
                            self.parent_rule_name(),
                            self.parent_rule.tool
                        );
                        let path = format!("rules[{}].limit.{}", self.index, cap.field);
                        self.issue(severity(overlap), path, message, report);
                    }
                }
            }
        }
    }

    fn check_rate(&self, overlap: Overlap, report: &mut DelegationReport) {
        let (Some(limit), Some(parent_limit)) =
            (&self.rule.rate_limit, &self.parent_rule.rate_limit)
        else {
            return;
        };
        if limit.per_key != parent_limit.per_key || limit.rate() <= parent_limit.rate() {
            return;
        }
        let message = format!(
            "rule {} (`{}`) allows {limit}, more than the {parent_limit} set by {} (`{}`)",
            self.index + 1,
            self.rule.tool,
            self.parent_rule_name(),
            self.parent_rule.tool
        );
        let path = format!("rules[{}].rate_limit.calls", self.index);
        self.issue(severity(overlap), path, message, report);
    }
}

impl Pair<'_> {
    fn check_budget(&self, overlap: Overlap, report: &mut DelegationReport) {
        let (Some(budget), Some(parent_budget)) = (&self.rule.budget, &self.parent_rule.budget)
        else {
            return;
        };
        let same_counter = budget.sum == parent_budget.sum
            && budget.per == parent_budget.per
            && budget.per_key == parent_budget.per_key;
        if !same_counter || budget.max <= parent_budget.max {
            return;
        }
        let message = format!(
            "rule {} (`{}`) allows {budget}, more than the {} set by {} (`{}`)",
            self.index + 1,
            self.rule.tool,
            crate::decide::number(parent_budget.max),
            self.parent_rule_name(),
            self.parent_rule.tool
        );
        let path = format!("rules[{}].budget.max", self.index);
        self.issue(severity(overlap), path, message, report);
    }
}

/// Raising a limit is an error when the tools certainly overlap and a warning when they may.
fn severity(overlap: Overlap) -> Severity {
    match overlap {
        Overlap::Subset | Overlap::Superset => Severity::Error,
        Overlap::Possible | Overlap::Disjoint => Severity::Warning,
    }
}

fn conditions(rule: &Rule) -> String {
    let mut parts: Vec<String> = rule.when.iter().map(|c| c.describe()).collect();
    if let Some(targets) = &rule.targets {
        let names: Vec<&String> = targets
            .roles
            .iter()
            .chain(&targets.groups)
            .chain(&targets.users)
            .collect();
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        parts.push(format!("the principal is {}", names.join(" or ")));
    }
    parts.join(" and ")
}
