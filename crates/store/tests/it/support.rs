//! Fixtures: a fresh migrated SQLite file per test, and small builders of the domain values the
//! store takes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use provenance_core::decision::{DecisionInput, DetectorRef, decide};
use provenance_core::policy::Policy;
use provenance_core::{
    AgentId, Analysis, AnalysisId, Attribution, ChangeType, ChangedLine, CommitSha, Contributor, DeclaredAttribution,
    Detection, FileContent, Finding, Location, NewAnalysis, RepoName, RepoPath, ReportMode, Severity, TenantId,
};
use provenance_store::sqlite::SqliteStore;
use provenance_store::{
    AccessRepository, AnalysisRepository, AnalysisResult, IdempotencyKey, JobInput, OutboxMessage, Store, Submitted,
    topics,
};
use tempfile::TempDir;

/// A migrated store in its own temporary directory (dropped with the `TempDir`).
pub struct TestStore {
    pub store: Arc<SqliteStore>,
    _dir: TempDir,
}

impl TestStore {
    pub fn as_dyn(&self) -> Arc<dyn Store> {
        self.store.clone()
    }
}

impl std::ops::Deref for TestStore {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

pub async fn test_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("provenance.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    TestStore { store: Arc::new(store), _dir: dir }
}

pub async fn tenant(store: &SqliteStore) -> TenantId {
    let id = TenantId::generate();
    store.ensure_tenant(&id, "Acme").await.unwrap();
    id
}

pub fn line(path: &str, n: u32) -> ChangedLine {
    ChangedLine {
        file_path: RepoPath::parse(path).unwrap(),
        line_number: n,
        change_type: ChangeType::Added,
        content: Some(format!("x{n} = eval(input())")),
        language: Some("python".into()),
        author_identity: Some("dev@example.com".into()),
        declared: Some(DeclaredAttribution {
            agent_id: Some(AgentId::parse("claude-code").unwrap()),
            ..Default::default()
        }),
        content_sha256: None,
        attestation_signature: None,
        attribution: Attribution::unknown(),
    }
}

/// A submission of `lines` added lines of `api/orders.py` to `acme/shop` PR `pr` at `head`.
pub fn new_analysis(tenant: &TenantId, pr: u64, head: &str, lines: u32) -> NewAnalysis {
    let lines: Vec<ChangedLine> = (1..=lines).map(|n| line("api/orders.py", n)).collect();
    let inputs_sha256 = provenance_core::digest::sha256_hex(format!("{pr}{head}{}", lines.len()).as_bytes());
    NewAnalysis {
        id: AnalysisId::generate(),
        tenant_id: tenant.clone(),
        repo: RepoName::parse("acme/shop").unwrap(),
        pr_number: pr,
        base_sha: CommitSha::parse("abc123").unwrap(),
        head_sha: CommitSha::parse(head).unwrap(),
        branch: Some("feature/x".into()),
        lines,
        files: vec![FileContent { path: RepoPath::parse("api/orders.py").unwrap(), content: "import os\n".into() }],
        report_mode: ReportMode::Added,
        metadata: serde_json::json!({"ci": "github"}).as_object().unwrap().clone(),
        inputs_sha256,
        created_at: Utc::now(),
    }
}

pub fn job_for(new: &NewAnalysis) -> OutboxMessage {
    OutboxMessage { topic: topics::ANALYSIS_JOBS.into(), key: new.id.to_string(), payload: new.id.to_string().into() }
}

pub fn idempotency(key: &str, request: &str) -> IdempotencyKey {
    IdempotencyKey { key: key.into(), request_sha256: provenance_core::digest::sha256_hex(request.as_bytes()) }
}

/// Submit and expect a new analysis.
pub async fn submitted(store: &SqliteStore, new: &NewAnalysis) -> Analysis {
    match store.submit_analysis(new, None, &job_for(new)).await.unwrap() {
        Submitted::Created(a) => a,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub fn finding_on(line: &ChangedLine, severity: Severity) -> Finding {
    Finding::from_detection(
        Detection {
            rule_id: "python.eval".into(),
            rule_version: "1".into(),
            category: "code_execution".into(),
            severity,
            message: "eval of user input".into(),
            location: Location {
                file_path: line.file_path.clone(),
                start_line: line.line_number,
                end_line: line.line_number,
                start_column: 6,
                end_column: 19,
            },
            snippet: line.content.clone().unwrap_or_default(),
            engine: "regex".into(),
        },
        line.attribution.clone(),
    )
}

pub fn ai_attribution() -> Attribution {
    Attribution {
        contributor: Contributor::Ai,
        agent_id: Some(AgentId::parse("claude-code").unwrap()),
        model_id: None,
        session_id: None,
        source: provenance_core::AttributionSource::Declared,
        confidence: 0.9,
        flags: Vec::new(),
    }
}

/// What a worker would commit for `input`: every line attributed to an agent, one high finding
/// per line, the default policy's decision, and stand-in bundle and SARIF documents.
pub fn result_for(input: &JobInput, completed_at: DateTime<Utc>) -> AnalysisResult {
    let lines: Vec<ChangedLine> =
        input.lines.iter().cloned().map(|l| ChangedLine { attribution: ai_attribution(), ..l }).collect();
    let findings: Vec<Finding> = lines.iter().map(|l| finding_on(l, Severity::High)).collect();
    let decision = decide(DecisionInput {
        analysis_id: &input.analysis.id,
        lines: &lines,
        findings: &findings,
        policy: &Policy::default(),
        detectors: vec![DetectorRef { name: "regex".into(), version: "1".into(), rulepack_sha256: "0".repeat(64) }],
        detectors_incomplete: Vec::new(),
        timings_ms: BTreeMap::from([("detect".to_string(), 3)]),
        decided_at: completed_at,
    });
    AnalysisResult {
        analysis_id: input.analysis.id.clone(),
        lines,
        findings,
        decision,
        bundle: serde_json::json!({"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": []}),
        sarif: serde_json::json!({"version": "2.1.0", "runs": []}),
        completed_at,
    }
}

/// A time truncated to what the store keeps (milliseconds).
pub fn millis(at: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(at, 3)
}

pub const SHORT_LEASE: Duration = Duration::from_millis(200);
