//! A test upstream MCP server, on a real port, written with the official SDK: a small CRM whose
//! tools record every call they receive, so a test can tell what reached it and what did not.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{json, Value};

/// One call the upstream received: the tool's name and arguments.
pub type Received = (String, Value);

#[derive(Clone)]
pub struct Crm {
    received: Arc<Mutex<Vec<Received>>>,
    /// Tool names beyond the first four, which a test adds to see a refresh find them.
    extra: Arc<Mutex<Vec<String>>>,
}

/// The running upstream: its endpoint and what it received.
pub struct Upstream {
    pub endpoint: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub extra: Arc<Mutex<Vec<String>>>,
    /// The `Authorization` headers of the HTTP requests it received.
    pub authorizations: Arc<Mutex<Vec<String>>>,
    stop: Arc<tokio::sync::Notify>,
}

impl Upstream {
    /// The calls received so far, by tool name.
    pub fn calls_of(&self, tool: &str) -> Vec<Value> {
        self.received.lock().unwrap().iter().filter(|(name, _)| name == tool).map(|(_, args)| args.clone()).collect()
    }

    pub fn total(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Stops serving: the port is closed from then on.
    pub fn stop(&self) {
        self.stop.notify_one();
    }
}

fn schema(properties: Value) -> Arc<JsonObject> {
    Arc::new(json!({ "type": "object", "properties": properties }).as_object().unwrap().clone())
}

fn tools(extra: &[String]) -> Vec<Tool> {
    let mut tools = vec![
        Tool::new("lookup", "Look a customer up by id", schema(json!({ "id": { "type": "string" } }))),
        Tool::new("delete", "Delete a customer", schema(json!({ "id": { "type": "string" } }))),
        Tool::new("send", "Send a payment", schema(json!({ "amount": { "type": "number" }, "to": { "type": "string" } }))),
        Tool::new("slow", "Answers after five seconds", schema(json!({}))),
        Tool::new("broken", "Always fails", schema(json!({}))),
    ];
    tools.extend(extra.iter().map(|name| Tool::new(name.clone(), "added later", schema(json!({})))));
    tools
}

impl ServerHandler for Crm {
    async fn list_tools(&self, _request: Option<PaginatedRequestParams>, _context: RequestContext<RoleServer>) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools(&self.extra.lock().unwrap())))
    }

    async fn call_tool(&self, request: CallToolRequestParams, _context: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        let args = Value::Object(request.arguments.clone().unwrap_or_default());
        self.received.lock().unwrap().push((request.name.to_string(), args.clone()));
        let result = match request.name.as_ref() {
            "lookup" => {
                let customer = json!({ "id": args["id"], "name": "Ada Lovelace", "ssn": "123-45-6789", "plan": "gold" });
                let mut result = CallToolResult::success(vec![ContentBlock::text(customer.to_string()), ContentBlock::text("Ada's SSN is 123-45-6789")]);
                result.structured_content = Some(customer);
                result
            }
            "slow" => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                CallToolResult::success(vec![ContentBlock::text("late")])
            }
            "broken" => return Err(McpError::internal_error("the CRM database is down", None)),
            other => CallToolResult::success(vec![ContentBlock::text(format!("{other} done with {args}"))]),
        };
        Ok(CallToolResponse::from(result))
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(Implementation::new("test-crm", "1.0.0"))
    }
}

/// Starts the upstream on a free loopback port; it runs until the test's runtime ends.
pub async fn start_upstream() -> Upstream {
    let received: Arc<Mutex<Vec<Received>>> = Arc::default();
    let extra: Arc<Mutex<Vec<String>>> = Arc::default();
    let crm = Crm { received: received.clone(), extra: extra.clone() };
    let config = StreamableHttpServerConfig::default().with_legacy_session_mode(false).with_json_response(true).with_sse_keep_alive(None);
    let service = StreamableHttpService::new(move || Ok(crm.clone()), Arc::new(NeverSessionManager::default()), config);
    let authorizations: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = authorizations.clone();
    let router = axum::Router::new().route_service("/mcp", service).layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let seen = seen.clone();
            async move {
                if let Some(value) = request.headers().get("authorization").and_then(|value| value.to_str().ok()) {
                    seen.lock().unwrap().push(value.to_owned());
                }
                next.run(request).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let stop: Arc<tokio::sync::Notify> = Arc::default();
    let stopped = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = axum::serve(listener, router) => {}
            () = stopped.notified() => {}
        }
    });
    Upstream { endpoint: format!("http://{address}/mcp"), received, extra, authorizations, stop }
}
