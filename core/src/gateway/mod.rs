//! The MCP gateway: agents call upstream MCP servers' tools through Charter, which offers each
//! agent only the tools its tenant has and some call of which could go ahead, decides every call
//! (with a receipt, as the decision API does), forwards only what is allowed or approved, and masks
//! `result.*` fields of the answer before the agent sees it. Enforced, not advisory: a call
//! Charter does not allow never reaches the upstream.

mod upstream;

use charter_policy::{CatalogTool, Decision, Principal, Verdict};
use charter_store::{now_ms, ApprovalId, ApprovalStatus, GatewayTool, Owner, ReceiptId, RefreshReport, SourceId, ToolSource, UpstreamServer, UpstreamTool};
use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value};

use crate::access::{Access, Action};
use crate::catalog::CHARTER_TOOL_PREFIX;
use crate::decisions::{agent_of_call, canonical_json, digest, CallAgent, CallFacts, DecideInput, SameCall};
use crate::masking::{mask_args, masked_result_paths};
use crate::{Core, CoreError};

pub(crate) use upstream::Upstreams;
pub use upstream::DEFAULT_UPSTREAM_TIMEOUT;

/// The longest name, endpoint and token a platform admin gives an upstream.
const MAX_ENDPOINT_CHARS: usize = 2_000;
const MAX_PREFIX_CHARS: usize = 40;

/// An upstream MCP server as a platform admin registers it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewUpstream {
    pub name: String,
    /// Its Streamable HTTP endpoint, `https://...` (or `http://` on a private network).
    pub endpoint: String,
    /// The bearer token Charter presents to it, if it wants one.
    pub token: Option<String>,
    /// Put before each of its tools' names in the catalog, such as `crm.`; may be empty.
    pub tool_prefix: String,
    /// Whether its tools start enabled.
    pub enabled: bool,
}

/// One tool call an agent makes through the gateway.
#[derive(Clone, Debug, Default)]
pub struct GatewayCall {
    pub tool: String,
    pub args: Map<String, Value>,
    /// The agent calling, when its key acts for several or none.
    pub agent: Option<String>,
    /// On whose behalf.
    pub principal: Principal,
    /// The caller's own facts for `context.*` conditions.
    pub context: Map<String, Value>,
    /// The agent runtime's session, for `session.*` conditions.
    pub session: Option<String>,
}

/// How a gateway call ended. Each has its receipt.
#[derive(Clone, Debug)]
pub enum GatewayOutcome {
    /// Allowed (or approved) and forwarded: the upstream's answer with the `result.*` masks
    /// applied.
    Answered { result: CallToolResult, receipt_id: ReceiptId, masked: Vec<String> },
    /// Denied: the upstream never saw the call.
    Denied { decision: Decision, receipt_id: ReceiptId },
    /// Held for approval: the same call goes through once the approvers said yes.
    Held { approval_id: ApprovalId, approvers: Vec<String>, reason: String, receipt_id: ReceiptId },
}

impl Core {
    /// Registers an upstream MCP server as a source: Charter connects, reads the tools it lists
    /// and adds them to the catalog, named with the prefix. Nothing is written when it cannot be
    /// reached or lists nothing usable.
    pub async fn add_upstream(&self, access: &Access, new: NewUpstream) -> Result<ToolSource, CoreError> {
        access.may(Action::WriteCatalog, &Owner::Platform)?;
        let server = UpstreamServer {
            source_id: SourceId::new(uuid::Uuid::now_v7().to_string()),
            source_name: new.name.trim().to_owned(),
            endpoint: checked_endpoint(&new.endpoint)?,
            tool_prefix: checked_prefix(&new.tool_prefix)?,
            auth: new.token.map(|token| token.trim().to_owned()).filter(|token| !token.is_empty()),
        };
        if server.auth.as_ref().is_some_and(|token| token.chars().count() > MAX_ENDPOINT_CHARS || token.chars().any(char::is_control)) {
            return Err(CoreError::invalid("token", format!("must be at most {MAX_ENDPOINT_CHARS} characters without control characters")));
        }
        let tools = self.upstream_tools(&server).await?;
        Ok(self.store.add_upstream_source(&access.actor(), &server, &tools, new.enabled).await?)
    }

    /// Reads an upstream's tools again: new ones are added switched off, changed ones updated,
    /// vanished ones removed.
    pub async fn refresh_upstream(&self, access: &Access, source_id: &SourceId) -> Result<(ToolSource, RefreshReport), CoreError> {
        access.may(Action::WriteCatalog, &Owner::Platform)?;
        let server = self.store.upstream_server(source_id).await?;
        let tools = self.upstream_tools(&server).await?;
        Ok(self.store.refresh_upstream_source(&access.actor(), source_id, &tools).await?)
    }

    async fn upstream_tools(&self, server: &UpstreamServer) -> Result<Vec<UpstreamTool>, CoreError> {
        let listed = self.upstreams.list_tools(server).await.map_err(|err| err.for_admin(server))?;
        let mut tools = Vec::with_capacity(listed.len());
        for tool in listed {
            let name = format!("{}{}", server.tool_prefix, tool.name);
            let found = CatalogTool { name, method: None, path: None, description: tool.description.as_deref().unwrap_or_default().to_owned() };
            let document = serde_json::json!({ "tools": [{ "name": found.name, "description": found.description }] }).to_string();
            // The names an upstream gives go through the checks of every catalog name.
            charter_policy::extract_tools(charter_policy::SourceKind::Mcp, &document)
                .map_err(|err| CoreError::Upstream(format!("the upstream MCP server `{}` lists a tool Charter cannot govern: {err}", server.source_name)))?;
            if found.name.starts_with(CHARTER_TOOL_PREFIX) {
                return Err(CoreError::invalid("tool_prefix", format!("tool `{}`: names under `{CHARTER_TOOL_PREFIX}` are Charter's own", found.name)));
            }
            let input_schema = serde_json::to_string(&*tool.input_schema).map_err(|err| CoreError::internal("serialising an input schema", err))?;
            tools.push(UpstreamTool { tool: found, upstream_name: tool.name.to_string(), input_schema });
        }
        if tools.is_empty() {
            return Err(CoreError::Upstream(format!("the upstream MCP server `{}` lists no tools", server.source_name)));
        }
        Ok(tools)
    }

    /// The tools the gateway offers this agent: its tenant has them (enabled, exposed, not
    /// switched off), an upstream serves them, and some call of them could be allowed for this
    /// agent and principal.
    pub async fn gateway_tools(&self, access: &Access, agent: Option<&str>, principal: &Principal) -> Result<Vec<GatewayTool>, CoreError> {
        let Access::Agent(key) = access else {
            return Err(CoreError::forbidden("the MCP gateway serves agents: connect with a tenant API key"));
        };
        access.may(Action::Decide, &Owner::Tenant(key.tenant_id.clone()))?;
        let tenant = self.tenant(&key.tenant_id).await?;
        let agent = match agent_of_call(key, &tenant, agent)? {
            CallAgent::Agent(agent) => agent,
            CallAgent::NotTheKeys(_) => return Ok(Vec::new()),
        };
        let (compiled, tools) = self.store.gateway_offer(&tenant).await?;
        Ok(tools.iter().filter(|tool| compiled.set.could_allow(&tool.name, agent.as_deref(), principal)).cloned().collect())
    }

    /// Decides an agent's call through the gateway and, when it is allowed or approved, forwards
    /// it to the upstream and returns the answer with its masks applied. A tool the tenant does
    /// not have through the gateway is not found; an upstream that fails or does not answer in
    /// time is [`CoreError::Upstream`] (the receipt of the decision stays).
    pub async fn gateway_call(&self, access: &Access, call: GatewayCall, facts: CallFacts) -> Result<GatewayOutcome, CoreError> {
        let Access::Agent(key) = access else {
            return Err(CoreError::forbidden("the MCP gateway serves agents: connect with a tenant API key"));
        };
        access.may(Action::Decide, &Owner::Tenant(key.tenant_id.clone()))?;
        let tenant = self.tenant(&key.tenant_id).await?;
        let name = call.tool.trim();
        let (_, tools) = self.store.gateway_offer(&tenant).await?;
        // The list is sorted by name.
        let tool = tools
            .binary_search_by(|tool| tool.name.as_str().cmp(name))
            .ok()
            .and_then(|at| tools.get(at))
            .cloned()
            .ok_or_else(|| CoreError::NotFound { what: "tool", id: name.to_owned() })?;
        let input = DecideInput {
            tool: tool.name.clone(),
            args: Value::Object(call.args.clone()),
            agent: call.agent,
            principal: call.principal,
            context: call.context,
            tenant_id: None,
            session: call.session,
            policy_version: None,
        };
        let recorded = self.decide_and_record(access, input, facts, SameCall::Reuse, crate::decisions::Moment::Now).await?;
        let decision = recorded.decision;
        match (decision.verdict, recorded.approval_id, recorded.approval_status) {
            (Verdict::Deny, _, _) => return Ok(GatewayOutcome::Denied { decision, receipt_id: recorded.receipt_id }),
            (Verdict::RequireApproval, Some(approval_id), Some(ApprovalStatus::Approved)) => {
                if !self.store.consume_approval(&tenant.id, &approval_id, now_ms()).await? {
                    let reason = format!("approval {approval_id} was used by another call with the same arguments; call again to ask for a new approval");
                    let refused = Decision { reason, ..decision };
                    return Ok(GatewayOutcome::Denied { decision: refused, receipt_id: recorded.receipt_id });
                }
            }
            (Verdict::RequireApproval, Some(approval_id), _) => {
                return Ok(GatewayOutcome::Held {
                    approval_id,
                    approvers: decision.approvers.clone(),
                    reason: decision.reason,
                    receipt_id: recorded.receipt_id,
                });
            }
            (Verdict::RequireApproval, None, _) => return Err(CoreError::internal("a held gateway call", "an approval decision without an approval")),
            (Verdict::Allow, _, _) => {}
        }
        let paths = masked_result_paths(&decision);
        let answer = self
            .upstreams
            .call(&tool.upstream, &tool.upstream_name, call.args)
            .await
            .map_err(|err| err.for_agent(&tool.upstream.source_name, !paths.is_empty()))?;
        let as_received = serde_json::to_value(&answer).map_err(|err| CoreError::internal("serialising an upstream answer", err))?;
        let result_digest = digest(&canonical_json(&as_received));
        // The upstream has acted: the agent gets its answer without waiting for the digest to be
        // written (a write of its own), and even when it cannot be (a "nothing happened, try
        // again" would make it act twice).
        let (store, tenant_id, receipt_id, decided_at) = (self.store.clone(), tenant.id.clone(), recorded.receipt_id.clone(), recorded.decided_at);
        tokio::spawn(async move {
            if let Err(err) = store.record_result_digest(&tenant_id, &receipt_id, decided_at, &result_digest).await {
                tracing::error!(error = %err, receipt = %receipt_id, "could not record the digest of an upstream's answer on its receipt");
            }
        });
        let masked: Vec<String> = paths.iter().map(|path| format!("result.{path}")).collect();
        Ok(GatewayOutcome::Answered { result: mask_result(answer, &paths), receipt_id: recorded.receipt_id, masked })
    }

    /// How long an upstream may take, for the edges to say.
    pub fn upstream_timeout(&self) -> std::time::Duration {
        self.upstreams.timeout()
    }
}

/// An upstream's answer with every masked path replaced, in its structured content and in each
/// text block that holds JSON. A text block that is not JSON cannot be searched for the field, so
/// when anything is to be masked it is withheld: a masked field never leaves the gateway.
fn mask_result(mut result: CallToolResult, paths: &[&str]) -> CallToolResult {
    if paths.is_empty() {
        return result;
    }
    if let Some(structured) = &result.structured_content {
        result.structured_content = Some(mask_args(structured, paths));
    }
    // `_meta` is the upstream's own to fill (some servers put whole records there): withheld.
    result.meta = None;
    let withheld = || format!("[withheld: Charter masks {} of this tool's answer, and this part is not JSON it can search]", fields(paths));
    result.content = result
        .content
        .into_iter()
        .map(|block| match &block {
            ContentBlock::Text(content) => match serde_json::from_str::<Value>(&content.text) {
                Ok(value @ (Value::Object(_) | Value::Array(_))) => ContentBlock::text(mask_args(&value, paths).to_string()),
                _ => ContentBlock::text(withheld()),
            },
            _ => ContentBlock::text(withheld()),
        })
        .collect();
    result
}

fn fields(paths: &[&str]) -> String {
    paths.iter().map(|path| format!("`result.{path}`")).collect::<Vec<_>>().join(", ")
}

/// An endpoint Charter may connect to: an absolute `https://` or `http://` URL without user
/// information.
fn checked_endpoint(endpoint: &str) -> Result<String, CoreError> {
    let endpoint = endpoint.trim();
    if endpoint.chars().count() > MAX_ENDPOINT_CHARS {
        return Err(CoreError::invalid("endpoint", format!("must be at most {MAX_ENDPOINT_CHARS} characters")));
    }
    let url = url::Url::parse(endpoint).map_err(|err| CoreError::invalid("endpoint", format!("is not a URL: {err}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(CoreError::invalid("endpoint", "must be an http:// or https:// URL of the MCP server's Streamable HTTP endpoint"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(CoreError::invalid("endpoint", "must not carry a user name or password; give a bearer token instead"));
    }
    Ok(url.to_string())
}

/// A prefix such as `crm.`: letters, digits and `._-`, at most [`MAX_PREFIX_CHARS`].
fn checked_prefix(prefix: &str) -> Result<String, CoreError> {
    let prefix = prefix.trim();
    if prefix.chars().count() > MAX_PREFIX_CHARS || !prefix.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(CoreError::invalid(
            "tool_prefix",
            format!("must be at most {MAX_PREFIX_CHARS} letters, digits, dots, dashes or underscores, such as `crm.`"),
        ));
    }
    if prefix.starts_with(CHARTER_TOOL_PREFIX) {
        return Err(CoreError::invalid("tool_prefix", format!("`{CHARTER_TOOL_PREFIX}` is Charter's own")));
    }
    Ok(prefix.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::masking::MASKED;
    use serde_json::json;

    fn text_of(result: &CallToolResult) -> Vec<String> {
        result.content.iter().filter_map(|block| block.as_text().map(|text| text.text.clone())).collect()
    }

    #[test]
    fn masked_fields_never_leave_in_structured_content_or_text() {
        let mut answer = CallToolResult::success(vec![
            ContentBlock::text(json!({"name": "Ada", "ssn": "123-45-6789"}).to_string()),
            ContentBlock::text("Ada's SSN is 123-45-6789"),
        ]);
        answer.structured_content = Some(json!({"name": "Ada", "ssn": "123-45-6789"}));
        answer.meta = Some(rmcp::model::MetaObject(json!({"record": {"ssn": "123-45-6789"}}).as_object().unwrap().clone()));
        let masked = mask_result(answer.clone(), &["ssn"]);
        assert_eq!(masked.meta, None, "the upstream's `_meta` is withheld");
        assert_eq!(masked.structured_content, Some(json!({"name": "Ada", "ssn": MASKED})));
        let texts = text_of(&masked);
        assert_eq!(serde_json::from_str::<Value>(&texts[0]).unwrap(), json!({"name": "Ada", "ssn": MASKED}));
        assert!(texts[1].starts_with("[withheld: Charter masks `result.ssn`"), "{}", texts[1]);
        assert!(!texts.concat().contains("123-45-6789"));
        // Nothing to mask: the answer as it came.
        assert_eq!(mask_result(answer.clone(), &[]), answer);
    }

    #[test]
    fn endpoints_and_prefixes_are_checked() {
        assert_eq!(checked_endpoint(" https://crm.example/mcp ").unwrap(), "https://crm.example/mcp");
        for bad in ["crm.example/mcp", "ftp://crm.example/mcp", "https://user:pw@crm.example/mcp", "file:///etc/passwd"] {
            assert!(matches!(checked_endpoint(bad), Err(CoreError::Invalid { ref field, .. }) if field == "endpoint"), "{bad}");
        }
        assert_eq!(checked_prefix("crm.").unwrap(), "crm.");
        assert_eq!(checked_prefix("").unwrap(), "");
        for bad in ["crm .", "charter.", "ü."] {
            assert!(matches!(checked_prefix(bad), Err(CoreError::Invalid { ref field, .. }) if field == "tool_prefix"), "{bad}");
        }
    }
}
