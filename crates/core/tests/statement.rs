//! The signed decision bundle end to end: SARIF log → its digest → statement → DSSE envelope →
//! opened offline with the public key.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{TimeZone, Utc};
use ed25519_dalek::SigningKey;
use provenance_core::analysis::{Analysis, AnalysisStatus, ReportMode};
use provenance_core::attribution::Attribution;
use provenance_core::decision::{Coverage, Decision, FiredRule, Outcome, PolicyRef, RiskSummary};
use provenance_core::digest::sha256_hex;
use provenance_core::dsse::{self, Envelope, IN_TOTO_PAYLOAD_TYPE};
use provenance_core::finding::{Finding, FindingStatus, Location, Severity};
use provenance_core::id::{AnalysisId, DecisionId, FindingId, TenantId};
use provenance_core::names::{CommitSha, RepoName, RepoPath};
use provenance_core::sarif::{SarifInput, SarifSubject, sarif_bytes, sarif_log, sarif_sha256};
use provenance_core::statement::{
    BundleError, DECISION_PREDICATE_TYPE, STATEMENT_TYPE, build_statement, open_bundle, sign_statement,
};

const HEAD: &str = "0123456789abcdef0123456789abcdef01234567";

fn analysis() -> Analysis {
    let t = Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).single().expect("time");
    Analysis {
        id: AnalysisId::generate(),
        tenant_id: TenantId::generate(),
        repo: RepoName::parse("acme/shop").expect("repo"),
        pr_number: 7,
        base_sha: CommitSha::parse("fedcba9876543210fedcba9876543210fedcba98").expect("sha"),
        head_sha: CommitSha::parse(HEAD).expect("sha"),
        branch: None,
        status: AnalysisStatus::Completed,
        error: None,
        report_mode: ReportMode::Added,
        metadata: serde_json::Map::new(),
        inputs_sha256: "12".repeat(32),
        lines_total: 1,
        findings_total: 1,
        outcome: Some(Outcome::Block),
        created_at: t,
        updated_at: t,
        started_at: Some(t),
        completed_at: Some(t),
        purged_at: None,
    }
}

fn finding() -> Finding {
    Finding {
        id: FindingId::generate(),
        rule_id: "python.sqli.fstring".into(),
        rule_version: "1".into(),
        category: "sqli".into(),
        severity: Severity::Critical,
        message: "SQL built with an f-string".into(),
        location: Location {
            file_path: RepoPath::parse("api/orders.py").expect("path"),
            start_line: 3,
            end_line: 3,
            start_column: 1,
            end_column: 20,
        },
        snippet: "q = f\"SELECT {x}\"".into(),
        fingerprint: "00".repeat(16),
        attribution: Attribution::unknown(),
        engine: "structural".into(),
        status: FindingStatus::Open,
        suppression: None,
    }
}

fn decision(analysis: &Analysis, finding: &Finding) -> Decision {
    Decision {
        id: DecisionId::generate(),
        analysis_id: analysis.id.clone(),
        outcome: Outcome::Block,
        fired_rules: vec![FiredRule {
            rule: "severity.critical.block_at".into(),
            outcome: Outcome::Block,
            reason: "1 critical finding (block at 1)".into(),
            finding_ids: vec![finding.id.clone()],
            lines: Vec::new(),
        }],
        risk_summary: RiskSummary::of(std::slice::from_ref(finding)),
        coverage: Coverage { lines_total: 1, unknown_lines: 1, percent: 0.0, ..Default::default() },
        agent_lines: BTreeMap::from([("unknown".into(), 1)]),
        policy: PolicyRef { id: "default".into(), version: 1, sha256: "34".repeat(32) },
        detectors: Vec::new(),
        detectors_incomplete: Vec::new(),
        timings_ms: BTreeMap::new(),
        decided_at: analysis.created_at,
    }
}

fn signed_bundle() -> (Vec<u8>, Envelope, SigningKey) {
    let a = analysis();
    let f = finding();
    let d = decision(&a, &f);
    let findings = [f];
    let log = sarif_log(&SarifInput {
        subject: Some(SarifSubject { repo: &a.repo, head_sha: &a.head_sha, analysis_id: &a.id }),
        findings: &findings,
        rules: &[],
        tool_version: "0.1.0",
        execution_successful: true,
        failure_message: None,
        start_time: a.started_at,
        end_time: a.completed_at,
    });
    let statement = build_statement(&a, &d, &sarif_sha256(&log));
    let key = SigningKey::from_bytes(&[3; 32]);
    (sarif_bytes(&log), sign_statement(&statement, &key), key)
}

#[test]
fn a_bundle_opens_offline_and_names_the_served_sarif_bytes() {
    let (sarif, envelope, key) = signed_bundle();
    let statement = open_bundle(&envelope, &[key.verifying_key()]).expect("opens");
    assert_eq!(statement.type_, STATEMENT_TYPE);
    assert_eq!(statement.predicate_type, DECISION_PREDICATE_TYPE);
    assert_eq!(statement.subject_digest("sarif", "sha256"), Some(sha256_hex(&sarif).as_str()));
    assert_eq!(statement.subject_digest(&format!("git+https://github.com/acme/shop@{HEAD}"), "gitCommit"), Some(HEAD));
    assert_eq!(statement.predicate.outcome, Outcome::Block);
}

#[test]
fn the_envelope_has_the_dsse_json_shape_and_its_payload_is_the_canonical_statement() {
    let (_, envelope, key) = signed_bundle();
    let json = serde_json::to_value(&envelope).expect("json");
    assert_eq!(json["payloadType"], IN_TOTO_PAYLOAD_TYPE);
    assert_eq!(json["signatures"][0]["keyid"], dsse::key_id(&key.verifying_key()));
    let payload = STANDARD.decode(json["payload"].as_str().expect("payload")).expect("base64");
    let statement = open_bundle(&envelope, &[key.verifying_key()]).expect("opens");
    assert_eq!(payload, statement.canonical_bytes());
}

#[test]
fn a_bundle_reencoded_in_url_safe_base64_still_opens() {
    let (_, mut envelope, key) = signed_bundle();
    envelope.payload = URL_SAFE_NO_PAD.encode(STANDARD.decode(&envelope.payload).expect("base64"));
    assert!(open_bundle(&envelope, &[key.verifying_key()]).is_ok());
}

#[test]
fn a_bundle_with_another_payload_type_is_refused() {
    let (_, mut envelope, key) = signed_bundle();
    envelope.payload_type = "application/json".into();
    let err = open_bundle(&envelope, &[key.verifying_key()]).expect_err("refused");
    assert!(matches!(err, BundleError::Envelope(dsse::DsseError::PayloadType { .. })), "{err}");
}
