//! Governance through the real API (SPEC §5): policies as code with repo scopes and path rules,
//! dry runs, suppressions that apply to later analyses, signed overrides in the bundle history,
//! server-side bundle verification, and key rotation that keeps old bundles verifiable.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use provenance_cli::embedded;
use provenance_cli::settings::Settings;
use provenance_store::keyring::Keyring;
use serde_json::{Value, json};
use support::{TestServer, assert_problem};

mod support;

const AWS_KEY_LINE: &str = "AWS_KEY = \"AKIA4HKX2QJ7WZ5N3TPR\"";
const SQLI_LINE: &str = "    cur.execute(f\"SELECT * FROM users WHERE name = '{name}'\")";

fn head(n: u32) -> String {
    format!("{n:040x}")
}

fn line(path: &str, n: u32, content: &str, attribution: Value) -> Value {
    json!({"file_path": path, "line_number": n, "change_type": "added", "content": content, "attribution": attribution})
}

fn submission(repo: &str, head_sha: &str, lines: Vec<Value>) -> Value {
    json!({"repo": repo, "pr_number": 12, "base_sha": "4e1d2c3b", "head_sha": head_sha,
           "provenance_data": {"changed_lines": lines}})
}

async fn submit_and_wait(s: &TestServer, body: &Value) -> (String, Value) {
    let r = s.post("/v1/analysis", body.to_string()).await;
    assert!(r.status() == 202 || r.status() == 200, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string();
    let analysis = s.wait_completed(&id).await;
    (id, analysis)
}

async fn put_policy(s: &TestServer, id: &str, yaml: &str) -> reqwest::Response {
    s.http
        .put(s.url(&format!("/v1/policies/{id}")))
        .bearer_auth(&s.server.admin_token)
        .header("content-type", "application/yaml")
        .body(yaml.to_string())
        .send()
        .await
        .unwrap()
}

fn fired(decision: &Value) -> Vec<String> {
    decision["fired_rules"].as_array().unwrap().iter().map(|r| r["rule"].as_str().unwrap().to_string()).collect()
}

async fn verify(s: &TestServer, bundle: &Value, repo: Option<&str>) -> Value {
    let r = s.post("/v1/bundles/verify", json!({"bundle": bundle, "repo": repo}).to_string()).await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

const WORKFLOW_POLICY: &str = r#"
apiVersion: provenance.dev/policy/v1
description: Agents do not change CI on their own.
scope:
  repos: ["acme/*"]
severity:
  critical: {block_at: 1}
paths:
  - name: workflows
    match: [".github/workflows/**"]
    outcome: block
"#;

#[tokio::test]
async fn a_path_rule_blocks_an_agent_only_workflow_change_and_allows_it_with_a_human_co_author() {
    let s = TestServer::start().await;
    let r = put_policy(&s, "ci-guard", WORKFLOW_POLICY).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

    let ci_lines = |attribution: Value| {
        vec![
            line(".github/workflows/ci.yml", 10, "      - run: cargo test", attribution.clone()),
            line(".github/workflows/ci.yml", 11, "      - run: cargo clippy", attribution),
        ]
    };
    // Declared by the agent alone.
    let (id, analysis) =
        submit_and_wait(&s, &submission("acme/shop", &head(1), ci_lines(json!({"agent_id": "claude-code"})))).await;
    assert_eq!(analysis["decision"]["outcome"], "block");
    let decision = s.get_json(&format!("/v1/analysis/{id}/decision")).await;
    let rule = decision["fired_rules"].as_array().unwrap().iter().find(|r| r["rule"] == "path.workflows").unwrap();
    assert_eq!(rule["outcome"], "block");
    let cited: Vec<u64> =
        rule["lines"].as_array().unwrap().iter().map(|l| l["line_number"].as_u64().unwrap()).collect();
    assert_eq!(cited, vec![10, 11], "the rule cites the agent's lines: {rule}");
    assert_eq!(decision["policy"]["id"], "ci-guard", "the tenant's scoped policy applied");

    // The same lines, written by the agent together with a human.
    let (_, analysis) = submit_and_wait(
        &s,
        &submission("acme/shop", &head(2), ci_lines(json!({"contributor": "mixed", "agent_id": "claude-code"}))),
    )
    .await;
    assert_eq!(analysis["decision"]["outcome"], "allow", "{analysis}");

    // Through commit metadata: the agent's bot commit alone blocks; a human's commit co-authored
    // by the agent allows.
    let with_commit = |sha: String, author: (&str, &str), message: &str| {
        let mut body = submission("acme/shop", &sha, ci_lines(json!({})));
        body["attribution_sources"] = json!([{"type": "commit", "sha": sha, "author_name": author.0,
                                               "author_email": author.1, "message": message}]);
        body
    };
    let (_, analysis) =
        submit_and_wait(&s, &with_commit(head(3), ("Claude", "noreply@anthropic.com"), "Speed up CI")).await;
    assert_eq!(analysis["decision"]["outcome"], "block", "{analysis}");
    let (id, analysis) = submit_and_wait(
        &s,
        &with_commit(
            head(4),
            ("Ada Lovelace", "ada@example.com"),
            "Speed up CI\n\nCo-authored-by: Claude <noreply@anthropic.com>",
        ),
    )
    .await;
    assert_eq!(analysis["decision"]["outcome"], "allow", "{analysis}");
    let lines = s.get_json(&format!("/v1/analysis/{id}/lines")).await;
    assert_eq!(lines["items"][0]["attribution"]["agent_id"], "claude-code");

    // Out of the policy's scope, the shipped default applies.
    let (id, _) =
        submit_and_wait(&s, &submission("other/repo", &head(5), ci_lines(json!({"agent_id": "claude-code"})))).await;
    assert_eq!(s.get_json(&format!("/v1/analysis/{id}/decision")).await["policy"]["id"], "default");
}

#[tokio::test]
async fn a_critical_finding_next_to_a_warn_rule_blocks_and_every_fired_rule_is_listed() {
    let s = TestServer::start().await;
    let policy = "scope: {repos: [acme/shop]}\nseverity:\n  critical: {block_at: 1}\n  high: {warn_at: 1}\n";
    assert_eq!(put_policy(&s, "strict", policy).await.status(), 201);
    let (id, analysis) = submit_and_wait(
        &s,
        &submission(
            "acme/shop",
            &head(1),
            vec![
                line("app/config.py", 1, AWS_KEY_LINE, json!({"agent_id": "claude-code"})),
                line("app/db.py", 4, SQLI_LINE, json!({"agent_id": "claude-code"})),
            ],
        ),
    )
    .await;
    assert_eq!(analysis["decision"]["outcome"], "block");
    let decision = s.get_json(&format!("/v1/analysis/{id}/decision")).await;
    let rules = fired(&decision);
    assert!(rules.contains(&"severity.critical".to_string()), "{rules:?}");
    assert!(rules.contains(&"severity.high".to_string()), "the warn rule is listed too: {rules:?}");
    let high = decision["fired_rules"].as_array().unwrap().iter().find(|r| r["rule"] == "severity.high").unwrap();
    assert_eq!(high["outcome"], "warn");
    assert_eq!(high["finding_ids"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn policies_are_versioned_validated_and_dry_run_against_a_stored_analysis() {
    let s = TestServer::start().await;
    // Invalid documents name the field.
    let r = put_policy(&s, "bad", "severity:\n  high: {warn_at: 5, block_at: 2}\n").await;
    assert_problem(r, 422, "/severity/high").await;
    let r = put_policy(&s, "bad", "paths:\n  - name: x\n    match: [\"[\"]\n").await;
    assert_problem(r, 422, "/paths/0/match/0").await;
    let r = put_policy(&s, "bad", "severty: {}\n").await;
    assert_eq!(r.status(), 422, "unknown fields are refused");
    let r = put_policy(&s, "Bad Id", "{}").await;
    assert_problem(r, 422, "/policy_id").await;
    let r = put_policy(&s, "named", "id: other\n").await;
    assert_problem(r, 422, "/id").await;
    assert!(s.get_json("/v1/policies").await["items"].as_array().unwrap().is_empty(), "nothing was stored");

    // A decided analysis under the default policy: one high finding warns.
    let (id, analysis) = submit_and_wait(
        &s,
        &submission("acme/shop", &head(1), vec![line("app/db.py", 4, SQLI_LINE, json!({"agent_id": "devin"}))]),
    )
    .await;
    assert_eq!(analysis["decision"]["outcome"], "warn");

    // Dry run: a per-agent override that blocks Devin's high findings would block it.
    let draft = "agents:\n  devin:\n    severity:\n      high: {block_at: 1}\n";
    let r = s.post("/v1/policies/validate", json!({"policy": draft, "analysis_id": id}).to_string()).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["dry_run"]["current"]["outcome"], "warn");
    assert_eq!(v["dry_run"]["proposed"]["outcome"], "block");
    assert_eq!(v["dry_run"]["outcome_changed"], true);
    assert!(v["dry_run"]["rules_added"].as_array().unwrap().contains(&json!("agents.devin.severity.high")), "{v}");
    assert!(v["dry_run"]["rules_removed"].as_array().unwrap().contains(&json!("severity.high")), "{v}");
    let r = s.post("/v1/policies/validate", json!({"policy": "severity: {high: 3}"}).to_string()).await;
    assert_problem(r, 422, "/policy/severity/high").await;

    // Versions: each put is a new version; old versions stay readable.
    let r = put_policy(&s, "team", draft).await;
    assert_eq!(r.status(), 201);
    let r = put_policy(&s, "team", "description: relaxed\n").await;
    assert_eq!(r.status(), 200);
    let v2: Value = r.json().await.unwrap();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["source"], "description: relaxed\n");
    let v1 = s.get_json("/v1/policies/team?version=1").await;
    assert_eq!(v1["version"], 1);
    assert!(v1["policy"]["agents"]["devin"].is_object());
    assert_ne!(v1["sha256"], v2["sha256"]);
    let effective = s.get_json("/v1/policies/effective?repo=acme/shop").await;
    assert_eq!((effective["id"].as_str(), effective["version"].as_u64()), (Some("team"), Some(2)));

    assert_eq!(s.delete("/v1/policies/team").await.status(), 204);
    assert_eq!(s.delete("/v1/policies/team").await.status(), 404);
    assert_eq!(s.get_json("/v1/policies/effective?repo=acme/shop").await["id"], "default");
    assert_eq!(s.get_json("/v1/policies/team?version=2").await["version"], 2, "versions outlive a delete");
}

#[tokio::test]
async fn a_suppressed_finding_no_longer_counts_in_the_next_analysis_until_un_suppressed() {
    let s = TestServer::start().await;
    let body = |n: u32| submission("acme/shop", &head(n), vec![line("app/config.py", 1, AWS_KEY_LINE, json!({}))]);
    let (id, analysis) = submit_and_wait(&s, &body(1)).await;
    assert_eq!(analysis["decision"]["outcome"], "block");
    let findings = s.get_json(&format!("/v1/analysis/{id}/findings")).await;
    let finding = &findings["items"][0];
    let finding_id = finding["id"].as_str().unwrap();

    // Bad input changes nothing.
    let r = s.post(&format!("/v1/findings/{finding_id}/suppress"), "{}").await;
    assert_problem(r, 422, "/reason").await;
    let r = s
        .post(&format!("/v1/findings/{finding_id}/suppress"), r#"{"reason":"x","expires_at":"2001-01-01T00:00:00Z"}"#)
        .await;
    assert_problem(r, 422, "/expires_at").await;
    let r = s.post(&format!("/v1/findings/{finding_id}/suppress"), r#"{"reason":"x","expires_at":"soon"}"#).await;
    assert_problem(r, 422, "/expires_at").await;
    let r = s.post("/v1/findings/fd_01JDQ7Z4V3K8M2N5P6R7S8T9VW/suppress", r#"{"reason":"x"}"#).await;
    assert_eq!(r.status(), 404);
    assert!(s.get_json("/v1/suppressions").await["items"].as_array().unwrap().is_empty());

    let r = s
        .post(&format!("/v1/findings/{finding_id}/suppress"), r#"{"reason":"test fixture key, revoked at AWS"}"#)
        .await;
    assert_eq!(r.status(), 201);
    let suppression: Value = r.json().await.unwrap();
    assert_eq!(suppression["fingerprint"], finding["fingerprint"]);
    let r = s.post(&format!("/v1/findings/{finding_id}/suppress"), r#"{"reason":"again"}"#).await;
    assert_eq!(r.status(), 409, "one suppression per fingerprint");

    // The same code in a later analysis: suppressed, and the decision no longer counts it.
    let (id2, analysis) = submit_and_wait(&s, &body(2)).await;
    assert_eq!(analysis["decision"]["outcome"], "allow", "{analysis}");
    let later = s.get_json(&format!("/v1/analysis/{id2}/findings")).await;
    assert_eq!(later["items"][0]["status"], "suppressed");
    assert_eq!(later["items"][0]["suppression"]["id"], suppression["id"]);
    assert_eq!(later["items"][0]["suppression"]["reason"], "test fixture key, revoked at AWS");
    let decision = s.get_json(&format!("/v1/analysis/{id2}/decision")).await;
    assert_eq!(decision["risk_summary"]["suppressed_total"], 1);
    let sarif = s.get_json(&format!("/v1/analysis/{id2}/sarif")).await;
    assert_eq!(sarif["runs"][0]["results"][0]["suppressions"][0]["kind"], "external");
    // The first analysis keeps the decision it was signed with.
    assert_eq!(s.get_json(&format!("/v1/analysis/{id}")).await["decision"]["outcome"], "block");

    // Un-suppressed: counted again.
    let sup_id = suppression["id"].as_str().unwrap();
    assert_eq!(s.delete(&format!("/v1/suppressions/{sup_id}")).await.status(), 204);
    assert_eq!(s.delete(&format!("/v1/suppressions/{sup_id}")).await.status(), 404);
    let (_, analysis) = submit_and_wait(&s, &body(3)).await;
    assert_eq!(analysis["decision"]["outcome"], "block");
    assert!(s.get_json("/v1/suppressions").await["items"].as_array().unwrap().is_empty());
    let all = s.get_json("/v1/suppressions?include_revoked=true").await;
    assert_eq!(all["items"][0]["revoked_by"].as_str().map(|k| k.starts_with("key_")), Some(true));
}

#[tokio::test]
async fn an_override_is_signed_verifiable_and_kept_next_to_the_decision() {
    let s = TestServer::start().await;
    let (id, _) = submit_and_wait(
        &s,
        &submission("acme/shop", &head(1), vec![line("app/config.py", 1, AWS_KEY_LINE, json!({}))]),
    )
    .await;

    // Only a key with the `override` scope may override.
    let created: Value = s
        .post("/v1/api-keys", r#"{"name":"ci","scopes":["analysis:read","analysis:write"]}"#)
        .await
        .json()
        .await
        .unwrap();
    let r = s
        .http
        .post(s.url(&format!("/v1/analysis/{id}/override")))
        .bearer_auth(created["token"].as_str().unwrap())
        .body(r#"{"reason":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_problem(s.post(&format!("/v1/analysis/{id}/override"), r#"{"reason":"  "}"#).await, 422, "/reason").await;

    let r =
        s.post(&format!("/v1/analysis/{id}/override"), r#"{"reason":"hotfix for the outage; key is a canary"}"#).await;
    assert_eq!(r.status(), 201);
    let overridden: Value = r.json().await.unwrap();
    assert_eq!(overridden["outcome"], "allow");
    assert_eq!(s.post(&format!("/v1/analysis/{id}/override"), r#"{"reason":"again"}"#).await.status(), 409);

    let analysis = s.get_json(&format!("/v1/analysis/{id}")).await;
    assert_eq!(analysis["decision"]["outcome"], "block", "the decision is unchanged");
    assert_eq!(analysis["decision"]["effective_outcome"], "allow");
    assert_eq!(analysis["decision"]["override"]["reason"], "hotfix for the outage; key is a canary");

    let history = s.get_json(&format!("/v1/analysis/{id}/bundles")).await;
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.iter().map(|i| i["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["decision", "override"]);
    let decision_bundle = &items[0]["bundle"];
    assert_eq!(decision_bundle, &s.get_json(&format!("/v1/analysis/{id}/bundle")).await);

    let v = verify(&s, &items[1]["bundle"], Some("acme/shop")).await;
    assert_eq!(v["verified"], true, "{v}");
    assert_eq!(v["kind"], "override");
    assert_eq!(v["statement"]["predicate"]["original_outcome"], "block");
    assert_eq!(
        v["statement"]["predicate"]["decision_id"],
        s.get_json(&format!("/v1/analysis/{id}/decision")).await["id"]
    );
    // The override names the decision statement by the digest of its bytes.
    let payload = provenance_core::dsse::decode_base64(decision_bundle["payload"].as_str().unwrap()).unwrap();
    let decision_subject =
        v["statement"]["subject"].as_array().unwrap().iter().find(|s| s["name"] == "decision").unwrap().clone();
    assert_eq!(decision_subject["digest"]["sha256"], provenance_core::digest::sha256_hex(&payload));
    let v = verify(&s, decision_bundle, Some("acme/shop")).await;
    assert_eq!((v["verified"].as_bool(), v["kind"].as_str()), (Some(true), Some("decision")));
    let v = verify(&s, decision_bundle, Some("acme/other")).await;
    assert_eq!(v["verified"], false);
    assert!(v["error"].as_str().unwrap().contains("acme/other"), "{v}");

    let mut tampered = items[1]["bundle"].clone();
    let mut statement: Value =
        serde_json::from_slice(&provenance_core::dsse::decode_base64(tampered["payload"].as_str().unwrap()).unwrap())
            .unwrap();
    statement["predicate"]["reason"] = json!("nothing to see");
    tampered["payload"] = json!(base64_encode(&serde_json::to_vec(&statement).unwrap()));
    let v = verify(&s, &tampered, None).await;
    assert_eq!(v["verified"], false, "{v}");
    let r = s.post("/v1/bundles/verify", r#"{"bundle": {"payload": 1}}"#).await;
    assert_eq!(r.status(), 422);

    // An allowed analysis cannot be overridden.
    let (allowed, _) =
        submit_and_wait(&s, &submission("acme/shop", &head(2), vec![line("README.md", 1, "hello", json!({}))])).await;
    assert_eq!(s.post(&format!("/v1/analysis/{allowed}/override"), r#"{"reason":"x"}"#).await.status(), 409);
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn bundles_signed_before_a_key_rotation_still_verify_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings { data_dir: dir.path().join("data"), ..Settings::default() };
    settings.http_listen = "127.0.0.1:0".parse().unwrap();
    let start = || async { embedded::start(&settings).await.expect("the embedded server starts") };

    let first = TestServer { server: start().await, http: reqwest::Client::new(), dir: tempfile::tempdir().unwrap() };
    let (id, _) =
        submit_and_wait(&first, &submission("acme/shop", &head(1), vec![line("a.py", 1, "x = 1", json!({}))])).await;
    let old_bundle = first.get_json(&format!("/v1/analysis/{id}/bundle")).await;
    first.server.stop().await.unwrap();

    let rotated = Keyring::rotate(&settings.data_dir).unwrap();
    let second = TestServer { server: start().await, http: reqwest::Client::new(), dir: tempfile::tempdir().unwrap() };
    let keys = second.get_json("/v1/keys").await;
    let keys = keys["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|k| k["keyid"] == rotated.keyid.as_str() && k["retired_at"].is_null()));

    let v = verify(&second, &old_bundle, Some("acme/shop")).await;
    assert_eq!(v["verified"], true, "{v}");
    assert!(v["key_retired_at"].is_string(), "verified by the retired key: {v}");
    let (id, _) =
        submit_and_wait(&second, &submission("acme/shop", &head(2), vec![line("a.py", 1, "x = 1", json!({}))])).await;
    let new_bundle = second.get_json(&format!("/v1/analysis/{id}/bundle")).await;
    assert_eq!(new_bundle["signatures"][0]["keyid"], rotated.keyid.as_str(), "the new key signs after the restart");
    let v = verify(&second, &new_bundle, None).await;
    assert_eq!((v["verified"].as_bool(), v["keyid"].as_str()), (Some(true), Some(rotated.keyid.as_str())));
    second.server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_json_bodies_are_problem_documents_naming_the_field() {
    let s = TestServer::start().await;
    assert_problem(s.post("/v1/api-keys", "{").await, 400, "").await;
    assert_problem(s.post("/v1/api-keys", r#"{"name": "ci", "scopes": "admin"}"#).await, 422, "/scopes").await;
    assert_problem(s.post("/v1/agents/claude-code/keys", r#"{"public_key": 7}"#).await, 422, "/public_key").await;
    assert_problem(s.post("/v1/policies/validate", r#"{"policy": 7}"#).await, 422, "/policy").await;
    let r = s.post("/v1/policies/validate", r#"{"policy": "{}", "extra": 1}"#).await;
    assert_eq!(r.status(), 422, "unknown fields are refused");
    let r = s.post("/v1/analysis/an_01JDQ7Z4V3K8M2N5P6R7S8T9VW/override", r#"{"reason": "x", "why": 1}"#).await;
    assert_eq!(r.status(), 422, "unknown fields are refused");
}
