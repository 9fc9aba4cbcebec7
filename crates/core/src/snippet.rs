//! What a synchronous detection answers (`POST /v1/detect`, `DetectorService.Detect`): the
//! findings on one snippet with their fingerprints, who wrote it, and which detectors ran; and
//! what the detectors are (`GET /v1/detectors/capabilities`). The request is
//! [`crate::ingest::DetectRequest`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::attribution::Attribution;
use crate::decision::DetectorRef;
use crate::finding::{Category, Detection, Location, RuleInfo, Severity, fingerprint};

/// One finding of a synchronous detection. Like an analysis finding, without an id or a
/// lifecycle: nothing is stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DetectedFinding {
    pub rule_id: String,
    pub rule_version: String,
    pub category: Category,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    /// The matched source, secrets redacted.
    pub snippet: String,
    /// The same fingerprint an analysis would give this finding (suppressions match on it).
    pub fingerprint: String,
    pub engine: String,
}

impl DetectedFinding {
    /// The finding a detection makes, fingerprinted as an analysis would.
    pub fn from_detection(d: Detection) -> Self {
        Self {
            fingerprint: fingerprint(&d.rule_id, &d.location.file_path, &d.snippet),
            rule_id: d.rule_id,
            rule_version: d.rule_version,
            category: d.category,
            severity: d.severity,
            message: d.message,
            location: d.location,
            snippet: d.snippet,
            engine: d.engine,
        }
    }

    /// Whether the finding touches one of `lines`.
    pub fn touches(&self, lines: &BTreeSet<u32>) -> bool {
        lines.range(self.location.start_line..=self.location.end_line).next().is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DetectResponse {
    /// Sorted by line, column and rule.
    pub findings: Vec<DetectedFinding>,
    /// Who wrote the content, resolved from what the request declared (`unknown` without).
    pub attribution: Attribution,
    /// Every detector that ran, with its rule-pack digest.
    pub detectors: Vec<DetectorRef>,
    /// Detectors that ran out of time: their findings are partial.
    pub detectors_incomplete: Vec<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DetectorView {
    pub name: String,
    pub engine: String,
    pub version: String,
    pub rulepack_sha256: String,
    pub rules: Vec<RuleInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CapabilitiesResponse {
    pub detectors: Vec<DetectorView>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::RepoPath;

    fn finding(start_line: u32, end_line: u32) -> DetectedFinding {
        DetectedFinding::from_detection(Detection {
            rule_id: "python.eval".into(),
            rule_version: "1".into(),
            category: "code_execution".into(),
            severity: Severity::High,
            message: "eval".into(),
            location: Location {
                file_path: RepoPath::parse("a.py").unwrap(),
                start_line,
                end_line,
                start_column: 1,
                end_column: 5,
            },
            snippet: "eval(x)".into(),
            engine: "pattern".into(),
        })
    }

    #[test]
    fn a_finding_spanning_lines_touches_any_of_them() {
        let f = finding(4, 7);
        assert!(f.touches(&[6].into()));
        assert!(f.touches(&[1, 4].into()));
        assert!(!f.touches(&[3, 8].into()));
        assert!(!f.touches(&BTreeSet::new()));
    }

    #[test]
    fn the_fingerprint_is_the_analysis_one() {
        let f = finding(1, 1);
        assert_eq!(f.fingerprint, fingerprint("python.eval", &RepoPath::parse("a.py").unwrap(), "eval(x)"));
    }
}
