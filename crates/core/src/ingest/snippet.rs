//! The body of `POST /v1/detect` (SPEC §4): one snippet or file to run the detectors on
//! synchronously, validated into the changed lines the detectors take.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{IngestError, path_to_pointer};
use crate::attribution::resolve_attribution;
use crate::language::normalise_language;
use crate::line::{ChangeType, ChangedLine, DeclaredAttribution};
use crate::names::RepoPath;
use crate::validation::{FieldError, ValidationErrors};

/// The most content one `POST /v1/detect` accepts, in bytes of UTF-8.
pub const MAX_DETECT_CONTENT_BYTES: usize = 1024 * 1024;

/// The most request body `POST /v1/detect` reads: the content once JSON-escaped, with room.
pub const MAX_DETECT_BODY_BYTES: usize = 8 * MAX_DETECT_CONTENT_BYTES;

/// `POST /v1/detect`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectRequest {
    /// The file's path in its repository (`src/app.py`): it picks the language and names the
    /// findings.
    pub path: String,
    /// The snippet or whole file, UTF-8, at most 1 MiB.
    pub content: String,
    /// The language, when the path does not tell (`python`, `ts`, `golang`, …).
    #[serde(default)]
    pub language: Option<String>,
    /// The line number of the content's first line in the file (default 1), for a snippet cut
    /// from a larger file: findings are numbered from it.
    #[serde(default)]
    pub first_line: Option<u32>,
    /// Report only findings that touch these line numbers (as numbered from `first_line`);
    /// absent: every finding in the content.
    #[serde(default)]
    pub changed_lines: Option<Vec<u32>>,
    /// Who wrote the content, as the caller declares it: the authorship signal the response
    /// resolves and attaches to every finding.
    #[serde(default)]
    pub declared: Option<DeclaredAttribution>,
}

/// A validated `POST /v1/detect`: the content as lines for the detectors, and the lines to report.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectSubmission {
    pub path: RepoPath,
    pub lines: Vec<ChangedLine>,
    /// `None`: report everything.
    pub changed_lines: Option<BTreeSet<u32>>,
}

/// Parse and validate a `POST /v1/detect` body.
pub fn parse_detect_request(body: &[u8]) -> Result<DetectSubmission, IngestError> {
    validate_detect_request(read_detect_request(body)?)
}

/// Read a `POST /v1/detect` body as JSON, not yet validated: malformed JSON, a field of the wrong
/// type or a body over [`MAX_DETECT_BODY_BYTES`] are refused here.
pub fn read_detect_request(body: &[u8]) -> Result<DetectRequest, IngestError> {
    if body.len() > MAX_DETECT_BODY_BYTES {
        return Err(IngestError::TooLarge {
            limit: "max_detect_body_bytes",
            error: FieldError::new("", format!("request body is larger than {MAX_DETECT_BODY_BYTES} bytes")),
        });
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let request: DetectRequest = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer = path_to_pointer(e.path());
        let detail = e.inner().to_string();
        if e.inner().is_syntax() || e.inner().is_eof() {
            IngestError::Malformed(FieldError::new("", format!("invalid JSON: {detail}")))
        } else {
            IngestError::Malformed(FieldError::new(pointer, detail))
        }
    })?;
    de.end().map_err(|e| IngestError::Malformed(FieldError::new("", format!("invalid JSON: {e}"))))?;
    Ok(request)
}

/// Validate a detection request, however it arrived (JSON or protobuf), into the lines the
/// detectors take. Every invalid field is named by its JSON pointer.
pub fn validate_detect_request(request: DetectRequest) -> Result<DetectSubmission, IngestError> {
    if request.content.len() > MAX_DETECT_CONTENT_BYTES {
        return Err(IngestError::TooLarge {
            limit: "max_detect_content_bytes",
            error: FieldError::new(
                "/content",
                format!("is {} bytes; the limit is {MAX_DETECT_CONTENT_BYTES} (1 MiB)", request.content.len()),
            ),
        });
    }
    let mut errors = ValidationErrors::default();
    let path = RepoPath::parse(&request.path).map_err(|why| errors.push("/path", why)).ok();
    if request.content.contains('\0') {
        errors.push("/content", "must not contain NUL characters");
    }
    let language = request.language.as_deref().map(normalise_language);
    if language.as_deref() == Some("") {
        errors.push("/language", "must not be empty");
    }
    let first_line = request.first_line.unwrap_or(1);
    if first_line == 0 {
        errors.push("/first_line", "line numbers start at 1");
    }
    if let Some(changed) = &request.changed_lines {
        for (index, &n) in changed.iter().enumerate() {
            if n == 0 {
                errors.push(format!("/changed_lines/{index}"), "line numbers start at 1");
            }
        }
    }
    errors.into_result(()).map_err(IngestError::Invalid)?;
    let Some(path) = path else { return Err(IngestError::Invalid(ValidationErrors::single("/path", "is invalid"))) };

    let declared = request.declared.filter(|d| !d.is_empty());
    let mut lines = Vec::new();
    for (offset, text) in request.content.lines().enumerate() {
        let line_number = u32::try_from(offset).ok().and_then(|o| first_line.checked_add(o));
        let Some(line_number) = line_number else {
            return Err(IngestError::Invalid(ValidationErrors::single(
                "/first_line",
                "the content runs past line 2^32",
            )));
        };
        let mut line = ChangedLine {
            file_path: path.clone(),
            line_number,
            change_type: ChangeType::Added,
            content: Some(text.to_string()),
            language: language.clone(),
            author_identity: None,
            declared: declared.clone(),
            content_sha256: None,
            attestation_signature: None,
            attribution: Default::default(),
        };
        line.attribution = resolve_attribution(&line);
        lines.push(line);
    }
    let changed_lines = request.changed_lines.map(|c| c.into_iter().collect());
    Ok(DetectSubmission { path, lines, changed_lines })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::Contributor;

    fn parse(json: &str) -> Result<DetectSubmission, IngestError> {
        parse_detect_request(json.as_bytes())
    }

    fn invalid_pointers(e: IngestError) -> Vec<String> {
        match e {
            IngestError::Invalid(v) => v.0.into_iter().map(|f| f.pointer).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn content_becomes_numbered_lines_with_the_declared_author() {
        let s = parse(
            r#"{"path":"app/x.py","content":"a = 1\nb = eval(x)\n","first_line":10,"changed_lines":[11],"declared":{"agent_id":"claude-code"}}"#,
        )
        .unwrap();
        assert_eq!(s.lines.len(), 2);
        assert_eq!((s.lines[0].line_number, s.lines[1].line_number), (10, 11));
        assert_eq!(s.lines[1].attribution.contributor, Contributor::Ai);
        assert_eq!(s.changed_lines, Some([11].into()));
    }

    #[test]
    fn bad_fields_are_named() {
        let e = parse(r#"{"path":"../etc/passwd","content":"x","first_line":0,"changed_lines":[3,0]}"#).unwrap_err();
        assert_eq!(invalid_pointers(e), vec!["/path", "/first_line", "/changed_lines/1"]);
        let e = parse(r#"{"path":"a.py","content":7}"#).unwrap_err();
        assert!(matches!(e, IngestError::Malformed(f) if f.pointer == "/content"));
        let e = parse(r#"{"path":"a.py","content":"x","colour":"red"}"#).unwrap_err();
        assert!(matches!(e, IngestError::Malformed(f) if f.detail.contains("colour")));
        assert!(matches!(parse("{nope"), Err(IngestError::Malformed(f)) if f.pointer.is_empty()));
    }

    #[test]
    fn content_over_one_mebibyte_is_too_large() {
        let body = serde_json::json!({"path": "a.py", "content": "x".repeat(MAX_DETECT_CONTENT_BYTES + 1)});
        let e = parse(&body.to_string()).unwrap_err();
        assert!(matches!(e, IngestError::TooLarge { error, .. } if error.pointer == "/content"));
    }
}
