//! The ingestion edge (SPEC §2): the wire format of `POST /v1/analysis` — including the legacy
//! `provenance_data.changed_lines[]` of the earlier Python service and unified `diff` text — and
//! its validation into a [`NewAnalysis`]. Everything is checked before anything is written, and
//! every problem names the JSON pointer of the field.

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::analysis::{FileContent, NewAnalysis, ReportMode};
use crate::attribution::{Attribution, Contributor, resolve_attribution};
use crate::diff;
use crate::digest::canonical_value_sha256;
use crate::id::{AnalysisId, TenantId};
use crate::identity::AgentIdentity;
use crate::language::{infer_language, normalise_language};
use crate::line::{ChangeType, ChangedLine, DeclaredAttribution};
use crate::names::{AgentId, CommitSha, RepoName, RepoPath};
use crate::validation::{FieldError, ValidationErrors, pointer_token};

mod snippet;
mod sources;
mod wire;
pub use snippet::{
    DetectRequest, DetectSubmission, MAX_DETECT_BODY_BYTES, MAX_DETECT_CONTENT_BYTES, parse_detect_request,
    read_detect_request, validate_detect_request,
};
pub use wire::{
    IngestLimits, PrNumber, ProvenanceData, SubmitAnalysisRequest, WireAttribution, WireAttributionSource,
    WireChangedLine, WireFile,
};

/// Why a submission was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// Not JSON, or a field of the wrong type (400).
    #[error("malformed request body at {}: {}", .0.pointer, .0.detail)]
    Malformed(FieldError),
    /// Over a size limit (413).
    #[error("{limit} exceeded: {}", .error.detail)]
    TooLarge { limit: &'static str, error: FieldError },
    /// Semantically invalid fields (422).
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// Parse and validate a request body into a [`NewAnalysis`] for `tenant`, matching commit
/// metadata against the shipped identity table.
pub fn parse_submission(
    body: &[u8],
    limits: &IngestLimits,
    tenant: &TenantId,
    now: DateTime<Utc>,
) -> Result<NewAnalysis, IngestError> {
    ParsedSubmission::parse(body, limits)?.validate(limits, tenant, now, &[])
}

/// A request body read as JSON and typed, not yet validated: enough to know what else its
/// validation needs (the tenant's agent identities only matter when commits come with it).
#[derive(Debug)]
pub struct ParsedSubmission {
    request: SubmitAnalysisRequest,
    inputs_sha256: String,
}

impl ParsedSubmission {
    pub fn parse(body: &[u8], limits: &IngestLimits) -> Result<Self, IngestError> {
        if body.len() > limits.max_body_bytes {
            return Err(IngestError::TooLarge {
                limit: "max_body_bytes",
                error: FieldError::new("", format!("request body is larger than {} bytes", limits.max_body_bytes)),
            });
        }
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| IngestError::Malformed(FieldError::new("", format!("invalid JSON: {e}"))))?;
        if !value.is_object() {
            return Err(IngestError::Malformed(FieldError::new("", "the body must be a JSON object")));
        }
        if let Some(pointer) = first_nul(&value, &mut String::new()) {
            return Err(IngestError::Invalid(ValidationErrors::single(pointer, "must not contain NUL characters")));
        }
        let inputs_sha256 = canonical_value_sha256(&value)
            .map_err(|e| IngestError::Malformed(FieldError::new("", format!("not canonicalisable: {e}"))))?;
        let request: SubmitAnalysisRequest = serde_path_to_error::deserialize(value)
            .map_err(|e| IngestError::Malformed(FieldError::new(path_to_pointer(e.path()), e.inner().to_string())))?;
        Ok(Self { request, inputs_sha256 })
    }

    /// Whether commit metadata comes with the submission.
    pub fn has_commits(&self) -> bool {
        self.request.attribution_sources.iter().flatten().any(|s| matches!(s, WireAttributionSource::Commit { .. }))
    }

    /// Validate into a [`NewAnalysis`] for `tenant`, with the tenant's own agent identities
    /// matched before the shipped ones.
    pub fn validate(
        self,
        limits: &IngestLimits,
        tenant: &TenantId,
        now: DateTime<Utc>,
        identities: &[AgentIdentity],
    ) -> Result<NewAnalysis, IngestError> {
        validate(self.request, limits, tenant, now, self.inputs_sha256, identities)
    }
}

/// The pointer of the first string (or key) holding a NUL character: no store keeps them (a
/// PostgreSQL text or jsonb value cannot), so they are refused at the edge.
fn first_nul(value: &serde_json::Value, at: &mut String) -> Option<String> {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(at.clone()),
        serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            let len = at.len();
            let _ = write!(at, "/{i}"); // writing to a String cannot fail
            let found = first_nul(v, at);
            at.truncate(len);
            found
        }),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let len = at.len();
            at.push('/');
            at.push_str(&pointer_token(k));
            let found = if k.contains('\0') { Some(at.clone()) } else { first_nul(v, at) };
            at.truncate(len);
            found
        }),
        _ => None,
    }
}

fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", pointer_token(key))),
            Segment::Enum { variant } => Some(format!("/{}", pointer_token(variant))),
            Segment::Unknown => None,
        })
        .collect()
}

fn validate(
    req: SubmitAnalysisRequest,
    limits: &IngestLimits,
    tenant: &TenantId,
    now: DateTime<Utc>,
    inputs_sha256: String,
    identities: &[AgentIdentity],
) -> Result<NewAnalysis, IngestError> {
    let mut errors = ValidationErrors::default();

    let repo = required(&mut errors, "/repo", req.repo.as_deref(), RepoName::parse);
    let base_sha = required(&mut errors, "/base_sha", req.base_sha.as_deref(), CommitSha::parse);
    let head_sha = required(&mut errors, "/head_sha", req.head_sha.as_deref(), CommitSha::parse);
    let pr_number = match &req.pr_number {
        None => {
            errors.push("/pr_number", "is required");
            None
        }
        Some(PrNumber::Number(n)) if *n > 0 => Some(*n as u64),
        Some(PrNumber::Text(s)) if s.parse::<u64>().is_ok_and(|n| n > 0) => s.parse::<u64>().ok(),
        Some(_) => {
            errors.push("/pr_number", "must be a positive integer");
            None
        }
    };
    if let Some(b) = &req.branch
        && (b.is_empty() || b.len() > 255 || b.chars().any(char::is_control))
    {
        errors.push("/branch", "must be 1 to 255 characters without control characters");
    }
    let report_mode = match req.report_mode.as_deref() {
        None => ReportMode::default(),
        Some(m) => ReportMode::parse(m).unwrap_or_else(|| {
            errors.push("/report_mode", "must be one of added, diff_context, file");
            ReportMode::default()
        }),
    };
    if let Some(meta) = &req.metadata
        && serde_json::to_vec(meta).map(|v| v.len()).unwrap_or(usize::MAX) > 64 * 1024
    {
        errors.push("/metadata", "must be at most 64 KiB of JSON");
    }

    let wire_lines = req.provenance_data.as_ref().and_then(|p| p.changed_lines.as_deref()).unwrap_or_default();
    if req.provenance_data.as_ref().is_none_or(|p| p.changed_lines.is_none()) && req.diff.is_none() {
        errors.push("/provenance_data/changed_lines", "either provenance_data.changed_lines or diff is required");
    }
    if wire_lines.len() > limits.max_changed_lines {
        return Err(too_many("max_changed_lines", "/provenance_data/changed_lines", limits.max_changed_lines));
    }

    let mut lines = Vec::with_capacity(wire_lines.len());
    let mut seen = HashSet::new();
    for (i, wire) in wire_lines.iter().enumerate() {
        let at = format!("/provenance_data/changed_lines/{i}");
        let Some(line) = validate_line(&mut errors, &at, wire, limits) else { continue };
        if !seen.insert((line.file_path.clone(), line.line_number, line.change_type.is_at_head())) {
            errors.push(&at, format!("duplicates an earlier line ({}:{})", line.file_path, line.line_number));
            continue;
        }
        lines.push(line);
    }

    if let Some(text) = &req.diff {
        match diff::parse_unified_diff(text) {
            Err(e) => errors.push("/diff", format!("line {}: {}", e.line, e.message)),
            Ok(files) => {
                for d in diff::changed_lines(&files) {
                    let file_path = match RepoPath::parse(&d.path) {
                        Ok(p) => p,
                        Err(why) => {
                            errors.push("/diff", format!("path {:?} {why}", d.path));
                            continue;
                        }
                    };
                    if d.content.len() > limits.max_line_bytes {
                        errors.push(
                            "/diff",
                            format!("{}:{} is longer than {} bytes", d.path, d.line_number, limits.max_line_bytes),
                        );
                        continue;
                    }
                    // A line also given in changed_lines keeps that richer record.
                    if seen.insert((file_path.clone(), d.line_number, d.change_type.is_at_head())) {
                        lines.push(ChangedLine {
                            language: infer_language(&file_path).map(str::to_string),
                            file_path,
                            line_number: d.line_number,
                            change_type: d.change_type,
                            content: Some(d.content),
                            author_identity: None,
                            declared: None,
                            content_sha256: None,
                            attestation_signature: None,
                            attribution: Attribution::unknown(),
                        });
                    }
                }
                if lines.len() > limits.max_changed_lines {
                    return Err(too_many("max_changed_lines", "/diff", limits.max_changed_lines));
                }
            }
        }
    }

    let files = validate_files(&mut errors, req.files.as_deref().unwrap_or_default(), limits)?;
    let sources = sources::validate_sources(&mut errors, req.attribution_sources.as_deref().unwrap_or_default());

    errors.into_result(())?;
    let (Some(repo), Some(pr_number), Some(base_sha), Some(head_sha)) = (repo, pr_number, base_sha, head_sha) else {
        unreachable!("every missing required field was reported as an error above")
    };
    sources::attribute(&mut lines, &sources, head_sha.as_str(), identities);
    Ok(NewAnalysis {
        id: AnalysisId::generate(),
        tenant_id: tenant.clone(),
        repo,
        pr_number,
        base_sha,
        head_sha,
        branch: req.branch,
        lines,
        files,
        report_mode,
        metadata: req.metadata.unwrap_or_default(),
        inputs_sha256,
        created_at: now,
    })
}

fn too_many(limit: &'static str, pointer: &str, max: usize) -> IngestError {
    IngestError::TooLarge { limit, error: FieldError::new(pointer, format!("more than {max} entries ({limit})")) }
}

fn required<T>(
    errors: &mut ValidationErrors,
    pointer: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    match value {
        None => {
            errors.push(pointer, "is required");
            None
        }
        Some(v) => parse(v).map_err(|why| errors.push(pointer, why)).ok(),
    }
}

/// Validate one wire line, recording every problem under `at`.
fn validate_line(
    errors: &mut ValidationErrors,
    at: &str,
    wire: &WireChangedLine,
    limits: &IngestLimits,
) -> Option<ChangedLine> {
    let before = errors.0.len();
    let file_path = required(errors, &format!("{at}/file_path"), wire.file_path.as_deref(), RepoPath::parse);
    match wire.line_number {
        None => errors.push(format!("{at}/line_number"), "is required"),
        Some(n) if !(1..=i64::from(u32::MAX)).contains(&n) => {
            errors.push(format!("{at}/line_number"), "must be a positive integer (1-based)")
        }
        Some(_) => {}
    }
    match wire.change_type.as_deref() {
        None => errors.push(format!("{at}/change_type"), "is required"),
        Some(c) if parse_change_type(c).is_none() => {
            errors.push(format!("{at}/change_type"), "must be one of added, modified, deleted")
        }
        Some(_) => {}
    }
    if let Some(c) = &wire.content
        && c.len() > limits.max_line_bytes
    {
        errors
            .push(format!("{at}/content"), format!("is longer than {} bytes (max_line_bytes)", limits.max_line_bytes));
    }
    if let Some(h) = &wire.content_sha256
        && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        errors.push(format!("{at}/content_sha256"), "must be 64 hexadecimal characters");
    }
    if let Some(a) = &wire.attribution {
        if let Some(agent) = &a.agent_id
            && let Err(why) = AgentId::parse(agent)
        {
            errors.push(format!("{at}/attribution/agent_id"), why);
        }
        if let Some(c) = &a.contributor
            && parse_contributor(c).is_none()
        {
            errors.push(format!("{at}/attribution/contributor"), "must be one of ai, human, mixed, unknown");
        }
        if let Some(n) = a.commit_line
            && !(1..=i64::from(u32::MAX)).contains(&n)
        {
            errors.push(format!("{at}/attribution/commit_line"), "must be a positive integer (1-based)");
        }
    }
    if errors.0.len() != before {
        return None;
    }
    build_line(file_path?, wire)
}

/// Build the domain line from a wire line already checked by [`validate_line`].
fn build_line(file_path: RepoPath, wire: &WireChangedLine) -> Option<ChangedLine> {
    let line_number = u32::try_from(wire.line_number?).ok().filter(|n| *n > 0)?;
    let change_type = parse_change_type(wire.change_type.as_deref()?)?;
    let declared = wire.attribution.as_ref().map(|a| DeclaredAttribution {
        contributor: a.contributor.as_deref().and_then(parse_contributor),
        agent_id: a.agent_id.as_deref().and_then(|s| AgentId::parse(s).ok()),
        agent_version: a.agent_version.clone(),
        model_id: a.model_id.clone(),
        session_id: a.session_id.clone().or_else(|| a.agent_session_id.clone()),
        commit_sha: a.commit_sha.clone(),
        commit_line: a.commit_line.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0),
        provenance_marker: a.provenance_marker.clone(),
    });
    let language = match wire.language.as_deref() {
        Some(l) if !l.trim().is_empty() => Some(normalise_language(l)),
        _ => infer_language(&file_path).map(str::to_string),
    };
    let mut line = ChangedLine {
        file_path,
        line_number,
        change_type,
        content: wire.content.clone(),
        language,
        author_identity: wire.author_identity.clone(),
        declared,
        content_sha256: wire.content_sha256.as_ref().map(|h| h.to_ascii_lowercase()),
        attestation_signature: wire.attestation_signature.clone(),
        attribution: Attribution::unknown(),
    };
    // What the line itself declares shows from the start; the worker resolves it again with
    // every source it has, and rewrites only lines whose attribution that changes.
    line.attribution = resolve_attribution(&line);
    Some(line)
}

fn validate_files(
    errors: &mut ValidationErrors,
    wire: &[WireFile],
    limits: &IngestLimits,
) -> Result<Vec<FileContent>, IngestError> {
    if wire.len() > limits.max_files {
        return Err(too_many("max_files", "/files", limits.max_files));
    }
    let mut files = Vec::with_capacity(wire.len());
    let mut seen = HashSet::new();
    for (i, f) in wire.iter().enumerate() {
        let at = format!("/files/{i}");
        let path = required(errors, &format!("{at}/path"), f.path.as_deref(), RepoPath::parse);
        let Some(content) = &f.content else {
            errors.push(format!("{at}/content"), "is required");
            continue;
        };
        if content.len() > limits.max_file_bytes {
            errors.push(
                format!("{at}/content"),
                format!("is larger than {} bytes (max_file_bytes)", limits.max_file_bytes),
            );
            continue;
        }
        if let Some(path) = path {
            if !seen.insert(path.clone()) {
                errors.push(format!("{at}/path"), "duplicates an earlier file");
                continue;
            }
            files.push(FileContent { path, content: content.clone() });
        }
    }
    Ok(files)
}

fn parse_change_type(s: &str) -> Option<ChangeType> {
    match s {
        "added" => Some(ChangeType::Added),
        "modified" => Some(ChangeType::Modified),
        "deleted" => Some(ChangeType::Deleted),
        _ => None,
    }
}

fn parse_contributor(s: &str) -> Option<Contributor> {
    match s {
        "ai" => Some(Contributor::Ai),
        "human" => Some(Contributor::Human),
        "mixed" => Some(Contributor::Mixed),
        "unknown" => Some(Contributor::Unknown),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCEPTANCE: &str = r#"{"repo":"acme/shop","pr_number":"42","base_sha":"abc123","head_sha":"def456","provenance_data":{"changed_lines":[{"file_path":"api/orders.py","line_number":128,"change_type":"added","content":"query = f\"SELECT * FROM orders WHERE id = {order_id}\"","language":"python","attribution":{"agent_id":"claude-3-opus"}}]}}"#;

    fn parse(body: &str) -> Result<NewAnalysis, IngestError> {
        parse_submission(body.as_bytes(), &IngestLimits::default(), &TenantId::generate(), Utc::now())
    }

    fn invalid_pointers(body: &str) -> Vec<String> {
        match parse(body) {
            Err(IngestError::Invalid(e)) => e.0.into_iter().map(|f| f.pointer).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn the_legacy_payload_is_accepted_with_string_pr_number_and_short_shas() {
        let a = parse(ACCEPTANCE).unwrap();
        assert_eq!(a.repo.as_str(), "acme/shop");
        assert_eq!(a.pr_number, 42);
        assert_eq!(a.head_sha.as_str(), "def456");
        assert_eq!(a.lines.len(), 1);
        let l = &a.lines[0];
        assert_eq!((l.file_path.as_str(), l.line_number, l.change_type), ("api/orders.py", 128, ChangeType::Added));
        assert_eq!(l.declared.as_ref().unwrap().agent_id.as_ref().unwrap().as_str(), "claude-3-opus");
        assert_eq!(a.inputs_sha256.len(), 64);
    }

    #[test]
    fn a_line_carries_its_declared_attribution_from_the_start() {
        let new = parse(ACCEPTANCE).unwrap();
        let a = &new.lines[0].attribution;
        assert_eq!(a.contributor, Contributor::Ai);
        assert_eq!(a.agent_id.as_ref().map(AgentId::as_str), Some("claude-3-opus"));
        assert_eq!(a, &resolve_attribution(&new.lines[0]));
    }

    #[test]
    fn the_same_document_with_other_key_order_has_the_same_inputs_digest() {
        let reordered = r#"{"provenance_data":{"changed_lines":[{"line_number":128,"file_path":"api/orders.py","change_type":"added","content":"query = f\"SELECT * FROM orders WHERE id = {order_id}\"","language":"python","attribution":{"agent_id":"claude-3-opus"}}]},"head_sha":"def456","base_sha":"abc123","pr_number":"42","repo":"acme/shop"}"#;
        assert_eq!(parse(ACCEPTANCE).unwrap().inputs_sha256, parse(reordered).unwrap().inputs_sha256);
    }

    #[test]
    fn a_path_escaping_the_repository_is_rejected_at_its_pointer() {
        let body = ACCEPTANCE.replace("api/orders.py", "../etc/passwd");
        assert_eq!(invalid_pointers(&body), vec!["/provenance_data/changed_lines/0/file_path"]);
    }

    #[test]
    fn a_missing_repo_is_named() {
        let body = ACCEPTANCE.replace(r#""repo":"acme/shop","#, "");
        assert_eq!(invalid_pointers(&body), vec!["/repo"]);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let body = r#"{"repo":"nope","pr_number":0,"base_sha":"zz","head_sha":"def456","provenance_data":{"changed_lines":[{"file_path":"/abs","line_number":0,"change_type":"renamed"}]}}"#;
        let ptrs = invalid_pointers(body);
        for p in [
            "/repo",
            "/pr_number",
            "/base_sha",
            "/provenance_data/changed_lines/0/file_path",
            "/provenance_data/changed_lines/0/line_number",
            "/provenance_data/changed_lines/0/change_type",
        ] {
            assert!(ptrs.contains(&p.to_string()), "{p} missing from {ptrs:?}");
        }
    }

    #[test]
    fn a_wrong_type_is_malformed_and_names_the_field() {
        let body = ACCEPTANCE.replace(r#""line_number":128"#, r#""line_number":"128""#);
        match parse(&body) {
            Err(IngestError::Malformed(f)) => assert_eq!(f.pointer, "/provenance_data/changed_lines/0/line_number"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_body_over_the_limit_is_too_large() {
        let limits = IngestLimits { max_body_bytes: 100, ..Default::default() };
        let r = parse_submission(ACCEPTANCE.as_bytes(), &limits, &TenantId::generate(), Utc::now());
        assert!(matches!(r, Err(IngestError::TooLarge { limit: "max_body_bytes", .. })));
    }

    #[test]
    fn too_many_changed_lines_name_the_limit() {
        let limits = IngestLimits { max_changed_lines: 0, ..Default::default() };
        let r = parse_submission(ACCEPTANCE.as_bytes(), &limits, &TenantId::generate(), Utc::now());
        assert!(matches!(r, Err(IngestError::TooLarge { limit: "max_changed_lines", .. })));
    }

    #[test]
    fn a_line_longer_than_the_limit_is_rejected() {
        let long = "x".repeat(9000);
        let body = ACCEPTANCE.replace("query = f", &format!("{long} f"));
        assert_eq!(invalid_pointers(&body), vec!["/provenance_data/changed_lines/0/content"]);
    }

    #[test]
    fn without_lines_or_diff_the_request_says_what_is_missing() {
        let body = r#"{"repo":"acme/shop","pr_number":1,"base_sha":"abcd","head_sha":"def456"}"#;
        assert_eq!(invalid_pointers(body), vec!["/provenance_data/changed_lines"]);
    }

    #[test]
    fn a_unified_diff_becomes_changed_lines_with_inferred_language() {
        let diff = "diff --git a/app/db.py b/app/db.py\n--- a/app/db.py\n+++ b/app/db.py\n@@ -1,2 +1,3 @@\n import db\n-x = 1\n+x = 2\n+q = f\"SELECT * FROM t WHERE id = {i}\"\n";
        let body =
            serde_json::json!({"repo":"acme/shop","pr_number":7,"base_sha":"abcd","head_sha":"beef","diff":diff});
        let a = parse(&body.to_string()).unwrap();
        let got: Vec<_> = a.lines.iter().map(|l| (l.line_number, l.change_type, l.language.as_deref())).collect();
        assert_eq!(got, vec![(2, ChangeType::Modified, Some("python")), (3, ChangeType::Added, Some("python"))]);
    }

    #[test]
    fn a_diff_touching_a_path_outside_the_repository_is_rejected() {
        let diff = "--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n";
        let body =
            serde_json::json!({"repo":"acme/shop","pr_number":7,"base_sha":"abcd","head_sha":"beef","diff":diff});
        assert_eq!(invalid_pointers(&body.to_string()), vec!["/diff"]);
    }

    #[test]
    fn a_nul_character_anywhere_is_rejected_at_its_pointer() {
        let body = ACCEPTANCE.replace("order_id}", "order_id}\\u0000");
        assert_eq!(invalid_pointers(&body), vec!["/provenance_data/changed_lines/0/content"]);
        let body = ACCEPTANCE.replace(r#""repo":"acme/shop","#, r#""repo":"acme/shop","metadata":{"k":"a\u0000"},"#);
        assert_eq!(invalid_pointers(&body), vec!["/metadata/k"]);
    }

    #[test]
    fn duplicate_lines_are_rejected() {
        let line = r#"{"file_path":"a.py","line_number":1,"change_type":"added","content":"x"}"#;
        let body = format!(
            r#"{{"repo":"acme/shop","pr_number":1,"base_sha":"abcd","head_sha":"beef","provenance_data":{{"changed_lines":[{line},{line}]}}}}"#
        );
        assert_eq!(invalid_pointers(&body), vec!["/provenance_data/changed_lines/1"]);
    }
}
