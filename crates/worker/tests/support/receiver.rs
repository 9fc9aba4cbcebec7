//! A webhook receiver for tests: an HTTP server on a free loopback port that answers with
//! scripted statuses (or hangs before answering) and records every request on arrival, with what
//! it answered once it did. Deliveries are checked with the official Standard Webhooks library.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;
use standardwebhooks::Webhook;

/// What the receiver does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Answer at once with this status.
    Status(u16),
    /// Wait this long, then answer with the status (a receiver that hangs).
    Hang(Duration, u16),
}

impl Answer {
    fn status(self) -> u16 {
        match self {
            Self::Status(s) | Self::Hang(_, s) => s,
        }
    }
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived.
    pub at: Instant,
    /// The status answered; `None` while the receiver hangs on it (or if the client went away
    /// before the answer was ready).
    pub answered: Option<u16>,
}

impl Received {
    pub fn webhook_id(&self) -> &str {
        self.headers["webhook-id"].to_str().unwrap()
    }

    pub fn answered_2xx(&self) -> bool {
        self.answered.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The receiver: answers with the scripted answers in turn, then with the default one (200).
#[derive(Clone)]
pub struct Receiver {
    script: Arc<Mutex<VecDeque<Answer>>>,
    default: Arc<Mutex<Answer>>,
    got: Arc<Mutex<Vec<Received>>>,
    pub url: String,
}

impl Receiver {
    /// Serve on a free loopback port at `/hook`; `url` is where to point an endpoint.
    pub async fn start(script: &[Answer]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Self {
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            default: Arc::new(Mutex::new(Answer::Status(200))),
            got: Arc::new(Mutex::new(Vec::new())),
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
        };
        let app = axum::Router::new().route("/hook", axum::routing::post(Self::handle)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    /// Scripted statuses answered at once.
    pub async fn answering(statuses: &[u16]) -> Self {
        Self::start(&statuses.iter().map(|s| Answer::Status(*s)).collect::<Vec<_>>()).await
    }

    /// What to answer once the script is used up (200 unless set).
    pub fn set_default(&self, answer: Answer) {
        *self.default.lock().unwrap() = answer;
    }

    async fn handle(State(r): State<Self>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
        let answer = r.script.lock().unwrap().pop_front().unwrap_or_else(|| *r.default.lock().unwrap());
        let index = {
            let mut got = r.got.lock().unwrap();
            got.push(Received { headers, body, at: Instant::now(), answered: None });
            got.len() - 1
        };
        if let Answer::Hang(duration, _) = answer {
            tokio::time::sleep(duration).await;
        }
        let status = answer.status();
        r.got.lock().unwrap()[index].answered = Some(status);
        (StatusCode::from_u16(status).unwrap(), "receiver says hi")
    }

    /// Every request so far, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Wait until at least `n` requests came in (answered or not); returns them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        self.wait_until(&format!("{n} requests"), timeout, |got| got.len() >= n).await
    }

    /// Wait until `done` holds of the requests so far; returns them.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        mut done: impl FnMut(&[Received]) -> bool,
    ) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received();
            if done(&got) {
                return got;
            }
            assert!(
                started.elapsed() < timeout,
                "waited {timeout:?} for {what}; the receiver got {} request(s): {:?}",
                got.len(),
                got.iter().map(|r| (r.webhook_id().to_string(), r.answered)).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// How many requests of each webhook-id were answered 2xx.
    pub fn delivered_by_id(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for r in self.received().iter().filter(|r| r.answered_2xx()) {
            *counts.entry(r.webhook_id().to_string()).or_default() += 1;
        }
        counts
    }
}

/// Check `got` with the official Standard Webhooks library; returns the message.
pub fn verify(secret: &str, got: &Received) -> Value {
    Webhook::new(secret).unwrap().verify(&got.body, &got.headers).expect("the official library verifies it");
    serde_json::from_slice(&got.body).unwrap()
}
