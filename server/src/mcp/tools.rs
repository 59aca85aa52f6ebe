//! The tools of Charter's MCP server, each a thin adapter over one core operation. Every answer
//! carries a short text an assistant can relay as it is, and the same facts as structured content
//! (the shapes of the HTTP API). A refusal (not found, not allowed, a document that does not read
//! or collides with the platform's rules) is a tool error whose text says what to change, so the
//! assistant can tell the person or fix its own call.

use axum::http::request::Parts;
use charter_core::{Access, Action, Core, CoreError, DecideInput, ReceiptsOf, Target, Validation};
use charter_policy::{DelegationIssue, Principal, Verdict};
use charter_store::{ApprovalId, PolicyId, ReceiptFilter, Resolution, Selection, StoredPolicy};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData as McpError, RoleServer, ServerHandler};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::McpCaller;

/// The most receipts or approvals one call lists.
const MAX_LISTED: i64 = 100;

#[derive(Clone)]
pub struct CharterTools {
    core: Core,
    tool_router: ToolRouter<CharterTools>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRef {
    /// The policy's id, as `list_policies` gives it.
    pub policy_id: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// The whole policy in Charter's policy language, YAML or JSON: `name`, `scope` (`tenant`, or
    /// `agent` with `agent: <name>`), an optional `description`, and `rules`. Each rule names a
    /// `tool` (exact, glob such as `payments.*`, or regex), an `effect` (`allow`, `deny`,
    /// `require_approval` with `approvers`), and optionally `when` conditions over `args.*`,
    /// `principal.*` and `context.*`, a `limit`, a `rate_limit`, a `budget`, `mask` and a `reason`.
    /// Example: "name: Expense approvals\nscope: tenant\nrules:\n  - tool: expense.submit\n    when: { args.amount: { gt: 5000 } }\n    effect: require_approval\n    approvers: [manager]\n    reason: expenses over $5,000 need a manager\n"
    pub document: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// The policy document to check, as for `create_policy`.
    pub document: String,
    /// When the document is meant to replace an existing policy, its id (so its own name does not
    /// count as taken).
    #[serde(default)]
    pub replacing_policy_id: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    /// The policy's id.
    pub policy_id: String,
    /// The version you read with `get_policy`: if someone changed the policy since, nothing is
    /// saved and you are told, so no change is lost.
    pub expected_version: i64,
    /// The whole new document, as for `create_policy`.
    pub document: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteRequest {
    /// The policy's id.
    pub policy_id: String,
    /// The version you read with `get_policy`.
    pub expected_version: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentRef {
    /// The agent whose effective policy to show; leave out for the tenant as a whole.
    #[serde(default)]
    pub agent: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfRequest {
    /// The tool an agent would call, such as `expense.submit`.
    pub tool: String,
    /// The call's arguments, such as `{"amount": 6000}`.
    #[serde(default)]
    pub args: Map<String, Value>,
    /// The agent that would call it.
    #[serde(default)]
    pub agent: Option<String>,
    /// On whose behalf: `user`, `roles`, `groups` and other `attributes`.
    #[serde(default)]
    pub principal: Principal,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsRequest {
    /// Only the approvals still waiting for a decision (the default), or every recent one.
    #[serde(default = "yes")]
    pub pending_only: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// The approval's id, as `list_approvals` gives it.
    pub approval_id: String,
    /// `approve` or `reject`.
    pub resolution: String,
    /// Why, for the record (optional).
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptsRequest {
    /// Only calls of this tool.
    #[serde(default)]
    pub tool: Option<String>,
    /// Only calls of this agent.
    #[serde(default)]
    pub agent: Option<String>,
    /// Only this verdict: `allow`, `deny` or `require_approval`.
    #[serde(default)]
    pub verdict: Option<String>,
    /// How many, newest first (1-100, default 20).
    #[serde(default)]
    pub limit: Option<i64>,
}

#[tool_router]
impl CharterTools {
    pub fn new(core: Core) -> CharterTools {
        CharterTools { core, tool_router: Self::tool_router() }
    }

    /// Every tool's name and description, for the catalog's "Charter policy tools" source.
    pub fn catalog() -> Vec<(String, String)> {
        Self::tool_router()
            .list_all()
            .into_iter()
            .map(|tool| (tool.name.to_string(), tool.description.map(|text| text.to_string()).unwrap_or_default()))
            .collect()
    }

    /// The tools this caller may use: what its access allows, of the Charter tools its tenant has
    /// (enabled by the platform, exposed to the tenant, not switched off by it).
    pub(super) async fn offered(&self, access: &Access) -> Result<std::collections::BTreeSet<String>, McpError> {
        let has = self.core.charter_tools(access).await.map_err(|err| McpError::internal_error(err.to_string(), None))?;
        Ok(has.into_iter().filter(|tool| action_of(tool).is_some_and(|action| access.can(action))).collect())
    }

    #[tool(
        description = "List the tenant's own policies (tenant and agent scope): id, name, scope, agent, version. Platform rules are not listed: they apply to every tenant and cannot be changed here.",
        annotations(read_only_hint = true)
    )]
    async fn list_policies(&self, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        let policies = match self.core.list_policies(&access, Target::Own).await {
            Ok(policies) => policies,
            Err(err) => return Ok(refused(err)),
        };
        let text = if policies.is_empty() {
            "The tenant has no policies of its own yet.".to_owned()
        } else {
            let lines: Vec<String> = policies.iter().map(|p| format!("- {} ({}, version {}, id {})", p.name, scope_of(p), p.version, p.id)).collect();
            format!("{} policies:\n{}", policies.len(), lines.join("\n"))
        };
        Ok(answer(text, json!({ "policies": policies.iter().map(policy_json).collect::<Vec<_>>() })))
    }

    #[tool(
        description = "Read one of the tenant's policies: its document in YAML, its version (needed to update or delete it) and who changed it last.",
        annotations(read_only_hint = true)
    )]
    async fn get_policy(&self, Parameters(request): Parameters<PolicyRef>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        let policy = match self.core.get_policy(&access, Target::Own, &PolicyId::from(request.policy_id)).await {
            Ok(policy) => policy,
            Err(err) => return Ok(refused(err)),
        };
        let yaml = charter_policy::Policy::from_stored_json(&policy.document).ok().and_then(|p| p.to_yaml().ok()).unwrap_or_default();
        let text = format!("{} ({}, version {}, last changed by {}):\n\n{yaml}", policy.name, scope_of(&policy), policy.version, policy.updated_by);
        Ok(answer(text, policy_json(&policy)))
    }

    #[tool(
        description = "Check a policy document without saving it: whether it reads, and whether it collides with the platform's rules (errors, which stop a save) or may not mean what was intended (warnings). Use it before create_policy or update_policy and relay the messages.",
        annotations(read_only_hint = true)
    )]
    async fn validate_policy(&self, Parameters(request): Parameters<ValidateRequest>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        let replacing = request.replacing_policy_id.map(PolicyId::from);
        let validation = match self.core.validate_policy(&access, Target::Own, &request.document, replacing.as_ref()).await {
            Ok(validation) => validation,
            Err(err) => return Ok(refused(err)),
        };
        let (valid, errors, warnings) = match validation {
            Validation::Unreadable(err) => {
                (false, vec![json!({ "line": err.line, "column": err.column, "path": err.path, "message": err.to_string() })], Vec::new())
            }
            Validation::Misplaced { field, message } => (false, vec![json!({ "path": field, "message": message })], Vec::new()),
            Validation::Checked { report, .. } => {
                (report.errors.is_empty(), report.errors.iter().map(issue_json).collect(), report.warnings.iter().map(issue_json).collect())
            }
        };
        let mut text = if valid { "The policy is valid and can be saved.".to_owned() } else { "The policy cannot be saved as it is:".to_owned() };
        for error in &errors {
            text.push_str(&format!("\n- error: {}", error["message"].as_str().unwrap_or_default()));
        }
        for warning in &warnings {
            text.push_str(&format!("\n- warning: {}", warning["message"].as_str().unwrap_or_default()));
        }
        Ok(answer(text, json!({ "valid": valid, "errors": errors, "warnings": warnings })))
    }

    #[tool(
        description = "Create a policy for the tenant (scope tenant) or for one of its agents (scope agent). It is live on the next decision. The document is checked first; if it does not read or collides with the platform's rules, nothing is saved and the messages say why. Confirm with the person before creating.",
        annotations(destructive_hint = false)
    )]
    async fn create_policy(&self, Parameters(request): Parameters<PolicyDocument>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        let saved = match self.read(&request.document).await {
            Ok(policy) => self.core.create_policy(&access, Target::Own, &policy).await,
            Err(err) => Err(err),
        };
        match saved {
            Ok(saved) => Ok(saved_answer("Created", &saved.policy, &saved.warnings)),
            Err(err) => Ok(refused(err)),
        }
    }

    #[tool(
        description = "Replace one of the tenant's policies with a new document (live on the next decision). Needs the version you read with get_policy; if the policy changed since, nothing is saved. Confirm with the person before updating."
    )]
    async fn update_policy(&self, Parameters(request): Parameters<UpdateRequest>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        let id = PolicyId::from(request.policy_id);
        let saved = match self.read(&request.document).await {
            Ok(policy) => self.core.update_policy(&access, Target::Own, &id, request.expected_version, &policy).await,
            Err(err) => Err(err),
        };
        match saved {
            Ok(saved) => Ok(saved_answer("Updated", &saved.policy, &saved.warnings)),
            Err(err) => Ok(refused(err)),
        }
    }

    #[tool(
        description = "Delete one of the tenant's policies (its rules stop applying on the next decision). Needs the version you read with get_policy. Confirm with the person before deleting.",
        annotations(destructive_hint = true)
    )]
    async fn delete_policy(&self, Parameters(request): Parameters<DeleteRequest>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        match self.core.delete_policy(&access, Target::Own, &PolicyId::from(request.policy_id), Some(request.expected_version)).await {
            Ok(deleted) => {
                Ok(answer(format!("Deleted {} (it was at version {}).", deleted.name, deleted.version), json!({ "deleted": policy_json(&deleted) })))
            }
            Err(err) => Ok(refused(err)),
        }
    }

    #[tool(
        description = "Show the rules in force for the tenant or one agent: the platform's, the tenant's and the agent's, each with its scope, the caps and rate limits with the scope that set them, and the default when no rule matches.",
        annotations(read_only_hint = true)
    )]
    async fn effective_policy(&self, Parameters(request): Parameters<AgentRef>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        match self.core.effective_policy(&access, Target::Own, request.agent.as_deref(), Selection::default()).await {
            Ok((tenant, effective, _)) => {
                let structured = serde_json::to_value(&effective).unwrap_or(Value::Null);
                let rules = structured.get("rules").and_then(Value::as_array).map_or(0, Vec::len);
                let whom = request.agent.map_or_else(|| format!("tenant {}", tenant.name), |agent| format!("agent {agent} of {}", tenant.name));
                Ok(answer(format!("{rules} rules apply to {whom}; the structured content lists them with their scopes, caps and limits."), structured))
            }
            Err(err) => Ok(refused(err)),
        }
    }

    #[tool(
        description = "What would Charter decide for a tool call, now, with the policies in force? Nothing is recorded or counted. Gives the verdict (allow, deny, require_approval), the reason and the rules that matched.",
        annotations(read_only_hint = true)
    )]
    async fn what_if(&self, Parameters(request): Parameters<WhatIfRequest>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        let input = DecideInput {
            tool: request.tool.clone(),
            args: Value::Object(request.args),
            agent: request.agent,
            principal: request.principal,
            ..DecideInput::default()
        };
        match self.core.what_if(&access, Target::Own, input, None).await {
            Ok((decision, _)) => {
                let text = format!("{}: {} would be {}. {}", decision.verdict, request.tool, verdict_in_words(decision.verdict), decision.reason);
                Ok(answer(text, serde_json::to_value(&decision).unwrap_or(Value::Null)))
            }
            Err(err) => Ok(refused(err)),
        }
    }

    #[tool(
        description = "List the tools the tenant's agents may use (as the platform enabled them): name, HTTP method and path, description.",
        annotations(read_only_hint = true)
    )]
    async fn list_catalog_tools(&self, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        match self.core.catalog(&access).await {
            Ok(catalog) => {
                // The tools agents call, which rules are written for; Charter's own are these.
                let own: Vec<_> = catalog.own.iter().filter(|tool| !tool.tool.name.starts_with(charter_core::CHARTER_TOOL_PREFIX)).collect();
                let lines: Vec<String> = own
                    .iter()
                    .map(|tool| format!("- {}{}: {}", tool.tool.name, if tool.on { "" } else { " (switched off by the tenant)" }, tool.tool.description))
                    .collect();
                let text = if !catalog.governed {
                    "No tool catalog: every tool is enabled, and the policies alone decide.".to_owned()
                } else if lines.is_empty() {
                    "The platform makes none of its tools available to this tenant: every call is denied, whatever the policies say.".to_owned()
                } else {
                    format!("{} tools:\n{}", lines.len(), lines.join("\n"))
                };
                Ok(answer(text, json!({ "tools": own })))
            }
            Err(err) => Ok(refused(err)),
        }
    }

    #[tool(
        description = "List the tenant's approvals: the calls waiting for an approver (by default), or every recent one, with who must approve.",
        annotations(read_only_hint = true)
    )]
    async fn list_approvals(&self, Parameters(request): Parameters<ApprovalsRequest>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        match self.core.list_approvals(&access, Target::Own, request.pending_only, MAX_LISTED).await {
            Ok(approvals) => {
                let lines: Vec<String> = approvals.iter().map(|a| format!("- {} {} ({}), asks {}", a.id, a.tool, a.status.as_str(), a.approvers)).collect();
                let text = if lines.is_empty() { "No approvals.".to_owned() } else { format!("{} approvals:\n{}", lines.len(), lines.join("\n")) };
                let structured: Vec<Value> =
                    approvals.into_iter().map(|a| serde_json::to_value(crate::api::records::ApprovalView::from(a)).unwrap_or(Value::Null)).collect();
                Ok(answer(text, json!({ "approvals": structured })))
            }
            Err(err) => Ok(refused(err)),
        }
    }

    #[tool(
        description = "Approve or reject a pending approval, as one of the approver roles it asks for. Only a person holding such a role may (connected with the `approvals` scope); an API key may not."
    )]
    async fn resolve_approval(&self, Parameters(request): Parameters<ResolveRequest>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        let resolution = match request.resolution.trim() {
            "approve" => Resolution::Approve,
            "reject" => Resolution::Reject,
            other => return Ok(refused(CoreError::Invalid { field: "resolution".into(), message: format!("must be `approve` or `reject`, got `{other}`") })),
        };
        match self.core.resolve_approval(&access, Target::Own, &ApprovalId::from(request.approval_id), resolution, request.comment).await {
            Ok(approval) => {
                let text = format!("Approval {} is now {}.", approval.id, approval.status.as_str());
                Ok(answer(text, serde_json::to_value(crate::api::records::ApprovalView::from(approval)).unwrap_or(Value::Null)))
            }
            Err(err) => Ok(refused(err)),
        }
    }

    #[tool(description = "List the tenant's recent decisions (receipts), newest first: tool, agent, verdict and reason.", annotations(read_only_hint = true))]
    async fn list_receipts(&self, Parameters(request): Parameters<ReceiptsRequest>, context: RequestContext<RoleServer>) -> Result<CallToolResult, McpError> {
        let access = caller(&context)?;
        let verdict = match request.verdict.as_deref().map(str::parse::<Verdict>).transpose() {
            Ok(verdict) => verdict,
            Err(_) => return Ok(refused(CoreError::Invalid { field: "verdict".into(), message: "must be `allow`, `deny` or `require_approval`".into() })),
        };
        let limit = request.limit.unwrap_or(20);
        if !(1..=MAX_LISTED).contains(&limit) {
            return Ok(refused(CoreError::Invalid { field: "limit".into(), message: format!("must be 1-{MAX_LISTED}, got `{limit}`") }));
        }
        let filter = ReceiptFilter { tool: request.tool, agent: request.agent, verdict, ..ReceiptFilter::default() };
        match self.core.list_receipts(&access, ReceiptsOf::Tenant(Target::Own), &filter, limit).await {
            Ok(receipts) => {
                let lines: Vec<String> =
                    receipts.iter().map(|r| format!("- {} {} by {}: {}", r.verdict, r.tool, r.agent.as_deref().unwrap_or("no agent"), r.reason)).collect();
                let text =
                    if lines.is_empty() { "No decisions match.".to_owned() } else { format!("{} decisions, newest first:\n{}", lines.len(), lines.join("\n")) };
                let structured: Vec<Value> =
                    receipts.into_iter().map(|r| serde_json::to_value(crate::api::records::ReceiptView::from(r)).unwrap_or(Value::Null)).collect();
                Ok(answer(text, json!({ "receipts": structured })))
            }
            Err(err) => Ok(refused(err)),
        }
    }
}

impl CharterTools {
    /// A submitted document, in YAML or JSON by its look.
    async fn read(&self, document: &str) -> Result<charter_policy::Policy, CoreError> {
        self.core.read_policy(document.to_owned(), None).await
    }
}

/// What each tool does, for offering it only to callers who may: a token granted
/// `policies:read` alone is not shown the tools that change policies, and an API key is not shown
/// `resolve_approval`. The core checks again on every call.
fn action_of(tool: &str) -> Option<Action> {
    Some(match tool {
        "list_policies" | "get_policy" | "validate_policy" | "effective_policy" | "what_if" => Action::ReadPolicies,
        "create_policy" | "update_policy" | "delete_policy" => Action::WritePolicies,
        "list_catalog_tools" => Action::ReadCatalog,
        "list_approvals" => Action::ReadApprovals,
        "resolve_approval" => Action::ResolveApprovals,
        "list_receipts" => Action::ReadRecords,
        _ => return None,
    })
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CharterTools {
    /// The tools this caller may use; the list differs between callers, so it is not to be
    /// cached for anyone else.
    async fn list_tools(&self, _request: Option<PaginatedRequestParams>, context: RequestContext<RoleServer>) -> Result<ListToolsResult, McpError> {
        let offered = self.offered(&caller(&context)?).await?;
        let tools = self.tool_router.list_all().into_iter().filter(|tool| offered.contains(tool.name.as_ref())).collect();
        let mut result = ListToolsResult::with_all_items(tools);
        let cache_hints = context.protocol_version().is_some_and(|version| version >= ProtocolVersion::V_2026_07_28);
        result.ttl_ms = cache_hints.then_some(0);
        result.cache_scope = cache_hints.then_some(CacheScope::Private);
        Ok(result)
    }

    /// A tool the caller's tenant does not have (the platform has not enabled or exposed it, or
    /// the tenant switched it off) is refused before it runs, as a tool that is not there. One
    /// the tenant has but the caller's access does not allow runs into the core's refusal, a tool
    /// error that says what is missing (a scope to grant, a role).
    async fn call_tool(&self, request: CallToolRequestParams, context: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        let access = caller(&context)?;
        let has = self.core.charter_tools(&access).await.map_err(|err| McpError::internal_error(err.to_string(), None))?;
        if !has.contains(request.name.as_ref()) {
            let message = match action_of(&request.name) {
                Some(_) => {
                    format!("tool `{}` is not available to your tenant: the platform has not enabled it for you, or your tenant switched it off", request.name)
                }
                None => format!("there is no tool `{}`", request.name),
            };
            return Err(McpError::invalid_params(message, None));
        }
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tool_list_changed().build())
            .with_server_info(Implementation::new("charter", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Charter governs the tool calls of this tenant's AI agents. Use these tools to read and change the tenant's \
                 policies (rules that allow, deny or require approval for tool calls, with caps, rate limits and masks), \
                 to preview what applies to an agent and what a call would get, and to follow approvals and decisions. \
                 Validate a document before saving it, relay errors and warnings in words, and confirm changes with the \
                 person: they are live on the next decision.",
            )
    }
}

/// The caller of this request, acting through MCP. An assistant connected with OAuth is named
/// with the client it registered as (`MCP (Claude)`); an API key's request is served statelessly
/// and carries no client name, so it acts "via MCP".
fn caller(context: &RequestContext<RoleServer>) -> Result<Access, McpError> {
    let access = context
        .extensions
        .get::<Parts>()
        .and_then(|parts| parts.extensions.get::<McpCaller>())
        .map(|McpCaller(access)| access.clone())
        .ok_or_else(|| McpError::internal_error("the request reached a tool without its caller", None))?;
    Ok(match access.channel() {
        Some(_) => access,
        None => access.via("MCP"),
    })
}

fn answer(text: String, structured: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}

/// A refusal the assistant can relay: what was wrong, and where. Failures on Charter's side say
/// only that (the details are in the server's log).
fn refused(err: CoreError) -> CallToolResult {
    let message = match &err {
        CoreError::InvalidPolicy(parse) => format!("The document does not read: {parse}"),
        CoreError::Delegation(report) => {
            let issues: Vec<String> = report.errors.iter().map(|issue| format!("{}: {}", issue.path, issue.message)).collect();
            format!("The policy collides with the platform's rules, so nothing was saved: {}", issues.join("; "))
        }
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect::<String>()).unwrap_or_default()
        }
    };
    CallToolResult::error(vec![ContentBlock::text(message)])
}

fn saved_answer(done: &str, policy: &StoredPolicy, warnings: &[DelegationIssue]) -> CallToolResult {
    let mut text =
        format!("{done} {} ({}, version {}, id {}), shown as Customer Defined. It is live now.", policy.name, scope_of(policy), policy.version, policy.id);
    for warning in warnings {
        text.push_str(&format!("\nWarning: {}: {}", warning.path, warning.message));
    }
    let mut structured = policy_json(policy);
    if let Value::Object(fields) = &mut structured {
        fields.insert("warnings".into(), warnings.iter().map(issue_json).collect());
    }
    answer(text, structured)
}

fn scope_of(policy: &StoredPolicy) -> String {
    match &policy.agent {
        Some(agent) => format!("agent {agent}"),
        None => policy.scope.to_string(),
    }
}

fn policy_json(policy: &StoredPolicy) -> Value {
    json!({
        "id": policy.id.as_str(),
        "name": policy.name,
        "description": policy.description,
        "scope": policy.scope.to_string(),
        "agent": policy.agent,
        "version": policy.version,
        "label": charter_store::PolicyLabel::of_scope(policy.scope).as_str(),
        "updated_at": policy.updated_at,
        "updated_by": policy.updated_by,
        "document": serde_json::from_str::<Value>(&policy.document).unwrap_or(Value::Null),
    })
}

fn issue_json(issue: &DelegationIssue) -> Value {
    json!({ "path": issue.path, "message": issue.message })
}

fn verdict_in_words(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Allow => "allowed",
        Verdict::Deny => "denied",
        Verdict::RequireApproval => "held for approval",
    }
}
