//! Migrations, the crate entry point's migration modes, and singleton duties
//! (`MaintenanceRepository`).

use provenance_store::sqlite::SqliteStore;
use provenance_store::{MaintenanceRepository, Migrations, StoreError};

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
        assert_eq!(
            pending,
            vec![
                "0001_init",
                "0002_heartbeat",
                "0003_line_chunks",
                "0004_agent_registry",
                "0005_governance",
                "0006_webhooks",
                "0007_scheduler",
                "0008_outbox_trace"
            ]
        );
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

/// `migrate()` (kept for callers that only want the schema ready) is `apply_migrations`.
#[tokio::test]
async fn sqlite_migrate_is_a_shorthand_for_applying_migrations() {
    let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    assert!(store.pending_migrations().await.unwrap().is_empty());
    store.migrate().await.unwrap();
}
