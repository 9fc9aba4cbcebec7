//! Webhooks end to end in embedded mode (SPEC §6): endpoints through the API, events queued with
//! the analysis' completion, deliveries to a local receiver verified with the official Standard
//! Webhooks library, retries on a time-scaled schedule, `410 Gone`, the SSRF guard, and secret
//! rotation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use provenance_cli::embedded;
use provenance_cli::settings::Settings;
use serde_json::{Value, json};
use standardwebhooks::Webhook;
use support::{TestServer, assert_problem};

mod support;

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    answered: u16,
}

/// A receiver that answers with the scripted statuses in turn (then 200) and records everything.
#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Mutex<VecDeque<u16>>>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> (Self, String) {
        let receiver = Self { script: Arc::new(Mutex::new(script.iter().copied().collect())), ..Self::default() };
        let app = axum::Router::new().route("/hook", axum::routing::post(Self::handle)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    async fn handle(State(r): State<Self>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
        let status = r.script.lock().unwrap().pop_front().unwrap_or(200);
        r.got.lock().unwrap().push(Received { headers, body, answered: status });
        (StatusCode::from_u16(status).unwrap(), "receiver says hi")
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Wait until `n` requests came in.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "only {} of {n} deliveries arrived", got.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The embedded server with 127.0.0.1 allow-listed for webhooks (only loopback receivers here).
async fn server(allow: &str) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings { data_dir: dir.path().join("data"), ..Settings::default() };
    settings.http_listen = "127.0.0.1:0".parse().unwrap();
    settings.webhook_allow_hosts = allow.into();
    settings.worker.poll_interval_ms = 50;
    let server = embedded::start(&settings).await.expect("the embedded server starts");
    TestServer { server, http: reqwest::Client::new(), dir }
}

async fn create_endpoint(s: &TestServer, body: Value) -> Value {
    let r = s.post("/v1/webhooks/endpoints", body.to_string()).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

fn blocked_analysis(head: u32) -> Value {
    json!({"repo": "acme/shop", "pr_number": 5, "base_sha": "4e1d2c3b", "head_sha": format!("{head:040x}"),
           "provenance_data": {"changed_lines": [{"file_path": "app/config.py", "line_number": 1, "change_type": "added",
               "content": "AWS_KEY = \"AKIA4HKX2QJ7WZ5N3TPR\"", "attribution": {"agent_id": "devin"}}]}})
}

async fn submit(s: &TestServer, body: &Value) -> String {
    let r = s.post("/v1/analysis", body.to_string()).await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string();
    s.wait_completed(&id).await;
    id
}

fn verify(secret: &str, got: &Received) -> Value {
    Webhook::new(secret).unwrap().verify(&got.body, &got.headers).expect("the official library verifies it");
    serde_json::from_slice(&got.body).unwrap()
}

async fn attempts(s: &TestServer, endpoint: &Value) -> Vec<Value> {
    let id = endpoint["id"].as_str().unwrap();
    s.get_json(&format!("/v1/webhooks/endpoints/{id}/attempts")).await["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn decisions_are_delivered_signed_and_verify_with_the_official_library() {
    let s = server("127.0.0.1").await;
    let (receiver, url) = Receiver::start(&[]).await;
    let endpoint = create_endpoint(
        &s,
        json!({"url": url, "event_types": ["analysis.completed", "decision.block"], "headers": {"x-team": "platform"}}),
    )
    .await;
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let shown = s.get_json(&format!("/v1/webhooks/endpoints/{}", endpoint["id"].as_str().unwrap())).await;
    assert!(shown.get("secret").is_none(), "the secret is shown once");

    let id = submit(&s, &blocked_analysis(1)).await;
    let got = receiver.wait_for(2).await;
    let mut types = Vec::new();
    for delivery in &got {
        let message = verify(&secret, delivery);
        assert_eq!(message["data"]["analysis_id"], id.as_str());
        assert_eq!(delivery.headers["x-team"], "platform");
        assert_eq!(delivery.headers["content-type"], "application/json");
        assert!(delivery.headers["webhook-id"].to_str().unwrap().starts_with("msg_"));
        types.push(message["type"].as_str().unwrap().to_string());
    }
    types.sort();
    assert_eq!(types, ["analysis.completed", "decision.block"]);
    let block = got.iter().map(|d| verify(&secret, d)).find(|m| m["type"] == "decision.block").unwrap();
    assert_eq!(block["data"]["outcome"], "block");
    assert!(block["data"]["fired_rules"].as_array().unwrap().iter().any(|r| r["rule"] == "severity.critical"));

    // An allowed analysis has no `decision.block`: only `analysis.completed` arrives.
    let mut quiet = blocked_analysis(2);
    quiet["provenance_data"]["changed_lines"][0]["content"] = json!("x = 1");
    submit(&s, &quiet).await;
    let got = receiver.wait_for(3).await;
    assert_eq!(verify(&secret, &got[2])["type"], "analysis.completed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 3, "no other event is sent to this endpoint");
    let logged = attempts(&s, &endpoint).await;
    assert_eq!(logged.len(), 3);
    assert!(logged.iter().all(|a| a["outcome"] == "delivered" && a["status_code"] == 200 && a["attempt"] == 1));
    assert_eq!(logged[0]["response"], "receiver says hi");
}

#[tokio::test]
async fn a_message_is_delivered_on_the_fourth_attempt_after_three_failures_and_only_once() {
    let s = server("127.0.0.1").await;
    let (receiver, url) = Receiver::start(&[500, 503, 302, 200]).await;
    let endpoint = create_endpoint(
        &s,
        json!({"url": url, "event_types": ["decision.block"], "retry_schedule_seconds": [1, 1, 1, 1]}),
    )
    .await;
    submit(&s, &blocked_analysis(1)).await;
    let got = receiver.wait_for(4).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got_all = receiver.received();
    assert_eq!(got_all.len(), 4, "after the 2xx nothing more is sent: {got_all:?}");
    let ids: Vec<&str> = got.iter().map(|d| d.headers["webhook-id"].to_str().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "the same webhook-id on every attempt");
    assert_eq!(got.iter().map(|d| d.answered).collect::<Vec<_>>(), [500, 503, 302, 200]);
    let secret = endpoint["secret"].as_str().unwrap();
    for d in &got {
        verify(secret, d);
    }
    let logged = attempts(&s, &endpoint).await;
    let outcomes: Vec<(u64, &str)> =
        logged.iter().rev().map(|a| (a["attempt"].as_u64().unwrap(), a["outcome"].as_str().unwrap())).collect();
    assert_eq!(outcomes, [(1, "failed"), (2, "failed"), (3, "failed"), (4, "delivered")]);
    let endpoint = s.get_json(&format!("/v1/webhooks/endpoints/{}", endpoint["id"].as_str().unwrap())).await;
    assert!(endpoint.get("failing_since").is_none(), "a success clears the failing streak");
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_the_ssrf_guard_refuses_private_addresses() {
    let s = server("127.0.0.1").await;
    let (receiver, url) = Receiver::start(&[410]).await;
    let gone = create_endpoint(&s, json!({"url": url, "event_types": ["decision.block"]})).await;
    // Never contacted: a private address that is not allow-listed.
    let private = create_endpoint(
        &s,
        json!({"url": "http://10.255.255.1:9/hook", "event_types": ["decision.block"], "retry_schedule_seconds": [1]}),
    )
    .await;
    submit(&s, &blocked_analysis(1)).await;
    receiver.wait_for(1).await;
    let started = Instant::now();
    let disabled = loop {
        let e = s.get_json(&format!("/v1/webhooks/endpoints/{}", gone["id"].as_str().unwrap())).await;
        if e["enabled"] == false {
            break e;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "not disabled: {e}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(disabled["disabled_reason"], "the endpoint answered 410 Gone");
    submit(&s, &blocked_analysis(2)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "a disabled endpoint gets nothing more");

    let started = Instant::now();
    let refused = loop {
        let logged = attempts(&s, &private).await;
        if let Some(a) = logged.last() {
            break a.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no attempt was recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refused["outcome"], "refused", "{refused}");
    assert!(refused.get("status_code").is_none());
    assert!(refused["error"].as_str().unwrap().contains("10.255.255.1"), "{refused}");
}

#[tokio::test]
async fn after_a_rotation_both_secrets_verify_until_the_old_one_expires() {
    let s = server("127.0.0.1").await;
    let (receiver, url) = Receiver::start(&[]).await;
    let endpoint = create_endpoint(&s, json!({"url": url, "event_types": ["analysis.completed"]})).await;
    let id = endpoint["id"].as_str().unwrap();
    let old = endpoint["secret"].as_str().unwrap().to_string();
    let rotated: Value =
        s.post(&format!("/v1/webhooks/endpoints/{id}/rotate-secret"), "{}").await.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    assert!(rotated["previous_secret_expires_at"].is_string());
    submit(&s, &blocked_analysis(1)).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0].headers["webhook-signature"].to_str().unwrap().split(' ').count(), 2);
    verify(&old, &got[0]);
    verify(&new, &got[0]);

    let r: Value = s
        .post(&format!("/v1/webhooks/endpoints/{id}/rotate-secret"), r#"{"previous_valid_for_seconds": 0}"#)
        .await
        .json()
        .await
        .unwrap();
    let newest = r["secret"].as_str().unwrap().to_string();
    submit(&s, &blocked_analysis(2)).await;
    let got = receiver.wait_for(2).await;
    verify(&newest, &got[1]);
    assert!(Webhook::new(&new).unwrap().verify(&got[1].body, &got[1].headers).is_err(), "the old secret expired");
}

#[tokio::test]
async fn endpoint_input_is_validated_field_by_field() {
    let s = server("").await;
    assert_problem(s.post("/v1/webhooks/endpoints", "{}").await, 422, "/url").await;
    assert_problem(s.post("/v1/webhooks/endpoints", r#"{"url": "ftp://example.com/x"}"#).await, 422, "/url").await;
    let r = s
        .post("/v1/webhooks/endpoints", r#"{"url": "https://example.com/x", "event_types": ["decision.maybe"]}"#)
        .await;
    assert_problem(r, 422, "/event_types/0").await;
    let r =
        s.post("/v1/webhooks/endpoints", r#"{"url": "https://example.com/x", "headers": {"webhook-id": "x"}}"#).await;
    assert_problem(r, 422, "/headers/webhook-id").await;
    let r =
        s.post("/v1/webhooks/endpoints", r#"{"url": "https://example.com/x", "retry_schedule_seconds": [0]}"#).await;
    assert_problem(r, 422, "/retry_schedule_seconds").await;
    assert!(s.get_json("/v1/webhooks/endpoints").await["items"].as_array().unwrap().is_empty(), "nothing was stored");

    let e = create_endpoint(&s, json!({"url": "https://example.com/x", "retry_schedule_seconds": [5, 60]})).await;
    let id = e["id"].as_str().unwrap();
    assert_eq!(e["retry_schedule_seconds"], json!([5, 60]));
    let r = s
        .http
        .patch(s.url(&format!("/v1/webhooks/endpoints/{id}")))
        .bearer_auth(&s.server.admin_token)
        .body(r#"{"enabled": false, "retry_schedule_seconds": null}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["enabled"], false);
    assert_eq!(e["retry_schedule_seconds"], json!([5, 300, 1800, 7200, 18000, 36000, 36000]), "the default");
    assert_eq!(s.delete(&format!("/v1/webhooks/endpoints/{id}")).await.status(), 204);
    assert_eq!(s.delete(&format!("/v1/webhooks/endpoints/{id}")).await.status(), 404);
}

#[tokio::test]
async fn a_suppression_is_announced_to_subscribed_endpoints() {
    let s = server("127.0.0.1").await;
    let (receiver, url) = Receiver::start(&[]).await;
    let endpoint = create_endpoint(&s, json!({"url": url, "event_types": ["finding.suppressed"]})).await;
    let id = submit(&s, &blocked_analysis(1)).await;
    let findings = s.get_json(&format!("/v1/analysis/{id}/findings")).await;
    let finding = &findings["items"][0];
    let r = s
        .post(&format!("/v1/findings/{}/suppress", finding["id"].as_str().unwrap()), r#"{"reason": "canary key"}"#)
        .await;
    assert_eq!(r.status(), 201);
    let got = receiver.wait_for(1).await;
    let message = verify(endpoint["secret"].as_str().unwrap(), &got[0]);
    assert_eq!(message["type"], "finding.suppressed");
    assert_eq!(message["data"]["suppression"]["fingerprint"], finding["fingerprint"]);
    assert_eq!(message["data"]["suppression"]["reason"], "canary key");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "the analysis' own events are not subscribed to");
}

#[tokio::test]
async fn a_test_event_reaches_one_endpoint_whatever_its_filter() {
    let s = server("127.0.0.1").await;
    let (receiver, url) = Receiver::start(&[]).await;
    let endpoint = create_endpoint(&s, json!({"url": url, "event_types": ["decision.block"]})).await;
    let (other, other_url) = Receiver::start(&[]).await;
    create_endpoint(&s, json!({"url": other_url})).await;
    let id = endpoint["id"].as_str().unwrap();
    let r = s.post(&format!("/v1/webhooks/endpoints/{id}/test"), "").await;
    assert_eq!(r.status(), 202);
    let sent: Value = r.json().await.unwrap();
    let got = receiver.wait_for(1).await;
    let message = verify(endpoint["secret"].as_str().unwrap(), &got[0]);
    assert_eq!(message["type"], "webhook.test");
    assert_eq!(got[0].headers["webhook-id"].to_str().unwrap(), sent["message_id"].as_str().unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(other.received().is_empty(), "only the endpoint asked for");
    assert_eq!(s.post("/v1/webhooks/endpoints/wh_01JDQ7Z4V3K8M2N5P6R7S8T9VW/test", "").await.status(), 404);
}

#[tokio::test]
async fn a_disabled_endpoint_and_an_exhausted_message_are_announced_to_the_other_endpoints() {
    let s = server("127.0.0.1").await;
    let (ops, ops_url) = Receiver::start(&[]).await;
    let watcher =
        create_endpoint(&s, json!({"url": ops_url, "event_types": ["endpoint.disabled", "message.attempt.exhausted"]}))
            .await;
    let (_, gone_url) = Receiver::start(&[410]).await;
    let gone = create_endpoint(&s, json!({"url": gone_url, "event_types": ["decision.block"]})).await;
    let (flaky, flaky_url) = Receiver::start(&[500, 500]).await;
    let failing = create_endpoint(
        &s,
        json!({"url": flaky_url, "event_types": ["decision.block"], "retry_schedule_seconds": [1]}),
    )
    .await;
    submit(&s, &blocked_analysis(1)).await;
    let got = ops.wait_for(2).await;
    let secret = watcher["secret"].as_str().unwrap();
    let messages: Vec<Value> = got.iter().map(|d| verify(secret, d)).collect();
    let disabled = messages.iter().find(|m| m["type"] == "endpoint.disabled").expect("endpoint.disabled");
    assert_eq!(disabled["data"]["endpoint_id"], gone["id"]);
    assert_eq!(disabled["data"]["reason"], "the endpoint answered 410 Gone");
    let exhausted = messages.iter().find(|m| m["type"] == "message.attempt.exhausted").expect("exhausted");
    assert_eq!(exhausted["data"]["endpoint_id"], failing["id"]);
    assert_eq!(exhausted["data"]["attempts"], 2);
    assert_eq!(exhausted["data"]["event_type"], "decision.block");
    assert_eq!(flaky.received().len(), 2, "two attempts: the first and one retry");
}

#[tokio::test]
async fn a_message_dead_lettered_after_the_whole_schedule_is_delivered_by_a_replay() {
    let s = server("127.0.0.1").await;
    // Down for the whole (time-scaled) schedule: two attempts.
    let (receiver, url) = Receiver::start(&[503, 500]).await;
    let endpoint =
        create_endpoint(&s, json!({"url": url, "event_types": ["decision.block"], "retry_schedule_seconds": [1]}))
            .await;
    let id = endpoint["id"].as_str().unwrap();
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    submit(&s, &blocked_analysis(1)).await;
    receiver.wait_for(2).await;
    let started = Instant::now();
    let message = loop {
        let list = s.get_json("/v1/webhooks/messages").await;
        let m = list["items"][0].clone();
        if m["deliveries"][0]["status"] == "exhausted" {
            break m;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "not exhausted: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(message["event_type"], "decision.block");
    assert_eq!(message["payload"]["type"], "decision.block");
    assert_eq!(message["deliveries"][0]["attempts"], 2);

    // The receiver is back: replay what failed since a time.
    let r = s.post(&format!("/v1/webhooks/endpoints/{id}/replay-failed"), json!({"since": since}).to_string()).await;
    assert_eq!(r.status(), 202);
    assert_eq!(r.json::<Value>().await.unwrap()["replayed"], 1);
    let got = receiver.wait_for(3).await;
    assert_eq!(got[2].answered, 200);
    assert_eq!(got[2].headers["webhook-id"], got[0].headers["webhook-id"], "the same message");
    verify(endpoint["secret"].as_str().unwrap(), &got[2]);
    assert_problem(s.post(&format!("/v1/webhooks/endpoints/{id}/replay-failed"), "{}").await, 422, "/since").await;

    // A delivered message can be sent again on request, to one endpoint.
    let started = Instant::now();
    while s.get_json("/v1/webhooks/messages").await["items"][0]["deliveries"][0]["status"] != "delivered" {
        assert!(started.elapsed() < Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let message_id = message["id"].as_str().unwrap();
    let r = s.post(&format!("/v1/webhooks/messages/{message_id}/replay"), json!({"endpoint_id": id}).to_string()).await;
    assert_eq!(r.json::<Value>().await.unwrap()["replayed"], 1);
    let got = receiver.wait_for(4).await;
    assert_eq!(got[3].headers["webhook-id"].to_str().unwrap(), message_id);
}
