//! Change propagation between replicas. Every committed change that decisions depend on is applied
//! to this process's caches at once and, on PostgreSQL, announced on the `charter_changes` channel
//! (`pg_notify`); every replica listens (`LISTEN`) and applies what the others announce, so a change
//! is live on every replica within a notification's round trip. A listener that loses its
//! connection forgets every cache once it is back, since it may have missed announcements.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::{ApiKeyId, Backend, Owner, Store, TenantId};

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
}

impl Default for Propagation {
    fn default() -> Propagation {
        Propagation { subscribers: broadcast::channel(1024).0, listening: AtomicBool::new(false) }
    }
}

pub(crate) type SharedPropagation = Arc<Propagation>;

impl Store {
    /// Applies a committed change to this process's caches and announces it to the other replicas.
    /// An announcement that cannot be sent is logged: the others then see the change when their
    /// cache entries are next dropped (see ARCHITECTURE.md's known limits).
    pub(crate) async fn changed(&self, change: Invalidation) {
        self.apply(&change);
        if self.backend() == Backend::Postgres {
            let sent = sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(change.payload()).execute(&self.pool).await;
            if let Err(err) = sent {
                tracing::warn!(error = %err, change = %change.payload(), "could not announce a change to the other replicas");
            }
        }
    }

    /// Drops what `change` makes stale here, and tells the subscribers.
    fn apply(&self, change: &Invalidation) {
        match change {
            Invalidation::Policies(owner) => self.policy_sets.invalidate(owner),
            Invalidation::KeyRevoked(key) => self.api_keys.forget(key),
            Invalidation::Tenant(_) => {}
            Invalidation::Everything => {
                self.policy_sets.invalidate(&Owner::Platform);
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
                store.propagation.listening.store(true, Ordering::SeqCst);
                store.apply(&Invalidation::Everything);
                loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => store.apply(&Invalidation::parse(notification.payload())),
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
    }
}
