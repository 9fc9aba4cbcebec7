//! Attribution through the real API (SPEC §3): authorship documents (git-ai notes, Agent Trace
//! records, from the hand-written fixtures in `crates/core/tests/fixtures/authorship/`), the
//! agent key registry, and signed line attestations — bound, replayed, legacy and missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use provenance_core::attestation::sign_line;
use provenance_core::digest::sha256_hex;
use serde_json::{Value, json};
use support::{TestServer, assert_problem};

mod support;

const HEAD: &str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0";
const EARLIER: &str = "0badc0de0badc0de0badc0de0badc0de0badc0d";

fn fixture(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/fixtures/authorship/");
    std::fs::read_to_string(format!("{root}{path}")).unwrap()
}

fn added(path: &str, n: u32, attribution: Value) -> Value {
    json!({"file_path": path, "line_number": n, "change_type": "added", "content": format!("line {n}"),
           "attribution": attribution})
}

async fn submit_and_wait(s: &TestServer, body: &Value) -> String {
    let r = s.post("/v1/analysis", body.to_string()).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["analysis_id"].as_str().unwrap().to_string();
    s.wait_completed(&id).await;
    id
}

/// Each line's attribution by `path:line`.
async fn attributions(s: &TestServer, id: &str) -> std::collections::HashMap<String, Value> {
    let lines = s.get_json(&format!("/v1/analysis/{id}/lines?limit=500")).await;
    lines["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (format!("{}:{}", l["file_path"].as_str().unwrap(), l["line_number"]), l["attribution"].clone()))
        .collect()
}

/// (contributor, agent, model, source, confidence, flags) of an attribution.
fn summary(a: &Value) -> (String, Option<String>, Option<String>, String, f64, Vec<String>) {
    (
        a["contributor"].as_str().unwrap().into(),
        a["agent_id"].as_str().map(Into::into),
        a["model_id"].as_str().map(Into::into),
        a["source"].as_str().unwrap().into(),
        a["confidence"].as_f64().unwrap(),
        a["flags"].as_array().map(|f| f.iter().map(|x| x.as_str().unwrap().to_string()).collect()).unwrap_or_default(),
    )
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[tokio::test]
async fn git_ai_notes_and_agent_trace_records_attribute_lines_through_the_api() {
    let srv = TestServer::start().await;
    let trace: Value = serde_json::from_str(&fixture("agent-trace/multi-file.json")).unwrap();
    let body = json!({
        "repo": "acme/shop", "pr_number": 9, "base_sha": "4e1d2c3b", "head_sha": HEAD,
        "provenance_data": {"changed_lines": [
            // git-ai note of the head commit: positions are head positions.
            added("src/server/handlers.rs", 3, json!({})),
            added("src/server/handlers.rs", 27, json!({})),
            added("docs/getting started.md", 8, json!({})),
            added("src/server/handlers.rs", 50, json!({})),
            // Declared by the client as Copilot's, the note says Claude Code's: same tier.
            added("src/server/handlers.rs", 5, json!({"agent_id": "github-copilot"})),
            // A legacy note of an earlier commit: found through the line's place in that commit.
            added("lib/parser.py", 40, json!({"commit_sha": &EARLIER[..10], "commit_line": 12})),
            added("lib/parser.py", 41, json!({"commit_sha": EARLIER})),
            // The Agent Trace record (vcs revision = head).
            added("src/utils/parser.ts", 50, json!({})),
            added("src/utils/parser.ts", 70, json!({})),
            added("src/utils/helpers.ts", 12, json!({})),
        ]},
        "attribution_sources": [
            {"type": "git_ai_note", "commit_sha": HEAD, "note": fixture("git-ai/current-two-tools.txt")},
            {"type": "git_ai_note", "commit_sha": EARLIER, "note": fixture("git-ai/legacy-short-hashes.txt")},
            {"type": "agent_trace", "record": trace},
        ],
    });
    let id = submit_and_wait(&srv, &body).await;
    let a = attributions(&srv, &id).await;
    let note = "git_ai_note".to_string();
    assert_eq!(
        summary(&a["src/server/handlers.rs:3"]),
        ("ai".into(), s("claude-code"), s("claude-sonnet-4-5"), note.clone(), 0.9, vec![])
    );
    assert_eq!(
        summary(&a["src/server/handlers.rs:27"]),
        ("ai".into(), s("cursor"), s("gpt-5"), note.clone(), 0.9, vec![])
    );
    assert_eq!(summary(&a["docs/getting started.md:8"]).1, s("cursor"), "a quoted path with a space");
    assert_eq!(summary(&a["src/server/handlers.rs:50"]).0, "unknown", "outside every range");
    assert_eq!(
        summary(&a["src/server/handlers.rs:5"]),
        ("ai".into(), s("github-copilot"), None, "declared".into(), 0.9, vec!["source_conflict".to_string()]),
        "the first of equally strong sources is kept and the disagreement recorded"
    );
    assert_eq!(summary(&a["lib/parser.py:40"]), ("ai".into(), s("github-copilot"), s("gpt-4o"), note, 0.9, vec![]));
    assert_eq!(summary(&a["lib/parser.py:41"]).0, "unknown", "no position in the earlier commit: no guess");
    let trace_source = "agent_trace".to_string();
    assert_eq!(
        summary(&a["src/utils/parser.ts:50"]),
        ("ai".into(), s("cursor"), s("anthropic/claude-opus-4-5-20251101"), trace_source.clone(), 0.9, vec![])
    );
    assert_eq!(summary(&a["src/utils/parser.ts:70"]), ("human".into(), None, None, trace_source.clone(), 0.9, vec![]));
    assert_eq!(
        summary(&a["src/utils/helpers.ts:12"]),
        ("mixed".into(), s("cursor"), s("openai/gpt-4o"), trace_source, 0.9, vec![])
    );

    let decision = srv.get_json(&format!("/v1/analysis/{id}/decision")).await;
    let coverage = &decision["coverage"];
    assert_eq!(coverage["lines_total"], 10);
    assert_eq!(coverage["unknown_lines"], 2);
    assert_eq!(decision["agent_lines"]["cursor"], 4);
    assert_eq!(decision["agent_lines"]["claude-code"], 1);
    assert_eq!(decision["agent_lines"]["github-copilot"], 2);
    assert_eq!(decision["agent_lines"]["human"], 1);
    assert_eq!(coverage["by_source"]["git_ai_note"], 4);
    assert_eq!(coverage["by_source"]["agent_trace"], 3);
    assert_eq!(coverage["flagged"]["source_conflict"], 1);

    // A malformed document is refused at its field, and nothing is stored.
    let before = srv.analyses_count().await;
    let mut bad = body.clone();
    bad["attribution_sources"][0]["note"] = json!("src/a.rs\n  3f9a1c2e7b4d6a08 9-3\n---\n{}");
    bad["pr_number"] = json!(10);
    assert_problem(srv.post("/v1/analysis", bad.to_string()).await, 422, "/attribution_sources/0/note").await;
    let mut bad = body.clone();
    bad["attribution_sources"][2]["record"]["files"][0]["conversations"][0]["ranges"][0]["end_line"] = json!(0);
    bad["pr_number"] = json!(11);
    let p = srv.post("/v1/analysis", bad.to_string()).await;
    assert_problem(p, 422, "/attribution_sources/2/record/files/0/conversations/0/ranges/0/end_line").await;
    assert_eq!(srv.analyses_count().await, before);
    srv.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_agent_key_registry_registers_lists_and_revokes_keys() {
    let srv = TestServer::start().await;
    let key = SigningKey::from_bytes(&[7; 32]);
    let public = STANDARD.encode(key.verifying_key().as_bytes());
    let r = srv.post("/v1/agents/claude-code/keys", json!({"public_key": public}).to_string()).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert!(created["id"].as_str().unwrap().starts_with("agk_"));
    assert_eq!(created["fingerprint"], sha256_hex(key.verifying_key().as_bytes()));

    let again = srv.post("/v1/agents/claude-code/keys", json!({"public_key": public}).to_string()).await;
    assert_eq!(again.status(), 200, "registering the same key again is idempotent");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], created["id"]);
    let elsewhere = srv.post("/v1/agents/cursor/keys", json!({"public_key": public}).to_string()).await;
    assert_eq!(elsewhere.status(), 409, "one key cannot speak for two agents");
    let short = srv.post("/v1/agents/cursor/keys", json!({"public_key": "AAAA"}).to_string()).await;
    assert_problem(short, 422, "/public_key").await;
    assert_problem(srv.post("/v1/agents/cursor/keys", "{}").await, 422, "/public_key").await;

    let list = srv.get_json("/v1/agents/claude-code/keys").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(srv.get_json("/v1/agents/cursor/keys").await["items"], json!([]));

    let id = created["id"].as_str().unwrap();
    assert_eq!(srv.delete(&format!("/v1/agents/cursor/keys/{id}")).await.status(), 404, "not cursor's key");
    assert_eq!(srv.delete(&format!("/v1/agents/claude-code/keys/{id}")).await.status(), 204);
    let list = srv.get_json("/v1/agents/claude-code/keys").await;
    assert!(list["items"][0]["revoked_at"].is_string(), "revoked keys stay listed: {list}");
    assert_eq!(srv.post("/v1/agents/cursor/keys", json!({"public_key": public}).to_string()).await.status(), 201);
    let all = srv.delete("/v1/agents/cursor/keys").await;
    assert_eq!(all.json::<Value>().await.unwrap()["revoked"], 1);
    srv.server.stop().await.unwrap();
}

#[tokio::test]
async fn signed_lines_score_one_and_a_replayed_signature_is_flagged_and_blocks() {
    let srv = TestServer::start().await;
    let key = SigningKey::from_bytes(&[11; 32]);
    let public = STANDARD.encode(key.verifying_key().as_bytes());
    let registered = srv.post("/v1/agents/claude-code/keys", json!({"public_key": public}).to_string()).await;
    let key_id = registered.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    let (repo, path) = ("acme/shop", "app/pay.py");
    let signed = |n: u32, content: &str| sign_line(&key, repo, HEAD, path, n, content);
    let line = |n: u32, content: &str, signature: Option<String>| {
        json!({"file_path": path, "line_number": n, "change_type": "added", "content": content,
               "attribution": {"agent_id": "claude-code"}, "attestation_signature": signature})
    };
    let legacy = STANDARD.encode(key.sign(sha256_hex(b"total = 0").as_bytes()).to_bytes());
    let body = |pr: u32| {
        json!({
            "repo": repo, "pr_number": pr, "base_sha": "4e1d2c3b", "head_sha": HEAD,
            "provenance_data": {"changed_lines": [
                line(1, "amount = 10", Some(signed(1, "amount = 10"))),
                // Line 1's valid signature, replayed onto line 2 with the same content.
                line(2, "amount = 10", Some(signed(1, "amount = 10"))),
                line(3, "total = 0", Some(legacy.clone())),
                line(4, "print(total)", None),
            ]},
        })
    };
    let id = submit_and_wait(&srv, &body(1)).await;
    let a = attributions(&srv, &id).await;
    let at = |n: u32| summary(&a[&format!("{path}:{n}")]);
    assert_eq!(at(1), ("ai".into(), s("claude-code"), None, "signed".into(), 1.0, vec![]));
    assert_eq!(at(2).5, vec!["signature_invalid".to_string()]);
    assert_eq!(at(2).3, "declared", "an invalid signature leaves the other attribution");
    assert_eq!(
        at(3),
        ("ai".into(), s("claude-code"), None, "signed".into(), 0.95, vec!["legacy_unbound_signature".into()])
    );
    assert_eq!(at(4).5, vec!["unsigned_from_keyed_agent".to_string()]);

    let decision = srv.get_json(&format!("/v1/analysis/{id}/decision")).await;
    assert_eq!(decision["outcome"], "block");
    let fired: Vec<&Value> = decision["fired_rules"].as_array().unwrap().iter().collect();
    let rule = fired.iter().find(|r| r["rule"] == "attestation.signature_invalid").expect("the signature rule fired");
    assert_eq!(rule["lines"], json!([{"file_path": path, "line_number": 2}]));
    assert_eq!(decision["coverage"]["by_source"]["signed"], 2);
    assert_eq!(decision["coverage"]["flagged"]["signature_invalid"], 1);

    // The same signatures submitted for another repository do not verify: they are bound to it.
    let mut moved = body(2);
    moved["repo"] = json!("acme/other");
    let id = submit_and_wait(&srv, &moved).await;
    let a = attributions(&srv, &id).await;
    assert!(a[&format!("{path}:1")]["flags"].as_array().unwrap().contains(&json!("signature_invalid")));

    // Once the key is revoked, its signatures verify nothing.
    assert_eq!(srv.delete(&format!("/v1/agents/claude-code/keys/{key_id}")).await.status(), 204);
    let id = submit_and_wait(&srv, &body(3)).await;
    let a = attributions(&srv, &id).await;
    assert_eq!(summary(&a[&format!("{path}:1")]).5, vec!["signature_invalid".to_string()]);
    assert!(summary(&a[&format!("{path}:4")]).5.is_empty(), "no keys left: nothing expected of unsigned lines");
    srv.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_sends_commits_and_git_ai_notes_and_places_each_line_in_its_commit() {
    let srv = TestServer::start().await;
    let repo = srv.dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q"]);
    std::fs::write(repo.join("app.py"), "import os\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "base"]);
    // Commit 1: an agent writes two lines, and git-ai records it in a note (lines 2-3 then).
    std::fs::write(repo.join("app.py"), "import os\ndef total(xs):\n    return sum(xs)\n").unwrap();
    git(&["commit", "-qam", "Add total"]);
    let first = git(&["rev-parse", "HEAD"]).trim().to_string();
    let note = "app.py\n  3f9a1c2e7b4d6a08 2-3\n---\n{\"schema_version\":\"authorship/3.0.0\",\"base_commit_sha\":\"x\",\"prompts\":{\"3f9a1c2e7b4d6a08\":{\"agent_id\":{\"tool\":\"claude\",\"id\":\"s-1\",\"model\":\"claude-sonnet-4-5\"},\"human_author\":\"Ada\",\"total_additions\":2,\"total_deletions\":0,\"accepted_lines\":2,\"overriden_lines\":0}}}";
    git(&["notes", "--ref=ai", "add", "-m", note, &first]);
    // Commit 2: Ada adds two lines above, so the agent's lines are now 4-5 at head; a third
    // commit by Copilot's bot adds one at the end.
    std::fs::write(repo.join("app.py"), "import os\nimport sys\n\ndef total(xs):\n    return sum(xs)\n").unwrap();
    git(&["commit", "-qam", "Import sys"]);
    std::fs::write(
        repo.join("app.py"),
        "import os\nimport sys\n\ndef total(xs):\n    return sum(xs)\nprint(total([1]))\n",
    )
    .unwrap();
    git(&[
        "-c",
        "user.name=copilot-swe-agent[bot]",
        "-c",
        "user.email=198982749+Copilot@users.noreply.github.com",
        "commit",
        "-qam",
        "Print the total",
    ]);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provenance"))
        .args(["submit", "--server", &srv.server.base_url(), "--api-key", &srv.server.admin_token])
        .args(["--repo-dir", repo.to_str().unwrap(), "--base", "HEAD~3", "--repo", "acme/shop", "--pr", "8"])
        .args(["--out-dir", srv.dir.path().join("out").to_str().unwrap(), "--fail-on", "never"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("3 commit(s), 1 git-ai note(s)"), "{stderr}");
    let listed = srv.get_json("/v1/analyses").await;
    let id = listed["items"][0]["id"].as_str().unwrap().to_string();
    let a = attributions(&srv, &id).await;
    let agent = |n: u32| summary(&a[&format!("app.py:{n}")]);
    assert_eq!(agent(4), ("ai".into(), s("claude-code"), s("claude-sonnet-4-5"), "git_ai_note".into(), 0.9, vec![]));
    assert_eq!(agent(5).1, s("claude-code"));
    assert_eq!(agent(2).0, "unknown", "Ada's line: no agent marks");
    assert_eq!(agent(6), ("ai".into(), s("github-copilot"), None, "bot_author".into(), 0.8, vec![]));
    srv.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_tenants_own_agent_identities_are_matched_before_the_shipped_table() {
    let srv = TestServer::start().await;
    let body = |pr: u32| {
        json!({
            "repo": "acme/shop", "pr_number": pr, "base_sha": "4e1d2c3b", "head_sha": HEAD,
            "provenance_data": {"changed_lines": [added("app/a.py", 1, json!({}))]},
            "attribution_sources": [{"type": "commit", "sha": "c1c1c1c1", "author_name": "Ada",
                "author_email": "ada@example.com", "message": "Tidy\n\nCo-authored-by: Acme Bot <bot@acme.dev>"}],
        })
    };
    let id = submit_and_wait(&srv, &body(1)).await;
    assert_eq!(summary(&attributions(&srv, &id).await["app/a.py:1"]).0, "unknown", "not an agent we know yet");

    let put = |path: &str, doc: Value| {
        srv.http
            .put(srv.url(path))
            .bearer_auth(&srv.server.admin_token)
            .header("content-type", "application/json")
            .body(doc.to_string())
            .send()
    };
    let r =
        put("/v1/agents/acme-bot/identity", json!({"names": ["Acme Bot"], "emails": ["BOT@acme.dev"]})).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["emails"], json!(["bot@acme.dev"]), "kept lower-case");
    assert_problem(put("/v1/agents/acme-bot/identity", json!({"names": [""]})).await.unwrap(), 422, "/names/0").await;
    let listed = srv.get_json("/v1/agents/identities").await;
    assert_eq!(listed["tenant"][0]["agent_id"], "acme-bot");
    assert!(listed["shipped"].as_array().unwrap().iter().any(|a| a["agent_id"] == "claude-code"));

    let id = submit_and_wait(&srv, &body(2)).await;
    assert_eq!(
        summary(&attributions(&srv, &id).await["app/a.py:1"]),
        // Ada wrote the commit with the agent: her lines are human-co-authored.
        ("ai".into(), s("acme-bot"), None, "trailer".into(), 0.8, vec!["human_co_author".to_string()])
    );
    assert_eq!(srv.delete("/v1/agents/acme-bot/identity").await.status(), 204);
    assert_eq!(srv.delete("/v1/agents/acme-bot/identity").await.status(), 404);
    srv.server.stop().await.unwrap();
}
