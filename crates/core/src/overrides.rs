//! Overrides (SPEC §5): a person holding the `override` scope turns a `block` into an allowed
//! merge, with a reason. The override is its own signed in-toto statement whose subjects are the
//! same head commit and the decision statement it overrides (by the sha256 of that statement's
//! exact bytes, the DSSE payload), so a verifier can tie the two together. The original decision
//! and its bundle are never changed: both statements stay in the analysis' bundle history.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::decision::{Decision, Outcome};
use crate::digest::sha256_hex;
use crate::dsse::{Envelope, decode_base64};
use crate::id::{AnalysisId, DecisionId, OverrideId};
use crate::names::{CommitSha, RepoName};
use crate::statement::{ResourceDescriptor, STATEMENT_TYPE, Statement, commit_subject_name, rfc3339_seconds_z};

/// Provenance's override predicate, v1.
pub const OVERRIDE_PREDICATE_TYPE: &str = "https://provenance.dev/attestations/override/v1";

/// Subject name of the decision statement an override refers to.
pub const DECISION_SUBJECT_NAME: &str = "decision";

/// The override predicate, v1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverridePredicate {
    pub override_id: OverrideId,
    pub analysis_id: AnalysisId,
    /// The decision overridden; its statement is the `decision` subject.
    pub decision_id: DecisionId,
    pub repo: RepoName,
    pub pr_number: u64,
    pub head_sha: CommitSha,
    /// What the decision said (always `block`).
    pub original_outcome: Outcome,
    /// What the override says (always `allow`).
    pub outcome: Outcome,
    pub reason: String,
    /// The API key (`key_…`) of the person who overrode it.
    pub overridden_by: String,
    /// RFC 3339 UTC with seconds precision and a `Z` suffix.
    #[serde(with = "rfc3339_seconds_z")]
    pub overridden_at: DateTime<Utc>,
}

/// Why an override cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("only a `block` decision can be overridden; this one is `{}`", .0.as_str())]
    NotBlocked(Outcome),
    #[error("the decision's bundle is not a readable DSSE envelope")]
    BadBundle,
}

/// Who overrides what, why and when.
#[derive(Debug)]
pub struct OverrideInput<'a> {
    pub id: &'a OverrideId,
    pub analysis: &'a Analysis,
    pub decision: &'a Decision,
    /// The decision's signed bundle, whose payload the override names by digest.
    pub decision_bundle: &'a Envelope,
    pub reason: &'a str,
    pub overridden_by: &'a str,
    pub at: DateTime<Utc>,
}

/// The sha256 of a bundle's statement bytes (its decoded DSSE payload).
pub fn statement_digest(bundle: &Envelope) -> Option<String> {
    decode_base64(&bundle.payload).map(|payload| sha256_hex(&payload))
}

/// The override statement for a `block` decision.
pub fn build_override_statement(input: &OverrideInput<'_>) -> Result<Statement<OverridePredicate>, OverrideError> {
    if input.decision.outcome != Outcome::Block {
        return Err(OverrideError::NotBlocked(input.decision.outcome));
    }
    let decision_digest = statement_digest(input.decision_bundle).ok_or(OverrideError::BadBundle)?;
    let analysis = input.analysis;
    Ok(Statement {
        type_: STATEMENT_TYPE.to_string(),
        subject: vec![
            ResourceDescriptor {
                name: commit_subject_name(&analysis.repo, &analysis.head_sha),
                digest: BTreeMap::from([("gitCommit".to_string(), analysis.head_sha.to_string())]),
            },
            ResourceDescriptor {
                name: DECISION_SUBJECT_NAME.to_string(),
                digest: BTreeMap::from([("sha256".to_string(), decision_digest)]),
            },
        ],
        predicate_type: OVERRIDE_PREDICATE_TYPE.to_string(),
        predicate: OverridePredicate {
            override_id: input.id.clone(),
            analysis_id: analysis.id.clone(),
            decision_id: input.decision.id.clone(),
            repo: analysis.repo.clone(),
            pr_number: analysis.pr_number,
            head_sha: analysis.head_sha.clone(),
            original_outcome: input.decision.outcome,
            outcome: Outcome::Allow,
            reason: input.reason.to_string(),
            overridden_by: input.overridden_by.to_string(),
            overridden_at: input.at.with_nanosecond(0).unwrap_or(input.at),
        },
    })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::statement::{OpenedStatement, open_any, open_bundle, sign_statement};

    fn decision(outcome: Outcome) -> Decision {
        serde_json::from_value(serde_json::json!({
            "id": DecisionId::generate(), "analysis_id": AnalysisId::generate(), "outcome": outcome,
            "fired_rules": [], "risk_summary": {"findings_total": 0, "suppressed_total": 0, "by_severity": {},
            "by_category": {}, "by_agent": {}}, "coverage": {"lines_total": 0, "lines_attributed": 0,
            "ai_lines": 0, "human_lines": 0, "mixed_lines": 0, "unknown_lines": 0, "percent": 0.0},
            "agent_lines": {}, "policy": {"id": "default", "version": 1, "sha256": "00"}, "detectors": [],
            "timings_ms": {}, "decided_at": "2026-11-22T10:00:00Z"
        }))
        .expect("a decision document")
    }

    fn analysis() -> Analysis {
        serde_json::from_value(serde_json::json!({
            "id": AnalysisId::generate(), "tenant_id": crate::id::TenantId::generate(), "repo": "acme/shop",
            "pr_number": 7, "base_sha": "a".repeat(40), "head_sha": "b".repeat(40), "branch": null,
            "status": "completed", "error": null, "report_mode": "added", "metadata": {},
            "inputs_sha256": "00", "lines_total": 1, "findings_total": 0, "outcome": "block",
            "created_at": "2026-11-22T10:00:00Z", "updated_at": "2026-11-22T10:00:00Z",
            "started_at": null, "completed_at": null
        }))
        .expect("an analysis document")
    }

    #[test]
    fn an_override_names_the_decision_statement_by_digest_and_verifies() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let bundle = sign_statement(
            &Statement::<serde_json::Value> {
                type_: STATEMENT_TYPE.into(),
                subject: vec![],
                predicate_type: crate::statement::DECISION_PREDICATE_TYPE.into(),
                predicate: serde_json::json!({}),
            },
            &key,
        );
        let (analysis, decision) = (analysis(), decision(Outcome::Block));
        let id = OverrideId::generate();
        let statement = build_override_statement(&OverrideInput {
            id: &id,
            analysis: &analysis,
            decision: &decision,
            decision_bundle: &bundle,
            reason: "hotfix for the outage, reviewed by two people",
            overridden_by: "key_x",
            at: Utc::now(),
        })
        .expect("a block decision can be overridden");
        let envelope = sign_statement(&statement, &key);

        let opened = open_any(&envelope, &[key.verifying_key()]).expect("verifies");
        let OpenedStatement::Override(opened) = opened else { panic!("an override statement") };
        assert_eq!(opened.predicate.outcome, Outcome::Allow);
        assert_eq!(opened.predicate.original_outcome, Outcome::Block);
        assert_eq!(opened.subject_digest(DECISION_SUBJECT_NAME, "sha256"), statement_digest(&bundle).as_deref());
        assert!(open_bundle(&envelope, &[key.verifying_key()]).is_err(), "an override is not a decision bundle");
    }

    #[test]
    fn only_a_block_can_be_overridden() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let bundle = crate::dsse::sign_envelope(&key, crate::dsse::IN_TOTO_PAYLOAD_TYPE, b"{}");
        for outcome in [Outcome::Allow, Outcome::Warn] {
            let (analysis, decision) = (analysis(), decision(outcome));
            let err = build_override_statement(&OverrideInput {
                id: &OverrideId::generate(),
                analysis: &analysis,
                decision: &decision,
                decision_bundle: &bundle,
                reason: "r",
                overridden_by: "key_x",
                at: Utc::now(),
            })
            .expect_err("refused");
            assert_eq!(err, OverrideError::NotBlocked(outcome));
        }
    }
}
