//! Heartbeats and stale-job recovery (`heartbeat`, `requeue_stale`).

use chrono::{Duration, Utc};
use provenance_core::{AnalysisId, AnalysisStatus, TenantId};
use provenance_store::{OutboxMessage, topics};

use crate::support::*;

const JOBS: &str = topics::ANALYSIS_JOBS;

both_backends!(
    only_running_analyses_with_an_old_heartbeat_are_requeued_each_with_one_new_job,
    requeueing_takes_the_stalest_first_up_to_the_limit,
    a_heartbeat_keeps_a_running_analysis_from_being_requeued_and_is_ignored_otherwise,
    a_requeued_analysis_runs_again_and_completes,
);

/// The job the scheduler would write: a key of its own, so it never collides with the first one.
fn requeue_job(id: &AnalysisId, tenant: &TenantId) -> OutboxMessage {
    OutboxMessage { topic: JOBS.into(), key: format!("{id}:requeued"), payload: format!("{tenant}/{id}").into() }
}

/// Consume every job in the outbox, as a worker would have.
async fn drain(s: &(impl AsStore + ?Sized)) {
    let s = s.as_store();
    while let Some(row) = s.claim_outbox(JOBS, std::time::Duration::from_secs(30)).await.unwrap() {
        s.complete_outbox(row.id).await.unwrap();
    }
    assert_eq!(s.outbox_depth(JOBS).await.unwrap(), 0);
}

async fn status(s: &(impl AsStore + ?Sized), tenant: &TenantId, id: &AnalysisId) -> AnalysisStatus {
    s.as_store().get_analysis(tenant, id).await.unwrap().unwrap().status
}

async fn only_running_analyses_with_an_old_heartbeat_are_requeued_each_with_one_new_job(s: TestStore) {
    let t = tenant(&s).await;
    let long_ago = Utc::now() - Duration::minutes(10);
    let stale = submitted(&s, &new_analysis(&t, 1, "def456", 1)).await;
    let alive = submitted(&s, &new_analysis(&t, 2, "def456", 1)).await;
    let queued = submitted(&s, &new_analysis(&t, 3, "def456", 1)).await;
    let done = submitted(&s, &new_analysis(&t, 4, "def456", 1)).await;
    assert!(s.mark_running(&stale.id, long_ago).await.unwrap());
    assert!(s.mark_running(&alive.id, Utc::now()).await.unwrap());
    assert!(s.mark_running(&done.id, long_ago).await.unwrap());
    let input = s.load_job_input(&done.id).await.unwrap().unwrap();
    s.complete_analysis(&result_for(&input, Utc::now())).await.unwrap();
    drain(&s).await;

    let stale_before = Utc::now() - Duration::minutes(1);
    let requeued = s.requeue_stale(stale_before, 100, &requeue_job).await.unwrap();
    assert_eq!(requeued, vec![stale.id.clone()]);
    assert_eq!(status(&s, &t, &stale.id).await, AnalysisStatus::Queued);
    assert_eq!(status(&s, &t, &alive.id).await, AnalysisStatus::Running);
    assert_eq!(status(&s, &t, &queued.id).await, AnalysisStatus::Queued);
    assert_eq!(status(&s, &t, &done.id).await, AnalysisStatus::Completed);

    assert_eq!(s.outbox_depth(JOBS).await.unwrap(), 1);
    let row = s.claim_outbox(JOBS, SHORT_LEASE).await.unwrap().unwrap();
    assert_eq!(row.key, format!("{}:requeued", stale.id));
    assert_eq!(row.payload, format!("{t}/{}", stale.id).into_bytes());
    // Requeued once: it is no longer running, so a second sweep finds nothing.
    assert!(s.requeue_stale(stale_before, 100, &requeue_job).await.unwrap().is_empty());
}

async fn requeueing_takes_the_stalest_first_up_to_the_limit(s: TestStore) {
    let t = tenant(&s).await;
    let now = Utc::now();
    let older = submitted(&s, &new_analysis(&t, 1, "def456", 1)).await;
    let old = submitted(&s, &new_analysis(&t, 2, "def456", 1)).await;
    s.mark_running(&old.id, now - Duration::minutes(5)).await.unwrap();
    s.mark_running(&older.id, now - Duration::minutes(9)).await.unwrap();
    drain(&s).await;

    assert_eq!(s.requeue_stale(now, 1, &requeue_job).await.unwrap(), vec![older.id]);
    assert_eq!(s.requeue_stale(now, 1, &requeue_job).await.unwrap(), vec![old.id]);
    assert!(s.requeue_stale(now, 1, &requeue_job).await.unwrap().is_empty());
    assert_eq!(s.outbox_depth(JOBS).await.unwrap(), 2);
}

async fn a_heartbeat_keeps_a_running_analysis_from_being_requeued_and_is_ignored_otherwise(s: TestStore) {
    let t = tenant(&s).await;
    let long_ago = Utc::now() - Duration::minutes(10);
    let running = submitted(&s, &new_analysis(&t, 1, "def456", 1)).await;
    let queued = submitted(&s, &new_analysis(&t, 2, "def456", 1)).await;
    s.mark_running(&running.id, long_ago).await.unwrap();
    s.heartbeat(&running.id, Utc::now()).await.unwrap();
    // A heartbeat neither starts a queued analysis nor fails for an unknown one.
    s.heartbeat(&queued.id, Utc::now()).await.unwrap();
    s.heartbeat(&AnalysisId::generate(), Utc::now()).await.unwrap();
    assert_eq!(status(&s, &t, &queued.id).await, AnalysisStatus::Queued);

    let stale_before = Utc::now() - Duration::minutes(1);
    assert!(s.requeue_stale(stale_before, 100, &requeue_job).await.unwrap().is_empty());
    // Without heartbeats since, it becomes stale.
    s.heartbeat(&running.id, long_ago).await.unwrap();
    assert_eq!(s.requeue_stale(stale_before, 100, &requeue_job).await.unwrap(), vec![running.id]);
}

async fn a_requeued_analysis_runs_again_and_completes(s: TestStore) {
    let t = tenant(&s).await;
    let a = submitted(&s, &new_analysis(&t, 1, "def456", 3)).await;
    let started = Utc::now() - Duration::minutes(10);
    s.mark_running(&a.id, started).await.unwrap();
    drain(&s).await;
    assert_eq!(s.requeue_stale(Utc::now(), 10, &requeue_job).await.unwrap(), vec![a.id.clone()]);

    let restarted = Utc::now();
    assert!(s.mark_running(&a.id, restarted).await.unwrap());
    let running = s.get_analysis(&t, &a.id).await.unwrap().unwrap();
    assert_eq!((running.status, running.started_at), (AnalysisStatus::Running, Some(millis(restarted))));
    let input = s.load_job_input(&a.id).await.unwrap().unwrap();
    s.complete_analysis(&result_for(&input, Utc::now())).await.unwrap();
    assert_eq!(status(&s, &t, &a.id).await, AnalysisStatus::Completed);
    assert!(s.requeue_stale(Utc::now() + Duration::hours(1), 10, &requeue_job).await.unwrap().is_empty());
}
