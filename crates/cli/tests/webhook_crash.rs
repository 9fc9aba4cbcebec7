//! Embedded mode survives a crash mid-delivery (SPEC §6): the real `provenance serve` binary is
//! SIGKILLed while a receiver holds a webhook request unanswered, started again on the same data
//! dir, and the message is delivered after the restart (the embedded queue's lease runs out and
//! the job comes back) with the same `webhook-id`, verified with the official Standard Webhooks
//! library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use standardwebhooks::Webhook;

/// The embedded queue's lease in this test: how long a job claimed by the killed server stays
/// reserved before the restarted one may take it (the default, 60 s, would make the test slow).
const LEASE_SECONDS: &str = "5";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
    /// `None` while the receiver holds the request.
    answered: Option<u16>,
}

impl Received {
    fn webhook_id(&self) -> &str {
        self.headers["webhook-id"].to_str().unwrap()
    }
}

/// Holds the first request for `hang` (recorded on arrival), answers 200 to the others.
#[derive(Clone)]
struct Receiver {
    hang: Duration,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(hang: Duration) -> (Self, String) {
        let receiver = Self { hang, got: Arc::new(Mutex::new(Vec::new())) };
        let app = axum::Router::new().route("/hook", axum::routing::post(Self::handle)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    async fn handle(State(r): State<Self>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
        let index = {
            let mut got = r.got.lock().unwrap();
            got.push(Received { headers, body, at: Instant::now(), answered: None });
            got.len() - 1
        };
        if index == 0 {
            tokio::time::sleep(r.hang).await;
        }
        r.got.lock().unwrap()[index].answered = Some(200);
        (StatusCode::OK, "receiver says hi")
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    async fn wait_until(&self, what: &str, timeout: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(started.elapsed() < timeout, "waited {timeout:?} for {what}; received: {got:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A `provenance serve` process; SIGKILLed when dropped.
struct Serve {
    child: Child,
    base_url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    /// Start `provenance serve` on `data` and port 0; returns once it printed its address.
    fn start(data: &Path, admin_key: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_provenance"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .current_dir(data.parent().unwrap())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PROVENANCE_BOOTSTRAP_ADMIN_KEY", admin_key)
            .env("PROVENANCE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
            .env("PROVENANCE_WORKER__LEASE_SECONDS", LEASE_SECONDS)
            .env("PROVENANCE_WORKER__POLL_INTERVAL_MS", "100")
            .env("PROVENANCE_LOG_FORMAT", "text")
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("provenance serve starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let lines = Arc::clone(&log);
        // Keeps reading (a full pipe would block the server) and keeps the lines for failures.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let base_url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("provenance serve did not start:\n{}", log.lock().unwrap().join("\n"));
            }
        };
        Self { child, base_url, log }
    }

    /// SIGKILL: no chance to finish the attempt or hand back the job.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Client {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl Client {
    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        let url = format!("{}{path}", self.base_url);
        self.http.post(url).bearer_auth(&self.token).json(body).send().await.unwrap()
    }

    async fn get_json(&self, path: &str) -> Value {
        let r = self.http.get(format!("{}{path}", self.base_url)).bearer_auth(&self.token).send().await.unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }
}

fn verify(secret: &str, got: &Received) -> Value {
    Webhook::new(secret).unwrap().verify(&got.body, &got.headers).expect("the official library verifies it");
    serde_json::from_slice(&got.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_delivery_delivers_the_message_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin_key = provenance_core::access::mint_api_key(rand::random()).token;
    let (receiver, url) = Receiver::start(Duration::from_secs(30)).await;

    let mut server = Serve::start(&data, &admin_key);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let client = Client { http, base_url: server.base_url.clone(), token: admin_key.clone() };
    let r = client.post("/v1/webhooks/endpoints", &json!({"url": url, "retry_schedule_seconds": [1, 1, 1]})).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let endpoint: Value = r.json().await.unwrap();
    let endpoint_id = endpoint["id"].as_str().unwrap().to_string();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    let r = client.post(&format!("/v1/webhooks/endpoints/{endpoint_id}/test"), &json!({})).await;
    assert_eq!(r.status(), 202);
    let message_id = r.json::<Value>().await.unwrap()["message_id"].as_str().unwrap().to_string();

    // The receiver holds the first request: the server dies waiting for the answer.
    let got = receiver.wait_until("the first request", Duration::from_secs(30), |got| !got.is_empty()).await;
    server.kill();
    let killed_at = Instant::now();
    assert_eq!(got[0].webhook_id(), message_id);
    let before = receiver.received();
    assert_eq!(before.len(), 1, "only the held request came before the kill: {before:?}");
    assert_eq!(before[0].answered, None, "killed mid-delivery");
    let first_log = server.log();

    let server = Serve::start(&data, &admin_key);
    let client = Client { base_url: server.base_url.clone(), ..client };
    let got = receiver
        .wait_until("a 2xx answer after the restart", Duration::from_secs(90), |got| {
            got.iter().any(|r| r.at > killed_at && r.answered == Some(200))
        })
        .await;
    eprintln!("delivered {:?} after the kill", killed_at.elapsed());
    for r in &got {
        assert_eq!(r.webhook_id(), message_id, "the same message");
        assert_eq!(verify(&secret, r)["type"], "webhook.test");
    }

    let started = Instant::now();
    let logged = loop {
        let logged = client.get_json(&format!("/v1/webhooks/endpoints/{endpoint_id}/attempts")).await;
        let items = logged["items"].as_array().unwrap().clone();
        if items.iter().any(|a| a["outcome"] == "delivered") {
            break items;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no delivered attempt logged: {logged}\n--- first server:\n{first_log}\n--- restarted server:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(logged.iter().all(|a| a["message_id"] == message_id.as_str()), "{logged:?}");
    let messages = client.get_json("/v1/webhooks/messages").await;
    let message = &messages["items"][0];
    assert_eq!(message["id"], message_id.as_str());
    assert_eq!(message["deliveries"][0]["status"], "delivered", "{messages}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = receiver.received();
    assert_eq!(after.iter().filter(|r| r.at > killed_at).count(), 1, "one delivery after the restart: {after:?}");
}
