//! A file of several policies: what the console exports and imports, and what a tenant keeps in
//! a GitOps repository. Parsing goes through the same validating reader as a single policy, so an
//! error names the line and the path inside the file, such as `policies[2].rules[0].effect`.

use serde::{Deserialize, Serialize};

use crate::error::{Format, ParseError};
use crate::model::Policy;
use crate::parse::{detect_format, from_json, from_yaml, WriteError};

/// The value of `format` in every bundle; a later incompatible layout gets a new one.
pub const BUNDLE_FORMAT: &str = "charter.policies/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyBundle {
    pub format: String,
    /// `platform`, or the slug of the tenant the policies were exported from. Informational: an
    /// import always lands in the importer's own scope.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub policies: Vec<Policy>,
}

impl PolicyBundle {
    pub fn new(owner: impl Into<String>, policies: Vec<Policy>) -> PolicyBundle {
        let policies = policies
            .into_iter()
            .map(|mut policy| {
                // Ids and versions belong to one database; names identify policies across them.
                policy.id = String::new();
                policy.version = 0;
                policy
            })
            .collect();
        PolicyBundle {
            format: BUNDLE_FORMAT.to_owned(),
            owner: owner.into(),
            policies,
        }
    }

    /// Reads a bundle in YAML or JSON (JSON when the text starts with `{`).
    pub fn parse(text: &str) -> Result<PolicyBundle, ParseError> {
        let format = detect_format(text);
        let bundle: PolicyBundle = match format {
            Format::Yaml => from_yaml(text)?,
            Format::Json => from_json(text)?,
        };
        if bundle.format != BUNDLE_FORMAT {
            return Err(ParseError {
                format,
                line: None,
                column: None,
                path: Some("format".to_owned()),
                message: format!("must be `{BUNDLE_FORMAT}`, not `{}`", bundle.format),
            });
        }
        Ok(bundle)
    }

    pub fn to_text(&self, format: Format) -> Result<String, WriteError> {
        match format {
            Format::Yaml => serde_norway::to_string(self).map_err(|err| WriteError {
                format,
                message: err.to_string(),
            }),
            Format::Json => serde_json::to_string_pretty(self).map_err(|err| WriteError {
                format,
                message: err.to_string(),
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TWO: &str = "format: charter.policies/v1\nowner: bank\npolicies:\n  - name: A\n    scope: tenant\n    rules:\n      - tool: a.b\n        effect: allow\n  - name: B\n    scope: agent\n    agent: bot\n";

    #[test]
    fn round_trips_in_both_formats() {
        let bundle = PolicyBundle::parse(TWO).unwrap();
        assert_eq!(bundle.policies.len(), 2);
        for format in [Format::Yaml, Format::Json] {
            let text = bundle.to_text(format).unwrap();
            assert_eq!(PolicyBundle::parse(&text).unwrap(), bundle, "{format:?}");
        }
    }

    #[test]
    fn errors_name_the_policy_and_line() {
        let text = TWO.replace("effect: allow", "effect: permit");
        let err = PolicyBundle::parse(&text).unwrap_err();
        assert_eq!(
            err.path.as_deref(),
            Some("policies[0].rules[0].effect"),
            "{err}"
        );
        assert_eq!(err.line, Some(8), "{err}");
        let err = PolicyBundle::parse("format: other/v9\n").unwrap_err();
        assert!(err.to_string().contains("charter.policies/v1"), "{err}");
        let err = PolicyBundle::parse("format: charter.policies/v1\nextra: 1\n").unwrap_err();
        assert!(err.to_string().contains("extra"), "{err}");
    }
}
