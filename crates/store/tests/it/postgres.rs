//! What only a shared PostgreSQL database has to get right: several processes (here: several
//! pools on one database) claiming, locking, migrating and recovering at once, bulk submissions,
//! and a pool that survives its connections dying.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use provenance_core::{AnalysisId, AnalysisStatus, TenantId};
use provenance_store::postgres::PostgresStore;
use provenance_store::{ConnectOptions, OutboxMessage, PageRequest, Store, StoreError, topics};

use crate::support::*;

const JOBS: &str = topics::ANALYSIS_JOBS;

postgres_only!(
    two_processes_racing_for_a_singleton_get_exactly_one_lock_until_it_is_dropped,
    twenty_concurrent_claimers_claim_each_of_twenty_rows_exactly_once,
    concurrent_schedulers_requeue_each_stale_analysis_once,
    a_hundred_thousand_line_submission_round_trips,
    the_pool_recovers_when_its_connections_are_killed,
    large_documents_are_lz4_compressed_where_the_server_has_lz4,
);

postgres_only_fresh!(processes_starting_at_once_apply_the_migrations_once);

/// Another process on the same database: a store with a pool of its own.
async fn another_process(s: &TestStore, max_connections: u32) -> Arc<dyn Store> {
    Arc::new(PostgresStore::connect(&s.db.url, &test_options(max_connections)).await.unwrap())
}

async fn two_processes_racing_for_a_singleton_get_exactly_one_lock_until_it_is_dropped(s: TestStore) {
    let (a, b) = (another_process(&s, 2).await, another_process(&s, 2).await);
    let (la, lb) = tokio::join!(a.try_singleton("x"), b.try_singleton("x"));
    let (la, lb) = (la.unwrap(), lb.unwrap());
    assert!(la.is_some() != lb.is_some(), "exactly one of {la:?} and {lb:?}");
    let (holder, other, lock) = if la.is_some() { (a, b, la) } else { (b, a, lb) };

    assert!(other.try_singleton("x").await.unwrap().is_none(), "still held");
    assert!(holder.try_singleton("x").await.unwrap().is_none(), "not re-entrant across transactions");
    let unrelated = other.try_singleton("y").await.unwrap();
    assert!(unrelated.is_some(), "another duty is another lock");
    drop(unrelated);

    drop(lock);
    // The rollback that releases the lock runs as the connection goes back to its pool.
    let deadline = Instant::now() + Duration::from_secs(5);
    let taken = loop {
        if let Some(lock) = other.try_singleton("x").await.unwrap() {
            break lock;
        }
        assert!(Instant::now() < deadline, "the dropped lock was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(holder.try_singleton("x").await.unwrap().is_none());
    drop(taken);
}

async fn twenty_concurrent_claimers_claim_each_of_twenty_rows_exactly_once(s: TestStore) {
    let t = tenant(&s).await;
    let mut expected = HashSet::new();
    for pr in 0..20 {
        expected.insert(submitted(&s, &new_analysis(&t, pr, "def456", 1)).await.id.to_string());
    }
    // Two "processes" with ten connections each, twenty claimers, each claiming until the outbox
    // is empty.
    let processes = [another_process(&s, 10).await, another_process(&s, 10).await];
    let mut claimers = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = processes[i % 2].clone();
        claimers.spawn(async move {
            let mut mine = Vec::new();
            while let Some(row) = store.claim_outbox(JOBS, Duration::from_secs(60)).await.unwrap() {
                mine.push((row.key, row.attempts));
            }
            mine
        });
    }
    let claims: Vec<(String, u32)> = claimers.join_all().await.into_iter().flatten().collect();
    assert_eq!(claims.len(), 20, "{claims:?}");
    assert!(claims.iter().all(|(_, attempts)| *attempts == 1), "{claims:?}");
    let keys: HashSet<String> = claims.into_iter().map(|(key, _)| key).collect();
    assert_eq!(keys, expected);
}

async fn concurrent_schedulers_requeue_each_stale_analysis_once(s: TestStore) {
    let t = tenant(&s).await;
    let long_ago = Utc::now() - chrono::Duration::minutes(10);
    let mut stale = HashSet::new();
    for pr in 0..10 {
        let a = submitted(&s, &new_analysis(&t, pr, "def456", 1)).await;
        s.mark_running(&a.id, long_ago).await.unwrap();
        stale.insert(a.id);
    }
    while let Some(row) = s.claim_outbox(JOBS, Duration::from_secs(60)).await.unwrap() {
        s.complete_outbox(row.id).await.unwrap();
    }

    let job = |id: &AnalysisId, _: &TenantId| OutboxMessage {
        topic: JOBS.into(),
        key: format!("{id}:requeued"),
        payload: Vec::new(),
    };
    let (a, b, c) = (another_process(&s, 2).await, another_process(&s, 2).await, another_process(&s, 2).await);
    let before = Utc::now();
    let (ra, rb, rc) = tokio::join!(
        a.requeue_stale(before, 100, &job),
        b.requeue_stale(before, 100, &job),
        c.requeue_stale(before, 100, &job)
    );
    let all: Vec<AnalysisId> = [ra.unwrap(), rb.unwrap(), rc.unwrap()].into_iter().flatten().collect();
    assert_eq!(all.len(), 10, "each requeued once: {all:?}");
    assert_eq!(all.into_iter().collect::<HashSet<_>>(), stale);
    assert_eq!(s.outbox_depth(JOBS).await.unwrap(), 10);
    let counts = s.count_by_status().await.unwrap();
    assert_eq!(counts, vec![(AnalysisStatus::Queued, 10)]);
}

async fn a_hundred_thousand_line_submission_round_trips(s: TestStore) {
    const LINES: u32 = 100_000;
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", LINES);
    let started = Instant::now();
    let created = submitted(&s, &new).await;
    assert_eq!(created.lines_total, u64::from(LINES));

    let input = s.load_job_input(&new.id).await.unwrap().unwrap();
    assert_eq!(input.lines, new.lines);
    let result = result_for(&input, Utc::now());
    s.complete_analysis(&result).await.unwrap();
    let done = s.get_analysis(&t, &new.id).await.unwrap().unwrap();
    assert_eq!((done.status, done.findings_total), (AnalysisStatus::Completed, u64::from(LINES)));

    // The last page of lines carries the resolved attributions, the last page of findings the
    // last findings.
    let near_end =
        PageRequest::from_query(Some(500), Some(&provenance_store::page::encode_cursor(&(LINES - 11).to_string())))
            .unwrap();
    let lines = s.list_lines(&t, &new.id, &near_end).await.unwrap().unwrap();
    assert_eq!(lines.items, result.lines[(LINES - 10) as usize..]);
    let findings = s.list_findings(&t, &new.id, &near_end).await.unwrap().unwrap();
    assert_eq!(findings.items, result.findings[(LINES - 10) as usize..]);
    assert!(lines.next_cursor.is_none() && findings.next_cursor.is_none());
    eprintln!("100 000 lines submitted, loaded, completed and read back in {:?}", started.elapsed());
}

async fn the_pool_recovers_when_its_connections_are_killed(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 1, "def456", 1)).await;
    let database = s.db.url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string();
    // What a database restart does to the pool: every open connection dies.
    let kill_all = || async {
        let killed = s
            .texts(
                "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                database.as_str(),
            )
            .await;
        assert!(!killed.is_empty());
    };

    // A connection idle for a second or more is tested before use: the next call gets a fresh one.
    kill_all().await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    s.ping().await.unwrap();
    assert_eq!(s.list_api_keys(&t).await.unwrap(), Vec::new());

    // Reused at once, a dead connection fails its call with a connection-level error (the API's
    // 503) and is dropped, so calls work again after at most one failure per pooled connection.
    s.ping().await.unwrap(); // fill the pool again
    kill_all().await;
    let mut failures = 0;
    loop {
        match s.outbox_depth(JOBS).await {
            Ok(depth) => {
                assert_eq!(depth, 1);
                break;
            }
            Err(StoreError::Database(_)) => failures += 1,
            Err(other) => panic!("expected a connection-level error, got {other:?}"),
        }
        assert!(failures <= 8, "more failures than pooled connections");
    }
    assert_eq!(s.list_api_keys(&t).await.unwrap(), Vec::new());
}

async fn processes_starting_at_once_apply_the_migrations_once(db: FreshDb) {
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(db.connect(&test_options(2)).await.0);
    }
    let pending = stores[0].pending_migrations().await.unwrap();
    assert!(!pending.is_empty());
    let mut runs = tokio::task::JoinSet::new();
    for store in stores.clone() {
        runs.spawn(async move { store.apply_migrations().await.unwrap() });
    }
    let mut applied: Vec<Vec<String>> = runs.join_all().await;
    applied.sort();
    assert_eq!(applied, vec![vec![], vec![], vec![], pending], "one process applies, the others find nothing to do");
    for store in &stores {
        assert!(store.pending_migrations().await.unwrap().is_empty());
    }
}

/// An unreachable server fails `connect` within the acquire timeout, as a database error that
/// names where it tried (and never the password). Needs no server.
#[tokio::test]
async fn an_unreachable_database_fails_fast_with_a_clear_error() {
    let options = ConnectOptions { max_connections: 2, acquire_timeout: Duration::from_secs(1) };
    let started = Instant::now();
    let err =
        PostgresStore::connect("postgres://provenance:s3cret@127.0.0.1:1/provenance", &options).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("127.0.0.1:1/provenance"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}

/// Migration 0003 moves the large documents to lz4 when the server supports it (this machine's
/// does: the test first asks the server, so on one without lz4 it checks that pglz stayed).
async fn large_documents_are_lz4_compressed_where_the_server_has_lz4(s: TestStore) {
    let has_lz4 = match &s.raw {
        RawPool::Postgres(pool) => {
            sqlx::query("CREATE TEMP TABLE lz4_probe (x text COMPRESSION lz4)").execute(pool).await.is_ok()
        }
        RawPool::Sqlite(_) => unreachable!("PostgreSQL only"),
    };
    let expected = if has_lz4 { "l" } else { "" };
    for (table, column) in [
        ("analysis_line_chunks", "lines"),
        ("sarif_reports", "sarif"),
        ("bundles", "envelope"),
        ("decisions", "decision"),
        ("analysis_files", "content"),
    ] {
        let sql = format!(
            "SELECT attcompression::text FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = $1"
        );
        assert_eq!(s.texts(&sql, column).await, vec![Some(expected.to_string())], "{table}.{column}");
    }
}
