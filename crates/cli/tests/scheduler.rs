//! The scheduler's duties in embedded mode (SPEC §9), driven through the API: each duty's last
//! run in `GET /v1/admin/scheduler`, an endpoint failing for five days disabled and announced,
//! retention removing an old analysis' lines and findings while its signed decision stays, and
//! the tenant's retention setting. Time passing is simulated by ageing rows in the database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use provenance_cli::embedded;
use provenance_cli::settings::Settings;
use serde_json::{Value, json};
use support::{TestServer, assert_problem};

mod support;

/// The embedded server with every duty running each second.
async fn server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings { data_dir: dir.path().join("data"), ..Settings::default() };
    settings.http_listen = "127.0.0.1:0".parse().unwrap();
    settings.worker.poll_interval_ms = 50;
    let s = &mut settings.scheduler;
    (s.stale_recovery_seconds, s.retry_pump_seconds, s.auto_disable_seconds, s.retention_seconds) = (1, 1, 1, 1);
    let server = embedded::start(&settings).await.expect("the embedded server starts");
    TestServer { server, http: reqwest::Client::new(), dir }
}

/// Direct SQL on the server's database: how a test makes five days or a hundred pass.
async fn age(s: &TestServer, sql: &str) {
    let url = format!("sqlite://{}", s.dir.path().join("data/provenance.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let changed = sqlx::query(sql).execute(&pool).await.unwrap().rows_affected();
    assert_eq!(changed, 1, "{sql}");
    pool.close().await;
}

/// Wait until `duty` has run at least `runs` times; returns its view.
async fn wait_for_duty(s: &TestServer, duty: &str, runs: u64) -> Value {
    let started = Instant::now();
    loop {
        let view = s.get_json("/v1/admin/scheduler").await;
        let found = view["jobs"].as_array().unwrap().iter().find(|j| j["name"] == duty).cloned();
        if let Some(job) = found
            && job["runs"].as_u64().unwrap() >= runs
        {
            return job;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{duty} did not run {runs} times: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_duty_reports_its_last_run_duration_and_result() {
    let s = server().await;
    for duty in ["stale_job_recovery", "webhook_retry_pump", "endpoint_auto_disable", "retention_purge"] {
        let job = wait_for_duty(&s, duty, 2).await;
        assert_eq!(job["every_seconds"], 1);
        assert_eq!(job["last_run"]["result"], "ok", "{job}");
        assert_eq!(job["last_run"]["items"], 0, "nothing to do on a new server: {job}");
        assert!(job["last_run"]["duration_ms"].is_u64());
        assert!(job["last_run"]["runner"].as_str().unwrap().ends_with(&format!(":{}", std::process::id())));
        assert_eq!(job["failures"], 0);
        assert_eq!(job["overdue"], false);
        assert!(job["last_success_at"].is_string());
    }
    let view = s.get_json("/v1/admin/scheduler").await;
    let names: Vec<&str> = view["jobs"].as_array().unwrap().iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"outbox_sweep"), "embedded mode has no relay to sweep for: {names:?}");

    // Operators only.
    let r = s.post("/v1/api-keys", r#"{"name":"ci","scopes":["analysis:read","analysis:write"]}"#).await;
    let token = r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string();
    let r = s.http.get(s.url("/v1/admin/scheduler")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_disabled_and_announced() {
    let s = server().await;
    let create = |url: &str, events: Value| {
        s.post("/v1/webhooks/endpoints", json!({"url": url, "event_types": events}).to_string())
    };
    // Loopback without an allow-list: the SSRF guard refuses every delivery, nothing is sent.
    let failing: Value = create("http://127.0.0.1:9/hook", json!(["decision.block"])).await.json().await.unwrap();
    let watcher: Value = create("http://127.0.0.1:9/watch", json!(["endpoint.disabled"])).await.json().await.unwrap();
    let id = failing["id"].as_str().unwrap();
    age(&s, &format!("UPDATE webhook_endpoints SET failing_since = '2020-01-01T00:00:00.000Z' WHERE id = '{id}'"))
        .await;

    let started = Instant::now();
    let endpoint = loop {
        let e = s.get_json(&format!("/v1/webhooks/endpoints/{id}")).await;
        if e["enabled"] == false {
            break e;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not disabled: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(endpoint["disabled_reason"], "the endpoint failed for 5 days");
    assert!(wait_for_duty(&s, "endpoint_auto_disable", 1).await["runs"].as_u64().unwrap() >= 1);
    let messages = s.get_json("/v1/webhooks/messages").await;
    let announced: Vec<&Value> =
        messages["items"].as_array().unwrap().iter().filter(|m| m["event_type"] == "endpoint.disabled").collect();
    assert_eq!(announced.len(), 1, "announced once: {messages}");
    assert_eq!(announced[0]["payload"]["data"]["endpoint_id"], id);
    assert_eq!(announced[0]["deliveries"][0]["endpoint_id"], watcher["id"], "to the subscriber only");
}

#[tokio::test]
async fn retention_removes_an_old_analysis_details_and_keeps_its_signed_decision() {
    let s = server().await;
    let body = json!({"repo": "acme/shop", "pr_number": 5, "base_sha": "4e1d2c3b", "head_sha": "9f2c4e6a",
        "provenance_data": {"changed_lines": [{"file_path": "app/config.py", "line_number": 1, "change_type": "added",
            "content": "AWS_KEY = \"AKIA4HKX2QJ7WZ5N3TPR\"", "attribution": {"agent_id": "devin"}}]}});
    let r = s.post("/v1/analysis", body.to_string()).await;
    let id = r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string();
    s.wait_completed(&id).await;
    assert_eq!(s.get_json(&format!("/v1/analysis/{id}/lines")).await["items"].as_array().unwrap().len(), 1);

    // A hundred days pass: past the default retention (90 days), within the decisions' year.
    age(
        &s,
        &format!(
            "UPDATE analyses SET created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-100 days') WHERE id = '{id}'"
        ),
    )
    .await;
    let started = Instant::now();
    let analysis = loop {
        let a = s.get_json(&format!("/v1/analysis/{id}")).await;
        if a.get("purged_at").is_some() {
            break a;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not purged: {a}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(analysis["lines_total"], 1, "the counts stay");
    assert_eq!(analysis["decision"]["outcome"], "block", "{analysis}");
    assert!(s.get_json(&format!("/v1/analysis/{id}/lines")).await["items"].as_array().unwrap().is_empty());
    assert!(s.get_json(&format!("/v1/analysis/{id}/findings")).await["items"].as_array().unwrap().is_empty());
    let bundle = s.get_json(&format!("/v1/analysis/{id}/bundle")).await;
    let verified = s.post("/v1/bundles/verify", json!({"bundle": bundle}).to_string()).await;
    assert_eq!(verified.json::<Value>().await.unwrap()["verified"], true, "the signed decision still verifies");
    let job = wait_for_duty(&s, "retention_purge", 1).await;
    assert_eq!(job["last_run"]["result"], "ok");
}

#[tokio::test]
async fn the_tenant_sets_its_retention_within_bounds() {
    let s = TestServer::start().await;
    let shown = s.get_json("/v1/admin/retention").await;
    assert_eq!(shown, json!({"days": 90, "source": "default", "decision_days": 365}));
    let put = |body: &str| {
        s.http
            .put(s.url("/v1/admin/retention"))
            .bearer_auth(&s.server.admin_token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let r = put(r#"{"days": 30}"#).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"days": 30, "source": "tenant", "decision_days": 365}));
    let r = put(r#"{"days": 730}"#).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["decision_days"], 730, "decisions stay at least as long");
    assert_problem(put(r#"{"days": 0}"#).await.unwrap(), 422, "/days").await;
    assert_problem(put(r#"{"days": 4000}"#).await.unwrap(), 422, "/days").await;
    assert_problem(put(r#"{"days": "ninety"}"#).await.unwrap(), 422, "/days").await;
    assert_problem(put(r#"{}"#).await.unwrap(), 422, "/days").await;
    assert_eq!(s.get_json("/v1/admin/retention").await["days"], 730, "refused input changes nothing");
    let r = s.delete("/v1/admin/retention").await;
    assert_eq!(r.json::<Value>().await.unwrap()["source"], "default");
}
