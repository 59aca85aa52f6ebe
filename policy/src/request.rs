//! What a caller asks the engine: which tool, with which arguments, by whom, in which context.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::session::SessionKey;

/// A request for a decision. Every field but `tool` may be left out. Unknown fields are
/// rejected, so a misspelt `argz` cannot silently skip every condition on the arguments.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub tool: String,
    #[serde(default)]
    pub args: Value,
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub principal: Principal,
    /// Facts about the call supplied by the server: `tenant_id`, `time`, `ip`, `request_id`, ...
    /// `context.tenant_id` also keys the per-tenant rate limits.
    #[serde(default)]
    pub context: Map<String, Value>,
    /// The agent runtime's session, if it has one: `session.*` conditions read what earlier calls
    /// of the same session (in the same tenant) did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// On whose behalf the agent calls the tool.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Principal {
    /// The end user's id.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    /// Other facts about the user, such as `department` or `plan`.
    #[serde(default)]
    pub attributes: Map<String, Value>,
}

impl DecisionRequest {
    pub fn new(tool: impl Into<String>) -> Self {
        DecisionRequest {
            tool: tool.into(),
            args: Value::Object(Map::new()),
            ..Default::default()
        }
    }

    /// The tenant the request belongs to, as the server put it in the context.
    pub fn tenant_id(&self) -> Option<&str> {
        self.context.get("tenant_id").and_then(Value::as_str)
    }

    /// The prefix of the API key that asked, which the server puts in `context.api_key`; it keys
    /// the per-key rate limits.
    pub fn api_key(&self) -> Option<&str> {
        self.context.get("api_key").and_then(Value::as_str)
    }

    /// The key of the request's session, when it names one: sessions are kept per tenant.
    pub fn session_key(&self) -> Option<SessionKey> {
        let session = self.session.as_deref()?;
        Some(SessionKey {
            tenant: self.tenant_id().unwrap_or("-").to_string(),
            session: session.to_string(),
        })
    }

    /// What a receipt keeps of this call for the engine to read again (see
    /// [`crate::CallRecord`]); the arguments are the caller's, unmasked.
    pub fn record(&self) -> crate::CallRecord<'_> {
        crate::CallRecord {
            args: &self.args,
            context: &self.context,
            principal: &self.principal,
        }
    }
}

impl Principal {
    /// The principal as conditions read it under `principal.*`.
    pub(crate) fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert(
            "user".into(),
            self.user.clone().map_or(Value::Null, Value::String),
        );
        map.insert(
            "roles".into(),
            self.roles.iter().cloned().map(Value::String).collect(),
        );
        map.insert(
            "groups".into(),
            self.groups.iter().cloned().map(Value::String).collect(),
        );
        map.insert("attributes".into(), Value::Object(self.attributes.clone()));
        Value::Object(map)
    }
}
