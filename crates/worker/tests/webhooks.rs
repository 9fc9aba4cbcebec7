//! Webhooks in distributed mode (SPEC §6) against the real PostgreSQL, RabbitMQ and Redis of this
//! machine: the API in-process queues the messages, `provenance-worker` processes deliver them
//! over RabbitMQ (retries through its delay queues, exhausted deliveries into the dead-letter
//! queue) to a local receiver, and every request is checked with the official Standard Webhooks
//! library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use provenance_store::amqp::{AmqpConnection, AmqpSettings, Topology};
use provenance_store::topics;
use serde_json::{Value, json};
use support::System;
use support::receiver::{Answer, Receiver, verify};

/// A system whose workers may deliver to loopback receivers (the SSRF guard refuses them
/// otherwise).
async fn system() -> System {
    System::start_with(|s| s.webhook_allow_hosts = "127.0.0.1".into()).await
}

async fn create_endpoint(system: &System, body: Value) -> Value {
    let r = system.post("/v1/webhooks/endpoints", &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn secret(endpoint: &Value) -> &str {
    endpoint["secret"].as_str().unwrap()
}

/// Queue a `webhook.test` message to `endpoint`; returns its id (the deliveries' `webhook-id`).
async fn send_test(system: &System, endpoint: &Value) -> String {
    let r = system.post(&format!("/v1/webhooks/endpoints/{}/test", id(endpoint)), &json!({})).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["message_id"].as_str().unwrap().to_string()
}

/// A submission that blocks (a hard-coded AWS key): `analysis.completed` and `decision.block`.
fn blocked_analysis(head: u32) -> Value {
    json!({"repo": "acme/shop", "pr_number": 5, "base_sha": "4e1d2c3b", "head_sha": format!("{head:040x}"),
           "provenance_data": {"changed_lines": [{"file_path": "app/config.py", "line_number": 1, "change_type": "added",
               "content": "AWS_KEY = \"AKIA4HKX2QJ7WZ5N3TPR\"", "attribution": {"agent_id": "devin"}}]}})
}

async fn submit(system: &System, body: &Value) -> String {
    let r = system.submit(body).await;
    assert_eq!(r.status(), 202, "submission refused: {}", r.text().await.unwrap());
    r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string()
}

async fn attempts(system: &System, endpoint: &Value) -> Vec<Value> {
    let path = format!("/v1/webhooks/endpoints/{}/attempts?limit=500", id(endpoint));
    system.get_json(&path).await["items"].as_array().unwrap().clone()
}

/// Poll the endpoint's attempt log (newest first) until `done` holds of it.
async fn wait_attempts(
    system: &System,
    endpoint: &Value,
    timeout: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let logged = attempts(system, endpoint).await;
        if done(&logged) {
            return logged;
        }
        assert!(started.elapsed() < timeout, "the attempt log is not there yet: {logged:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Poll `GET /v1/webhooks/messages` until message `message_id` exists and `done` holds of it.
async fn wait_message(system: &System, message_id: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let list = system.get_json("/v1/webhooks/messages?limit=500").await;
        let message = list["items"].as_array().unwrap().iter().find(|m| m["id"] == message_id).cloned();
        if let Some(m) = message
            && done(&m)
        {
            return m;
        }
        assert!(started.elapsed() < timeout, "message {message_id} is not as expected: {list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until no webhook delivery job is left in the outbox: each was published to RabbitMQ.
async fn wait_outbox_published(system: &System, timeout: Duration) {
    let started = Instant::now();
    loop {
        let n = system.sql_count("SELECT count(*) FROM outbox WHERE topic = 'webhook.deliveries'").await;
        if n == 0 {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "{n} webhook delivery job(s) still in the outbox after {timeout:?}: never published to RabbitMQ"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every log entry as `(attempt, outcome)`, oldest first.
fn outcomes(logged: &[Value]) -> Vec<(u64, String)> {
    logged.iter().rev().map(|a| (a["attempt"].as_u64().unwrap(), a["outcome"].as_str().unwrap().to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn a_message_is_delivered_on_the_fourth_attempt_through_the_delay_queues_and_only_once() {
    let mut system = system().await;
    system.spawn_worker();
    let receiver = Receiver::answering(&[500, 503, 500, 200]).await;
    let endpoint = create_endpoint(
        &system,
        json!({"url": receiver.url, "event_types": ["decision.block"], "retry_schedule_seconds": [1, 1, 1, 1]}),
    )
    .await;
    let analysis = submit(&system, &blocked_analysis(1)).await;
    system.wait_all_terminal(std::slice::from_ref(&analysis), Duration::from_secs(60)).await;
    wait_outbox_published(&system, Duration::from_secs(30)).await;

    let got = receiver
        .wait_until("the fourth attempt answered", Duration::from_secs(90), |got| {
            got.len() >= 4 && got[3].answered.is_some()
        })
        .await;
    assert_eq!(got.iter().map(|r| r.answered.unwrap()).collect::<Vec<_>>(), [500, 503, 500, 200]);
    assert!(got.iter().all(|r| r.webhook_id() == got[0].webhook_id()), "the same webhook-id on every attempt");
    for r in &got {
        let message = verify(secret(&endpoint), r);
        assert_eq!(message["type"], "decision.block");
        assert_eq!(message["data"]["analysis_id"], analysis.as_str());
    }
    // Retries come back through the delay queues, about a second apart (the schedule, ±10 %).
    for pair in got.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(800), "a retry came {gap:?} after the attempt before it");
    }

    let logged = wait_attempts(&system, &endpoint, Duration::from_secs(30), |l| l.len() >= 4).await;
    let expected = [(1, "failed"), (2, "failed"), (3, "failed"), (4, "delivered")];
    assert_eq!(outcomes(&logged), expected.map(|(n, o)| (n, o.to_string())));
    let codes: Vec<u64> = logged.iter().rev().map(|a| a["status_code"].as_u64().unwrap()).collect();
    assert_eq!(codes, [500, 503, 500, 200]);
    let message = wait_message(&system, got[0].webhook_id(), Duration::from_secs(10), |m| {
        m["deliveries"][0]["status"] == "delivered"
    })
    .await;
    assert_eq!(message["deliveries"][0]["attempts"], 4);

    // After the 2xx nothing more arrives (well past the schedule's next step).
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(receiver.received().len(), 4, "nothing is sent after the 2xx");
    assert_eq!(attempts(&system, &endpoint).await.len(), 4);
    let shown = system.get_json(&format!("/v1/webhooks/endpoints/{}", id(&endpoint))).await;
    assert!(shown.get("failing_since").is_none(), "a success clears the failing streak: {shown}");
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn gone_disables_the_endpoint_and_nothing_more_is_sent_to_it() {
    let mut system = system().await;
    system.spawn_worker();
    let gone = Receiver::answering(&[410]).await;
    let endpoint = create_endpoint(
        &system,
        json!({"url": gone.url, "event_types": ["decision.block"], "retry_schedule_seconds": [1, 1, 1]}),
    )
    .await;
    // A second endpoint on the same events shows when later messages have been delivered.
    let witness = Receiver::answering(&[]).await;
    let watching = create_endpoint(&system, json!({"url": witness.url, "event_types": ["decision.block"]})).await;

    submit(&system, &blocked_analysis(1)).await;
    let got = gone.wait_for(1, Duration::from_secs(60)).await;
    verify(secret(&endpoint), &got[0]);
    let started = Instant::now();
    let disabled = loop {
        let e = system.get_json(&format!("/v1/webhooks/endpoints/{}", id(&endpoint))).await;
        if e["enabled"] == false {
            break e;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not disabled: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(disabled["disabled_reason"], "the endpoint answered 410 Gone", "{disabled}");
    let logged = wait_attempts(&system, &endpoint, Duration::from_secs(10), |l| !l.is_empty()).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["outcome"], "gone");
    assert_eq!(logged[0]["status_code"], 410);
    let message = wait_message(&system, got[0].webhook_id(), Duration::from_secs(10), |m| {
        m["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["endpoint_id"] == endpoint["id"] && d["status"] != "pending")
    })
    .await;
    let delivery =
        message["deliveries"].as_array().unwrap().iter().find(|d| d["endpoint_id"] == endpoint["id"]).unwrap();
    assert_eq!(delivery["status"], "failed", "a 410 is not retried: {message}");
    assert_eq!(delivery["attempts"], 1);

    // A disabled endpoint cannot be sent a test event, and gets no later event either.
    let r = system.post(&format!("/v1/webhooks/endpoints/{}/test", id(&endpoint)), &json!({})).await;
    assert_eq!(r.status(), 409);
    submit(&system, &blocked_analysis(2)).await;
    witness.wait_for(2, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(gone.received().len(), 1, "a disabled endpoint gets nothing more: {:?}", gone.received());
    assert_eq!(attempts(&system, &endpoint).await.len(), 1);
    assert_eq!(attempts(&system, &watching).await.len(), 2);
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn a_worker_killed_mid_delivery_loses_nothing_and_another_delivers_the_same_message() {
    let mut system = system().await;
    let first = system.spawn_worker();
    // The first request hangs (the worker dies while waiting for the answer); later ones get 200.
    let receiver = Receiver::start(&[Answer::Hang(Duration::from_secs(30), 200)]).await;
    let endpoint = create_endpoint(&system, json!({"url": receiver.url, "retry_schedule_seconds": [1, 1, 1]})).await;
    let message_id = send_test(&system, &endpoint).await;

    let got = receiver.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(got[0].webhook_id(), message_id);
    assert_eq!(got[0].answered, None, "the receiver is still holding the first request");
    system.kill_worker(first);
    let killed_at = Instant::now();
    system.spawn_worker();

    // The new worker (after any claim the dead one held runs out) delivers the same message.
    let got = receiver
        .wait_until("a 2xx answer after the kill", Duration::from_secs(90), |got| {
            got.iter().any(|r| r.at > killed_at && r.answered_2xx())
        })
        .await;
    eprintln!("delivered {:?} after the kill", killed_at.elapsed());
    for r in &got {
        assert_eq!(r.webhook_id(), message_id, "the same webhook-id");
        let message = verify(secret(&endpoint), r);
        assert_eq!(message["type"], "webhook.test");
    }
    let logged =
        wait_attempts(&system, &endpoint, Duration::from_secs(30), |l| l.iter().any(|a| a["outcome"] == "delivered"))
            .await;
    assert!(logged.iter().all(|a| a["message_id"] == message_id.as_str()), "{logged:?}");
    wait_message(&system, &message_id, Duration::from_secs(10), |m| m["deliveries"][0]["status"] == "delivered").await;
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn a_receiver_down_for_the_whole_schedule_dead_letters_the_message_and_a_replay_delivers_it() {
    let mut system = system().await;
    system.spawn_worker();
    // Down for the whole (time-scaled) schedule: the first attempt and two retries.
    let receiver = Receiver::answering(&[503, 500, 503]).await;
    // Test events reach an endpoint whatever its filter; this one does not subscribe to the
    // `message.attempt.exhausted` its own failure announces.
    let endpoint = create_endpoint(
        &system,
        json!({"url": receiver.url, "event_types": ["decision.block"], "retry_schedule_seconds": [1, 1]}),
    )
    .await;
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    let message_id = send_test(&system, &endpoint).await;

    let got = receiver.wait_for(3, Duration::from_secs(90)).await;
    let message =
        wait_message(&system, &message_id, Duration::from_secs(30), |m| m["deliveries"][0]["status"] == "exhausted")
            .await;
    assert_eq!(message["deliveries"][0]["attempts"], 3, "{message}");
    assert_eq!(message["event_type"], "webhook.test");
    for r in &got {
        assert_eq!(r.webhook_id(), message_id);
        verify(secret(&endpoint), r);
    }
    let logged = wait_attempts(&system, &endpoint, Duration::from_secs(10), |l| l.len() >= 3).await;
    assert_eq!(outcomes(&logged), [(1, "failed".to_string()), (2, "failed".into()), (3, "failed".into())]);

    // The exhausted job sits in the topic's dead-letter queue.
    let s = &system.settings;
    let connection = AmqpConnection::start(
        AmqpSettings::new(s.amqp_url.as_deref().unwrap())
            .with_connection_name("webhook-test-inspector")
            .with_topology(Topology::new(&s.amqp_prefix)),
    )
    .unwrap();
    connection.wait_ready(Duration::from_secs(20)).await.unwrap();
    let started = Instant::now();
    loop {
        let depth = connection.dead_letter_depth(topics::WEBHOOK_DELIVERIES).await.unwrap();
        if depth == 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{depth} message(s) in the dead-letter queue, not 1");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    connection.close().await;

    // The receiver is back: replay what failed since a time.
    let r =
        system.post(&format!("/v1/webhooks/endpoints/{}/replay-failed", id(&endpoint)), &json!({"since": since})).await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.unwrap()["replayed"], 1);
    let got = receiver
        .wait_until("the replay answered", Duration::from_secs(60), |got| got.len() >= 4 && got[3].answered.is_some())
        .await;
    assert_eq!(got[3].answered, Some(200));
    assert_eq!(got[3].webhook_id(), message_id, "the same message");
    verify(secret(&endpoint), &got[3]);
    wait_message(&system, &message_id, Duration::from_secs(30), |m| m["deliveries"][0]["status"] == "delivered").await;

    // A delivered message can be sent again on request, to one endpoint.
    let r = system
        .post(&format!("/v1/webhooks/messages/{message_id}/replay"), &json!({"endpoint_id": id(&endpoint)}))
        .await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.unwrap()["replayed"], 1);
    let got = receiver
        .wait_until("the second replay answered", Duration::from_secs(60), |got| {
            got.len() >= 5 && got[4].answered.is_some()
        })
        .await;
    assert_eq!(got[4].answered, Some(200));
    assert_eq!(got[4].webhook_id(), message_id);
    verify(secret(&endpoint), &got[4]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received().len(), 5, "each replay is one delivery");
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs services: PostgreSQL, RabbitMQ, Redis"]
async fn two_workers_deliver_every_message_exactly_once_to_a_receiver_that_answers_2xx() {
    let mut system = system().await;
    system.spawn_worker();
    system.spawn_worker();
    let receiver = Receiver::answering(&[]).await;
    let endpoint =
        create_endpoint(&system, json!({"url": receiver.url, "event_types": ["analysis.completed", "decision.block"]}))
            .await;
    // 15 blocked analyses (two events each) and 10 test events: 40 messages.
    let mut analyses = Vec::new();
    for head in 0..15 {
        analyses.push(submit(&system, &blocked_analysis(head)).await);
    }
    let mut tests = Vec::new();
    for _ in 0..10 {
        tests.push(send_test(&system, &endpoint).await);
    }
    let decided = system.wait_all_terminal(&analyses, Duration::from_secs(120)).await;
    assert!(decided.iter().all(|a| a["status"] == "completed"), "{decided:?}");

    receiver
        .wait_until("40 messages delivered", Duration::from_secs(120), |got| {
            let mut ids: Vec<&str> = got.iter().filter(|r| r.answered_2xx()).map(|r| r.webhook_id()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len() >= 40
        })
        .await;
    // Time for a duplicate to show up, if one were on its way.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let delivered = receiver.delivered_by_id();
    assert_eq!(delivered.len(), 40);
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(receiver.received().len(), 40, "every request was answered 2xx, so no retry was needed");
    for id in &tests {
        assert_eq!(delivered.get(id), Some(&1), "test message {id}");
    }
    let mut types: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| verify(secret(&endpoint), r)["type"].as_str().unwrap().to_string())
        .collect();
    types.sort();
    types.dedup_by(|a, b| a == b);
    assert_eq!(types, ["analysis.completed", "decision.block", "webhook.test"]);
    let logged = wait_attempts(&system, &endpoint, Duration::from_secs(30), |l| l.len() >= 40).await;
    assert_eq!(logged.len(), 40);
    assert!(logged.iter().all(|a| a["outcome"] == "delivered" && a["attempt"] == 1), "{logged:?}");
    wait_outbox_published(&system, Duration::from_secs(10)).await;
    system.stop().await;
}
