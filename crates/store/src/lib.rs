//! Provenance's adapters to the outside world: the repositories (SQLite today, Postgres next)
//! behind one interface, the transactional outbox and the embedded queue it drives, and the
//! signing keyring on disk.

pub mod amqp;
pub mod config;
pub mod error;
pub mod health;
pub mod idempotency_cache;
pub mod keyring;
mod line_chunks;
pub mod outbox;
pub mod page;
pub mod postgres;
pub mod process;
pub mod queue;
pub mod ratelimit;
pub mod relay;
pub mod repository;
mod row_codec;
pub mod sqlite;
pub mod telemetry;
pub mod trace_context;

pub use error::{StoreError, StoreResult};
pub use outbox::{OutboxMessage, OutboxRow, topics};
pub use page::{Page, PageRequest};
pub use repository::*;

use std::sync::Arc;

/// What to do about migrations when opening a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    /// Apply pending migrations (embedded mode, `--migrate`).
    Apply,
    /// Refuse to open an unmigrated schema with [`StoreError::Unmigrated`].
    Require,
}

/// Options of a store connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Largest number of pooled connections (Postgres; SQLite uses a small fixed pool).
    pub max_connections: u32,
    /// How long to wait for a pooled connection before failing the request.
    pub acquire_timeout: std::time::Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 16, acquire_timeout: std::time::Duration::from_secs(5) }
    }
}

/// Open the store named by a database URL (`sqlite://…` or `postgres://…`), apply or check its
/// migrations, and return it behind the repository interface.
pub async fn connect(
    database_url: &str,
    migrations: Migrations,
    options: &ConnectOptions,
) -> StoreResult<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if database_url.starts_with("sqlite:") {
        Arc::new(sqlite::SqliteStore::connect(database_url).await?)
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Arc::new(postgres::PostgresStore::connect(database_url, options).await?)
    } else {
        return Err(StoreError::Unsupported(format!(
            "database URL scheme {:?} (use sqlite:// or postgres://)",
            database_url.split(':').next().unwrap_or_default()
        )));
    };
    match migrations {
        Migrations::Apply => {
            store.apply_migrations().await?;
        }
        Migrations::Require => {
            let pending = store.pending_migrations().await?;
            if !pending.is_empty() {
                return Err(StoreError::Unmigrated(pending));
            }
        }
    }
    Ok(store)
}
