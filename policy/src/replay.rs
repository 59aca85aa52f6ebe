//! What replaying a stored request asks of the engine. A receipt keeps a masked argument as
//! `[masked]`, so a rule that reads it would be judged on the mask, not the value: the replay asks
//! which rule that could apply to the call reads a masked field, and reports the call as unknown.

use crate::compile::PolicySet;
use crate::condition::{Condition, FieldPath, Operand, TemplatePart, Test};
use crate::model::{Rule, RuleRef};

impl PolicySet {
    /// The first rule that could apply to a call of `tool` by `agent` and reads one of `fields`
    /// (such as `args.ssn`) in its conditions, requirements, caps or budget; reading a field
    /// inside one (`args.ssn.last4`) or around it (`args`) counts. `None` when no rule does.
    pub fn rule_reading(
        &self,
        tool: &str,
        agent: Option<&str>,
        fields: &[String],
    ) -> Option<&RuleRef> {
        if fields.is_empty() {
            return None;
        }
        self.candidates(tool, agent)
            .into_iter()
            .find_map(|compiled| reads_any(&compiled.rule, fields).then_some(&compiled.source))
    }
}

impl PolicySet {
    /// Whether a rule that could apply to a call of `tool` by `agent` reads what the session did
    /// before (`session.called`, `session.count`).
    pub fn session_rule_applies(&self, tool: &str, agent: Option<&str>) -> bool {
        self.candidates(tool, agent)
            .into_iter()
            .any(|compiled| compiled.reads_session)
    }
}

fn reads_any(rule: &Rule, fields: &[String]) -> bool {
    let mut read: Vec<&FieldPath> = Vec::new();
    for condition in rule.when.iter().chain(&rule.only_when) {
        fields_of(condition, &mut read);
    }
    read.extend(rule.limit.iter().map(|cap| &cap.field));
    read.extend(rule.budget.iter().map(|budget| &budget.sum));
    read.iter().any(|path| {
        fields
            .iter()
            .any(|field| overlaps(&path.to_string(), field))
    })
}

fn fields_of<'a>(condition: &'a Condition, out: &mut Vec<&'a FieldPath>) {
    match condition {
        Condition::Field { field, tests } => {
            out.push(field);
            for test in tests {
                operand_fields(test, out);
            }
        }
        Condition::All(items) | Condition::Any(items) => {
            items.iter().for_each(|item| fields_of(item, out))
        }
        Condition::Not(inner) => fields_of(inner, out),
        Condition::Session(_) => {}
    }
}

fn operand_fields<'a>(test: &'a Test, out: &mut Vec<&'a FieldPath>) {
    let operand = match test {
        Test::Eq(o) | Test::Ne(o) | Test::Lt(o) | Test::Lte(o) | Test::Gt(o) | Test::Gte(o) => o,
        Test::In(o)
        | Test::Contains(o)
        | Test::ContainsAny(o)
        | Test::StartsWith(o)
        | Test::EndsWith(o) => o,
        Test::Matches(_) | Test::Exists(_) | Test::Between(..) | Test::Type(_) => return,
    };
    match operand {
        Operand::Literal(_) => {}
        Operand::Ref(path) => out.push(path),
        Operand::Template(template) => {
            out.extend(template.parts().iter().filter_map(|part| match part {
                TemplatePart::Field(path) => Some(path),
                TemplatePart::Text(_) => None,
            }))
        }
    }
}

/// Whether one of two dotted paths is the other or lies inside it.
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    inside(a, b) || inside(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::from_yaml;
    use crate::model::PlatformSettings;

    fn check(rules: &str, tool: &str, masked: &[&str], expected: Option<&str>) {
        let policy = from_yaml(&format!("name: Replay\nscope: tenant\nrules:\n{rules}")).unwrap();
        let settings: PlatformSettings =
            serde_json::from_value(serde_json::json!({ "default": "deny" })).unwrap();
        let set = PolicySet::compile(&settings, &[], &[policy], &[]);
        let fields: Vec<String> = masked.iter().map(|field| (*field).to_owned()).collect();
        let found = set
            .rule_reading(tool, None, &fields)
            .map(|rule| rule.rule_id.clone().unwrap_or_default());
        assert_eq!(found.as_deref(), expected, "{rules} / {tool} / {masked:?}");
    }

    #[test]
    fn a_rule_that_reads_a_masked_field_is_found() {
        let when = "  - id: big\n    tool: expense.submit\n    when: { args.amount: { gt: 5000 } }\n    effect: deny\n";
        check(when, "expense.submit", &["args.amount"], Some("big"));
        check(when, "expense.submit", &["args.notes"], None);
        check(when, "payments.transfer", &["args.amount"], None);
        check(when, "expense.submit", &[], None);
        // Around or inside the masked field, in requirements, references, templates, caps and budgets.
        check("  - id: r\n    tool: \"*\"\n    when: { args.patient: { exists: true } }\n    effect: deny\n", "x", &["args.patient.ssn"], Some("r"));
        check("  - id: r\n    tool: \"*\"\n    only_when: { args.patient.ssn.last4: { eq: \"1234\" } }\n    effect: allow\n", "x", &["args.patient.ssn"], Some("r"));
        check("  - id: r\n    tool: \"*\"\n    when: { args.to: { eq: \"${args.ssn}\" } }\n    effect: deny\n", "x", &["args.ssn"], Some("r"));
        check("  - id: r\n    tool: \"*\"\n    when: { args.q: { contains: \"id = '${args.ssn}'\" } }\n    effect: deny\n", "x", &["args.ssn"], Some("r"));
        check(
            "  - id: r\n    tool: \"*\"\n    limit: { args.amount: { max: 10 } }\n",
            "x",
            &["args.amount"],
            Some("r"),
        );
        check(
            "  - id: r\n    tool: \"*\"\n    budget: { sum: args.amount, max: 100, per: 1d }\n",
            "x",
            &["args.amount"],
            Some("r"),
        );
        // A session rule is found as such, and only for the calls it could apply to.
        let session = "name: S\nscope: tenant\nrules:\n  - tool: email.send\n    when: { session.called: \"patients.*\" }\n    effect: deny\n";
        let set = PolicySet::compile(
            &serde_json::from_value(serde_json::json!({ "default": "deny" })).unwrap(),
            &[],
            &[from_yaml(session).unwrap()],
            &[],
        );
        assert!(set.session_rule_applies("email.send", None));
        assert!(!set.session_rule_applies("docs.read", None));
        // A field whose name merely starts the same is another field.
        check("  - id: r\n    tool: \"*\"\n    when: { args.amounts: { exists: true } }\n    effect: deny\n", "x", &["args.amount"], None);
    }
}
