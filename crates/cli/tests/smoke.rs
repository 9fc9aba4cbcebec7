//! `provenance smoke` as an operator runs it: the binary against the embedded server (every
//! check passes, the analysis is tagged and left out of the figures and the webhooks), and
//! against URLs that are wrong in the three ways deployments usually are, each with its hint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::{Value, json};
use support::TestServer;

async fn smoke(args: &[&str], output: &Path) -> (Output, Value) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_provenance"))
        .arg("smoke")
        .args(args)
        .arg("--output")
        .arg(output)
        .env_remove("PROVENANCE_API_KEY")
        .env_remove("PROVENANCE_SERVER")
        .env("PROVENANCE_DATA_DIR", "/nonexistent")
        .output()
        .await
        .unwrap();
    let file: Value = serde_json::from_slice(&std::fs::read(output).expect("the report file is written")).unwrap();
    let printed: Value = serde_json::from_slice(&out.stdout).expect("the report is printed on stdout");
    assert_eq!(file, printed, "the file and stdout carry the same report");
    (out, file)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name}"))
}

/// A counter's total over all its label sets in a Prometheus text exposition.
fn counter_total(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn passes_against_the_embedded_server_and_stays_out_of_the_figures_and_the_webhooks() {
    let s = TestServer::start().await;
    // A receiver that would hear of every event of the tenant (never reached: no network here).
    let endpoint = s.post("/v1/webhooks/endpoints", json!({"url": "https://receiver.example/hooks"}).to_string()).await;
    assert!(endpoint.status().is_success(), "{}", endpoint.status());
    let messages = "/v1/webhooks/messages";
    let metrics_before = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let base = s.server.base_url();
    let (out, report) =
        smoke(&["--base-url", &base, "--api-key", &s.server.admin_token], &dir.path().join("r.json")).await;
    assert!(out.status.success(), "{}\n{report:#}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["passed"], true);
    assert_eq!(report["hint"], Value::Null);
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["health", "keys", "auth", "detect", "submit", "analysis", "decision", "bundle", "sarif"]);
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "passed", "{c}");
        assert!(c["latency_ms"].is_u64(), "{c}");
    }
    assert!(check(&report, "bundle")["detail"].as_str().unwrap().contains("signature verified"));
    assert!(check(&report, "sarif")["detail"].as_str().unwrap().contains("the bytes the bundle signs"));

    // The analysis is real, decided and tagged…
    let id = report["analysis_id"].as_str().unwrap();
    let analysis = s.get_json(&format!("/v1/analysis/{id}")).await;
    assert_eq!(analysis["status"], "completed");
    assert_eq!(analysis["metadata"]["smoke"], true, "{analysis}");

    // …but not counted, and no receiver hears of it.
    let metrics_after = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for name in ["provenance_analyses_submitted_total", "provenance_decisions_total", "provenance_findings_total"] {
        assert_eq!(counter_total(&metrics_before, name), counter_total(&metrics_after, name), "{name}");
    }
    assert!(s.get_json(messages).await["items"].as_array().unwrap().is_empty(), "no event for a smoke analysis");

    // The same change without the tag is counted and announced: the exclusion is the tag's doing.
    let plain = json!({
        "repo": "provenance-smoke/smoke", "pr_number": 1, "base_sha": "0".repeat(40), "head_sha": "ab".repeat(20),
        "provenance_data": {"changed_lines": [{"file_path": "smoke/orders.py", "line_number": 1,
            "change_type": "added", "content": "query = f\"SELECT * FROM t WHERE id = {i}\"", "language": "python"}]}
    });
    let r: Value = s.post("/v1/analysis", plain.to_string()).await.json().await.unwrap();
    s.wait_completed(r["analysis_id"].as_str().unwrap()).await;
    let metrics_plain = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for name in ["provenance_analyses_submitted_total", "provenance_decisions_total"] {
        assert_eq!(counter_total(&metrics_plain, name), counter_total(&metrics_after, name) + 1.0, "{name}");
    }
    assert!(!s.get_json(messages).await["items"].as_array().unwrap().is_empty(), "events for a plain analysis");
}

#[tokio::test]
async fn nothing_listening_is_service_unreachable() {
    // A port that was just free: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let (out, report) = smoke(&["--base-url", &base, "--api-key", "pvn_x_y"], &dir.path().join("r.json")).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["passed"], false);
    assert_eq!(report["hint"], "service_unreachable");
    assert!(report["explanation"].as_str().unwrap().contains("nothing answered"));
    let health = check(&report, "health");
    assert_eq!(health["status"], "failed");
    assert!(health["detail"].as_str().unwrap().contains("no answer"), "{health}");
    // Nothing after it is attempted, and the report says so rather than leaving checks out.
    for name in ["detect", "submit", "analysis", "decision", "bundle", "sarif"] {
        assert_eq!(check(&report, name)["status"], "skipped", "{name}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("smoke FAILED: service_unreachable"), "{stderr}");
}

#[tokio::test]
async fn a_wrong_path_prefix_is_a_route_mismatch_and_a_bad_key_is_auth_failed() {
    let s = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();

    // The server answers, but under this prefix every route is 404.
    let prefixed = format!("{}/provenance", s.server.base_url());
    let (out, report) =
        smoke(&["--base-url", &prefixed, "--api-key", &s.server.admin_token], &dir.path().join("a.json")).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["hint"], "route_mismatch", "{report:#}");
    assert_eq!(check(&report, "health")["http_status"], 404);

    // A key the server does not know.
    let base = s.server.base_url();
    let bogus = "pvn_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    let (out, report) = smoke(&["--base-url", &base, "--api-key", bogus], &dir.path().join("b.json")).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["hint"], "auth_failed", "{report:#}");
    assert_eq!(check(&report, "health")["status"], "passed");
    assert_eq!(check(&report, "auth")["http_status"], 401);
    assert!(check(&report, "auth")["request_id"].is_string(), "the request id leads to the server's log line");
    assert_eq!(check(&report, "submit")["status"], "skipped");

    // No key at all says so.
    let (_, report) = smoke(&["--base-url", &base], &dir.path().join("c.json")).await;
    assert_eq!(report["hint"], "auth_failed");
    assert!(check(&report, "auth")["detail"].as_str().unwrap().contains("no API key"));
    assert_eq!(s.analyses_count().await, 0, "a failed smoke submits nothing");
}
