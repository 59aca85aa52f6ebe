//! Cross-site request forgery: a state-changing request sent by a browser with the console's
//! session cookie from another site is refused, and nothing is written; the console itself, API
//! keys and scripts (which send no `Origin`) go through. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

/// The ways a browser says a request comes from elsewhere.
const FOREIGN: &[(&str, &str)] = &[("origin", "https://evil.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")];

#[tokio::test]
async fn a_cross_site_post_to_the_api_is_refused_and_writes_nothing() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let keys = || async { api.get("/api/v1/keys", &admin).await.expect(StatusCode::OK).as_array().unwrap().len() };
        let before = keys().await;
        for (name, value) in FOREIGN {
            let call = Call::new(Method::POST, "/api/v1/keys", &admin).json(&json!({ "name": "planted" })).header("host", "charter.test").header(name, value);
            let error = api.send(call).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
            assert!(error["message"].as_str().unwrap().contains("cross-site request refused"), "{name}: {value}: {error}");
        }
        assert_eq!(keys().await, before, "no key was created");

        // The console's own page, a script without those headers, and a key all get through.
        let own = Call::new(Method::POST, "/api/v1/keys", &admin)
            .json(&json!({ "name": "from the console" }))
            .header("host", "charter.test")
            .header("origin", "http://charter.test")
            .header("sec-fetch-site", "same-origin");
        api.send(own).await.expect(StatusCode::CREATED);
        let (_, key) = api.create_key_at("/api/v1/keys", &admin, "a script's").await;
        let with_key = Call::new(Method::POST, "/api/v1/policies", &key).yaml(&allow_policy("Docs", &["docs.read"])).header("origin", "https://evil.example");
        api.send(with_key).await.expect(StatusCode::CREATED);
        assert_eq!(keys().await, before + 2);
    })
    .await;
}

#[tokio::test]
async fn a_cross_site_post_to_a_server_function_is_refused_and_writes_nothing() {
    each_database(|api| async move {
        let owner = api.sign_in(OWNER).await;
        let quota = || async { api.store.tenant_by_slug("rocketlane").await.unwrap().unwrap().policy_quota };
        let before = quota().await;
        let form = |value: i64| format!("slug=rocketlane&quota={value}");
        for (name, value) in FOREIGN {
            let call = Call::new(Method::POST, "/api/tenants/set_quota", &owner)
                .raw(Some("application/x-www-form-urlencoded"), form(before + 1))
                .header("host", "charter.test")
                .header(name, value);
            let reply = api.send(call).await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{name}: {value}: {}", reply.body);
        }
        assert_eq!(quota().await, before, "the quota did not change");

        let own = Call::new(Method::POST, "/api/tenants/set_quota", &owner)
            .raw(Some("application/x-www-form-urlencoded"), form(before + 1))
            .header("host", "charter.test")
            .header("origin", "http://charter.test");
        let reply = api.send(own).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(quota().await, before + 1);

        // Signing in is a state change too: a forged sign-in form is refused the same way.
        let login = Call::new(Method::POST, "/api/auth/login", &owner)
            .raw(Some("application/x-www-form-urlencoded"), format!("username=owner%40charter.example&password={PASSWORD}"))
            .header("sec-fetch-site", "cross-site");
        assert_eq!(api.send(login).await.status, StatusCode::FORBIDDEN);
    })
    .await;
}
