//! Charter as an MCP client of the upstream servers behind the gateway: one connection per
//! upstream, opened on first use and again once it is found closed, each call bounded as a whole
//! by the timeout. A call that failed after it was sent is not sent again: the upstream may have
//! acted on it (a payment made twice under one receipt is worse than an error).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use charter_store::{SourceId, UpstreamServer};
use rmcp::model::{CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, JsonObject, Tool};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceError, ServiceExt};

use crate::CoreError;

/// How long an upstream may take to answer one call (connecting included), unless configured.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

type Connection = Arc<RunningService<RoleClient, ClientConfig>>;

/// One upstream's connection, opened by one caller at a time.
type Slot = Arc<tokio::sync::Mutex<Option<(UpstreamServer, Connection)>>>;

/// How an upstream failed. Platform admins are told the details; agents only what they need,
/// since the endpoint and a transport's error may name internal addresses.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    Unreachable(String),
    TooSlow(Duration),
    /// The upstream answered with an MCP error; its message.
    Refused(String),
    /// The connection failed during the exchange.
    Broken(String),
}

impl UpstreamError {
    /// For the platform admin who connects or refreshes the upstream.
    pub(crate) fn for_admin(&self, server: &UpstreamServer) -> CoreError {
        let name = &server.source_name;
        CoreError::Upstream(match self {
            UpstreamError::Unreachable(detail) => format!("the upstream MCP server `{name}` at {} cannot be reached: {detail}", server.endpoint),
            UpstreamError::TooSlow(limit) => format!("the upstream MCP server `{name}` did not answer within {} s", limit.as_secs_f64()),
            UpstreamError::Refused(message) => format!("the upstream MCP server `{name}` refused: {message}"),
            UpstreamError::Broken(detail) => format!("the upstream MCP server `{name}` failed: {detail}"),
        })
    }

    /// For an agent calling through the gateway. An upstream's own message is passed on unless
    /// the call's answer is masked (it could quote a masked field).
    pub(crate) fn for_agent(&self, name: &str, masked: bool) -> CoreError {
        tracing::warn!(upstream = %name, error = ?self, "a call through the MCP gateway failed");
        CoreError::Upstream(match self {
            UpstreamError::Unreachable(_) => format!("the upstream MCP server `{name}` cannot be reached; try again later"),
            UpstreamError::TooSlow(limit) => format!("the upstream MCP server `{name}` did not answer within {} s", limit.as_secs_f64()),
            UpstreamError::Refused(_) if masked => {
                format!("the upstream MCP server `{name}` refused the call; its message is withheld because this tool's answers are masked")
            }
            UpstreamError::Refused(message) => format!("the upstream MCP server `{name}` refused the call: {message}"),
            UpstreamError::Broken(_) => {
                format!("the upstream MCP server `{name}` failed during the call; it may or may not have acted on it, so check before calling again")
            }
        })
    }

    fn outcome(&self) -> &'static str {
        match self {
            UpstreamError::TooSlow(_) => "timeout",
            UpstreamError::Refused(_) => "refused",
            UpstreamError::Unreachable(_) | UpstreamError::Broken(_) => "failed",
        }
    }
}

/// The open connections to upstream MCP servers, by source.
#[derive(Debug)]
pub(crate) struct Upstreams {
    timeout: Duration,
    /// Each with the endpoint and credential it was opened with: a changed source opens anew. The
    /// map's lock is held only to find a slot; a slow connect holds its own upstream's slot.
    open: Mutex<HashMap<SourceId, Slot>>,
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
    /// yet), within the timeout.
    pub(crate) async fn list_tools(&self, server: &UpstreamServer) -> Result<Vec<Tool>, UpstreamError> {
        let listing = async {
            let connection = connect(server).await?;
            let tools = connection.peer().list_all_tools().await.map_err(|err| match err {
                ServiceError::McpError(err) => UpstreamError::Refused(err.message.to_string()),
                other => UpstreamError::Broken(other.to_string()),
            });
            if let Ok(connection) = Arc::try_unwrap(connection) {
                let _ = connection.cancel().await;
            }
            tools
        };
        tokio::time::timeout(self.timeout, listing).await.unwrap_or(Err(UpstreamError::TooSlow(self.timeout)))
    }

    /// Calls `tool` (its upstream name) with `args`, connecting first if need be, all within the
    /// timeout. Counted and timed in the metrics by outcome.
    pub(crate) async fn call(&self, server: &UpstreamServer, tool: &str, args: JsonObject) -> Result<CallToolResult, UpstreamError> {
        let started = Instant::now();
        let answer = tokio::time::timeout(self.timeout, self.call_within(server, tool, args)).await.unwrap_or(Err(UpstreamError::TooSlow(self.timeout)));
        let outcome = match &answer {
            Ok(result) if result.is_error == Some(true) => "tool_error",
            Ok(_) => "answered",
            Err(err) => err.outcome(),
        };
        let figures = charter_store::metrics();
        figures.upstream_calls.with_label_values(&[server.source_name.as_str(), outcome]).inc();
        figures.upstream_seconds.observe(started.elapsed().as_secs_f64());
        answer
    }

    async fn call_within(&self, server: &UpstreamServer, tool: &str, args: JsonObject) -> Result<CallToolResult, UpstreamError> {
        let connection = self.connection(server).await?;
        match connection.peer().call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args)).await {
            Ok(result) => Ok(result),
            Err(ServiceError::McpError(err)) => Err(UpstreamError::Refused(err.message.to_string())),
            Err(other) => {
                // The next call opens a new connection; this one is not sent again.
                self.forget(&server.source_id).await;
                Err(UpstreamError::Broken(other.to_string()))
            }
        }
    }

    fn slot(&self, source_id: &SourceId) -> Slot {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        open.entry(source_id.clone()).or_default().clone()
    }

    async fn connection(&self, server: &UpstreamServer) -> Result<Connection, UpstreamError> {
        let slot = self.slot(&server.source_id);
        let mut slot = slot.lock().await;
        if let Some((opened_for, connection)) = &*slot {
            if opened_for == server && !connection.peer().is_transport_closed() && !connection.is_closed() {
                return Ok(connection.clone());
            }
        }
        let connection = connect(server).await?;
        *slot = Some((server.clone(), connection.clone()));
        Ok(connection)
    }

    async fn forget(&self, source_id: &SourceId) {
        let slot = self.slot(source_id);
        *slot.lock().await = None;
    }
}

async fn connect(server: &UpstreamServer) -> Result<Connection, UpstreamError> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(server.endpoint.clone());
    if let Some(token) = &server.auth {
        config = config.auth_header(token.clone());
    }
    let transport = StreamableHttpClientTransport::from_config(config);
    let identity = ClientConfig::new(ClientCapabilities::default(), Implementation::new("charter-gateway", env!("CARGO_PKG_VERSION")));
    match identity.serve(transport).await {
        Ok(connection) => Ok(Arc::new(connection)),
        Err(err) => Err(UpstreamError::Unreachable(err.to_string())),
    }
}
