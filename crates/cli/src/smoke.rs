//! `provenance smoke`: is this deployment working, end to end? It checks health, authentication,
//! synchronous detection, a full analysis round trip through the queue and the worker, the
//! decision, the signed bundle (verified offline against the server's published keys) and the
//! SARIF report the bundle signs. It prints a JSON report with each check's result and latency
//! and, when something fails, a root-cause hint an operator can act on.
//!
//! Smoke analyses carry `metadata.smoke = true`: the service leaves them out of its business
//! figures and sends no webhook events for them (`provenance_core::is_smoke`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use clap::Args;
use ed25519_dalek::VerifyingKey;
use provenance_core::SMOKE_METADATA_KEY;
use provenance_core::digest::sha256_hex;
use provenance_core::dsse::Envelope;
use provenance_core::statement::{OpenedStatement, SARIF_SUBJECT_NAME, open_any};
use provenance_store::keyring::parse_public_key;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

use crate::client::resolve_api_key;

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// Base URL of the deployment's API, e.g. `https://provenance.example.com`.
    #[arg(long, env = "PROVENANCE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
    /// API key with `analysis:write` and `analysis:read` (default: the admin key in --data-dir).
    #[arg(long, env = "PROVENANCE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Data dir of a local `provenance serve`, to find its admin key.
    #[arg(long, env = "PROVENANCE_DATA_DIR", default_value = "./provenance-data")]
    pub data_dir: PathBuf,
    /// Also write the JSON report to this file.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// How long the analysis may take from submission to decision, in seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_seconds: u64,
    /// Repository name (`owner/name`) the smoke analysis is filed under.
    #[arg(long, default_value = "provenance-smoke/smoke")]
    pub repo: String,
}

/// What the operator should look at first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    /// Nothing answered at the base URL: DNS, connection refused, TLS or a timeout.
    ServiceUnreachable,
    /// Something answered, but every API route was 404: a wrong URL or path prefix, or an ingress
    /// that routes to another service.
    RouteMismatch,
    /// The API key was refused (401) or lacks a scope (403), or none was given.
    AuthFailed,
    /// `/health/ready` is not 200: the API cannot reach its database or broker.
    NotReady,
    /// 429: the key's rate limit is spent.
    RateLimited,
    /// A 5xx other than readiness.
    ServerError,
    /// The analysis was accepted but not decided in time: no worker is consuming, or it is stuck.
    WorkerStalled,
    /// The analysis ended `failed`.
    AnalysisFailed,
    /// The bundle does not verify under the published keys, or does not sign this analysis.
    BundleInvalid,
    /// The SARIF report is not the one the bundle signs, or not SARIF 2.1.0.
    SarifInvalid,
    /// An answer that is none of the above (wrong shape, unexpected status).
    UnexpectedResponse,
}

impl Hint {
    fn explanation(self) -> &'static str {
        match self {
            Self::ServiceUnreachable => {
                "nothing answered at the base URL: check the URL, DNS, that the api is running and \
                 reachable from here (firewall, load balancer), and TLS"
            }
            Self::RouteMismatch => {
                "the URL answers but every Provenance route is 404: check the base URL's path \
                 prefix and that the ingress or load balancer routes to the provenance-api service"
            }
            Self::AuthFailed => {
                "the API key was refused or lacks a scope: pass a key with analysis:write and \
                 analysis:read (--api-key or PROVENANCE_API_KEY)"
            }
            Self::NotReady => {
                "/health/ready is failing: the api cannot reach PostgreSQL or RabbitMQ; its body \
                 names the dependency"
            }
            Self::RateLimited => "the key's rate limit is spent: wait for the reset or use a key of a higher tier",
            Self::ServerError => "the server answered 5xx: read its logs for the request id in the report",
            Self::WorkerStalled => {
                "the analysis was accepted but not decided in time: check that provenance-worker \
                 runs, is ready, and consumes from RabbitMQ (queue depth, DLQ)"
            }
            Self::AnalysisFailed => "the analysis failed in the worker: its error is in the report",
            Self::BundleInvalid => {
                "the bundle does not verify under the keys the server publishes: are the api and the \
                 workers configured with the same signing key?"
            }
            Self::SarifInvalid => "the SARIF report is not the one the bundle signs, or not SARIF 2.1.0",
            Self::UnexpectedResponse => "the server answered in an unexpected way: see the failed check",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Passed,
    Failed,
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: CheckStatus,
    /// Wall time of the check, all of its requests included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// The status of the response that decided the check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The server's `x-request-id` for that response, to find it in the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub base_url: String,
    pub passed: bool,
    /// The first thing to look at; absent when every check passed.
    pub hint: Option<Hint>,
    pub explanation: Option<&'static str>,
    pub analysis_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub client_version: &'static str,
    pub checks: Vec<Check>,
}

pub async fn run(args: SmokeArgs) -> anyhow::Result<u8> {
    let api_key = resolve_api_key(args.api_key.as_deref(), &args.data_dir);
    let report =
        smoke(&args.base_url, api_key.as_deref(), &args.repo, Duration::from_secs(args.timeout_seconds)).await?;
    for c in &report.checks {
        let mark = match c.status {
            CheckStatus::Passed => "ok  ",
            CheckStatus::Failed => "FAIL",
            CheckStatus::Skipped => "skip",
        };
        let latency = c.latency_ms.map(|ms| format!(" ({ms} ms)")).unwrap_or_default();
        eprintln!("{mark} {:<9}{latency} {}", c.name, c.detail);
    }
    match (report.hint, report.explanation) {
        (Some(hint), Some(why)) => eprintln!("smoke FAILED: {} — {why}", json!(hint).as_str().unwrap_or("?")),
        _ => eprintln!("smoke passed against {} in {} ms", report.base_url, report.duration_ms),
    }
    let text = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.output {
        std::fs::write(path, format!("{text}\n"))?;
    }
    println!("{text}");
    Ok(if report.passed { 0 } else { 1 })
}

/// A response, or why there was none.
struct Answer {
    status: StatusCode,
    request_id: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The problem's `detail` (or the start of the body), for the report.
    fn summary(&self) -> String {
        match self.json() {
            Some(v) if v.get("detail").is_some() => v["detail"].as_str().unwrap_or_default().to_string(),
            _ => String::from_utf8_lossy(&self.body[..self.body.len().min(200)]).trim().to_string(),
        }
    }
}

/// The checks so far, with what routing and authentication looked like.
struct Run {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    checks: Vec<Check>,
    /// API responses seen, and how many were 404: all of them means `route_mismatch`.
    answered: u32,
    not_found: u32,
    first_hint: Option<Hint>,
}

impl Run {
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).timeout(timeout);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        let status = response.status();
        let request_id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = response.bytes().await.map_err(|e| error_chain(&e))?.to_vec();
        self.answered += 1;
        self.not_found += u32::from(status == StatusCode::NOT_FOUND);
        Ok(Answer { status, request_id, body })
    }

    fn pass(&mut self, name: &'static str, started: Instant, answer: Option<&Answer>, detail: String) {
        self.push(name, CheckStatus::Passed, Some(started), answer, detail, None);
    }

    fn fail(&mut self, name: &'static str, started: Instant, answer: Option<&Answer>, detail: String, hint: Hint) {
        self.push(name, CheckStatus::Failed, Some(started), answer, detail, Some(hint));
    }

    /// A failed request: no answer (unreachable), or an answer with the wrong status.
    fn fail_call(&mut self, name: &'static str, started: Instant, result: &Result<Answer, String>, expected: &str) {
        match result {
            Err(why) => self.fail(name, started, None, format!("no answer: {why}"), Hint::ServiceUnreachable),
            Ok(answer) => {
                let hint = hint_for_status(answer.status);
                let detail = format!("expected {expected}, got {}: {}", answer.status, answer.summary());
                self.fail(name, started, Some(answer), detail, hint);
            }
        }
    }

    /// The answer if it is a 200; otherwise the check is recorded as failed, and `None`.
    fn ok<'a>(
        &mut self,
        name: &'static str,
        started: Instant,
        result: &'a Result<Answer, String>,
    ) -> Option<&'a Answer> {
        match result {
            Ok(answer) if answer.status == StatusCode::OK => Some(answer),
            _ => {
                self.fail_call(name, started, result, "200");
                None
            }
        }
    }

    fn skip(&mut self, name: &'static str, why: &str) {
        self.push(name, CheckStatus::Skipped, None, None, why.to_string(), None);
    }

    fn push(
        &mut self,
        name: &'static str,
        status: CheckStatus,
        started: Option<Instant>,
        answer: Option<&Answer>,
        detail: String,
        hint: Option<Hint>,
    ) {
        if self.first_hint.is_none() {
            self.first_hint = hint;
        }
        self.checks.push(Check {
            name,
            status,
            latency_ms: started.map(|s| s.elapsed().as_millis() as u64),
            http_status: answer.map(|a| a.status.as_u16()),
            request_id: answer.and_then(|a| a.request_id.clone()),
            detail,
        });
    }

    fn unreachable(&self) -> bool {
        self.first_hint == Some(Hint::ServiceUnreachable)
    }
}

fn hint_for_status(status: StatusCode) -> Hint {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Hint::AuthFailed,
        StatusCode::NOT_FOUND => Hint::RouteMismatch,
        StatusCode::TOO_MANY_REQUESTS => Hint::RateLimited,
        s if s.is_server_error() => Hint::ServerError,
        _ => Hint::UnexpectedResponse,
    }
}

/// `error: cause: cause`, so "connection refused" or a TLS complaint reaches the report.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The server holds `?wait=` requests up to this long (at most 30 s).
const LONG_POLL_SECONDS: u64 = 20;
const SNIPPET: &str = "query = f\"SELECT * FROM orders WHERE id = {order_id}\"";

/// Run every check against `base_url` and report.
pub async fn smoke(base_url: &str, api_key: Option<&str>, repo: &str, budget: Duration) -> anyhow::Result<Report> {
    let started_at = Utc::now();
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("provenance-smoke/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let mut run = Run {
        http,
        base: base_url.trim_end_matches('/').to_string(),
        token: api_key.map(str::to_string),
        checks: Vec::new(),
        answered: 0,
        not_found: 0,
        first_hint: None,
    };

    health(&mut run).await;
    let keys = if run.unreachable() { None } else { published_keys(&mut run).await };
    let authorized = !run.unreachable() && auth(&mut run).await;
    if authorized {
        detect(&mut run).await;
    } else {
        run.skip("detect", "needs an authorized key");
    }
    let head_sha = random_sha();
    let analysis_id = if authorized { submit(&mut run, repo, &head_sha).await } else { None };
    if !authorized {
        run.skip("submit", "needs an authorized key");
    }
    let completed = match &analysis_id {
        Some(id) => wait_decided(&mut run, id, budget).await,
        None => {
            run.skip("analysis", "needs a submitted analysis");
            false
        }
    };
    if completed && let Some(id) = &analysis_id {
        decision(&mut run, id).await;
        let sarif_digest = bundle(&mut run, id, keys.as_deref(), repo, &head_sha).await;
        sarif(&mut run, id, sarif_digest.as_deref()).await;
    } else {
        for name in ["decision", "bundle", "sarif"] {
            run.skip(name, "needs a decided analysis");
        }
    }

    let passed = run.checks.iter().all(|c| c.status != CheckStatus::Failed);
    // Everything 404 says more than the first failure does: the URL is not a Provenance API.
    let all_404 = run.answered > 0 && run.answered == run.not_found;
    let hint = if passed {
        None
    } else if all_404 {
        Some(Hint::RouteMismatch)
    } else {
        Some(run.first_hint.unwrap_or(Hint::UnexpectedResponse))
    };
    Ok(Report {
        base_url: run.base.clone(),
        passed,
        hint,
        explanation: hint.map(Hint::explanation),
        analysis_id,
        started_at,
        duration_ms: started.elapsed().as_millis() as u64,
        client_version: env!("CARGO_PKG_VERSION"),
        checks: run.checks,
    })
}

/// `/health/live`, then `/health/ready` (which names a failing dependency in its body).
async fn health(run: &mut Run) {
    let t = Instant::now();
    let live = run.call(Method::GET, "/health/live", None, REQUEST_TIMEOUT).await;
    if !matches!(&live, Ok(a) if a.status == StatusCode::OK) {
        return run.fail_call("health", t, &live, "/health/live 200");
    }
    let ready = run.call(Method::GET, "/health/ready", None, REQUEST_TIMEOUT).await;
    match &ready {
        Ok(a) if a.status == StatusCode::OK => run.pass("health", t, Some(a), "live and ready".into()),
        Ok(a) if a.status == StatusCode::SERVICE_UNAVAILABLE => {
            let body = String::from_utf8_lossy(&a.body).to_string();
            run.fail("health", t, Some(a), format!("/health/ready is 503: {body}"), Hint::NotReady);
        }
        _ => run.fail_call("health", t, &ready, "/health/ready 200"),
    }
}

/// The public keys bundles are verified with (`GET /v1/keys`, no authentication).
async fn published_keys(run: &mut Run) -> Option<Vec<VerifyingKey>> {
    let t = Instant::now();
    let answer = run.call(Method::GET, "/v1/keys", None, REQUEST_TIMEOUT).await;
    let a = run.ok("keys", t, &answer)?;
    let parsed: Option<Vec<VerifyingKey>> = a.json().and_then(|doc| {
        doc["keys"].as_array().map(|keys| {
            keys.iter()
                .filter_map(|k| k["public_key_pem"].as_str().and_then(|pem| parse_public_key(pem).ok()))
                .collect()
        })
    });
    match parsed {
        Some(keys) if !keys.is_empty() => {
            run.pass("keys", t, Some(a), format!("{} published signing key(s)", keys.len()));
            Some(keys)
        }
        _ => {
            run.fail("keys", t, Some(a), "no Ed25519 key in GET /v1/keys".into(), Hint::UnexpectedResponse);
            None
        }
    }
}

/// An authenticated read: tells a refused key from everything after it.
async fn auth(run: &mut Run) -> bool {
    let t = Instant::now();
    if run.token.is_none() {
        run.fail("auth", t, None, "no API key: pass --api-key or set PROVENANCE_API_KEY".into(), Hint::AuthFailed);
        return false;
    }
    let answer = run.call(Method::GET, "/v1/analyses?limit=1", None, REQUEST_TIMEOUT).await;
    let Some(a) = run.ok("auth", t, &answer) else { return false };
    run.pass("auth", t, Some(a), "the key reads analyses".into());
    true
}

/// Synchronous detection on a snippet every rule set flags.
async fn detect(run: &mut Run) {
    let t = Instant::now();
    let body = json!({"path": "smoke/orders.py", "language": "python", "content": format!("{SNIPPET}\n")});
    let answer = run.call(Method::POST, "/v1/detect", Some(&body), REQUEST_TIMEOUT).await;
    let Some(a) = run.ok("detect", t, &answer) else { return };
    let findings = a.json().and_then(|v| v["findings"].as_array().cloned()).unwrap_or_default();
    match findings.first() {
        Some(f) => {
            let detail = format!("{} finding(s), first {}", findings.len(), f["rule_id"].as_str().unwrap_or("?"));
            run.pass("detect", t, Some(a), detail);
        }
        None => run.fail(
            "detect",
            t,
            Some(a),
            "no finding on an SQL injection snippet: are the detectors loaded?".into(),
            Hint::UnexpectedResponse,
        ),
    }
}

/// A fresh head sha per run, so the submission is never deduplicated against an earlier one.
fn random_sha() -> String {
    let bytes: [u8; 20] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn submit(run: &mut Run, repo: &str, head_sha: &str) -> Option<String> {
    let t = Instant::now();
    let body = json!({
        "repo": repo,
        "pr_number": 1,
        "base_sha": "0000000000000000000000000000000000000000",
        "head_sha": head_sha,
        "metadata": {SMOKE_METADATA_KEY: true, "client": concat!("provenance-smoke/", env!("CARGO_PKG_VERSION"))},
        "provenance_data": {"changed_lines": [{
            "file_path": "smoke/orders.py", "line_number": 1, "change_type": "added",
            "content": SNIPPET, "language": "python", "attribution": {"agent_id": "provenance-smoke"}
        }]}
    });
    let answer = run.call(Method::POST, "/v1/analysis", Some(&body), REQUEST_TIMEOUT).await;
    let Ok(a) = &answer else {
        run.fail_call("submit", t, &answer, "202");
        return None;
    };
    let id = a.json().and_then(|v| v["analysis_id"].as_str().map(str::to_string));
    match (a.status, id) {
        (StatusCode::ACCEPTED | StatusCode::OK, Some(id)) => {
            run.pass("submit", t, Some(a), format!("accepted {id}"));
            Some(id)
        }
        _ => {
            run.fail_call("submit", t, &answer, "202 with an analysis_id");
            None
        }
    }
}

/// Long-poll the analysis until it settles: the queue, the worker and the pipeline at work.
async fn wait_decided(run: &mut Run, id: &str, budget: Duration) -> bool {
    let t = Instant::now();
    loop {
        let path = format!("/v1/analysis/{id}?wait={LONG_POLL_SECONDS}");
        let answer = run.call(Method::GET, &path, None, REQUEST_TIMEOUT + Duration::from_secs(LONG_POLL_SECONDS)).await;
        let Some(a) = run.ok("analysis", t, &answer) else { return false };
        let analysis = a.json().unwrap_or_default();
        let status = analysis["status"].as_str().unwrap_or("?").to_string();
        match status.as_str() {
            "completed" => {
                run.pass("analysis", t, Some(a), "decided by a worker".into());
                return true;
            }
            "failed" => {
                let detail = format!("the analysis failed: {}", analysis["error"]);
                run.fail("analysis", t, Some(a), detail, Hint::AnalysisFailed);
                return false;
            }
            _ if t.elapsed() >= budget => {
                let detail = format!("still {status} after {} s", budget.as_secs());
                run.fail("analysis", t, Some(a), detail, Hint::WorkerStalled);
                return false;
            }
            _ => {}
        }
    }
}

async fn decision(run: &mut Run, id: &str) {
    let t = Instant::now();
    let answer = run.call(Method::GET, &format!("/v1/analysis/{id}/decision"), None, REQUEST_TIMEOUT).await;
    let Ok(a) = &answer else { return run.fail_call("decision", t, &answer, "200") };
    let outcome = a.json().and_then(|v| v["outcome"].as_str().map(str::to_string));
    match (a.status, outcome) {
        (StatusCode::OK, Some(o)) if matches!(o.as_str(), "allow" | "warn" | "block") => {
            run.pass("decision", t, Some(a), format!("outcome {o}"));
        }
        _ => run.fail_call("decision", t, &answer, "200 with an outcome"),
    }
}

/// Verify the bundle offline, and return the SARIF digest it signs.
async fn bundle(run: &mut Run, id: &str, keys: Option<&[VerifyingKey]>, repo: &str, sha: &str) -> Option<String> {
    let t = Instant::now();
    let answer = run.call(Method::GET, &format!("/v1/analysis/{id}/bundle"), None, REQUEST_TIMEOUT).await;
    let a = run.ok("bundle", t, &answer)?;
    let Some(keys) = keys else {
        run.fail("bundle", t, Some(a), "no published key to verify with".into(), Hint::BundleInvalid);
        return None;
    };
    let envelope: Envelope = match serde_json::from_slice(&a.body) {
        Ok(e) => e,
        Err(e) => {
            run.fail("bundle", t, Some(a), format!("not a DSSE envelope: {e}"), Hint::BundleInvalid);
            return None;
        }
    };
    let verified = open_any(&envelope, keys)
        .map_err(|e| format!("does not verify: {e}"))
        .and_then(|opened| opened.check_subject(Some(repo), Some(sha)).map(|()| opened));
    let statement = match verified {
        Ok(OpenedStatement::Decision(s)) => s,
        Ok(OpenedStatement::Override(_)) => {
            run.fail("bundle", t, Some(a), "holds an override, not a decision".into(), Hint::BundleInvalid);
            return None;
        }
        Err(why) => {
            run.fail("bundle", t, Some(a), why, Hint::BundleInvalid);
            return None;
        }
    };
    let digest = statement.subject_digest(SARIF_SUBJECT_NAME, "sha256").map(str::to_string);
    let keyid = envelope.signatures.first().map(|s| s.keyid.clone()).unwrap_or_default();
    run.pass("bundle", t, Some(a), format!("signature verified (key {keyid}), subject {repo}@{sha}"));
    digest
}

/// The SARIF report: the exact bytes the bundle signs, SARIF 2.1.0, with the smoke finding.
async fn sarif(run: &mut Run, id: &str, signed_digest: Option<&str>) {
    let t = Instant::now();
    let answer = run.call(Method::GET, &format!("/v1/analysis/{id}/sarif"), None, REQUEST_TIMEOUT).await;
    let Some(a) = run.ok("sarif", t, &answer) else { return };
    let digest = sha256_hex(&a.body);
    if let Some(signed) = signed_digest
        && !signed.eq_ignore_ascii_case(&digest)
    {
        let detail = format!("sha256 {digest} is not the {signed} the bundle signs");
        return run.fail("sarif", t, Some(a), detail, Hint::SarifInvalid);
    }
    let doc = a.json().unwrap_or_default();
    let results = doc["runs"][0]["results"].as_array().map_or(0, Vec::len);
    if doc["version"] != "2.1.0" || results == 0 {
        let detail =
            format!("version {} with {results} result(s); expected 2.1.0 with the smoke finding", doc["version"]);
        return run.fail("sarif", t, Some(a), detail, Hint::SarifInvalid);
    }
    let bound = if signed_digest.is_some() { ", the bytes the bundle signs" } else { "" };
    run.pass("sarif", t, Some(a), format!("SARIF 2.1.0, {results} result(s){bound}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_hints() {
        assert_eq!(hint_for_status(StatusCode::UNAUTHORIZED), Hint::AuthFailed);
        assert_eq!(hint_for_status(StatusCode::FORBIDDEN), Hint::AuthFailed);
        assert_eq!(hint_for_status(StatusCode::NOT_FOUND), Hint::RouteMismatch);
        assert_eq!(hint_for_status(StatusCode::TOO_MANY_REQUESTS), Hint::RateLimited);
        assert_eq!(hint_for_status(StatusCode::BAD_GATEWAY), Hint::ServerError);
        assert_eq!(hint_for_status(StatusCode::UNPROCESSABLE_ENTITY), Hint::UnexpectedResponse);
    }

    #[test]
    fn hints_serialise_as_snake_case() {
        assert_eq!(json!(Hint::ServiceUnreachable), "service_unreachable");
        assert_eq!(json!(Hint::RouteMismatch), "route_mismatch");
        assert_eq!(json!(Hint::AuthFailed), "auth_failed");
    }

    #[test]
    fn random_shas_are_forty_hex_digits_and_differ() {
        let (a, b) = (random_sha(), random_sha());
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
