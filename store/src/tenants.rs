//! Tenants: the platform's business customers.

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::error::{bounded, conflict_on_unique};
use crate::{now_ms, Actor, AgentKeys, Store, StoreError, Tenant, TenantId, TenantSummary};

/// The default number of policies a tenant may keep; a platform admin may raise it per tenant.
pub const DEFAULT_POLICY_QUOTA: i64 = 100;

#[derive(Clone, Debug)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    pub plan: String,
    pub policy_quota: Option<i64>,
}

pub(crate) const TENANT_COLUMNS: &str = "id, slug, name, plan, policy_quota, time_zone, agent_keys, receipt_retention_days, created_at";

/// A tenant's settings, one column each (the names are fixed here, never the caller's), with the
/// value to set.
enum TenantSetting<'a> {
    TimeZone(&'a str),
    AgentKeys(AgentKeys),
    PolicyQuota(i64),
    ReceiptRetention(i64),
}

impl TenantSetting<'_> {
    /// The column it is kept in, and the audit entry's action.
    fn column_and_action(&self) -> (&'static str, &'static str) {
        match self {
            TenantSetting::TimeZone(_) => ("time_zone", "tenant.time_zone"),
            TenantSetting::AgentKeys(_) => ("agent_keys", "tenant.agent_keys"),
            TenantSetting::PolicyQuota(_) => ("policy_quota", "tenant.quota"),
            TenantSetting::ReceiptRetention(_) => ("receipt_retention_days", "tenant.receipt_retention"),
        }
    }
}

/// A slug is part of console URLs, so it is kept to lowercase letters, digits and dashes.
fn validate_slug(slug: &str) -> Result<(), StoreError> {
    let well_formed = !slug.is_empty()
        && slug.len() <= 63
        && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if well_formed {
        Ok(())
    } else {
        Err(StoreError::invalid("slug", format!("`{slug}` must be 1-63 lowercase letters, digits or inner dashes")))
    }
}

impl Store {
    pub async fn create_tenant(&self, new: NewTenant) -> Result<Tenant, StoreError> {
        validate_slug(&new.slug)?;
        let name = bounded("name", &new.name, 200)?;
        if name.is_empty() {
            return Err(StoreError::invalid("name", "must not be empty"));
        }
        let plan = bounded("plan", &new.plan, 100)?;
        if plan.is_empty() {
            return Err(StoreError::invalid("plan", "must not be empty"));
        }
        let quota = new.policy_quota.unwrap_or(DEFAULT_POLICY_QUOTA);
        if quota < 0 {
            return Err(StoreError::invalid("policy_quota", format!("must be zero or more, got `{quota}`")));
        }
        let tenant = Tenant {
            id: TenantId::new(uuid::Uuid::now_v7().to_string()),
            slug: new.slug.clone(),
            name: name.to_owned(),
            plan: plan.to_owned(),
            policy_quota: quota,
            time_zone: "UTC".to_owned(),
            agent_keys: AgentKeys::Optional,
            receipt_retention_days: crate::retention::DEFAULT_RETENTION_DAYS,
            created_at: now_ms(),
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO tenants (id, slug, name, plan, policy_quota, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&tenant.id)
            .bind(&tenant.slug)
            .bind(&tenant.name)
            .bind(&tenant.plan)
            .bind(tenant.policy_quota)
            .bind(tenant.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|err| conflict_on_unique(err, "tenant", &new.slug))?;
        // Its first revision: no policies yet.
        sqlx::query("INSERT INTO tenant_revisions (tenant_id, number, saved_at, saved_by, change) VALUES ($1, 1, $2, 'system', 'the tenant was created')")
            .bind(&tenant.id)
            .bind(tenant.created_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(tenant)
    }

    pub async fn tenant_by_id(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        tenant_row(&mut conn, id).await
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>, StoreError> {
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1");
        Ok(sqlx::query_as(&sql).bind(slug).fetch_optional(&self.pool).await?)
    }

    /// Every tenant with its user counts, ordered by name.
    pub async fn list_tenants(&self) -> Result<Vec<TenantSummary>, StoreError> {
        let summaries = sqlx::query_as(
            "SELECT t.id, t.slug, t.name, t.plan, t.policy_quota, t.time_zone, t.agent_keys, t.receipt_retention_days, t.created_at,
                    (SELECT COUNT(*) FROM users u WHERE u.tenant_id = t.id AND u.role = 'tenant_admin') AS admins,
                    (SELECT COUNT(*) FROM users u WHERE u.tenant_id = t.id AND u.role = 'tenant_member') AS members
             FROM tenants t ORDER BY t.name, t.id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(summaries)
    }

    /// Sets a tenant's policy quota, with an audit entry. Lowering it below the tenant's current
    /// count is allowed: existing policies stay, new ones are refused until the count is under it.
    pub async fn set_policy_quota(&self, actor: &Actor, tenant_id: &TenantId, quota: i64) -> Result<Tenant, StoreError> {
        if !(0..=100_000).contains(&quota) {
            return Err(StoreError::invalid("policy_quota", format!("must be 0-100000, got `{quota}`")));
        }
        self.set_tenant_setting(actor, tenant_id, TenantSetting::PolicyQuota(quota)).await
    }

    /// Sets how many days the tenant's receipts are kept, with an audit entry. Receipts older than
    /// that go at the next retention run (see [`Store::enforce_retention`]).
    pub async fn set_receipt_retention(&self, actor: &Actor, tenant_id: &TenantId, days: i64) -> Result<Tenant, StoreError> {
        let allowed = crate::retention::MIN_RETENTION_DAYS..=crate::retention::MAX_RETENTION_DAYS;
        if !allowed.contains(&days) {
            return Err(StoreError::invalid("receipt_retention_days", format!("must be {}-{} days, got `{days}`", allowed.start(), allowed.end())));
        }
        self.set_tenant_setting(actor, tenant_id, TenantSetting::ReceiptRetention(days)).await
    }

    /// Sets the time zone a tenant's clock facts are read in (checked by the caller), audited.
    pub async fn set_time_zone(&self, actor: &Actor, tenant_id: &TenantId, time_zone: &str) -> Result<Tenant, StoreError> {
        self.set_tenant_setting(actor, tenant_id, TenantSetting::TimeZone(time_zone)).await
    }

    /// Sets whether the tenant's API keys must be bound to agents, audited.
    pub async fn set_agent_keys(&self, actor: &Actor, tenant_id: &TenantId, agent_keys: AgentKeys) -> Result<Tenant, StoreError> {
        self.set_tenant_setting(actor, tenant_id, TenantSetting::AgentKeys(agent_keys)).await
    }

    async fn set_tenant_setting(&self, actor: &Actor, tenant_id: &TenantId, setting: TenantSetting<'_>) -> Result<Tenant, StoreError> {
        let (column, action) = setting.column_and_action();
        let mut tx = self.pool.begin().await?;
        // Write first, so that PostgreSQL takes the row lock and SQLite its write lock before the read.
        sqlx::query(&format!("UPDATE tenants SET {column} = {column} WHERE id = $1")).bind(tenant_id).execute(&mut *tx).await?;
        let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
        let before: Option<Tenant> = sqlx::query_as(&sql).bind(tenant_id).fetch_optional(&mut *tx).await?;
        let before = before.ok_or_else(|| StoreError::NotFound { what: "tenant", id: tenant_id.to_string() })?;
        let update = format!("UPDATE tenants SET {column} = $1 WHERE id = $2");
        let update = match setting {
            TenantSetting::TimeZone(zone) => sqlx::query(&update).bind(zone),
            TenantSetting::AgentKeys(keys) => sqlx::query(&update).bind(keys.as_str()),
            TenantSetting::PolicyQuota(number) | TenantSetting::ReceiptRetention(number) => sqlx::query(&update).bind(number),
        };
        update.bind(tenant_id).execute(&mut *tx).await?;
        let after: Tenant = sqlx::query_as(&sql).bind(tenant_id).fetch_one(&mut *tx).await?;
        let target = format!("tenant:{}", before.slug);
        record(
            &mut tx,
            actor,
            Change {
                tenant_id: Some(tenant_id),
                action,
                target: &target,
                before: serde_json::to_string(&before).ok(),
                after: serde_json::to_string(&after).ok(),
            },
        )
        .await?;
        self.commit_change(tx, Invalidation::Tenant(tenant_id.clone())).await?;
        Ok(after)
    }

    pub async fn count_tenants(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(&self.pool).await?)
    }
}

/// The tenant `id`, on a connection the caller holds.
pub(crate) async fn tenant_row(conn: &mut sqlx::AnyConnection, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
    let sql = format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1");
    Ok(sqlx::query_as(&sql).bind(id).fetch_optional(conn).await?)
}

#[cfg(test)]
mod tests {
    use super::validate_slug;

    #[test]
    fn slugs() {
        for good in ["acme", "first-bank", "a1", "x"] {
            assert!(validate_slug(good).is_ok(), "{good}");
        }
        for bad in ["", "Acme", "-a", "a-", "a b", "a_b", &"a".repeat(64)] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }
}
