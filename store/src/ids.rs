//! Ids as types of their own, so a policy's id cannot be passed where a tenant's is expected.
//!
//! Each is a string on the wire and in the database (`serde(transparent)`, `sqlx(transparent)`),
//! so the JSON API and the tables are unchanged; only the compiler sees the difference.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "db", derive(sqlx::Type), sqlx(transparent))]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> $name {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> $name {
                $name(id.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, other: &$name) -> bool {
                *self == other.0
            }
        }
    };
}

id_type!(
    /// A tenant's id (not its slug).
    TenantId
);
id_type!(
    /// A stored policy's id.
    PolicyId
);
id_type!(
    /// A console user's id (not the username).
    UserId
);
id_type!(
    /// A decision receipt's id, also the id returned to the agent.
    ReceiptId
);
id_type!(
    /// An approval request's id.
    ApprovalId
);
id_type!(
    /// An API key's id (not its prefix, never its secret).
    ApiKeyId
);
id_type!(
    /// A tool source's id in the catalog.
    SourceId
);
id_type!(
    /// A catalog tool's id (not its name).
    ToolId
);
id_type!(
    /// An audit entry's id.
    AuditEntryId
);
id_type!(
    /// A registered OAuth client's id (its public `client_id`).
    OAuthClientId
);
id_type!(
    /// One connection of an AI assistant: a user's approval of an OAuth client.
    ConnectionId
);
