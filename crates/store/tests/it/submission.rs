use provenance_core::{AnalysisStatus, TenantId};
use provenance_store::{
    AnalysisFilter, AnalysisRepository, ConnectOptions, Migrations, PageRequest, StoreError, Submitted, topics,
};

use crate::support::*;

both_backends!(
    a_submitted_analysis_reads_back_queued_with_its_lines_and_a_job,
    another_tenant_sees_nothing_of_an_analysis,
    resubmitting_the_same_inputs_returns_the_existing_analysis_as_deduplicated,
    the_same_inputs_at_another_head_sha_are_a_new_analysis,
    the_same_idempotency_key_and_request_replays_the_first_analysis,
    the_same_idempotency_key_with_another_request_is_refused_and_writes_nothing,
    an_idempotency_key_is_scoped_to_its_tenant,
    an_idempotency_key_older_than_a_day_is_forgotten,
    a_key_first_answered_as_deduplicated_answers_the_same_when_replayed,
    concurrent_submissions_of_the_same_inputs_store_one_analysis,
    many_concurrent_submissions_neither_deadlock_nor_fail,
    a_large_submission_keeps_every_line_in_submission_order,
    submitting_for_a_tenant_that_does_not_exist_fails_and_writes_nothing,
    many_concurrent_identical_submissions_store_one_analysis_and_one_job,
    concurrent_retries_with_one_idempotency_key_replay_the_first,
    concurrent_requests_reusing_an_idempotency_key_are_refused_but_one,
);

async fn analyses_of(store: &(impl AsStore + ?Sized), tenant: &TenantId) -> usize {
    store
        .as_store()
        .list_analyses(tenant, &AnalysisFilter::default(), &PageRequest::first(500))
        .await
        .unwrap()
        .items
        .len()
}

async fn a_submitted_analysis_reads_back_queued_with_its_lines_and_a_job(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 3);
    let created = submitted(&s, &new).await;

    assert_eq!(created.id, new.id);
    assert_eq!(created.status, AnalysisStatus::Queued);
    assert_eq!(created.lines_total, 3);
    assert_eq!(created.findings_total, 0);
    assert_eq!(created.created_at, millis(new.created_at));
    assert_eq!(created.metadata, new.metadata);
    assert_eq!(s.get_analysis(&t, &new.id).await.unwrap(), Some(created));
    let lines = s.list_lines(&t, &new.id, &PageRequest::first(10)).await.unwrap().unwrap();
    assert_eq!(lines.items, new.lines);
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 1);
}

async fn another_tenant_sees_nothing_of_an_analysis(s: TestStore) {
    let (owner, other) = (tenant(&s).await, tenant(&s).await);
    let new = new_analysis(&owner, 7, "def456", 2);
    submitted(&s, &new).await;

    assert_eq!(s.get_analysis(&other, &new.id).await.unwrap(), None);
    assert_eq!(s.list_lines(&other, &new.id, &PageRequest::first(10)).await.unwrap(), None);
    assert_eq!(s.list_findings(&other, &new.id, &PageRequest::first(10)).await.unwrap(), None);
    assert_eq!(s.get_decision(&other, &new.id).await.unwrap(), None);
    assert_eq!(analyses_of(&s, &other).await, 0);
}

async fn resubmitting_the_same_inputs_returns_the_existing_analysis_as_deduplicated(s: TestStore) {
    let t = tenant(&s).await;
    let first = new_analysis(&t, 7, "def456", 2);
    let created = submitted(&s, &first).await;
    let again = new_analysis(&t, 7, "def456", 2);

    let answer = s.submit_analysis(&again, None, &job_for(&again)).await.unwrap();
    assert_eq!(answer, Submitted::Deduplicated(created));
    assert_eq!(analyses_of(&s, &t).await, 1);
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 1);
}

async fn the_same_inputs_at_another_head_sha_are_a_new_analysis(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 7, "def456", 2)).await;
    let mut moved = new_analysis(&t, 7, "def456", 2);
    moved.head_sha = provenance_core::CommitSha::parse("fff000").unwrap();
    submitted(&s, &moved).await;
    assert_eq!(analyses_of(&s, &t).await, 2);
}

async fn the_same_idempotency_key_and_request_replays_the_first_analysis(s: TestStore) {
    let t = tenant(&s).await;
    let key = idempotency("retry-1", "body");
    let first = new_analysis(&t, 7, "def456", 2);
    let Submitted::Created(created) = s.submit_analysis(&first, Some(&key), &job_for(&first)).await.unwrap() else {
        panic!("first submission should create");
    };
    // A client retry carries the same body, which the API turns into a fresh id.
    let retry = new_analysis(&t, 7, "def456", 2);
    assert_eq!(s.submit_analysis(&retry, Some(&key), &job_for(&retry)).await.unwrap(), Submitted::Replayed(created));
    assert_eq!(analyses_of(&s, &t).await, 1);
}

async fn the_same_idempotency_key_with_another_request_is_refused_and_writes_nothing(s: TestStore) {
    let t = tenant(&s).await;
    let first = new_analysis(&t, 7, "def456", 2);
    s.submit_analysis(&first, Some(&idempotency("k", "body one")), &job_for(&first)).await.unwrap();

    let other = new_analysis(&t, 8, "abcdef", 5);
    let err = s.submit_analysis(&other, Some(&idempotency("k", "body two")), &job_for(&other)).await.unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch), "{err:?}");
    assert_eq!(analyses_of(&s, &t).await, 1);
    assert_eq!(s.get_analysis(&t, &other.id).await.unwrap(), None);
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 1);
}

async fn an_idempotency_key_is_scoped_to_its_tenant(s: TestStore) {
    let (a, b) = (tenant(&s).await, tenant(&s).await);
    let key = idempotency("shared", "body");
    let for_a = new_analysis(&a, 7, "def456", 1);
    s.submit_analysis(&for_a, Some(&key), &job_for(&for_a)).await.unwrap();
    let for_b = new_analysis(&b, 9, "def456", 1);
    let answer = s.submit_analysis(&for_b, Some(&idempotency("shared", "other body")), &job_for(&for_b)).await;
    assert!(matches!(answer, Ok(Submitted::Created(_))), "{answer:?}");
}

async fn an_idempotency_key_older_than_a_day_is_forgotten(s: TestStore) {
    let t = tenant(&s).await;
    let first = new_analysis(&t, 7, "def456", 1);
    s.submit_analysis(&first, Some(&idempotency("k", "body one")), &job_for(&first)).await.unwrap();
    s.execute("UPDATE idempotency_keys SET created_at = '2000-01-01T00:00:00.000Z'").await;

    let later = new_analysis(&t, 8, "abcdef", 1);
    let answer = s.submit_analysis(&later, Some(&idempotency("k", "body two")), &job_for(&later)).await.unwrap();
    assert!(matches!(answer, Submitted::Created(ref a) if a.id == later.id), "{answer:?}");
    // …and the key now belongs to the new request.
    let again = new_analysis(&t, 8, "abcdef", 1);
    let replay = s.submit_analysis(&again, Some(&idempotency("k", "body two")), &job_for(&again)).await.unwrap();
    assert!(matches!(replay, Submitted::Replayed(ref a) if a.id == later.id), "{replay:?}");
}

async fn a_key_first_answered_as_deduplicated_answers_the_same_when_replayed(s: TestStore) {
    let t = tenant(&s).await;
    let original = submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    let key = idempotency("k", "body");
    for _ in 0..2 {
        let dup = new_analysis(&t, 7, "def456", 1);
        let answer = s.submit_analysis(&dup, Some(&key), &job_for(&dup)).await.unwrap();
        assert_eq!(answer, Submitted::Deduplicated(original.clone()));
    }
}

async fn concurrent_submissions_of_the_same_inputs_store_one_analysis(s: TestStore) {
    let t = tenant(&s).await;
    let (a, b) = (new_analysis(&t, 7, "def456", 50), new_analysis(&t, 7, "def456", 50));
    let (ja, jb) = (job_for(&a), job_for(&b));
    let (ra, rb) = tokio::join!(s.submit_analysis(&a, None, &ja), s.submit_analysis(&b, None, &jb));
    let answers = [ra.unwrap(), rb.unwrap()];
    let created = answers.iter().filter(|r| matches!(r, Submitted::Created(_))).count();
    let deduplicated = answers.iter().filter(|r| matches!(r, Submitted::Deduplicated(_))).count();
    assert_eq!((created, deduplicated), (1, 1));
    assert_eq!(analyses_of(&s, &t).await, 1);
}

async fn many_concurrent_submissions_neither_deadlock_nor_fail(s: TestStore) {
    let t = tenant(&s).await;
    let mut tasks = tokio::task::JoinSet::new();
    for pr in 0..16 {
        let (store, t) = (s.as_dyn(), t.clone());
        tasks.spawn(async move {
            let new = new_analysis(&t, pr, "def456", 20);
            store.submit_analysis(&new, None, &job_for(&new)).await
        });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(matches!(done.unwrap(), Ok(Submitted::Created(_))));
    }
    assert_eq!(analyses_of(&s, &t).await, 16);
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 16);
}

async fn a_large_submission_keeps_every_line_in_submission_order(s: TestStore) {
    let t = tenant(&s).await;
    // More lines than fit in one multi-row INSERT.
    let new = new_analysis(&t, 7, "def456", 6_000);
    submitted(&s, &new).await;
    let mut seen = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let p = s.list_lines(&t, &new.id, &page).await.unwrap().unwrap();
        seen.extend(p.items.into_iter().map(|l| l.line_number));
        let Some(cursor) = p.next_cursor else { break };
        page = PageRequest::from_query(Some(500), Some(&cursor)).unwrap();
    }
    assert_eq!(seen, (1..=6_000).collect::<Vec<u32>>());
}

async fn submitting_for_a_tenant_that_does_not_exist_fails_and_writes_nothing(s: TestStore) {
    let ghost = TenantId::generate();
    let new = new_analysis(&ghost, 7, "def456", 1);
    assert!(s.submit_analysis(&new, None, &job_for(&new)).await.is_err());
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 0);
}

#[tokio::test]
async fn an_in_memory_store_serves_every_query_from_one_database() {
    let s = provenance_store::sqlite::SqliteStore::connect("sqlite::memory:").await.unwrap();
    s.migrate().await.unwrap();
    let t = tenant(&s).await;
    let (a, b) = (new_analysis(&t, 1, "def456", 2), new_analysis(&t, 2, "def456", 2));
    let (ja, jb) = (job_for(&a), job_for(&b));
    let (ra, rb) = tokio::join!(s.submit_analysis(&a, None, &ja), s.submit_analysis(&b, None, &jb));
    assert!(ra.is_ok() && rb.is_ok());
    assert_eq!(analyses_of(&s, &t).await, 2);
}

#[tokio::test]
async fn the_store_connects_through_the_crate_entry_point_and_creates_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/data/provenance.db").display());
    let options = ConnectOptions::default();
    let store = provenance_store::connect(&url, Migrations::Apply, &options).await.unwrap();
    store.ping().await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    assert!(dir.path().join("nested/data/provenance.db").exists());
    let other = provenance_store::connect("mysql://x", Migrations::Apply, &options).await;
    assert!(matches!(other, Err(StoreError::Unsupported(_))));
}

/// Eight submissions of the same inputs at once (each with its own id, as the API makes them).
async fn many_concurrent_identical_submissions_store_one_analysis_and_one_job(s: TestStore) {
    let t = tenant(&s).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (store, t) = (s.as_dyn(), t.clone());
        tasks.spawn(async move {
            let new = new_analysis(&t, 7, "def456", 200);
            store.submit_analysis(&new, None, &job_for(&new)).await.unwrap()
        });
    }
    let answers = tasks.join_all().await;
    let created: Vec<_> =
        answers.iter().filter_map(|a| if let Submitted::Created(a) = a { Some(a) } else { None }).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for answer in &answers {
        match answer {
            Submitted::Created(_) => {}
            Submitted::Deduplicated(a) => assert_eq!(a, created[0]),
            Submitted::Replayed(_) => panic!("no key was given: {answer:?}"),
        }
    }
    assert_eq!(analyses_of(&s, &t).await, 1);
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 1);
    let lines = s.list_lines(&t, &created[0].id, &PageRequest::first(500)).await.unwrap().unwrap();
    assert_eq!(lines.items.len(), 200);
}

/// A client retrying on a timeout: the same key and body, several times at once.
async fn concurrent_retries_with_one_idempotency_key_replay_the_first(s: TestStore) {
    let t = tenant(&s).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let (store, t) = (s.as_dyn(), t.clone());
        tasks.spawn(async move {
            let new = new_analysis(&t, 7, "def456", 20);
            store.submit_analysis(&new, Some(&idempotency("retry-1", "body")), &job_for(&new)).await.unwrap()
        });
    }
    let answers = tasks.join_all().await;
    let created: Vec<_> =
        answers.iter().filter_map(|a| if let Submitted::Created(a) = a { Some(a) } else { None }).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    for answer in &answers {
        match answer {
            Submitted::Created(_) => {}
            Submitted::Replayed(a) => assert_eq!(a, created[0]),
            Submitted::Deduplicated(_) => panic!("the key was seen first: {answer:?}"),
        }
    }
    assert_eq!(analyses_of(&s, &t).await, 1);
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 1);
}

/// One key reused at once for different bodies: one wins, the others are refused and write
/// nothing.
async fn concurrent_requests_reusing_an_idempotency_key_are_refused_but_one(s: TestStore) {
    let t = tenant(&s).await;
    let mut tasks = tokio::task::JoinSet::new();
    for pr in 1..=6 {
        let (store, t) = (s.as_dyn(), t.clone());
        tasks.spawn(async move {
            let new = new_analysis(&t, pr, "def456", 20);
            let key = idempotency("shared", &format!("body {pr}"));
            store.submit_analysis(&new, Some(&key), &job_for(&new)).await
        });
    }
    let answers = tasks.join_all().await;
    let created = answers.iter().filter(|a| matches!(a, Ok(Submitted::Created(_)))).count();
    let refused = answers.iter().filter(|a| matches!(a, Err(StoreError::IdempotencyMismatch))).count();
    assert_eq!((created, refused), (1, 5), "{answers:?}");
    assert_eq!(analyses_of(&s, &t).await, 1);
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 1);
}
