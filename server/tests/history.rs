//! Policy history over HTTP: versions, one version, a diff in words and lines, and a restore
//! guarded by `If-Match`; another tenant's ids are not found and support cannot restore. Every
//! test runs against SQLite and then PostgreSQL (see `api_support::each_database`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod api_support;

use api_support::*;
use axum::http::{Method, StatusCode};
use serde_json::Value;

const OK: StatusCode = StatusCode::OK;

fn cap(max: u32) -> String {
    format!("name: History e2e\nscope: agent\nagent: history-bot\nrules:\n  - id: pay\n    tool: payments.transfer\n    effect: allow\n    limit: {{ args.amount: {{ max: {max} }} }}\n")
}

#[tokio::test]
async fn versions_diff_and_restore_through_the_api() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let created = api.create_policy(&admin, &cap(1000)).await;
        let id = created["id"].as_str().unwrap().to_owned();
        api.update_policy(&admin, &id, 1, &cap(2000)).await.expect(OK);

        let versions = api.get(&format!("/api/v1/policies/{id}/versions"), &admin).await.expect(OK);
        let listed: Vec<(i64, &str)> = versions.as_array().unwrap().iter().map(|v| (v["version"].as_i64().unwrap(), v["saved_by"].as_str().unwrap())).collect();
        assert_eq!(listed, [(2, BANK_ADMIN), (1, BANK_ADMIN)]);
        let first = api.get(&format!("/api/v1/policies/{id}/versions/1"), &admin).await.expect(OK);
        assert_eq!(first["document"]["rules"][0]["limit"]["args.amount"]["max"].as_f64(), Some(1000.0), "{first}");

        let diff = api.get(&format!("/api/v1/policies/{id}/diff?from=1&to=2"), &admin).await.expect(OK);
        let changes: Vec<&str> = diff["changes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        assert_eq!(changes.len(), 1, "{diff}");
        assert!(changes[0].starts_with("rule 1 (pay): limit") && changes[0].contains("1000") && changes[0].contains("2000"), "{changes:?}");
        let lines = diff["lines"].as_array().unwrap();
        assert!(lines.iter().any(|l| l["sign"] == "-" && l["text"].as_str().unwrap().contains("1000")), "{diff}");
        assert!(lines.iter().any(|l| l["sign"] == "+" && l["text"].as_str().unwrap().contains("2000")), "{diff}");

        // Restoring needs the version the caller read.
        let restore = format!("/api/v1/policies/{id}/versions/1/restore");
        api.send(Call::new(Method::POST, restore.clone(), &admin)).await.expect_error(StatusCode::PRECONDITION_REQUIRED, "version_required");
        api.send(Call::new(Method::POST, restore.clone(), &admin).if_match(1)).await.expect_error(StatusCode::CONFLICT, "version_conflict");
        let restored = api.send(Call::new(Method::POST, restore.clone(), &admin).if_match(2)).await.expect(OK);
        assert_eq!(restored["version"], 3);
        assert_eq!(restored["document"]["rules"][0]["limit"]["args.amount"]["max"].as_f64(), Some(1000.0), "{restored}");
        let entries = api.audit(&admin).await;
        assert!(entries.iter().any(|e| e["action"] == "policy.restore" && e["target"] == format!("policy:{id}").as_str()), "the restore is audited");

        // Bad input names the field; nothing is written.
        api.get(&format!("/api/v1/policies/{id}/versions/one"), &admin).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
        api.get(&format!("/api/v1/policies/{id}/diff?from=1"), &admin).await.expect_error(StatusCode::BAD_REQUEST, "bad_request");
        api.get(&format!("/api/v1/policies/{id}/versions/9"), &admin).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(api.get(&format!("/api/v1/policies/{id}/versions"), &admin).await.expect(OK).as_array().unwrap().len(), 3);
    })
    .await;
}

#[tokio::test]
async fn another_tenants_history_is_not_found_and_support_cannot_restore() {
    each_database(|api| async move {
        let admin = api.sign_in(BANK_ADMIN).await;
        let created = api.create_policy(&admin, &cap(1000)).await;
        let id = created["id"].as_str().unwrap().to_owned();
        let key = api.tenant_key(STARTUP_ADMIN).await;
        let startup = api.sign_in(STARTUP_ADMIN).await;
        for (who, auth) in [("another tenant's admin", &startup), ("another tenant's key", &key)] {
            for path in
                [format!("/api/v1/policies/{id}/versions"), format!("/api/v1/policies/{id}/versions/1"), format!("/api/v1/policies/{id}/diff?from=1&to=1")]
            {
                let reply = api.get(&path, auth).await;
                assert_eq!(reply.status, StatusCode::NOT_FOUND, "{who} {path}: {}", reply.body);
                assert!(!reply.body.contains("History e2e"), "{who} learns nothing: {}", reply.body);
            }
            let planted = api.send(Call::new(Method::POST, format!("/api/v1/policies/{id}/versions/1/restore"), auth).if_match(1)).await;
            assert_eq!(planted.status, StatusCode::NOT_FOUND, "{who}: {}", planted.body);
        }
        api.get(&format!("/api/v1/tenants/meridian-bank/policies/{id}/versions"), &startup).await.expect_error(StatusCode::NOT_FOUND, "not_found");

        // Platform staff read any tenant's history; support cannot restore.
        let owner = api.sign_in(OWNER).await;
        let support = api.sign_in(SUPPORT).await;
        let seen = api.get(&format!("/api/v1/tenants/meridian-bank/policies/{id}/versions"), &support).await.expect(OK);
        assert_eq!(seen.as_array().unwrap().len(), 1);
        let restore = format!("/api/v1/tenants/meridian-bank/policies/{id}/versions/1/restore");
        api.send(Call::new(Method::POST, restore.clone(), &support).if_match(1)).await.expect_error(StatusCode::FORBIDDEN, "forbidden");
        let by_owner = api.send(Call::new(Method::POST, restore, &owner).if_match(1)).await.expect(OK);
        assert_eq!(by_owner["version"], 2);

        // The platform's own policies have their history under /platform.
        let platform = api.create_platform_policy(&owner, "name: History guard\nscope: platform\nrules:\n  - tool: history.nothing\n    effect: deny\n").await;
        let pid = platform["id"].as_str().unwrap();
        let versions: Value = api.get(&format!("/api/v1/platform/policies/{pid}/versions"), &owner).await.expect(OK);
        assert_eq!(versions.as_array().unwrap().len(), 1);
        api.get(&format!("/api/v1/platform/policies/{pid}/versions"), &admin).await.expect_error(StatusCode::NOT_FOUND, "not_found");
        api.get(&format!("/api/v1/policies/{pid}/versions"), &admin).await.expect_error(StatusCode::NOT_FOUND, "not_found");
    })
    .await;
}
