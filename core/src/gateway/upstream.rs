//! Charter as an MCP client of the upstream servers behind the gateway: one connection per
//! upstream, opened on first use and opened again when it fails, every request bounded in time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use charter_store::{SourceId, UpstreamServer};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, JsonObject, Tool};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceError, ServiceExt};
use tokio::sync::Mutex;

use crate::CoreError;

/// How long an upstream may take to answer one call (and to connect), unless configured.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

type Connection = Arc<RunningService<RoleClient, ClientConfig>>;

/// The open connections to upstream MCP servers, by source.
#[derive(Debug)]
pub(crate) struct Upstreams {
    timeout: Duration,
    /// Each with the endpoint and credential it was opened with: a changed source opens anew.
    open: Mutex<HashMap<SourceId, (UpstreamServer, Connection)>>,
}

impl Upstreams {
    pub(crate) fn new(timeout: Duration) -> Upstreams {
        // reqwest's TLS needs a process-wide crypto provider; another part of the process may
        // have installed one already, which serves as well. ring rather than aws-lc-rs (which has
        // post-quantum key exchange) because aws-lc builds minutes of C on every clean build.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        Upstreams { timeout, open: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Every tool the upstream lists, over a connection of its own (the source may not exist
    /// yet).
    pub(crate) async fn list_tools(&self, server: &UpstreamServer) -> Result<Vec<Tool>, CoreError> {
        let connection = self.connect(server).await?;
        let listed = tokio::time::timeout(self.timeout, connection.peer().list_all_tools()).await;
        let tools = match listed {
            Err(_) => Err(self.too_slow(server)),
            Ok(Err(err)) => Err(failed(server, "listing its tools", &err)),
            Ok(Ok(tools)) => Ok(tools),
        };
        if let Ok(connection) = Arc::try_unwrap(connection) {
            let _ = connection.cancel().await;
        }
        tools
    }

    /// Calls `tool` (its upstream name) with `args`; a connection that fails is opened again
    /// once, and the answer comes within the timeout or the call fails.
    pub(crate) async fn call(&self, server: &UpstreamServer, tool: &str, args: JsonObject) -> Result<CallToolResult, CoreError> {
        let started = std::time::Instant::now();
        let answer = self.call_once_more_on_failure(server, tool, args).await;
        let figures = charter_store::metrics();
        let outcome = match &answer {
            Ok(result) if result.is_error == Some(true) => "tool_error",
            Ok(_) => "answered",
            Err(CoreError::Upstream(message)) if message.contains("did not answer within") => "timeout",
            Err(_) => "failed",
        };
        figures.upstream_calls.with_label_values(&[server.source_name.as_str(), outcome]).inc();
        figures.upstream_seconds.observe(started.elapsed().as_secs_f64());
        answer
    }

    async fn call_once_more_on_failure(&self, server: &UpstreamServer, tool: &str, args: JsonObject) -> Result<CallToolResult, CoreError> {
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(args);
        let connection = self.connection(server).await?;
        match tokio::time::timeout(self.timeout, connection.peer().call_tool(params.clone())).await {
            Err(_) => Err(self.too_slow(server)),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(ServiceError::McpError(err))) => {
                Err(CoreError::Upstream(format!("the upstream MCP server `{}` refused the call: {}", server.source_name, err.message)))
            }
            Ok(Err(_)) => {
                // The connection broke (the upstream restarted, or dropped its session): once more
                // on a new one.
                self.forget(&server.source_id).await;
                let connection = self.connection(server).await?;
                match tokio::time::timeout(self.timeout, connection.peer().call_tool(params)).await {
                    Err(_) => Err(self.too_slow(server)),
                    Ok(Ok(result)) => Ok(result),
                    Ok(Err(err)) => {
                        self.forget(&server.source_id).await;
                        Err(failed(server, "calling a tool", &err))
                    }
                }
            }
        }
    }

    async fn connection(&self, server: &UpstreamServer) -> Result<Connection, CoreError> {
        let mut open = self.open.lock().await;
        if let Some((opened_for, connection)) = open.get(&server.source_id) {
            if opened_for == server && !connection.is_closed() {
                return Ok(connection.clone());
            }
        }
        let connection = self.connect(server).await?;
        open.insert(server.source_id.clone(), (server.clone(), connection.clone()));
        Ok(connection)
    }

    async fn forget(&self, source_id: &SourceId) {
        self.open.lock().await.remove(source_id);
    }

    async fn connect(&self, server: &UpstreamServer) -> Result<Connection, CoreError> {
        let mut config = StreamableHttpClientTransportConfig::with_uri(server.endpoint.clone());
        if let Some(token) = &server.auth {
            config = config.auth_header(token.clone());
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let identity = ClientConfig::new(ClientCapabilities::default(), Implementation::new("charter-gateway", env!("CARGO_PKG_VERSION")));
        match tokio::time::timeout(self.timeout, identity.serve(transport)).await {
            Err(_) => Err(self.too_slow(server)),
            Ok(Err(err)) => {
                tracing::warn!(upstream = %server.source_name, error = %err, "could not connect to an upstream MCP server");
                Err(CoreError::Upstream(format!("the upstream MCP server `{}` at {} cannot be reached: {err}", server.source_name, server.endpoint)))
            }
            Ok(Ok(connection)) => Ok(Arc::new(connection)),
        }
    }

    fn too_slow(&self, server: &UpstreamServer) -> CoreError {
        CoreError::Upstream(format!("the upstream MCP server `{}` did not answer within {} s", server.source_name, self.timeout.as_secs_f64()))
    }
}

fn failed(server: &UpstreamServer, doing: &str, err: &ServiceError) -> CoreError {
    tracing::warn!(upstream = %server.source_name, error = %err, "an upstream MCP server failed while {doing}");
    CoreError::Upstream(format!("the upstream MCP server `{}` failed while {doing}: {err}", server.source_name))
}
