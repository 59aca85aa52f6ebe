//! Connecting, migrating and the handle every query goes through.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{install_default_drivers, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::OnceCell;

use crate::api_keys::SharedKeyCache;
use crate::changes::SharedPropagation;
use crate::heavy::{cores, HeavyWork};
use crate::policy_sets::PolicySets;
use crate::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The handle to Charter's database. Cheap to clone: clones share one connection pool.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// A hash of a random password, verified against when a login names no user, so that a wrong
    /// username costs as much time as a wrong password and timing does not reveal who exists.
    pub(crate) decoy_hash: Arc<OnceCell<String>>,
    /// Compiled policy sets per tenant, shared by every clone of the store.
    pub(crate) policy_sets: Arc<PolicySets>,
    /// Recently verified API keys, so a decision does not hit the database to authenticate.
    pub(crate) api_keys: SharedKeyCache,
    /// Telling the other replicas of changes, and hearing theirs (see `changes.rs`).
    pub(crate) propagation: SharedPropagation,
    /// The database file, for SQLite: the receipt writer opens its own native connection to it.
    sqlite_path: Option<Arc<PathBuf>>,
    /// Reading documents that callers submit (policies, imports): one core fewer than the
    /// machine has, so that decisions always keep a core however many documents arrive at once.
    documents: HeavyWork,
    /// Compiling tenants' stored policy sets, which decisions wait for.
    pub(crate) compiles: HeavyWork,
}

/// Milliseconds since the Unix epoch: the one time format stored, identical on both databases.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

impl Store {
    /// Opens the database named by `url` and brings its schema up to date.
    ///
    /// `sqlite://path/to/file.db` creates the file and its folder when missing;
    /// `postgres://user@host:port/db` expects the database to exist.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::invalid("database_url", format!("must start with `sqlite:` or `postgres:`, got `{}`", redact(url))));
        };
        let (url, sqlite_path) = match backend {
            Backend::Sqlite => {
                let (url, path) = prepare_sqlite_url(url)?;
                (url, Some(Arc::new(path)))
            }
            Backend::Postgres => (url.to_owned(), None),
        };
        let pool = pool_options(backend).connect(&url).await?;
        let store = Store {
            pool,
            backend,
            decoy_hash: Arc::new(OnceCell::new()),
            policy_sets: Arc::default(),
            api_keys: Arc::default(),
            propagation: Arc::default(),
            sqlite_path,
            documents: HeavyWork::new(cores().saturating_sub(1)),
            compiles: HeavyWork::new(cores()),
        };
        store.migrate().await?;
        match backend {
            Backend::Sqlite => {
                tokio::spawn(checkpoint_wal(store.pool.clone()));
            }
            // Replicas share PostgreSQL: hear the others' changes for as long as the store is open.
            Backend::Postgres => store.start_listening(url.clone()),
        }
        Ok(store)
    }

    /// The connection pool, for crates that add their own queries and for tests.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The lane for reading documents that callers submit (see [`HeavyWork`]).
    pub fn documents(&self) -> &HeavyWork {
        &self.documents
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite database file; `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite_path.as_deref().map(PathBuf::as_path)
    }

    /// Applies every migration not yet applied. Safe to call on every start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        if self.backend == Backend::Postgres {
            self.partition_receipts().await?;
            self.make_partitions_ahead(now_ms()).await?;
        }
        self.fill_tool_index().await?;
        self.ensure_first_release().await
    }

    /// Fills `policies.tool_index` for rows written before that column existed.
    async fn fill_tool_index(&self) -> Result<(), StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT id, document FROM policies WHERE tool_index = ''").fetch_all(&self.pool).await?;
        for (id, document) in rows {
            let policy = charter_policy::Policy::from_stored_json(&document).map_err(|err| StoreError::Corrupt(format!("policy `{id}`: {err}")))?;
            sqlx::query("UPDATE policies SET tool_index = $1 WHERE id = $2")
                .bind(crate::policy_search::tool_index(&policy))
                .bind(&id)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Closes the pool; used by tests before dropping a throwaway database.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Moves the SQLite write-ahead log into the database file once a second, off the decision path.
/// Passive checkpoints never wait for readers or writers. The task ends when the pool is closed.
async fn checkpoint_wal(pool: AnyPool) {
    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    loop {
        every_second.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %err, "WAL checkpoint failed");
        }
    }
}

fn pool_options(backend: Backend) -> AnyPoolOptions {
    let options = AnyPoolOptions::new();
    match backend {
        // SQLite serialises writers anyway; WAL lets readers go on while one writes, and the busy
        // timeout makes a second writer wait instead of failing with `database is locked`.
        Backend::Sqlite => options.max_connections(8).acquire_timeout(Duration::from_secs(10)).after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA busy_timeout = 5000").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                // FULL: every commit is on disk before it returns, which is what "a decision is
                // acknowledged only once its receipt is durable" means. Group commit pays the
                // fsync once per batch of receipts, not once per decision.
                conn.execute("PRAGMA synchronous = FULL").await?;
                // Checkpoints fsync the database file. Left to commits, one lands on a decision's
                // receipt every few thousand writes and stalls it; a background task checkpoints
                // instead (see `Store::connect`).
                conn.execute("PRAGMA wal_autocheckpoint = 0").await?;
                Ok(())
            })
        }),
        // A PostgreSQL that does not answer within 3 s is down or restarting: a decision answers
        // 503 then rather than keep its caller waiting (see `StoreError::is_unreachable`).
        Backend::Postgres => options.max_connections(16).acquire_timeout(Duration::from_secs(3)),
    }
}

/// Makes sure the SQLite file can be created: its folder exists and the URL asks for create mode.
/// Returns the URL to connect with and the file's path.
fn prepare_sqlite_url(url: &str) -> Result<(String, PathBuf), StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.starts_with(":memory:") {
        return Err(StoreError::invalid("database_url", "must name a file: an in-memory SQLite database is not shared between connections"));
    }
    if let Some(parent) = Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok((format!("sqlite://{path}?{query}"), PathBuf::from(path)))
}

/// Hides a password in a URL before it appears in an error message.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://***{}", &url[..scheme_end], &url[at..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_gain_create_mode_and_keep_their_path() {
        let dir = std::env::temp_dir().join(format!("charter-url-{}", std::process::id()));
        let file = dir.join("x.db");
        let url = format!("sqlite://{}", file.display());
        assert_eq!(prepare_sqlite_url(&url).ok(), Some((format!("sqlite://{}?mode=rwc", file.display()), file.clone())));
        assert!(dir.is_dir(), "the folder of the database file is created");
        let url = format!("sqlite://{}?mode=ro", file.display());
        assert_eq!(prepare_sqlite_url(&url).ok(), Some((url, file)));
        assert!(prepare_sqlite_url("sqlite::memory:").is_err());
    }

    #[test]
    fn redaction_hides_credentials() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://***@h/db");
        assert_eq!(redact("mysql://h/db"), "mysql://h/db");
    }
}
