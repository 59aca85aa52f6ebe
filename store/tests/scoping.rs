//! Every store function that takes the id of a tenant's data also takes the tenant, and finds
//! nothing of another tenant's: asked with tenant B for tenant A's ids it answers "not found" and
//! changes nothing. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use charter_policy::{Policy, Verdict};
use charter_store::{Actor, ActorKind, Approval, ApprovalId, ApprovalStatus, NewTenant, Owner, Receipt, ReceiptWriter, Resolution, Store, StoreError};
use charter_testkit::each_database;

fn policy(name: &str) -> Policy {
    Policy::from_yaml(&format!("name: {name}\nscope: tenant\nrules:\n  - tool: docs.read\n    effect: allow\n")).unwrap()
}

/// Every row of the tables a call could change, in one text, to compare before and after.
async fn everything(store: &Store) -> String {
    let mut all = String::new();
    for sql in [
        "SELECT id || ':' || COALESCE(tenant_id, '') || ':' || CAST(version AS TEXT) || ':' || document FROM policies ORDER BY id",
        "SELECT id || ':' || tenant_id || ':' || status || ':' || votes FROM approvals ORDER BY id",
        "SELECT id || ':' || tenant_id || ':' || COALESCE(CAST(revoked_at AS TEXT), 'live') FROM api_keys ORDER BY id",
        "SELECT id || ':' || tenant_id FROM receipts ORDER BY id",
        "SELECT id || ':' || tenant_id || ':' || scopes || ':' || COALESCE(CAST(revoked_at AS TEXT), 'live') FROM oauth_grants ORDER BY id",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(store.pool()).await.unwrap();
        all.push_str(&rows.join("\n"));
        all.push('\n');
    }
    all
}

fn check_not_found(what: &str, result: Result<impl std::fmt::Debug, StoreError>) {
    match result {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("{what}: expected not found, got {other:?}"),
    }
}

#[tokio::test]
async fn another_tenants_ids_are_not_found_and_nothing_changes() {
    each_database("scoping", |store: Store| async move {
        let a = store.create_tenant(NewTenant { slug: "tenant-a".into(), name: "A".into(), plan: "p".into(), policy_quota: None }).await.unwrap();
        let b = store.create_tenant(NewTenant { slug: "tenant-b".into(), name: "B".into(), plan: "p".into(), policy_quota: None }).await.unwrap();
        let (owner_a, owner_b) = (Owner::Tenant(a.id.clone()), Owner::Tenant(b.id.clone()));
        let actor_b = Actor { id: "admin@b".into(), kind: ActorKind::User, tenant_id: Some(b.id.clone()) };

        // A's data: a policy, a key, a receipt with its pending approval.
        let (policy_a, _) = store.create_policy(&Actor::system(), &owner_a, &policy("A's")).await.unwrap();
        let key_a =
            store.create_api_key(&Actor::system(), &a.id, "A's key", charter_store::BoundAgents::default(), charter_store::KeyScopes::all()).await.unwrap();
        let receipt_a = Receipt { verdict: Verdict::RequireApproval, ..charter_testkit::receipt(&a.id, 1) };
        let approval_a = Approval {
            id: ApprovalId::new(uuid::Uuid::now_v7().to_string()),
            tenant_id: a.id.clone(),
            receipt_id: receipt_a.id.clone(),
            agent: None,
            principal: "{}".into(),
            tool: receipt_a.tool.clone(),
            args: "{}".into(),
            args_digest: receipt_a.args_digest.clone(),
            approvers: "[\"manager\"]".into(),
            matched: "[]".into(),
            policy_versions: "{}".into(),
            reason: "test".into(),
            status: ApprovalStatus::Pending,
            requested_at: charter_store::now_ms(),
            expires_at: charter_store::now_ms() + 60_000,
            resolved_at: None,
            resolved_by: None,
            comment: None,
            votes: "[]".into(),
            consumed_at: None,
        };
        ReceiptWriter::start(store.clone()).write(receipt_a.clone(), Some(approval_a.clone()), None).await.unwrap();
        // And an assistant A's admin connected.
        let admin_a = store
            .create_user(charter_store::NewUser {
                username: "admin@a".into(),
                display_name: "A's admin".into(),
                password: "a-long-password".into(),
                role: charter_store::Role::TenantAdmin,
                tenant_id: Some(a.id.clone()),
                approver_roles: Vec::new(),
            })
            .await
            .unwrap();
        let client = store.register_oauth_client("Assistant", &["https://app.example/cb".to_owned()]).await.unwrap();
        let new = charter_store::NewConnection {
            tenant_id: a.id.clone(),
            user_id: admin_a.id,
            client_id: client.id,
            scopes: charter_store::ScopeSet::new(charter_store::OAuthScope::ALL),
            resource: "https://charter.example/mcp".into(),
            named_redirect_uri: Some("https://app.example/cb".into()),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
        };
        let (connection_a, _) = store.approve_connection(&Actor::system(), &new).await.unwrap();
        let before = everything(&store).await;

        // Each function that takes an id, asked with B's tenant for A's id.
        check_not_found("get_policy", store.get_policy(&owner_b, &policy_a.id).await);
        check_not_found("get_policy as the platform", store.get_policy(&Owner::Platform, &policy_a.id).await);
        check_not_found("update_policy", store.update_policy(&actor_b, &owner_b, &policy_a.id, 1, &policy("B's")).await);
        check_not_found("delete_policy", store.delete_policy(&actor_b, &owner_b, &policy_a.id, None).await);
        check_not_found("delete_policy at a version", store.delete_policy(&actor_b, &owner_b, &policy_a.id, Some(1)).await);
        check_not_found("get_receipt", store.get_receipt(&b.id, &receipt_a.id).await);
        check_not_found("get_approval", store.get_approval(&b.id, &approval_a.id).await);
        check_not_found("resolve_approval", store.resolve_approval(&actor_b, &b.id, &approval_a.id, &["manager".to_owned()], Resolution::Approve, None).await);
        check_not_found("revoke_api_key", store.revoke_api_key(&actor_b, &b.id, &key_a.info.id).await);
        check_not_found("revoke_connection", store.revoke_connection(&actor_b, &b.id, &connection_a.id).await);
        assert!(store.connection(&b.id, &connection_a.id).await.unwrap().is_none(), "connection");
        assert!(store.list_connections(&b.id).await.unwrap().is_empty(), "list_connections");
        // An import into B that names A's policy creates B's own; A's stays.
        store.import_policies(&actor_b, &owner_b, &[policy("A's")], true, true).await.unwrap();
        assert!(store.list_policies(&owner_b).await.unwrap().is_empty(), "a dry run writes nothing");

        assert_eq!(everything(&store).await, before, "nothing of A changed");
        // And the same calls with A's own tenant do find them.
        assert_eq!(store.get_policy(&owner_a, &policy_a.id).await.unwrap().id, policy_a.id);
        assert_eq!(store.get_receipt(&a.id, &receipt_a.id).await.unwrap().id, receipt_a.id);
        assert_eq!(store.get_approval(&a.id, &approval_a.id).await.unwrap().id, approval_a.id);
        assert_eq!(store.connection(&a.id, &connection_a.id).await.unwrap().unwrap().id, connection_a.id);
        assert_eq!(store.policy_owner(&policy_a.id).await.unwrap(), owner_a, "platform staff find the owner of any policy");
    })
    .await;
}
