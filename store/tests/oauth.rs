//! The records of OAuth connections and their lifetimes: a code is redeemed once; approving a
//! client again keeps one connection; expired codes and tokens, and clients nobody connected, are
//! purged while live ones stay; a revoked connection's tokens stop at once; a refresh token is
//! exchanged once. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use charter_store::{
    now_ms, AccessGrant, Actor, NewConnection, NewTenant, NewUser, OAuthClient, OAuthScope, Redemption, Role, ScopeSet, Store, TokenRefusal,
    ACCESS_TOKEN_TTL_MS, REFRESH_TOKEN_TTL_MS,
};
use charter_testkit::each_database;

const REDIRECT: &str = "https://app.example/cb";
const DAY_MS: i64 = 86_400_000;

async fn setup(store: &Store) -> (NewConnection, OAuthClient) {
    let tenant = store.create_tenant(NewTenant { slug: "acme".into(), name: "Acme".into(), plan: "p".into(), policy_quota: None }).await.unwrap();
    let user = store
        .create_user(NewUser {
            username: "admin@acme".into(),
            display_name: "Admin".into(),
            password: "a-long-password".into(),
            role: Role::TenantAdmin,
            tenant_id: Some(tenant.id.clone()),
            approver_roles: Vec::new(),
        })
        .await
        .unwrap();
    let client = store.register_oauth_client("Assistant", &[REDIRECT.to_owned()]).await.unwrap();
    let new = NewConnection {
        tenant_id: tenant.id,
        user_id: user.id,
        client_id: client.id.clone(),
        scopes: ScopeSet::new([OAuthScope::PoliciesRead]),
        resource: "https://charter.example/mcp".into(),
        named_redirect_uri: Some(REDIRECT.into()),
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
    };
    (new, client)
}

async fn grant_of(store: &Store, code: &str) -> AccessGrant {
    match store.redeem_authorization_code(code).await.unwrap() {
        Redemption::Fresh(redeemed) => redeemed.grant,
        other => panic!("a fresh code is redeemed: {other:?}"),
    }
}

#[tokio::test]
async fn codes_tokens_and_connections_live_as_long_as_they_should() {
    each_database("oauth", |store: Store| async move {
        let (new, client) = setup(&store).await;
        let (_, code) = store.approve_connection(&Actor::system(), &new).await.unwrap();
        let Redemption::Fresh(redeemed) = store.redeem_authorization_code(&code).await.unwrap() else { panic!("a fresh code") };
        assert_eq!(redeemed.named_redirect_uri.as_deref(), Some(REDIRECT));
        assert!(redeemed.expires_at > now_ms());
        assert!(matches!(store.redeem_authorization_code("chac_never-issued").await.unwrap(), Redemption::Unknown));
        // A code presented twice: someone else has it, so the connection it made is revoked, audited.
        assert!(matches!(store.redeem_authorization_code(&code).await.unwrap(), Redemption::Replayed), "a code is redeemed once");
        assert!(store.list_connections(&new.tenant_id).await.unwrap().is_empty());
        let revoked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'assistant.revoke' AND actor LIKE 'system (%'")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(revoked, 1);
        let (first, _) = store.approve_connection(&Actor::system(), &new).await.unwrap();

        // Approving again, with other scopes, keeps the one connection.
        let wider = NewConnection { scopes: ScopeSet::new([OAuthScope::PoliciesRead, OAuthScope::Approvals]), ..new.clone() };
        let (second, code) = store.approve_connection(&Actor::system(), &wider).await.unwrap();
        assert_eq!(second.id, first.id);
        assert_eq!(second.scopes.to_string(), "policies:read approvals");
        assert_eq!(store.list_connections(&new.tenant_id).await.unwrap().len(), 1);

        let grant = grant_of(&store, &code).await;
        let tokens = store.issue_tokens(&grant).await.unwrap();
        assert!(tokens.access_token.starts_with("chat_") && tokens.refresh_token.starts_with("chrt_"));
        let verified = store.verify_access_token(&tokens.access_token).await.unwrap().unwrap();
        assert_eq!(verified.connection_id, first.id);
        assert_eq!(verified.scopes, wider.scopes);
        assert!(store.verify_access_token(&tokens.refresh_token).await.unwrap().is_none(), "a refresh token is not an access token");
        assert!(store.list_connections(&new.tenant_id).await.unwrap()[0].last_used_at.is_some(), "its use is noted");

        // Past an hour the access token is purged; the refresh token stays, and is spent once.
        let purged = store.purge_expired_oauth(now_ms() + ACCESS_TOKEN_TTL_MS + 1).await.unwrap();
        assert!(purged >= 1, "{purged}");
        assert!(store.verify_access_token(&tokens.access_token).await.unwrap().is_none());
        // A refresh may ask for fewer scopes, never more; a refused one leaves the token unspent.
        let wider = ScopeSet::new(OAuthScope::ALL);
        assert_eq!(
            store.refresh_tokens(&tokens.refresh_token, client.id.as_str(), Some(&wider)).await.unwrap().err(),
            Some(TokenRefusal::WiderScope(second.scopes.clone()))
        );
        let fewer = ScopeSet::new([OAuthScope::Approvals]);
        let (_, renewed) = store.refresh_tokens(&tokens.refresh_token, client.id.as_str(), Some(&fewer)).await.unwrap().unwrap();
        assert_eq!(renewed.scopes, fewer);
        assert_eq!(store.verify_access_token(&renewed.access_token).await.unwrap().unwrap().scopes, fewer, "the new token carries what was asked");
        assert!(store.verify_access_token(&renewed.access_token).await.unwrap().is_some());
        assert_eq!(store.refresh_tokens(&renewed.refresh_token, "mcp_other", None).await.unwrap().err(), Some(TokenRefusal::Unknown));
        assert_eq!(store.refresh_tokens(&tokens.refresh_token, client.id.as_str(), None).await.unwrap().err(), Some(TokenRefusal::Reused));
        assert!(store.verify_access_token(&renewed.access_token).await.unwrap().is_none(), "a reused refresh token ends the connection");
        assert!(store.list_connections(&new.tenant_id).await.unwrap().is_empty());

        // A new connection, revoked by its tenant: every token stops.
        let (third, code) = store.approve_connection(&Actor::system(), &new).await.unwrap();
        assert_ne!(third.id, first.id, "a revoked connection is not revived");
        let tokens = store.issue_tokens(&grant_of(&store, &code).await).await.unwrap();
        store.revoke_connection(&Actor::system(), &new.tenant_id, &third.id).await.unwrap();
        assert!(store.verify_access_token(&tokens.access_token).await.unwrap().is_none());
        assert_eq!(store.refresh_tokens(&tokens.refresh_token, client.id.as_str(), None).await.unwrap().err(), Some(TokenRefusal::Unknown));

        // Refresh tokens expire after 30 days; clients nobody connected go after a day, others stay.
        let (_, code) = store.approve_connection(&Actor::system(), &new).await.unwrap();
        let tokens = store.issue_tokens(&grant_of(&store, &code).await).await.unwrap();
        let stranger = store.register_oauth_client("Never connected", &[REDIRECT.to_owned()]).await.unwrap();
        store.purge_expired_oauth(now_ms() + 2 * DAY_MS).await.unwrap();
        assert!(store.oauth_client(stranger.id.as_str()).await.unwrap().is_none(), "an unused client is forgotten");
        assert!(store.oauth_client(client.id.as_str()).await.unwrap().is_some(), "a connected client stays");
        assert!(store.refresh_tokens(&tokens.refresh_token, client.id.as_str(), None).await.unwrap().is_ok(), "a refresh token outlives its access token");
        store.purge_expired_oauth(now_ms() + REFRESH_TOKEN_TTL_MS + DAY_MS).await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth_tokens").fetch_one(store.pool()).await.unwrap();
        assert_eq!(left, 0, "every token has expired by then");
    })
    .await;
}
