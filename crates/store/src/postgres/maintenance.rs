//! Migrations and singleton duties (`MaintenanceRepository`): both rely on PostgreSQL advisory
//! locks, so any number of API and worker replicas may call them at once.

use std::collections::HashSet;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use sqlx::migrate::{Migrate, Migrator};

use super::PostgresStore;
use crate::error::StoreResult;
use crate::repository::{MaintenanceRepository, SingletonLock};

/// The migrations of `migrations/postgres`, embedded in the binary.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// `<version>_<description>` as the file is named (`0001_init`).
fn migration_name(m: &sqlx::migrate::Migration) -> String {
    format!("{:04}_{}", m.version, m.description.replace(' ', "_"))
}

fn pending_of(applied: &HashSet<i64>) -> Vec<String> {
    MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
        .map(migration_name)
        .collect()
}

/// Versions recorded as applied in `_sqlx_migrations`; none when the table does not exist yet.
async fn applied_versions(conn: &mut PgConnection) -> StoreResult<HashSet<i64>> {
    let has_table: bool =
        sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL").fetch_one(&mut *conn).await?;
    if !has_table {
        return Ok(HashSet::new());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&mut *conn).await?;
    Ok(versions.into_iter().collect())
}

/// The advisory lock key of a singleton duty: the first 8 bytes of
/// `sha256("provenance.singleton:" + name)`. Stable across releases and PostgreSQL versions
/// (unlike `hashtext`), and namespaced so it does not meet other users of advisory locks.
pub(super) fn singleton_key(name: &str) -> i64 {
    let digest = Sha256::new().chain_update(b"provenance.singleton:").chain_update(name.as_bytes()).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[async_trait]
impl MaintenanceRepository for PostgresStore {
    async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        Ok(pending_of(&applied_versions(&mut conn).await?))
    }

    /// Several processes may start at once: sqlx's migration lock (a session advisory lock on the
    /// database) makes them take turns. It is taken here first, so what this call reports as
    /// applied is what it applied, not what another process did meanwhile.
    async fn apply_migrations(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.pool.acquire().await?;
        let outcome = async {
            conn.lock().await?;
            let pending = pending_of(&applied_versions(&mut conn).await?);
            // Takes the (re-entrant) lock again and releases it once.
            // `run_direct` is `run` without the `Acquire` bound that async_trait's Send check trips on.
            MIGRATOR.run_direct(&mut *conn).await?;
            conn.unlock().await?;
            StoreResult::Ok(pending)
        }
        .await;
        if outcome.is_err() {
            // The session may still hold the lock (or be mid-transaction): never give it back to
            // the pool. Closing the connection releases everything it held.
            conn.close_on_drop();
        }
        outcome
    }

    /// A transaction holding `pg_try_advisory_xact_lock`: dropping the lock rolls it back, which
    /// releases the advisory lock (when the connection goes back to the pool, within
    /// milliseconds). If the process dies, its session ends and the lock goes with it.
    async fn try_singleton(&self, name: &str) -> StoreResult<Option<SingletonLock>> {
        let mut tx = self.pool.begin().await?;
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(singleton_key(name))
            .fetch_one(&mut *tx)
            .await?;
        if taken {
            Ok(Some(SingletonLock::new(tx)))
        } else {
            tx.rollback().await?;
            Ok(None)
        }
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singleton_keys_are_stable_and_distinct() {
        assert_eq!(singleton_key("scheduler"), singleton_key("scheduler"));
        assert_ne!(singleton_key("scheduler"), singleton_key("retention"));
    }

    #[test]
    fn migrations_are_named_like_their_files() {
        let names: Vec<String> = MIGRATOR.iter().map(migration_name).collect();
        assert_eq!(names.first().map(String::as_str), Some("0001_init"));
    }
}
