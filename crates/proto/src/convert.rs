//! Conversions between the domain types of `provenance-core` and their `provenance.v1` messages.
//! Towards protobuf they cannot fail; back from protobuf every string that names an enum value
//! (severity, contributor, source) or a validated name (path, agent id) is checked, and a bad one
//! is a [`ConvertError`] naming the field by the JSON pointer REST would use.

use provenance_core::FieldError;
use provenance_core::attribution::{Attribution, AttributionSource, Contributor};
use provenance_core::decision::DetectorRef;
use provenance_core::finding::{Location, RuleInfo, Severity};
use provenance_core::ingest::DetectRequest;
use provenance_core::line::DeclaredAttribution;
use provenance_core::names::{AgentId, RepoPath};
use provenance_core::snippet::{CapabilitiesResponse, DetectResponse, DetectedFinding, DetectorView};

use crate::v1;

/// A message that makes no valid domain value: the JSON pointer of the field (`/declared/contributor`)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {detail}")]
pub struct ConvertError {
    pub pointer: String,
    pub detail: String,
}

impl ConvertError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into() }
    }

    /// The same error, seen from the message that holds the failing one at `prefix`.
    fn within(mut self, prefix: &str) -> Self {
        self.pointer.insert_str(0, prefix);
        self
    }
}

impl From<ConvertError> for FieldError {
    fn from(e: ConvertError) -> Self {
        FieldError::new(e.pointer, e.detail)
    }
}

/// Convert every item, naming a failing one `/{field}/{index}/…`.
fn try_list<T, U>(items: Vec<T>, field: &str) -> Result<Vec<U>, ConvertError>
where
    U: TryFrom<T, Error = ConvertError>,
{
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| U::try_from(item).map_err(|e| e.within(&format!("/{field}/{i}"))))
        .collect()
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, ConvertError> {
    value.ok_or_else(|| ConvertError::new(format!("/{field}"), "is required"))
}

fn severity(s: &str, pointer: &str) -> Result<Severity, ConvertError> {
    Severity::parse(s).ok_or_else(|| {
        ConvertError::new(pointer, format!("unknown severity {s:?}; expected info, low, medium, high or critical"))
    })
}

fn contributor(s: &str, pointer: &str) -> Result<Contributor, ConvertError> {
    Contributor::parse(s).ok_or_else(|| {
        ConvertError::new(pointer, format!("unknown contributor {s:?}; expected ai, human, mixed or unknown"))
    })
}

/// Empty is "not known" in protobuf, `None` in the domain.
fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

// ---- common.proto -------------------------------------------------------------------------

impl From<&Attribution> for v1::Attribution {
    fn from(a: &Attribution) -> Self {
        Self {
            contributor: a.contributor.as_str().to_string(),
            agent_id: a.agent_id.as_ref().map(|id| id.as_str().to_string()).unwrap_or_default(),
            model_id: a.model_id.clone().unwrap_or_default(),
            session_id: a.session_id.clone().unwrap_or_default(),
            source: a.source.as_str().to_string(),
            confidence: a.confidence,
            flags: a.flags.clone(),
        }
    }
}

impl TryFrom<v1::Attribution> for Attribution {
    type Error = ConvertError;

    fn try_from(a: v1::Attribution) -> Result<Self, ConvertError> {
        let source = AttributionSource::parse(&a.source)
            .ok_or_else(|| ConvertError::new("/source", format!("unknown attribution source {:?}", a.source)))?;
        let agent_id = non_empty(a.agent_id)
            .map(|id| AgentId::parse(&id))
            .transpose()
            .map_err(|why| ConvertError::new("/agent_id", why))?;
        Ok(Self {
            contributor: contributor(&a.contributor, "/contributor")?,
            agent_id,
            model_id: non_empty(a.model_id),
            session_id: non_empty(a.session_id),
            source,
            confidence: a.confidence,
            flags: a.flags,
        })
    }
}

impl From<&Location> for v1::Location {
    fn from(l: &Location) -> Self {
        Self {
            file_path: l.file_path.as_str().to_string(),
            start_line: l.start_line,
            end_line: l.end_line,
            start_column: l.start_column,
            end_column: l.end_column,
        }
    }
}

impl TryFrom<v1::Location> for Location {
    type Error = ConvertError;

    fn try_from(l: v1::Location) -> Result<Self, ConvertError> {
        Ok(Self {
            file_path: RepoPath::parse(&l.file_path).map_err(|why| ConvertError::new("/file_path", why))?,
            start_line: l.start_line,
            end_line: l.end_line,
            start_column: l.start_column,
            end_column: l.end_column,
        })
    }
}

impl From<&DetectorRef> for v1::DetectorRef {
    fn from(d: &DetectorRef) -> Self {
        Self { name: d.name.clone(), version: d.version.clone(), rulepack_sha256: d.rulepack_sha256.clone() }
    }
}

impl From<v1::DetectorRef> for DetectorRef {
    fn from(d: v1::DetectorRef) -> Self {
        Self { name: d.name, version: d.version, rulepack_sha256: d.rulepack_sha256 }
    }
}

// ---- detector.proto: Detect ---------------------------------------------------------------

impl From<DetectRequest> for v1::DetectRequest {
    fn from(r: DetectRequest) -> Self {
        Self {
            path: r.path,
            content: r.content,
            language: r.language,
            first_line: r.first_line,
            changed_lines: r.changed_lines.map(|lines| v1::LineSelection { lines }),
            declared: r.declared.map(v1::DetectDeclared::from),
        }
    }
}

impl TryFrom<v1::DetectRequest> for DetectRequest {
    type Error = ConvertError;

    fn try_from(r: v1::DetectRequest) -> Result<Self, ConvertError> {
        Ok(Self {
            path: r.path,
            content: r.content,
            language: r.language,
            first_line: r.first_line,
            changed_lines: r.changed_lines.map(|s| s.lines),
            declared: r.declared.map(DeclaredAttribution::try_from).transpose().map_err(|e| e.within("/declared"))?,
        })
    }
}

impl From<DeclaredAttribution> for v1::DetectDeclared {
    fn from(d: DeclaredAttribution) -> Self {
        Self {
            contributor: d.contributor.map(|c| c.as_str().to_string()),
            agent_id: d.agent_id.map(String::from),
            agent_version: d.agent_version,
            model_id: d.model_id,
            session_id: d.session_id,
            commit_sha: d.commit_sha,
            commit_line: d.commit_line,
            provenance_marker: d.provenance_marker,
        }
    }
}

impl TryFrom<v1::DetectDeclared> for DeclaredAttribution {
    type Error = ConvertError;

    fn try_from(d: v1::DetectDeclared) -> Result<Self, ConvertError> {
        Ok(Self {
            contributor: d.contributor.map(|c| contributor(&c, "/contributor")).transpose()?,
            agent_id: d
                .agent_id
                .map(|id| AgentId::parse(&id))
                .transpose()
                .map_err(|why| ConvertError::new("/agent_id", why))?,
            agent_version: d.agent_version,
            model_id: d.model_id,
            session_id: d.session_id,
            commit_sha: d.commit_sha,
            commit_line: d.commit_line,
            provenance_marker: d.provenance_marker,
        })
    }
}

impl From<DetectResponse> for v1::DetectResponse {
    fn from(r: DetectResponse) -> Self {
        Self {
            findings: r.findings.into_iter().map(v1::DetectedFinding::from).collect(),
            attribution: Some(v1::Attribution::from(&r.attribution)),
            detectors: r.detectors.iter().map(v1::DetectorRef::from).collect(),
            detectors_incomplete: r.detectors_incomplete,
            duration_ms: r.duration_ms,
        }
    }
}

impl TryFrom<v1::DetectResponse> for DetectResponse {
    type Error = ConvertError;

    fn try_from(r: v1::DetectResponse) -> Result<Self, ConvertError> {
        Ok(Self {
            findings: try_list(r.findings, "findings")?,
            attribution: Attribution::try_from(required(r.attribution, "attribution")?)
                .map_err(|e| e.within("/attribution"))?,
            detectors: r.detectors.into_iter().map(DetectorRef::from).collect(),
            detectors_incomplete: r.detectors_incomplete,
            duration_ms: r.duration_ms,
        })
    }
}

impl From<DetectedFinding> for v1::DetectedFinding {
    fn from(f: DetectedFinding) -> Self {
        Self {
            location: Some(v1::Location::from(&f.location)),
            rule_id: f.rule_id,
            rule_version: f.rule_version,
            category: f.category,
            severity: f.severity.as_str().to_string(),
            message: f.message,
            snippet: f.snippet,
            fingerprint: f.fingerprint,
            engine: f.engine,
        }
    }
}

impl TryFrom<v1::DetectedFinding> for DetectedFinding {
    type Error = ConvertError;

    fn try_from(f: v1::DetectedFinding) -> Result<Self, ConvertError> {
        Ok(Self {
            severity: severity(&f.severity, "/severity")?,
            location: Location::try_from(required(f.location, "location")?).map_err(|e| e.within("/location"))?,
            rule_id: f.rule_id,
            rule_version: f.rule_version,
            category: f.category,
            message: f.message,
            snippet: f.snippet,
            fingerprint: f.fingerprint,
            engine: f.engine,
        })
    }
}

// ---- detector.proto: Capabilities ---------------------------------------------------------

impl From<CapabilitiesResponse> for v1::CapabilitiesResponse {
    fn from(c: CapabilitiesResponse) -> Self {
        Self { detectors: c.detectors.into_iter().map(v1::Detector::from).collect() }
    }
}

impl TryFrom<v1::CapabilitiesResponse> for CapabilitiesResponse {
    type Error = ConvertError;

    fn try_from(c: v1::CapabilitiesResponse) -> Result<Self, ConvertError> {
        Ok(Self { detectors: try_list(c.detectors, "detectors")? })
    }
}

impl From<DetectorView> for v1::Detector {
    fn from(d: DetectorView) -> Self {
        Self {
            name: d.name,
            engine: d.engine,
            version: d.version,
            rulepack_sha256: d.rulepack_sha256,
            rules: d.rules.into_iter().map(v1::Rule::from).collect(),
        }
    }
}

impl TryFrom<v1::Detector> for DetectorView {
    type Error = ConvertError;

    fn try_from(d: v1::Detector) -> Result<Self, ConvertError> {
        Ok(Self {
            name: d.name,
            engine: d.engine,
            version: d.version,
            rulepack_sha256: d.rulepack_sha256,
            rules: try_list(d.rules, "rules")?,
        })
    }
}

impl From<RuleInfo> for v1::Rule {
    fn from(r: RuleInfo) -> Self {
        Self {
            id: r.id,
            version: r.version,
            name: r.name,
            short_description: r.short_description,
            full_description: r.full_description,
            help: r.help,
            severity: r.severity.as_str().to_string(),
            category: r.category,
            languages: r.languages,
            cwe: r.cwe,
            references: r.references,
            tags: r.tags,
        }
    }
}

impl TryFrom<v1::Rule> for RuleInfo {
    type Error = ConvertError;

    fn try_from(r: v1::Rule) -> Result<Self, ConvertError> {
        Ok(Self {
            severity: severity(&r.severity, "/severity")?,
            id: r.id,
            version: r.version,
            name: r.name,
            short_description: r.short_description,
            full_description: r.full_description,
            help: r.help,
            category: r.category,
            languages: r.languages,
            cwe: r.cwe,
            references: r.references,
            tags: r.tags,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use provenance_core::ingest::read_detect_request;

    use super::*;

    fn attribution() -> Attribution {
        Attribution {
            contributor: Contributor::Ai,
            agent_id: Some(AgentId::parse("claude-code").unwrap()),
            model_id: Some("anthropic/claude-opus-4-5".into()),
            session_id: None,
            source: AttributionSource::Declared,
            confidence: 0.9,
            flags: vec!["source_conflict".into()],
        }
    }

    fn response() -> DetectResponse {
        DetectResponse {
            findings: vec![DetectedFinding {
                rule_id: "python.sqli.fstring".into(),
                rule_version: "1".into(),
                category: "sqli".into(),
                severity: Severity::High,
                message: "SQL built from an f-string".into(),
                location: Location {
                    file_path: RepoPath::parse("app/export.py").unwrap(),
                    start_line: 43,
                    end_line: 43,
                    start_column: 5,
                    end_column: 60,
                },
                snippet: "cur.execute(f\"…\")".into(),
                fingerprint: "0123456789abcdef0123456789abcdef".into(),
                engine: "pattern".into(),
            }],
            attribution: attribution(),
            detectors: vec![DetectorRef { name: "pattern".into(), version: "1".into(), rulepack_sha256: "ab".into() }],
            detectors_incomplete: vec!["structural".into()],
            duration_ms: 12,
        }
    }

    #[test]
    fn a_detect_response_survives_the_round_trip() {
        let r = response();
        let back = DetectResponse::try_from(v1::DetectResponse::from(r.clone())).unwrap();
        assert_eq!(back, r);
        assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&r).unwrap());
    }

    #[test]
    fn a_detect_request_keeps_absent_apart_from_empty() {
        let body = r#"{"path":"a.py","content":"x\n","changed_lines":[],"declared":{"contributor":"human","agent_id":"copilot","commit_line":3}}"#;
        let request = read_detect_request(body.as_bytes()).unwrap();
        let wire = v1::DetectRequest::from(request.clone());
        assert_eq!(wire.changed_lines, Some(v1::LineSelection { lines: vec![] }));
        assert_eq!(wire.declared.as_ref().unwrap().contributor.as_deref(), Some("human"));
        let back = DetectRequest::try_from(wire).unwrap();
        assert_eq!(format!("{back:?}"), format!("{request:?}"));

        let bare = read_detect_request(br#"{"path":"a.py","content":"x"}"#).unwrap();
        let wire = v1::DetectRequest::from(bare);
        assert_eq!((wire.changed_lines, wire.declared, wire.first_line), (None, None, None));
    }

    #[test]
    fn unknown_names_are_refused_with_the_field_that_holds_them() {
        let declared = v1::DetectDeclared { contributor: Some("robot".into()), ..Default::default() };
        let request = v1::DetectRequest { path: "a.py".into(), declared: Some(declared), ..Default::default() };
        let e = DetectRequest::try_from(request).unwrap_err();
        assert_eq!(e.pointer, "/declared/contributor");
        assert!(e.detail.contains("robot"), "{e}");

        let mut wire = v1::DetectResponse::from(response());
        wire.findings[0].severity = "severe".into();
        assert_eq!(DetectResponse::try_from(wire.clone()).unwrap_err().pointer, "/findings/0/severity");
        wire.findings[0].severity = "high".into();
        wire.attribution.as_mut().unwrap().source = "hearsay".into();
        assert_eq!(DetectResponse::try_from(wire.clone()).unwrap_err().pointer, "/attribution/source");
        wire.attribution = None;
        assert_eq!(DetectResponse::try_from(wire).unwrap_err().pointer, "/attribution");

        let rule = v1::Rule { id: "r".into(), severity: "".into(), ..Default::default() };
        let caps = v1::CapabilitiesResponse {
            detectors: vec![v1::Detector { name: "pattern".into(), rules: vec![rule], ..Default::default() }],
        };
        assert_eq!(CapabilitiesResponse::try_from(caps).unwrap_err().pointer, "/detectors/0/rules/0/severity");
    }

    #[test]
    fn not_known_is_empty_on_the_wire() {
        let a = Attribution::unknown();
        let wire = v1::Attribution::from(&a);
        assert_eq!((wire.agent_id.as_str(), wire.model_id.as_str(), wire.source.as_str()), ("", "", "none"));
        assert_eq!(Attribution::try_from(wire).unwrap(), a);
        assert_eq!(Attribution::try_from(v1::Attribution::from(&attribution())).unwrap(), attribution());
    }
}
