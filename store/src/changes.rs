//! Change propagation between replicas. Every change that decisions depend on is, on PostgreSQL,
//! announced on the `charter_changes` channel (`pg_notify`) inside its own transaction, so the
//! announcement goes out exactly when the change commits, and once committed it is applied to this
//! process's caches at once; every replica listens (`LISTEN`) and applies what the others announce, so a change
//! is live on every replica within a notification's round trip. A listener that loses its
//! connection forgets every cache once it is back, since it may have missed announcements. Each
//! announcement also bumps a counter (`change_stamp`) and carries its value; every second each
//! replica compares the counter with what it heard, and when it stays behind for two readings (a
//! listener connection that died without saying so) it forgets every cache: stale for at most
//! about two seconds whatever happens to the notifications.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::{ApiKeyId, Backend, Owner, Store, StoreError, TenantId};

/// The PostgreSQL channel replicas announce changes on.
pub const CHANNEL: &str = "charter_changes";

/// What changed, as far as this process's caches are concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalidation {
    /// A tenant's policies, or the platform's (every tenant's compiled set).
    Policies(Owner),
    /// An API key was revoked.
    KeyRevoked(ApiKeyId),
    /// A tenant's own facts (quota, time zone, key rules).
    Tenant(TenantId),
    /// Anything may have changed: announcements were missed.
    Everything,
}

impl Invalidation {
    /// The announcement's text on the channel.
    pub fn payload(&self) -> String {
        match self {
            Invalidation::Policies(Owner::Platform) => "policies:platform".to_owned(),
            Invalidation::Policies(Owner::Tenant(tenant)) => format!("policies:tenant:{tenant}"),
            Invalidation::KeyRevoked(key) => format!("key:{key}"),
            Invalidation::Tenant(tenant) => format!("tenant:{tenant}"),
            Invalidation::Everything => "everything".to_owned(),
        }
    }

    /// An announcement read back; one this version does not know is taken as "everything", so a
    /// newer replica's announcement never leaves this one stale.
    pub fn parse(payload: &str) -> Invalidation {
        let (kind, rest) = payload.split_once(':').unwrap_or((payload, ""));
        match (kind, rest) {
            ("policies", "platform") => Invalidation::Policies(Owner::Platform),
            ("policies", rest) if rest.starts_with("tenant:") => {
                Invalidation::Policies(Owner::Tenant(TenantId::new(rest.trim_start_matches("tenant:").to_owned())))
            }
            ("key", id) if !id.is_empty() => Invalidation::KeyRevoked(ApiKeyId::new(id.to_owned())),
            ("tenant", id) if !id.is_empty() => Invalidation::Tenant(TenantId::new(id.to_owned())),
            _ => Invalidation::Everything,
        }
    }
}

/// This process's side of propagation: who else wants to hear of changes (the core's caches), and
/// whether the listener is connected.
#[derive(Debug)]
pub(crate) struct Propagation {
    pub(crate) subscribers: broadcast::Sender<Invalidation>,
    pub(crate) listening: AtomicBool,
    /// The highest `change_stamp` this replica has heard announced (or caught up to).
    heard: AtomicI64,
    /// When this replica last confirmed it is current (ms since the epoch): its listener connected,
    /// or a reading of `change_stamp` found nothing missed while the listener was connected.
    confirmed_ms: AtomicI64,
    /// This process's mark on its announcements: it applied its own changes when they committed,
    /// so hearing them again would only drop what it compiled since.
    origin: String,
}

impl Default for Propagation {
    fn default() -> Propagation {
        Propagation {
            subscribers: broadcast::channel(1024).0,
            listening: AtomicBool::new(false),
            heard: AtomicI64::new(0),
            confirmed_ms: AtomicI64::new(0),
            origin: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

/// How often a replica reads `change_stamp`.
const STAMP_EVERY: Duration = Duration::from_secs(1);

/// How long a confirmation that this replica is current holds: a reading of `change_stamp` every
/// second may wait up to 3 s for a pooled connection under load, so 5 s passes only when the
/// database or the listener has not answered for that long, and the replica cannot say it is
/// current.
pub const CURRENT_WITHIN_MS: i64 = 5_000;

/// What an announcement says: the stamp it bumped, when it was sent (ms since the epoch, on the
/// sender's clock), which process sent it, and the change.
#[derive(Debug, PartialEq)]
struct Announcement {
    seq: Option<i64>,
    sent_ms: Option<i64>,
    origin: Option<String>,
    change: Invalidation,
}

/// An announcement's text: the stamp it bumped, `@` and the time it was sent, `@` and the sending
/// process's mark, a space, the change.
fn announced(payload: &str) -> Announcement {
    let unstamped = || Announcement { seq: None, sent_ms: None, origin: None, change: Invalidation::parse(payload) };
    let Some((head, change)) = payload.split_once(' ') else {
        return unstamped();
    };
    let mut parts = head.splitn(3, '@');
    let (seq, sent_ms, origin) = (parts.next().unwrap_or(head), parts.next().unwrap_or(""), parts.next());
    match seq.parse::<i64>() {
        Ok(seq) => Announcement {
            seq: Some(seq),
            sent_ms: sent_ms.parse().ok(),
            origin: origin.filter(|origin| !origin.is_empty()).map(str::to_owned),
            change: Invalidation::parse(change),
        },
        Err(_) => unstamped(),
    }
}

pub(crate) type SharedPropagation = Arc<Propagation>;

impl Store {
    /// Commits `tx` with the announcement of `change` inside it, then applies the change to this
    /// process's caches. On PostgreSQL the announcement (`pg_notify`, which bumps `change_stamp`
    /// in the same statement) is part of the transaction: it is delivered when the change commits
    /// and never without it, and a change that cannot be announced is not made at all.
    pub(crate) async fn commit_change(&self, mut tx: sqlx::Transaction<'_, sqlx::Any>, change: Invalidation) -> Result<(), StoreError> {
        if self.backend() == Backend::Postgres {
            sqlx::query(
                "WITH bumped AS (UPDATE change_stamp SET seq = seq + 1 WHERE id = 'changes' RETURNING seq) \
                 SELECT pg_notify($1, (SELECT seq FROM bumped)::text || '@' || $3 || '@' || $4 || ' ' || $2)",
            )
            .bind(CHANNEL)
            .bind(change.payload())
            .bind(crate::now_ms().to_string())
            .bind(&self.propagation.origin)
            .execute(&mut *tx)
            .await?;
        }
        // Applied even when the commit reports an error: it may have committed all the same (a
        // connection lost while reading the answer), and this store skips its own announcement.
        let committed = tx.commit().await;
        self.apply(&change);
        committed?;
        Ok(())
    }

    /// Drops what `change` makes stale here, and tells the subscribers.
    fn apply(&self, change: &Invalidation) {
        match change {
            Invalidation::Policies(owner) => self.policy_sets.invalidate(owner),
            Invalidation::KeyRevoked(key) => self.api_keys.forget(key),
            Invalidation::Tenant(_) => {}
            Invalidation::Everything => {
                self.policy_sets.forget_all();
                self.api_keys.forget_all();
            }
        }
        // Nobody subscribed is not an error.
        let _ = self.propagation.subscribers.send(change.clone());
    }

    /// Every change this process applies, its own and the other replicas', for caches kept above
    /// the store (the core's tenants).
    pub fn subscribe_changes(&self) -> broadcast::Receiver<Invalidation> {
        self.propagation.subscribers.subscribe()
    }

    /// Whether the database answers a trivial query.
    pub async fn database_answers(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Whether this replica hears the others' changes: always on SQLite (one node), on PostgreSQL
    /// while the listener is connected.
    pub fn hears_changes(&self) -> bool {
        self.backend() == Backend::Sqlite || self.propagation.listening.load(Ordering::SeqCst)
    }

    /// Whether this replica has lately confirmed it misses no change (see [`CURRENT_WITHIN_MS`]):
    /// always on SQLite; on PostgreSQL, while the listener is connected and `change_stamp` was read
    /// within the bound. A replica that cannot read the stamp cannot tell a missed announcement.
    pub fn confirmed_current(&self) -> bool {
        if self.backend() == Backend::Sqlite {
            return true;
        }
        let confirmed = self.propagation.confirmed_ms.load(Ordering::SeqCst);
        self.hears_changes() && crate::now_ms() - confirmed <= CURRENT_WITHIN_MS
    }

    /// On PostgreSQL, listens for the other replicas' announcements until the store is closed.
    pub(crate) fn start_listening(&self, url: String) {
        let store = self.clone();
        tokio::spawn(async move {
            while !store.pool.is_closed() {
                let mut listener = match sqlx::postgres::PgListener::connect(&url).await {
                    Ok(listener) => listener,
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot connect the change listener; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                if let Err(err) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %err, "cannot listen for changes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                // Whatever happened while not listening is unknown: start from nothing.
                if let Some(seq) = store.stamp().await {
                    store.propagation.heard.fetch_max(seq, Ordering::SeqCst);
                }
                store.propagation.listening.store(true, Ordering::SeqCst);
                store.apply(&Invalidation::Everything);
                store.propagation.confirmed_ms.store(crate::now_ms(), Ordering::SeqCst);
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            let Announcement { seq, sent_ms, origin, change } = announced(notification.payload());
                            if let Some(seq) = seq {
                                store.propagation.heard.fetch_max(seq, Ordering::SeqCst);
                            }
                            // This process applied its own changes as they committed.
                            if origin.as_deref() != Some(store.propagation.origin.as_str()) {
                                store.apply(&change);
                            }
                            if let Some(sent_ms) = sent_ms {
                                let lag_ms = (crate::now_ms() - sent_ms).max(0);
                                crate::metrics().propagation_seconds.observe(lag_ms as f64 / 1000.0);
                            }
                        }
                        // The connection dropped; take a fresh one above, which forgets everything.
                        Ok(None) | Err(_) => break,
                    }
                    if store.pool.is_closed() {
                        break;
                    }
                }
                store.propagation.listening.store(false, Ordering::SeqCst);
                tracing::warn!("the change listener lost its connection; reconnecting");
            }
        });
        self.start_reading_stamp();
    }

    /// The current `change_stamp`, or `None` when the database cannot say.
    async fn stamp(&self) -> Option<i64> {
        sqlx::query_scalar("SELECT seq FROM change_stamp WHERE id = 'changes'").fetch_one(&self.pool).await.ok()
    }

    /// Every second, reads `change_stamp`; when what the listener heard is still short of the
    /// value read a second earlier, an announcement is overdue by a whole interval and was missed:
    /// forget every cache and catch up.
    fn start_reading_stamp(&self) {
        let store = self.clone();
        tokio::spawn(async move {
            let mut previous: Option<i64> = None;
            while !store.pool.is_closed() {
                tokio::time::sleep(STAMP_EVERY).await;
                let Some(seq) = store.stamp().await else { continue };
                let heard = store.propagation.heard.load(Ordering::SeqCst);
                if let Some(due) = previous.filter(|due| heard < *due) {
                    tracing::warn!(stamp = due, heard, "announcements were missed; forgetting every cache");
                    crate::metrics().changes_missed.inc();
                    store.propagation.heard.fetch_max(due, Ordering::SeqCst);
                    store.apply(&Invalidation::Everything);
                }
                previous = Some(seq);
                if store.propagation.listening.load(Ordering::SeqCst) {
                    store.propagation.confirmed_ms.store(crate::now_ms(), Ordering::SeqCst);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_read_back_as_written() {
        for change in [
            Invalidation::Policies(Owner::Platform),
            Invalidation::Policies(Owner::Tenant(TenantId::new("0192-t".to_owned()))),
            Invalidation::KeyRevoked(ApiKeyId::new("0192-k".to_owned())),
            Invalidation::Tenant(TenantId::new("0192-t".to_owned())),
            Invalidation::Everything,
        ] {
            assert_eq!(Invalidation::parse(&change.payload()), change);
        }
        assert_eq!(Invalidation::parse("something:new"), Invalidation::Everything, "an unknown announcement forgets everything");
        let platform = || Invalidation::Policies(Owner::Platform);
        assert_eq!(
            announced("42@1764800000000@a1b2 policies:platform"),
            Announcement { seq: Some(42), sent_ms: Some(1_764_800_000_000), origin: Some("a1b2".into()), change: platform() }
        );
        assert_eq!(
            announced("42@1764800000000 policies:platform"),
            Announcement { seq: Some(42), sent_ms: Some(1_764_800_000_000), origin: None, change: platform() }
        );
        assert_eq!(announced("42 policies:platform"), Announcement { seq: Some(42), sent_ms: None, origin: None, change: platform() });
        assert_eq!(announced("policies:platform"), Announcement { seq: None, sent_ms: None, origin: None, change: platform() });
    }
}
