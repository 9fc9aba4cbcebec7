//! Findings: what a detector saw on a changed line, with the rule that saw it, where, how bad,
//! and who wrote the line.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::attribution::Attribution;
use crate::id::FindingId;
use crate::names::RepoPath;

/// Severity, ordered `info < low < medium < high < critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [Self::Info, Self::Low, Self::Medium, Self::High, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A finding category from rule metadata: `sqli`, `code_execution`, `command_injection`,
/// `deserialization`, `crypto`, `tls`, `secrets`, `path_traversal`, `ssrf`, …
pub type Category = String;

/// Where a finding is: 1-based lines and columns at head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    pub file_path: RepoPath,
    pub start_line: u32,
    pub end_line: u32,
    pub start_column: u32,
    pub end_column: u32,
}

/// The metadata of a rule, as shown in capabilities and SARIF `tool.driver.rules[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleInfo {
    pub id: String,
    pub version: String,
    pub name: String,
    pub short_description: String,
    pub full_description: String,
    pub help: String,
    pub severity: Severity,
    pub category: Category,
    pub languages: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// What a detector reports, before the pipeline gives it an id and the line's attribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub rule_id: String,
    pub rule_version: String,
    pub category: Category,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    /// The matched source, with any secret already redacted by the detector.
    pub snippet: String,
    pub engine: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Open,
    Suppressed,
}

/// Why a finding is suppressed, and by whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suppression {
    /// The suppression that matched the finding's fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "sup_01JDQ7Z4V3K8M2N5P6R7S8T9VW")]
    pub id: Option<crate::id::SuppressionId>,
    pub reason: String,
    pub suppressed_by: String,
    pub suppressed_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub id: FindingId,
    pub rule_id: String,
    pub rule_version: String,
    pub category: Category,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    pub snippet: String,
    /// Stable across re-submissions and line shifts: rule, path and normalised snippet.
    pub fingerprint: String,
    pub attribution: Attribution,
    pub engine: String,
    pub status: FindingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
}

impl Finding {
    /// A new open finding from a detection on a line with the given attribution.
    pub fn from_detection(detection: Detection, attribution: Attribution) -> Self {
        let fingerprint = fingerprint(&detection.rule_id, &detection.location.file_path, &detection.snippet);
        Self {
            id: FindingId::generate(),
            rule_id: detection.rule_id,
            rule_version: detection.rule_version,
            category: detection.category,
            severity: detection.severity,
            message: detection.message,
            location: detection.location,
            snippet: detection.snippet,
            fingerprint,
            attribution,
            engine: detection.engine,
            status: FindingStatus::Open,
            suppression: None,
        }
    }

    pub fn is_open(&self) -> bool {
        self.status == FindingStatus::Open
    }
}

/// The fingerprint of a finding: sha256 over the rule id, the path and the snippet with white
/// space collapsed, so the same code keeps its fingerprint when lines move or are re-indented.
pub fn fingerprint(rule_id: &str, path: &RepoPath, snippet: &str) -> String {
    let normalised = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut h = Sha256::new();
    h.update(b"provenance-fingerprint-v1\0");
    h.update(rule_id.as_bytes());
    h.update(b"\0");
    h.update(path.as_str().as_bytes());
    h.update(b"\0");
    h.update(normalised.as_bytes());
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_survives_reindentation_but_not_a_different_rule_or_path() {
        let p = RepoPath::parse("a.py").unwrap();
        let q = RepoPath::parse("b.py").unwrap();
        let base = fingerprint("r1", &p, "x = f(a)");
        assert_eq!(base, fingerprint("r1", &p, "    x =  f(a)  "));
        assert_ne!(base, fingerprint("r2", &p, "x = f(a)"));
        assert_ne!(base, fingerprint("r1", &q, "x = f(a)"));
    }

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        assert_eq!(Severity::parse("high"), Some(Severity::High));
        assert_eq!(Severity::parse("severe"), None);
    }
}
