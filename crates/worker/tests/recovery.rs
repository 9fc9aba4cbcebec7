//! The worker against a real SQLite store and the embedded queue: jobs held by a crashed worker
//! come back, poison jobs stop at their delivery limit, and a redelivered job never produces a
//! second decision.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ed25519_dalek::SigningKey;
use prost::Message;
use provenance_core::ingest::{IngestLimits, parse_submission};
use provenance_core::policy::Policy;
use provenance_core::{Analysis, AnalysisId, AnalysisStatus, TenantId};
use provenance_detect::DetectorSet;
use provenance_proto::v1::AnalysisJob;
use provenance_store::queue::EmbeddedQueue;
use provenance_store::sqlite::SqliteStore;
use provenance_store::{OutboxMessage, Store, topics};
use provenance_worker::{Pipeline, Worker, WorkerSettings};
use tokio_util::sync::CancellationToken;

const PAYLOAD: &str = r#"{"repo":"acme/shop","pr_number":"42","base_sha":"abc123","head_sha":"def456","provenance_data":{"changed_lines":[{"file_path":"api/orders.py","line_number":128,"change_type":"added","content":"query = f\"SELECT * FROM orders WHERE id = {order_id}\"","language":"python","attribution":{"agent_id":"claude-3-opus"}}]}}"#;
const LEASE: Duration = Duration::from_millis(300);

struct Fixture {
    store: Arc<dyn Store>,
    tenant: TenantId,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("p.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let tenant = TenantId::generate();
    store.ensure_tenant(&tenant, "t").await.unwrap();
    Fixture { store, tenant, _dir: dir }
}

async fn submit(f: &Fixture) -> AnalysisId {
    let new = parse_submission(PAYLOAD.as_bytes(), &IngestLimits::default(), &f.tenant, Utc::now()).unwrap();
    let job = AnalysisJob {
        job_id: new.id.to_string(),
        tenant_id: f.tenant.to_string(),
        analysis_id: new.id.to_string(),
        traceparent: String::new(),
        enqueued_at_unix_ms: 0,
    };
    let message =
        OutboxMessage { topic: topics::ANALYSIS_JOBS.into(), key: new.id.to_string(), payload: job.encode_to_vec() };
    f.store.submit_analysis(&new, None, &message).await.unwrap();
    new.id
}

fn start_worker(f: &Fixture, settings: WorkerSettings) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let queue = Arc::new(EmbeddedQueue::new(
        Arc::clone(&f.store),
        topics::ANALYSIS_JOBS,
        Duration::from_secs(settings.lease_seconds),
        Duration::from_millis(settings.poll_interval_ms),
    ));
    let pipeline = Arc::new(Pipeline {
        detectors: Arc::new(DetectorSet::bundled().unwrap()),
        signing_key: Arc::new(SigningKey::from_bytes(&[9; 32])),
        policy: Policy::default(),
        detect_budget: Duration::from_secs(10),
    });
    let worker = Worker { store: Arc::clone(&f.store), queue, pipeline, settings };
    let token = CancellationToken::new();
    (token.clone(), tokio::spawn(worker.run(token)))
}

fn fast_settings() -> WorkerSettings {
    WorkerSettings { poll_interval_ms: 50, retry_base_ms: 10, shutdown_grace_seconds: 5, ..WorkerSettings::default() }
}

async fn wait_terminal(f: &Fixture, id: &AnalysisId) -> Analysis {
    let started = Instant::now();
    loop {
        let a = f.store.get_analysis(&f.tenant, id).await.unwrap().unwrap();
        if a.status.is_terminal() {
            return a;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "analysis stuck in {:?}", a.status);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_job_held_by_a_crashed_worker_is_picked_up_again_and_completed() {
    let f = fixture().await;
    let id = submit(&f).await;
    // A worker claims the job, starts it, and dies without acknowledging.
    let claimed = f.store.claim_outbox(topics::ANALYSIS_JOBS, LEASE).await.unwrap().unwrap();
    assert_eq!(claimed.key, id.to_string());
    assert!(f.store.mark_running(&id, Utc::now()).await.unwrap());

    let (stop, handle) = start_worker(&f, fast_settings());
    let analysis = wait_terminal(&f, &id).await;
    assert_eq!(analysis.status, AnalysisStatus::Completed);
    assert!(analysis.outcome.is_some());
    assert!(f.store.get_bundle(&f.tenant, &id).await.unwrap().is_some());
    // Acknowledged after commit: nothing is left in the queue.
    let started = Instant::now();
    while f.store.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap() != 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "job not acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    handle.await.unwrap();
}

#[tokio::test]
async fn a_job_redelivered_past_its_limit_fails_the_analysis_instead_of_looping() {
    let f = fixture().await;
    let id = submit(&f).await;
    // Three deliveries that never finished (e.g. the worker was killed each time).
    for _ in 0..3 {
        f.store.claim_outbox(topics::ANALYSIS_JOBS, Duration::from_millis(1)).await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (stop, handle) = start_worker(&f, WorkerSettings { max_attempts: 3, ..fast_settings() });
    let analysis = wait_terminal(&f, &id).await;
    assert_eq!(analysis.status, AnalysisStatus::Failed);
    assert_eq!(analysis.error.unwrap().code, "delivery_limit_exceeded");
    stop.cancel();
    handle.await.unwrap();
}

#[tokio::test]
async fn a_redelivered_job_for_a_completed_analysis_keeps_the_first_decision() {
    let f = fixture().await;
    let id = submit(&f).await;
    let (stop, handle) = start_worker(&f, fast_settings());
    wait_terminal(&f, &id).await;
    let first = f.store.get_decision(&f.tenant, &id).await.unwrap().unwrap();
    stop.cancel();
    handle.await.unwrap();

    // The broker (or the outbox sweep) delivers the same job again.
    let job = AnalysisJob { analysis_id: id.to_string(), ..Default::default() };
    let again =
        OutboxMessage { topic: topics::ANALYSIS_JOBS.into(), key: format!("{id}-again"), payload: job.encode_to_vec() };
    let other = parse_submission(
        PAYLOAD.replace("def456", "beef01").as_bytes(),
        &IngestLimits::default(),
        &f.tenant,
        Utc::now(),
    )
    .unwrap();
    f.store.submit_analysis(&other, None, &again).await.unwrap();
    let (stop, handle) = start_worker(&f, fast_settings());
    let started = Instant::now();
    while f.store.outbox_depth(topics::ANALYSIS_JOBS).await.unwrap() != 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "redelivered job not acknowledged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = f.store.get_decision(&f.tenant, &id).await.unwrap().unwrap();
    assert_eq!(after.id, first.id, "no second decision");
    stop.cancel();
    handle.await.unwrap();
}
