//! Field-level validation errors: every rejected input names the JSON pointer of the field that
//! is wrong, so REST (problem+json `errors[]`) and gRPC can report it the same way.

use serde::Serialize;

/// One invalid field: `pointer` is an RFC 6901 JSON pointer into the submitted document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub pointer: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), detail: detail.into() }
    }
}

/// All the field errors found in one input; validation collects them rather than stopping at the
/// first, so a client can fix its payload in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{} invalid field(s): {}", .0.len(), summary(.0))]
pub struct ValidationErrors(pub Vec<FieldError>);

fn summary(errors: &[FieldError]) -> String {
    errors.iter().take(3).map(|e| format!("{}: {}", e.pointer, e.detail)).collect::<Vec<_>>().join("; ")
}

impl ValidationErrors {
    pub fn push(&mut self, pointer: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError::new(pointer, detail));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn single(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self(vec![FieldError::new(pointer, detail)])
    }
    /// `Ok(value)` when nothing was collected.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }
}

/// Escape one reference token for a JSON pointer (RFC 6901 §4).
pub fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer of the place a `serde_path_to_error` error points at (`/paths/1/match/0`).
pub fn pointer_from_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", pointer_token(key))),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// Longest accepted free-text reason (suppressions, overrides), in characters.
pub const MAX_REASON_CHARS: usize = 2_000;

/// A required free-text reason, trimmed: records an error at `pointer` (with `hint` saying what
/// it is for) when it is missing, blank or longer than [`MAX_REASON_CHARS`].
pub fn required_reason(errors: &mut ValidationErrors, pointer: &str, value: Option<&str>, hint: &str) -> String {
    let reason = value.map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        errors.push(pointer, format!("is required: {hint}"));
    } else if reason.chars().count() > MAX_REASON_CHARS {
        errors.push(pointer, format!("is longer than {MAX_REASON_CHARS} characters"));
    }
    reason.to_string()
}
