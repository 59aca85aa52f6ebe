//! Policy history: the versions of a policy, one version, the difference between two (rule by rule
//! in words, and the documents line by line), and restoring one as the next version.

use charter_policy::{DelegationIssue, Policy};
use charter_store::{PolicyId, PolicyVersion};
use serde::Serialize;
use serde_json::Value;

use crate::access::{Access, Action, Target};
use crate::policies::label_of;
use crate::{Core, CoreError, Saved};

/// One line of a document diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `+` added in the later version, `-` removed from the earlier one, ` ` unchanged.
    pub sign: char,
    pub text: String,
}

/// What changed from one version of a policy to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyDiff {
    pub from: i64,
    pub to: i64,
    /// The changes rule by rule, in words: "rule 2 (expenses-over-5k): effect `allow` → `deny`".
    pub changes: Vec<String>,
    /// The two documents as YAML, line by line.
    pub lines: Vec<DiffLine>,
}

impl Core {
    /// Every version of one of the named owner's policies, newest first.
    pub async fn policy_history(&self, access: &Access, target: Target<'_>, id: &PolicyId) -> Result<Vec<PolicyVersion>, CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        Ok(self.store.list_policy_versions(&owner, id).await?)
    }

    pub async fn policy_version(&self, access: &Access, target: Target<'_>, id: &PolicyId, version: i64) -> Result<PolicyVersion, CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        Ok(self.store.get_policy_version(&owner, id, version).await?)
    }

    /// The difference between versions `from` and `to` of one policy.
    pub async fn diff_policy_versions(&self, access: &Access, target: Target<'_>, id: &PolicyId, from: i64, to: i64) -> Result<PolicyDiff, CoreError> {
        let owner = self.owner(access, target, Action::ReadPolicies).await?;
        let before = self.store.get_policy_version(&owner, id, from).await?;
        let after = self.store.get_policy_version(&owner, id, to).await?;
        diff(&before, &after)
    }

    /// Saves version `version`'s document again as the policy's next version, if the policy is
    /// still at `expected_version`; checked like any save.
    pub async fn restore_policy_version(
        &self,
        access: &Access,
        target: Target<'_>,
        id: &PolicyId,
        version: i64,
        expected_version: i64,
    ) -> Result<Saved, CoreError> {
        let owner = self.owner(access, target, Action::WritePolicies).await?;
        let (saved, report) = self.store.restore_policy_version(&access.actor(), &owner, id, version, expected_version).await?;
        let mut warnings: Vec<DelegationIssue> = report.warnings;
        if let Ok(policy) = Policy::from_stored_json(&saved.document) {
            warnings.extend(self.approver_warnings(&owner, &policy).await?);
        }
        Ok(Saved { policy: saved, label: label_of(&owner), warnings })
    }
}

/// A stored version that does not read is a fault of ours: logged, never shown.
fn corrupt(version: &PolicyVersion, err: impl std::fmt::Display) -> CoreError {
    tracing::error!(policy = %version.policy_id, version = version.version, error = %err, "a stored policy version does not read");
    CoreError::Internal
}

fn document(version: &PolicyVersion) -> Result<Value, CoreError> {
    serde_json::from_str(&version.document).map_err(|err| corrupt(version, err))
}

fn yaml(version: &PolicyVersion) -> Result<String, CoreError> {
    let policy = Policy::from_stored_json(&version.document).map_err(|err| corrupt(version, err))?;
    policy.to_yaml().map_err(|err| corrupt(version, err))
}

fn diff(before: &PolicyVersion, after: &PolicyVersion) -> Result<PolicyDiff, CoreError> {
    let lines = similar::TextDiff::from_lines(&yaml(before)?, &yaml(after)?)
        .iter_all_changes()
        .map(|change| DiffLine {
            sign: match change.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            },
            text: change.value().trim_end_matches('\n').to_owned(),
        })
        .collect();
    Ok(PolicyDiff { from: before.version, to: after.version, changes: changes(&document(before)?, &document(after)?), lines })
}

/// A value as it reads in a sentence: short JSON, strings without their quotes.
fn shown(value: &Value) -> String {
    match value {
        Value::String(text) => format!("`{text}`"),
        other => format!("`{other}`"),
    }
}

/// "rule 2 (expenses-over-5k)": the 1-based position in `rules`, and the rule's id if it has one.
fn rule_name(index: usize, rule: &Value) -> String {
    match rule.get("id").and_then(Value::as_str) {
        Some(id) => format!("rule {} ({id})", index + 1),
        None => format!("rule {}", index + 1),
    }
}

/// The changes between two documents in words: the policy's own fields, then rule by rule. Rules
/// with an `id` are matched by it, wherever they moved; the others by position.
pub fn changes(before: &Value, after: &Value) -> Vec<String> {
    let mut said = Vec::new();
    let empty = serde_json::Map::new();
    let (old, new) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).filter(|key| *key != "rules").collect();
    fields.sort();
    fields.dedup();
    for field in fields {
        match (old.get(field), new.get(field)) {
            (Some(a), Some(b)) if a != b => said.push(format!("{field}: {} → {}", shown(a), shown(b))),
            (None, Some(b)) => said.push(format!("{field} set to {}", shown(b))),
            (Some(a), None) => said.push(format!("{field} removed (was {})", shown(a))),
            _ => {}
        }
    }
    let no_rules = Vec::new();
    let old_rules = old.get("rules").and_then(Value::as_array).unwrap_or(&no_rules);
    let new_rules = new.get("rules").and_then(Value::as_array).unwrap_or(&no_rules);
    let id_of = |rule: &Value| rule.get("id").and_then(Value::as_str).map(str::to_owned);
    let mut matched_new = vec![false; new_rules.len()];
    for (index, rule) in old_rules.iter().enumerate() {
        let partner = match id_of(rule) {
            Some(id) => new_rules.iter().position(|candidate| id_of(candidate).as_deref() == Some(id.as_str())),
            None => new_rules.get(index).filter(|candidate| id_of(candidate).is_none()).map(|_| index),
        };
        match partner {
            Some(at) => {
                if let Some(seen) = matched_new.get_mut(at) {
                    *seen = true;
                }
                let Some(counterpart) = new_rules.get(at) else { continue };
                let name = rule_name(at, counterpart);
                if at != index {
                    said.push(format!("{} is now rule {}", rule_name(index, rule), at + 1));
                }
                said.extend(rule_changes(&name, rule, counterpart));
            }
            None => said.push(format!("{} removed", rule_name(index, rule))),
        }
    }
    for (index, rule) in new_rules.iter().enumerate() {
        if !matched_new.get(index).copied().unwrap_or(true) {
            said.push(format!("{} added: {}", rule_name(index, rule), shown(rule)));
        }
    }
    said
}

fn rule_changes(name: &str, before: &Value, after: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (old, new) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|field| match (old.get(field), new.get(field)) {
            (Some(a), Some(b)) if a != b => Some(format!("{name}: {field} {} → {}", shown(a), shown(b))),
            (None, Some(b)) => Some(format!("{name}: {field} set to {}", shown(b))),
            (Some(a), None) => Some(format!("{name}: {field} removed (was {})", shown(a))),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::changes;
    use serde_json::json;

    fn check(before: serde_json::Value, after: serde_json::Value, expected: &[&str]) {
        assert_eq!(changes(&before, &after), expected, "{before} → {after}");
    }

    #[test]
    fn changes_are_said_rule_by_rule() {
        let base = json!({ "name": "Finance", "scope": "tenant", "rules": [
            { "id": "small", "tool": "expense.submit", "effect": "allow" },
            { "tool": "payments.*", "effect": "allow", "limit": { "args.amount": { "max": 10000 } } }
        ]});
        check(base.clone(), base.clone(), &[]);
        check(
            base.clone(),
            json!({ "name": "Finance", "scope": "tenant", "rules": [
                { "id": "small", "tool": "expense.submit", "effect": "deny" },
                { "tool": "payments.*", "effect": "allow", "limit": { "args.amount": { "max": 5000 } } }
            ]}),
            &["rule 1 (small): effect `allow` → `deny`", "rule 2: limit `{\"args.amount\":{\"max\":10000}}` → `{\"args.amount\":{\"max\":5000}}`"],
        );
        // A rule with an id is followed where it moves; a new one is added; the name changes.
        check(
            base,
            json!({ "name": "Finance v2", "scope": "tenant", "rules": [
                { "tool": "docs.read", "effect": "allow" },
                { "id": "small", "tool": "expense.submit", "effect": "allow" }
            ]}),
            &[
                "name: `Finance` → `Finance v2`",
                "rule 1 (small) is now rule 2",
                "rule 2 removed",
                "rule 1 added: `{\"effect\":\"allow\",\"tool\":\"docs.read\"}`",
            ],
        );
    }
}
