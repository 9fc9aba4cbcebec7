//! End to end: the embedded server on port 0, driven over HTTP like a CI client would, and the
//! `provenance` binary verifying what it returns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use provenance_cli::embedded;
use provenance_cli::settings::Settings;
use serde_json::{Value, json};
use support::{TestServer, assert_problem};

mod support;
use sha2::{Digest, Sha256};

const ACCEPTANCE: &str = r#"{"repo":"acme/shop","pr_number":"42","base_sha":"abc123","head_sha":"def456","provenance_data":{"changed_lines":[{"file_path":"api/orders.py","line_number":128,"change_type":"added","content":"query = f\"SELECT * FROM orders WHERE id = {order_id}\"","language":"python","attribution":{"agent_id":"claude-3-opus"}}]}}"#;

fn provenance_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_provenance"))
}

fn write_public_key(server: &TestServer, path: &Path) {
    std::fs::write(path, &server.server.keyring.current().public_key_pem).unwrap();
}

#[tokio::test]
async fn the_acceptance_payload_runs_to_a_verified_decision_citing_the_sql_injection() {
    let s = TestServer::start().await;
    let r = s.post("/v1/analysis", ACCEPTANCE).await;
    assert_eq!(r.status(), 202);
    let accepted: Value = r.json().await.unwrap();
    let id = accepted["analysis_id"].as_str().unwrap().to_string();
    assert!(id.starts_with("an_"));
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["status_url"], format!("/v1/analysis/{id}"));

    let analysis = s.wait_completed(&id).await;
    assert!(analysis["findings_total"].as_u64().unwrap() >= 1);
    assert!(analysis["risk_summary"]["by_category"]["sqli"].as_u64().unwrap() >= 1);

    let findings = s.get_json(&format!("/v1/analysis/{id}/findings")).await;
    let sqli = findings["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "sqli")
        .expect("an SQL injection finding");
    assert_eq!(sqli["location"]["file_path"], "api/orders.py");
    assert_eq!(sqli["location"]["start_line"], 128);
    assert_eq!(sqli["attribution"]["agent_id"], "claude-3-opus");
    assert_eq!(sqli["attribution"]["source"], "declared");

    let decision = s.get_json(&format!("/v1/analysis/{id}/decision")).await;
    assert_ne!(decision["outcome"], "allow");
    let cited = decision["fired_rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["finding_ids"].as_array().is_some_and(|ids| ids.contains(&sqli["id"])));
    assert!(cited, "the decision cites the finding: {decision}");
    // Both engines ran, and the decision records each rule-pack digest the server advertises.
    let caps: Value = s.get_json("/v1/detectors/capabilities").await;
    let advertised: Vec<(&str, &str)> = caps["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["rulepack_sha256"].as_str().unwrap()))
        .collect();
    let recorded: Vec<(&str, &str)> = decision["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["rulepack_sha256"].as_str().unwrap()))
        .collect();
    assert_eq!(recorded, advertised);
    assert_eq!(recorded.len(), 2);

    let lines = s.get_json(&format!("/v1/analysis/{id}/lines")).await;
    assert_eq!(lines["items"][0]["attribution"]["contributor"], "ai");
    assert_eq!(lines["items"][0]["attribution"]["confidence"], 0.9);

    // The bundle verifies with the CLI, offline, and names the SARIF by digest.
    let bundle = s.get_json(&format!("/v1/analysis/{id}/bundle")).await;
    let bundle_path = s.dir.path().join("bundle.json");
    std::fs::write(&bundle_path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let key_path = s.dir.path().join("pub.pem");
    write_public_key(&s, &key_path);
    let out = provenance_bin()
        .args(["verify", bundle_path.to_str().unwrap(), "--key", key_path.to_str().unwrap()])
        .args(["--repo", "acme/shop", "--sha", "def456"])
        .output()
        .unwrap();
    assert!(out.status.success(), "verify failed: {}", String::from_utf8_lossy(&out.stderr));
    let statement: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(statement["predicate"]["outcome"], decision["outcome"]);
    assert_eq!(statement["predicate"]["analysis_id"], id);

    let sarif_bytes = s.get(&format!("/v1/analysis/{id}/sarif")).await.bytes().await.unwrap();
    let sarif_digest = hex::encode(Sha256::digest(&sarif_bytes));
    let sarif_subject = statement["subject"].as_array().unwrap().iter().find(|s| s["name"] == "sarif").unwrap();
    assert_eq!(sarif_subject["digest"]["sha256"], sarif_digest, "the served SARIF is the one that was signed");

    // One changed byte of the payload and verification fails.
    let mut tampered = bundle.clone();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut payload = b64.decode(tampered["payload"].as_str().unwrap()).unwrap();
    let at = payload.windows(5).position(|w| w == b"block" || w == b"warn\"").unwrap_or(10);
    payload[at] ^= 0x01;
    tampered["payload"] = json!(b64.encode(payload));
    std::fs::write(&bundle_path, serde_json::to_vec(&tampered).unwrap()).unwrap();
    let out = provenance_bin()
        .args(["verify", bundle_path.to_str().unwrap(), "--key", key_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("verification FAILED"));

    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_served_sarif_validates_against_the_official_schema() {
    let s = TestServer::start().await;
    let id = s.post("/v1/analysis", ACCEPTANCE).await.json::<Value>().await.unwrap()["analysis_id"]
        .as_str()
        .unwrap()
        .to_string();
    s.wait_completed(&id).await;
    let r = s.get(&format!("/v1/analysis/{id}/sarif")).await;
    assert_eq!(r.headers()["content-type"], "application/sarif+json");
    let sarif: Value = r.json().await.unwrap();
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/fixtures/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
    assert_eq!(sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"], 128);
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn invalid_submissions_get_problem_details_naming_the_field_and_store_nothing() {
    let s = TestServer::start().await;
    let traversal = ACCEPTANCE.replace("api/orders.py", "../etc/passwd");
    assert_problem(s.post("/v1/analysis", traversal).await, 422, "/provenance_data/changed_lines/0/file_path").await;
    let missing_repo = ACCEPTANCE.replace(r#""repo":"acme/shop","#, "");
    assert_problem(s.post("/v1/analysis", missing_repo).await, 422, "/repo").await;
    let wrong_type = ACCEPTANCE.replace(r#""line_number":128"#, r#""line_number":"one hundred""#);
    assert_problem(s.post("/v1/analysis", wrong_type).await, 400, "/provenance_data/changed_lines/0/line_number").await;
    let huge = format!(r#"{{"repo":"acme/shop","diff":"{}"}}"#, "x".repeat(17 * 1024 * 1024));
    let p = assert_problem(s.post("/v1/analysis", huge).await, 413, "").await;
    assert!(p["detail"].as_str().unwrap().contains("max_body_bytes"), "{p}");
    assert_problem(s.post("/v1/analysis", "{not json").await, 400, "").await;
    assert_eq!(s.analyses_count().await, 0, "no analysis was created");
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn requests_without_a_valid_key_are_refused() {
    let s = TestServer::start().await;
    let r = s.http.post(s.url("/v1/analysis")).body(ACCEPTANCE).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let forged = format!("pvn_key_01JDQ7Z4V3K8M2N5P6R7S8T9VW_{}", "0".repeat(64));
    let r = s.http.get(s.url("/v1/analyses")).bearer_auth(forged).send().await.unwrap();
    assert_eq!(r.status(), 401);
    // Public endpoints need no key.
    assert_eq!(s.http.get(s.url("/v1/keys")).send().await.unwrap().status(), 200);
    assert_eq!(s.http.get(s.url("/health/live")).send().await.unwrap().status(), 200);
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_read_only_key_cannot_submit_and_a_revoked_key_stops_working() {
    let s = TestServer::start().await;
    let created: Value =
        s.post("/v1/api-keys", r#"{"name":"reader","scopes":["analysis:read"]}"#).await.json().await.unwrap();
    let token = created["token"].as_str().unwrap();
    let r = s.http.post(s.url("/v1/analysis")).bearer_auth(token).body(ACCEPTANCE).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r = s.http.get(s.url("/v1/analyses")).header("x-api-key", token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let del = s
        .http
        .delete(s.url(&format!("/v1/api-keys/{}", created["id"].as_str().unwrap())))
        .bearer_auth(&s.server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    let r = s.http.get(s.url("/v1/analyses")).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn resubmissions_are_deduplicated_and_idempotency_keys_replay_the_first_answer() {
    let s = TestServer::start().await;
    let first: Value = s.post("/v1/analysis", ACCEPTANCE).await.json().await.unwrap();
    let again = s.post("/v1/analysis", ACCEPTANCE).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["analysis_id"], first["analysis_id"]);
    assert_eq!(again["deduplicated"], true);

    let other = ACCEPTANCE.replace("def456", "fed654");
    let keyed = |body: String| {
        s.http
            .post(s.url("/v1/analysis"))
            .bearer_auth(&s.server.admin_token)
            .header("idempotency-key", "ci-run-17")
            .body(body)
            .send()
    };
    let a = keyed(other.clone()).await.unwrap();
    assert_eq!(a.status(), 202);
    let a: Value = a.json().await.unwrap();
    let b = keyed(other.clone()).await.unwrap();
    assert_eq!(b.status(), 202);
    assert_eq!(b.headers()["idempotent-replayed"], "true");
    assert_eq!(b.json::<Value>().await.unwrap()["analysis_id"], a["analysis_id"]);
    let c = keyed(other.replace("fed654", "fed655")).await.unwrap();
    assert_eq!(c.status(), 422, "the same key with another body is refused");
    assert_eq!(s.analyses_count().await, 2);
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_callers() {
    let s = TestServer::start().await;
    let r = s.http.get(s.url("/health/live")).header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-abc-123");
    let r = s.http.get(s.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers()["x-request-id"].to_str().unwrap().starts_with("req_"));
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn operations_endpoints_report_health_metrics_openapi_and_docs() {
    let s = TestServer::start().await;
    let ready: Value = s.get_json("/health/ready").await;
    assert_eq!(ready["status"], "ok");
    let names: Vec<&str> =
        ready["components"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["database", "queue"]);
    assert_eq!(s.get_json("/healthz").await["status"], "ok");
    assert_eq!(s.get("/health/startup").await.status(), 200);

    let openapi: Value = s.get_json("/openapi.json").await;
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(openapi["paths"]["/v1/analysis"]["post"].is_object());
    let docs = s.get("/docs").await.text().await.unwrap();
    assert!(docs.contains("/docs/swagger-ui-bundle.js") && !docs.contains("https://"), "the page loads nothing remote");
    assert_eq!(s.get("/docs/swagger-ui-bundle.js").await.status(), 200);

    let caps: Value = s.get_json("/v1/detectors/capabilities").await;
    let engines: Vec<&str> =
        caps["detectors"].as_array().unwrap().iter().map(|d| d["engine"].as_str().unwrap()).collect();
    assert_eq!(engines, ["pattern", "ast-grep"]);
    for det in caps["detectors"].as_array().unwrap() {
        assert_eq!(det["rulepack_sha256"].as_str().unwrap().len(), 64);
        assert!(det["rules"].as_array().unwrap().len() >= 8, "{}", det["name"]);
    }
    let keys: Value = s.get_json("/v1/keys").await;
    assert_eq!(keys["keys"][0]["keyid"].as_str().unwrap().len(), 64);

    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"));
    assert!(metrics.contains("provenance_analyses"));
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_restart_reuses_the_admin_key_and_the_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings { data_dir: dir.path().to_path_buf(), ..Settings::default() };
    settings.http_listen = "127.0.0.1:0".parse().unwrap();
    let first = embedded::start(&settings).await.unwrap();
    assert!(first.admin_key_created);
    let path = first.admin_key_file.clone().unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let (token, keyid) = (first.admin_token.clone(), first.keyring.current().keyid.clone());
    first.stop().await.unwrap();

    let second = embedded::start(&settings).await.unwrap();
    assert!(!second.admin_key_created);
    assert_eq!(second.admin_token, token);
    assert_eq!(second.keyring.current().keyid, keyid);
    second.stop().await.unwrap();
}

// Multi-threaded: the test blocks on the CLI process while the server answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_diffs_a_git_repository_writes_the_reports_and_fails_on_block() {
    let s = TestServer::start().await;
    let repo = s.dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    std::fs::write(repo.join("app.py"), "import os\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    // A hard-coded AWS key is a critical secret: the default policy blocks.
    std::fs::write(repo.join("app.py"), "import os\nAWS_KEY = \"AKIA4HKX2QJ7WZ5N3TPR\"\n").unwrap();
    git(&["commit", "-qam", "add key"]);

    let out_dir = s.dir.path().join("out");
    let out = provenance_bin()
        .args(["submit", "--server", &s.server.base_url(), "--api-key", &s.server.admin_token])
        .args(["--repo-dir", repo.to_str().unwrap(), "--base", "HEAD~1", "--repo", "acme/shop", "--pr", "7"])
        .args(["--out-dir", out_dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "block exits 2: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("BLOCK"), "{stdout}");
    assert!(stdout.contains("app.py:2"), "{stdout}");
    assert!(out_dir.join("provenance.sarif").exists());
    assert!(out_dir.join("provenance-bundle.json").exists());
    s.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_api_keys_made_by_the_cli_work_with_the_running_server() {
    let s = TestServer::start().await;
    let data_dir = s.dir.path().join("data");
    let out =
        provenance_bin().args(["keys", "show", "--pem", "--data-dir", data_dir.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), s.server.keyring.current().public_key_pem);

    let out = provenance_bin()
        .args(["api-keys", "create", "--name", "ci", "--data-dir", data_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let r = s.http.post(s.url("/v1/analysis")).bearer_auth(&token).body(ACCEPTANCE).send().await.unwrap();
    assert_eq!(r.status(), 202, "a key created in the data dir is accepted by the server");

    let out = provenance_bin()
        .args(["api-keys", "list", "--server", &s.server.base_url(), "--api-key", &s.server.admin_token])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(listed.as_array().unwrap().iter().any(|k| k["name"] == "ci"));

    let out =
        provenance_bin().args(["config", "print"]).env("PROVENANCE_HTTP_LISTEN", "127.0.0.1:9191").output().unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains("http_listen = \"127.0.0.1:9191\""));
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn anonymous_callers_are_rate_limited_with_headers_and_retry_after() {
    let s = TestServer::start().await;
    let first = s.http.get(s.url("/v1/keys")).send().await.unwrap();
    assert_eq!(first.headers()["x-ratelimit-limit"], "100");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "99");
    assert!(first.headers().contains_key("x-ratelimit-reset"));
    for _ in 0..99 {
        assert_eq!(s.http.get(s.url("/v1/keys")).send().await.unwrap().status(), 200);
    }
    let denied = s.http.get(s.url("/v1/keys")).send().await.unwrap();
    assert_eq!(denied.status(), 429);
    assert_eq!(denied.headers()["content-type"], "application/problem+json");
    assert!(denied.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(denied.headers()["x-ratelimit-remaining"], "0");
    // A standard key has its own, larger budget; admin keys are unlimited; health checks are
    // never limited.
    let created: Value = s.post("/v1/api-keys", r#"{"name":"ci"}"#).await.json().await.unwrap();
    let keyed = s.http.get(s.url("/v1/analyses")).bearer_auth(created["token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(keyed.status(), 200);
    assert_eq!(keyed.headers()["x-ratelimit-limit"], "1000");
    assert!(!s.get("/v1/analyses").await.headers().contains_key("x-ratelimit-limit"));
    assert_eq!(s.http.get(s.url("/health/live")).send().await.unwrap().status(), 200);
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_can_wait_for_the_decision_in_one_request() {
    let s = TestServer::start().await;
    let id = s.post("/v1/analysis", ACCEPTANCE).await.json::<Value>().await.unwrap()["analysis_id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let a = s.get_json(&format!("/v1/analysis/{id}?wait=20")).await;
    assert_eq!(a["status"], "completed", "one request returns the settled analysis: {a}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(a["decision"]["outcome"], "warn");
    assert_problem(s.get(&format!("/v1/analysis/{id}?wait=100")).await, 422, "/wait").await;
    s.server.stop().await.unwrap();
}

const DETECT_SNIPPET: &str = "import subprocess\n\ndef export(cur, name, cmd):\n    cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")\n    subprocess.run(\n        cmd,\n        shell=True,\n    )\n";

#[tokio::test]
async fn detect_runs_every_engine_on_a_snippet_synchronously() {
    let s = TestServer::start().await;
    let body = serde_json::json!({
        "path": "app/export.py",
        "content": DETECT_SNIPPET,
        "first_line": 40,
        "declared": {"agent_id": "claude-code"},
    });
    let r = s.post("/v1/detect", body.to_string()).await;
    assert_eq!(r.status(), 200);
    let out: Value = r.json().await.unwrap();
    let found: Vec<(u64, &str, &str)> = out["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"]["start_line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap(),
                f["engine"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [(43, "python.sqli.fstring", "pattern"), (44, "python.command-injection.subprocess-shell", "ast-grep")]
    );
    assert_eq!(out["findings"][1]["location"]["end_line"], 47, "the structural match spans the call");
    let fingerprint = out["findings"][0]["fingerprint"].as_str().unwrap();
    assert!(fingerprint.len() == 32 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()), "{fingerprint}");
    assert_eq!(out["attribution"]["contributor"], "ai");
    assert_eq!(out["attribution"]["agent_id"], "claude-code");
    assert_eq!(out["detectors"].as_array().unwrap().len(), 2);
    assert_eq!(out["detectors_incomplete"], serde_json::json!([]));

    // Only findings touching the changed lines: line 46 is inside the subprocess call.
    let body = serde_json::json!({"path": "app/export.py", "content": DETECT_SNIPPET, "first_line": 40, "changed_lines": [46]});
    let out: Value = s.post("/v1/detect", body.to_string()).await.json().await.unwrap();
    let ids: Vec<&str> = out["findings"].as_array().unwrap().iter().map(|f| f["rule_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["python.command-injection.subprocess-shell"]);
    assert_eq!(out["attribution"]["contributor"], "unknown");

    // The language may come from the request when the path does not tell.
    let body =
        serde_json::json!({"path": "scripts/tool", "language": "python", "content": "data = yaml.load(stream)\n"});
    let out: Value = s.post("/v1/detect", body.to_string()).await.json().await.unwrap();
    assert_eq!(out["findings"][0]["rule_id"], "python.deserialization.yaml-load");
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn detect_refuses_bad_input_with_problems_naming_the_field() {
    let s = TestServer::start().await;
    let traversal = serde_json::json!({"path": "../etc/passwd", "content": "x"});
    assert_problem(s.post("/v1/detect", traversal.to_string()).await, 422, "/path").await;
    let zero = serde_json::json!({"path": "a.py", "content": "x", "changed_lines": [1, 0]});
    assert_problem(s.post("/v1/detect", zero.to_string()).await, 422, "/changed_lines/1").await;
    let wrong_type = serde_json::json!({"path": "a.py", "content": 42});
    assert_problem(s.post("/v1/detect", wrong_type.to_string()).await, 400, "/content").await;
    let huge = serde_json::json!({"path": "a.py", "content": "x".repeat(1024 * 1024 + 1)});
    let p = assert_problem(s.post("/v1/detect", huge.to_string()).await, 413, "/content").await;
    assert!(p["errors"][0]["detail"].as_str().unwrap().contains("1 MiB"), "{p}");
    assert_problem(s.post("/v1/detect", "{not json").await, 400, "").await;
    let anonymous = s.http.post(s.url("/v1/detect")).body(r#"{"path":"a.py","content":"x"}"#).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    s.server.stop().await.unwrap();
}

#[tokio::test]
async fn commit_metadata_attributes_the_lines_of_each_commit() {
    let s = TestServer::start().await;
    let line = |path: &str, n: u32, commit: Option<&str>, declared_human: bool| {
        let mut attribution = serde_json::Map::new();
        if let Some(c) = commit {
            attribution.insert("commit_sha".into(), c.into());
        }
        if declared_human {
            attribution.insert("contributor".into(), "human".into());
        }
        serde_json::json!({"file_path": path, "line_number": n, "change_type": "added", "content": "x = 1",
            "attribution": attribution})
    };
    let body = serde_json::json!({
        "repo": "acme/shop", "pr_number": 7, "base_sha": "a".repeat(40), "head_sha": "b".repeat(40),
        "provenance_data": {"changed_lines": [
            line("app/trailer.py", 1, Some("c1c1c1c"), false),
            line("app/bot.py", 1, Some("c2c2c2c2c2"), false),
            line("app/footer.py", 1, Some("c3c3c3c"), false),
            line("app/person.py", 1, Some("c4c4c4c"), false),
            line("app/declared_human.py", 1, Some("c1c1c1c"), true),
            line("app/no_commit.py", 1, None, false),
        ]},
        "attribution_sources": [
            {"type": "commit", "sha": "c1c1c1c1c1", "author_name": "Ada", "author_email": "ada@example.com",
             "message": "Add retries\n\nCo-Authored-By: Claude <noreply@anthropic.com>"},
            {"type": "commit", "sha": "c2c2c2c2c2", "author_name": "copilot-swe-agent[bot]",
             "author_email": "198982749+Copilot@users.noreply.github.com", "message": "Initial plan"},
            {"type": "commit", "sha": "c3c3c3c3c3", "author_name": "Ada", "author_email": "ada@example.com",
             "message": "Refactor\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n\nSee #12."},
            {"type": "commit", "sha": "c4c4c4c4c4", "author_name": "Grace", "author_email": "grace@example.com",
             "message": "Fix typo"},
        ],
    });
    let r = s.post("/v1/analysis", body.to_string()).await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string();
    s.wait_completed(&id).await;
    let lines = s.get_json(&format!("/v1/analysis/{id}/lines?limit=50")).await;
    let by_path = |p: &str| -> Value {
        lines["items"].as_array().unwrap().iter().find(|l| l["file_path"] == p).unwrap()["attribution"].clone()
    };
    let summary = |p: &str| {
        let a = by_path(p);
        (
            a["contributor"].as_str().unwrap().to_string(),
            a["agent_id"].as_str().map(str::to_string),
            a["source"].as_str().unwrap().to_string(),
            a["confidence"].as_f64().unwrap(),
        )
    };
    assert_eq!(summary("app/trailer.py"), ("ai".into(), Some("claude-code".into()), "trailer".into(), 0.8));
    assert_eq!(summary("app/bot.py"), ("ai".into(), Some("github-copilot".into()), "bot_author".into(), 0.8));
    assert_eq!(summary("app/footer.py"), ("ai".into(), Some("claude-code".into()), "footer".into(), 0.6));
    assert_eq!(summary("app/person.py"), ("unknown".into(), None, "none".into(), 0.0));
    assert_eq!(summary("app/declared_human.py").0, "human", "a declared person stays a person");
    assert_eq!(summary("app/no_commit.py").1, None, "several commits and none named: no guess");

    let bad = body.to_string().replace("\"c4c4c4c4c4\"", "\"not-a-sha\"");
    assert_problem(s.post("/v1/analysis", bad).await, 422, "/attribution_sources/3/sha").await;
    let unknown = body
        .to_string()
        .replace("\"sha\":\"c4c4c4c4c4\",\"type\":\"commit\"", "\"sha\":\"c4c4c4c4c4\",\"type\":\"fax\"");
    assert_ne!(unknown, body.to_string());
    assert_problem(s.post("/v1/analysis", unknown).await, 400, "/attribution_sources/3/type").await;
    s.server.stop().await.unwrap();
}
