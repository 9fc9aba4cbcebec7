//! Migrations and singleton duties (`MaintenanceRepository`) of the embedded store.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::migrate::{Migrate, Migrator};

use super::SqliteStore;
use crate::error::StoreResult;
use crate::repository::{MaintenanceRepository, SingletonLock};

/// The migrations of `migrations/sqlite`, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// `<version>_<description>` as the file is named (`0002_heartbeat`).
fn migration_name(m: &sqlx::migrate::Migration) -> String {
    format!("{:04}_{}", m.version, m.description.replace(' ', "_"))
}

/// The embedded migrations not in `applied`, in order.
fn pending_of(migrator: &Migrator, applied: &HashSet<i64>) -> Vec<String> {
    migrator
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(migration_name)
        .collect()
}

impl SqliteStore {
    async fn applied_versions(conn: &mut sqlx::SqliteConnection) -> StoreResult<HashSet<i64>> {
        let has_table: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
        )
        .fetch_one(&mut *conn)
        .await?;
        if !has_table {
            return Ok(HashSet::new());
        }
        let versions: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&mut *conn).await?;
        Ok(versions.into_iter().collect())
    }
}

#[async_trait]
impl MaintenanceRepository for SqliteStore {
    async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        let applied = Self::applied_versions(&mut conn).await?;
        Ok(pending_of(&MIGRATOR, &applied))
    }

    async fn apply_migrations(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        // SQLite's migration lock is a no-op (one process owns the file); taken for symmetry.
        conn.lock().await?;
        let pending = pending_of(&MIGRATOR, &Self::applied_versions(&mut conn).await?);
        let ran = MIGRATOR.run_direct(&mut *conn).await;
        let unlocked = conn.unlock().await;
        ran?;
        unlocked?;
        Ok(pending)
    }

    /// One process owns an SQLite file: every duty is granted.
    async fn try_singleton(&self, _name: &str) -> StoreResult<Option<SingletonLock>> {
        Ok(Some(SingletonLock::new(())))
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}
