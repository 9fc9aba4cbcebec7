//! The worker's internal port serves `DetectorService` over gRPC beside `/health` and `/metrics`,
//! driven with the generated client; and the API with `worker_grpc_url` set answers
//! `POST /v1/detect` and the capabilities through it exactly as it does in-process. Real
//! detectors and SQLite: no service needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use provenance_core::snippet::{CapabilitiesResponse, DetectResponse};
use provenance_detect::DetectorSet;
use provenance_proto::status::{field_violations, reason};
use provenance_proto::v1;
use provenance_proto::v1::detector_service_client::DetectorServiceClient;
use provenance_store::config::Settings;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Line 43 builds SQL from an f-string; lines 44-47 run a shell command.
const SNIPPET: &str = "import subprocess\n\ndef export(cur, name, cmd):\n    cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n    subprocess.run(\n        cmd,\n        shell=True,\n    )\n";

/// The worker's internal port on a random loopback port, over the bundled detectors.
async fn internal_port() -> (String, Arc<DetectorSet>) {
    let detectors = Arc::new(DetectorSet::bundled().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = provenance_worker::internal_port::router(Vec::new(), Arc::clone(&detectors)).await;
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, detectors)
}

async fn client(url: &str) -> DetectorServiceClient<Channel> {
    DetectorServiceClient::connect(url.to_string()).await.unwrap()
}

fn snippet_request() -> v1::DetectRequest {
    v1::DetectRequest {
        path: "app/export.py".into(),
        content: SNIPPET.into(),
        first_line: Some(40),
        declared: Some(v1::DetectDeclared { agent_id: Some("claude-code".into()), ..Default::default() }),
        ..Default::default()
    }
}

// ---- the worker's DetectorService -----------------------------------------------------------

#[tokio::test]
async fn the_worker_advertises_the_detectors_its_pipeline_runs() {
    let (url, detectors) = internal_port().await;
    let caps = client(&url).await.capabilities(v1::CapabilitiesRequest {}).await.unwrap().into_inner();
    let caps = CapabilitiesResponse::try_from(caps).unwrap();
    assert_eq!(caps, detectors.capabilities_response());
    let engines: Vec<&str> = caps.detectors.iter().map(|d| d.engine.as_str()).collect();
    assert_eq!(engines, ["pattern", "ast-grep"]);
}

#[tokio::test]
async fn the_worker_finds_the_sql_fstring_and_the_shell_call_of_a_snippet() {
    let (url, detectors) = internal_port().await;
    let mut client = client(&url).await;
    let out = client.detect(snippet_request()).await.unwrap().into_inner();
    // What the API computes in-process for the same request.
    let request = provenance_core::ingest::DetectRequest::try_from(snippet_request()).unwrap();
    let submission = provenance_core::ingest::validate_detect_request(request).unwrap();
    let in_process = detectors.detect_snippet(&submission, provenance_detect::SNIPPET_BUDGET);
    let received = DetectResponse::try_from(out.clone()).unwrap();
    assert_eq!(DetectResponse { duration_ms: 0, ..received }, DetectResponse { duration_ms: 0, ..in_process });
    let found: Vec<(u32, &str, &str)> = out
        .findings
        .iter()
        .map(|f| (f.location.as_ref().unwrap().start_line, f.rule_id.as_str(), f.engine.as_str()))
        .collect();
    assert_eq!(
        found,
        [(43, "python.sqli.fstring", "pattern"), (44, "python.command-injection.subprocess-shell", "ast-grep")]
    );
    assert_eq!(out.findings[1].location.as_ref().unwrap().end_line, 47, "the structural match spans the call");
    assert!(out.findings.iter().all(|f| f.fingerprint.len() == 32), "{:?}", out.findings);
    let attribution = out.attribution.as_ref().unwrap();
    assert_eq!((attribution.contributor.as_str(), attribution.agent_id.as_str()), ("ai", "claude-code"));
    assert_eq!(out.detectors.len(), 2);
    assert!(out.detectors_incomplete.is_empty());

    // Only the findings touching the changed lines: 46 is inside the subprocess call.
    let selected = v1::DetectRequest {
        changed_lines: Some(v1::LineSelection { lines: vec![46] }),
        declared: None,
        ..snippet_request()
    };
    let out = client.detect(selected).await.unwrap().into_inner();
    let ids: Vec<&str> = out.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(ids, ["python.command-injection.subprocess-shell"]);
    assert_eq!(out.attribution.unwrap().contributor, "unknown");

    // An empty selection reports nothing, where no selection reports everything.
    let none = v1::DetectRequest { changed_lines: Some(v1::LineSelection { lines: vec![] }), ..snippet_request() };
    assert!(client.detect(none).await.unwrap().into_inner().findings.is_empty());
}

#[tokio::test]
async fn the_worker_refuses_bad_input_naming_each_field_as_rest_does() {
    let (url, _) = internal_port().await;
    let mut client = client(&url).await;

    let invalid = v1::DetectRequest {
        path: "../etc/passwd".into(),
        content: "x".into(),
        first_line: Some(0),
        changed_lines: Some(v1::LineSelection { lines: vec![3, 0] }),
        ..Default::default()
    };
    let e = client.detect(invalid).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(reason(&e).as_deref(), Some("validation-error"));
    let pointers: Vec<String> = field_violations(&e).into_iter().map(|(p, _)| p).collect();
    assert_eq!(pointers, ["/path", "/first_line", "/changed_lines/1"]);

    let unknown = v1::DetectRequest {
        declared: Some(v1::DetectDeclared { contributor: Some("robot".into()), ..Default::default() }),
        ..snippet_request()
    };
    let e = client.detect(unknown).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(reason(&e).as_deref(), Some("malformed-request"));
    assert_eq!(field_violations(&e)[0].0, "/declared/contributor");

    // Over 1 MiB of content, though well within what the port reads.
    let huge = v1::DetectRequest { content: "x".repeat(1024 * 1024 + 1), ..snippet_request() };
    let e = client.detect(huge).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    assert_eq!(reason(&e).as_deref(), Some("payload-too-large"));
    let violations = field_violations(&e);
    assert_eq!(violations[0].0, "/content");
    assert!(violations[0].1.contains("1 MiB"), "{violations:?}");
}

#[tokio::test]
async fn grpc_health_reports_the_detector_service_beside_http_health() {
    let (url, _) = internal_port().await;
    let mut health = HealthClient::new(Channel::from_shared(url.clone()).unwrap().connect().await.unwrap());
    for service in ["", "provenance.v1.DetectorService"] {
        let answer = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
    let unknown = health.check(HealthCheckRequest { service: "provenance.v1.Nope".into() }).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // HTTP/1.1 on the same port, as orchestrators and Prometheus use it.
    let http = reqwest::Client::new();
    let live = http.get(format!("{url}/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(live.version(), reqwest::Version::HTTP_11);
    assert_eq!(http.get(format!("{url}/metrics")).send().await.unwrap().status(), 200);
    assert_eq!(http.get(format!("{url}/nope")).send().await.unwrap().status(), 404);
}

// ---- the API calling it ---------------------------------------------------------------------

struct Api {
    base_url: String,
    token: String,
    http: reqwest::Client,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Api {
    /// `provenance-api` on SQLite, its detectors in-process or at `worker_grpc_url`.
    async fn start(worker_grpc_url: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let token = provenance_core::access::mint_api_key(rand::random()).token;
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            migrate: true,
            bootstrap_admin_key: Some(token.clone().into()),
            worker_grpc_url,
            ..Settings::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        tokio::spawn(provenance_api::startup::serve_on(listener, settings, shutdown.clone()));
        let api = Self { base_url, token, http: reqwest::Client::new(), shutdown, _dir: dir };
        let started = std::time::Instant::now();
        while api.http.get(format!("{}/health/live", api.base_url)).send().await.is_err() {
            assert!(started.elapsed() < std::time::Duration::from_secs(30), "the API did not start");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        api
    }

    async fn detect(&self, body: &Value) -> (u16, Option<String>, Value) {
        let r = self
            .http
            .post(format!("{}/v1/detect", self.base_url))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let content_type = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string());
        (r.status().as_u16(), content_type, r.json().await.unwrap())
    }

    async fn capabilities(&self) -> (u16, Value) {
        let r = self.http.get(format!("{}/v1/detectors/capabilities", self.base_url)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The answer without what differs between any two calls: the timing and the request id.
fn comparable(mut answer: Value) -> Value {
    if let Some(map) = answer.as_object_mut() {
        map.remove("duration_ms");
        map.remove("request_id");
    }
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_through_the_worker_exactly_as_in_process() {
    let (worker_url, _) = internal_port().await;
    let local = Api::start(None).await;
    let remote = Api::start(Some(worker_url)).await;

    let (local_caps, remote_caps) = (local.capabilities().await, remote.capabilities().await);
    assert_eq!(local_caps.0, 200);
    assert_eq!(remote_caps, local_caps);

    let bodies = [
        json!({"path": "app/export.py", "content": SNIPPET, "first_line": 40, "declared": {"agent_id": "claude-code", "model_id": "anthropic/claude-opus-4-5"}}),
        json!({"path": "app/export.py", "content": SNIPPET, "first_line": 40, "changed_lines": [46]}),
        json!({"path": "scripts/tool", "language": "python", "content": "data = yaml.load(stream)\n", "declared": {"contributor": "human"}}),
        json!({"path": "empty.py", "content": ""}),
        // Invalid fields: 422 with the same pointers.
        json!({"path": "../etc/passwd", "content": "x", "first_line": 0, "changed_lines": [3, 0]}),
        // Over 1 MiB of content: 413 naming /content.
        json!({"path": "a.py", "content": "x".repeat(1024 * 1024 + 1)}),
        // Malformed: 400, answered before any detector is asked.
        json!({"path": "a.py", "content": "x", "declared": {"contributor": "robot"}}),
    ];
    let mut statuses = Vec::new();
    for body in &bodies {
        let (status, content_type, answer) = local.detect(body).await;
        let (remote_status, remote_content_type, remote_answer) = remote.detect(body).await;
        assert_eq!((remote_status, &remote_content_type), (status, &content_type), "{body}");
        assert_eq!(comparable(remote_answer), comparable(answer), "{body}");
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 422, 413, 400]);

    // The findings are the real ones, not two empty answers alike.
    let (_, _, answer) = remote.detect(&bodies[0]).await;
    let rules: Vec<&str> =
        answer["findings"].as_array().unwrap().iter().map(|f| f["rule_id"].as_str().unwrap()).collect();
    assert_eq!(rules, ["python.sqli.fstring", "python.command-injection.subprocess-shell"]);
    let (_, _, problem) = remote.detect(&bodies[4]).await;
    let pointers: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["/path", "/first_line", "/changed_lines/1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_does_not_answer_is_a_503_problem() {
    // A loopback port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let api = Api::start(Some(format!("http://127.0.0.1:{port}"))).await;

    let (status, content_type, problem) = api.detect(&json!({"path": "a.py", "content": "eval(x)\n"})).await;
    assert_eq!(status, 503);
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert_eq!(problem["type"], "https://provenance.dev/problems/unavailable");
    assert!(problem["detail"].as_str().unwrap().contains("worker"), "{problem}");

    let (status, problem) = api.capabilities().await;
    assert_eq!(status, 503);
    assert_eq!(problem["status"], 503);

    // Bad input is still refused first, and the API itself stays ready.
    let (status, _, _) = api.detect(&json!({"path": "a.py", "content": 7})).await;
    assert_eq!(status, 400);
    let ready = api.http.get(format!("{}/health/ready", api.base_url)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}
