//! The document syntax of conditions.
//!
//! A condition block is a map; every entry must hold:
//!
//! ```yaml
//! when:
//!   args.amount: { gt: 5000, lte: 25000 }     # several operators on one field
//!   principal.department: finance             # a bare value means `eq`
//!   args.tenant_id: { ne: $context.tenant_id } # `$` references another field
//!   any:                                      # `any` / `all` take a list of blocks
//!     - args.currency: { in: [USD, EUR] }
//!     - principal.roles: { contains: cfo }
//!   not: { args.internal: { eq: true } }      # `not` takes one block
//! ```
//!
//! `when` may also be a list of blocks, all of which must hold. A string operand that starts with
//! `$` names a field (`$args.x`, `$context.x`, `$principal.x`); `$$` writes a literal `$`. Inside
//! a longer string, `${field}` fills a field in (`"tenant_id = '${context.tenant_id}'"`) and `$${`
//! writes a literal `${`. Strings inside list operands are always literal.

use std::collections::HashSet;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::condition::{Condition, FieldPath, Operand, Template, TemplatePart, Test, ValueType};
use crate::error::{custom, FieldError};
use crate::pattern::RegexPattern;
use crate::session::SessionTest;
use crate::tool::ToolMatch;

const OPERATORS: &str = "eq, ne, lt, lte, gt, gte, in, contains, contains_any, starts_with, \
                         ends_with, matches, exists, between, type";

impl Serialize for FieldPath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FieldPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FieldPath::parse(&text).map_err(custom)
    }
}

impl Serialize for Operand {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Operand::Ref(path) => serializer.serialize_str(&format!("${path}")),
            Operand::Template(template) => serializer.serialize_str(&template.to_string()),
            Operand::Literal(Value::String(text)) if text.starts_with('$') => {
                serializer.serialize_str(&format!("${text}"))
            }
            Operand::Literal(Value::String(text)) if text.contains("${") => {
                serializer.serialize_str(&text.replace("${", "$${"))
            }
            Operand::Literal(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Operand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OperandVisitor)
    }
}

struct OperandVisitor;

impl<'de> Visitor<'de> for OperandVisitor {
    type Value = Operand;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or a `$field` reference")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Operand, E> {
        if let Some(rest) = text.strip_prefix("$$") {
            return Ok(Operand::Literal(Value::String(format!("${rest}"))));
        }
        if let Some(path) = text.strip_prefix('$').filter(|rest| !rest.starts_with('{')) {
            return FieldPath::parse(path).map(Operand::Ref).map_err(custom);
        }
        if text.contains("${") {
            return parse_template(text).map_err(custom);
        }
        Ok(Operand::Literal(Value::String(text.to_string())))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Operand, E> {
        Ok(Operand::Literal(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Operand, E> {
        Ok(Operand::Literal(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Operand, E> {
        Ok(Operand::Literal(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Operand, E> {
        match serde_json::Number::from_f64(v) {
            Some(n) => Ok(Operand::Literal(Value::Number(n))),
            None => Err(custom(format!("`{v}` is not a finite number"))),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Operand, E> {
        Ok(Operand::Literal(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Operand, E> {
        Ok(Operand::Literal(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Operand, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Operand::Literal)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Operand, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(Operand::Literal)
    }
}

/// Reads a string with `${field}` inside; `$${` is a literal `${`. A string whose only `${` are
/// escaped is a plain literal.
fn parse_template(text: &str) -> Result<Operand, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        let (before, after) = rest.split_at(at);
        if let Some(kept) = before.strip_suffix('$') {
            // `$${`: the first `$` escapes the second.
            literal.push_str(kept);
            literal.push_str("${");
            rest = after.get(2..).unwrap_or_default();
            continue;
        }
        literal.push_str(before);
        let inner = after.get(2..).unwrap_or_default();
        let Some(end) = inner.find('}') else {
            return Err(format!(
                "`${{` in `{text}` is not closed with `}}`; write `$${{` for a literal `${{`"
            ));
        };
        let (path, tail) = inner.split_at(end);
        let field = FieldPath::parse(path.trim())
            .map_err(|err| format!("in `{text}`: {err}; write `$${{` for a literal `${{`"))?;
        if !literal.is_empty() {
            parts.push(TemplatePart::Text(std::mem::take(&mut literal)));
        }
        parts.push(TemplatePart::Field(field));
        rest = tail.get(1..).unwrap_or_default();
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(TemplatePart::Text(literal.clone()));
    }
    if parts
        .iter()
        .all(|part| matches!(part, TemplatePart::Text(_)))
    {
        return Ok(Operand::Literal(Value::String(literal)));
    }
    Ok(Operand::Template(Template::new(parts)))
}

/// The tests on one field: a map of operators, or a bare value meaning `eq`.
struct Tests(Vec<Test>);

impl<'de> Deserialize<'de> for Tests {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TestsVisitor)
    }
}

struct TestsVisitor;

impl TestsVisitor {
    fn shorthand<E: de::Error>(self, operand: Result<Operand, E>) -> Result<Tests, E> {
        Ok(Tests(vec![Test::Eq(operand?)]))
    }
}

impl<'de> Visitor<'de> for TestsVisitor {
    type Value = Tests;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of operators such as `{ gt: 5000 }`, or a value to compare with `eq`")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tests, E> {
        self.shorthand(OperandVisitor.visit_str(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Tests, E> {
        self.shorthand(OperandVisitor.visit_bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tests, E> {
        self.shorthand(OperandVisitor.visit_i64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tests, E> {
        self.shorthand(OperandVisitor.visit_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tests, E> {
        self.shorthand(OperandVisitor.visit_f64(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Tests, E> {
        self.shorthand(OperandVisitor.visit_unit())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Tests, A::Error> {
        Err(custom("a list needs an operator, such as `{ in: [...] }`"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tests, A::Error> {
        let mut tests = Vec::new();
        let mut seen = HashSet::new();
        while let Some(op) = map.next_key::<String>()? {
            if !seen.insert(op.clone()) {
                return Err(
                    FieldError::new(&op, format!("operator `{op}` is given twice")).into_de(),
                );
            }
            let test = read_test(&op, &mut map)?;
            tests.push(test);
        }
        if tests.is_empty() {
            return Err(custom(format!(
                "no operator given; expected one of {OPERATORS}"
            )));
        }
        Ok(Tests(tests))
    }
}

fn read_test<'de, A: MapAccess<'de>>(op: &str, map: &mut A) -> Result<Test, A::Error> {
    let operand = |map: &mut A| map.next_value::<Operand>();
    let test = match op {
        "eq" => Test::Eq(operand(map)?),
        "ne" => Test::Ne(operand(map)?),
        "lt" => Test::Lt(ordered(op, operand(map)?)?),
        "lte" => Test::Lte(ordered(op, operand(map)?)?),
        "gt" => Test::Gt(ordered(op, operand(map)?)?),
        "gte" => Test::Gte(ordered(op, operand(map)?)?),
        "in" => Test::In(list(op, operand(map)?)?),
        "contains" => Test::Contains(operand(map)?),
        "contains_any" => Test::ContainsAny(list(op, operand(map)?)?),
        "starts_with" => Test::StartsWith(text(op, operand(map)?)?),
        "ends_with" => Test::EndsWith(text(op, operand(map)?)?),
        "matches" => {
            let pattern: String = map.next_value()?;
            Test::Matches(
                RegexPattern::new(&pattern).map_err(|e| FieldError::new(op, e).into_de())?,
            )
        }
        "exists" => Test::Exists(map.next_value::<bool>()?),
        "between" => {
            let bounds: Vec<Value> = map.next_value()?;
            between(op, bounds)?
        }
        "type" => {
            let name: String = map.next_value()?;
            let kind = ValueType::parse(name.trim()).ok_or_else(|| {
                let message = format!(
                    "unknown type `{name}`; expected one of {}",
                    ValueType::NAMES
                );
                FieldError::new(op, message).into_de::<A::Error>()
            })?;
            Test::Type(kind)
        }
        other => {
            let message = format!("unknown operator `{other}`; expected one of {OPERATORS}");
            return Err(FieldError::new(other, message).into_de());
        }
    };
    Ok(test)
}

fn between<E: de::Error>(op: &str, bounds: Vec<Value>) -> Result<Test, E> {
    let shape = || {
        FieldError::new(
            op,
            "`between` needs two bounds of one kind, such as `[9, 17]` or `[monday, friday]`",
        )
        .into_de()
    };
    let [low, high]: [Value; 2] = bounds.try_into().map_err(|_| shape())?;
    let same_kind = (low.is_number() && high.is_number()) || (low.is_string() && high.is_string());
    if !same_kind {
        return Err(shape());
    }
    Ok(Test::Between(low, high))
}

fn ordered<E: de::Error>(op: &str, operand: Operand) -> Result<Operand, E> {
    match &operand {
        Operand::Ref(_)
        | Operand::Template(_)
        | Operand::Literal(Value::Number(_) | Value::String(_)) => Ok(operand),
        Operand::Literal(other) => Err(FieldError::new(
            op,
            format!("`{op}` compares with a number or a string, not `{other}`"),
        )
        .into_de()),
    }
}

fn list<E: de::Error>(op: &str, operand: Operand) -> Result<Operand, E> {
    match &operand {
        Operand::Ref(_) | Operand::Literal(Value::Array(_)) => Ok(operand),
        Operand::Template(_) => Err(FieldError::new(
            op,
            format!("`{op}` needs a list, such as `[a, b]`, not a string"),
        )
        .into_de()),
        Operand::Literal(other) => Err(FieldError::new(
            op,
            format!("`{op}` needs a list, such as `[a, b]`, not `{other}`"),
        )
        .into_de()),
    }
}

fn text<E: de::Error>(op: &str, operand: Operand) -> Result<Operand, E> {
    match &operand {
        Operand::Ref(_) | Operand::Template(_) | Operand::Literal(Value::String(_)) => Ok(operand),
        Operand::Literal(other) => {
            Err(FieldError::new(op, format!("`{op}` needs a string, not `{other}`")).into_de())
        }
    }
}

/// A block of conditions that must all hold: a map, or (at the top of `when`) a list of maps.
pub(crate) struct Block(pub Vec<Condition>);

impl<'de> Deserialize<'de> for Block {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BlockVisitor)
    }
}

struct BlockVisitor;

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = Block;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of conditions such as `{ args.amount: { gt: 5000 } }`")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Block, A::Error> {
        let mut all = Vec::new();
        while let Some(Block(mut items)) = seq.next_element::<Block>()? {
            all.append(&mut items);
        }
        Ok(Block(all))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Block, A::Error> {
        let mut conditions = Vec::new();
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(FieldError::new(&key, format!("`{key}` is given twice")).into_de());
            }
            let condition = match key.as_str() {
                "all" | "any" => {
                    let items: Vec<Single> = map.next_value()?;
                    if items.is_empty() {
                        let message = format!("`{key}` needs at least one condition");
                        return Err(FieldError::new(&key, message).into_de());
                    }
                    let items = items.into_iter().map(|Single(c)| c).collect();
                    if key == "all" {
                        Condition::All(items)
                    } else {
                        Condition::Any(items)
                    }
                }
                "not" => Condition::Not(Box::new(map.next_value::<Single>()?.0)),
                "session.called" => {
                    Condition::Session(SessionTest::Called(map.next_value::<ToolMatch>()?))
                }
                "session.count" => {
                    let SessionCount { tool, tests } = map.next_value()?;
                    Condition::Session(SessionTest::Count { tool, tests })
                }
                field if field.starts_with("session.") => {
                    let message = format!(
                        "unknown session fact `{field}`; expected `session.called` or `session.count`"
                    );
                    return Err(FieldError::new(field, message).into_de());
                }
                field => {
                    let field = FieldPath::parse(field).map_err(|e| {
                        FieldError::new(field, format!("{e}, or be `any`, `all` or `not`"))
                            .into_de()
                    })?;
                    let Tests(tests) = map.next_value()?;
                    Condition::Field { field, tests }
                }
            };
            conditions.push(condition);
        }
        if conditions.is_empty() {
            return Err(custom("an empty condition block"));
        }
        Ok(Block(conditions))
    }
}

/// `session.count`: a map of `tool` and tests on the number, such as `{ tool: "email.*", gte: 3 }`.
struct SessionCount {
    tool: ToolMatch,
    tests: Vec<Test>,
}

impl<'de> Deserialize<'de> for SessionCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SessionCountVisitor)
    }
}

struct SessionCountVisitor;

impl<'de> Visitor<'de> for SessionCountVisitor {
    type Value = SessionCount;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session count such as `{ tool: \"email.*\", gte: 3 }`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SessionCount, A::Error> {
        let mut tool = None;
        let mut tests = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "tool" => tool = Some(map.next_value::<ToolMatch>()?),
                "eq" | "ne" | "lt" | "lte" | "gt" | "gte" => {
                    let test = read_test(&key, &mut map)?;
                    let numeric =
                        matches!(test.operand(), Some(Operand::Literal(Value::Number(_))));
                    if !numeric {
                        let message = format!("`{key}` compares the number of calls with a number");
                        return Err(FieldError::new(&key, message).into_de());
                    }
                    tests.push(test);
                }
                other => {
                    let message = format!(
                        "unknown field `{other}`; a session count has `tool` and one of eq, ne, lt, lte, gt, gte"
                    );
                    return Err(FieldError::new(other, message).into_de());
                }
            }
        }
        let tool =
            tool.ok_or_else(|| custom("a session count needs the `tool` whose calls it counts"))?;
        if tests.is_empty() {
            return Err(custom("a session count needs a test such as `gte: 3`"));
        }
        Ok(SessionCount { tool, tests })
    }
}

/// One condition written as a block: a block of several entries means all of them.
struct Single(Condition);

impl<'de> Deserialize<'de> for Single {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Block(mut items) = deserializer.deserialize_map(BlockVisitor)?;
        let condition = match items.len() {
            1 => items.remove(0),
            _ => Condition::All(items),
        };
        Ok(Single(condition))
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Single::deserialize(deserializer).map(|Single(c)| c)
    }
}

fn key(condition: &Condition) -> &str {
    match condition {
        Condition::Field { field, .. } => field.as_str(),
        Condition::All(_) => "all",
        Condition::Any(_) => "any",
        Condition::Not(_) => "not",
        Condition::Session(SessionTest::Called(_)) => "session.called",
        Condition::Session(SessionTest::Count { .. }) => "session.count",
    }
}

fn unique_keys(conditions: &[Condition]) -> bool {
    let mut seen = HashSet::new();
    conditions.iter().all(|c| seen.insert(key(c)))
}

struct TestsRef<'a>(&'a [Test]);

impl Serialize for TestsRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for test in self.0 {
            match test {
                Test::Matches(regex) => map.serialize_entry("matches", regex.as_str())?,
                Test::Exists(flag) => map.serialize_entry("exists", flag)?,
                Test::Between(low, high) => map.serialize_entry("between", &[low, high])?,
                Test::Type(kind) => map.serialize_entry("type", kind.as_str())?,
                other => {
                    if let Some(operand) = other.operand() {
                        map.serialize_entry(other.operator(), operand)?;
                    }
                }
            }
        }
        map.end()
    }
}

struct BlockRef<'a>(&'a [Condition]);

impl Serialize for BlockRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A map cannot repeat a key; such blocks (only built in code) are written as a list.
        if !unique_keys(self.0) {
            let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
            for condition in self.0 {
                seq.serialize_element(&BlockRef(std::slice::from_ref(condition)))?;
            }
            return seq.end();
        }
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for condition in self.0 {
            match condition {
                Condition::Field { field, tests } => {
                    map.serialize_entry(field.as_str(), &TestsRef(tests))?
                }
                Condition::All(items) | Condition::Any(items) => {
                    let singles: Vec<SingleRef<'_>> = items.iter().map(SingleRef).collect();
                    map.serialize_entry(key(condition), &singles)?;
                }
                Condition::Not(inner) => map.serialize_entry("not", &SingleRef(inner))?,
                Condition::Session(SessionTest::Called(tool)) => {
                    map.serialize_entry("session.called", tool)?
                }
                Condition::Session(SessionTest::Count { tool, tests }) => {
                    map.serialize_entry("session.count", &SessionCountRef(tool, tests))?
                }
            }
        }
        map.end()
    }
}

struct SessionCountRef<'a>(&'a ToolMatch, &'a [Test]);

impl Serialize for SessionCountRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1 + self.1.len()))?;
        map.serialize_entry("tool", self.0)?;
        for test in self.1 {
            if let Some(operand) = test.operand() {
                map.serialize_entry(test.operator(), operand)?;
            }
        }
        map.end()
    }
}

struct SingleRef<'a>(&'a Condition);

impl Serialize for SingleRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Condition::All(items) if items.len() >= 2 && unique_keys(items) => {
                BlockRef(items).serialize(serializer)
            }
            other => BlockRef(std::slice::from_ref(other)).serialize(serializer),
        }
    }
}

impl Serialize for Condition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SingleRef(self).serialize(serializer)
    }
}

/// Serialises a rule's `when` list as one block.
pub(crate) fn serialize_when<S: Serializer>(
    when: &[Condition],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    BlockRef(when).serialize(serializer)
}
