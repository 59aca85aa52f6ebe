//! `GET /mcp` and `GET /mcp/gateway`: the stream of messages the server sends unasked, which MCP
//! clients open once they are initialised. Charter sends `notifications/tools/list_changed` on it
//! when the tools the caller is offered change (the platform enables or exposes a tool, the tenant
//! switches one off, an upstream's tools are read again, a policy makes a gateway tool reachable
//! or not), so an assistant or agent sees them without reconnecting.
//!
//! Stateless like the rest of `/mcp`: no MCP session is kept, and any replica can serve the
//! stream, because every replica hears every change (`charter_store::Invalidation`). The caller's
//! credential is checked again at every change that concerns its tenant and at every keep-alive,
//! so a revoked key or token ends the stream within [`KEEP_ALIVE`].

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use charter_core::{Access, Core};
use charter_store::{Invalidation, Owner, TenantId};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{bearer, CharterTools, Gate, McpCaller};

/// How often an idle stream carries a comment (proxies close silent connections), and how soon a
/// revoked credential ends it.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(25);

const TOOL_LIST_CHANGED: &str = r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#;

/// Set when the process shuts down: open streams end, so a graceful shutdown does not wait for
/// clients that would keep them open for ever.
static CLOSING: std::sync::LazyLock<tokio::sync::watch::Sender<bool>> = std::sync::LazyLock::new(|| tokio::sync::watch::channel(false).0);

/// Ends every open stream (clients reopen them on another replica). `main` calls it when a
/// shutdown begins.
pub fn close_streams() {
    CLOSING.send_replace(true);
}

/// Which endpoint's tools a stream watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Offer {
    /// Charter's own tools at `/mcp`.
    CharterTools,
    /// The upstream tools at `/mcp/gateway`.
    Gateway,
}

/// The most streams one credential holds open at once (an assistant needs one per connection).
const MAX_STREAMS_PER_CREDENTIAL: usize = 5;

/// Open streams by credential (its SHA-256), for [`MAX_STREAMS_PER_CREDENTIAL`].
static OPEN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, usize>>> = std::sync::LazyLock::new(Default::default);

/// One open stream of a credential, counted while it lives.
struct Opened(String);

impl Opened {
    fn try_new(credential: &str) -> Option<Opened> {
        use sha2::Digest;
        let key = hex::encode(sha2::Sha256::digest(credential.as_bytes()));
        let mut open = OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(key.clone()).or_default();
        if *count >= MAX_STREAMS_PER_CREDENTIAL {
            return None;
        }
        *count += 1;
        Some(Opened(key))
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.0) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.0);
            }
        }
    }
}

/// What the caller is offered of Charter's own tools; `None` when it cannot be read now (the
/// stream then waits for the next change). The gateway's tools depend on the agent and the
/// principal each request names, so a gateway stream is told of every change that may alter
/// them instead (its tenant's policies and tools, the platform's).
async fn offered(core: &Core, access: &Access, offer: Offer) -> Option<Vec<String>> {
    match offer {
        Offer::CharterTools => CharterTools::new(core.clone()).offered(access).await.ok().map(|names| names.into_iter().collect()),
        Offer::Gateway => None,
    }
}

/// Whether a change may concern what a caller of `tenant` is offered.
fn concerns(change: &Result<Invalidation, RecvError>, tenant: Option<&TenantId>) -> bool {
    match change {
        Ok(Invalidation::Policies(Owner::Platform) | Invalidation::Everything | Invalidation::KeyRevoked(_)) | Err(RecvError::Lagged(_)) => true,
        Ok(Invalidation::Policies(Owner::Tenant(changed)) | Invalidation::Tenant(changed)) => tenant == Some(changed),
        Err(RecvError::Closed) => false,
    }
}

/// Opens the stream for the caller the authentication layer resolved.
pub(super) async fn stream(State((gate, offer)): State<(Gate, Offer)>, request: Request) -> Response {
    let Some(McpCaller(access)) = request.extensions().get::<McpCaller>().cloned() else {
        return axum::http::StatusCode::UNAUTHORIZED.into_response();
    };
    let credential = bearer(&request).unwrap_or_default();
    let Some(opened) = Opened::try_new(&credential) else {
        let message = format!("at most {MAX_STREAMS_PER_CREDENTIAL} notification streams per credential are open at once; close one first");
        let body = axum::Json(serde_json::json!({ "error": { "code": "too_many_streams", "message": message } }));
        return (axum::http::StatusCode::TOO_MANY_REQUESTS, body).into_response();
    };
    let resource = gate.public_url.mcp_resource(crate::oauth::host(request.headers()));
    let (sender, receiver) = mpsc::channel::<Result<Event, Infallible>>(4);
    tokio::spawn(async move {
        let _counted = opened;
        let core = gate.core.clone();
        let tenant = access.own_tenant().cloned();
        let mut changes = core.subscribe_changes();
        let mut last = offered(&core, &access, offer).await;
        let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
        keep_alive.tick().await;
        let mut closing = CLOSING.subscribe();
        loop {
            let change = tokio::select! {
                change = changes.recv() => Some(change),
                _ = keep_alive.tick() => None,
                () = sender.closed() => break,
                _ = closing.wait_for(|closing| *closing) => break,
            };
            if matches!(change, Some(Err(RecvError::Closed))) {
                break;
            }
            if change.as_ref().is_some_and(|change| !concerns(change, tenant.as_ref())) {
                continue;
            }
            // The credential may have been revoked, the person's role changed: as on every request.
            let Ok(access) = gate.access_of(&credential, &resource, offer).await else { break };
            let event = match change {
                None => Event::default().comment("keep-alive"),
                Some(_) if offer == Offer::Gateway => Event::default().event("message").data(TOOL_LIST_CHANGED),
                Some(_) => {
                    let now = offered(&core, &access, offer).await;
                    if now.is_none() || now == last {
                        continue;
                    }
                    last = now;
                    Event::default().event("message").data(TOOL_LIST_CHANGED)
                }
            };
            if sender.send(Ok(event)).await.is_err() {
                break;
            }
        }
    });
    Sse::new(ReceiverStream::new(receiver)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_hears_the_platform_and_its_own_tenant_only() {
        let own = TenantId::new("a");
        let other = TenantId::new("b");
        let check = |change: Result<Invalidation, RecvError>, expected: bool| assert_eq!(concerns(&change, Some(&own)), expected, "{change:?}");
        check(Ok(Invalidation::Policies(Owner::Platform)), true);
        check(Ok(Invalidation::Everything), true);
        check(Err(RecvError::Lagged(3)), true);
        check(Ok(Invalidation::Policies(Owner::Tenant(own.clone()))), true);
        check(Ok(Invalidation::Tenant(own.clone())), true);
        check(Ok(Invalidation::Policies(Owner::Tenant(other.clone()))), false);
        check(Ok(Invalidation::Tenant(other)), false);
    }
}
