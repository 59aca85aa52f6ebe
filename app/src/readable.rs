//! The engine's and the parser's messages, as the console shows them: the same facts (the value,
//! the field, what was expected), in sentences a person reads, without code quotes (`x`),
//! serde's "unknown variant" or a path like `rules[3].effect`.

/// A field path in words: `rules[3].effect` is "rule 4, effect"; indexes count from 1.
pub fn path_in_words(path: &str) -> String {
    // The API's names of a tenant's numbers, said the way the console labels them.
    match path {
        "policy_quota" => return "policy quota".to_owned(),
        "receipt_retention_days" => return "receipt retention".to_owned(),
        _ => {}
    }
    let mut parts: Vec<String> = Vec::new();
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let (name, indexes) = segment.split_once('[').map_or((segment, ""), |(name, rest)| (name, rest));
        let singular = match name {
            "rules" => "rule",
            "agents" => "agent",
            "approvers" => "approver",
            "mask" => "mask field",
            "tools" => "tool",
            other => other,
        };
        let index = indexes.split(']').next().and_then(|n| n.parse::<usize>().ok());
        match index {
            Some(n) => parts.push(format!("{singular} {}", n + 1)),
            None => parts.push(name.to_owned()),
        }
    }
    // Condition fields such as `when.args.amount` stay one name: `args.amount` after "when".
    let mut words: Vec<String> = Vec::new();
    let mut iter = parts.into_iter().peekable();
    while let Some(part) = iter.next() {
        if matches!(part.as_str(), "when" | "only_when" | "limit") {
            let rest: Vec<String> = std::iter::from_fn(|| iter.next()).collect();
            words.push(if rest.is_empty() { part } else { format!("{part} {}", rest.join(".")) });
            break;
        }
        words.push(part);
    }
    words.join(", ")
}

/// A message as a sentence: serde's phrasing rewritten, code quotes turned into quotation marks.
pub fn sentence(message: &str) -> String {
    let message = rewrite_serde(message.trim());
    quotes(&message)
}

/// `a` and "a" become “a”.
fn quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open = true;
    for ch in text.chars() {
        if ch == '`' {
            out.push(if open { '“' } else { '”' });
            open = !open;
        } else {
            out.push(ch);
        }
    }
    out
}

/// The names inside serde's "`a`, `b`, `c`" lists, as "a, b or c".
fn alternatives(list: &str) -> String {
    let names: Vec<&str> = list.split(", ").map(|n| n.trim().trim_matches('`')).filter(|n| !n.is_empty()).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn rewrite_serde(message: &str) -> String {
    // serde: "unknown variant `permit`, expected one of `allow`, `deny`" (possibly after "rules[0].effect: ").
    for (prefix, what) in [("unknown variant `", "is not one of the choices"), ("unknown field `", "is not a field here")] {
        if let Some(at) = message.find(prefix) {
            let (before, rest) = message.split_at(at);
            let rest = rest.strip_prefix(prefix).unwrap_or(rest);
            if let Some((value, tail)) = rest.split_once('`') {
                let expected = tail
                    .trim_start_matches(',')
                    .trim()
                    .strip_prefix("expected one of ")
                    .or_else(|| tail.trim_start_matches(',').trim().strip_prefix("expected "))
                    .map(|list| format!(": use {}", alternatives(list.split(" at line").next().unwrap_or(list))))
                    .unwrap_or_default();
                return format!("{before}`{value}` {what}{expected}");
            }
        }
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some((field, tail)) = rest.split_once('`') {
            return format!("the field `{field}` is missing{tail}");
        }
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::{path_in_words, sentence};

    #[test]
    fn paths_read_as_words() {
        for (path, words) in [
            ("rules[3].effect", "rule 4, effect"),
            ("rules[0]", "rule 1"),
            ("name", "name"),
            ("rules[1].when.args.amount", "rule 2, when args.amount"),
            ("rules[0].limit.args.amount.max", "rule 1, limit args.amount.max"),
            ("agents[0]", "agent 1"),
            ("rules[2].approvers[1]", "rule 3, approver 2"),
            ("receipt_retention_days", "receipt retention"),
        ] {
            assert_eq!(path_in_words(path), words, "{path}");
        }
    }

    #[test]
    fn messages_read_as_sentences() {
        for (message, expected) in [
            (
                "unknown variant `permit`, expected one of `allow`, `deny`, `require_approval`",
                "“permit” is not one of the choices: use allow, deny or require_approval",
            ),
            ("unknown field `efect`, expected one of `tool`, `effect`", "“efect” is not a field here: use tool or effect"),
            ("missing field `tool`", "the field “tool” is missing"),
            ("no user of this tenant holds the approver role `CFO officer`", "no user of this tenant holds the approver role “CFO officer”"),
            ("plain words stay", "plain words stay"),
        ] {
            assert_eq!(sentence(message), expected, "{message}");
        }
    }
}
