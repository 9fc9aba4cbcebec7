use std::time::Duration;

use chrono::Utc;
use provenance_store::{StoreError, topics};

use crate::support::*;

both_backends!(
    a_claimed_row_is_not_claimable_again_until_its_lease_expires,
    an_extended_lease_keeps_the_row_claimed,
    rows_are_claimed_oldest_first_and_only_from_their_topic,
    a_completed_row_is_gone,
    a_retried_row_waits_until_its_time_and_keeps_the_error,
    a_batch_claims_at_most_its_limit_oldest_first_and_completes_together,
);

const JOBS: &str = topics::ANALYSIS_JOBS;

async fn a_claimed_row_is_not_claimable_again_until_its_lease_expires(s: TestStore) {
    let t = tenant(&s).await;
    let new = new_analysis(&t, 7, "def456", 1);
    submitted(&s, &new).await;

    let first = s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap().unwrap();
    assert_eq!((first.key.as_str(), first.attempts), (new.id.as_str(), 1));
    assert_eq!(first.payload, job_for(&new).payload);
    assert_eq!(s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap(), None);

    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(50)).await;
    let again = s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (first.id, 2));
}

async fn an_extended_lease_keeps_the_row_claimed(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    let row = s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap().unwrap();
    s.extend_lease(row.id, Duration::from_secs(30)).await.unwrap();
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(50)).await;
    assert_eq!(s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap(), None);
}

async fn rows_are_claimed_oldest_first_and_only_from_their_topic(s: TestStore) {
    let t = tenant(&s).await;
    let (a, b) = (new_analysis(&t, 1, "def456", 1), new_analysis(&t, 2, "def456", 1));
    submitted(&s, &a).await;
    submitted(&s, &b).await;

    assert_eq!(s.claim_outbox("webhook.deliveries", SHORT_LEASE).await.unwrap(), None);
    let lease = Duration::from_secs(30);
    assert_eq!(s.claim_outbox(JOBS, lease).await.unwrap().unwrap().key, a.id.to_string());
    assert_eq!(s.claim_outbox(JOBS, lease).await.unwrap().unwrap().key, b.id.to_string());
    assert_eq!(s.claim_outbox(JOBS, lease).await.unwrap(), None);
}

async fn a_completed_row_is_gone(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    let row = s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap().unwrap();
    s.complete_outbox(row.id).await.unwrap();
    s.complete_outbox(row.id).await.unwrap();
    assert_eq!(s.outbox_depth(JOBS).await.unwrap(), 0);
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(50)).await;
    assert_eq!(s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap(), None);
    assert!(matches!(s.extend_lease(row.id, SHORT_LEASE).await, Err(StoreError::NotFound)));
}

async fn a_retried_row_waits_until_its_time_and_keeps_the_error(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    let row = s.claim_outbox(JOBS, Duration::from_secs(30)).await.unwrap().unwrap();

    s.retry_outbox(row.id, Utc::now() + chrono::Duration::milliseconds(300), "database locked").await.unwrap();
    assert_eq!(s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap(), None);
    let last_error = s.texts("SELECT last_error FROM outbox WHERE id = $1", row.id).await;
    assert_eq!(last_error, vec![Some("database locked".to_string())]);

    tokio::time::sleep(Duration::from_millis(350)).await;
    let again = s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (row.id, 2));
    assert_eq!(s.outbox_depth(JOBS).await.unwrap(), 1);
}

async fn a_batch_claims_at_most_its_limit_oldest_first_and_completes_together(s: TestStore) {
    let t = tenant(&s).await;
    let mut keys = Vec::new();
    for pr in 1..=5 {
        let new = new_analysis(&t, pr, "def456", 1);
        submitted(&s, &new).await;
        keys.push(new.id.to_string());
    }
    let lease = Duration::from_secs(30);

    let first = s.claim_outbox_batch(JOBS, lease, 3).await.unwrap();
    assert_eq!(first.iter().map(|r| r.key.clone()).collect::<Vec<_>>(), keys[..3]);
    assert!(first.iter().all(|r| r.attempts == 1));
    let rest = s.claim_outbox_batch(JOBS, lease, 3).await.unwrap();
    assert_eq!(rest.iter().map(|r| r.key.clone()).collect::<Vec<_>>(), keys[3..], "leased rows are skipped");
    assert!(s.claim_outbox_batch(JOBS, lease, 3).await.unwrap().is_empty());

    let ids: Vec<i64> = first.iter().chain(&rest).map(|r| r.id).collect();
    s.complete_outbox_batch(&ids).await.unwrap();
    s.complete_outbox_batch(&ids).await.unwrap();
    assert_eq!(s.outbox_depth(JOBS).await.unwrap(), 0);
}
