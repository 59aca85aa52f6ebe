//! Platform releases: the platform's policies and settings as edited are a draft; publishing one
//! snapshots it as the next numbered release (the policies' versions, whose documents
//! `policy_versions` keeps, and the settings). A release reaches tenants by promotion: to chosen
//! tenants first (canaries), then to all (the general release). A platform admin pins a tenant
//! to any release, which is how one tenant is rolled back alone. Every step is audited with the
//! state before and after, in the transaction that makes it.

use std::collections::BTreeMap;

use charter_policy::PlatformSettings;
use serde_json::json;
use sqlx::AnyConnection;

use crate::audit::{record, Change};
use crate::changes::Invalidation;
use crate::policies::{load_policies, load_settings};
use crate::rollout::{DraftChanges, PinKind, Release, ReleaseChoice, ReleasePin, ReleaseSummary, Rollout, TenantRollout};
use crate::{now_ms, Actor, Owner, Store, StoreError, StoredPolicy, TenantId};

const SUMMARY: &str = "SELECT r.number, r.note, r.published_at, r.published_by, \
     (SELECT COUNT(*) FROM platform_release_policies p WHERE p.release_number = r.number) AS policies FROM platform_releases r";

/// The longest release note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// To whom a release is promoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Promotion {
    /// These tenants run it ahead of the rest (canaries).
    Tenants(Vec<TenantId>),
    /// It becomes the general release, which every tenant without a pin runs.
    All,
}

#[derive(sqlx::FromRow)]
struct RolloutRow {
    tenant_id: TenantId,
    slug: String,
    name: String,
    release_pin: Option<i64>,
    release_pin_kind: Option<String>,
    latest_revision: i64,
    revision_pin: Option<i64>,
    shadow_release: Option<String>,
    shadow_revision: Option<i64>,
    general: i64,
}

impl TryFrom<RolloutRow> for TenantRollout {
    type Error = StoreError;

    fn try_from(row: RolloutRow) -> Result<TenantRollout, StoreError> {
        let release_pin = match (row.release_pin, row.release_pin_kind) {
            (Some(release), Some(kind)) => Some(ReleasePin { release, kind: PinKind::try_from(kind).map_err(|err| StoreError::Corrupt(err.to_string()))? }),
            _ => None,
        };
        Ok(TenantRollout {
            release: release_pin.map_or(row.general, |pin| pin.release),
            tenant_id: row.tenant_id,
            slug: row.slug,
            name: row.name,
            release_pin,
            latest_revision: row.latest_revision,
            revision_pin: row.revision_pin,
            shadow_release: match row.shadow_release {
                Some(text) => Some(ReleaseChoice::parse_stored(&text).ok_or_else(|| StoreError::Corrupt(format!("a shadow release `{text}`")))?),
                None => None,
            },
            shadow_revision: row.shadow_revision,
        })
    }
}

const ROLLOUT_ROWS: &str = "SELECT t.id AS tenant_id, t.slug, t.name, t.release_pin, t.release_pin_kind, t.revision AS latest_revision, \
     t.revision_pin, t.shadow_release, t.shadow_revision, r.general FROM tenants t CROSS JOIN platform_rollout r WHERE r.id = 'platform'";

pub(crate) async fn load_rollout(conn: &mut AnyConnection) -> Result<Rollout, StoreError> {
    let rollout: Option<Rollout> = sqlx::query_as("SELECT latest, general FROM platform_rollout WHERE id = 'platform'").fetch_optional(conn).await?;
    rollout.ok_or_else(|| StoreError::Corrupt("the platform has no releases; the migrations did not finish".to_owned()))
}

/// Which release and revision one tenant runs.
pub(crate) async fn load_tenant_rollout(conn: &mut AnyConnection, tenant_id: &TenantId) -> Result<TenantRollout, StoreError> {
    let row: Option<RolloutRow> = sqlx::query_as(&format!("{ROLLOUT_ROWS} AND t.id = $1")).bind(tenant_id).fetch_optional(conn).await?;
    row.ok_or_else(|| StoreError::NotFound { what: "tenant", id: tenant_id.to_string() })?.try_into()
}

/// The platform policies of release `number`, as published.
pub(crate) async fn release_policies(conn: &mut AnyConnection, number: i64) -> Result<Vec<StoredPolicy>, StoreError> {
    let sql = "SELECT v.policy_id AS id, v.tenant_id, v.scope, v.agent, v.name, v.description, v.version, v.document, \
               v.saved_at AS created_at, v.saved_at AS updated_at, v.saved_by AS updated_by \
               FROM platform_release_policies r JOIN policy_versions v ON v.policy_id = r.policy_id AND v.version = r.version \
               WHERE r.release_number = $1 ORDER BY v.scope, v.agent, v.name";
    Ok(sqlx::query_as(sql).bind(number).fetch_all(conn).await?)
}

/// The settings release `number` was published with; not found when there is no such release.
pub(crate) async fn release_settings(conn: &mut AnyConnection, number: i64) -> Result<PlatformSettings, StoreError> {
    let text: Option<String> = sqlx::query_scalar("SELECT settings FROM platform_releases WHERE number = $1").bind(number).fetch_optional(conn).await?;
    let text = text.ok_or_else(|| StoreError::NotFound { what: "release", id: number.to_string() })?;
    serde_json::from_str(&text).map_err(|err| StoreError::Corrupt(format!("release {number}'s settings: {err}")))
}

/// The platform's settings and policies as tenants run them at release `number`: the release's
/// own, with the tools enabled now (the catalog's switches are an emergency brake, never staged).
pub(crate) async fn platform_at_release(conn: &mut AnyConnection, number: i64) -> Result<(PlatformSettings, Vec<StoredPolicy>), StoreError> {
    let (live, _) = load_settings(&mut *conn).await?;
    let mut settings = release_settings(&mut *conn, number).await?;
    settings.enabled_tools = live.enabled_tools;
    Ok((settings, release_policies(conn, number).await?))
}

fn versions_of(policies: &[StoredPolicy]) -> BTreeMap<String, (String, i64)> {
    policies.iter().map(|policy| (policy.id.to_string(), (policy.name.clone(), policy.version))).collect()
}

/// How the draft differs from release `since`.
async fn compare_draft(conn: &mut AnyConnection, since: i64) -> Result<DraftChanges, StoreError> {
    let (draft_settings, _) = load_settings(&mut *conn).await?;
    let published_settings = release_settings(&mut *conn, since).await?;
    let draft = versions_of(&load_policies(&mut *conn, &Owner::Platform).await?);
    let published = versions_of(&release_policies(&mut *conn, since).await?);
    Ok(changes_between(since, &published, &draft, draft_settings.default != published_settings.default))
}

/// How release `number` differs from release `since`.
async fn compare_releases(conn: &mut AnyConnection, since: i64, number: i64) -> Result<DraftChanges, StoreError> {
    let (old, new) = (release_settings(&mut *conn, since).await?, release_settings(&mut *conn, number).await?);
    let published = versions_of(&release_policies(&mut *conn, since).await?);
    let next = versions_of(&release_policies(&mut *conn, number).await?);
    Ok(changes_between(since, &published, &next, old.default != new.default))
}

fn changes_between(since: i64, published: &BTreeMap<String, (String, i64)>, next: &BTreeMap<String, (String, i64)>, settings_changed: bool) -> DraftChanges {
    let mut changes = DraftChanges { since, settings_changed, ..DraftChanges::default() };
    for (id, (name, version)) in next {
        match published.get(id) {
            None => changes.added.push(name.clone()),
            Some((_, was)) if was != version => changes.changed.push((name.clone(), *was, *version)),
            Some(_) => {}
        }
    }
    changes.removed = published.iter().filter(|(id, _)| !next.contains_key(*id)).map(|(_, (name, _))| name.clone()).collect();
    changes
}

fn release_target(number: i64) -> String {
    format!("release:{number}")
}

/// What the audit log keeps of a tenant's place in the rollout.
fn rollout_json(rollout: &TenantRollout) -> String {
    json!({
        "release": rollout.release,
        "pin": rollout.release_pin.map(|pin| pin.kind.as_str()),
    })
    .to_string()
}

impl Store {
    /// Makes release 1 of the platform's policies and settings as they are, once: at the first
    /// start after releases began (or of a new database). Safe on every start and on every replica.
    pub(crate) async fn ensure_first_release(&self) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let made =
            sqlx::query("INSERT INTO platform_rollout (id, latest, general) VALUES ('platform', 1, 1) ON CONFLICT (id) DO NOTHING").execute(&mut *tx).await?;
        if made.rows_affected() == 1 {
            let (settings, _) = load_settings(&mut tx).await?;
            let settings = serde_json::to_string(&settings).map_err(|err| StoreError::Corrupt(err.to_string()))?;
            sqlx::query("INSERT INTO platform_releases (number, settings, note, published_at, published_by) VALUES (1, $1, $2, $3, 'system')")
                .bind(settings)
                .bind("the platform's policies as they were when releases began")
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO platform_release_policies (release_number, policy_id, version) SELECT 1, id, version FROM policies WHERE tenant_id IS NULL",
            )
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest release and the general one.
    pub async fn rollout(&self) -> Result<Rollout, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_rollout(&mut conn).await
    }

    /// Every release, newest first.
    pub async fn list_releases(&self) -> Result<Vec<ReleaseSummary>, StoreError> {
        Ok(sqlx::query_as(&format!("{SUMMARY} ORDER BY r.number DESC")).fetch_all(&self.pool).await?)
    }

    /// One release with every policy version it holds.
    pub async fn get_release(&self, number: i64) -> Result<Release, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let summary: Option<ReleaseSummary> = sqlx::query_as(&format!("{SUMMARY} WHERE r.number = $1")).bind(number).fetch_optional(&mut *conn).await?;
        let summary = summary.ok_or_else(|| StoreError::NotFound { what: "release", id: number.to_string() })?;
        let settings: String = sqlx::query_scalar("SELECT settings FROM platform_releases WHERE number = $1").bind(number).fetch_one(&mut *conn).await?;
        let policies = release_policies(&mut conn, number).await?.into_iter().map(StoredPolicy::into_version).collect();
        Ok(Release { summary, settings, policies })
    }

    /// How the draft differs from the newest release.
    pub async fn draft_changes(&self) -> Result<DraftChanges, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rollout = load_rollout(&mut conn).await?;
        compare_draft(&mut conn, rollout.latest).await
    }

    /// Publishes the draft as the next release. It runs nowhere yet: promote it. A draft that
    /// holds nothing new is refused, so every release number means a change.
    pub async fn publish_release(&self, actor: &Actor, note: &str) -> Result<ReleaseSummary, StoreError> {
        let note = note.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(StoreError::invalid("note", format!("must be at most {MAX_NOTE_CHARS} characters")));
        }
        let mut tx = self.pool.begin().await?;
        // Taking the number first serialises publishes (a row lock, or SQLite's write lock).
        sqlx::query("UPDATE platform_rollout SET latest = latest + 1 WHERE id = 'platform'").execute(&mut *tx).await?;
        let number = load_rollout(&mut tx).await?.latest;
        let (settings, _) = load_settings(&mut tx).await?;
        let settings = serde_json::to_string(&settings).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let now = now_ms();
        sqlx::query("INSERT INTO platform_releases (number, settings, note, published_at, published_by) VALUES ($1, $2, $3, $4, $5)")
            .bind(number)
            .bind(&settings)
            .bind(note)
            .bind(now)
            .bind(&actor.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO platform_release_policies (release_number, policy_id, version) SELECT $1, id, version FROM policies WHERE tenant_id IS NULL")
            .bind(number)
            .execute(&mut *tx)
            .await?;
        // Compared once copied, so that the audit says exactly what the release holds; an empty
        // change is refused and the transaction, number included, rolled back.
        let changes = compare_releases(&mut tx, number - 1, number).await?;
        if changes.is_empty() {
            return Err(StoreError::invalid("draft", format!("holds nothing new since release {}: change a platform policy or setting first", number - 1)));
        }
        let policies = release_policies(&mut tx, number).await?;
        let after = json!({
            "number": number,
            "note": note,
            "policies": policies.iter().map(|p| (p.name.clone(), p.version)).collect::<BTreeMap<_, _>>(),
            "settings": serde_json::from_str::<serde_json::Value>(&settings).unwrap_or_default(),
            "changes": changes,
        });
        record(
            &mut tx,
            actor,
            Change { tenant_id: None, action: "release.publish", target: &release_target(number), before: None, after: Some(after.to_string()) },
        )
        .await?;
        tx.commit().await?;
        Ok(ReleaseSummary {
            number,
            note: note.to_owned(),
            published_at: now,
            published_by: actor.id.clone(),
            policies: i64::try_from(policies.len()).unwrap_or(0),
        })
    }

    /// Promotes release `number` to chosen tenants (they run it at once, as canaries) or to all
    /// (it becomes the general release; canaries of it or of an earlier release rejoin the general
    /// release; tenants a platform admin pinned stay where they are). Returns the tenants it
    /// moved.
    pub async fn promote_release(&self, actor: &Actor, number: i64, to: &Promotion) -> Result<Vec<TenantRollout>, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE platform_rollout SET general = general WHERE id = 'platform'").execute(&mut *tx).await?;
        release_settings(&mut tx, number).await?;
        let before: Vec<TenantRollout> = match to {
            Promotion::Tenants(tenants) => {
                if tenants.is_empty() {
                    return Err(StoreError::invalid("tenants", "name at least one tenant, or promote to all"));
                }
                let mut rows = Vec::with_capacity(tenants.len());
                for tenant_id in tenants {
                    rows.push(load_tenant_rollout(&mut tx, tenant_id).await?);
                }
                rows
            }
            Promotion::All => {
                let rows: Vec<RolloutRow> = sqlx::query_as(&format!("{ROLLOUT_ROWS} ORDER BY t.slug")).fetch_all(&mut *tx).await?;
                rows.into_iter().map(TenantRollout::try_from).collect::<Result<_, _>>()?
            }
        };
        let mut moved = Vec::new();
        match to {
            Promotion::Tenants(_) => {
                for tenant in before {
                    sqlx::query("UPDATE tenants SET release_pin = $1, release_pin_kind = 'canary' WHERE id = $2")
                        .bind(number)
                        .bind(&tenant.tenant_id)
                        .execute(&mut *tx)
                        .await?;
                    let after = load_tenant_rollout(&mut tx, &tenant.tenant_id).await?;
                    let change = Change {
                        tenant_id: Some(&tenant.tenant_id),
                        action: "release.promote",
                        target: &release_target(number),
                        before: Some(rollout_json(&tenant)),
                        after: Some(rollout_json(&after)),
                    };
                    record(&mut tx, actor, change).await?;
                    moved.push(after);
                }
            }
            Promotion::All => {
                let general_before = load_rollout(&mut tx).await?.general;
                sqlx::query("UPDATE platform_rollout SET general = $1 WHERE id = 'platform'").bind(number).execute(&mut *tx).await?;
                sqlx::query("UPDATE tenants SET release_pin = NULL, release_pin_kind = NULL WHERE release_pin_kind = 'canary' AND release_pin <= $1")
                    .bind(number)
                    .execute(&mut *tx)
                    .await?;
                for tenant in before {
                    let after = load_tenant_rollout(&mut tx, &tenant.tenant_id).await?;
                    if after.release != tenant.release || after.release_pin != tenant.release_pin {
                        // Each tenant's own log says its release changed.
                        let change = Change {
                            tenant_id: Some(&tenant.tenant_id),
                            action: "release.promote",
                            target: &release_target(number),
                            before: Some(rollout_json(&tenant)),
                            after: Some(rollout_json(&after)),
                        };
                        record(&mut tx, actor, change).await?;
                        moved.push(after);
                    }
                }
                let after = json!({ "general": number, "tenants_moved": moved.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>() });
                let change = Change {
                    tenant_id: None,
                    action: "release.promote",
                    target: &release_target(number),
                    before: Some(json!({ "general": general_before }).to_string()),
                    after: Some(after.to_string()),
                };
                record(&mut tx, actor, change).await?;
            }
        }
        self.commit_change(tx, Invalidation::Policies(Owner::Platform)).await?;
        Ok(moved)
    }

    /// Pins a tenant to release `number` (a rollback when it is earlier than the release the tenant
    /// runs), or with `None` lets it follow the general release again.
    pub async fn pin_release(&self, actor: &Actor, tenant_id: &TenantId, number: Option<i64>) -> Result<TenantRollout, StoreError> {
        let mut tx = self.pool.begin().await?;
        let locked = sqlx::query("UPDATE tenants SET release_pin = release_pin WHERE id = $1").bind(tenant_id).execute(&mut *tx).await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "tenant", id: tenant_id.to_string() });
        }
        let before = load_tenant_rollout(&mut tx, tenant_id).await?;
        let action = match number {
            Some(number) => {
                release_settings(&mut tx, number).await?;
                sqlx::query("UPDATE tenants SET release_pin = $1, release_pin_kind = 'pinned' WHERE id = $2")
                    .bind(number)
                    .bind(tenant_id)
                    .execute(&mut *tx)
                    .await?;
                if number < before.release {
                    "release.rollback"
                } else {
                    "release.pin"
                }
            }
            None => {
                sqlx::query("UPDATE tenants SET release_pin = NULL, release_pin_kind = NULL WHERE id = $1").bind(tenant_id).execute(&mut *tx).await?;
                "release.follow"
            }
        };
        let after = load_tenant_rollout(&mut tx, tenant_id).await?;
        let change = Change {
            tenant_id: Some(tenant_id),
            action,
            target: &release_target(after.release),
            before: Some(rollout_json(&before)),
            after: Some(rollout_json(&after)),
        };
        record(&mut tx, actor, change).await?;
        self.commit_change(tx, Invalidation::Policies(Owner::Tenant(tenant_id.clone()))).await?;
        Ok(after)
    }

    /// Which release and revision every tenant runs, by slug.
    pub async fn tenant_rollouts(&self) -> Result<Vec<TenantRollout>, StoreError> {
        let rows: Vec<RolloutRow> = sqlx::query_as(&format!("{ROLLOUT_ROWS} ORDER BY t.slug")).fetch_all(&self.pool).await?;
        rows.into_iter().map(TenantRollout::try_from).collect()
    }

    /// Which release and revision one tenant runs.
    pub async fn tenant_rollout(&self, tenant_id: &TenantId) -> Result<TenantRollout, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_tenant_rollout(&mut conn, tenant_id).await
    }
}

impl Store {
    /// The baselines of the platform release the tenant runs, by name.
    pub async fn baselines_for(&self, tenant_id: &TenantId) -> Result<Vec<crate::rollout::Baseline>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let release = load_tenant_rollout(&mut conn, tenant_id).await?.release;
        let mut baselines = Vec::new();
        for stored in release_policies(&mut conn, release).await? {
            if let Some(name) = crate::to_engine_policy(&stored)?.baseline {
                baselines.push(crate::rollout::Baseline {
                    name,
                    title: stored.name,
                    description: stored.description,
                    version: stored.version,
                    document: stored.document,
                });
            }
        }
        baselines.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(baselines)
    }
}
