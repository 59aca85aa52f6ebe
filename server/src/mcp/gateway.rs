//! `/mcp/gateway`: a tenant's agents reach the upstream MCP servers the platform registered,
//! through Charter. An adapter over the core's gateway operations: `tools/list` offers what the
//! core says this agent may reach, `tools/call` answers with what the core decided (the upstream's
//! masked answer, a refusal with its reason, or the approval to wait for).
//!
//! Agents authenticate with their tenant API key. Who the call is for travels in the request's
//! `_meta`, as MCP reserves it for such facts: `charter/agent` (the calling agent, when its key
//! acts for several or none), `charter/principal` (`user`, `roles`, `groups`, `attributes`),
//! `charter/context` (the caller's own `context.*` facts) and `charter/session`.

use std::sync::Arc;

use axum::http::request::Parts;
use charter_core::{Access, CallFacts, ClientAddress, Core, CoreError, GatewayCall, GatewayOutcome};
use charter_policy::Principal;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{json, Map, Value};

use super::McpCaller;

/// The `_meta` keys a gateway request may carry.
const META_AGENT: &str = "charter/agent";
const META_PRINCIPAL: &str = "charter/principal";
const META_CONTEXT: &str = "charter/context";
const META_SESSION: &str = "charter/session";

#[derive(Clone)]
pub struct Gateway {
    core: Core,
}

impl Gateway {
    pub fn new(core: Core) -> Gateway {
        Gateway { core }
    }
}

/// Who and what a request is for, as its `_meta` says.
#[derive(Default)]
struct CallMeta {
    agent: Option<String>,
    principal: Principal,
    context: Map<String, Value>,
    session: Option<String>,
}

fn call_meta(meta: &JsonObject) -> Result<CallMeta, McpError> {
    let invalid = |key: &str, what: &str| McpError::invalid_params(format!("`_meta.{key}` must be {what}"), None);
    let agent = match meta.get(META_AGENT) {
        None | Some(Value::Null) => None,
        Some(Value::String(agent)) => Some(agent.clone()),
        Some(_) => return Err(invalid(META_AGENT, "the calling agent's name")),
    };
    let principal = match meta.get(META_PRINCIPAL) {
        None | Some(Value::Null) => Principal::default(),
        Some(value) => serde_json::from_value(value.clone()).map_err(|err| invalid(META_PRINCIPAL, &format!("{{user, roles, groups, attributes}} ({err})")))?,
    };
    let context = match meta.get(META_CONTEXT) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(context)) => context.clone(),
        Some(_) => return Err(invalid(META_CONTEXT, "an object of the caller's facts")),
    };
    let session = match meta.get(META_SESSION) {
        None | Some(Value::Null) => None,
        Some(Value::String(session)) => Some(session.clone()),
        Some(_) => return Err(invalid(META_SESSION, "the agent runtime's session id")),
    };
    Ok(CallMeta { agent, principal, context, session })
}

/// The request's `_meta`: the params' own when they carry one, else what the SDK lifted out.
fn meta_of(params: Option<&rmcp::model::RequestMetaObject>, context: &RequestContext<RoleServer>) -> JsonObject {
    params.map_or_else(|| context.meta.0 .0.clone(), |meta| meta.0 .0.clone())
}

fn caller(context: &RequestContext<RoleServer>) -> Result<(Access, Option<String>), McpError> {
    let parts = context.extensions.get::<Parts>();
    let access = parts
        .and_then(|parts| parts.extensions.get::<McpCaller>())
        .map(|McpCaller(access)| access.clone())
        .ok_or_else(|| McpError::internal_error("the request reached the gateway without its caller", None))?;
    let ip = parts.and_then(|parts| parts.extensions.get::<ClientAddress>()).and_then(|ClientAddress(ip)| ip.clone());
    Ok((access.via("MCP gateway"), ip))
}

/// A core refusal as MCP says it: a tool that is not there or an argument that does not fit is
/// the caller's mistake (invalid params); an upstream's failure is named; the rest says only what
/// the caller may know.
fn mcp_error(err: CoreError) -> McpError {
    match err {
        CoreError::NotFound { what: "tool", id } => McpError::invalid_params(
            format!("tool `{id}` is not available to this agent: the platform has not made it available to your tenant, or your tenant switched it off"),
            None,
        ),
        CoreError::Invalid { .. } | CoreError::Forbidden(_) => McpError::invalid_params(err.to_string(), None),
        CoreError::Upstream(message) => McpError::internal_error(message, None),
        other => McpError::internal_error(other.to_string(), None),
    }
}

impl ServerHandler for Gateway {
    async fn list_tools(&self, request: Option<PaginatedRequestParams>, context: RequestContext<RoleServer>) -> Result<ListToolsResult, McpError> {
        let (access, _) = caller(&context)?;
        let meta = call_meta(&meta_of(request.as_ref().and_then(|r| r.meta.as_ref()), &context))?;
        let tools = self.core.gateway_tools(&access, meta.agent.as_deref(), &meta.principal).await.map_err(mcp_error)?;
        let listed = tools
            .into_iter()
            .map(|tool| {
                let schema = tool.input_schema.unwrap_or_else(|| {
                    let mut object = JsonObject::new();
                    object.insert("type".into(), json!("object"));
                    Arc::new(object)
                });
                Tool::new(tool.name, tool.description, schema)
            })
            .collect();
        Ok(ListToolsResult::with_all_items(listed))
    }

    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        let (access, ip) = caller(&context)?;
        let meta = call_meta(&meta_of(request.meta.as_ref(), &context))?;
        let call = GatewayCall {
            tool: request.name.to_string(),
            args: request.arguments.unwrap_or_default(),
            agent: meta.agent,
            principal: meta.principal,
            context: meta.context,
            session: meta.session,
        };
        let outcome = self.core.gateway_call(&access, call, CallFacts::from_ip(ip)).await.map_err(mcp_error)?;
        Ok(CallToolResponse::from(answer(outcome)))
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build())
            .with_server_info(Implementation::new("charter-gateway", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Charter governs these tools: every call is decided by your organisation's policies before it reaches the tool. \
                 A denied call says why; a call held for approval names the approval: tell the person, and once it is approved \
                 make the same call again with the same arguments. Fields your organisation masks come back as [masked].",
            )
    }
}

fn answer(outcome: GatewayOutcome) -> CallToolResult {
    match outcome {
        GatewayOutcome::Answered { result, .. } => result,
        GatewayOutcome::Denied { decision, receipt_id } => {
            let mut result = CallToolResult::error(vec![ContentBlock::text(format!("Charter denied this call: {}", decision.reason))]);
            result.structured_content = Some(json!({ "decision": "deny", "reason": decision.reason, "receipt_id": receipt_id }));
            result
        }
        GatewayOutcome::Held { approval_id, approvers, reason, receipt_id } => {
            let text = format!(
                "This call needs approval by {} ({reason}). Approval {approval_id} is pending. Once it is approved, make the same call \
                 again with the same arguments and it will go through; a changed argument needs a new approval.",
                approvers.join(" and ")
            );
            let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
            result.structured_content = Some(json!({
                "decision": "require_approval",
                "approval_id": approval_id,
                "approvers": approvers,
                "reason": reason,
                "receipt_id": receipt_id,
                "next": "call again with the same arguments once approved",
            }));
            result
        }
    }
}
