use std::sync::Arc;
use std::time::{Duration, Instant};

use provenance_store::queue::{EmbeddedQueue, JobQueue};
use provenance_store::topics;

use crate::support::*;

both_backends!(
    a_waiting_receive_wakes_promptly_when_a_job_is_submitted,
    every_waiting_consumer_gets_one_of_several_jobs_submitted_at_once,
    an_acked_job_is_not_delivered_again,
    a_job_whose_worker_died_is_delivered_again_when_its_lease_runs_out,
    keep_alive_holds_the_job_past_its_first_lease,
    a_retried_job_comes_back_after_its_delay_without_waiting_for_the_poll,
);

const LONG_POLL: Duration = Duration::from_secs(30);

fn queue(s: &TestStore, lease: Duration, poll: Duration) -> Arc<EmbeddedQueue> {
    Arc::new(EmbeddedQueue::new(s.as_dyn(), topics::ANALYSIS_JOBS, lease, poll))
}

async fn a_waiting_receive_wakes_promptly_when_a_job_is_submitted(s: TestStore) {
    let t = tenant(&s).await;
    let q = queue(&s, Duration::from_secs(30), LONG_POLL);
    let waiting = tokio::spawn({
        let q = q.clone();
        async move { q.receive().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "nothing was submitted yet");

    let new = new_analysis(&t, 7, "def456", 1);
    let submitted_at = Instant::now();
    submitted(&s, &new).await;
    let delivery = tokio::time::timeout(Duration::from_secs(2), waiting).await.expect("woken by the commit");
    let delivery = delivery.unwrap().unwrap();
    assert!(submitted_at.elapsed() < Duration::from_secs(2));
    assert_eq!((delivery.key.as_str(), delivery.attempts), (new.id.as_str(), 1));
}

async fn every_waiting_consumer_gets_one_of_several_jobs_submitted_at_once(s: TestStore) {
    let t = tenant(&s).await;
    let q = queue(&s, Duration::from_secs(30), LONG_POLL);
    let mut consumers = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let q = q.clone();
        consumers.spawn(async move { q.receive().await });
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for pr in 1..=3 {
        submitted(&s, &new_analysis(&t, pr, "def456", 1)).await;
    }
    let mut keys = Vec::new();
    while let Some(done) = tokio::time::timeout(Duration::from_secs(2), consumers.join_next()).await.unwrap() {
        keys.push(done.unwrap().unwrap().key);
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3);
}

async fn an_acked_job_is_not_delivered_again(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    let q = queue(&s, SHORT_LEASE, Duration::from_millis(50));
    let d = q.receive().await.unwrap();
    q.ack(&d).await.unwrap();
    tokio::time::sleep(SHORT_LEASE + Duration::from_millis(50)).await;
    assert!(tokio::time::timeout(Duration::from_millis(300), q.receive()).await.is_err());
    assert_eq!(s.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap(), 0);
}

async fn a_job_whose_worker_died_is_delivered_again_when_its_lease_runs_out(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    let q = queue(&s, SHORT_LEASE, Duration::from_millis(50));
    let first = q.receive().await.unwrap();
    // The worker dies: no ack, no retry.
    let again = tokio::time::timeout(Duration::from_secs(2), q.receive()).await.unwrap().unwrap();
    assert_eq!((again.id, again.attempts), (first.id, 2));
}

async fn keep_alive_holds_the_job_past_its_first_lease(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    // Renewed every 100 ms for 600 ms: well past one 500 ms lease, with a wide margin per renewal.
    let lease = Duration::from_millis(500);
    let q = queue(&s, lease, Duration::from_millis(20));
    let d = q.receive().await.unwrap();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        q.keep_alive(&d).await.unwrap();
    }
    assert!(tokio::time::timeout(Duration::from_millis(80), q.receive()).await.is_err());
}

async fn a_retried_job_comes_back_after_its_delay_without_waiting_for_the_poll(s: TestStore) {
    let t = tenant(&s).await;
    submitted(&s, &new_analysis(&t, 7, "def456", 1)).await;
    let q = queue(&s, Duration::from_secs(30), LONG_POLL);
    let d = q.receive().await.unwrap();
    let retried_at = Instant::now();
    q.retry(&d, Duration::from_millis(300), "detector timed out").await.unwrap();

    let again = tokio::time::timeout(Duration::from_secs(2), q.receive()).await.unwrap().unwrap();
    assert!(retried_at.elapsed() >= Duration::from_millis(300));
    assert_eq!((again.id, again.attempts), (d.id, 2));
}
