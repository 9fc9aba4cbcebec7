//! The in-toto Statement v1 over a decision (SPEC §5), its canonical bytes (RFC 8785, JCS), and
//! its DSSE envelope ("bundle"): signing and opening.
//!
//! The statement names two subjects: the head commit of the pull request
//! (`git+https://github.com/{repo}@{head_sha}`, digest `gitCommit`) and the SARIF report
//! (`sarif`, digest `sha256`). Its predicate (`https://provenance.dev/attestations/decision/v1`)
//! carries the outcome and the evidence summary. Large things (findings, lines, the SARIF log,
//! the submitted inputs) are referenced by digest or capped, so a statement stays far below
//! 100 KB whatever the size of the change.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::decision::{Coverage, Decision, DetectorRef, FiredRule, Outcome, PolicyRef, RiskSummary};
use crate::dsse::{DsseError, Envelope, IN_TOTO_PAYLOAD_TYPE, sign_envelope, verify_envelope};
use crate::id::{AnalysisId, DecisionId, FindingId};
use crate::line::LineRef;
use crate::names::{CommitSha, RepoName};

/// The in-toto Statement layer, v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// Provenance's decision predicate, v1 (documented with the statement format).
pub const DECISION_PREDICATE_TYPE: &str = "https://provenance.dev/attestations/decision/v1";

/// At most this many finding ids and this many lines are cited per fired rule; the rest are
/// counted in `finding_ids_truncated` / `lines_truncated`.
pub const MAX_CITED_PER_RULE: usize = 100;

/// If a statement's canonical form would exceed this many bytes (very long paths, many fired
/// rules), fewer findings and lines are cited per rule until it fits; the rest are counted.
pub const STATEMENT_BUDGET_BYTES: usize = 64 * 1024;

/// Subject name of the SARIF report.
pub const SARIF_SUBJECT_NAME: &str = "sarif";

/// An in-toto Statement v1; by default one whose predicate is a Provenance decision (the other
/// predicate Provenance signs is an override, [`crate::overrides::OverridePredicate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement<P = DecisionPredicate> {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<ResourceDescriptor>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: P,
}

/// An in-toto ResourceDescriptor with a name and digests (`gitCommit`, `sha256`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// The decision predicate, v1: what was decided about which change, under which policy and
/// detectors, from which inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionPredicate {
    pub analysis_id: AnalysisId,
    pub decision_id: DecisionId,
    pub repo: RepoName,
    pub pr_number: u64,
    pub base_sha: CommitSha,
    pub head_sha: CommitSha,
    pub outcome: Outcome,
    pub fired_rules: Vec<PredicateFiredRule>,
    #[serde(serialize_with = "serialize_finite_coverage")]
    pub coverage: Coverage,
    /// The risk summary: open findings by severity, category and agent.
    pub counts: RiskSummary,
    pub policy: PolicyRef,
    pub detectors: Vec<DetectorRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detectors_incomplete: Vec<String>,
    /// Changed lines per agent label (`claude-code`, `human`, `unknown`, …).
    pub agent_lines: BTreeMap<String, u64>,
    /// sha256 of the canonical (JCS) submitted inputs.
    pub inputs_sha256: String,
    /// RFC 3339 UTC with seconds precision and a `Z` suffix, e.g. `2026-11-22T12:00:00Z`.
    #[serde(with = "rfc3339_seconds_z")]
    pub decided_at: DateTime<Utc>,
}

/// A fired policy rule as cited in the statement: its evidence capped at
/// [`MAX_CITED_PER_RULE`] finding ids and lines, with the number left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredicateFiredRule {
    pub rule: String,
    pub outcome: Outcome,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finding_ids: Vec<FindingId>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub finding_ids_truncated: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineRef>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lines_truncated: u64,
}

impl PredicateFiredRule {
    /// Cite a fired rule, keeping the first [`MAX_CITED_PER_RULE`] findings and lines.
    pub fn cite(rule: &FiredRule) -> Self {
        Self::cite_at_most(rule, MAX_CITED_PER_RULE, MAX_CITED_PER_RULE)
    }

    /// Cite a fired rule, keeping the first `max_findings` finding ids and `max_lines` lines.
    pub fn cite_at_most(rule: &FiredRule, max_findings: usize, max_lines: usize) -> Self {
        let (finding_ids, finding_ids_truncated) = capped(&rule.finding_ids, max_findings);
        let (lines, lines_truncated) = capped(&rule.lines, max_lines);
        Self {
            rule: rule.rule.clone(),
            outcome: rule.outcome,
            reason: rule.reason.clone(),
            finding_ids,
            finding_ids_truncated,
            lines,
            lines_truncated,
        }
    }
}

fn capped<T: Clone>(items: &[T], max: usize) -> (Vec<T>, u64) {
    let kept = items.len().min(max);
    (items[..kept].to_vec(), (items.len() - kept) as u64)
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// JCS cannot encode NaN or infinities; `Coverage::of` never produces them, but a hand-built
/// coverage could, and a statement must always have canonical bytes.
fn serialize_finite_coverage<S: serde::Serializer>(coverage: &Coverage, s: S) -> Result<S::Ok, S::Error> {
    if coverage.percent.is_finite() {
        coverage.serialize(s)
    } else {
        Coverage { percent: 0.0, ..coverage.clone() }.serialize(s)
    }
}

pub(crate) mod rfc3339_seconds_z {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s).map(|t| t.with_timezone(&Utc)).map_err(serde::de::Error::custom)
    }
}

/// The subject name of a commit: `git+https://github.com/{repo}@{sha}`.
pub fn commit_subject_name(repo: &RepoName, sha: &CommitSha) -> String {
    format!("git+https://github.com/{repo}@{sha}")
}

/// The statement for a decision over an analysis, naming the head commit and the SARIF report
/// (by the lower-case hex sha256 of the exact SARIF bytes served).
///
/// Each fired rule cites at most [`MAX_CITED_PER_RULE`] findings and lines; if the statement
/// would still exceed [`STATEMENT_BUDGET_BYTES`], the per-rule caps are halved (lines first,
/// then finding ids) until it fits. The full evidence stays in the stored decision and in the
/// SARIF report, which the statement names by digest.
pub fn build_statement(analysis: &Analysis, decision: &Decision, sarif_sha256: &str) -> Statement {
    let subject = vec![
        ResourceDescriptor {
            name: commit_subject_name(&analysis.repo, &analysis.head_sha),
            digest: BTreeMap::from([("gitCommit".to_string(), analysis.head_sha.to_string())]),
        },
        ResourceDescriptor {
            name: SARIF_SUBJECT_NAME.to_string(),
            digest: BTreeMap::from([("sha256".to_string(), sarif_sha256.to_ascii_lowercase())]),
        },
    ];
    let predicate = DecisionPredicate {
        analysis_id: analysis.id.clone(),
        decision_id: decision.id.clone(),
        repo: analysis.repo.clone(),
        pr_number: analysis.pr_number,
        base_sha: analysis.base_sha.clone(),
        head_sha: analysis.head_sha.clone(),
        outcome: decision.outcome,
        fired_rules: decision.fired_rules.iter().map(PredicateFiredRule::cite).collect(),
        coverage: decision.coverage.clone(),
        counts: decision.risk_summary.clone(),
        policy: decision.policy.clone(),
        detectors: decision.detectors.clone(),
        detectors_incomplete: decision.detectors_incomplete.clone(),
        agent_lines: decision.agent_lines.clone(),
        inputs_sha256: analysis.inputs_sha256.clone(),
        // Seconds precision, so the value survives a round trip through its RFC 3339 form.
        decided_at: decision.decided_at.with_nanosecond(0).unwrap_or(decision.decided_at),
    };
    let mut statement = Statement {
        type_: STATEMENT_TYPE.to_string(),
        subject,
        predicate_type: DECISION_PREDICATE_TYPE.to_string(),
        predicate,
    };
    // Lines (whose paths can be long) give way first, then finding ids.
    let (mut max_findings, mut max_lines) = (MAX_CITED_PER_RULE, MAX_CITED_PER_RULE);
    while max_findings > 0 && statement.canonical_bytes().len() > STATEMENT_BUDGET_BYTES {
        if max_lines > 0 {
            max_lines /= 2;
        } else {
            max_findings /= 2;
        }
        statement.predicate.fired_rules =
            decision.fired_rules.iter().map(|r| PredicateFiredRule::cite_at_most(r, max_findings, max_lines)).collect();
    }
    statement
}

impl<P: Serialize> Statement<P> {
    /// The RFC 8785 (JCS) canonical bytes: the DSSE payload.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Only strings, integers, finite floats and string-keyed maps: serialisation cannot fail.
        crate::digest::canonical_json(self).expect("a statement always has a canonical JSON form")
    }

    /// The digest of a subject by name and algorithm, e.g. `("sarif", "sha256")`.
    pub fn subject_digest(&self, name: &str, algorithm: &str) -> Option<&str> {
        self.subject.iter().find(|s| s.name == name).and_then(|s| s.digest.get(algorithm)).map(String::as_str)
    }
}

impl Statement {
    /// The decided-at time as written in the statement.
    pub fn decided_at_rfc3339(&self) -> String {
        self.predicate.decided_at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

/// Sign a statement: a DSSE envelope over its canonical bytes with payload type
/// `application/vnd.in-toto+json`.
pub fn sign_statement<P: Serialize>(statement: &Statement<P>, key: &SigningKey) -> Envelope {
    sign_envelope(key, IN_TOTO_PAYLOAD_TYPE, &statement.canonical_bytes())
}

/// Why a bundle could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("bad signature: {0}")]
    BadSignature(DsseError),
    #[error("not a DSSE envelope of an in-toto statement: {0}")]
    Envelope(DsseError),
    #[error("not an in-toto statement: `_type` is {found:?}, expected {expected:?}", expected = STATEMENT_TYPE)]
    NotInToto { found: String },
    #[error("wrong predicate type {found:?}, expected {}", expected_predicate_types())]
    WrongPredicateType { found: String },
    #[error("malformed statement JSON: {0}")]
    Malformed(String),
}

impl From<DsseError> for BundleError {
    fn from(e: DsseError) -> Self {
        match e {
            DsseError::BadSignature | DsseError::NoSignatures => Self::BadSignature(e),
            // Payload encoding or type: the envelope is not what a bundle is.
            _ => Self::Envelope(e),
        }
    }
}

fn expected_predicate_types() -> String {
    format!("{DECISION_PREDICATE_TYPE:?} or {:?}", crate::overrides::OVERRIDE_PREDICATE_TYPE)
}

/// A verified statement of either kind Provenance signs.
#[derive(Debug, Clone, PartialEq)]
pub enum OpenedStatement {
    Decision(Box<Statement>),
    Override(Box<Statement<crate::overrides::OverridePredicate>>),
}

impl OpenedStatement {
    /// The statement as JSON, to print or return.
    pub fn to_value(&self) -> serde_json::Value {
        match self {
            // Statements serialise to plain JSON objects; nothing here can fail.
            Self::Decision(s) => serde_json::to_value(s),
            Self::Override(s) => serde_json::to_value(s),
        }
        .unwrap_or(serde_json::Value::Null)
    }

    /// The subjects it is about.
    pub fn subject(&self) -> &[ResourceDescriptor] {
        match self {
            Self::Decision(s) => &s.subject,
            Self::Override(s) => &s.subject,
        }
    }

    /// `Err` saying why when the statement is not about repository `repo` (`owner/name`) or
    /// commit `sha` (either check skipped when not given).
    pub fn check_subject(&self, repo: Option<&str>, sha: Option<&str>) -> Result<(), String> {
        if repo.is_none() && sha.is_none() {
            return Ok(());
        }
        let commit = self
            .subject()
            .iter()
            .find(|s| s.digest.contains_key("gitCommit"))
            .ok_or_else(|| "the statement names no commit".to_string())?;
        if let Some(repo) = repo
            && !commit.name.starts_with(&format!("git+https://github.com/{repo}@"))
        {
            return Err(format!("the statement is about {}, not {repo}", commit.name));
        }
        let got = commit.digest.get("gitCommit").map(String::as_str).unwrap_or_default();
        match sha {
            Some(sha) if !got.eq_ignore_ascii_case(sha) => {
                Err(format!("the statement is about commit {got}, not {sha}"))
            }
            _ => Ok(()),
        }
    }

    /// The outcome it states: the decision's, or `allow` for an override.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Decision(s) => s.predicate.outcome,
            Self::Override(s) => s.predicate.outcome,
        }
    }
}

/// Verify a bundle against trusted keys and return its decision statement.
///
/// The envelope must carry a signature valid under one of `keys` over an in-toto payload, whose
/// `_type` and `predicateType` are the ones this module writes.
pub fn open_bundle(envelope: &Envelope, keys: &[VerifyingKey]) -> Result<Statement, BundleError> {
    match open_any(envelope, keys)? {
        OpenedStatement::Decision(s) => Ok(*s),
        OpenedStatement::Override(s) => Err(BundleError::WrongPredicateType { found: s.predicate_type }),
    }
}

/// Verify an envelope against trusted keys and return the statement, a decision or an override.
pub fn open_any(envelope: &Envelope, keys: &[VerifyingKey]) -> Result<OpenedStatement, BundleError> {
    let payload = verify_envelope(envelope, keys, IN_TOTO_PAYLOAD_TYPE)?;
    let value: serde_json::Value =
        serde_json::from_slice(&payload).map_err(|e| BundleError::Malformed(e.to_string()))?;
    let field = |name: &str| value.get(name).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
    let type_ = field("_type").unwrap_or_default();
    if type_ != STATEMENT_TYPE {
        return Err(BundleError::NotInToto { found: type_ });
    }
    let malformed = |e: serde_path_to_error::Error<serde_json::Error>| BundleError::Malformed(e.to_string());
    match field("predicateType").unwrap_or_default() {
        t if t == DECISION_PREDICATE_TYPE => {
            serde_path_to_error::deserialize(value).map(|s| OpenedStatement::Decision(Box::new(s))).map_err(malformed)
        }
        t if t == crate::overrides::OVERRIDE_PREDICATE_TYPE => {
            serde_path_to_error::deserialize(value).map(|s| OpenedStatement::Override(Box::new(s))).map_err(malformed)
        }
        found => Err(BundleError::WrongPredicateType { found }),
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use chrono::TimeZone;

    use super::*;
    use crate::analysis::{AnalysisStatus, ReportMode};
    use crate::id::TenantId;
    use crate::names::RepoPath;

    const HEAD: &str = "0123456789abcdef0123456789abcdef01234567";
    const BASE: &str = "89abcdef0123456789abcdef0123456789abcdef";
    const SARIF_SHA: &str = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, h, m, s).single().expect("valid time")
    }

    fn analysis() -> Analysis {
        Analysis {
            id: AnalysisId::generate(),
            tenant_id: TenantId::generate(),
            repo: RepoName::parse("acme/shop").expect("repo"),
            pr_number: 42,
            base_sha: CommitSha::parse(BASE).expect("sha"),
            head_sha: CommitSha::parse(HEAD).expect("sha"),
            branch: Some("feature/x".into()),
            status: AnalysisStatus::Completed,
            error: None,
            report_mode: ReportMode::Added,
            metadata: serde_json::Map::new(),
            inputs_sha256: "ab".repeat(32),
            lines_total: 3,
            findings_total: 1,
            outcome: Some(Outcome::Block),
            created_at: at(11, 59, 0),
            updated_at: at(12, 0, 0),
            started_at: Some(at(11, 59, 1)),
            completed_at: Some(at(12, 0, 0)),
            purged_at: None,
        }
    }

    fn decision(analysis: &Analysis, fired_rules: Vec<FiredRule>) -> Decision {
        Decision {
            id: DecisionId::generate(),
            analysis_id: analysis.id.clone(),
            outcome: Outcome::Block,
            fired_rules,
            risk_summary: RiskSummary {
                findings_total: 1,
                suppressed_total: 0,
                by_severity: BTreeMap::from([("high".into(), 1)]),
                by_category: BTreeMap::from([("sqli".into(), 1)]),
                by_agent: BTreeMap::from([("claude-code".into(), 1)]),
            },
            coverage: Coverage {
                lines_total: 3,
                lines_attributed: 2,
                ai_lines: 2,
                human_lines: 0,
                mixed_lines: 0,
                unknown_lines: 1,
                percent: 66.67,
                by_source: BTreeMap::from([("declared".into(), 2), ("none".into(), 1)]),
                flagged: BTreeMap::new(),
            },
            agent_lines: BTreeMap::from([("claude-code".into(), 2), ("unknown".into(), 1)]),
            policy: PolicyRef { id: "default".into(), version: 3, sha256: "cd".repeat(32) },
            detectors: vec![DetectorRef {
                name: "structural".into(),
                version: "0.1.0".into(),
                rulepack_sha256: "ef".repeat(32),
            }],
            detectors_incomplete: Vec::new(),
            timings_ms: BTreeMap::from([("detect".into(), 12)]),
            // Sub-second precision on purpose: the statement writes whole seconds.
            decided_at: at(12, 0, 0) + chrono::Duration::milliseconds(789),
        }
    }

    fn block_rule(findings: usize, lines: usize) -> FiredRule {
        FiredRule {
            rule: "severity.high.block_at".into(),
            outcome: Outcome::Block,
            reason: "1 high finding (block at 1)".into(),
            finding_ids: (0..findings).map(|_| FindingId::generate()).collect(),
            lines: (0..lines)
                .map(|i| LineRef {
                    file_path: RepoPath::parse("src/orders/repository.py").expect("path"),
                    line_number: i as u32 + 1,
                })
                .collect(),
        }
    }

    fn statement() -> Statement {
        let a = analysis();
        build_statement(&a, &decision(&a, vec![block_rule(1, 1)]), SARIF_SHA)
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn the_subjects_are_the_head_commit_and_the_sarif_report() {
        let s = statement();
        assert_eq!(s.type_, STATEMENT_TYPE);
        assert_eq!(s.predicate_type, DECISION_PREDICATE_TYPE);
        assert_eq!(s.subject.len(), 2);
        assert_eq!(s.subject[0].name, format!("git+https://github.com/acme/shop@{HEAD}"));
        assert_eq!(s.subject[0].digest, BTreeMap::from([("gitCommit".to_string(), HEAD.to_string())]));
        assert_eq!(s.subject[1].name, "sarif");
        assert_eq!(s.subject[1].digest, BTreeMap::from([("sha256".to_string(), SARIF_SHA.to_string())]));
        assert_eq!(s.subject_digest("sarif", "sha256"), Some(SARIF_SHA));
    }

    #[test]
    fn the_predicate_carries_the_decision_and_its_inputs() {
        let a = analysis();
        let d = decision(&a, vec![block_rule(2, 1)]);
        let s = build_statement(&a, &d, SARIF_SHA);
        let v = serde_json::to_value(&s).expect("json");
        let p = &v["predicate"];
        assert_eq!(p["analysis_id"], a.id.as_str());
        assert_eq!(p["decision_id"], d.id.as_str());
        assert_eq!(p["repo"], "acme/shop");
        assert_eq!(p["pr_number"], 42);
        assert_eq!(p["base_sha"], BASE);
        assert_eq!(p["head_sha"], HEAD);
        assert_eq!(p["outcome"], "block");
        assert_eq!(p["fired_rules"][0]["finding_ids"].as_array().map(Vec::len), Some(2));
        assert_eq!(p["counts"]["by_severity"]["high"], 1);
        assert_eq!(p["coverage"]["percent"], 66.67);
        assert_eq!(p["policy"], serde_json::json!({"id": "default", "version": 3, "sha256": "cd".repeat(32)}));
        assert_eq!(p["detectors"][0]["rulepack_sha256"], "ef".repeat(32));
        assert_eq!(p["agent_lines"]["claude-code"], 2);
        assert_eq!(p["inputs_sha256"], "ab".repeat(32));
        assert!(p.get("detectors_incomplete").is_none(), "omitted when empty");
        assert!(p.get("timings_ms").is_none(), "timings are not evidence");
    }

    #[test]
    fn incomplete_detectors_are_listed_when_there_are_some() {
        let a = analysis();
        let mut d = decision(&a, Vec::new());
        d.detectors_incomplete = vec!["external:semgrep".into()];
        let v = serde_json::to_value(build_statement(&a, &d, SARIF_SHA)).expect("json");
        assert_eq!(v["predicate"]["detectors_incomplete"], serde_json::json!(["external:semgrep"]));
    }

    #[test]
    fn decided_at_is_rfc3339_utc_in_whole_seconds_ending_with_z() {
        let s = statement();
        let v = serde_json::to_value(&s).expect("json");
        assert_eq!(v["predicate"]["decided_at"], "2026-11-22T12:00:00Z");
        assert_eq!(s.decided_at_rfc3339(), "2026-11-22T12:00:00Z");
    }

    #[test]
    fn canonical_bytes_are_stable_and_have_sorted_keys() {
        let s = statement();
        let bytes = s.canonical_bytes();
        assert_eq!(bytes, s.canonical_bytes());
        // Re-canonicalising the parsed bytes changes nothing (already JCS).
        let reparsed: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(crate::digest::canonical_json(&reparsed).expect("jcs"), bytes);
        // Top-level keys in code-point order, and no insignificant white space.
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        let pos = |k: &str| text.find(&format!("\"{k}\":")).expect(k);
        assert!(pos("_type") < pos("predicate") && pos("predicate") < pos("predicateType"));
        assert!(pos("predicateType") < pos("subject"));
        assert!(text.starts_with("{\"_type\":\"https://in-toto.io/Statement/v1\","));
        assert!(!text.contains(": ") && !text.contains('\n'));
        // The statement round-trips through its canonical bytes.
        let back: Statement = serde_json::from_slice(&bytes).expect("statement");
        assert_eq!(back, s);
    }

    #[test]
    fn a_non_finite_coverage_still_has_canonical_bytes() {
        let mut s = statement();
        s.predicate.coverage.percent = f64::NAN;
        assert!(!s.canonical_bytes().is_empty());
    }

    #[test]
    fn a_signed_statement_opens_with_its_key() {
        let s = statement();
        let env = sign_statement(&s, &key(1));
        assert_eq!(env.payload_type, IN_TOTO_PAYLOAD_TYPE);
        assert_eq!(STANDARD.decode(&env.payload).expect("base64"), s.canonical_bytes());
        let opened = open_bundle(&env, &[key(9).verifying_key(), key(1).verifying_key()]).expect("opens");
        assert_eq!(opened, s);
    }

    #[test]
    fn a_signed_statement_does_not_open_with_another_key() {
        let env = sign_statement(&statement(), &key(1));
        let err = open_bundle(&env, &[key(2).verifying_key()]).expect_err("wrong key");
        assert_eq!(err, BundleError::BadSignature(DsseError::BadSignature));
        assert!(err.to_string().starts_with("bad signature"));
    }

    #[test]
    fn changing_one_byte_of_the_payload_breaks_the_bundle() {
        let mut env = sign_statement(&statement(), &key(1));
        let mut raw = STANDARD.decode(&env.payload).expect("base64");
        let i = raw.iter().position(|b| *b == b'b').expect("a 'b' to flip");
        raw[i] = b'B';
        env.payload = STANDARD.encode(raw);
        assert_eq!(
            open_bundle(&env, &[key(1).verifying_key()]),
            Err(BundleError::BadSignature(DsseError::BadSignature))
        );
    }

    #[test]
    fn a_signed_payload_that_is_not_an_in_toto_statement_is_rejected() {
        let env = sign_envelope(&key(1), IN_TOTO_PAYLOAD_TYPE, br#"{"_type":"https://example.com/Other","x":1}"#);
        let err = open_bundle(&env, &[key(1).verifying_key()]).expect_err("not in-toto");
        assert_eq!(err, BundleError::NotInToto { found: "https://example.com/Other".into() });
        assert!(err.to_string().contains("not an in-toto statement"));
    }

    #[test]
    fn a_statement_with_another_predicate_type_is_rejected() {
        let mut v = serde_json::to_value(statement()).expect("json");
        v["predicateType"] = "https://slsa.dev/provenance/v1".into();
        let env = sign_envelope(&key(1), IN_TOTO_PAYLOAD_TYPE, &crate::digest::canonical_json(&v).expect("jcs"));
        let err = open_bundle(&env, &[key(1).verifying_key()]).expect_err("wrong predicate");
        assert!(
            matches!(err, BundleError::WrongPredicateType { ref found } if found == "https://slsa.dev/provenance/v1")
        );
    }

    #[test]
    fn a_signed_payload_that_is_not_json_or_lacks_fields_is_malformed() {
        let env = sign_envelope(&key(1), IN_TOTO_PAYLOAD_TYPE, b"not json");
        assert!(matches!(open_bundle(&env, &[key(1).verifying_key()]), Err(BundleError::Malformed(_))));

        let mut v = serde_json::to_value(statement()).expect("json");
        v["predicate"].as_object_mut().expect("object").remove("outcome");
        let env = sign_envelope(&key(1), IN_TOTO_PAYLOAD_TYPE, &crate::digest::canonical_json(&v).expect("jcs"));
        let err = open_bundle(&env, &[key(1).verifying_key()]).expect_err("missing outcome");
        assert!(matches!(&err, BundleError::Malformed(m) if m.contains("outcome")), "{err}");
    }

    #[test]
    fn cited_findings_and_lines_are_capped_at_one_hundred_per_rule() {
        let a = analysis();
        let s = build_statement(&a, &decision(&a, vec![block_rule(150, 100), block_rule(3, 0)]), SARIF_SHA);
        let r = &s.predicate.fired_rules;
        assert_eq!((r[0].finding_ids.len(), r[0].finding_ids_truncated), (100, 50));
        assert_eq!((r[0].lines.len(), r[0].lines_truncated), (100, 0));
        assert_eq!((r[1].finding_ids.len(), r[1].finding_ids_truncated), (3, 0));
        let v = serde_json::to_value(&s).expect("json");
        assert_eq!(v["predicate"]["fired_rules"][0]["finding_ids_truncated"], 50);
        assert!(v["predicate"]["fired_rules"][0].get("lines_truncated").is_none());
        assert!(v["predicate"]["fired_rules"][1].get("lines").is_none());
    }

    #[test]
    fn many_fired_rules_on_long_paths_still_fit_by_citing_less_and_counting_the_rest() {
        let a = analysis();
        let long = format!("{}/file.py", "deeply-nested-directory".repeat(150));
        let rules: Vec<FiredRule> = (0..20)
            .map(|_| {
                let mut r = block_rule(10_000, 0);
                r.lines = (1..=500)
                    .map(|n| LineRef { file_path: RepoPath::parse(&long).expect("path"), line_number: n })
                    .collect();
                r
            })
            .collect();
        let s = build_statement(&a, &decision(&a, rules), SARIF_SHA);
        let size = s.canonical_bytes().len();
        assert!(size <= STATEMENT_BUDGET_BYTES, "statement is {size} bytes");
        for r in &s.predicate.fired_rules {
            assert!(!r.finding_ids.is_empty(), "finding ids are kept while lines give way");
            assert_eq!(r.finding_ids.len() as u64 + r.finding_ids_truncated, 10_000);
            assert_eq!(r.lines.len() as u64 + r.lines_truncated, 500);
        }
    }

    #[test]
    fn the_statement_stays_under_100_kb_with_ten_thousand_findings_cited() {
        let a = analysis();
        let rules = (0..5).map(|_| block_rule(10_000, 10_000)).collect();
        let s = build_statement(&a, &decision(&a, rules), SARIF_SHA);
        let size = s.canonical_bytes().len();
        assert!(size < 100 * 1024, "statement is {size} bytes");
        assert_eq!(s.predicate.fired_rules[0].finding_ids_truncated, 9_900);
        assert_eq!(s.predicate.fired_rules[0].lines_truncated, 9_900);
        let env = sign_statement(&s, &key(1));
        assert!(serde_json::to_vec(&env).expect("json").len() < 150 * 1024);
    }
}
