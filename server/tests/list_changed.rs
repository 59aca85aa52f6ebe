//! `notifications/tools/list_changed` on the stream a client opens with `GET /mcp` (and
//! `GET /mcp/gateway`): sent when what the caller is offered changes, and only then; never for
//! another tenant's changes; the stream ends when its key is revoked. SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;
mod gateway_support;

use std::time::Duration;

use api_support::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

/// The open stream of server-initiated messages.
struct Stream(Body);

impl Stream {
    async fn open(api: &Api, path: &str, key: &Auth) -> Stream {
        let Auth::Key(key) = key else { panic!("a key") };
        let request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .header(header::ACCEPT, "text/event-stream")
            .header(header::HOST, "charter.example")
            .body(Body::empty())
            .unwrap();
        let response = api.router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
        Stream(response.into_body())
    }

    /// The next message within `within`: `Some(text)`, or `None` when nothing came. Keep-alive
    /// comments are skipped.
    async fn next(&mut self, within: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.0.frame()).await {
                Err(_) => return Next::Nothing,
                Ok(None) => return Next::Ended,
                Ok(Some(frame)) => {
                    let Ok(data) = frame.unwrap().into_data() else { continue };
                    let text = String::from_utf8_lossy(&data).into_owned();
                    if text.lines().any(|line| line.starts_with("data:")) {
                        return Next::Message(text);
                    }
                }
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum Next {
    Message(String),
    Nothing,
    Ended,
}

fn is_list_changed(next: &Next) -> bool {
    matches!(next, Next::Message(text) if text.contains("notifications/tools/list_changed"))
}

const QUIET: Duration = Duration::from_millis(1500);
const SOON: Duration = Duration::from_secs(10);

#[tokio::test]
async fn list_changed_arrives_when_the_offered_tools_change_and_only_then() {
    each_database(|api| async move {
        let admin = api.sign_in(STARTUP_ADMIN).await;
        let (created, key) = api.create_key_at("/api/v1/keys", &admin, "assistant script").await;
        // Charter's tools are in the catalog once MCP served anyone.
        let before = rpc(&api, &key, "tools/list", json!({})).await.expect(StatusCode::OK);
        assert!(before.to_string().contains("list_receipts"), "{before}");
        let init =
            rpc(&api, &key, "initialize", json!({ "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "t", "version": "1" } })).await;
        assert_eq!(init.json()["result"]["capabilities"]["tools"]["listChanged"], true, "{}", init.body);
        let mut stream = Stream::open(&api, "/mcp", &key).await;

        // Another tenant's switch, and the tenant's own change that leaves its tools as they are:
        // nothing.
        let hospital = api.sign_in(HOSPITAL_ADMIN).await;
        console(&api, &hospital, "tools/switch", &[("tool", "charter.list_receipts"), ("on", "false")]).await.expect(StatusCode::OK);
        api.create_policy(&admin, &allow_policy("Docs", &["docs.read"])).await;
        assert_eq!(stream.next(QUIET).await, Next::Nothing);

        // The tenant switches one of Charter's tools off: the client is told, and the list follows.
        console(&api, &admin, "tools/switch", &[("tool", "charter.list_receipts"), ("on", "false")]).await.expect(StatusCode::OK);
        let next = stream.next(SOON).await;
        assert!(is_list_changed(&next), "{next:?}");
        assert!(!rpc(&api, &key, "tools/list", json!({})).await.body.contains("list_receipts"));

        // The platform disables one for everyone.
        let owner = api.sign_in(OWNER).await;
        let catalog = console(&api, &owner, "tools/catalog", &[]).await.expect(StatusCode::OK);
        let what_if = catalog["tools"].as_array().unwrap().iter().find(|tool| tool["name"] == "charter.what_if").unwrap()["id"].as_str().unwrap().to_owned();
        console(&api, &owner, "tools/toggle", &[("id", &what_if), ("enabled", "false")]).await.expect(StatusCode::OK);
        let next = stream.next(SOON).await;
        assert!(is_list_changed(&next), "{next:?}");

        // One credential holds a few streams at most.
        let mut more = Vec::new();
        for _ in 1..5 {
            more.push(Stream::open(&api, "/mcp", &key).await);
        }
        let Auth::Key(secret) = &key else { unreachable!() };
        let sixth = Request::builder()
            .method(Method::GET)
            .uri("/mcp")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .header(header::HOST, "charter.example")
            .body(Body::empty())
            .unwrap();
        assert_eq!(api.router.clone().oneshot(sixth).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
        drop(more);

        // The key is revoked: the stream ends.
        api.delete(&format!("/api/v1/keys/{}", created["id"].as_str().unwrap()), &admin).await.expect(StatusCode::OK);
        assert_eq!(stream.next(SOON).await, Next::Ended);
    })
    .await;
}

#[tokio::test]
async fn the_gateway_tells_an_agent_when_a_policy_makes_a_tool_reachable() {
    each_database(|api| async move {
        let upstream = gateway_support::start_upstream().await;
        let owner = api.sign_in(OWNER).await;
        let pairs = [("name", "CRM"), ("endpoint", upstream.endpoint.as_str()), ("token", ""), ("tool_prefix", "crm."), ("enabled", "true")];
        console(&api, &owner, "tools/connect_upstream", &pairs).await.expect(StatusCode::OK);
        let key = api.tenant_key(BANK_ADMIN).await;
        let mut stream = Stream::open(&api, "/mcp/gateway", &key).await;
        // The bank's default is deny and no rule names these tools: nothing is offered yet. The
        // startup's policy changes nothing for the bank.
        let startup = api.sign_in(STARTUP_ADMIN).await;
        api.create_policy(&startup, &allow_policy("CRM", &["crm.lookup"])).await;
        assert_eq!(stream.next(QUIET).await, Next::Nothing);
        let admin = api.sign_in(BANK_ADMIN).await;
        api.create_policy(&admin, &allow_policy("CRM", &["crm.lookup"])).await;
        let next = stream.next(SOON).await;
        assert!(is_list_changed(&next), "{next:?}");
        // An OAuth token or a console session does not open the gateway's stream.
        let request = Request::builder().method(Method::GET).uri("/mcp/gateway").header(header::HOST, "charter.example").body(Body::empty()).unwrap();
        assert_eq!(api.router.clone().oneshot(request).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    })
    .await;
}
