//! The SQLite store of embedded mode: one file under the data dir, WAL journal, and every
//! repository of `repository.rs` implemented over it. Each submodule holds one repository.

mod access;
mod agents;
mod analyses;
mod governance;
mod maintenance;
mod outbox;
mod pipeline;
mod rows;
mod scheduler;
mod submission;
mod timestamps;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use provenance_core::AnalysisId;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use tokio::sync::Notify;

use crate::error::StoreResult;

/// Connections of a file database: SQLite has one writer at a time, so more connections only
/// help concurrent readers.
const FILE_POOL_SIZE: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite implementation of [`crate::Store`]. Cheap to clone: clones share the pool and the
/// outbox notifier.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Woken after every commit that adds a due outbox row; the embedded queue waits on it.
    outbox_notify: Arc<Notify>,
    /// Ids of analyses this process settled (see `settled_analyses`).
    settled: tokio::sync::broadcast::Sender<AnalysisId>,
}

impl SqliteStore {
    /// Open (creating if missing) the database named by `url`: `sqlite://path/to/file.db`,
    /// `sqlite:file.db`, or `sqlite::memory:` for tests (one connection, so every query sees the
    /// same database). Does not migrate; call [`crate::MaintenanceRepository::apply_migrations`]
    /// (or [`SqliteStore::migrate`]).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .synchronous(SqliteSynchronous::Normal);
        let pool = if in_memory {
            // An in-memory database lives as long as a connection to it: keep exactly one, forever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(options)
                .await?
        } else {
            if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
            SqlitePoolOptions::new()
                .max_connections(FILE_POOL_SIZE)
                .connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .await?
        };
        Ok(Self { pool, outbox_notify: Arc::new(Notify::new()), settled: tokio::sync::broadcast::channel(1024).0 })
    }

    /// Apply the migrations of `migrations/sqlite` that have not run yet (a shorthand for
    /// [`crate::MaintenanceRepository::apply_migrations`] that drops the list of names).
    pub async fn migrate(&self) -> StoreResult<()> {
        crate::MaintenanceRepository::apply_migrations(self).await?;
        Ok(())
    }

    /// The underlying pool (for health checks and tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Close every connection; pending operations finish first.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A write transaction that takes SQLite's write lock up front (`BEGIN IMMEDIATE`). A deferred
    /// transaction that reads and then writes can fail with `SQLITE_BUSY` when another writer
    /// committed in between (the busy timeout cannot help there); taking the lock first makes
    /// concurrent writers simply queue behind each other for up to the busy timeout.
    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    pub(crate) fn announce_settled(&self, id: &AnalysisId) {
        // No receiver is fine: nobody is waiting.
        let _ = self.settled.send(id.clone());
    }

    fn notify_outbox(&self) {
        self.outbox_notify.notify_one();
    }
}
