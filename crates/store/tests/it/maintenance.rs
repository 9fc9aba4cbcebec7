//! Migrations, the crate entry point's migration modes, and singleton duties
//! (`MaintenanceRepository`).

use chrono::Utc;
use provenance_core::AnalysisStatus;
use provenance_store::sqlite::SqliteStore;
use provenance_store::{
    AnalysisRepository, MaintenanceRepository, Migrations, OutboxMessage, PipelineRepository, StoreError, topics,
};

use crate::support::*;

both_backends_fresh!(
    an_empty_database_has_every_migration_pending_and_none_once_applied,
    the_entry_point_refuses_an_unmigrated_database_unless_asked_to_migrate,
);

both_backends!(a_free_singleton_duty_is_granted_again_and_again, the_store_names_its_backend);

fn expected_first_migration(names: &[String]) {
    assert_eq!(names.first().map(String::as_str), Some("0001_init"), "{names:?}");
    for name in names {
        let (version, description) = name.split_once('_').unwrap();
        assert!(version.len() == 4 && version.bytes().all(|b| b.is_ascii_digit()), "{name}");
        assert!(!description.is_empty() && !description.contains(' '), "{name}");
    }
}

async fn an_empty_database_has_every_migration_pending_and_none_once_applied(db: FreshDb) {
    let (store, _) = db.connect(&test_options(4)).await;
    let pending = store.pending_migrations().await.unwrap();
    expected_first_migration(&pending);
    if db.backend == Backend::Sqlite {
        assert_eq!(pending, vec!["0001_init", "0002_heartbeat"]);
    }

    assert_eq!(store.apply_migrations().await.unwrap(), pending);
    assert!(store.pending_migrations().await.unwrap().is_empty());
    assert!(store.apply_migrations().await.unwrap().is_empty(), "a second run applies nothing");
}

async fn the_entry_point_refuses_an_unmigrated_database_unless_asked_to_migrate(db: FreshDb) {
    let options = test_options(4);
    let refused = provenance_store::connect(&db.url, Migrations::Require, &options).await;
    let Err(StoreError::Unmigrated(pending)) = refused else {
        panic!("expected Unmigrated, got {:?}", refused.map(|s| s.backend()));
    };
    expected_first_migration(&pending);
    let message = StoreError::Unmigrated(pending).to_string();
    assert!(message.contains("provenance migrate"), "{message}");

    let store = provenance_store::connect(&db.url, Migrations::Apply, &options).await.unwrap();
    store.ping().await.unwrap();
    let again = provenance_store::connect(&db.url, Migrations::Require, &options).await.unwrap();
    again.ping().await.unwrap();
}

async fn a_free_singleton_duty_is_granted_again_and_again(s: TestStore) {
    for _ in 0..3 {
        let lock = s.try_singleton("scheduler.tick").await.unwrap();
        assert!(lock.is_some());
        drop(lock);
        // The lock goes back in the background (Postgres: the rollback on the pooled connection).
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    if s.backend() == Backend::Sqlite {
        // One process owns the file: every caller is granted the duty.
        let (a, b) = (s.try_singleton("x").await.unwrap(), s.try_singleton("x").await.unwrap());
        assert!(a.is_some() && b.is_some());
    }
}

async fn the_store_names_its_backend(s: TestStore) {
    let expected = match s.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(MaintenanceRepository::backend(&*s.store), expected);
}

/// A database created before heartbeats existed: 0002 adds the column, and an analysis that was
/// running during the upgrade counts its start as its last heartbeat, so it is recovered too.
#[tokio::test]
async fn upgrading_an_sqlite_database_to_heartbeats_keeps_running_jobs_recoverable() {
    let dir = tempfile::tempdir().unwrap();
    let first_only = dir.path().join("migrations");
    std::fs::create_dir(&first_only).unwrap();
    let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    std::fs::copy(migrations.join("0001_init.sql"), first_only.join("0001_init.sql")).unwrap();
    let url = format!("sqlite://{}", dir.path().join("provenance.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(first_only.as_path()).await.unwrap().run(store.pool()).await.unwrap();
    assert_eq!(store.pending_migrations().await.unwrap(), vec!["0002_heartbeat"]);

    let t = tenant(&store).await;
    let running = submitted(&store, &new_analysis(&t, 1, "def456", 1)).await;
    sqlx::query("UPDATE analyses SET status = 'running', started_at = '2020-01-01T00:00:00.000Z' WHERE id = $1")
        .bind(running.id.as_str())
        .execute(store.pool())
        .await
        .unwrap();

    assert_eq!(store.apply_migrations().await.unwrap(), vec!["0002_heartbeat"]);
    let job = |id: &provenance_core::AnalysisId, _: &provenance_core::TenantId| OutboxMessage {
        topic: topics::ANALYSIS_JOBS.into(),
        key: format!("{id}:requeued"),
        payload: Vec::new(),
    };
    assert_eq!(store.requeue_stale(Utc::now(), 10, &job).await.unwrap(), vec![running.id.clone()]);
    assert_eq!(store.get_analysis(&t, &running.id).await.unwrap().unwrap().status, AnalysisStatus::Queued);
}

/// `migrate()` (kept for callers that only want the schema ready) is `apply_migrations`.
#[tokio::test]
async fn sqlite_migrate_is_a_shorthand_for_applying_migrations() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    store.migrate().await.unwrap();
}
