//! The stored names of the engine's vocabulary enums, read back.
//!
//! A scope, a verdict or a source kind is stored and serialised by its snake-case name (the same
//! name `Display` writes). Reading one back is fallible: a name the engine does not know is an
//! [`UnknownName`], never a silent default, so a corrupt row fails loudly where it is read.

use std::fmt;
use std::str::FromStr;

use crate::{Scope, SourceKind, Verdict};

/// A name that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a {kind}")]
pub struct UnknownName {
    /// What was being read, e.g. `scope`.
    pub kind: &'static str,
    pub name: String,
}

/// Finds `name` among `all` by their `Display` names.
fn find<T: Copy + fmt::Display>(
    all: &[T],
    kind: &'static str,
    name: &str,
) -> Result<T, UnknownName> {
    all.iter()
        .copied()
        .find(|item| item.to_string() == name)
        .ok_or_else(|| UnknownName {
            kind,
            name: name.to_owned(),
        })
}

macro_rules! named {
    ($type:ty, $kind:literal, [$($variant:expr),+ $(,)?]) => {
        impl $type {
            /// Every value, in declaration order.
            pub const ALL: &'static [$type] = &[$($variant),+];
        }

        impl FromStr for $type {
            type Err = UnknownName;

            fn from_str(name: &str) -> Result<Self, UnknownName> {
                find(<$type>::ALL, $kind, name)
            }
        }

        impl TryFrom<String> for $type {
            type Error = UnknownName;

            fn try_from(name: String) -> Result<Self, UnknownName> {
                name.parse()
            }
        }
    };
}

named!(
    Scope,
    "scope",
    [Scope::Platform, Scope::Tenant, Scope::Agent]
);
named!(
    Verdict,
    "verdict",
    [Verdict::Allow, Verdict::RequireApproval, Verdict::Deny]
);
named!(
    SourceKind,
    "source kind",
    [SourceKind::OpenApi, SourceKind::Mcp]
);

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: FromStr<Err = UnknownName> + fmt::Display + PartialEq + fmt::Debug + Copy>(
        all: &[T],
    ) {
        for value in all {
            assert_eq!(value.to_string().parse::<T>(), Ok(*value));
        }
    }

    #[test]
    fn every_name_reads_back() {
        check(Scope::ALL);
        check(Verdict::ALL);
        check(SourceKind::ALL);
    }

    #[test]
    fn unknown_names_are_named() {
        let err = "Tenant".parse::<Scope>().unwrap_err();
        assert_eq!(err.to_string(), "`Tenant` is not a scope");
        assert_eq!(
            Verdict::try_from("maybe".to_owned()).unwrap_err().kind,
            "verdict"
        );
    }
}
