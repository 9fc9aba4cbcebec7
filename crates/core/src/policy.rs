//! Policy evaluation. Every rule is evaluated; each rule that fires contributes `warn` or `block`
//! with its reason and evidence, and the outcome is the maximum (`allow < warn < block`), so
//! adding a finding can never make a decision more lenient.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attribution::{Contributor, flags};
use crate::decision::{Coverage, FiredRule, Outcome, PolicyRef};
use crate::digest::canonical_sha256;
use crate::finding::{Finding, Severity};
use crate::line::{ChangedLine, LineRef};

/// Fire `warn` at `warn_at` matching findings and `block` at `block_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Threshold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_at: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_at: Option<u32>,
}

impl Threshold {
    pub fn warn(at: u32) -> Self {
        Self { warn_at: Some(at), block_at: None }
    }
    pub fn block(at: u32) -> Self {
        Self { warn_at: None, block_at: Some(at) }
    }
    pub fn warn_block(warn: u32, block: u32) -> Self {
        Self { warn_at: Some(warn), block_at: Some(block) }
    }

    fn outcome(&self, count: usize) -> Option<Outcome> {
        let reached = |at: Option<u32>| at.is_some_and(|at| count >= at as usize && count > 0);
        if reached(self.block_at) {
            Some(Outcome::Block)
        } else if reached(self.warn_at) {
            Some(Outcome::Warn)
        } else {
            None
        }
    }
}

/// A provenance requirement: share of changed lines whose author is known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProvenanceRule {
    /// Below this coverage (percent), the rule fires.
    #[serde(default)]
    pub min_coverage_percent: f64,
    /// `block` instead of `warn` when coverage is below the minimum.
    #[serde(default)]
    pub block_on_unknown: bool,
}

/// A versioned governance policy (SPEC §5). Only open findings count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Policy {
    pub id: String,
    pub version: u32,
    /// Thresholds per severity, counting findings of exactly that severity.
    #[serde(default)]
    pub severity: BTreeMap<Severity, Threshold>,
    /// Thresholds per category (`secrets`, `sqli`, …).
    #[serde(default)]
    pub categories: BTreeMap<String, Threshold>,
    #[serde(default)]
    pub provenance: ProvenanceRule,
    /// Block when any line carries a `signature_invalid` flag.
    #[serde(default)]
    pub block_on_signature_invalid: bool,
    /// Outcome when a detector ran out of budget (`warn` by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_detectors_incomplete: Option<Outcome>,
}

impl Default for Policy {
    /// The shipped default: critical findings block; high findings warn, and block from three;
    /// medium findings warn from five; any secret blocks; bad signatures block; partial detection
    /// warns. Provenance coverage is reported but not enforced.
    fn default() -> Self {
        Self {
            id: "default".into(),
            version: 1,
            severity: BTreeMap::from([
                (Severity::Critical, Threshold::block(1)),
                (Severity::High, Threshold::warn_block(1, 3)),
                (Severity::Medium, Threshold::warn(5)),
            ]),
            categories: BTreeMap::from([("secrets".to_string(), Threshold::block(1))]),
            provenance: ProvenanceRule::default(),
            block_on_signature_invalid: true,
            on_detectors_incomplete: Some(Outcome::Warn),
        }
    }
}

impl Policy {
    /// The policy's id, version and sha256 of its canonical JSON.
    pub fn reference(&self) -> PolicyRef {
        PolicyRef {
            id: self.id.clone(),
            version: self.version,
            sha256: canonical_sha256(self).expect("a policy always serialises to JSON"),
        }
    }
}

/// What a policy is evaluated over.
#[derive(Debug)]
pub struct PolicyInput<'a> {
    pub findings: &'a [Finding],
    pub lines: &'a [ChangedLine],
    pub coverage: &'a Coverage,
    pub detectors_incomplete: &'a [String],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub outcome: Outcome,
    pub fired_rules: Vec<FiredRule>,
}

/// Evaluate every rule of `policy`; the outcome is the maximum over the rules that fired.
pub fn evaluate_policy(policy: &Policy, input: &PolicyInput<'_>) -> Evaluation {
    let open: Vec<&Finding> = input.findings.iter().filter(|f| f.is_open()).collect();
    let mut fired = Vec::new();

    for (severity, threshold) in &policy.severity {
        let hits: Vec<&Finding> = open.iter().copied().filter(|f| f.severity == *severity).collect();
        if let Some(outcome) = threshold.outcome(hits.len()) {
            fired.push(cite(
                format!("severity.{}", severity.as_str()),
                outcome,
                format!("{} open {} finding(s) (threshold {})", hits.len(), severity.as_str(), describe(threshold)),
                &hits,
            ));
        }
    }
    for (category, threshold) in &policy.categories {
        let hits: Vec<&Finding> = open.iter().copied().filter(|f| &f.category == category).collect();
        if let Some(outcome) = threshold.outcome(hits.len()) {
            fired.push(cite(
                format!("category.{category}"),
                outcome,
                format!("{} open {category} finding(s) (threshold {})", hits.len(), describe(threshold)),
                &hits,
            ));
        }
    }
    if input.coverage.lines_total > 0 && input.coverage.percent < policy.provenance.min_coverage_percent {
        let unknown: Vec<LineRef> =
            input.lines.iter().filter(|l| l.attribution.contributor == Contributor::Unknown).map(line_ref).collect();
        fired.push(FiredRule {
            rule: "provenance.min_coverage".into(),
            outcome: if policy.provenance.block_on_unknown { Outcome::Block } else { Outcome::Warn },
            reason: format!(
                "provenance coverage {:.2}% is below the required {:.2}%",
                input.coverage.percent, policy.provenance.min_coverage_percent
            ),
            finding_ids: Vec::new(),
            lines: unknown,
        });
    }
    if policy.block_on_signature_invalid {
        let bad: Vec<LineRef> =
            input.lines.iter().filter(|l| l.attribution.has_flag(flags::SIGNATURE_INVALID)).map(line_ref).collect();
        if !bad.is_empty() {
            fired.push(FiredRule {
                rule: "attestation.signature_invalid".into(),
                outcome: Outcome::Block,
                reason: format!("{} line(s) carry an invalid attestation signature", bad.len()),
                finding_ids: Vec::new(),
                lines: bad,
            });
        }
    }
    if let (Some(outcome), false) = (policy.on_detectors_incomplete, input.detectors_incomplete.is_empty()) {
        fired.push(FiredRule {
            rule: "detectors.incomplete".into(),
            outcome,
            reason: format!("detection is partial: {} did not finish", input.detectors_incomplete.join(", ")),
            finding_ids: Vec::new(),
            lines: Vec::new(),
        });
    }

    let outcome = fired.iter().map(|r| r.outcome).max().unwrap_or(Outcome::Allow);
    Evaluation { outcome, fired_rules: fired }
}

fn cite(rule: String, outcome: Outcome, reason: String, hits: &[&Finding]) -> FiredRule {
    let mut lines: Vec<LineRef> = hits
        .iter()
        .map(|f| LineRef { file_path: f.location.file_path.clone(), line_number: f.location.start_line })
        .collect();
    lines.sort();
    lines.dedup();
    FiredRule { rule, outcome, reason, finding_ids: hits.iter().map(|f| f.id.clone()).collect(), lines }
}

fn line_ref(l: &ChangedLine) -> LineRef {
    LineRef { file_path: l.file_path.clone(), line_number: l.line_number }
}

fn describe(t: &Threshold) -> String {
    match (t.warn_at, t.block_at) {
        (Some(w), Some(b)) => format!("warn at {w}, block at {b}"),
        (Some(w), None) => format!("warn at {w}"),
        (None, Some(b)) => format!("block at {b}"),
        (None, None) => "none".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Attribution;
    use crate::finding::{Detection, Location};
    use crate::names::RepoPath;

    fn finding(severity: Severity, category: &str, line: u32) -> Finding {
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
            Attribution::unknown(),
        )
    }

    fn eval(policy: &Policy, findings: &[Finding]) -> Evaluation {
        evaluate_policy(
            policy,
            &PolicyInput { findings, lines: &[], coverage: &Coverage::default(), detectors_incomplete: &[] },
        )
    }

    #[test]
    fn no_findings_allow() {
        let e = eval(&Policy::default(), &[]);
        assert_eq!(e.outcome, Outcome::Allow);
        assert!(e.fired_rules.is_empty());
    }

    #[test]
    fn one_high_finding_warns_and_cites_it() {
        let f = finding(Severity::High, "sqli", 128);
        let e = eval(&Policy::default(), std::slice::from_ref(&f));
        assert_eq!(e.outcome, Outcome::Warn);
        assert_eq!(e.fired_rules[0].rule, "severity.high");
        assert_eq!(e.fired_rules[0].finding_ids, vec![f.id.clone()]);
        assert_eq!(e.fired_rules[0].lines[0].line_number, 128);
    }

    #[test]
    fn a_critical_finding_blocks_even_next_to_warnings() {
        let e = eval(
            &Policy::default(),
            &[finding(Severity::High, "sqli", 1), finding(Severity::Critical, "code_execution", 2)],
        );
        assert_eq!(e.outcome, Outcome::Block);
        assert_eq!(e.fired_rules.len(), 2, "every rule is evaluated and reported");
    }

    #[test]
    fn adding_findings_never_lowers_the_outcome() {
        let mut findings = Vec::new();
        let mut last = Outcome::Allow;
        for (i, sev) in
            [Severity::Low, Severity::Medium, Severity::High, Severity::High, Severity::High].into_iter().enumerate()
        {
            findings.push(finding(sev, "x", i as u32 + 1));
            let now = eval(&Policy::default(), &findings).outcome;
            assert!(now >= last);
            last = now;
        }
        assert_eq!(last, Outcome::Block, "three high findings block under the default policy");
    }

    #[test]
    fn suppressed_findings_do_not_count() {
        let mut f = finding(Severity::Critical, "secrets", 1);
        f.status = crate::finding::FindingStatus::Suppressed;
        assert_eq!(eval(&Policy::default(), &[f]).outcome, Outcome::Allow);
    }

    #[test]
    fn policy_digest_is_stable() {
        assert_eq!(Policy::default().reference(), Policy::default().reference());
        let changed = Policy { version: 2, ..Policy::default() };
        assert_ne!(changed.reference().sha256, Policy::default().reference().sha256);
    }
}
