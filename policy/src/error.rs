//! Parse errors, and how the messages raised deep inside deserialisation reach them intact.

use std::fmt::{self, Display};

use serde::{Deserialize, Serialize};

/// The text format of a policy document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Yaml,
    Json,
}

/// Why a policy document was rejected, and where.
///
/// `line` and `column` are 1-based and point into the text (for YAML at the value or mapping at
/// fault; for JSON where the parser stopped). `path` is the field path into the document, such as
/// `rules[1].when.args.amount`, and is `None` when the whole document is at fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ParseError {
    pub format: Format,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub path: Option<String>,
    pub message: String,
}

impl Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, "line {line}, column {column}: ")?;
        }
        if let Some(path) = &self.path {
            write!(f, "`{path}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Marks a message raised by this crate inside a deserialiser. The YAML and JSON libraries wrap
/// custom messages with a path prefix and a position suffix of their own; the mark lets the
/// message (and the field it names) be recovered exactly instead of by guessing at that wrapping.
const MARK: char = '\u{1f}';

/// A validation failure found while building a value from its fields: `field` is the path of the
/// offending field relative to the value being built (empty for the value itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, message: impl Display) -> Self {
        FieldError {
            field: field.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn into_de<E: serde::de::Error>(self) -> E {
        E::custom(format!("{MARK}{}{MARK}{}", self.field, self.message))
    }
}

/// A deserialisation error about the value being read right now.
pub(crate) fn custom<E: serde::de::Error>(message: impl Display) -> E {
    FieldError::new("", message).into_de()
}

impl ParseError {
    /// Builds the error from what the YAML or JSON library reported: the path tracked by
    /// `serde_path_to_error`, the library's message and its position.
    pub(crate) fn from_library(
        format: Format,
        path: String,
        message: String,
        position: Option<(usize, usize)>,
    ) -> Self {
        let mut message = message;
        if let Some((line, column)) = position {
            // The libraries repeat the position inside the message; the fields carry it already.
            message = message.replacen(&format!(" at line {line} column {column}"), "", 1);
        }
        // `?` is serde_path_to_error's segment for a key it could not read; it says nothing.
        let path = path
            .trim_end_matches(".?")
            .trim_end_matches('?')
            .to_string();
        let mut path = if path == "." || path.is_empty() {
            None
        } else {
            Some(path)
        };
        if let Some((_, marked)) = message.split_once(MARK) {
            let (field, text) = marked.split_once(MARK).unwrap_or(("", marked));
            if !field.is_empty() {
                path = Some(match path {
                    Some(base) if field.starts_with('[') => format!("{base}{field}"),
                    Some(base) => format!("{base}.{field}"),
                    None => field.to_string(),
                });
            }
            message = text.to_string();
        } else if let Some(base) = &path {
            // serde_norway prefixes its own messages with the path (or the path of the enclosing
            // mapping); drop the repetition.
            if let Some((head, rest)) = message.split_once(": ") {
                if !head.contains(' ') && base.starts_with(head) {
                    message = rest.to_string();
                }
            }
        }
        let (line, column) = match position {
            Some((line, column)) if line > 0 => (Some(line), Some(column)),
            _ => (None, None),
        };
        ParseError {
            format,
            line,
            column,
            path,
            message,
        }
    }
}
