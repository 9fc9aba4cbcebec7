//! Fault tests: the real PostgreSQL, RabbitMQ and Redis of this machine are stopped and started
//! while the system works. They run one at a time (a process-wide lock), and a guard starts the
//! service again even when an assertion fails, so the machine is left as it was found.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{System, pull_request};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn sh(cmd: &str) -> bool {
    Command::new("sh").arg("-c").arg(cmd).status().map(|s| s.success()).unwrap_or(false)
}

fn postgres_version() -> String {
    std::fs::read_dir("/etc/postgresql")
        .expect("PostgreSQL is installed under /etc/postgresql")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .max()
        .expect("a PostgreSQL cluster")
}

/// Runs `start` when dropped: the service comes back whatever happens in the test.
struct Restart(String);

impl Drop for Restart {
    fn drop(&mut self) {
        sh(&self.0);
    }
}

async fn wait_until(what: &str, timeout: Duration, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < timeout, "{what} did not happen within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis; stops and starts RabbitMQ"]
async fn rabbitmq_restarted_during_a_burst_loses_no_accepted_analysis_and_decides_none_twice() {
    let _serial = SERIAL.lock().await;
    let mut system = System::start().await;
    system.spawn_worker();
    let start_broker =
        "timeout 120 rabbitmqctl start_app >/dev/null 2>&1; timeout 120 rabbitmqctl await_startup >/dev/null 2>&1";
    let mut accepted = Vec::new();
    let mut guard = None;
    for i in 0..60u64 {
        if i == 15 {
            assert!(sh("timeout 120 rabbitmqctl stop_app >/dev/null 2>&1"), "rabbitmqctl stop_app");
            guard = Some(Restart(start_broker.into()));
        }
        if i == 40 {
            drop(guard.take()); // the broker comes back mid-burst
        }
        let r = system.submit(&pull_request(1000 + i, 2, 10)).await;
        if r.status() == 202 {
            accepted.push(r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string());
        } else {
            assert!(r.status().is_server_error(), "unexpected {}", r.status());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(guard);
    assert_eq!(accepted.len(), 60, "the broker being down does not stop submissions (the outbox holds them)");
    let analyses = system.wait_all_terminal(&accepted, Duration::from_secs(180)).await;
    for a in &analyses {
        assert_eq!(a["status"], "completed", "{a}");
    }
    assert_eq!(system.sql_count("SELECT count(*) FROM decisions").await, accepted.len() as i64);
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis; stops and starts PostgreSQL"]
async fn postgres_down_makes_the_api_answer_503_and_it_recovers_by_itself() {
    let _serial = SERIAL.lock().await;
    let mut system = System::start().await;
    system.spawn_worker();
    let before = system.submit(&pull_request(1, 1, 5)).await;
    assert_eq!(before.status(), 202);
    let first = before.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string();

    let version = postgres_version();
    let start = format!("pg_ctlcluster --skip-systemctl-redirect {version} main start >/dev/null 2>&1");
    assert!(sh(&format!("pg_ctlcluster --skip-systemctl-redirect {version} main stop -m fast >/dev/null 2>&1")));
    let guard = Restart(start);
    let during = system.submit(&pull_request(2, 1, 5)).await;
    assert_eq!(during.status(), 503, "never a 500 while the database is down");
    assert_eq!(during.headers()["content-type"], "application/problem+json");
    assert!(during.headers().contains_key("retry-after"));
    let ready = system.http.get(format!("{}/health/ready", system.base_url)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    drop(guard);

    let mut accepted = vec![first];
    wait_until("the API accepting submissions again", Duration::from_secs(60), async || {
        let r = system.submit(&pull_request(3, 1, 5)).await;
        if r.status() == 202 {
            accepted.push(r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string());
            true
        } else {
            assert!(r.status() == 503, "only 503 while recovering, got {}", r.status());
            false
        }
    })
    .await;
    let analyses = system.wait_all_terminal(&accepted, Duration::from_secs(120)).await;
    assert!(analyses.iter().all(|a| a["status"] == "completed"), "{analyses:?}");
    assert_eq!(
        system.sql_count("SELECT count(*) FROM analyses").await,
        accepted.len() as i64,
        "no half-written analysis from the refused submission"
    );
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis; stops and starts Redis"]
async fn redis_down_keeps_serving_with_per_process_limits_and_degraded_readiness() {
    let _serial = SERIAL.lock().await;
    let system = System::start().await;
    let start = "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no \
                 --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null 2>&1; \
                 for i in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done";
    assert!(sh("redis-cli shutdown nosave >/dev/null 2>&1 || true; ! redis-cli ping >/dev/null 2>&1"));
    let guard = Restart(start.into());

    let ready: Value =
        system.http.get(format!("{}/health/ready", system.base_url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "degraded", "{ready}");
    let redis = ready["components"].as_array().unwrap().iter().find(|c| c["name"] == "redis").unwrap();
    assert_eq!(redis["status"], "degraded");

    // Still served, still limited (anonymous: 100 per minute, now counted in this process).
    let mut statuses = Vec::new();
    for _ in 0..101 {
        let r = system.http.get(format!("{}/v1/keys", system.base_url)).send().await.unwrap();
        assert!(r.headers().contains_key("x-ratelimit-limit"));
        statuses.push(r.status().as_u16());
    }
    assert!(statuses[..100].iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(statuses[100], 429);
    assert_eq!(system.submit(&pull_request(9, 1, 3)).await.status(), 202, "submissions still accepted");

    drop(guard);
    wait_until("readiness to report Redis ok again", Duration::from_secs(30), async || {
        let r: Value =
            system.http.get(format!("{}/health/ready", system.base_url)).send().await.unwrap().json().await.unwrap();
        r["status"] == "ok"
    })
    .await;
    system.stop().await;
}
