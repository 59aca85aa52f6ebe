//! Console users and login.

use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

use crate::error::{bounded, conflict_on_unique};
use crate::sql::Sql;
use crate::{hash_password, now_ms, verify_password, Owner, Role, Store, StoreError, TenantId, User, UserId};

#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub tenant_id: Option<TenantId>,
    pub approver_roles: Vec<String>,
}

/// The shortest password the store accepts.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Long enough for any passphrase; longer input is refused rather than hashed.
pub const MAX_PASSWORD_LEN: usize = 1024;

const USER_COLUMNS: &str = "id, username, display_name, role, tenant_id, approver_roles, created_at";

/// Written by hand for one column: `approver_roles` is a JSON array in a text column, which the
/// `Any` driver cannot decode as JSON.
impl FromRow<'_, AnyRow> for User {
    fn from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
        let column_error = |index: &str, source: Box<dyn std::error::Error + Send + Sync>| sqlx::Error::ColumnDecode { index: index.to_owned(), source };
        let role = Role::try_from(row.try_get::<String, _>("role")?).map_err(|err| column_error("role", err.into()))?;
        let approver_roles: String = row.try_get("approver_roles")?;
        Ok(User {
            id: row.try_get("id")?,
            username: row.try_get("username")?,
            display_name: row.try_get("display_name")?,
            role,
            tenant_id: row.try_get("tenant_id")?,
            approver_roles: serde_json::from_str(&approver_roles).map_err(|err| column_error("approver_roles", err.into()))?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// A user with the name of its tenant, for the list of every user.
#[derive(FromRow)]
struct UserWithTenant {
    #[sqlx(flatten)]
    user: User,
    tenant_name: Option<String>,
}

/// Usernames are compared case-insensitively, so they are stored lowercased.
fn normalise_username(username: &str) -> String {
    username.trim().to_lowercase()
}

impl Store {
    pub async fn create_user(&self, new: NewUser) -> Result<User, StoreError> {
        let username = normalise_username(&new.username);
        if username.is_empty() || username.len() > 254 || username.chars().any(char::is_whitespace) {
            return Err(StoreError::invalid("username", "must be 1-254 characters without spaces"));
        }
        if new.password.chars().count() < MIN_PASSWORD_LEN {
            return Err(StoreError::invalid("password", format!("must be at least {MIN_PASSWORD_LEN} characters")));
        }
        if new.password.chars().count() > MAX_PASSWORD_LEN {
            return Err(StoreError::invalid("password", format!("must be at most {MAX_PASSWORD_LEN} characters")));
        }
        let display_name = bounded("display_name", &new.display_name, 200)?;
        if new.approver_roles.len() > 20 {
            return Err(StoreError::invalid("approver_roles", "a user holds at most 20 approver roles"));
        }
        for role in &new.approver_roles {
            bounded("approver_roles", role, 100)?;
        }
        if new.role.is_platform_wide() != new.tenant_id.is_none() {
            return Err(StoreError::invalid(
                "tenant_id",
                format!("a `{}` user {}", new.role.as_str(), if new.role.is_platform_wide() { "belongs to no tenant" } else { "must belong to a tenant" }),
            ));
        }
        if let Some(bad) = new.approver_roles.iter().find(|role| role.trim().is_empty()) {
            return Err(StoreError::invalid("approver_roles", format!("`{bad}` is not a role name")));
        }
        let user = User {
            id: UserId::new(uuid::Uuid::now_v7().to_string()),
            username,
            display_name: display_name.to_owned(),
            role: new.role,
            tenant_id: new.tenant_id,
            approver_roles: new.approver_roles,
            created_at: now_ms(),
        };
        let password_hash = hash_password(&new.password).await?;
        let approver_roles = serde_json::to_string(&user.approver_roles).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, role, tenant_id, approver_roles, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&password_hash)
        .bind(user.role.as_str())
        .bind(&user.tenant_id)
        .bind(&approver_roles)
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(|err| conflict_on_unique(err, "user", &user.username))?;
        Ok(user)
    }

    pub async fn user_by_id(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        Ok(sqlx::query_as(&sql).bind(id).fetch_optional(&self.pool).await?)
    }

    /// The owner's users: a tenant's people, or the platform's staff.
    pub async fn list_users(&self, owner: &Owner) -> Result<Vec<User>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT {USER_COLUMNS} FROM users WHERE "));
        sql.owner("tenant_id", owner).push(" ORDER BY username");
        let (text, args) = sql.build()?;
        Ok(sqlx::query_as_with(&text, args).fetch_all(&self.pool).await?)
    }

    /// Every user with the name of its tenant (`None` for platform-wide users): platform-wide
    /// users first, then by tenant name and username.
    pub async fn list_all_users(&self) -> Result<Vec<(User, Option<String>)>, StoreError> {
        let rows: Vec<UserWithTenant> = sqlx::query_as(
            "SELECT u.id, u.username, u.display_name, u.role, u.tenant_id, u.approver_roles, u.created_at, t.name AS tenant_name
             FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id
             ORDER BY CASE WHEN u.tenant_id IS NULL THEN 0 ELSE 1 END, t.name, u.username",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|row| (row.user, row.tenant_name)).collect())
    }

    /// How many platform admins exist: the server refuses to start with none.
    pub async fn count_platform_admins(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'platform_admin'").fetch_one(&self.pool).await?)
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?)
    }

    /// Returns the user when the password is right, `None` otherwise. A missing user and a wrong
    /// password take the same time and give the same answer.
    pub async fn verify_login(&self, username: &str, password: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = $1");
        let row = sqlx::query(&sql).bind(normalise_username(username)).fetch_optional(&self.pool).await?;
        let Some(row) = row else {
            let decoy = self.decoy_hash.get_or_try_init(|| hash_password("decoy password that matches nothing")).await?;
            verify_password(password, decoy).await;
            return Ok(None);
        };
        let stored_hash: String = row.try_get("password_hash")?;
        if verify_password(password, &stored_hash).await {
            Ok(Some(User::from_row(&row)?))
        } else {
            Ok(None)
        }
    }
}
