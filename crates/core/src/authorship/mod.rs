//! Authorship documents that travel with a change (SPEC §2–3): git-ai notes and Agent Trace
//! records, parsed into per-line claims.
//!
//! Both parsers are pure and total: any input gives claims or a [`FormatError`] saying where the
//! document is wrong, never a panic. A document may name at most [`MAX_RANGES`] line ranges.
//! Claims come in document order; where two claims of one document cover the same line, the
//! later one is the document's last word (git-ai resolves a line through its entries from the
//! last one back).

pub mod agent_trace;
pub mod git_ai;

use serde_json::{Map, Value};

use crate::attribution::{Attribution, AttributionSource, Contributor};
use crate::identity::KNOWN_AGENTS;
use crate::names::AgentId;
use crate::validation::pointer_token;

/// What one document says about a run of lines of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct LineClaim {
    /// Repository-relative path as the document spells it (not validated here).
    pub path: String,
    /// First and last line, 1-based, inclusive (first <= last).
    pub first_line: u32,
    pub last_line: u32,
    /// Who wrote those lines: contributor, agent_id, model_id, session_id, source, confidence (flags empty).
    pub attribution: Attribution,
}

/// Why a document was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct FormatError {
    /// Where in the document: `line 3` for the text of a git-ai note, `metadata/prompts/<hash>`
    /// for its JSON metadata, a JSON pointer such as `/files/0/conversations/1/ranges/0` for an
    /// Agent Trace record (the record itself is `/`).
    pub pointer: String,
    pub message: String,
}

impl FormatError {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { pointer: pointer.into(), message: message.into() }
    }
}

/// The most line ranges one document may name; more is rejected rather than worked through.
pub const MAX_RANGES: usize = 100_000;

/// Tool names as authorship documents spell them (lower-cased), and the agent id each stands
/// for: git-ai's `agent_id.tool` values and Agent Trace's `tool.name`. Every agent id here is one
/// of [`KNOWN_AGENTS`]. A name not listed is looked up among the known agents' ids and names, then
/// kept as it is (lower-cased) if it is a valid agent id.
const TOOL_AGENT_IDS: &[(&str, &str)] = &[
    ("claude", "claude-code"),
    ("claude-code", "claude-code"),
    ("claude-web", "claude-code"),
    ("cursor", "cursor"),
    ("cursor-agent", "cursor"),
    ("copilot", "github-copilot"),
    ("github-copilot", "github-copilot"),
    ("github-copilot-agent", "github-copilot"),
    ("codex", "openai-codex"),
    ("codex-cloud", "openai-codex"),
    ("openai-codex", "openai-codex"),
    ("gemini", "gemini"),
    ("gemini-cli", "gemini"),
    ("windsurf", "windsurf"),
    ("cascade", "windsurf"),
    ("amazon-q", "amazon-q"),
    ("amazon-q-developer", "amazon-q"),
    ("devin", "devin"),
    ("aider", "aider"),
    ("cline", "cline"),
];

/// Our agent id for a document's tool name; `None` for an empty or `unknown` tool, or a name
/// that is not a valid agent id.
pub fn agent_for_tool(tool: &str) -> Option<AgentId> {
    let name = tool.trim().to_ascii_lowercase();
    if name.is_empty() || name == "unknown" {
        return None;
    }
    let known = TOOL_AGENT_IDS.iter().find(|(t, _)| *t == name).map(|(_, id)| *id).or_else(|| {
        KNOWN_AGENTS.iter().find(|a| a.agent_id == name || a.names.contains(&name.as_str())).map(|a| a.agent_id)
    });
    AgentId::parse(known.unwrap_or(&name)).ok()
}

/// A model id as the document gives it; an empty or `unknown` model (git-ai writes `unknown`
/// when the tool did not say) is no model.
fn model_id(model: Option<&str>) -> Option<String> {
    model.filter(|m| !m.trim().is_empty() && !m.trim().eq_ignore_ascii_case("unknown")).map(str::to_string)
}

/// One claim. A human keeps no agent and no model, whatever the document says next to it.
fn claim(
    path: &str,
    (first_line, last_line): (u32, u32),
    contributor: Contributor,
    agent_id: Option<AgentId>,
    model_id: Option<String>,
    session_id: Option<String>,
    source: AttributionSource,
) -> LineClaim {
    let human = contributor == Contributor::Human;
    LineClaim {
        path: path.to_string(),
        first_line,
        last_line,
        attribution: Attribution {
            contributor,
            agent_id: if human { None } else { agent_id },
            model_id: if human { None } else { model_id },
            session_id,
            source,
            confidence: source.confidence(),
            flags: Vec::new(),
        },
    }
}

/// Counts the ranges of one document against [`MAX_RANGES`].
#[derive(Debug, Default)]
struct RangeBudget(usize);

impl RangeBudget {
    fn take(&mut self, pointer: impl FnOnce() -> String) -> Result<(), FormatError> {
        self.0 += 1;
        if self.0 > MAX_RANGES {
            return Err(FormatError::new(pointer(), format!("more than {MAX_RANGES} line ranges in one document")));
        }
        Ok(())
    }
}

/// A first/last line pair checked the same way for both formats.
fn line_range(first: u64, last: u64) -> Result<(u32, u32), String> {
    let line = |n: u64| match u32::try_from(n) {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("line number {n} is out of range (1 to {})", u32::MAX)),
    };
    let (first, last) = (line(first)?, line(last)?);
    if last < first {
        return Err(format!("range ends at line {last}, before it starts at line {first}"));
    }
    Ok((first, last))
}

/// JSON pointer helpers: `child("/files", "0")` is `/files/0`, with `~` and `/` escaped.
fn child(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", pointer_token(token))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn as_object<'a>(v: &'a Value, pointer: &str) -> Result<&'a Map<String, Value>, FormatError> {
    v.as_object().ok_or_else(|| FormatError::new(pointer, format!("must be an object, not {}", type_name(v))))
}

fn as_array<'a>(v: &'a Value, pointer: &str) -> Result<&'a Vec<Value>, FormatError> {
    v.as_array().ok_or_else(|| FormatError::new(pointer, format!("must be an array, not {}", type_name(v))))
}

fn as_str<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, FormatError> {
    v.as_str().ok_or_else(|| FormatError::new(pointer, format!("must be a string, not {}", type_name(v))))
}

/// A required member of an object.
fn required<'a>(map: &'a Map<String, Value>, pointer: &str, key: &str) -> Result<&'a Value, FormatError> {
    map.get(key).ok_or_else(|| FormatError::new(child(pointer, key), "is required"))
}

/// An optional string member; `null_ok` also lets it be `null` (read as absent).
fn optional_str<'a>(
    map: &'a Map<String, Value>,
    pointer: &str,
    key: &str,
    null_ok: bool,
) -> Result<Option<&'a str>, FormatError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Null) if null_ok => Ok(None),
        Some(v) => as_str(v, &child(pointer, key)).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_tool_names_a_known_agent() {
        for (tool, id) in TOOL_AGENT_IDS {
            assert!(KNOWN_AGENTS.iter().any(|a| a.agent_id == *id), "{tool} maps to unknown agent {id}");
            assert_eq!(*tool, tool.to_ascii_lowercase());
        }
    }

    #[test]
    fn tool_names_map_to_our_agent_ids() {
        let id = |t: &str| agent_for_tool(t).map(|a| a.to_string());
        assert_eq!(id("claude").as_deref(), Some("claude-code"));
        assert_eq!(id("Cursor").as_deref(), Some("cursor"));
        assert_eq!(id("copilot").as_deref(), Some("github-copilot"));
        assert_eq!(id("github-copilot").as_deref(), Some("github-copilot"));
        assert_eq!(id("codex").as_deref(), Some("openai-codex"));
        assert_eq!(id("gemini").as_deref(), Some("gemini"));
        assert_eq!(id("windsurf").as_deref(), Some("windsurf"));
        // Known agents' own names, then the tool name itself.
        assert_eq!(id("Gemini Code Assist").as_deref(), Some("gemini"));
        assert_eq!(id("OpenCode").as_deref(), Some("opencode"));
        assert_eq!(id("unknown"), None);
        assert_eq!(id(""), None);
        assert_eq!(id("my tool"), None);
    }

    #[test]
    fn unknown_and_empty_models_are_no_model() {
        assert_eq!(model_id(Some("unknown")), None);
        assert_eq!(model_id(Some(" ")), None);
        assert_eq!(model_id(Some("anthropic/claude-opus-4-5")).as_deref(), Some("anthropic/claude-opus-4-5"));
        assert_eq!(model_id(Some("claude-sonnet-4-5")).as_deref(), Some("claude-sonnet-4-5"));
    }

    #[test]
    fn line_ranges_are_one_based_ordered_and_fit_u32() {
        assert_eq!(line_range(1, 1), Ok((1, 1)));
        assert!(line_range(0, 3).is_err());
        assert!(line_range(5, 4).is_err());
        assert!(line_range(1, u64::from(u32::MAX) + 1).is_err());
        assert_eq!(line_range(7, u64::from(u32::MAX)), Ok((7, u32::MAX)));
    }

    #[test]
    fn pointers_escape_tilde_and_slash() {
        assert_eq!(child("/prompts", "a/b~c"), "/prompts/a~1b~0c");
    }
}
