//! Provenance's adapters to the outside world: the repositories (SQLite today, Postgres next)
//! behind one interface, the transactional outbox and the embedded queue it drives, and the
//! signing keyring on disk.

pub mod error;
pub mod keyring;
pub mod outbox;
pub mod page;
pub mod queue;
pub mod repository;
pub mod sqlite;

pub use error::{StoreError, StoreResult};
pub use outbox::{OutboxMessage, OutboxRow, topics};
pub use page::{Page, PageRequest};
pub use repository::*;

use std::sync::Arc;

/// Open the store named by a database URL (`sqlite://…`), run its migrations, and return it
/// behind the repository interface.
pub async fn connect(database_url: &str) -> StoreResult<Arc<dyn Store>> {
    if database_url.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::connect(database_url).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else {
        Err(StoreError::Unsupported(format!(
            "database URL scheme of {:?} is not supported yet (use sqlite://)",
            database_url.split(':').next().unwrap_or_default()
        )))
    }
}
