//! Save-time warnings: documents that parse but cannot mean what their author intended.
//!
//! Each check here answers one mistake seen when people wrote policies for real scenarios:
//!
//! | mistake | example | warning at |
//! |---|---|---|
//! | a glob written like a regex | `tool: "get_.*"` | `rules[i].tool` |
//! | a string that looks like a template but is literal | `"{{tenant}}"`, `"... $context.x"` | the condition |
//! | a principal field the principal does not have | `principal.role` | the condition |
//! | a number written as text in a comparison | `gt: 20K` | the condition |
//! | a rule another rule of its policy always overrules | an allow under an unconditional deny | `rules[i]` |
//! | an allow that cannot change any verdict | a tenant's conditional allow of what the platform allows | `rules[i].effect` |
//!
//! Warnings never stop a save; they come back with it (and with a validation) next to their line.
//! The checks err towards silence: a warning is only given when the mistake is certain, or (for
//! overruled rules) when the analysis of tool matches proves it.

use serde_json::Value;

use crate::condition::{Condition, FieldPath, Operand, Root, Test};
use crate::delegation::DelegationIssue;
use crate::model::{DefaultBehaviour, Effect, PlatformSettings, Policy, PolicyRef, Rule, Scope};
use crate::tool::{overlap, Overlap, ToolMatch};

/// Everything said about a policy at save time: the delegation check (errors stop the save) and
/// the warnings of [`lint`].
pub fn check_policy(
    policy: &Policy,
    parents: &[Policy],
    settings: &PlatformSettings,
) -> crate::DelegationReport {
    let mut report = crate::check_delegation(policy, parents, settings);
    report.warnings.extend(lint(policy, parents, settings));
    report
}

/// The warnings for `policy`, given its parents (as for [`crate::check_delegation`]: policies of
/// other scopes are ignored where they are not parents) and the platform settings.
pub fn lint(
    policy: &Policy,
    parents: &[Policy],
    settings: &PlatformSettings,
) -> Vec<DelegationIssue> {
    let parents: Vec<&Policy> = parents.iter().filter(|p| p.scope < policy.scope).collect();
    let mut warnings = Vec::new();
    for (index, rule) in policy.rules.iter().enumerate() {
        let mut warn = |path: String, message: String| warnings.push(issue(path, message));
        tool_pattern(index, rule, settings, &mut warn);
        for (block, conditions) in [("when", &rule.when), ("only_when", &rule.only_when)] {
            for condition in conditions.iter() {
                let base = format!("rules[{index}].{block}");
                conditions_of(condition, &base, &mut warn);
            }
        }
        overruled(policy, index, rule, &mut warn);
        capped_out(policy, &parents, index, rule, &mut warn);
        idle_allow(policy, &parents, settings, index, rule, &mut warn);
    }
    warnings
}

fn issue(path: String, message: String) -> DelegationIssue {
    DelegationIssue {
        path,
        message,
        parent: None,
        parent_rule_index: None,
    }
}

/// A glob with regex syntax in it (`get_.*`, `report\d+`) matches almost nothing; a pattern that
/// matches no enabled tool of the catalog does nothing.
fn tool_pattern(
    index: usize,
    rule: &Rule,
    settings: &PlatformSettings,
    warn: &mut impl FnMut(String, String),
) {
    let text = rule.tool.as_str();
    let path = format!("rules[{index}].tool");
    let enabled = settings.enabled_tools.as_ref();
    match &rule.tool {
        ToolMatch::Glob(glob) => {
            let matches_none = enabled.is_some_and(|tools| !tools.iter().any(|t| glob.is_match(t)));
            if looks_like_regex(text) {
                let prefix = literal_start(text);
                warn(
                    path,
                    format!(
                        "`{text}` is a glob, in which `.` is a plain dot and `*` any characters, so it \
                         does not mean what it would in a regex; for every tool starting with `{prefix}` \
                         write `{prefix}*` (a glob) or `^{}` (a regex)",
                        regex_escape(prefix)
                    ),
                );
            } else if matches_none {
                warn(path, format!("`{text}` matches no enabled tool of the catalog, so the rule applies to nothing today"));
            }
        }
        ToolMatch::Regex(regex) => {
            if enabled.is_some_and(|tools| !tools.iter().any(|t| regex.is_match(t))) {
                warn(path, format!("`{text}` matches no enabled tool of the catalog, so the rule applies to nothing today"));
            }
        }
        ToolMatch::Exact(_) if text.contains(['|', '(', ')', '+', '$', '\\']) => warn(
            path,
            format!(
                "`{text}` is matched as an exact tool name; a regex must start with `^` \
                 (such as `^(get|list)_`), and a glob uses `*`"
            ),
        ),
        ToolMatch::Exact(_) => {}
    }
}

/// Regex syntax no glob author means: `.*` or `.+` after a separator or at the start (`get_.*`;
/// `system.*` is an ordinary glob), character classes such as `\d`, or an end anchor.
fn looks_like_regex(glob: &str) -> bool {
    let after_separator = glob.match_indices(".*").any(|(at, _)| {
        let before = glob.get(..at).and_then(|head| head.chars().last());
        before.is_none_or(|c| !c.is_alphanumeric())
    });
    after_separator
        || glob.contains(".+")
        || ["\\d", "\\w", "\\s"]
            .iter()
            .any(|class| glob.contains(class))
        || glob.ends_with('$')
}

/// The literal start of a pattern, up to its first wildcard or regex syntax.
fn literal_start(text: &str) -> &str {
    let end = text
        .find(|c: char| {
            matches!(
                c,
                '.' | '*' | '+' | '?' | '[' | '{' | '(' | '\\' | '$' | '|'
            )
        })
        .unwrap_or(text.len());
    // A dot followed by a name character is part of the name (`report.v2.*`).
    let mut end = end;
    while text.get(end..).is_some_and(|rest| rest.starts_with('.'))
        && text
            .get(end + 1..)
            .and_then(|rest| rest.chars().next())
            .is_some_and(char::is_alphanumeric)
    {
        end = text
            .get(end + 1..)
            .and_then(|rest| {
                rest.find(|c: char| {
                    matches!(
                        c,
                        '.' | '*' | '+' | '?' | '[' | '{' | '(' | '\\' | '$' | '|'
                    )
                })
            })
            .map_or(text.len(), |at| end + 1 + at);
    }
    text.get(..end).unwrap_or(text)
}

fn regex_escape(text: &str) -> String {
    let mut escaped = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Walks a condition tree, with the path of each part as the locator reads it.
fn conditions_of(condition: &Condition, base: &str, warn: &mut impl FnMut(String, String)) {
    match condition {
        Condition::Field { field, tests } => {
            let path = format!("{base}.{field}");
            principal_field(field, &path, warn);
            for test in tests {
                literal_strings(field, test, &path, warn);
            }
        }
        Condition::All(items) | Condition::Any(items) => {
            let key = if matches!(condition, Condition::All(_)) {
                "all"
            } else {
                "any"
            };
            for (k, item) in items.iter().enumerate() {
                conditions_of(item, &format!("{base}.{key}[{k}]"), warn);
            }
        }
        Condition::Not(inner) => conditions_of(inner, &format!("{base}.not"), warn),
        Condition::Session(_) => {}
    }
}

/// Principal attributes named like a built-in field read an attribute nobody sets.
fn principal_field(field: &FieldPath, path: &str, warn: &mut impl FnMut(String, String)) {
    if field.root() != Root::Principal || field.as_str().starts_with("principal.attributes.") {
        return;
    }
    let Some(name) = field.as_str().strip_prefix("principal.") else {
        return;
    };
    let first = name.split('.').next().unwrap_or(name);
    let meant = match first {
        "role" => "principal.roles",
        "group" => "principal.groups",
        "users" | "user_id" | "userid" | "username" | "id" | "name" => "principal.user",
        _ => return,
    };
    let how = if meant == "principal.user" {
        "compare it with `eq`".to_string()
    } else {
        format!("it is a list: use `contains`, such as `{meant}: {{ contains: manager }}`")
    };
    warn(
        path.to_string(),
        format!(
            "`{field}` reads the principal's attribute `{first}`, which requests rarely carry; \
             did you mean `{meant}`? ({how})"
        ),
    );
}

fn literal_strings(
    field: &FieldPath,
    test: &Test,
    path: &str,
    warn: &mut impl FnMut(String, String),
) {
    let Some(Operand::Literal(value)) = test.operand() else {
        return;
    };
    let strings: Vec<&str> = match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let in_list = value.is_array();
    for text in strings {
        if let Some(message) = template_lookalike(text, in_list) {
            warn(path.to_string(), message);
        }
    }
    let ordered = matches!(
        test,
        Test::Lt(_) | Test::Lte(_) | Test::Gt(_) | Test::Gte(_)
    );
    if let (true, Value::String(text)) = (ordered, value) {
        if let Some(number) = abbreviated_number(text) {
            warn(
                path.to_string(),
                format!(
                    "`{field}` is compared with the text `{text}`, which orders as text, not as a \
                     number; write the number {number}"
                ),
            );
        }
    }
}

/// Why a literal string looks like it meant to fill something in, if it does.
fn template_lookalike(text: &str, in_list: bool) -> Option<String> {
    if let (Some(open), Some(close)) = (text.find("{{"), text.rfind("}}")) {
        if open < close {
            let inner = text.get(open + 2..close).unwrap_or_default().trim();
            return Some(format!(
                "`{text}` is compared as literal text: `{{{{...}}}}` is not a template; \
                 to fill in a field write `${{{inner}}}`"
            ));
        }
    }
    let reference = ["$args.", "$context.", "$principal."]
        .iter()
        .find_map(|root| text.find(root).map(|at| (at, *root)))?;
    let (at, _) = reference;
    let name: String = text
        .get(at + 1..)
        .unwrap_or_default()
        .chars()
        .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    let name = name.trim_end_matches('.');
    if in_list {
        return Some(format!(
            "`{text}` is compared as literal text: strings inside a list are never references"
        ));
    }
    Some(format!(
        "`{text}` is compared as literal text: a `$field` reference must be the whole value; \
         inside a longer string write `${{{name}}}`"
    ))
}

/// `20K`, `5,000`, `$5000`, `1.5M`: a number written the way people write them, and its value.
fn abbreviated_number(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.parse::<f64>().is_ok() {
        return None;
    }
    let body = trimmed.trim_start_matches(['$', '€', '£']).trim();
    let (digits, multiplier) = match body.chars().last()? {
        'k' | 'K' => (body.get(..body.len() - 1)?, 1e3),
        'm' | 'M' => (body.get(..body.len() - 1)?, 1e6),
        'b' | 'B' => (body.get(..body.len() - 1)?, 1e9),
        _ => (body, 1.0),
    };
    let digits: String = digits
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | '_'))
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let value = digits.parse::<f64>().ok()? * multiplier;
    Some(crate::decide::number(value))
}

/// A deciding rule of the same policy that always wins over `rule` for every call `rule`
/// matches: an unconditional deny covering its tools, or a rule of higher specificity (or equal
/// specificity and stricter effect) that always applies where it does.
fn overruled(policy: &Policy, index: usize, rule: &Rule, warn: &mut impl FnMut(String, String)) {
    if !matches!(rule.effect, Some(Effect::Allow | Effect::RequireApproval)) {
        return;
    }
    for (other_index, other) in policy.rules.iter().enumerate() {
        if other_index == index || other.is_conditional() || other.has_requirement() {
            continue;
        }
        if overlap(&rule.tool, &other.tool) != Overlap::Subset {
            continue;
        }
        let why = match other.effect {
            Some(Effect::Deny) => "denies every call it matches",
            Some(effect @ (Effect::Allow | Effect::RequireApproval)) => {
                let (mine, theirs) = (specificity(rule), specificity(other));
                let stricter =
                    effect == Effect::RequireApproval && rule.effect == Some(Effect::Allow);
                if theirs > mine {
                    "is more specific and always applies, so it decides every call this rule matches"
                } else if theirs == mine && stricter {
                    "is as specific, always applies and is stricter, so it decides every call this rule matches"
                } else {
                    continue;
                }
            }
            None => continue,
        };
        warn(
            format!("rules[{index}]"),
            format!(
                "rule {} ({}) can never decide: rule {} ({}) {why}",
                index + 1,
                rule.summary(),
                other_index + 1,
                other.summary()
            ),
        );
        return;
    }
}

/// A rule that applies only above an amount that a cap on the same argument always refuses: it
/// can never let a call through (`when: { args.amount: { gt: 60000 } }` under a cap of 50,000).
fn capped_out(
    policy: &Policy,
    parents: &[&Policy],
    index: usize,
    rule: &Rule,
    warn: &mut impl FnMut(String, String),
) {
    if !matches!(rule.effect, Some(Effect::Allow | Effect::RequireApproval)) {
        return;
    }
    for condition in &rule.when {
        let Condition::Field { field, tests } = condition else {
            continue;
        };
        for test in tests {
            let (floor, strict) = match test {
                Test::Gt(Operand::Literal(value)) => (value.as_f64(), true),
                Test::Gte(Operand::Literal(value)) => (value.as_f64(), false),
                _ => continue,
            };
            let Some(floor) = floor else { continue };
            let owners = parents.iter().copied().chain(std::iter::once(policy));
            let cap = owners
                .flat_map(|owner| {
                    owner
                        .rules
                        .iter()
                        .enumerate()
                        .map(move |(i, r)| (owner, i, r))
                })
                .find_map(|(owner, i, other)| {
                    if other.is_conditional() || overlap(&rule.tool, &other.tool) != Overlap::Subset
                    {
                        return None;
                    }
                    let max = other.limit.iter().find(|cap| cap.field == *field)?.max?;
                    let refused = if strict { max <= floor } else { max < floor };
                    refused.then_some((owner, i, max))
                });
            let Some((owner, i, max)) = cap else { continue };
            let capper = if owner.confidential {
                "a platform boundary".to_string()
            } else if std::ptr::eq(owner, policy) {
                format!("rule {}", i + 1)
            } else {
                format!("{} rule {}", PolicyRef::of(owner), i + 1)
            };
            warn(
                format!("rules[{index}].when.{field}"),
                format!(
                    "rule {} ({}) can never let a call through: it applies only when `{field}` is {} {}, \
                     but {capper} caps `{field}` at {} for these tools",
                    index + 1,
                    rule.summary(),
                    if strict { "above" } else { "at least" },
                    crate::decide::number(floor),
                    crate::decide::number(max)
                ),
            );
            return;
        }
    }
}

fn specificity(rule: &Rule) -> (i32, bool, bool) {
    (
        rule.priority.unwrap_or(0),
        rule.tool.is_exact(),
        rule.is_conditional(),
    )
}

/// An `allow` changes a verdict only where its scope would otherwise abstain under a deny
/// default, or where it outranks a `require_approval` of its own scope. When a parent already
/// allows every call it matches (or the default in force is `allow`), and nothing in its policy
/// asks for approval on those tools, it can change nothing.
fn idle_allow(
    policy: &Policy,
    parents: &[&Policy],
    settings: &PlatformSettings,
    index: usize,
    rule: &Rule,
    warn: &mut impl FnMut(String, String),
) {
    if rule.effect != Some(Effect::Allow) || rule.has_requirement() {
        return;
    }
    let asks_approval = policy.rules.iter().any(|other| {
        other.effect == Some(Effect::RequireApproval)
            && overlap(&rule.tool, &other.tool) != Overlap::Disjoint
    });
    if asks_approval {
        return;
    }
    let parent_allow = parents.iter().find_map(|parent| {
        parent.rules.iter().enumerate().find_map(|(i, p)| {
            let always =
                p.effect == Some(Effect::Allow) && !p.is_conditional() && !p.has_requirement();
            (always && overlap(&rule.tool, &p.tool) == Overlap::Subset).then_some((parent, i, p))
        })
    });
    let default_allows = settings.default == DefaultBehaviour::Allow
        && policy.default != Some(DefaultBehaviour::Deny)
        && parents
            .iter()
            .all(|p| p.default != Some(DefaultBehaviour::Deny));
    let already = match parent_allow {
        Some((parent, _, _)) if parent.confidential => {
            "a platform boundary already allows these calls".to_string()
        }
        Some((parent, i, p)) => format!(
            "{} rule {} ({}) already allows these calls",
            PolicyRef::of(parent),
            i + 1,
            p.summary()
        ),
        None if default_allows => "the default in force is already `allow`".to_string(),
        None => return,
    };
    let advice = if rule.when.is_empty() {
        "an allow never overrides another scope's verdict".to_string()
    } else if policy.scope == Scope::Platform {
        "to let these calls through only under its conditions, move them from `when` to `only_when`"
            .to_string()
    } else {
        "an allow never loosens or narrows another scope; to let these calls through only under its \
         conditions, move them from `when` to `only_when`"
            .to_string()
    };
    warn(
        format!("rules[{index}].effect"),
        format!(
            "rule {} ({}) cannot change any decision: {already}; {advice}",
            index + 1,
            rule.summary()
        ),
    );
}
