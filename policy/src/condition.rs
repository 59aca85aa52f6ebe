//! Conditions over a request: the model, their evaluation, and why one failed, in words.
//!
//! The document syntax lives in `condition_syntax.rs`; this file only says what conditions mean.
//!
//! Meaning in brief: a test on a field that the request does not carry is false, whatever the
//! operator, except `exists: false`. Numbers compare as numbers, and a string holding a number is
//! read as one when the other side is a number. Two strings order lexicographically (so ISO dates
//! and times compare as expected). Values of different kinds are never equal and never ordered.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use crate::pattern::RegexPattern;
use crate::regex_cache::RegexCost;
use crate::request::Principal;
use crate::session::{SessionHistory, SessionTest};
use crate::tool::ToolMatch;

/// Which part of the request a field path reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Root {
    Args,
    Context,
    Principal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldPathError {
    #[error("field `{0}` must start with `args.`, `context.` or `principal.`")]
    Root(String),
    #[error("field `{0}` has an empty segment")]
    EmptySegment(String),
}

/// A dotted path into the request, such as `args.amount`, `context.tenant_id`,
/// `principal.roles` or `principal.department` (short for `principal.attributes.department`).
/// A numeric segment indexes an array: `args.items.0.price`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    text: String,
    root: Root,
    /// The segments after the root, with principal attributes spelled out in full.
    segments: Vec<String>,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<Self, FieldPathError> {
        let mut parts = text.split('.');
        let root = match parts.next() {
            Some("args") => Root::Args,
            Some("context") => Root::Context,
            Some("principal") => Root::Principal,
            _ => return Err(FieldPathError::Root(text.to_string())),
        };
        let mut segments: Vec<String> = parts.map(str::to_string).collect();
        if segments.is_empty() {
            return Err(FieldPathError::Root(text.to_string()));
        }
        if segments.iter().any(String::is_empty) {
            return Err(FieldPathError::EmptySegment(text.to_string()));
        }
        let builtin = ["user", "roles", "groups", "attributes"];
        if root == Root::Principal
            && segments
                .first()
                .is_some_and(|first| !builtin.contains(&first.as_str()))
        {
            segments.insert(0, "attributes".to_string());
        }
        Ok(FieldPath {
            text: text.to_string(),
            root,
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn root(&self) -> Root {
        self.root
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The right-hand side of a test: a literal, another field of the request, or a string with
/// fields filled in (`"tenant_id = '${context.tenant_id}'"`).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    Ref(FieldPath),
    Template(Template),
}

/// A string with fields inside it, such as `tenant_id = '${context.tenant_id}'`. It holds at
/// least one field; a string without one is a plain literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    Field(FieldPath),
}

impl Template {
    pub(crate) fn new(parts: Vec<TemplatePart>) -> Self {
        Template { parts }
    }

    pub fn parts(&self) -> &[TemplatePart] {
        &self.parts
    }

    /// The string with every field filled in from the request; `None` when a field is missing,
    /// so a test against it fails as a test against a missing reference does.
    fn render(&self, facts: &Facts<'_>) -> Option<String> {
        let mut text = String::new();
        for part in &self.parts {
            match part {
                TemplatePart::Text(literal) => text.push_str(literal),
                TemplatePart::Field(path) => match facts.lookup(path)? {
                    Value::String(value) => text.push_str(value),
                    other => text.push_str(&other.to_string()),
                },
            }
        }
        Some(text)
    }

    /// The first field the request does not carry, to say why a test could not be made.
    fn missing_field<'t>(&'t self, facts: &Facts<'_>) -> Option<&'t FieldPath> {
        self.parts.iter().find_map(|part| match part {
            TemplatePart::Field(path) if facts.lookup(path).is_none() => Some(path),
            _ => None,
        })
    }
}

impl fmt::Display for Template {
    /// The template as written in a document: `${field}` for a field, `$${` for a literal `${`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                TemplatePart::Text(text) => f.write_str(&text.replace("${", "$${"))?,
                TemplatePart::Field(path) => write!(f, "${{{path}}}")?,
            }
        }
        Ok(())
    }
}

/// The kind of a value, for the `type` test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    String,
    Number,
    Boolean,
    List,
    Object,
}

impl ValueType {
    pub const NAMES: &'static str = "string, number, boolean, list, object";

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => ValueType::String,
            "number" => ValueType::Number,
            "boolean" | "bool" => ValueType::Boolean,
            "list" | "array" => ValueType::List,
            "object" | "map" => ValueType::Object,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Boolean => "boolean",
            ValueType::List => "list",
            ValueType::Object => "object",
        }
    }

    /// Whether the value is of this kind. A number is a JSON number only: `"5000"` is a string,
    /// so a rule that requires a number also rules out amounts sent as text.
    fn holds_for(self, value: &Value) -> bool {
        match self {
            ValueType::String => value.is_string(),
            ValueType::Number => value.is_number(),
            ValueType::Boolean => value.is_boolean(),
            ValueType::List => value.is_array(),
            ValueType::Object => value.is_object(),
        }
    }
}

/// One test on a field. The operand's kind was checked at parse time (lists for `in`, ...).
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Eq(Operand),
    Ne(Operand),
    Lt(Operand),
    Lte(Operand),
    Gt(Operand),
    Gte(Operand),
    In(Operand),
    Contains(Operand),
    ContainsAny(Operand),
    StartsWith(Operand),
    EndsWith(Operand),
    Matches(RegexPattern),
    Exists(bool),
    /// `low <= value <= high`; when `low` is above `high` the range wraps around (`[22, 6]` is
    /// the night). Weekday names order Monday to Sunday.
    Between(Value, Value),
    Type(ValueType),
}

impl Test {
    pub fn operator(&self) -> &'static str {
        match self {
            Test::Eq(_) => "eq",
            Test::Ne(_) => "ne",
            Test::Lt(_) => "lt",
            Test::Lte(_) => "lte",
            Test::Gt(_) => "gt",
            Test::Gte(_) => "gte",
            Test::In(_) => "in",
            Test::Contains(_) => "contains",
            Test::ContainsAny(_) => "contains_any",
            Test::StartsWith(_) => "starts_with",
            Test::EndsWith(_) => "ends_with",
            Test::Matches(_) => "matches",
            Test::Exists(_) => "exists",
            Test::Between(..) => "between",
            Test::Type(_) => "type",
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Test::Eq(_) => "=",
            Test::Ne(_) => "!=",
            Test::Lt(_) => "<",
            Test::Lte(_) => "<=",
            Test::Gt(_) => ">",
            Test::Gte(_) => ">=",
            Test::In(_) => "in",
            Test::Contains(_) => "containing",
            Test::ContainsAny(_) => "containing any of",
            Test::StartsWith(_) => "starting with",
            Test::EndsWith(_) => "ending with",
            Test::Matches(_) => "matching",
            Test::Exists(_) => "exists",
            Test::Between(..) => "between",
            Test::Type(_) => "of type",
        }
    }

    pub fn operand(&self) -> Option<&Operand> {
        match self {
            Test::Eq(o)
            | Test::Ne(o)
            | Test::Lt(o)
            | Test::Lte(o)
            | Test::Gt(o)
            | Test::Gte(o)
            | Test::In(o)
            | Test::Contains(o)
            | Test::ContainsAny(o)
            | Test::StartsWith(o)
            | Test::EndsWith(o) => Some(o),
            Test::Matches(_) | Test::Exists(_) | Test::Between(..) | Test::Type(_) => None,
        }
    }
}

/// A condition tree. A rule's `when` is a list of conditions that must all hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// All tests on one field must hold.
    Field {
        field: FieldPath,
        tests: Vec<Test>,
    },
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// What earlier calls of the same session did (`session.called`, `session.count`).
    Session(SessionTest),
}

impl Condition {
    /// The regexes of this condition tree (`matches` tests) and what they take compiled.
    pub fn regex_cost(&self) -> RegexCost {
        match self {
            Condition::Field { tests, .. } => tests
                .iter()
                .filter_map(|test| match test {
                    Test::Matches(regex) => Some(RegexCost {
                        count: 1,
                        bytes: regex.compiled_bytes(),
                    }),
                    _ => None,
                })
                .fold(RegexCost::default(), |total, cost| total + cost),
            Condition::All(items) | Condition::Any(items) => items
                .iter()
                .map(Condition::regex_cost)
                .fold(RegexCost::default(), |total, cost| total + cost),
            Condition::Not(inner) => inner.regex_cost(),
            Condition::Session(test) => match test.tool() {
                ToolMatch::Regex(regex) => RegexCost {
                    count: 1,
                    bytes: regex.compiled_bytes(),
                },
                ToolMatch::Exact(_) | ToolMatch::Glob(_) => RegexCost::default(),
            },
        }
    }

    /// Whether the condition (or one inside it) reads the session.
    pub fn reads_session(&self) -> bool {
        match self {
            Condition::Field { .. } => false,
            Condition::All(items) | Condition::Any(items) => {
                items.iter().any(Condition::reads_session)
            }
            Condition::Not(inner) => inner.reads_session(),
            Condition::Session(_) => true,
        }
    }
}

/// The request as conditions see it. The principal is turned into JSON only when a condition
/// reads it, so requests whose rules never look at the principal do not pay for it.
pub(crate) struct Facts<'a> {
    args: &'a Value,
    context: &'a Map<String, Value>,
    principal: &'a Principal,
    principal_value: OnceCell<Value>,
    /// Fields a matching rule masks (`args.ssn`): explanations never quote their values.
    masked: Vec<&'a str>,
    /// What the request's session did so far; empty without a session.
    session: Option<SessionHistory>,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(
        args: &'a Value,
        context: &'a Map<String, Value>,
        principal: &'a Principal,
    ) -> Self {
        Facts {
            args,
            context,
            principal,
            principal_value: OnceCell::new(),
            masked: Vec::new(),
            session: None,
        }
    }

    pub(crate) fn set_session(&mut self, history: SessionHistory) {
        self.session = Some(history);
    }

    pub(crate) fn session(&self) -> Option<&SessionHistory> {
        self.session.as_ref()
    }

    pub(crate) fn mask(&mut self, fields: Vec<&'a str>) {
        self.masked = fields;
    }

    /// Whether explanations must not quote the value of `field`.
    pub(crate) fn is_masked(&self, field: &str) -> bool {
        self.masked.iter().any(|mask| {
            field == *mask
                || field
                    .strip_prefix(mask)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }

    /// A value of `field` as an explanation shows it.
    fn show(&self, field: &FieldPath, value: &Value) -> String {
        if self.is_masked(field.as_str()) {
            "[masked]".to_string()
        } else {
            render(value)
        }
    }

    pub(crate) fn lookup(&self, path: &FieldPath) -> Option<&Value> {
        let (first, rest) = path.segments.split_first()?;
        let start = match path.root {
            Root::Args => step(self.args, first)?,
            Root::Context => self.context.get(first)?,
            Root::Principal => {
                let principal = self
                    .principal_value
                    .get_or_init(|| self.principal.to_value());
                step(principal, first)?
            }
        };
        let found = rest
            .iter()
            .try_fold(start, |value, segment| step(value, segment))?;
        (!found.is_null()).then_some(found)
    }

    fn operand<'b>(&'b self, operand: &'b Operand) -> Option<Cow<'b, Value>> {
        match operand {
            Operand::Literal(value) => Some(Cow::Borrowed(value)),
            Operand::Ref(path) => self.lookup(path).map(Cow::Borrowed),
            Operand::Template(template) => {
                template.render(self).map(|t| Cow::Owned(Value::String(t)))
            }
        }
    }
}

fn step<'v>(value: &'v Value, segment: &str) -> Option<&'v Value> {
    match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    }
}

impl Condition {
    pub(crate) fn holds(&self, facts: &Facts<'_>) -> bool {
        match self {
            Condition::Field { field, tests } => {
                let actual = facts.lookup(field);
                tests.iter().all(|test| test_holds(test, actual, facts))
            }
            Condition::All(items) => items.iter().all(|c| c.holds(facts)),
            Condition::Any(items) => items.iter().any(|c| c.holds(facts)),
            Condition::Not(inner) => !inner.holds(facts),
            Condition::Session(test) => test.holds(facts.session(), |test, actual| {
                test_holds(test, Some(actual), facts)
            }),
        }
    }

    /// Says in words why the condition does not hold. Only called on the failure path, so the
    /// decision's hot path never formats strings.
    pub(crate) fn why_not(&self, facts: &Facts<'_>) -> String {
        match self {
            Condition::Field { field, tests } => {
                let actual = facts.lookup(field);
                match tests.iter().find(|test| !test_holds(test, actual, facts)) {
                    Some(test) => why_test_fails(field, test, actual, facts),
                    None => format!("`{field}` passed"),
                }
            }
            Condition::All(items) => match items.iter().find(|c| !c.holds(facts)) {
                Some(failed) => failed.why_not(facts),
                None => "all conditions held".to_string(),
            },
            Condition::Any(items) => {
                let reasons: Vec<String> = items.iter().map(|c| c.why_not(facts)).collect();
                format!("none of `any` held: {}", reasons.join("; "))
            }
            Condition::Not(inner) => format!("`not` failed because {} held", inner.describe()),
            Condition::Session(test) => test.why_not(facts.session(), |test, actual| {
                tests_failing(test, actual, facts).unwrap_or_default()
            }),
        }
    }

    /// The condition as a short expression, for explanations.
    pub fn describe(&self) -> String {
        match self {
            Condition::Field { field, tests } => {
                let parts: Vec<String> = tests
                    .iter()
                    .map(|test| format!("`{field}` {}", describe_test(test)))
                    .collect();
                parts.join(" and ")
            }
            Condition::All(items) => {
                let parts: Vec<String> = items.iter().map(Condition::describe).collect();
                format!("all of ({})", parts.join(", "))
            }
            Condition::Any(items) => {
                let parts: Vec<String> = items.iter().map(Condition::describe).collect();
                format!("any of ({})", parts.join(", "))
            }
            Condition::Not(inner) => format!("not ({})", inner.describe()),
            Condition::Session(test) => test.describe(describe_test),
        }
    }
}

/// Why one of a session count's tests fails for the count `actual`, as "not above 3"; `None`
/// when they all hold.
fn tests_failing(tests: &[Test], actual: &Value, facts: &Facts<'_>) -> Option<String> {
    let failed = tests
        .iter()
        .find(|test| !test_holds(test, Some(actual), facts))?;
    let operand = failed
        .operand()
        .map(|o| describe_operand(o, None))
        .unwrap_or_default();
    Some(format!("{} {operand}", phrase(failed)))
}

fn describe_test(test: &Test) -> String {
    match test {
        Test::Exists(true) => "exists".to_string(),
        Test::Exists(false) => "is missing".to_string(),
        Test::Matches(regex) => format!("matching `{}`", regex.as_str()),
        Test::Between(low, high) => format!("between {} and {}", render(low), render(high)),
        Test::Type(kind) => format!("is a {}", kind.as_str()),
        other => match other.operand() {
            Some(operand) => format!("{} {}", other.symbol(), describe_operand(operand, None)),
            None => other.symbol().to_string(),
        },
    }
}

fn describe_operand(operand: &Operand, resolved: Option<&Value>) -> String {
    match (operand, resolved) {
        (Operand::Literal(value), _) => render(value),
        (Operand::Ref(path), Some(value)) => format!("`{path}` ({})", render(value)),
        (Operand::Ref(path), None) => format!("`{path}`"),
        (Operand::Template(template), Some(value)) => format!("\"{template}\" ({})", render(value)),
        (Operand::Template(template), None) => format!("\"{template}\""),
    }
}

/// Renders a value for an explanation, cut short so one huge argument cannot flood the console.
pub(crate) fn render(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 80 {
        return text;
    }
    let cut: String = text.chars().take(77).collect();
    format!("{cut}...")
}

fn why_test_fails(
    field: &FieldPath,
    test: &Test,
    actual: Option<&Value>,
    facts: &Facts<'_>,
) -> String {
    let Some(actual) = actual else {
        return match test {
            Test::Exists(_) => format!("`{field}` is missing"),
            other => format!("`{field}` is missing (needed for {})", describe_test(other)),
        };
    };
    let shown = facts.show(field, actual);
    match test {
        Test::Exists(false) => format!("`{field}` exists (it is {shown}) but must be missing"),
        Test::Exists(true) => format!("`{field}` is missing"),
        Test::Matches(regex) => {
            format!(
                "`{field}` is {shown}, which does not match `{}`",
                regex.as_str()
            )
        }
        Test::Between(low, high) => {
            format!(
                "`{field}` is {shown}, not between {} and {}",
                render(low),
                render(high)
            )
        }
        Test::Type(kind) => format!("`{field}` is {shown}, not a {}", kind.as_str()),
        other => {
            let Some(operand) = other.operand() else {
                return format!("`{field}` failed `{}`", other.operator());
            };
            let resolved = facts.operand(operand);
            if resolved.is_none() {
                let missing = match operand {
                    Operand::Ref(path) => Some(path),
                    Operand::Template(template) => template.missing_field(facts),
                    Operand::Literal(_) => None,
                };
                if let Some(path) = missing {
                    return format!("`{path}` is missing (compared with `{field}`)");
                }
            }
            let expected = describe_operand(operand, resolved.as_deref());
            let ordered = matches!(
                other,
                Test::Lt(_) | Test::Lte(_) | Test::Gt(_) | Test::Gte(_)
            );
            if ordered
                && resolved
                    .as_deref()
                    .is_some_and(|r| order(actual, r).is_none())
            {
                return format!("`{field}` is {shown}, which cannot be compared with {expected}");
            }
            format!("`{field}` is {shown}, {} {expected}", phrase(other))
        }
    }
}

/// How a failed test reads after the value: "`args.n` is 3, *not above* 5".
fn phrase(test: &Test) -> &'static str {
    match test {
        Test::Eq(_) => "not",
        Test::Ne(_) => "but must differ from",
        Test::Lt(_) => "not below",
        Test::Lte(_) => "above",
        Test::Gt(_) => "not above",
        Test::Gte(_) => "below",
        Test::In(_) => "not one of",
        Test::Contains(_) => "which does not contain",
        Test::ContainsAny(_) => "which contains none of",
        Test::StartsWith(_) => "which does not start with",
        Test::EndsWith(_) => "which does not end with",
        Test::Matches(_) | Test::Exists(_) | Test::Between(..) | Test::Type(_) => test.symbol(),
    }
}

fn test_holds(test: &Test, actual: Option<&Value>, facts: &Facts<'_>) -> bool {
    if let Test::Exists(expected) = test {
        return actual.is_some() == *expected;
    }
    let Some(actual) = actual else {
        return false;
    };
    match test {
        Test::Matches(regex) => return actual.as_str().is_some_and(|text| regex.is_match(text)),
        Test::Between(low, high) => return between(actual, low, high),
        Test::Type(kind) => return kind.holds_for(actual),
        _ => {}
    }
    let Some(operand) = test.operand().and_then(|o| facts.operand(o)) else {
        return false;
    };
    let operand = operand.as_ref();
    match test {
        Test::Eq(_) => equal(actual, operand),
        Test::Ne(_) => !equal(actual, operand),
        Test::Lt(_) => order(actual, operand) == Some(Ordering::Less),
        Test::Lte(_) => matches!(
            order(actual, operand),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Test::Gt(_) => order(actual, operand) == Some(Ordering::Greater),
        Test::Gte(_) => matches!(
            order(actual, operand),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Test::In(_) => operand
            .as_array()
            .is_some_and(|items| items.iter().any(|i| equal(actual, i))),
        Test::Contains(_) => contains(actual, operand),
        Test::ContainsAny(_) => operand
            .as_array()
            .is_some_and(|items| items.iter().any(|i| contains(actual, i))),
        Test::StartsWith(_) => both_str(actual, operand).is_some_and(|(a, b)| a.starts_with(b)),
        Test::EndsWith(_) => both_str(actual, operand).is_some_and(|(a, b)| a.ends_with(b)),
        Test::Matches(_) | Test::Exists(_) | Test::Between(..) | Test::Type(_) => false,
    }
}

/// The days of the week in order, as `context.weekday` spells them.
pub(crate) const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn weekday_number(value: &Value) -> Option<usize> {
    let name = value.as_str()?.to_ascii_lowercase();
    WEEKDAYS.iter().position(|day| *day == name)
}

/// `low <= value <= high`, wrapping around when `low` is above `high`.
fn between(value: &Value, low: &Value, high: &Value) -> bool {
    let (value_cmp_low, value_cmp_high, low_cmp_high) =
        match (weekday_number(low), weekday_number(high)) {
            (Some(l), Some(h)) => {
                let Some(v) = weekday_number(value) else {
                    return false;
                };
                (v.cmp(&l), v.cmp(&h), l.cmp(&h))
            }
            _ => match (order(value, low), order(value, high), order(low, high)) {
                (Some(a), Some(b), Some(c)) => (a, b, c),
                _ => return false,
            },
        };
    let at_least_low = value_cmp_low != Ordering::Less;
    let at_most_high = value_cmp_high != Ordering::Greater;
    if low_cmp_high == Ordering::Greater {
        at_least_low || at_most_high
    } else {
        at_least_low && at_most_high
    }
}
/// Reads a value as a number: a JSON number, or a string that holds one.
pub(crate) fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn numeric_pair(a: &Value, b: &Value) -> Option<(f64, f64)> {
    // Only coerce strings when the other side is a real number; two strings stay strings.
    if !(a.is_number() || b.is_number()) {
        return None;
    }
    Some((as_number(a)?, as_number(b)?))
}

fn equal(a: &Value, b: &Value) -> bool {
    match numeric_pair(a, b) {
        Some((x, y)) => x == y,
        None => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    if let Some((x, y)) = numeric_pair(a, b) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn contains(haystack: &Value, needle: &Value) -> bool {
    match (haystack, needle) {
        (Value::Array(items), _) => items.iter().any(|item| equal(item, needle)),
        (Value::String(text), Value::String(part)) => text.contains(part.as_str()),
        _ => false,
    }
}

fn both_str<'v>(a: &'v Value, b: &'v Value) -> Option<(&'v str, &'v str)> {
    Some((a.as_str()?, b.as_str()?))
}
