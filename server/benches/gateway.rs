//! The MCP gateway's cost (not a test). An upstream MCP server (the official SDK, on a loopback
//! port) serves an `echo` tool; the same MCP client calls it directly and through Charter's
//! `/mcp/gateway` (the whole server on SQLite, each call decided and receipted), one call at a
//! time, and the difference of the two latency distributions is what the gateway adds. Then a
//! second upstream with 1,000 tools, all allowed by a policy: how long `tools/list` takes through
//! the gateway.
//!
//!     cargo bench -p charter --bench gateway          (BENCH_CALLS sets the calls, default 2,000)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use charter_core::{Access, NewUpstream, Target};
use charter_policy::Policy;
use charter_store::{Actor, BoundAgents, NewTenant};
use leptos::prelude::LeptosOptions;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ClientConfig, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ErrorData as McpError, RoleClient, RoleServer, ServerHandler, ServiceExt};
use serde_json::json;

/// An upstream whose tools all answer at once with their arguments.
#[derive(Clone)]
struct Echo {
    tools: Arc<Vec<Tool>>,
}

impl ServerHandler for Echo {
    async fn list_tools(&self, _request: Option<PaginatedRequestParams>, _context: RequestContext<RoleServer>) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    async fn call_tool(&self, request: CallToolRequestParams, _context: RequestContext<RoleServer>) -> Result<CallToolResponse, McpError> {
        let args = serde_json::Value::Object(request.arguments.unwrap_or_default());
        Ok(CallToolResponse::from(CallToolResult::success(vec![ContentBlock::text(args.to_string())])))
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(Implementation::new("bench-echo", "1"))
    }
}

fn schema() -> Arc<JsonObject> {
    Arc::new(json!({ "type": "object", "properties": { "n": { "type": "number" } } }).as_object().unwrap().clone())
}

/// Serves an upstream with `count` tools named `echo`, `tool-1`, … on a loopback port.
async fn upstream(count: usize) -> String {
    let mut tools = vec![Tool::new("echo", "Answers with its arguments", schema())];
    tools.extend((1..count).map(|i| Tool::new(format!("tool-{i}"), format!("Tool number {i} of the bench"), schema())));
    let echo = Echo { tools: Arc::new(tools) };
    let config = StreamableHttpServerConfig::default().with_legacy_session_mode(false).with_json_response(true).with_sse_keep_alive(None);
    let service = StreamableHttpService::new(move || Ok(echo.clone()), Arc::new(NeverSessionManager::default()), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().route_service("/mcp", service)).await });
    format!("http://{address}/mcp")
}

async fn client(endpoint: &str, key: Option<&str>) -> RunningService<RoleClient, ClientConfig> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(endpoint.to_owned());
    if let Some(key) = key {
        config = config.auth_header(key.to_owned());
    }
    let identity = ClientConfig::new(ClientCapabilities::default(), Implementation::new("bench-agent", "1"));
    identity.serve(StreamableHttpClientTransport::from_config(config)).await.unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Latencies of `calls` calls of `tool`, sorted.
async fn measure(client: &RunningService<RoleClient, ClientConfig>, tool: &str, calls: usize) -> Vec<Duration> {
    let mut taken = Vec::with_capacity(calls);
    for n in 0..calls {
        let args = json!({ "n": n }).as_object().unwrap().clone();
        let started = Instant::now();
        let result = client.peer().call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args)).await.unwrap();
        taken.push(started.elapsed());
        assert_ne!(result.is_error, Some(true), "{result:?}");
    }
    taken.sort_unstable();
    taken
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS").ok().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let databases = charter_testkit::databases("bench_gateway").await;
    let store = databases[0].store.clone();

    // The platform, one tenant with its admin, a key and a policy that allows the echo tools.
    let config = charter_server::Config::from_lookup(|_| None).unwrap();
    let services = charter_server::Services::new(store.clone(), &config).await.unwrap();
    let core = services.core.clone();
    let owner = Access::for_user(&core.create_owner("owner@bench", "Owner", "bench-password").await.unwrap()).unwrap();
    let acme = store.create_tenant(NewTenant { slug: "acme".into(), name: "Acme".into(), plan: "enterprise".into(), policy_quota: None }).await.unwrap();
    let admin = Access::for_user(&charter_testkit::tenant_admin(&store, &acme.id, "admin@acme").await).unwrap();
    let key = store.create_api_key(&Actor::system(), &acme.id, "bench", BoundAgents::default(), charter_store::KeyScopes::all()).await.unwrap().secret;
    let echo = upstream(1).await;
    let many = upstream(1000).await;
    for (name, endpoint, prefix) in [("Echo", &echo, "bench."), ("Many", &many, "many.")] {
        let new = NewUpstream { name: name.into(), endpoint: endpoint.clone(), token: None, tool_prefix: prefix.into(), enabled: true };
        core.add_upstream(&owner, new).await.unwrap();
    }
    let policy =
        Policy::from_yaml("name: Bench\nscope: tenant\nrules:\n  - tool: bench.echo\n    effect: allow\n  - tool: \"many.*\"\n    effect: allow\n").unwrap();
    core.create_policy(&admin, Target::Own, &policy).await.unwrap();

    let options = LeptosOptions::builder().output_name("charter").site_root("target/site").build();
    let router = charter_server::app(options, services, false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let charter = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await });

    let direct = client(&echo, None).await;
    let gateway = client(&format!("http://{charter}/mcp/gateway"), Some(&key)).await;
    // Warm both paths (connections, the compiled policy set, the key cache).
    measure(&direct, "echo", 200).await;
    measure(&gateway, "bench.echo", 200).await;
    let plain = measure(&direct, "echo", calls).await;
    let governed = measure(&gateway, "bench.echo", calls).await;
    println!("{calls} calls, one at a time, SQLite with durable receipts:");
    for (label, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        let (a, b) = (percentile(&plain, p), percentile(&governed, p));
        println!("  {label}: upstream directly {:>8}, through the gateway {:>8}, added {:>8}", micros(a), micros(b), micros(b.saturating_sub(a)));
    }

    // Where the time goes: the decision with its durable receipt alone, in process.
    let agent = core.access_for_key(&key).await.unwrap();
    let mut decided = Vec::with_capacity(500);
    for n in 0..500 {
        let input = charter_core::DecideInput { tool: "bench.echo".into(), args: json!({ "n": n }), ..charter_core::DecideInput::default() };
        let started = Instant::now();
        core.decide(&agent, input, charter_core::CallFacts::default()).await.unwrap();
        decided.push(started.elapsed());
    }
    decided.sort_unstable();
    println!("  the decision alone (in process, durable receipt): p50 {}, p99 {}", micros(percentile(&decided, 0.5)), micros(percentile(&decided, 0.99)));

    let mut lists = Vec::new();
    let mut listed = 0;
    for _ in 0..50 {
        let started = Instant::now();
        listed = gateway.peer().list_all_tools().await.unwrap().len();
        lists.push(started.elapsed());
    }
    lists.sort_unstable();
    println!("tools/list through the gateway with {listed} tools offered: p50 {}, p99 {}", micros(percentile(&lists, 0.5)), micros(percentile(&lists, 0.99)));
    assert!(listed > 1000, "the 1,000 tools and the echo are offered: {listed}");
}
