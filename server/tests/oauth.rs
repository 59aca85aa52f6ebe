//! OAuth 2.1 for MCP clients through the real router, as the MCP authorisation specification
//! lays it out: the 401 that points at the protected resource metadata, the metadata documents,
//! dynamic client registration, the authorisation endpoint handing over to the console's consent
//! page, the code exchanged with its PKCE verifier, tokens that act as their user within the
//! granted scopes, refresh with rotation (a reused refresh token revokes the connection), and
//! revocation by the client and from the console. Bad input and another tenant's tokens and ids.
//! SQLite and PostgreSQL. end2end/tests/mcp-oauth.spec.ts drives the same flow in Chromium with
//! the official TypeScript SDK.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};

const HOST: &str = "charter.example";
const RESOURCE: &str = "http://charter.example/mcp";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";
/// RFC 7636, appendix B: a verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn location(reply: &Reply) -> String {
    reply
        .headers
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("a redirect: {} {}", reply.status, reply.body))
        .to_owned()
}

/// The query parameter `name` of a URL.
fn param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url).or_else(|_| url::Url::parse(&format!("http://{HOST}{url}"))).unwrap();
    parsed.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

async fn get(api: &Api, path: &str, auth: &Auth) -> Reply {
    api.send(Call::new(Method::GET, path, auth).header("host", HOST)).await
}

async fn register(api: &Api, metadata: Value) -> Reply {
    api.send(Call::new(Method::POST, "/oauth/register", &Auth::Anonymous).json(&metadata).header("host", HOST)).await
}

async fn token(api: &Api, pairs: &[(&str, &str)]) -> Reply {
    let call = Call::new(Method::POST, "/oauth/token", &Auth::Anonymous).raw(Some("application/x-www-form-urlencoded"), form(pairs)).header("host", HOST);
    api.send(call).await
}

fn oauth_error(reply: &Reply, status: StatusCode, code: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["error"], code, "{body}");
    assert_eq!(reply.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    body["error_description"].as_str().unwrap().to_owned()
}

/// The query of an authorisation request for `client_id`, with `extra` parameters replacing or
/// adding to the usual ones.
fn authorization_query(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("state", "st-42"),
        ("scope", "policies:read policies:write approvals"),
        ("resource", RESOURCE),
    ];
    for (name, value) in extra {
        pairs.retain(|(key, _)| key != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    form(&pairs)
}

async fn consent_request(api: &Api, session: &Auth, query: &str) -> Value {
    let call =
        Call::new(Method::POST, "/api/oauth/consent", session).raw(Some("application/x-www-form-urlencoded"), form(&[("query", query)])).header("host", HOST);
    api.send(call).await.expect(StatusCode::OK)
}

async fn answer(api: &Api, session: &Auth, query: &str, allow: bool, scopes: &[&str]) -> Reply {
    let body = json!({ "query": query, "allow": allow, "scopes": scopes });
    api.send(Call::new(Method::POST, "/api/oauth/answer", session).json(&body).header("host", HOST)).await
}

/// Registers a client, has `username` approve `scopes` for it, and returns the client id and the
/// code it got back.
async fn authorised_code(api: &Api, username: &str, scopes: &[&str]) -> (String, String) {
    let client = register(api, json!({ "client_name": "Test assistant", "redirect_uris": [REDIRECT] })).await.expect(StatusCode::CREATED);
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let session = api.sign_in(username).await;
    let query = authorization_query(&client_id, &[]);
    let approved = answer(api, &session, &query, true, scopes).await;
    let back = location(&approved);
    assert!(back.starts_with(REDIRECT), "back to the client: {back}");
    assert_eq!(param(&back, "state").as_deref(), Some("st-42"));
    (client_id, param(&back, "code").unwrap_or_else(|| panic!("a code: {back}")))
}

/// The access and refresh tokens for `username` approving `scopes`.
async fn connected(api: &Api, username: &str, scopes: &[&str]) -> (String, Value) {
    let (client_id, code) = authorised_code(api, username, scopes).await;
    let tokens = token(
        api,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", VERIFIER),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("resource", RESOURCE),
        ],
    )
    .await
    .expect(StatusCode::OK);
    (client_id, tokens)
}

async fn tool_names(api: &Api, auth: &Auth) -> Vec<String> {
    let listed = rpc(api, auth, "tools/list", json!({})).await.expect(StatusCode::OK);
    listed["result"]["tools"].as_array().unwrap().iter().map(|tool| tool["name"].as_str().unwrap().to_owned()).collect()
}

fn bearer(tokens: &Value, name: &str) -> Auth {
    Auth::Key(tokens[name].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_assistant_finds_how_to_connect_from_the_401() {
    each_database(|api| async move {
        let refused = rpc(&api, &Auth::Anonymous, "tools/list", json!({})).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        let challenge = refused.headers.get(header::WWW_AUTHENTICATE).unwrap().to_str().unwrap().to_owned();
        let metadata_url = format!("http://{HOST}/.well-known/oauth-protected-resource/mcp");
        assert!(challenge.starts_with("Bearer ") && challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")), "{challenge}");
        assert!(challenge.contains("scope=\"policies:read policies:write approvals\""), "{challenge}");

        let resource = get(&api, "/.well-known/oauth-protected-resource/mcp", &Auth::Anonymous).await.expect(StatusCode::OK);
        assert_eq!(resource["resource"], RESOURCE);
        assert_eq!(resource["authorization_servers"], json!([format!("http://{HOST}")]));
        assert_eq!(resource["scopes_supported"], json!(["policies:read", "policies:write", "approvals"]));
        // RFC 9728: the metadata of `/mcp` lives at the path with `/mcp`, and only there.
        assert_eq!(get(&api, "/.well-known/oauth-protected-resource", &Auth::Anonymous).await.status, StatusCode::NOT_FOUND);

        let server = get(&api, "/.well-known/oauth-authorization-server", &Auth::Anonymous).await.expect(StatusCode::OK);
        assert_eq!(server["issuer"], format!("http://{HOST}"));
        for (field, path) in
            [("authorization_endpoint", "authorize"), ("token_endpoint", "token"), ("registration_endpoint", "register"), ("revocation_endpoint", "revoke")]
        {
            assert_eq!(server[field], format!("http://{HOST}/oauth/{path}"), "{server}");
        }
        assert_eq!(server["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(server["token_endpoint_auth_methods_supported"], json!(["none"]));
        assert_eq!(server["authorization_response_iss_parameter_supported"], true);

        // A browser-based client reads the metadata from its own origin.
        let cors = api
            .send(
                Call::new(Method::GET, "/.well-known/oauth-authorization-server", &Auth::Anonymous)
                    .header("origin", "https://inspector.example")
                    .header("host", HOST),
            )
            .await;
        assert_eq!(cors.headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).unwrap(), "*");
        // A token that is not one is refused with `invalid_token`.
        let bad = rpc(&api, &Auth::Key("chat_not-a-token".into()), "tools/list", json!({})).await;
        assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
        assert!(bad.headers.get(header::WWW_AUTHENTICATE).unwrap().to_str().unwrap().contains("error=\"invalid_token\""));
    })
    .await;
}

#[tokio::test]
async fn a_tenant_admin_connects_an_assistant_that_acts_as_them_within_its_scopes() {
    each_database(|api| async move {
        let client = register(&api, json!({ "client_name": "Test assistant", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none" }))
            .await
            .expect(StatusCode::CREATED);
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        assert_eq!(client["token_endpoint_auth_method"], "none");
        assert_eq!(client["redirect_uris"], json!([REDIRECT]));

        // The authorisation endpoint hands over to the consent page, which asks for a sign-in first.
        let query = authorization_query(&client_id, &[]);
        let handed = get(&api, &format!("/oauth/authorize?{query}"), &Auth::Anonymous).await;
        assert_eq!(handed.status, StatusCode::FOUND, "{}", handed.body);
        assert_eq!(location(&handed), format!("/oauth/consent?{query}"));
        let page =
            api.send(Call::new(Method::GET, format!("/oauth/consent?{query}"), &Auth::Anonymous).header("accept", "text/html").header("host", HOST)).await;
        let sign_in = location(&page);
        assert!(sign_in.starts_with("/login?next=/oauth/consent%3F"), "{sign_in}");
        // The sign-in returns to the consent page, and only ever to a path of this site.
        let next = param(&sign_in, "next").unwrap();
        let body = form(&[("username", BANK_ADMIN), ("password", PASSWORD), ("next", &next)]);
        let signed_in = api.send(Call::new(Method::POST, "/api/auth/login", &Auth::Anonymous).raw(Some("application/x-www-form-urlencoded"), body)).await;
        assert_eq!(location(&signed_in), next);
        let body = form(&[("username", BANK_ADMIN), ("password", PASSWORD), ("next", "//evil.example/steal")]);
        let elsewhere = api.send(Call::new(Method::POST, "/api/auth/login", &Auth::Anonymous).raw(Some("application/x-www-form-urlencoded"), body)).await;
        assert_eq!(location(&elsewhere), "/");
        // A browser drops a tab: `/<tab>/evil.example` would be `//evil.example`.
        let body = form(&[("username", BANK_ADMIN), ("password", PASSWORD), ("next", "/\t/evil.example")]);
        let tabbed = api.send(Call::new(Method::POST, "/api/auth/login", &Auth::Anonymous).raw(Some("application/x-www-form-urlencoded"), body)).await;
        assert_eq!(location(&tabbed), "/");

        let admin = api.sign_in(BANK_ADMIN).await;
        let asked = consent_request(&api, &admin, &query).await;
        let details = &asked["Ask"];
        assert_eq!(details["client_name"], "Test assistant", "{asked}");
        assert_eq!(details["redirect_host"], "127.0.0.1:33418");
        assert_eq!(details["tenant_name"], "First Meridian Bank");
        assert_eq!(details["scopes"], json!(["policies:read", "policies:write", "approvals"]));
        assert_eq!(details["withheld"], json!([]));

        // The code comes back with the state; the token request proves the verifier.
        let back = location(&answer(&api, &admin, &query, true, &["policies:read", "policies:write"]).await);
        let code = param(&back, "code").unwrap();
        assert_eq!(param(&back, "state").as_deref(), Some("st-42"));
        assert_eq!(param(&back, "iss").as_deref(), Some("http://charter.example"), "RFC 9207: the issuer comes back");
        let exchange = |code: String, verifier: &'static str| {
            let (api, client_id) = (api.clone(), client_id.clone());
            async move {
                token(
                    &api,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", &code),
                        ("code_verifier", verifier),
                        ("client_id", &client_id),
                        ("redirect_uri", REDIRECT),
                    ],
                )
                .await
            }
        };
        let wrong = exchange(code.clone(), "a-verifier-that-is-long-enough-but-not-the-one-sent-0123").await;
        assert!(oauth_error(&wrong, StatusCode::BAD_REQUEST, "invalid_grant").contains("code_verifier"));
        // A code is used once, whatever became of it; presented again, what it made is revoked.
        assert!(oauth_error(&exchange(code, VERIFIER).await, StatusCode::BAD_REQUEST, "invalid_grant").contains("used already"));
        let unknown = exchange("chac_never-issued".into(), VERIFIER).await;
        assert!(!oauth_error(&unknown, StatusCode::BAD_REQUEST, "invalid_grant").contains("used already"));
        // The redirect URI the request named must be repeated.
        let back = location(&answer(&api, &admin, &query, true, &["policies:read"]).await);
        let unrepeated = token(
            &api,
            &[("grant_type", "authorization_code"), ("code", &param(&back, "code").unwrap()), ("code_verifier", VERIFIER), ("client_id", &client_id)],
        )
        .await;
        assert!(oauth_error(&unrepeated, StatusCode::BAD_REQUEST, "invalid_grant").contains("redirect_uri"));

        let back = location(&answer(&api, &admin, &query, true, &["policies:read", "policies:write"]).await);
        let tokens = exchange(param(&back, "code").unwrap(), VERIFIER).await.expect(StatusCode::OK);
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 3600);
        assert_eq!(tokens["scope"], "policies:read policies:write");
        let assistant = bearer(&tokens, "access_token");

        // It acts as the admin: it reads and writes the bank's policies, audited as theirs via MCP.
        let created = tool(&api, &assistant, "create_policy", json!({ "document": allow_policy("Assistant made", &["crm.read"]) })).await;
        assert_eq!(created["isError"], false, "{created}");
        let audit = api.audit(&admin).await;
        let entry = audit.iter().find(|entry| entry["action"] == "policy.create").unwrap();
        assert_eq!(entry["actor"], format!("{BANK_ADMIN} via MCP (Test assistant, client {})", &client_id[..16]), "{entry}");
        let connect = audit.iter().find(|entry| entry["action"] == "assistant.connect").expect("the connection is audited");
        assert_eq!(connect["actor"], BANK_ADMIN);
        let listed = tool(&api, &assistant, "list_policies", json!({})).await;
        assert!(text(&listed).contains("Assistant made"), "{listed}");
        // ...and nothing its scopes leave out, though the admin could.
        let vote = tool(&api, &assistant, "list_approvals", json!({})).await;
        assert_eq!(vote["isError"], true);
        assert!(text(&vote).contains("not granted `approvals`"), "{vote}");

        // The console lists it with its last use; refreshing rotates the tokens.
        let view = api
            .send(Call::new(Method::POST, "/api/assistant/view", &admin).raw(Some("application/x-www-form-urlencoded"), "").header("host", HOST))
            .await
            .expect(StatusCode::OK);
        assert_eq!(view["mcp_url"], RESOURCE);
        let connections = view["connections"].as_array().unwrap();
        assert_eq!(connections.len(), 1, "approving twice keeps one connection: {view}");
        assert_eq!(connections[0]["client_name"], "Test assistant");
        assert!(connections[0]["last_used_at"].is_i64(), "{view}");
        let refresh = tokens["refresh_token"].as_str().unwrap();
        // A refresh asking for more than was granted is refused, and the token stays usable.
        let wider =
            token(&api, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client_id), ("scope", "policies:read approvals")]).await;
        assert!(oauth_error(&wider, StatusCode::BAD_REQUEST, "invalid_scope").contains("policies:read policies:write"));
        // Asking for fewer gives a token that carries fewer.
        let narrower = token(&api, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client_id), ("scope", "policies:read")])
            .await
            .expect(StatusCode::OK);
        assert_eq!(narrower["scope"], "policies:read");
        let reader = bearer(&narrower, "access_token");
        let write = tool(&api, &reader, "create_policy", json!({ "document": allow_policy("Read only", &["crm.read"]) })).await;
        assert!(text(&write).contains("not granted `policies:write`"), "{write}");
        let refresh = narrower["refresh_token"].as_str().unwrap();
        let renewed = token(&api, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client_id)]).await.expect(StatusCode::OK);
        assert_eq!(renewed["scope"], "policies:read", "a refreshed token carries what the one it replaces did");
        assert_ne!(renewed["access_token"], tokens["access_token"]);
        assert_eq!(tool(&api, &bearer(&renewed, "access_token"), "list_policies", json!({})).await["isError"], false);
        let other_client =
            token(&api, &[("grant_type", "refresh_token"), ("refresh_token", renewed["refresh_token"].as_str().unwrap()), ("client_id", "mcp_someone-else")])
                .await;
        oauth_error(&other_client, StatusCode::BAD_REQUEST, "invalid_grant");
        // The spent refresh token presented again: someone copied it, so the connection ends.
        let replayed = token(&api, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client_id)]).await;
        assert!(oauth_error(&replayed, StatusCode::BAD_REQUEST, "invalid_grant").contains("revoked"));
        let after = rpc(&api, &bearer(&renewed, "access_token"), "tools/list", json!({})).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{}", after.body);

        // Denying sends the client `access_denied`, and connects nothing.
        let denied = location(&answer(&api, &admin, &query, false, &[]).await);
        assert_eq!(param(&denied, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(&denied, "state").as_deref(), Some("st-42"));
    })
    .await;
}

#[tokio::test]
async fn connections_are_revoked_by_the_client_and_from_the_console() {
    each_database(|api| async move {
        let (client_id, tokens) = connected(&api, BANK_ADMIN, &["policies:read"]).await;
        let assistant = bearer(&tokens, "access_token");
        assert_eq!(tool(&api, &assistant, "list_policies", json!({})).await["isError"], false);
        // It is offered what its scope covers, and refused the rest.
        assert_eq!(
            tool_names(&api, &assistant).await,
            ["effective_policy", "get_policy", "list_catalog_tools", "list_policies", "list_receipts", "validate_policy", "what_if"]
        );
        let write = tool(&api, &assistant, "create_policy", json!({ "document": allow_policy("Not allowed", &["crm.read"]) })).await;
        assert!(text(&write).contains("not granted `policies:write`"), "{write}");
        // The client disconnects itself (RFC 7009); an unknown token gets the same answer.
        let revoke = |token: String, client: String| {
            let api = api.clone();
            async move {
                api.send(
                    Call::new(Method::POST, "/oauth/revoke", &Auth::Anonymous)
                        .raw(Some("application/x-www-form-urlencoded"), form(&[("token", &token), ("client_id", &client)])),
                )
                .await
            }
        };
        assert_eq!(revoke("chrt_unknown".into(), client_id.clone()).await.status, StatusCode::OK);
        assert_eq!(revoke(tokens["refresh_token"].as_str().unwrap().into(), "mcp_another".into()).await.status, StatusCode::OK);
        assert_eq!(tool(&api, &assistant, "list_policies", json!({})).await["isError"], false, "another client cannot revoke it");
        assert_eq!(revoke(tokens["refresh_token"].as_str().unwrap().into(), client_id).await.status, StatusCode::OK);
        assert_eq!(rpc(&api, &assistant, "tools/list", json!({})).await.status, StatusCode::UNAUTHORIZED);

        // From the console: the admin disconnects a manager's assistant; the manager sees only theirs.
        let (_, manager_tokens) = connected(&api, BANK_MANAGER, &["approvals"]).await;
        let manager_assistant = bearer(&manager_tokens, "access_token");
        assert_eq!(tool(&api, &manager_assistant, "list_approvals", json!({})).await["isError"], false);
        assert_eq!(tool_names(&api, &manager_assistant).await, ["list_approvals", "resolve_approval"]);
        let (_, admin_tokens) = connected(&api, BANK_ADMIN, &["policies:read"]).await;
        let manager = api.sign_in(BANK_MANAGER).await;
        let view = |session: Auth| {
            let api = api.clone();
            async move {
                api.send(Call::new(Method::POST, "/api/assistant/view", &session).raw(Some("application/x-www-form-urlencoded"), "").header("host", HOST))
                    .await
                    .expect(StatusCode::OK)
            }
        };
        let theirs = view(manager.clone()).await;
        let theirs = theirs["connections"].as_array().unwrap();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0]["username"], BANK_MANAGER);
        let admin = api.sign_in(BANK_ADMIN).await;
        let all = view(admin.clone()).await;
        let all = all["connections"].as_array().unwrap().clone();
        assert_eq!(all.len(), 2, "{all:?}");
        let admins = all.iter().find(|c| c["username"] == BANK_ADMIN).unwrap()["id"].as_str().unwrap().to_owned();
        let managers = all.iter().find(|c| c["username"] == BANK_MANAGER).unwrap()["id"].as_str().unwrap().to_owned();
        let disconnect = |session: Auth, id: String| {
            let api = api.clone();
            async move {
                api.send(Call::new(Method::POST, "/api/assistant/disconnect", &session).raw(Some("application/x-www-form-urlencoded"), form(&[("id", &id)])))
                    .await
            }
        };
        assert_eq!(disconnect(manager.clone(), admins.clone()).await.status, StatusCode::NOT_FOUND, "a member disconnects only their own");
        assert_eq!(tool(&api, &bearer(&admin_tokens, "access_token"), "list_policies", json!({})).await["isError"], false);
        assert_eq!(disconnect(admin.clone(), managers).await.status, StatusCode::OK);
        assert_eq!(rpc(&api, &manager_assistant, "tools/list", json!({})).await.status, StatusCode::UNAUTHORIZED);
        let support = api.sign_in(SUPPORT).await;
        assert_eq!(disconnect(support, admins).await.status, StatusCode::FORBIDDEN, "support is read-only");
        let audit = api.audit(&admin).await;
        assert!(audit.iter().any(|entry| entry["action"] == "assistant.revoke" && entry["actor"] == BANK_ADMIN), "{audit:?}");
        assert!(audit
            .iter()
            .any(|entry| entry["action"] == "assistant.revoke" && entry["actor"].as_str().unwrap().contains("via MCP (Test assistant, client mcp_")));
    })
    .await;
}

#[tokio::test]
async fn bad_registrations_and_requests_are_refused_in_words() {
    each_database(|api| async move {
        for (metadata, code, words) in [
            (json!({ "client_name": "x", "redirect_uris": [] }), "invalid_redirect_uri", "at least one"),
            (json!({ "client_name": "x", "redirect_uris": ["http://evil.example/cb"] }), "invalid_redirect_uri", "redirect_uris[0]"),
            (json!({ "client_name": "x", "redirect_uris": ["javascript:alert(1)"] }), "invalid_redirect_uri", "javascript"),
            (
                json!({ "client_name": "x", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic" }),
                "invalid_client_metadata",
                "token_endpoint_auth_method",
            ),
            (json!({ "client_name": "x", "redirect_uris": [REDIRECT], "grant_types": ["implicit"] }), "invalid_client_metadata", "implicit"),
            (json!({ "client_name": "x", "redirect_uris": "not a list" }), "invalid_client_metadata", "redirect_uris"),
        ] {
            let reply = register(&api, metadata.clone()).await;
            assert!(oauth_error(&reply, StatusCode::BAD_REQUEST, code).contains(words), "{metadata}: {}", reply.body);
        }

        let client =
            register(&api, json!({ "client_name": "Test assistant", "redirect_uris": [REDIRECT, "https://app.example/cb"] })).await.expect(StatusCode::CREATED);
        let client_id = client["client_id"].as_str().unwrap().to_owned();
        // Whatever is wrong with a request is told to the person on the consent page, and nothing
        // is redirected: anyone can register any redirect URI, so Charter redirects nobody to one
        // before a signed-in person has answered a valid request.
        let admin = api.sign_in(BANK_ADMIN).await;
        for (extra, words) in [
            (vec![("code_challenge", "")], "PKCE code_challenge"),
            (vec![("code_challenge_method", "plain")], "`S256`"),
            (vec![("response_type", "token")], "response_type `token`"),
            (vec![("scope", "policies:read everything")], "unknown scope `everything`"),
            (vec![("resource", "https://other.example/mcp")], "grants access to `http://charter.example/mcp` only"),
            (vec![("client_id", "mcp_nobody")], "not registered"),
            (vec![("redirect_uri", "https://evil.example/cb")], "not a redirect URI"),
            (vec![("redirect_uri", "")], "no `redirect_uri`"),
        ] {
            let query = authorization_query(&client_id, &extra);
            let handed = location(&get(&api, &format!("/oauth/authorize?{query}"), &Auth::Anonymous).await);
            assert_eq!(handed, format!("/oauth/consent?{query}"), "{extra:?}");
            let shown = consent_request(&api, &admin, &query).await;
            assert!(shown["Refused"].as_str().unwrap().contains(words), "{extra:?}: {shown}");
            let answered = answer(&api, &admin, &query, true, &["policies:read"]).await;
            assert_eq!(answered.status, StatusCode::CONFLICT, "{extra:?}: nothing is approved: {}", answered.body);
            assert!(answered.headers.get(header::LOCATION).is_none(), "{extra:?}: and nobody is redirected");
        }
        // Nothing ticked is not an approval.
        let nothing = answer(&api, &admin, &authorization_query(&client_id, &[]), true, &[]).await;
        assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nothing.body);

        // The token endpoint names what is wrong.
        assert!(oauth_error(&token(&api, &[("grant_type", "password"), ("client_id", &client_id)]).await, StatusCode::BAD_REQUEST, "unsupported_grant_type")
            .contains("password"));
        assert!(oauth_error(&token(&api, &[("grant_type", "authorization_code"), ("code", "x")]).await, StatusCode::BAD_REQUEST, "invalid_request")
            .contains("client_id"));
        assert!(oauth_error(
            &token(&api, &[("grant_type", "authorization_code"), ("client_id", &client_id), ("code", "x")]).await,
            StatusCode::BAD_REQUEST,
            "invalid_request"
        )
        .contains("code_verifier"));
        assert!(oauth_error(&token(&api, &[("client_id", &client_id)]).await, StatusCode::BAD_REQUEST, "invalid_request").contains("grant_type"));
        let json_body = api.send(Call::new(Method::POST, "/oauth/token", &Auth::Anonymous).json(&json!({ "grant_type": "authorization_code" }))).await;
        oauth_error(&json_body, StatusCode::BAD_REQUEST, "invalid_request");
        let (client_id, code) = authorised_code(&api, BANK_ADMIN, &["policies:read"]).await;
        let elsewhere = token(
            &api,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", VERIFIER),
                ("client_id", &client_id),
                ("resource", "https://other.example/mcp"),
            ],
        )
        .await;
        oauth_error(&elsewhere, StatusCode::BAD_REQUEST, "invalid_target");
        // A cross-site browser may call the token endpoint: it reads no cookie.
        let cross_site = api
            .send(
                Call::new(Method::POST, "/oauth/token", &Auth::Anonymous)
                    .raw(Some("application/x-www-form-urlencoded"), form(&[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", &client_id)]))
                    .header("origin", "https://inspector.example")
                    .header("sec-fetch-site", "cross-site"),
            )
            .await;
        oauth_error(&cross_site, StatusCode::BAD_REQUEST, "invalid_grant");
        // The consent answer is the console's and is checked for its origin like every change.
        let forged = api
            .send(
                Call::new(Method::POST, "/api/oauth/answer", &admin)
                    .json(&json!({ "query": authorization_query(&client_id, &[]), "allow": true, "scopes": ["policies:read"] }))
                    .header("origin", "https://evil.example"),
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    })
    .await;
}

#[tokio::test]
async fn who_may_connect_and_what_another_tenants_token_sees() {
    each_database(|api| async move {
        let client = register(&api, json!({ "client_name": "Test assistant", "redirect_uris": [REDIRECT] })).await.expect(StatusCode::CREATED);
        let query = authorization_query(client["client_id"].as_str().unwrap(), &[("scope", "")]);
        // Platform staff act for no one tenant: they are told so, and nothing is approved.
        let owner = api.sign_in(OWNER).await;
        let refused = consent_request(&api, &owner, &query).await;
        assert!(refused["Refused"].as_str().unwrap().contains("sign in as one of the tenant's users"), "{refused}");
        assert_eq!(answer(&api, &owner, &query, true, &["policies:read"]).await.status, StatusCode::FORBIDDEN);
        // An approver is offered the approvals only; what their role cannot do is withheld.
        let manager = api.sign_in(BANK_MANAGER).await;
        let offered = consent_request(&api, &manager, &query).await;
        assert_eq!(offered["Ask"]["scopes"], json!(["approvals"]), "{offered}");
        assert_eq!(offered["Ask"]["withheld"], json!(["policies:read", "policies:write"]));
        let (_, manager_tokens) = connected(&api, BANK_MANAGER, &["approvals", "policies:write"]).await;
        assert_eq!(manager_tokens["scope"], "approvals", "a scope the role cannot give is not granted");

        // A token is its tenant's: the startup's policy is not there for the bank's assistant.
        let startup_admin = api.sign_in(STARTUP_ADMIN).await;
        let theirs = api.create_policy(&startup_admin, &allow_policy("Startup only", &["crm.read"])).await;
        let (_, tokens) = connected(&api, BANK_ADMIN, &["policies:read", "policies:write"]).await;
        let assistant = bearer(&tokens, "access_token");
        let read = tool(&api, &assistant, "get_policy", json!({ "policy_id": theirs["id"] })).await;
        assert_eq!(read["isError"], true);
        assert!(text(&read).contains("not found"), "{read}");
        let deleted = tool(&api, &assistant, "delete_policy", json!({ "policy_id": theirs["id"], "expected_version": 1 })).await;
        assert!(text(&deleted).contains("not found"), "{deleted}");
        let listed = tool(&api, &assistant, "list_policies", json!({})).await;
        assert!(!text(&listed).contains("Startup only"), "{listed}");
        // A token is not a console session: the console's server functions do not take it.
        let console =
            api.send(Call::new(Method::POST, "/api/assistant/view", &assistant).raw(Some("application/x-www-form-urlencoded"), "").header("host", HOST)).await;
        assert_eq!(console.status, StatusCode::UNAUTHORIZED, "{}", console.body);
        // A token is for this server's MCP URL only: presented to another host, it is refused.
        let elsewhere = api
            .send(
                Call::new(Method::POST, "/mcp", &assistant)
                    .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {} }))
                    .header("accept", "application/json, text/event-stream")
                    .header("host", "other.example"),
            )
            .await;
        assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED, "{}", elsewhere.body);
        // An API key is not a token: it never passes for one.
        let key = api.tenant_key(BANK_ADMIN).await;
        let Auth::Key(secret) = key else { unreachable!() };
        assert_eq!(rpc(&api, &Auth::Key(format!("chat_{secret}")), "tools/list", json!({})).await.status, StatusCode::UNAUTHORIZED);
        // The user's role applies on every call: demoted to member, their assistant writes nothing.
        sqlx::query("UPDATE users SET role = 'tenant_member' WHERE username = $1").bind(BANK_ADMIN).execute(api.store.pool()).await.unwrap();
        let demoted = tool(&api, &assistant, "create_policy", json!({ "document": allow_policy("After demotion", &["crm.read"]) })).await;
        assert_eq!(demoted["isError"], true, "{demoted}");
        assert!(tool_names(&api, &assistant).await.is_empty(), "a member without approver roles is offered nothing");
    })
    .await;
}

#[tokio::test]
async fn one_address_registers_a_bounded_number_of_clients() {
    each_database(|api| async move {
        for _ in 0..20 {
            register(&api, json!({ "client_name": "Assistant", "redirect_uris": [REDIRECT] })).await.expect(StatusCode::CREATED);
        }
        let refused = register(&api, json!({ "client_name": "One too many", "redirect_uris": [REDIRECT] })).await;
        assert!(oauth_error(&refused, StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable").contains("too many clients"));
    })
    .await;
}
