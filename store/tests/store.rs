#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use charter_store::{NewTenant, NewUser, Owner, Role, SessionRecords, Store, StoreError};
use charter_testkit::each_database;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{ExpiredDeletion, SessionStore};

fn tenant(slug: &str) -> NewTenant {
    NewTenant { slug: slug.into(), name: format!("{slug} Inc"), plan: "enterprise".into(), policy_quota: None }
}

fn user(username: &str, role: Role, tenant_id: Option<&charter_store::TenantId>) -> NewUser {
    NewUser {
        username: username.into(),
        display_name: username.into(),
        password: "correct horse".into(),
        role,
        tenant_id: tenant_id.cloned(),
        approver_roles: vec![],
    }
}

#[tokio::test]
async fn tenants_are_created_listed_and_found() {
    each_database("store", |store: Store| async move {
        let bank = store.create_tenant(tenant("bank")).await.unwrap();
        assert_eq!(bank.policy_quota, 100, "the default quota is 100 policies");
        store.create_tenant(NewTenant { policy_quota: Some(250), ..tenant("clinic") }).await.unwrap();
        store.create_user(user("a@bank", Role::TenantAdmin, Some(&bank.id))).await.unwrap();
        store.create_user(user("m@bank", Role::TenantMember, Some(&bank.id))).await.unwrap();

        let list = store.list_tenants().await.unwrap();
        let slugs: Vec<_> = list.iter().map(|s| s.tenant.slug.as_str()).collect();
        assert_eq!(slugs, ["bank", "clinic"]);
        assert_eq!((list[0].admins, list[0].members), (1, 1));
        assert_eq!(list[1].tenant.policy_quota, 250);

        assert_eq!(store.tenant_by_slug("bank").await.unwrap(), Some(bank.clone()));
        assert_eq!(store.tenant_by_id(&bank.id).await.unwrap(), Some(bank));
        assert_eq!(store.tenant_by_slug("nope").await.unwrap(), None);
        assert_eq!(store.count_tenants().await.unwrap(), 2);
    })
    .await;
}

#[tokio::test]
async fn bad_tenants_are_refused_and_nothing_is_written() {
    each_database("store", |store: Store| async move {
        store.create_tenant(tenant("bank")).await.unwrap();
        let duplicate = store.create_tenant(tenant("bank")).await.unwrap_err();
        assert!(matches!(duplicate, StoreError::Conflict { what: "tenant", .. }), "{duplicate}");
        let bad_slug = store.create_tenant(tenant("Bad Slug")).await.unwrap_err();
        assert!(bad_slug.to_string().contains("`slug`"), "{bad_slug}");
        let bad_quota = store.create_tenant(NewTenant { policy_quota: Some(-1), ..tenant("neg") }).await.unwrap_err();
        assert!(bad_quota.to_string().contains("`policy_quota`"), "{bad_quota}");
        assert_eq!(store.count_tenants().await.unwrap(), 1);
    })
    .await;
}

#[tokio::test]
async fn login_checks_the_argon2_hash_and_hides_who_exists() {
    each_database("store", |store: Store| async move {
        let bank = store.create_tenant(tenant("bank")).await.unwrap();
        let created = store
            .create_user(NewUser { approver_roles: vec!["manager".into()], ..user("Alice@Bank.example", Role::TenantAdmin, Some(&bank.id)) })
            .await
            .unwrap();
        assert_eq!(created.username, "alice@bank.example", "usernames are stored lowercased");

        let found = store.verify_login("ALICE@bank.example", "correct horse").await.unwrap().unwrap();
        assert_eq!(found, created);
        assert_eq!(found.approver_roles, ["manager"]);
        assert_eq!(store.verify_login("alice@bank.example", "wrong horse").await.unwrap(), None);
        assert_eq!(store.verify_login("nobody@bank.example", "correct horse").await.unwrap(), None);

        let stored: String =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1").bind(&created.id).fetch_one(&pool_of(&store).await).await.unwrap();
        assert!(stored.starts_with("$argon2id$"), "stored as an argon2id PHC string: {stored}");
        assert!(!stored.contains("correct horse"));
    })
    .await;
}

#[tokio::test]
async fn users_keep_role_and_tenant_consistent() {
    each_database("store", |store: Store| async move {
        let bank = store.create_tenant(tenant("bank")).await.unwrap();
        let err = store.create_user(user("p@x", Role::PlatformAdmin, Some(&bank.id))).await.unwrap_err();
        assert!(err.to_string().contains("`tenant_id`"), "{err}");
        let err = store.create_user(user("t@x", Role::TenantAdmin, None)).await.unwrap_err();
        assert!(err.to_string().contains("`tenant_id`"), "{err}");
        let err = store.create_user(NewUser { password: "short".into(), ..user("s@x", Role::Support, None) }).await.unwrap_err();
        assert!(err.to_string().contains("`password`"), "{err}");
        store.create_user(user("s@x", Role::Support, None)).await.unwrap();
        let err = store.create_user(user("S@X", Role::Support, None)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict { what: "user", .. }), "{err}");

        store.create_user(user("a@bank", Role::TenantAdmin, Some(&bank.id))).await.unwrap();
        let platform: Vec<_> = store.list_users(&Owner::Platform).await.unwrap().into_iter().map(|u| u.username).collect();
        assert_eq!(platform, ["s@x"]);
        let tenant_users: Vec<_> = store.list_users(&Owner::Tenant(bank.id.clone())).await.unwrap().into_iter().map(|u| u.username).collect();
        assert_eq!(tenant_users, ["a@bank"]);
        let everyone: Vec<_> = store.list_all_users().await.unwrap().into_iter().map(|(u, tenant)| (u.username, tenant)).collect();
        assert_eq!(everyone, [("s@x".to_owned(), None), ("a@bank".to_owned(), Some("bank Inc".to_owned()))]);
    })
    .await;
}

#[tokio::test]
async fn sessions_round_trip_expire_and_delete() {
    each_database("store", |store: Store| async move {
        let sessions = SessionRecords::new(store.clone());
        let mut record = Record {
            id: Id::default(),
            data: [("user_id".to_owned(), serde_json::json!("u-1"))].into_iter().collect(),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        sessions.create(&mut record).await.unwrap();
        let loaded = sessions.load(&record.id).await.unwrap().unwrap();
        assert_eq!(loaded.data, record.data);
        assert_eq!(loaded.expiry_date.unix_timestamp(), record.expiry_date.unix_timestamp());

        record.data.insert("n".into(), serde_json::json!(2));
        sessions.save(&record).await.unwrap();
        assert_eq!(sessions.load(&record.id).await.unwrap().unwrap().data.len(), 2);

        let mut expired = Record { id: Id::default(), data: Default::default(), expiry_date: time::OffsetDateTime::now_utc() - time::Duration::seconds(1) };
        sessions.create(&mut expired).await.unwrap();
        assert!(sessions.load(&expired.id).await.unwrap().is_none(), "an expired session does not load");
        sessions.delete_expired().await.unwrap();
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(&pool_of(&store).await).await.unwrap();
        assert_eq!(left, 1, "only the live session is left after cleanup");

        sessions.delete(&record.id).await.unwrap();
        assert!(sessions.load(&record.id).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    each_database("store", |store: Store| async move {
        store.migrate().await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.count_users().await.unwrap(), 0);
    })
    .await;
}

async fn pool_of(store: &Store) -> sqlx::AnyPool {
    store.pool().clone()
}

#[tokio::test]
async fn a_shared_secret_is_made_once_and_read_by_every_replica() {
    each_database("store", |store: Store| async move {
        let (first, second) = tokio::join!(store.server_secret("sign_in_keys"), store.server_secret("sign_in_keys"));
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(first, second, "two replicas asking at once read the one stored");
        assert_eq!(first.len(), 64, "32 random bytes, hex-encoded: {first}");
        assert_eq!(store.server_secret("sign_in_keys").await.unwrap(), first, "and it stays");
        assert_ne!(store.server_secret("another").await.unwrap(), first, "each name has its own");
    })
    .await;
}
