//! The distributed system against the real PostgreSQL, RabbitMQ and Redis of this machine:
//! API in-process, workers as separate `provenance-worker` processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use provenance_core::policy::Policy;
use provenance_detect::{Capabilities, DetectInput, Detector, DetectorOutput, DetectorSet};
use provenance_store::amqp::{AmqpConnection, AmqpQueue, AmqpSettings, Topology};
use provenance_store::{ConnectOptions, Migrations, topics};
use provenance_worker::{Pipeline, Worker};
use serde_json::Value;
use support::{System, pull_request};
use tokio_util::sync::CancellationToken;

async fn submit_all(system: &System, bodies: &[Value]) -> Vec<String> {
    let mut ids = Vec::new();
    for body in bodies {
        let r = system.submit(body).await;
        assert_eq!(r.status(), 202, "submission refused: {}", r.text().await.unwrap());
        ids.push(r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn two_worker_processes_decide_every_submission_exactly_once() {
    let mut system = System::start().await;
    system.spawn_worker();
    system.spawn_worker();
    let bodies: Vec<Value> = (0..24).map(|i| pull_request(i, 10, 20)).collect();
    let ids = submit_all(&system, &bodies).await;
    // A waiting reader in the API process learns of a decision made in a worker process.
    let waited: Value = system.get(&format!("/v1/analysis/{}?wait=30", ids[23])).await.json().await.unwrap();
    assert_eq!(waited["status"], "completed", "{waited}");
    let analyses = system.wait_all_terminal(&ids, Duration::from_secs(90)).await;
    for a in &analyses {
        assert_eq!(a["status"], "completed", "{a}");
        assert!(a["findings_total"].as_u64().unwrap() > 0);
    }
    assert_eq!(system.sql_count("SELECT count(*) FROM decisions").await, 24, "one decision per analysis");
    assert_eq!(system.sql_count("SELECT count(*) FROM outbox").await, 0, "every job was published and consumed");
    // The bundle of an analysis decided by a worker process verifies with the API's published key.
    let bundle = system.get(&format!("/v1/analysis/{}/bundle", ids[0])).await;
    assert_eq!(bundle.status(), 200);
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn a_worker_killed_in_the_middle_of_a_job_leaves_it_to_another_and_one_decision_is_made() {
    let mut system = System::start().await;
    let first = system.spawn_worker();
    // Big enough that detection takes a while, so the kill lands mid-job.
    let ids = submit_all(&system, &[pull_request(7, 60, 1000)]).await;
    let started = Instant::now();
    loop {
        let a = system.analysis(&ids[0]).await;
        if a["status"] == "running" {
            break;
        }
        assert_eq!(a["status"], "queued", "the job finished before the kill: make the payload bigger");
        assert!(started.elapsed() < Duration::from_secs(60), "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    system.kill_worker(first);
    assert_eq!(system.analysis(&ids[0]).await["status"], "running", "killed mid-job");
    system.spawn_worker();
    let a = &system.wait_all_terminal(&ids, Duration::from_secs(120)).await[0];
    assert_eq!(a["status"], "completed", "{a}");
    assert_eq!(system.sql_count("SELECT count(*) FROM decisions").await, 1);
    system.stop().await;
}

/// A detector that panics on any line containing `POISON`.
struct PanicsOnPoison(Capabilities);

impl Detector for PanicsOnPoison {
    fn capabilities(&self) -> &Capabilities {
        &self.0
    }
    fn detect(&self, input: &DetectInput<'_>, _deadline: Instant) -> DetectorOutput {
        if input.lines.iter().any(|l| l.content.as_deref().is_some_and(|c| c.contains("POISON"))) {
            panic!("this detector cannot handle poison");
        }
        DetectorOutput { detections: Vec::new(), complete: true }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn a_poison_job_fails_after_the_delivery_limit_lands_in_the_dead_letter_queue_and_blocks_nothing() {
    let system = System::start().await;
    let s = &system.settings;
    let store =
        provenance_store::connect(s.database_url.as_deref().unwrap(), Migrations::Require, &ConnectOptions::default())
            .await
            .unwrap();
    let connection = AmqpConnection::start(
        AmqpSettings::new(s.amqp_url.as_deref().unwrap())
            .with_connection_name("poison-test-worker")
            .with_topology(Topology::new(&s.amqp_prefix)),
    )
    .unwrap();
    connection.wait_ready(Duration::from_secs(20)).await.unwrap();
    let caps = Capabilities {
        name: "panics-on-poison".into(),
        engine: "test".into(),
        version: "1".into(),
        rules: Vec::new(),
        rulepack_sha256: "0".repeat(64),
    };
    let pipeline = Arc::new(Pipeline {
        detectors: Arc::new(DetectorSet::new(vec![Box::new(PanicsOnPoison(caps))])),
        signing_key: Arc::new(SigningKey::from_bytes(&[3; 32])),
        policy: Policy::default(),
        detect_budget: Duration::from_secs(5),
    });
    let mut worker_settings = s.worker.clone();
    worker_settings.max_attempts = 3;
    let worker = Worker {
        store,
        queue: Arc::new(AmqpQueue::new(connection.clone(), topics::ANALYSIS_JOBS, 16)),
        pipeline,
        settings: worker_settings,
    };
    let stop = CancellationToken::new();
    let worker = tokio::spawn(worker.run(stop.clone()));

    let mut poison = pull_request(1, 1, 3);
    poison["provenance_data"]["changed_lines"][0]["content"] = "x = 'POISON'".into();
    let mut bodies = vec![poison];
    bodies.extend((2..6).map(|i| pull_request(i, 1, 3)));
    let ids = submit_all(&system, &bodies).await;
    let analyses = system.wait_all_terminal(&ids, Duration::from_secs(60)).await;
    assert_eq!(analyses[0]["status"], "failed");
    assert_eq!(analyses[0]["error"]["code"], "detector_panicked", "{}", analyses[0]);
    for a in &analyses[1..] {
        assert_eq!(a["status"], "completed", "other jobs are not blocked: {a}");
    }
    let started = Instant::now();
    while connection.dead_letter_depth(topics::ANALYSIS_JOBS).await.unwrap() != 1 {
        assert!(started.elapsed() < Duration::from_secs(10), "the poison job is not in the dead-letter queue");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    worker.await.unwrap();
    connection.close().await;
    system.stop().await;
}
