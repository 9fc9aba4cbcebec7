//! The decision over one analysis: the outcome, every policy rule that fired with its evidence,
//! the risk summary and provenance coverage, and what produced it (policy and detector digests).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::attribution::Contributor;
use crate::finding::{Finding, Severity};
use crate::id::{AnalysisId, DecisionId, FindingId};
use crate::line::{ChangedLine, LineRef};
use crate::policy::{Evaluation, Policy, PolicyInput, evaluate_policy};

/// `allow < warn < block`; a decision's outcome is the maximum of what its fired rules say.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Allow,
    Warn,
    Block,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Warn => "warn",
            Self::Block => "block",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Allow, Self::Warn, Self::Block].into_iter().find(|v| v.as_str() == s)
    }
}

/// A policy rule that fired: what it says, why, and the findings and lines it cites.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FiredRule {
    pub rule: String,
    pub outcome: Outcome,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finding_ids: Vec<FindingId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineRef>,
}

/// Counts of open findings by severity, category and agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RiskSummary {
    pub findings_total: u64,
    pub suppressed_total: u64,
    pub by_severity: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    pub by_agent: BTreeMap<String, u64>,
}

impl RiskSummary {
    pub fn of(findings: &[Finding]) -> Self {
        let mut s = RiskSummary::default();
        for f in findings {
            if !f.is_open() {
                s.suppressed_total += 1;
                continue;
            }
            s.findings_total += 1;
            *s.by_severity.entry(f.severity.as_str().to_string()).or_default() += 1;
            *s.by_category.entry(f.category.clone()).or_default() += 1;
            *s.by_agent.entry(f.attribution.agent_label()).or_default() += 1;
        }
        s
    }

    pub fn count_at_least(&self, severity: Severity) -> u64 {
        Severity::ALL
            .into_iter()
            .filter(|s| *s >= severity)
            .map(|s| self.by_severity.get(s.as_str()).copied().unwrap_or(0))
            .sum()
    }
}

/// How much of the change we can attribute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coverage {
    pub lines_total: u64,
    pub lines_attributed: u64,
    pub ai_lines: u64,
    pub human_lines: u64,
    pub mixed_lines: u64,
    pub unknown_lines: u64,
    /// `lines_attributed / lines_total` in percent (100 for an empty change).
    pub percent: f64,
    /// Lines per attribution source (`signed`, `declared`, `git_ai_note`, …, `none`).
    #[serde(default)]
    pub by_source: BTreeMap<String, u64>,
    /// Lines per attribution flag (`signature_invalid`, `unsigned_from_keyed_agent`,
    /// `source_conflict`, `legacy_unbound_signature`); absent when no line is flagged.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flagged: BTreeMap<String, u64>,
}

impl Coverage {
    pub fn of(lines: &[ChangedLine]) -> Self {
        let mut c = Coverage { lines_total: lines.len() as u64, ..Default::default() };
        for l in lines {
            *c.by_source.entry(l.attribution.source.as_str().to_string()).or_default() += 1;
            for flag in &l.attribution.flags {
                *c.flagged.entry(flag.clone()).or_default() += 1;
            }
            match l.attribution.contributor {
                Contributor::Ai => c.ai_lines += 1,
                Contributor::Human => c.human_lines += 1,
                Contributor::Mixed => c.mixed_lines += 1,
                Contributor::Unknown => c.unknown_lines += 1,
            }
        }
        c.lines_attributed = c.lines_total - c.unknown_lines;
        c.percent = if c.lines_total == 0 {
            100.0
        } else {
            // Two decimals, so the figure is stable in signed statements.
            ((c.lines_attributed as f64 * 10_000.0) / c.lines_total as f64).round() / 100.0
        };
        c
    }
}

/// Which policy decided: id, version and the sha256 of its canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyRef {
    pub id: String,
    pub version: u32,
    pub sha256: String,
}

/// A detector that ran, with the digest of its rule pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DetectorRef {
    pub name: String,
    pub version: String,
    pub rulepack_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub id: DecisionId,
    pub analysis_id: AnalysisId,
    pub outcome: Outcome,
    pub fired_rules: Vec<FiredRule>,
    pub risk_summary: RiskSummary,
    pub coverage: Coverage,
    /// Changed lines per agent label (`claude-code`, `human`, `unknown`, …).
    pub agent_lines: BTreeMap<String, u64>,
    pub policy: PolicyRef,
    pub detectors: Vec<DetectorRef>,
    /// Detectors that ran out of budget or failed, so their results are partial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detectors_incomplete: Vec<String>,
    /// Stage timings in milliseconds (`detect`, `attribution`, `policy`, …).
    pub timings_ms: BTreeMap<String, u64>,
    pub decided_at: DateTime<Utc>,
}

/// Everything a decision is made from.
#[derive(Debug)]
pub struct DecisionInput<'a> {
    pub analysis_id: &'a AnalysisId,
    pub lines: &'a [ChangedLine],
    pub findings: &'a [Finding],
    pub policy: &'a Policy,
    pub detectors: Vec<DetectorRef>,
    pub detectors_incomplete: Vec<String>,
    pub timings_ms: BTreeMap<String, u64>,
    pub decided_at: DateTime<Utc>,
}

/// Evaluate the policy and assemble the decision.
pub fn decide(input: DecisionInput<'_>) -> Decision {
    let risk_summary = RiskSummary::of(input.findings);
    let coverage = Coverage::of(input.lines);
    let Evaluation { outcome, fired_rules } = evaluate_policy(
        input.policy,
        &PolicyInput {
            findings: input.findings,
            lines: input.lines,
            coverage: &coverage,
            detectors_incomplete: &input.detectors_incomplete,
        },
    );
    let mut agent_lines = BTreeMap::new();
    for l in input.lines {
        *agent_lines.entry(l.attribution.agent_label()).or_default() += 1;
    }
    Decision {
        id: DecisionId::generate(),
        analysis_id: input.analysis_id.clone(),
        outcome,
        fired_rules,
        risk_summary,
        coverage,
        agent_lines,
        policy: input.policy.reference(),
        detectors: input.detectors,
        detectors_incomplete: input.detectors_incomplete,
        timings_ms: input.timings_ms,
        decided_at: input.decided_at,
    }
}
