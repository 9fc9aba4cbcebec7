//! Suppressions (SPEC §5, finding lifecycle): a reviewer accepts the risk of a finding, with a
//! reason and optionally until a date. A suppression is keyed by the finding's fingerprint (rule,
//! path, normalised snippet), so it applies to later analyses of the same code; it never rewrites
//! an analysis already decided (its decision is signed as it was).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::finding::{Finding, FindingStatus, Suppression};
use crate::id::{FindingId, SuppressionId};

/// A recorded suppression of one fingerprint in one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FingerprintSuppression {
    #[schema(value_type = String, example = "sup_01JDQ7Z4V3K8M2N5P6R7S8T9VW")]
    pub id: SuppressionId,
    /// The fingerprint it matches (the finding's `fingerprint`).
    pub fingerprint: String,
    /// The finding it was made from, with its rule and path, for the reviewer's benefit.
    #[schema(value_type = String, example = "fd_01JDQ7Z4V3K8M2N5P6R7S8T9VW")]
    pub finding_id: FindingId,
    pub rule_id: String,
    pub file_path: String,
    pub reason: String,
    /// The API key (`key_…`) that suppressed it.
    pub suppressed_by: String,
    pub created_at: DateTime<Utc>,
    /// After this time the suppression no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when un-suppressed; kept for the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
}

impl FingerprintSuppression {
    /// Whether it applies to findings seen at `now`: not revoked and not expired.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }

    /// What a matched finding records about it.
    pub fn as_finding_suppression(&self) -> Suppression {
        Suppression {
            id: Some(self.id.clone()),
            reason: self.reason.clone(),
            suppressed_by: self.suppressed_by.clone(),
            suppressed_at: self.created_at,
            expires_at: self.expires_at,
        }
    }
}

/// Mark every open finding whose fingerprint has an active suppression as suppressed; returns how
/// many were. Suppressions that are revoked or expired at `now` are ignored.
pub fn apply_suppressions(
    findings: &mut [Finding],
    suppressions: &[FingerprintSuppression],
    now: DateTime<Utc>,
) -> usize {
    let mut applied = 0;
    for finding in findings.iter_mut().filter(|f| f.is_open()) {
        if let Some(s) = suppressions.iter().find(|s| s.fingerprint == finding.fingerprint && s.is_active(now)) {
            finding.status = FindingStatus::Suppressed;
            finding.suppression = Some(s.as_finding_suppression());
            applied += 1;
        }
    }
    applied
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::attribution::Attribution;
    use crate::finding::{Detection, Location, Severity};
    use crate::names::RepoPath;

    fn finding(snippet: &str) -> Finding {
        Finding::from_detection(
            Detection {
                rule_id: "python.sqli".into(),
                rule_version: "1".into(),
                category: "sqli".into(),
                severity: Severity::Critical,
                message: "m".into(),
                location: Location {
                    file_path: RepoPath::parse("a.py").unwrap(),
                    start_line: 1,
                    end_line: 1,
                    start_column: 1,
                    end_column: 2,
                },
                snippet: snippet.into(),
                engine: "test".into(),
            },
            Attribution::unknown(),
        )
    }

    fn suppression(of: &Finding, now: DateTime<Utc>) -> FingerprintSuppression {
        FingerprintSuppression {
            id: SuppressionId::generate(),
            fingerprint: of.fingerprint.clone(),
            finding_id: of.id.clone(),
            rule_id: of.rule_id.clone(),
            file_path: of.location.file_path.to_string(),
            reason: "test fixture".into(),
            suppressed_by: "key_x".into(),
            created_at: now,
            expires_at: None,
            revoked_at: None,
            revoked_by: None,
        }
    }

    #[test]
    fn a_matching_active_suppression_suppresses_only_its_fingerprint() {
        let now = Utc::now();
        let mut findings = vec![finding("q = 'x' + y"), finding("other")];
        let s = suppression(&findings[0], now);
        assert_eq!(apply_suppressions(&mut findings, std::slice::from_ref(&s), now), 1);
        assert_eq!(findings[0].status, FindingStatus::Suppressed);
        assert_eq!(findings[0].suppression.as_ref().unwrap().id.as_ref(), Some(&s.id));
        assert!(findings[1].is_open());
    }

    #[test]
    fn expired_and_revoked_suppressions_do_not_apply() {
        let now = Utc::now();
        let mut findings = vec![finding("q = 'x' + y")];
        let mut expired = suppression(&findings[0], now - Duration::days(2));
        expired.expires_at = Some(now - Duration::hours(1));
        let mut revoked = suppression(&findings[0], now);
        revoked.revoked_at = Some(now);
        assert_eq!(apply_suppressions(&mut findings, &[expired, revoked], now), 0);
        assert!(findings[0].is_open());
    }
}
