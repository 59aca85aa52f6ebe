//! Reading and writing policy documents in YAML and JSON.

use serde::de::DeserializeOwned;

use crate::error::{Format, ParseError};
use crate::model::Policy;

/// Why a policy could not be written out. Writing a validated policy does not fail in practice;
/// the error exists because the serialisers' signatures allow it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write the policy as {format:?}: {message}")]
pub struct WriteError {
    pub format: Format,
    pub message: String,
}

impl Policy {
    /// Parses and validates a YAML policy document.
    pub fn from_yaml(text: &str) -> Result<Policy, ParseError> {
        from_yaml(text)
    }

    /// Parses and validates a JSON policy document.
    pub fn from_json(text: &str) -> Result<Policy, ParseError> {
        from_json(text)
    }

    /// Reads a JSON document that Charter's store wrote. The per-policy regex limits are not
    /// applied again: the document met those in force when it was saved, and lowering a limit
    /// must never make a saved policy unreadable.
    pub fn from_stored_json(text: &str) -> Result<Policy, ParseError> {
        crate::regex_cache::read_stored(|| from_json(text))
    }

    pub fn parse(text: &str, format: Format) -> Result<Policy, ParseError> {
        match format {
            Format::Yaml => from_yaml(text),
            Format::Json => from_json(text),
        }
    }

    /// JSON when the text starts with `{`, YAML otherwise.
    pub fn parse_auto(text: &str) -> Result<Policy, ParseError> {
        Self::parse(text, detect_format(text))
    }

    pub fn to_yaml(&self) -> Result<String, WriteError> {
        serde_norway::to_string(self).map_err(|err| WriteError {
            format: Format::Yaml,
            message: err.to_string(),
        })
    }

    pub fn to_json(&self) -> Result<String, WriteError> {
        serde_json::to_string_pretty(self).map_err(|err| WriteError {
            format: Format::Json,
            message: err.to_string(),
        })
    }
}

pub fn detect_format(text: &str) -> Format {
    if text.trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Yaml
    }
}

/// Reads any validated model type (a policy, or a test scenario holding policies) from YAML.
pub fn from_yaml<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    let deserializer = serde_norway::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let position = inner.location().map(|at| (at.line(), at.column()));
        let message = inner.to_string();
        // YAML reads an unquoted `*` as an alias to an anchor; its own words say nothing to a
        // person who wrote a tool pattern.
        let message = if message.contains("scanning an alias") || message.contains("unknown anchor") {
            "quote patterns that start with `*`, such as `tool: \"*.execute\"`: unquoted, YAML reads `*` as a reference to an anchor".to_string()
        } else {
            message
        };
        ParseError::from_library(Format::Yaml, path, message, position)
    })
}

/// Reads any validated model type from JSON.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    let json_error = |path: String, inner: serde_json::Error| {
        let position = Some((inner.line(), inner.column()));
        ParseError::from_library(Format::Json, path, inner.to_string(), position)
    };
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        json_error(path, err.into_inner())
    })?;
    // Trailing characters after the document are an error, as in `serde_json::from_str`.
    deserializer
        .end()
        .map_err(|inner| json_error(String::new(), inner))?;
    Ok(value)
}
