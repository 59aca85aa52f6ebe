//! Masks: a `mask: args.*` obligation means the field is never persisted in the clear. What is
//! stored (receipts, approvals) carries [`MASKED`] in its place; the digest of the canonical
//! unmasked arguments stays, so an approval still binds to the exact call.

use charter_policy::{Decision, EffectiveLimit, ObligationKind};
use serde_json::Value;

/// What a masked value is stored as.
pub const MASKED: &str = "[masked]";

/// The `args.` paths (without the prefix) the decision asks to mask.
pub(crate) fn masked_arg_paths(decision: &Decision) -> Vec<&str> {
    decision
        .obligations
        .iter()
        .filter(|obligation| obligation.kind == ObligationKind::Mask)
        .filter_map(|obligation| obligation.field.strip_prefix("args."))
        .collect()
}

/// The `result.` paths (without the prefix) the decision asks to mask in the tool's answer.
pub(crate) fn masked_result_paths(decision: &Decision) -> Vec<&str> {
    decision
        .obligations
        .iter()
        .filter(|obligation| obligation.kind == ObligationKind::Mask)
        .filter_map(|obligation| obligation.field.strip_prefix("result."))
        .collect()
}

/// `args` with every masked path replaced by [`MASKED`]. A path through a list applies to the
/// index it names (`items.0.card`), or to every element when the segment is not a number
/// (`items.card` masks the card of each item), so nothing slips through a list.
pub(crate) fn mask_args(args: &Value, paths: &[&str]) -> Value {
    let mut masked = args.clone();
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        mask_path(&mut masked, &segments);
    }
    masked
}

fn mask_path(value: &mut Value, segments: &[&str]) {
    let Some((first, rest)) = segments.split_first() else { return };
    match value {
        Value::Object(map) => {
            if let Some(child) = map.get_mut(*first) {
                if rest.is_empty() {
                    *child = Value::String(MASKED.to_owned());
                } else {
                    mask_path(child, rest);
                }
            }
        }
        Value::Array(items) => match first.parse::<usize>() {
            Ok(index) => {
                if let Some(child) = items.get_mut(index) {
                    if rest.is_empty() {
                        *child = Value::String(MASKED.to_owned());
                    } else {
                        mask_path(child, rest);
                    }
                }
            }
            Err(_) => {
                for item in items.iter_mut() {
                    mask_path(item, segments);
                }
            }
        },
        _ => {}
    }
}

/// The decision as it may be stored: explanations that would quote a masked value (a near miss's
/// "`args.notes` is ...", a cap's value of this call) say only that the value is masked.
pub(crate) fn mask_decision(decision: &Decision, paths: &[&str]) -> Decision {
    let mut stored = decision.clone();
    if paths.is_empty() {
        return stored;
    }
    let quoted = |text: &str| paths.iter().any(|path| text.contains(&format!("args.{path}")));
    for near_miss in &mut stored.near_misses {
        if quoted(&near_miss.failed) {
            near_miss.failed = format!("a condition on a masked field did not hold ({MASKED})");
        }
    }
    for limit in &mut stored.limits {
        match limit {
            EffectiveLimit::Cap { field, value, .. } | EffectiveLimit::Floor { field, value, .. } | EffectiveLimit::Budget { field, amount: value, .. } => {
                if quoted(field) {
                    *value = None;
                }
            }
            EffectiveLimit::Required { .. } | EffectiveLimit::Rate { .. } => {}
        }
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(args: Value, paths: &[&str], expected: Value) {
        assert_eq!(mask_args(&args, paths), expected, "{paths:?}");
    }

    #[test]
    fn masked_paths_never_keep_their_value() {
        check(json!({"notes": "diagnosis", "id": 7}), &["notes"], json!({"notes": MASKED, "id": 7}));
        check(json!({"patient": {"ssn": "123", "name": "A"}}), &["patient.ssn"], json!({"patient": {"ssn": MASKED, "name": "A"}}));
        check(json!({"items": [{"card": "4111"}, {"card": "5500"}]}), &["items.card"], json!({"items": [{"card": MASKED}, {"card": MASKED}]}));
        check(json!({"items": [{"card": "4111"}, {"card": "5500"}]}), &["items.1.card"], json!({"items": [{"card": "4111"}, {"card": MASKED}]}));
        check(json!({"notes": {"deep": [1, 2]}}), &["notes"], json!({"notes": MASKED}));
        // A path the call does not have changes nothing, and adds nothing.
        check(json!({"id": 7}), &["notes"], json!({"id": 7}));
        check(json!({"notes": "x"}), &[], json!({"notes": "x"}));
    }
}
