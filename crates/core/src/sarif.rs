//! SARIF 2.1.0 logs of an analysis's findings (SPEC §5), shaped for GitHub code scanning.
//!
//! The log is built from typed serde structs covering only the subset of SARIF we emit, rather
//! than through a general SARIF builder crate: the subset is small, every field we write is
//! visible in one file, the output is deterministic (so its digest can be signed into the
//! decision statement), and `core` stays free of heavyweight dependencies. Conformance is not
//! taken on trust: the integration tests validate rendered logs against the official OASIS
//! SARIF 2.1.0 JSON schema (`tests/fixtures/sarif-schema-2.1.0.json`).
//!
//! Choices worth knowing:
//! - Results are ordered most severe first (then by path, line, column, rule), and at most
//!   [`MAX_RESULTS_PER_RUN`] are kept (GitHub's limit); the number dropped is recorded in the
//!   run's `properties.results_truncated` and in a warning notification.
//! - Each finding has exactly one location, so GitHub's limit of [`MAX_LOCATIONS_PER_RESULT`]
//!   locations per result always holds.
//! - `driver.rules` holds only rules that have results, sorted by id; a finding whose rule has
//!   no metadata gets a minimal descriptor derived from the finding.
//! - `originalUriBaseIds` is not written: the service never has a checkout, so there is no
//!   truthful absolute root for `%SRCROOT%`; consumers (GitHub) resolve it against their own
//!   checkout.
//! - [`sarif_bytes`] gives the exact bytes to serve (RFC 8785 canonical JSON), and
//!   [`sarif_sha256`] their digest, which the decision statement names as its `sarif` subject.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::attribution::{AttributionSource, Contributor};
use crate::finding::{Finding, FindingStatus, RuleInfo, Severity};
use crate::id::AnalysisId;
use crate::names::{CommitSha, RepoName, RepoPath};

pub const SARIF_SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const SARIF_VERSION: &str = "2.1.0";
pub const TOOL_NAME: &str = "Provenance";
pub const TOOL_INFORMATION_URI: &str = "https://github.com/provenance-dev/provenance";
/// The `uriBaseId` of every artifact location: the repository root.
pub const SRCROOT: &str = "%SRCROOT%";
/// The key of our fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "provenance/v1";
/// GitHub code scanning accepts at most this many results per run.
pub const MAX_RESULTS_PER_RUN: usize = 25_000;
/// GitHub code scanning accepts at most this many locations per result.
pub const MAX_LOCATIONS_PER_RESULT: usize = 1_000;

/// Everything a SARIF log is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct SarifInput<'a> {
    /// The analysis the log reports on; `None` for a local scan (`provenance scan`), whose log
    /// has no version-control provenance.
    pub subject: Option<SarifSubject<'a>>,
    pub findings: &'a [Finding],
    /// Rule metadata; rules without results are left out of the log.
    pub rules: &'a [RuleInfo],
    pub tool_version: &'a str,
    /// False when the analysis failed or a detector was incomplete.
    pub execution_successful: bool,
    pub failure_message: Option<&'a str>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}

/// The analysed revision of an analysis' log.
#[derive(Debug, Clone, Copy)]
pub struct SarifSubject<'a> {
    pub repo: &'a RepoName,
    pub head_sha: &'a CommitSha,
    pub analysis_id: &'a AnalysisId,
}

/// The `automationDetails.id` of a local scan's log.
pub const LOCAL_SCAN_AUTOMATION_ID: &str = "provenance/scan";

/// A SARIF log (`sarifLog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarifLog {
    #[serde(rename = "$schema")]
    pub schema: String,
    pub version: String,
    pub runs: Vec<Run>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    pub automation_details: AutomationDetails,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub version_control_provenance: Vec<VersionControlDetails>,
    pub invocations: Vec<Invocation>,
    pub results: Vec<SarifResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<RunProperties>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProperties {
    /// Results left out to respect [`MAX_RESULTS_PER_RUN`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results_truncated: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub driver: ToolComponent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolComponent {
    pub name: String,
    pub version: String,
    pub information_uri: String,
    pub rules: Vec<ReportingDescriptor>,
}

/// A rule (`reportingDescriptor`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportingDescriptor {
    pub id: String,
    pub name: String,
    pub short_description: MultiformatMessageString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_description: Option<MultiformatMessageString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<MultiformatMessageString>,
    pub default_configuration: ReportingConfiguration,
    pub properties: RuleProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiformatMessageString {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportingConfiguration {
    pub level: Level,
}

/// A rule's property bag, as GitHub code scanning reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleProperties {
    pub category: String,
    /// `security`, the category, the rule's own tags and its CWE ids; no duplicates.
    pub tags: Vec<String>,
    /// A CVSS-like score as a string, which GitHub maps to critical/high/medium/low.
    #[serde(rename = "security-severity")]
    pub security_severity: String,
    pub precision: String,
}

/// The SARIF `level` of a result or rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    Note,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    /// Index of the rule in `tool.driver.rules`.
    pub rule_index: usize,
    pub level: Level,
    pub message: Message,
    pub locations: Vec<Location>,
    pub partial_fingerprints: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
    pub properties: ResultProperties,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub physical_location: PhysicalLocation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    pub region: Region,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactLocation {
    /// Repository-relative, percent-encoded where a URI requires it.
    pub uri: String,
    pub uri_base_id: String,
}

/// 1-based lines and columns; `endColumn` is one past the last character (SARIF §3.30.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: u32,
    pub end_line: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<ArtifactContent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactContent {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// Always `external`: suppressions are recorded in Provenance, not in the source.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

/// A result's property bag: the finding and who wrote its line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultProperties {
    pub finding_id: String,
    pub category: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    pub contributor: Contributor,
    pub attribution_source: AttributionSource,
    pub attribution_confidence: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionControlDetails {
    pub repository_uri: String,
    pub revision_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub execution_successful: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_execution_notifications: Vec<Notification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub level: Level,
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomationDetails {
    /// `provenance/{analysis_id}`: GitHub's category is the part before the last `/`.
    pub id: String,
}

impl SarifLog {
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a SARIF log always serialises to JSON")
    }
}

/// SARIF `level` of a finding severity: critical/high → error, medium → warning, low/info → note.
pub fn level_of(severity: Severity) -> Level {
    match severity {
        Severity::Critical | Severity::High => Level::Error,
        Severity::Medium => Level::Warning,
        Severity::Low | Severity::Info => Level::Note,
    }
}

/// GitHub's `security-severity` score of a severity, as the string GitHub expects.
pub fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// A repository path as a relative URI reference: `/` kept, unreserved characters and the
/// sub-delimiters `!$&'()*+,;=` and `@` kept, everything else (space, `%`, `#`, `?`, `:`,
/// non-ASCII, …) percent-encoded as UTF-8. `:` is encoded so a first segment like `std:io` is not
/// read as a scheme.
pub fn path_to_uri(path: &RepoPath) -> String {
    let mut out = String::with_capacity(path.as_str().len());
    for b in path.as_str().bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b'!' | b'$' | b'&' | b'\'' | b'(' | b')')
            || matches!(b, b'*' | b'+' | b',' | b';' | b'=' | b'@');
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// GitHub's CWE tag form, `external/cwe/cwe-89`, of a CWE id like `CWE-89` (or `89`).
pub fn cwe_tag(cwe: &str) -> Option<String> {
    let trimmed = cwe.trim();
    let number = trimmed.get(..4).filter(|p| p.eq_ignore_ascii_case("cwe-")).map_or(trimmed, |_| &trimmed[4..]);
    (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())).then(|| format!("external/cwe/cwe-{number}"))
}

fn rfc3339_z(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn push_unique(tags: &mut Vec<String>, tag: &str) {
    if !tag.is_empty() && !tags.iter().any(|t| t == tag) {
        tags.push(tag.to_string());
    }
}

fn text(s: &str) -> MultiformatMessageString {
    MultiformatMessageString { text: s.to_string() }
}

fn non_empty(s: &str) -> Option<MultiformatMessageString> {
    (!s.trim().is_empty()).then(|| text(s))
}

fn rule_tags(category: &str, extra: &[String], cwe: &[String]) -> Vec<String> {
    let mut tags = Vec::new();
    push_unique(&mut tags, "security");
    push_unique(&mut tags, category);
    for t in extra {
        push_unique(&mut tags, t);
    }
    for c in cwe {
        push_unique(&mut tags, c.trim());
        if let Some(t) = cwe_tag(c) {
            push_unique(&mut tags, &t);
        }
    }
    tags
}

fn descriptor(rule: &RuleInfo) -> ReportingDescriptor {
    ReportingDescriptor {
        id: rule.id.clone(),
        name: if rule.name.trim().is_empty() { rule.id.clone() } else { rule.name.clone() },
        short_description: non_empty(&rule.short_description).unwrap_or_else(|| text(&rule.id)),
        full_description: non_empty(&rule.full_description),
        help: non_empty(&rule.help),
        default_configuration: ReportingConfiguration { level: level_of(rule.severity) },
        properties: RuleProperties {
            category: rule.category.clone(),
            tags: rule_tags(&rule.category, &rule.tags, &rule.cwe),
            security_severity: security_severity(rule.severity).to_string(),
            precision: "high".to_string(),
        },
    }
}

/// A descriptor for a rule we have no metadata for, from its (most severe) finding.
fn minimal_descriptor(finding: &Finding) -> ReportingDescriptor {
    ReportingDescriptor {
        id: finding.rule_id.clone(),
        name: finding.rule_id.clone(),
        short_description: text(&finding.rule_id),
        full_description: None,
        help: None,
        default_configuration: ReportingConfiguration { level: level_of(finding.severity) },
        properties: RuleProperties {
            category: finding.category.clone(),
            tags: rule_tags(&finding.category, &[], &[]),
            security_severity: security_severity(finding.severity).to_string(),
            precision: "high".to_string(),
        },
    }
}

fn region(finding: &Finding) -> Region {
    let l = &finding.location;
    let start_line = l.start_line.max(1);
    let end_line = l.end_line.max(start_line);
    // Column 0 means "unknown": the region is then whole lines.
    let start_column = (l.start_column > 0).then_some(l.start_column);
    let end_column = start_column.and_then(|start| {
        if l.end_column == 0 {
            None
        } else if end_line == start_line {
            Some(l.end_column.max(start))
        } else {
            Some(l.end_column)
        }
    });
    Region {
        start_line,
        end_line,
        start_column,
        end_column,
        snippet: (!finding.snippet.is_empty()).then(|| ArtifactContent { text: finding.snippet.clone() }),
    }
}

fn result(finding: &Finding, rule_index: usize) -> SarifResult {
    let a = &finding.attribution;
    let confidence = if a.confidence.is_finite() { a.confidence.clamp(0.0, 1.0) } else { 0.0 };
    let mut locations = vec![Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: path_to_uri(&finding.location.file_path),
                uri_base_id: SRCROOT.to_string(),
            },
            region: region(finding),
        },
    }];
    locations.truncate(MAX_LOCATIONS_PER_RESULT);
    let suppressions = match finding.status {
        FindingStatus::Open => Vec::new(),
        FindingStatus::Suppressed => vec![Suppression {
            kind: "external".to_string(),
            justification: finding.suppression.as_ref().map(|s| s.reason.clone()).filter(|r| !r.is_empty()),
        }],
    };
    SarifResult {
        rule_id: finding.rule_id.clone(),
        rule_index,
        level: level_of(finding.severity),
        message: Message { text: finding.message.clone() },
        locations,
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY.to_string(), finding.fingerprint.clone())]),
        suppressions,
        properties: ResultProperties {
            finding_id: finding.id.to_string(),
            category: finding.category.clone(),
            severity: finding.severity,
            agent_id: a.agent_id.as_ref().map(ToString::to_string),
            contributor: a.contributor,
            attribution_source: a.source,
            attribution_confidence: confidence,
        },
    }
}

/// The SARIF log of an analysis.
pub fn sarif_log(input: &SarifInput<'_>) -> SarifLog {
    // Most severe first, then a stable order by place, so truncation drops the least severe.
    let mut ordered: Vec<&Finding> = input.findings.iter().collect();
    ordered.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| (a.status != FindingStatus::Open).cmp(&(b.status != FindingStatus::Open)))
            .then_with(|| a.location.file_path.cmp(&b.location.file_path))
            .then_with(|| a.location.start_line.cmp(&b.location.start_line))
            .then_with(|| a.location.start_column.cmp(&b.location.start_column))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.id.cmp(&b.id))
    });
    let dropped = ordered.len().saturating_sub(MAX_RESULTS_PER_RUN);
    ordered.truncate(MAX_RESULTS_PER_RUN);

    // Rules that have results, by id; the first finding seen of a rule is its most severe.
    let mut first_of_rule: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in &ordered {
        first_of_rule.entry(f.rule_id.as_str()).or_insert(f);
    }
    let rules: Vec<ReportingDescriptor> = first_of_rule
        .iter()
        .map(|(id, f)| input.rules.iter().find(|r| r.id == *id).map_or_else(|| minimal_descriptor(f), descriptor))
        .collect();
    let index: BTreeMap<&str, usize> = first_of_rule.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let results = ordered.iter().map(|f| result(f, index[f.rule_id.as_str()])).collect();

    let mut notifications = Vec::new();
    if let Some(message) = input.failure_message {
        notifications.push(Notification { level: Level::Error, message: Message { text: message.to_string() } });
    }
    if dropped > 0 {
        notifications.push(Notification {
            level: Level::Warning,
            message: Message {
                text: format!(
                    "{dropped} less severe results were left out: GitHub code scanning accepts at most \
                     {MAX_RESULTS_PER_RUN} results per run"
                ),
            },
        });
    }

    SarifLog {
        schema: SARIF_SCHEMA_URI.to_string(),
        version: SARIF_VERSION.to_string(),
        runs: vec![Run {
            tool: Tool {
                driver: ToolComponent {
                    name: TOOL_NAME.to_string(),
                    version: input.tool_version.to_string(),
                    information_uri: TOOL_INFORMATION_URI.to_string(),
                    rules,
                },
            },
            automation_details: AutomationDetails {
                id: input
                    .subject
                    .map_or_else(|| LOCAL_SCAN_AUTOMATION_ID.to_string(), |s| format!("provenance/{}", s.analysis_id)),
            },
            version_control_provenance: input
                .subject
                .map(|s| VersionControlDetails {
                    repository_uri: format!("https://github.com/{}", s.repo),
                    revision_id: s.head_sha.to_string(),
                })
                .into_iter()
                .collect(),
            invocations: vec![Invocation {
                execution_successful: input.execution_successful,
                start_time_utc: input.start_time.map(rfc3339_z),
                end_time_utc: input.end_time.map(rfc3339_z),
                tool_execution_notifications: notifications,
            }],
            results,
            properties: (dropped > 0).then_some(RunProperties { results_truncated: Some(dropped as u64) }),
        }],
    }
}

/// The SARIF log of an analysis as JSON.
pub fn render_sarif(input: &SarifInput<'_>) -> serde_json::Value {
    sarif_log(input).to_value()
}

/// The bytes to serve for a log: its RFC 8785 canonical JSON, so the digest in the signed
/// statement matches the download byte for byte.
pub fn sarif_bytes(log: &SarifLog) -> Vec<u8> {
    crate::digest::canonical_json(log).expect("a SARIF log has only finite numbers and string keys")
}

/// Lower-case hex sha256 of [`sarif_bytes`].
pub fn sarif_sha256(log: &SarifLog) -> String {
    crate::digest::sha256_hex(&sarif_bytes(log))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> RepoPath {
        RepoPath::parse(s).expect("valid path")
    }

    #[test]
    fn severities_map_to_sarif_levels() {
        assert_eq!(level_of(Severity::Critical), Level::Error);
        assert_eq!(level_of(Severity::High), Level::Error);
        assert_eq!(level_of(Severity::Medium), Level::Warning);
        assert_eq!(level_of(Severity::Low), Level::Note);
        assert_eq!(level_of(Severity::Info), Level::Note);
        assert_eq!(serde_json::to_value(Level::Warning).expect("json"), "warning");
    }

    #[test]
    fn security_severity_scores_fall_in_githubs_bands() {
        let scores: Vec<&str> = Severity::ALL.into_iter().map(security_severity).collect();
        assert_eq!(scores, ["0.0", "3.0", "5.5", "8.0", "9.5"]);
    }

    #[test]
    fn paths_are_percent_encoded_minimally() {
        assert_eq!(path_to_uri(&path("src/app/main.py")), "src/app/main.py");
        assert_eq!(path_to_uri(&path("my dir/a file.py")), "my%20dir/a%20file.py");
        assert_eq!(path_to_uri(&path("100%/a#b?c.py")), "100%25/a%23b%3Fc.py");
        assert_eq!(path_to_uri(&path("std:io/y.rs")), "std%3Aio/y.rs");
        assert_eq!(path_to_uri(&path("docs/café.md")), "docs/caf%C3%A9.md");
        assert_eq!(path_to_uri(&path("a+b/(1)_~x@y.js")), "a+b/(1)_~x@y.js");
    }

    #[test]
    fn cwe_ids_become_github_cwe_tags() {
        assert_eq!(cwe_tag("CWE-89").as_deref(), Some("external/cwe/cwe-89"));
        assert_eq!(cwe_tag("cwe-079").as_deref(), Some("external/cwe/cwe-079"));
        assert_eq!(cwe_tag("502").as_deref(), Some("external/cwe/cwe-502"));
        assert_eq!(cwe_tag("OWASP-A03"), None);
        assert_eq!(cwe_tag("CWE-"), None);
    }

    #[test]
    fn rule_tags_start_with_security_and_have_no_duplicates() {
        let tags = rule_tags("sqli", &["security".into(), "sqli".into(), "python".into()], &["CWE-89".into()]);
        assert_eq!(tags, ["security", "sqli", "python", "CWE-89", "external/cwe/cwe-89"]);
    }

    fn finding_at(start_line: u32, end_line: u32, start_column: u32, end_column: u32, snippet: &str) -> Finding {
        Finding {
            id: crate::id::FindingId::generate(),
            rule_id: "r".into(),
            rule_version: "1".into(),
            category: "sqli".into(),
            severity: Severity::High,
            message: "m".into(),
            location: crate::finding::Location {
                file_path: path("a.py"),
                start_line,
                end_line,
                start_column,
                end_column,
            },
            snippet: snippet.into(),
            fingerprint: "f".into(),
            attribution: crate::attribution::Attribution::unknown(),
            engine: "pattern".into(),
            status: FindingStatus::Open,
            suppression: None,
        }
    }

    #[test]
    fn regions_are_one_based_and_never_end_before_they_start() {
        let r = region(&finding_at(3, 4, 5, 9, "x = 1"));
        assert_eq!((r.start_line, r.end_line, r.start_column, r.end_column), (3, 4, Some(5), Some(9)));
        assert_eq!(r.snippet, Some(ArtifactContent { text: "x = 1".into() }));
        let r = region(&finding_at(0, 0, 7, 2, ""));
        assert_eq!((r.start_line, r.end_line, r.start_column, r.end_column), (1, 1, Some(7), Some(7)));
        assert_eq!(r.snippet, None);
    }

    #[test]
    fn unknown_columns_are_left_out_so_the_region_is_whole_lines() {
        let r = region(&finding_at(2, 2, 0, 0, "x"));
        assert_eq!((r.start_column, r.end_column), (None, None));
        let r = region(&finding_at(2, 2, 4, 0, "x"));
        assert_eq!((r.start_column, r.end_column), (Some(4), None));
    }

    #[test]
    fn timestamps_are_utc_with_z() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T13:00:00.250+01:00").expect("time").with_timezone(&Utc);
        assert_eq!(rfc3339_z(t), "2026-11-22T12:00:00.250Z");
    }
}
