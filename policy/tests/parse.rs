//! The policy language: parse errors (one `check` helper, a table of inputs and the error each
//! must give), round trips through YAML and JSON, and the examples of the language reference.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use charter_policy::{Format, Policy};
use serde::Deserialize;

/// Parses `input` (YAML, or JSON when it starts with `{`) and compares the error, rendered as
/// `line L, column C: `path`: message`, with `expected`. An `expected` of `ok` means no error.
fn check(input: &str, expected: &str) -> Option<String> {
    let actual = match Policy::parse_auto(input) {
        Ok(_) => "ok".to_string(),
        Err(err) => err.to_string(),
    };
    (actual != expected)
        .then(|| format!("input:\n{input}\nexpected: {expected}\n  actual: {actual}"))
}

const RULE_FIELDS: &str =
    "`id`, `tool`, `when`, `targets`, `only_when`, `effect`, `approvers`, `mask`, `limit`, `rate_limit`, `budget`, `reason`, `priority`";
const OPERATORS: &str =
    "eq, ne, lt, lte, gt, gte, in, contains, contains_any, starts_with, ends_with, matches, exists, between, type";

#[test]
fn parse_errors() {
    let head = "name: x\nscope: tenant\nrules:\n  - tool: a\n";
    let yaml = |rest: &str| format!("{head}{rest}");
    let json = |rule: &str| format!(r#"{{"name": "x", "scope": "tenant", "rules": [{rule}]}}"#);
    let cases: Vec<(String, String)> = vec![
        (yaml("    effect: allow\n"), "ok".into()),
        (
            yaml("    when: { session.calls: email.send }\n    effect: deny\n"),
            "line 5, column 11: `rules[0].when.session.calls`: unknown session fact `session.calls`; expected `session.called` or `session.count`".into(),
        ),
        (
            yaml("    when: { session.count: { gte: 3 } }\n    effect: deny\n"),
            "line 5, column 28: `rules[0].when.session.count`: a session count needs the `tool` whose calls it counts".into(),
        ),
        (
            yaml("    when: { session.count: { tool: \"email.*\", gte: three } }\n    effect: deny\n"),
            "line 5, column 28: `rules[0].when.session.count.gte`: `gte` compares the number of calls with a number".into(),
        ),
        (
            yaml("    only_when: { args.x: 1 }\n    effect: deny\n"),
            "line 4, column 5: `rules[0].only_when`: `only_when` says when a call may go ahead, so it does not go with `effect: deny`; to deny under conditions, use `when`".into(),
        ),
        (
            yaml("    only_when: { context.hour: { between: [9] } }\n"),
            "line 5, column 32: `rules[0].only_when.context.hour.between`: `between` needs two bounds of one kind, such as `[9, 17]` or `[monday, friday]`".into(),
        ),
        (
            yaml("    only_when: { context.hour: { between: [9, friday] } }\n"),
            "line 5, column 32: `rules[0].only_when.context.hour.between`: `between` needs two bounds of one kind, such as `[9, 17]` or `[monday, friday]`".into(),
        ),
        (
            yaml("    only_when: { args.to: { type: text } }\n"),
            "line 5, column 27: `rules[0].only_when.args.to.type`: unknown type `text`; expected one of string, number, boolean, list, object".into(),
        ),
        (
            yaml("    only_when: { args.q: { contains: \"id = '${context.tenant_id'\" } }\n"),
            "line 5, column 38: `rules[0].only_when.args.q.contains`: `${` in `id = '${context.tenant_id'` is not closed with `}`; write `$${` for a literal `${`".into(),
        ),
        (
            yaml("    only_when: { args.q: { contains: \"id = '${tenant_id}'\" } }\n"),
            "line 5, column 38: `rules[0].only_when.args.q.contains`: in `id = '${tenant_id}'`: field `tenant_id` must start with `args.`, `context.` or `principal.`; write `$${` for a literal `${`".into(),
        ),
        (
            yaml("    only_when: { args.q: { in: \"${context.tenant_id}\" } }\n"),
            "line 5, column 26: `rules[0].only_when.args.q.in`: `in` needs a list, such as `[a, b]`, not a string".into(),
        ),
        (
            yaml("    limit: { args.amount: { min: 10, max: 5 } }\n"),
            "line 5, column 12: `rules[0].limit.args.amount`: `min` (10) is above `max` (5), so no value could pass".into(),
        ),
        (
            yaml("    limit: { args.amount: { required: false } }\n"),
            "line 5, column 27: `rules[0].limit.args.amount`: a cap needs `max`, `min` or `required: true`".into(),
        ),
        (
            yaml("    limit: { args.amount: { floor: 5 } }\n"),
            "line 5, column 27: `rules[0].limit.args.amount.floor`: unknown field `floor`, expected `min`, `max` or `required`".into(),
        ),
        (
            "name: x\nscope: tenant\nrules:\n  - tool: *.execute\n    effect: allow\n".into(),
            "line 4, column 12: `rules[0].tool`: quote patterns that start with `*`, such as `tool: \"*.execute\"`: unquoted, YAML reads `*` as a reference to an anchor".into(),
        ),
        (
            yaml("    when: { args.amount: { gtt: 5 } }\n    effect: allow\n"),
            format!("line 5, column 26: `rules[0].when.args.amount.gtt`: unknown operator `gtt`; expected one of {OPERATORS}"),
        ),
        (
            yaml("    effect: allow\n    colour: red\n"),
            format!("line 6, column 5: `rules[0].colour`: unknown field `colour`, expected one of {RULE_FIELDS}"),
        ),
        (
            "name: x\nscope: tenant\nrules:\n  - tool: \"^(a\"\n    effect: allow\n".into(),
            "line 4, column 11: `rules[0].tool`: bad regex `^(a`: unclosed group".into(),
        ),
        (
            "name: x\nscope: tenant\nrules:\n  - tool: \"[a\"\n    effect: allow\n".into(),
            "line 4, column 11: `rules[0].tool`: bad glob `[a`: unclosed character class; missing ']'".into(),
        ),
        (
            "name: x\nscope: tenant\nrules:\n  - tool: { pattern: a }\n    effect: allow\n".into(),
            "line 4, column 11: `rules[0].tool`: unknown tool match `pattern`, expected `exact`, `glob` or `regex`".into(),
        ),
        (
            yaml("    limit: { args.amount: { max: lots } }\n"),
            "line 5, column 34: `rules[0].limit.args.amount.max`: the cap must be a number, not the string `lots`".into(),
        ),
        (
            yaml("    limit: { context.amount: 5 }\n"),
            "line 5, column 12: `rules[0].limit.context.amount`: a cap applies to an argument, so `context.amount` must start with `args.`".into(),
        ),
        (
            yaml("    effect: require_approval\n"),
            "line 4, column 5: `rules[0].approvers`: `require_approval` needs at least one approver role in `approvers`".into(),
        ),
        (
            yaml("    effect: allow\n    approvers: [boss]\n"),
            "line 4, column 5: `rules[0].approvers`: `approvers` only apply when effect is `require_approval`".into(),
        ),
        (
            yaml("    effect: alow\n"),
            "line 5, column 13: `rules[0].effect`: unknown variant `alow`, expected one of `allow`, `deny`, `require_approval`".into(),
        ),
        (
            "name: x\nscope: agent\nrules: []\n".into(),
            "line 1, column 1: `agent`: an agent policy must name its `agent`".into(),
        ),
        (
            "name: x\nscope: tenant\nagent: bot\n".into(),
            "line 1, column 1: `agent`: `agent` is only allowed when scope is `agent`, not `tenant`".into(),
        ),
        (
            "name: \"  \"\nscope: tenant\n".into(),
            "line 1, column 1: `name`: the name must not be empty".into(),
        ),
        ("scope: tenant\n".into(), "line 1, column 1: missing field `name`".into()),
        (
            yaml(""),
            "line 4, column 5: `rules[0]`: a rule needs an `effect` (allow, deny, require_approval), an `only_when`, a `limit`, a `rate_limit`, a `budget` or a `mask`".into(),
        ),
        (
            yaml("    when:\n      args.x: { matches: \"(\" }\n    effect: allow\n"),
            "line 6, column 15: `rules[0].when.args.x.matches`: bad regex `(`: unclosed group".into(),
        ),
        (
            yaml("    when:\n      argz.x: 1\n    effect: allow\n"),
            "line 6, column 7: `rules[0].when.argz.x`: field `argz.x` must start with `args.`, `context.` or `principal.`, or be `any`, `all` or `not`".into(),
        ),
        (
            yaml("    when: { args.x: { ne: $contxt.id } }\n    effect: allow\n"),
            "line 5, column 27: `rules[0].when.args.x.ne`: field `contxt.id` must start with `args.`, `context.` or `principal.`".into(),
        ),
        (
            yaml("    when: { args.x: [a, b] }\n    effect: allow\n"),
            "line 5, column 21: `rules[0].when.args.x`: a list needs an operator, such as `{ in: [...] }`".into(),
        ),
        (
            yaml("    when: { args.x: { gt: [1] } }\n    effect: allow\n"),
            "line 5, column 21: `rules[0].when.args.x.gt`: `gt` compares with a number or a string, not `[1]`".into(),
        ),
        (
            yaml("    when: { args.x: { starts_with: 5 } }\n    effect: allow\n"),
            "line 5, column 21: `rules[0].when.args.x.starts_with`: `starts_with` needs a string, not `5`".into(),
        ),
        (
            yaml("    when: { args.x: { exists: maybe } }\n    effect: allow\n"),
            "line 5, column 31: `rules[0].when.args.x.exists`: invalid type: string \"maybe\", expected a boolean".into(),
        ),
        (
            yaml("    when: { args.x: {} }\n    effect: allow\n"),
            format!("line 5, column 21: `rules[0].when.args.x`: no operator given; expected one of {OPERATORS}"),
        ),
        (
            yaml("    when: { any: [] }\n    effect: allow\n"),
            "line 5, column 11: `rules[0].when.any`: `any` needs at least one condition".into(),
        ),
        (
            yaml("    targets: {}\n    effect: allow\n"),
            "line 5, column 14: `rules[0].targets`: targets need at least one of `roles`, `groups` or `users`".into(),
        ),
        (
            yaml("    targets: { role: [a] }\n    effect: allow\n"),
            "line 5, column 16: `rules[0].targets.role`: unknown field `role`, expected one of `roles`, `groups`, `users`".into(),
        ),
        (
            yaml("    mask: [ssn]\n    effect: allow\n"),
            "line 4, column 5: `rules[0].mask[0]`: mask field `ssn` must be a path under `args.` or `result.`".into(),
        ),
        (
            yaml("    rate_limit: { calls: 10, per: 1 fortnight }\n"),
            "line 5, column 35: `rules[0].rate_limit.per`: bad window `1 fortnight`: write a number and a unit (s, m, h, d), such as `1m`".into(),
        ),
        (
            yaml("    rate_limit: { calls: 0, per: 1m }\n"),
            "line 5, column 17: `rules[0].rate_limit.calls`: `calls` must be at least 1; use `effect: deny` to block a tool".into(),
        ),
        (
            yaml("    rate_limit: { calls: 10, per: 1m, per_key: team }\n"),
            "line 5, column 48: `rules[0].rate_limit.per_key`: unknown variant `team`, expected one of `tenant`, `agent`, `user`, `key`".into(),
        ),
        (
            yaml("    effect: allow\n    priority: high\n"),
            "line 6, column 15: `rules[0].priority`: invalid type: string \"high\", expected i32".into(),
        ),
        (
            "name: x\nscope: tenant\nrules:\n  - { id: a, tool: t, effect: allow }\n  - { id: a, tool: t, effect: deny }\n".into(),
            "line 1, column 1: `rules[1].id`: rule id `a` is used twice".into(),
        ),
        (
            "name: x\nscope: tenant\nrules: [\n".into(),
            "line 4, column 1: `rules`: did not find expected node content, while parsing a flow node".into(),
        ),
        (
            json(r#"{"tool": "a", "when": {"args.n": {"in": 5}}, "effect": "allow"}"#),
            "line 1, column 85: `rules[0].when.args.n.in`: `in` needs a list, such as `[a, b]`, not `5`".into(),
        ),
        (
            json(r#"{"tool": "a", "effect": "allow", "colour": 1}"#),
            format!("line 1, column 84: `rules[0].colour`: unknown field `colour`, expected one of {RULE_FIELDS}"),
        ),
        (
            json(r#"{"tool": "a", "limit": {"args.amount": {"max": "10"}}}"#),
            "line 1, column 94: `rules[0].limit.args.amount.max`: the cap must be a number, not the string `10`".into(),
        ),
        (
            r#"{"name": "x", "scope": "tenant"} trailing"#.into(),
            "line 1, column 34: trailing characters".into(),
        ),
        (
            r#"{"name": "x", "scope": "tenant", "rules": [{"tool": "a" "effect": "allow"}]}"#.into(),
            "line 1, column 57: `rules[0]`: expected `,` or `}`".into(),
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(input, expected)| check(input, expected))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn errors_expose_their_parts() {
    let err = Policy::from_yaml("name: x\nscope: tenant\nrules:\n  - tool: a\n    effect: alow\n")
        .unwrap_err();
    assert_eq!(
        (err.format, err.line, err.column),
        (Format::Yaml, Some(5), Some(13))
    );
    assert_eq!(err.path.as_deref(), Some("rules[0].effect"));
    assert!(err.message.starts_with("unknown variant `alow`"));
}

/// The policies of every scenario file, ignoring the rest of the file.
#[derive(Deserialize)]
struct Policies {
    #[serde(default)]
    platform: Vec<Policy>,
    #[serde(default)]
    tenant: Vec<Policy>,
    #[serde(default)]
    agent: Vec<Policy>,
}

fn round_trip(policy: &Policy) -> Result<(), String> {
    let yaml = policy.to_yaml().map_err(|e| e.to_string())?;
    let back = Policy::from_yaml(&yaml).map_err(|e| format!("{e}\n{yaml}"))?;
    if &back != policy {
        return Err(format!("YAML round trip changed the policy:\n{yaml}"));
    }
    let json = policy.to_json().map_err(|e| e.to_string())?;
    let back = Policy::from_json(&json).map_err(|e| format!("{e}\n{json}"))?;
    if &back != policy {
        return Err(format!("JSON round trip changed the policy:\n{json}"));
    }
    Ok(())
}

#[test]
fn every_scenario_policy_round_trips() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let policies: Policies = charter_policy::from_yaml(&text).unwrap();
        for policy in policies
            .platform
            .iter()
            .chain(&policies.tenant)
            .chain(&policies.agent)
        {
            round_trip(policy)
                .unwrap_or_else(|err| panic!("{}: {}: {err}", path.display(), policy.name));
            count += 1;
        }
    }
    assert!(count > 10);
}

/// Every YAML or JSON block of the language reference that is a policy (it has a `name`) parses
/// and round-trips, so the documentation cannot drift from the parser.
#[test]
fn documentation_examples_parse() {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/policy-language.md");
    let text = std::fs::read_to_string(doc).unwrap();
    let mut count = 0;
    let mut blocks = text.split("```");
    blocks.next();
    while let Some(block) = blocks.next() {
        blocks.next();
        let (lang, body) = block.split_once('\n').unwrap_or((block, ""));
        let is_policy = matches!(lang.trim(), "yaml" | "json") && body.contains("name");
        if !is_policy {
            continue;
        }
        let policy = Policy::parse_auto(body).unwrap_or_else(|err| panic!("{err}\n{body}"));
        round_trip(&policy).unwrap();
        count += 1;
    }
    assert!(count >= 5, "only {count} examples found");
}

#[test]
fn shorthands_read_back_in_their_long_form() {
    let policy = Policy::from_yaml(
        "name: x\nscope: tenant\nrules:\n  - tool: a\n    when: { args.c: USD, any: [{ args.n: { gt: 1 } }, { args.m: 2, args.o: 3 }] }\n    limit: { args.amount: 5 }\n    effect: allow\n",
    )
    .unwrap();
    let yaml = policy.to_yaml().unwrap();
    assert!(yaml.contains("args.c:\n      eq: USD"), "{yaml}");
    assert!(yaml.contains("max: 5"), "{yaml}");
    assert_eq!(Policy::from_yaml(&yaml).unwrap(), policy);
}

/// Size limits: a document at a limit parses; one past it is refused, naming the field and the
/// limit. (A document nested deeper than a reader can follow could be saved but never read back.)
#[test]
fn size_limits_are_refused_naming_the_field() {
    use charter_policy::{
        MAX_CONDITION_DEPTH, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_REGEXES_PER_POLICY,
        MAX_REGEX_CHARS, MAX_RULES,
    };
    let nested = |depth: usize| {
        let mut when = r#"{"args.x": 1}"#.to_owned();
        for _ in 1..depth {
            when = format!(r#"{{"not": {when}}}"#);
        }
        format!(
            r#"{{"name": "x", "scope": "tenant", "rules": [{{"tool": "a", "when": {when}, "effect": "allow"}}]}}"#
        )
    };
    let named = |name: String, description: String| {
        serde_json::json!({"name": name, "description": description, "scope": "tenant"}).to_string()
    };
    let rules = |count: usize| {
        let rule = serde_json::json!({"tool": "a", "effect": "allow"});
        serde_json::json!({"name": "x", "scope": "tenant", "rules": vec![rule; count]}).to_string()
    };
    // `n` rules each matching `args.x` against `pattern`, with `n` in the pattern replaced by
    // the rule's number (so that every regex is a different one).
    let regexes = |count: usize, pattern: &str| {
        let rules: Vec<serde_json::Value> = (0..count)
            .map(|n| {
                let pattern = pattern.replace("{n}", &n.to_string());
                serde_json::json!({"tool": "a", "when": {"args.x": {"matches": pattern}}, "effect": "allow"})
            })
            .collect();
        serde_json::json!({"name": "x", "scope": "tenant", "rules": rules}).to_string()
    };
    let check = |input: String, expected: Option<(&str, &str)>| {
        let actual = Policy::parse_auto(&input)
            .err()
            .map(|err| (err.path.unwrap_or_default(), err.message));
        let expected = expected.map(|(path, message)| (path.to_owned(), message.to_owned()));
        (actual != expected).then(|| format!("expected {expected:?}, got {actual:?}"))
    };
    let cases = vec![
        (nested(MAX_CONDITION_DEPTH), None),
        (
            nested(MAX_CONDITION_DEPTH + 1),
            Some((
                "rules[0].when",
                "conditions nest 33 levels deep; at most 32 are allowed",
            )),
        ),
        (
            nested(120),
            Some((
                "rules[0].when",
                "conditions nest 120 levels deep; at most 32 are allowed",
            )),
        ),
        (named("n".repeat(MAX_NAME_CHARS), String::new()), None),
        (
            named("n".repeat(MAX_NAME_CHARS + 1), String::new()),
            Some(("name", "the name must be at most 200 characters")),
        ),
        (named("n".into(), "d".repeat(MAX_DESCRIPTION_CHARS)), None),
        (
            named("n".into(), "d".repeat(MAX_DESCRIPTION_CHARS + 1)),
            Some((
                "description",
                "the description must be at most 4000 characters",
            )),
        ),
        (rules(MAX_RULES), None),
        (
            rules(MAX_RULES + 1),
            Some((
                "rules",
                "a policy holds at most 1000 rules; split it into several policies",
            )),
        ),
        (regexes(MAX_REGEXES_PER_POLICY, "^limit_[a-z]{n}$"), None),
        (
            regexes(MAX_REGEXES_PER_POLICY + 1, "^limit_[a-z]{n}$"),
            Some((
                "rules[100].when.args.x.matches",
                "regex `^limit_[a-z]100$` refused: a policy may hold at most 100 regexes (`matches` conditions and `^` tool patterns); split it into several policies",
            )),
        ),
        // The assessment's policy: a thousand Unicode `\w{20}`, about a megabyte compiled each.
        (
            regexes(1_000, r"\w{20}"),
            Some((
                "rules[3].when.args.x.matches",
                r"regex `\w{20}` refused: the policy's regexes compile to more than 4.0 MiB in all (the limit per policy); simplify them, e.g. `[A-Za-z0-9_]` instead of Unicode `\w`",
            )),
        ),
        (
            regexes(1, &"a".repeat(MAX_REGEX_CHARS + 1)),
            Some((
                "rules[0].when.args.x.matches",
                "regex `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…` refused: a regex may have at most 1000 characters, not 1001",
            )),
        ),
    ];
    let failures: Vec<String> = cases
        .into_iter()
        .filter_map(|(input, expected)| check(input, expected))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn baselines_are_named_on_platform_policies_and_extended_by_the_others() {
    let cases: &[(&str, Option<&str>)] = &[
        ("name: b\nscope: platform\nbaseline: hipaa-phi\n", None),
        (
            "name: t\nscope: tenant\nextends: [hipaa-phi, tenant-isolation]\n",
            None,
        ),
        (
            "name: a\nscope: agent\nagent: bot\nextends: [hipaa-phi]\n",
            None,
        ),
        (
            "name: t\nscope: tenant\nbaseline: hipaa-phi\n",
            Some("`baseline`: only a platform policy can be a baseline"),
        ),
        (
            "name: b\nscope: platform\nbaseline: HIPAA\n",
            Some("`baseline`: `HIPAA` cannot name a baseline"),
        ),
        (
            "name: p\nscope: platform\nextends: [hipaa-phi]\n",
            Some("`extends`: only a tenant or agent policy extends baselines"),
        ),
        (
            "name: t\nscope: tenant\nextends: [hipaa-phi, hipaa-phi]\n",
            Some("`extends[1]`: baseline `hipaa-phi` is named twice"),
        ),
        (
            "name: t\nscope: tenant\nextends: [\"no way\"]\n",
            Some("`extends[0]`: `no way` cannot name a baseline"),
        ),
    ];
    for (input, expected) in cases {
        match (Policy::parse_auto(input), expected) {
            (Ok(policy), None) => {
                round_trip(&policy).unwrap_or_else(|err| panic!("{input}: {err}"))
            }
            (Err(err), Some(text)) => assert!(err.to_string().contains(text), "{input}: {err}"),
            (result, expected) => panic!("{input}: expected {expected:?}, got {result:?}"),
        }
    }
}
