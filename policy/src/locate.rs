//! Finding the line of a field in a policy document, so that a warning or a delegation issue (which
//! name a path such as `rules[1].when.args.amount`) can be shown beside its line in the editor.
//!
//! The document is read again with a deserializer that walks only along the path and stops with a
//! marked error at the value the path names; the YAML and JSON libraries attach the position of
//! that value to the error, which is where the line comes from. Nothing is built on the way.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::Format;
use crate::parse::detect_format;

const FOUND: &str = "\u{1f}found\u{1f}";

/// The 1-based line of the value at `path` in `text` (YAML or JSON), or of the nearest enclosing
/// value that exists; `None` when the document does not parse or the path names nothing in it.
pub fn locate(text: &str, path: &str) -> Option<usize> {
    let mut path = path;
    loop {
        if let Some(line) = line_of(text, path) {
            return Some(line);
        }
        let cut = path.rfind(['.', '['])?;
        path = path.get(..cut)?;
        if path.is_empty() {
            return None;
        }
    }
}

fn line_of(text: &str, path: &str) -> Option<usize> {
    let seek = Seek { rest: path };
    match detect_format(text) {
        Format::Yaml => {
            let deserializer = serde_norway::Deserializer::from_str(text);
            let err = seek.deserialize(deserializer).err()?;
            let found = err.to_string().contains(FOUND);
            found.then(|| err.location().map(|at| at.line()))?
        }
        Format::Json => {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            let err = seek.deserialize(&mut deserializer).err()?;
            let found = err.to_string().contains(FOUND);
            (found && err.line() > 0).then_some(err.line())
        }
    }
}

/// Walks to the value `rest` names, relative to the value being read.
struct Seek<'p> {
    rest: &'p str,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Seek<'_> {
    fn here<E: de::Error>(&self) -> Result<(), E> {
        if self.rest.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

/// What follows `key` in `rest`, when `rest` goes through it.
fn after_key<'p>(rest: &'p str, key: &str) -> Option<&'p str> {
    let after = rest.strip_prefix(key)?;
    if after.is_empty() {
        return Some(after);
    }
    if let Some(deeper) = after.strip_prefix('.') {
        return Some(deeper);
    }
    after.starts_with('[').then_some(after)
}

/// What follows `[index]` in `rest`, when `rest` goes through that element.
fn after_index(rest: &str, index: usize) -> Option<&str> {
    let after = rest.strip_prefix(&format!("[{index}]"))?;
    Some(after.strip_prefix('.').unwrap_or(after))
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a policy document")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.here()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.here()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.here()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.here()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.here()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.here()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.here()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.here()?;
        let mut index = 0;
        loop {
            match after_index(self.rest, index) {
                Some(rest) => {
                    if seq.next_element_seed(Seek { rest })?.is_none() {
                        return Ok(());
                    }
                }
                None => {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        return Ok(());
                    }
                }
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.here()?;
        while let Some(Key(key)) = map.next_key::<Key>()? {
            match after_key(self.rest, &key) {
                Some(rest) => map.next_value_seed(Seek { rest })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A mapping key as text, whatever scalar it was written as.
struct Key(String);

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key(String::new()))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "name: Hours
scope: tenant
rules:
  - tool: data.export
    effect: allow
  - tool: \"get_.*\"
    when:
      args.amount: { gt: 20K }
      any:
        - principal.role: manager
    effect: allow
";

    fn check(text: &str, path: &str, expected: Option<usize>) {
        assert_eq!(locate(text, path), expected, "{path}");
    }

    #[test]
    fn finds_the_line_of_each_kind_of_path() {
        check(YAML, "name", Some(1));
        check(YAML, "rules[0]", Some(4));
        check(YAML, "rules[0].effect", Some(5));
        check(YAML, "rules[1].tool", Some(6));
        check(YAML, "rules[1].when.args.amount", Some(8));
        check(YAML, "rules[1].when.any[0].principal.role", Some(10));
        check(YAML, "rules[1].effect", Some(11));
        // A path that goes further than the document falls back to what exists.
        check(YAML, "rules[1].when.args.amount.gt.x", Some(8));
        check(YAML, "rules[7].tool", Some(4));
        check(YAML, "other", None);
        check("name: [\nscope: x", "scope", None);
    }

    #[test]
    fn reads_json_too() {
        let json = "{\n  \"name\": \"x\",\n  \"scope\": \"tenant\",\n  \"rules\": [\n    {\n      \"tool\": \"a\",\n      \"effect\": \"allow\"\n    }\n  ]\n}";
        check(json, "rules[0].effect", Some(7));
        check(json, "scope", Some(3));
    }
}
