//! The rules a policy document produces, one module per kind of evidence, and how a fired rule
//! cites the findings and lines behind it.

pub(super) mod attestation;
pub(super) mod coverage;
pub(super) mod detection;
pub(super) mod paths;
pub(super) mod thresholds;

use std::collections::BTreeSet;

use crate::decision::{FiredRule, Outcome};
use crate::finding::Finding;
use crate::line::{ChangedLine, LineRef};

/// A rule fired by findings: cites them and the lines they start on.
fn cite_findings(rule: String, outcome: Outcome, reason: String, hits: &[&Finding]) -> FiredRule {
    let mut lines: Vec<LineRef> = hits
        .iter()
        .map(|f| LineRef { file_path: f.location.file_path.clone(), line_number: f.location.start_line })
        .collect();
    lines.sort();
    lines.dedup();
    FiredRule { rule, outcome, reason, finding_ids: hits.iter().map(|f| f.id.clone()).collect(), lines }
}

/// A rule fired by changed lines: cites them, in path and line order.
fn cite_lines(rule: String, outcome: Outcome, reason: String, hits: &[&ChangedLine]) -> FiredRule {
    let mut lines: Vec<LineRef> =
        hits.iter().map(|l| LineRef { file_path: l.file_path.clone(), line_number: l.line_number }).collect();
    lines.sort();
    lines.dedup();
    FiredRule { rule, outcome, reason, finding_ids: Vec::new(), lines }
}

/// The distinct agents of `lines` (`claude-code, devin`), for reasons.
fn agents_of(lines: &[&ChangedLine]) -> String {
    let agents: BTreeSet<String> = lines.iter().map(|l| l.attribution.agent_label()).collect();
    agents.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
pub(super) mod fixtures {
    //! Lines and findings for the rule tests.

    use crate::attribution::{Attribution, AttributionSource, Contributor};
    use crate::decision::Coverage;
    use crate::finding::{Detection, Finding, Location, Severity};
    use crate::line::{ChangeType, ChangedLine};
    use crate::names::{AgentId, RepoPath};
    use crate::policy::{Evaluation, Policy, PolicyInput, evaluate_policy};

    pub fn by_agent(agent: &str) -> Attribution {
        Attribution {
            contributor: Contributor::Ai,
            agent_id: Some(AgentId::parse(agent).unwrap()),
            source: AttributionSource::Declared,
            confidence: 0.9,
            ..Attribution::unknown()
        }
    }

    pub fn by_human() -> Attribution {
        Attribution { contributor: Contributor::Human, source: AttributionSource::Declared, ..Attribution::unknown() }
    }

    pub fn line(path: &str, n: u32, attribution: Attribution) -> ChangedLine {
        ChangedLine {
            file_path: RepoPath::parse(path).unwrap(),
            line_number: n,
            change_type: ChangeType::Added,
            content: Some("x".into()),
            language: None,
            author_identity: None,
            declared: None,
            content_sha256: None,
            attestation_signature: None,
            attribution,
        }
    }

    pub fn finding(severity: Severity, category: &str, line: u32, attribution: Attribution) -> Finding {
        Finding::from_detection(
            Detection {
                rule_id: format!("test.{category}"),
                rule_version: "1".into(),
                category: category.into(),
                severity,
                message: "m".into(),
                location: Location {
                    file_path: RepoPath::parse("a.py").unwrap(),
                    start_line: line,
                    end_line: line,
                    start_column: 1,
                    end_column: 2,
                },
                snippet: format!("s{line}"),
                engine: "test".into(),
            },
            attribution,
        )
    }

    pub fn evaluate(policy: &Policy, findings: &[Finding], lines: &[ChangedLine]) -> Evaluation {
        evaluate_policy(
            policy,
            &PolicyInput { findings, lines, coverage: &Coverage::of(lines), detectors_incomplete: &[] },
        )
    }

    /// A policy with no rules at all, to test one rule at a time.
    pub fn empty() -> Policy {
        Policy {
            severity: Default::default(),
            categories: Default::default(),
            block_on_signature_invalid: false,
            on_detectors_incomplete: None,
            paths: Vec::new(),
            ..Policy::default()
        }
    }
}
