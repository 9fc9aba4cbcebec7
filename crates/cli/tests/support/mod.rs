//! The embedded server on port 0, driven over HTTP like a CI client would.
#![allow(dead_code)] // each test crate uses its own part of this

use std::time::{Duration, Instant};

use provenance_cli::embedded::{self, Embedded};
use provenance_cli::settings::Settings;
use serde_json::Value;

pub struct TestServer {
    pub server: Embedded,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings { data_dir: dir.path().join("data"), ..Settings::default() };
        settings.http_listen = "127.0.0.1:0".parse().unwrap();
        let server = embedded::start(&settings).await.expect("the embedded server starts");
        Self { server, http: reqwest::Client::new(), dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(&self.server.admin_token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.http.delete(self.url(path)).bearer_auth(&self.server.admin_token).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(&self.server.admin_token).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn wait_completed(&self, id: &str) -> Value {
        let started = Instant::now();
        loop {
            let a = self.get_json(&format!("/v1/analysis/{id}")).await;
            match a["status"].as_str() {
                Some("completed") => return a,
                Some("failed") => panic!("analysis failed: {a}"),
                _ if started.elapsed() > Duration::from_secs(30) => panic!("analysis stuck: {a}"),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    pub async fn analyses_count(&self) -> usize {
        self.get_json("/v1/analyses").await["items"].as_array().unwrap().len()
    }
}

pub async fn assert_problem(r: reqwest::Response, status: u16, pointer: &str) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers().contains_key("x-request-id"));
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["status"], status);
    assert!(p["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    let pointers: Vec<&str> = p["errors"].as_array().unwrap().iter().filter_map(|e| e["pointer"].as_str()).collect();
    assert!(pointers.contains(&pointer), "{pointer} not in {p}");
    p
}
