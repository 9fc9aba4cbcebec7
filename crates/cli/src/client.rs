//! A small HTTP client for the Provenance REST API, used by `submit`, `verify --server` and
//! `api-keys --server`. It finds its API key in `--api-key`/`PROVENANCE_API_KEY`, else in the
//! `admin.key` that `serve` wrote into the data dir.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::Value;

use provenance_api::bootstrap::admin_key_path;

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// The API key to use: the flag/env value, else the data dir's `admin.key`.
pub fn resolve_api_key(flag: Option<&str>, data_dir: &Path) -> Option<String> {
    if let Some(k) = flag.filter(|k| !k.trim().is_empty()) {
        return Some(k.trim().to_string());
    }
    std::fs::read_to_string(admin_key_path(data_dir)).ok().map(|s| s.trim().to_string())
}

impl Client {
    pub fn new(base: &str, token: Option<String>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("provenance-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { http, base: base.trim_end_matches('/').to_string(), token })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{}", self.base, path));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// GET a JSON document; a problem response becomes an error that quotes it.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let response = self.request(reqwest::Method::GET, path).send().await.with_context(|| self.unreachable())?;
        read_json(response).await
    }

    /// GET raw bytes (e.g. the canonical SARIF document).
    pub async fn get_bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self.request(reqwest::Method::GET, path).send().await.with_context(|| self.unreachable())?;
        if !response.status().is_success() {
            return Err(problem_error(response).await);
        }
        Ok(response.bytes().await?.to_vec())
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
        let response =
            self.request(reqwest::Method::POST, path).json(body).send().await.with_context(|| self.unreachable())?;
        let status = response.status();
        Ok((status, read_json(response).await?))
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        let response = self.request(reqwest::Method::DELETE, path).send().await.with_context(|| self.unreachable())?;
        if !response.status().is_success() {
            return Err(problem_error(response).await);
        }
        Ok(())
    }

    fn unreachable(&self) -> String {
        format!("could not reach the Provenance server at {} (is `provenance serve` running?)", self.base)
    }
}

async fn read_json(response: reqwest::Response) -> anyhow::Result<Value> {
    if !response.status().is_success() {
        return Err(problem_error(response).await);
    }
    response.json().await.context("the server answered with invalid JSON")
}

async fn problem_error(response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let Ok(problem) = serde_json::from_str::<Value>(&body) else {
        return anyhow::anyhow!("HTTP {status}: {body}");
    };
    let mut message = format!(
        "HTTP {status}: {} — {}",
        problem["title"].as_str().unwrap_or("error"),
        problem["detail"].as_str().unwrap_or("")
    );
    for e in problem["errors"].as_array().into_iter().flatten() {
        message.push_str(&format!(
            "\n  {}: {}",
            e["pointer"].as_str().unwrap_or(""),
            e["detail"].as_str().unwrap_or("")
        ));
    }
    if status == StatusCode::UNAUTHORIZED {
        message.push_str(
            "\n(pass --api-key or set PROVENANCE_API_KEY; `serve` writes an admin key to <data-dir>/admin.key)",
        );
    }
    anyhow::anyhow!(message)
}

/// Fail unless `status` is one of `expected`.
pub fn expect_status(status: StatusCode, expected: &[StatusCode], body: &Value) -> anyhow::Result<()> {
    if !expected.contains(&status) {
        bail!("unexpected HTTP {status}: {body}");
    }
    Ok(())
}
