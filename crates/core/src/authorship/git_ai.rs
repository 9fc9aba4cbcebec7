//! git-ai authorship notes (`refs/notes/ai`, one per commit): the Git AI Standard v3.0.0, schema
//! `authorship/3.0.0` (any `authorship/3.x` is read).
//!
//! A note is an attestation section, a line `---`, then a JSON metadata object:
//!
//! ```text
//! src/main.rs
//!   abcd1234abcd1234 1-10,15-20
//! "src/my file.rs"
//!   s_c9883b05a2487d::t_9f8e7d6c5b4a32 3
//!   h_31dce776f88375 42-50
//! ---
//! {"schema_version": "authorship/3.0.0", "base_commit_sha": "…", "prompts": {…}, "sessions": {…}, "humans": {…}}
//! ```
//!
//! A file path starts a line (quoted with `"` when it holds whitespace); each entry under it is
//! indented by exactly two spaces and is `<key> <ranges>`, ranges being comma-separated `N` or
//! `N-M`. A key is routed as git-ai routes it:
//! - 16 hex characters (7 in legacy notes): a prompt, looked up in `prompts`;
//! - `s_<hex>` or `s_<hex>::t_<hex>` (git-ai ≥ 1.4 "sessions"): a session, looked up in
//!   `sessions` by the part before `::`;
//! - `h_<hex>` (optionally `::t_<hex>`): a known human, listed in `humans`.
//!
//! Prompts and sessions carry `agent_id {tool, id, model}`: the tool gives the agent id, the
//! model the model id, `id` the session id (the key itself when `id` is empty). A prompt or
//! session key the metadata does not define still marks the lines as AI-written, with no agent:
//! the attestation section only ever lists AI lines and known humans, and git-ai itself looks such
//! keys up in other commits' notes (after cherry-picks and rebases) rather than treat the note as
//! broken. A human key gives human lines, never an agent.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{
    FormatError, LineClaim, RangeBudget, agent_for_tool, as_array, as_object, as_str, child, claim, line_range,
    model_id, optional_str, required,
};
use crate::attribution::{AttributionSource, Contributor};
use crate::names::AgentId;

/// The line between the attestation section and the metadata.
const DIVIDER: &str = "---";

/// The schema major version this parser reads.
const SCHEMA_MAJOR: &str = "3";

/// Parse one authorship note into claims, in the note's order.
pub fn parse_note(text: &str) -> Result<Vec<LineClaim>, FormatError> {
    let lines: Vec<&str> = text.lines().collect();
    let divider = lines.iter().position(|l| *l == DIVIDER).ok_or_else(|| {
        FormatError::new("end of note", "no `---` line: a git-ai note is attestations, `---`, then JSON metadata")
    })?;
    let files = attestations(&lines[..divider])?;
    let metadata = metadata(&lines[divider + 1..], divider + 1)?;
    let mut claims = Vec::new();
    for file in &files {
        for entry in &file.entries {
            let who = metadata.author(&entry.key);
            for &range in &entry.ranges {
                claims.push(claim(
                    &file.path,
                    range,
                    who.contributor,
                    who.agent_id.clone(),
                    who.model_id.clone(),
                    who.session_id.clone(),
                    AttributionSource::GitAiNote,
                ));
            }
        }
    }
    Ok(claims)
}

/// What an attestation key points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key<'a> {
    /// A `prompts` key (16 hex, or 7 in legacy notes).
    Prompt(&'a str),
    /// A `sessions` key (`s_<hex>`, the trace part dropped).
    Session(&'a str),
    /// A `humans` key (`h_<hex>`, the trace part dropped).
    Human(&'a str),
}

#[derive(Debug)]
struct Entry<'a> {
    key: Key<'a>,
    ranges: Vec<(u32, u32)>,
}

#[derive(Debug)]
struct File<'a> {
    path: String,
    entries: Vec<Entry<'a>>,
}

/// At most this much of a document's text is echoed in an error.
fn excerpt(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() > MAX { format!("{}…", s.chars().take(MAX).collect::<String>()) } else { s.to_string() }
}

fn attestations<'a>(lines: &[&'a str]) -> Result<Vec<File<'a>>, FormatError> {
    let mut files: Vec<File<'a>> = Vec::new();
    let mut budget = RangeBudget::default();
    for (i, raw) in lines.iter().enumerate() {
        let at = || format!("line {}", i + 1);
        let err = |message: String| FormatError::new(at(), message);
        // Trailing whitespace is not part of the format (a path ending in a space is quoted).
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        if let Some(entry) = line.strip_prefix("  ") {
            if entry.starts_with(char::is_whitespace) {
                return Err(err("attestation entries are indented with exactly two spaces".into()));
            }
            let file = files
                .last_mut()
                .ok_or_else(|| err("an attestation entry must come after the file path it is for".into()))?;
            let (hash, ranges) =
                entry.split_once(' ').ok_or_else(|| err("an attestation entry is `<hash> <line ranges>`".into()))?;
            let key = key(hash).map_err(err)?;
            let ranges = line_ranges(ranges, &mut budget, &at)?;
            file.entries.push(Entry { key, ranges });
        } else if line.starts_with(char::is_whitespace) {
            return Err(err("attestation entries are indented with exactly two spaces".into()));
        } else {
            files.push(File { path: path(line).map_err(err)?, entries: Vec::new() });
        }
    }
    Ok(files)
}

/// A file path line: the whole line, or what is between its double quotes.
fn path(line: &str) -> Result<String, String> {
    let Some(rest) = line.strip_prefix('"') else {
        return Ok(line.to_string());
    };
    let inner = rest.strip_suffix('"').ok_or_else(|| format!("quoted path {} has no closing `\"`", excerpt(line)))?;
    if inner.is_empty() {
        return Err("empty file path".into());
    }
    if inner.contains('"') {
        return Err(format!("quoted path {} contains a `\"`", excerpt(line)));
    }
    Ok(inner.to_string())
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn key(hash: &str) -> Result<Key<'_>, String> {
    for prefix in ["s_", "h_"] {
        let Some(rest) = hash.strip_prefix(prefix) else { continue };
        let (id, trace) = match rest.split_once("::") {
            Some((id, trace)) => (id, Some(trace)),
            None => (rest, None),
        };
        if !is_hex(id) || !trace.is_none_or(|t| t.strip_prefix("t_").is_some_and(is_hex)) {
            return Err(format!(
                "`{}` is not a git-ai key: `{prefix}<hex>`, optionally followed by `::t_<hex>`",
                excerpt(hash)
            ));
        }
        let lookup = &hash[..prefix.len() + id.len()];
        return Ok(if prefix == "s_" { Key::Session(lookup) } else { Key::Human(lookup) });
    }
    if (hash.len() == 16 || hash.len() == 7) && is_hex(hash) {
        return Ok(Key::Prompt(hash));
    }
    Err(format!(
        "`{}` is not a git-ai key: 16 hexadecimal characters (7 in legacy notes), `s_…` or `h_…`",
        excerpt(hash)
    ))
}

/// `1,2,19-222`: comma-separated lines and inclusive ranges, without spaces.
fn line_ranges(spec: &str, budget: &mut RangeBudget, at: &impl Fn() -> String) -> Result<Vec<(u32, u32)>, FormatError> {
    let err = |message: String| FormatError::new(at(), message);
    if spec.contains(char::is_whitespace) {
        return Err(err("line ranges must not contain spaces".into()));
    }
    let mut ranges = Vec::new();
    for part in spec.split(',') {
        budget.take(at)?;
        let number = |s: &str| -> Result<u64, String> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("`{}` is not a line number `N` or a range `N-M`", excerpt(part)));
            }
            s.parse::<u64>().map_err(|_| format!("line number {} is out of range (1 to {})", excerpt(s), u32::MAX))
        };
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        ranges.push(line_range(number(first).map_err(err)?, number(last).map_err(err)?).map_err(err)?);
    }
    Ok(ranges)
}

/// Who a key stands for.
#[derive(Debug, Clone)]
struct Author {
    contributor: Contributor,
    agent_id: Option<AgentId>,
    model_id: Option<String>,
    session_id: Option<String>,
}

impl Author {
    fn ai_without_record(key: &str) -> Self {
        Self { contributor: Contributor::Ai, agent_id: None, model_id: None, session_id: Some(key.to_string()) }
    }

    fn human() -> Self {
        Self { contributor: Contributor::Human, agent_id: None, model_id: None, session_id: None }
    }
}

#[derive(Debug, Default)]
struct Metadata {
    prompts: HashMap<String, Author>,
    sessions: HashMap<String, Author>,
}

impl Metadata {
    fn author(&self, key: &Key<'_>) -> Author {
        match *key {
            Key::Prompt(k) => self.prompts.get(k).cloned().unwrap_or_else(|| Author::ai_without_record(k)),
            Key::Session(k) => self.sessions.get(k).cloned().unwrap_or_else(|| Author::ai_without_record(k)),
            Key::Human(_) => Author::human(),
        }
    }
}

const ROOT: &str = "metadata";

fn metadata(lines: &[&str], divider_line: usize) -> Result<Metadata, FormatError> {
    let json = lines.join("\n");
    if json.trim().is_empty() {
        return Err(FormatError::new(format!("line {}", divider_line + 1), "no JSON metadata after `---`"));
    }
    let value: Value = serde_json::from_str(&json).map_err(|e| {
        let text = e.to_string();
        let message = text.rsplit_once(" at line ").map_or(text.as_str(), |(m, _)| m);
        FormatError::new(
            format!("line {}", divider_line + e.line().max(1)),
            format!("metadata is not valid JSON (column {}): {message}", e.column()),
        )
    })?;
    let root = as_object(&value, ROOT)?;
    schema_version(as_str(required(root, ROOT, "schema_version")?, &child(ROOT, "schema_version"))?)?;
    as_str(required(root, ROOT, "base_commit_sha")?, &child(ROOT, "base_commit_sha"))?;
    optional_str(root, ROOT, "git_ai_version", true)?;
    let prompts = records(root, "prompts", true)?;
    let sessions = records(root, "sessions", false)?;
    if let Some(humans) = root.get("humans") {
        let at = child(ROOT, "humans");
        for (key, human) in as_object(humans, &at)? {
            let at = child(&at, key);
            optional_str(as_object(human, &at)?, &at, "author", true)?;
        }
    }
    Ok(Metadata { prompts, sessions })
}

/// `authorship/3.x.y`; another major is a format this parser does not know.
fn schema_version(version: &str) -> Result<(), FormatError> {
    let at = child(ROOT, "schema_version");
    let numeric = |v: &str| v.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    match version.strip_prefix("authorship/") {
        Some(v) if numeric(v) && v.split('.').next() == Some(SCHEMA_MAJOR) => Ok(()),
        Some(v) if numeric(v) => Err(FormatError::new(
            at,
            format!("unsupported schema version `{}`: only authorship/{SCHEMA_MAJOR}.x is read", excerpt(version)),
        )),
        _ => Err(FormatError::new(
            at,
            format!("`{}` is not a git-ai schema version (`authorship/{SCHEMA_MAJOR}.0.0`)", excerpt(version)),
        )),
    }
}

/// The `prompts` or `sessions` map: key → record with `agent_id {tool, id, model}`.
fn records(root: &Map<String, Value>, name: &str, is_required: bool) -> Result<HashMap<String, Author>, FormatError> {
    let at = child(ROOT, name);
    let map = match root.get(name) {
        Some(v) => as_object(v, &at)?,
        None if is_required => return Err(FormatError::new(at, "is required")),
        None => return Ok(HashMap::new()),
    };
    map.iter().map(|(key, record)| Ok((key.clone(), record_author(key, record, &child(&at, key))?))).collect()
}

fn record_author(key: &str, record: &Value, at: &str) -> Result<Author, FormatError> {
    let record = as_object(record, at)?;
    let agent_at = child(at, "agent_id");
    let agent = as_object(required(record, at, "agent_id")?, &agent_at)?;
    let tool = as_str(required(agent, &agent_at, "tool")?, &child(&agent_at, "tool"))?;
    let id = optional_str(agent, &agent_at, "id", false)?;
    let model = optional_str(agent, &agent_at, "model", true)?;
    optional_str(record, at, "human_author", true)?;
    optional_str(record, at, "messages_url", true)?;
    if let Some(messages) = record.get("messages") {
        as_array(messages, &child(at, "messages"))?;
    }
    // The standard's table spells it `overridden_lines`; git-ai writes `overriden_lines`.
    for count in ["total_additions", "total_deletions", "accepted_lines", "overridden_lines", "overriden_lines"] {
        if let Some(v) = record.get(count).filter(|v| !v.is_u64()) {
            return Err(FormatError::new(
                child(at, count),
                format!("must be a non-negative integer, not {}", super::type_name(v)),
            ));
        }
    }
    Ok(Author {
        contributor: Contributor::Ai,
        agent_id: agent_for_tool(tool),
        model_id: model_id(model),
        session_id: Some(id.filter(|id| !id.trim().is_empty()).unwrap_or(key).to_string()),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::authorship::MAX_RANGES;

    const META: &str = r#"{
  "schema_version": "authorship/3.0.0",
  "git_ai_version": "1.0.23",
  "base_commit_sha": "7734793b756b3921c88db5375a8c156e9532447b",
  "prompts": {
    "abcd1234abcd1234": {
      "agent_id": {"tool": "cursor", "id": "6ef2299e-a67f-432b-aa80-3d2fb4d28999", "model": "claude-4.5-opus"},
      "human_author": "Developer <dev@example.com>",
      "messages": [],
      "total_additions": 25, "total_deletions": 5, "accepted_lines": 20, "overriden_lines": 0
    }
  }
}"#;

    fn note(attestations: &str) -> String {
        format!("{attestations}---\n{META}")
    }

    fn err(text: &str) -> FormatError {
        parse_note(text).expect_err("should be rejected")
    }

    fn span(c: &LineClaim) -> (&str, u32, u32) {
        (c.path.as_str(), c.first_line, c.last_line)
    }

    #[test]
    fn reads_the_standard_example_with_its_prompt() {
        let claims = parse_note(&note("src/main.rs\n  abcd1234abcd1234 1-10,15-20,42\n")).unwrap();
        assert_eq!(
            claims.iter().map(span).collect::<Vec<_>>(),
            [("src/main.rs", 1, 10), ("src/main.rs", 15, 20), ("src/main.rs", 42, 42)]
        );
        let a = &claims[0].attribution;
        assert_eq!(a.contributor, Contributor::Ai);
        assert_eq!(a.agent_id.as_ref().map(AgentId::as_str), Some("cursor"));
        assert_eq!(a.model_id.as_deref(), Some("claude-4.5-opus"));
        assert_eq!(a.session_id.as_deref(), Some("6ef2299e-a67f-432b-aa80-3d2fb4d28999"));
        assert_eq!(a.source, AttributionSource::GitAiNote);
        assert_eq!(a.confidence, 0.9);
        assert!(a.flags.is_empty());
    }

    #[test]
    fn quoted_paths_lose_their_quotes_and_keep_their_spaces() {
        let claims = parse_note(&note("\"docs/my file.md\"\n  abcd1234abcd1234 3\n")).unwrap();
        assert_eq!(span(&claims[0]), ("docs/my file.md", 3, 3));
        assert_eq!(err(&note("\"docs/my file.md\n  abcd1234abcd1234 3\n")).pointer, "line 1");
        assert_eq!(err(&note("\"\"\n  abcd1234abcd1234 3\n")).pointer, "line 1");
        assert_eq!(err(&note("\"a\"b\"\n  abcd1234abcd1234 3\n")).pointer, "line 1");
    }

    #[test]
    fn legacy_seven_character_hashes_resolve_through_prompts() {
        let text = "a.py\n  1a2b3c4 5-6\n---\n{\"schema_version\":\"authorship/3.0.0\",\"base_commit_sha\":\"abc\",\
                    \"prompts\":{\"1a2b3c4\":{\"agent_id\":{\"tool\":\"claude\",\"id\":\"s-1\",\"model\":\"claude-sonnet-4-5\"},\
                    \"messages\":[],\"total_additions\":2,\"total_deletions\":0,\"accepted_lines\":2,\"overriden_lines\":1}}}";
        let claims = parse_note(text).unwrap();
        assert_eq!(span(&claims[0]), ("a.py", 5, 6));
        assert_eq!(claims[0].attribution.agent_id.as_ref().map(AgentId::as_str), Some("claude-code"));
        assert_eq!(claims[0].attribution.model_id.as_deref(), Some("claude-sonnet-4-5"));
    }

    #[test]
    fn both_spellings_of_overridden_lines_are_read_and_checked() {
        for spelling in ["overridden_lines", "overriden_lines"] {
            let meta = META.replace("\"overriden_lines\"", &format!("\"{spelling}\""));
            assert!(parse_note(&format!("a\n  abcd1234abcd1234 1\n---\n{meta}")).is_ok(), "{spelling}");
            let bad = meta.replace(&format!("\"{spelling}\": 0"), &format!("\"{spelling}\": -1"));
            let e = err(&format!("a\n  abcd1234abcd1234 1\n---\n{bad}"));
            assert_eq!(e.pointer, format!("metadata/prompts/abcd1234abcd1234/{spelling}"));
        }
    }

    #[test]
    fn other_schema_majors_are_rejected_by_name() {
        let v4 = META.replace("authorship/3.0.0", "authorship/4.0.0");
        let e = err(&format!("---\n{v4}"));
        assert_eq!(e.pointer, "metadata/schema_version");
        assert!(e.message.contains("unsupported schema version `authorship/4.0.0`"), "{e}");
        assert!(
            err(&format!("---\n{}", META.replace("authorship/3.0.0", "authorship/2.0.0"))).message.contains("2.0.0")
        );
        assert!(err(&format!("---\n{}", META.replace("authorship/3.0.0", "v3"))).message.contains("not a git-ai"));
        assert!(parse_note(&format!("---\n{}", META.replace("authorship/3.0.0", "authorship/3.1.2"))).is_ok());
    }

    #[test]
    fn a_note_without_the_divider_is_rejected() {
        let e = err("src/main.rs\n  abcd1234abcd1234 1-10\n");
        assert_eq!(e.pointer, "end of note");
        assert!(e.message.contains("---"));
        // The divider is exactly `---` on its own line.
        assert_eq!(err(&format!("a\n  abcd1234abcd1234 1\n --- \n{META}")).pointer, "end of note");
    }

    #[test]
    fn bad_ranges_are_rejected_with_their_line() {
        for bad in ["0", "3-2", "1-", "-4", "1--2", "1,,2", "4294967296", "99999999999999999999999", "1,2 ", "x"] {
            let text = note(&format!("a.rs\n  abcd1234abcd1234 1\nb.rs\n  abcd1234abcd1234 {bad}\n"));
            if bad == "1,2 " {
                assert!(parse_note(&text).is_ok(), "trailing whitespace is not part of the format");
                continue;
            }
            assert_eq!(err(&text).pointer, "line 4", "{bad:?}");
        }
        assert!(err(&note("a\n  abcd1234abcd1234 1, 2\n")).message.contains("spaces"));
        let max = parse_note(&note(&format!("a\n  abcd1234abcd1234 {}\n", u32::MAX))).unwrap();
        assert_eq!((max[0].first_line, max[0].last_line), (u32::MAX, u32::MAX));
    }

    #[test]
    fn entries_need_a_path_and_two_space_indentation() {
        assert!(err(&note("  abcd1234abcd1234 1\n")).message.contains("after the file path"));
        assert!(err(&note("a\n   abcd1234abcd1234 1\n")).message.contains("two spaces"));
        assert!(err(&note("a\n\tabcd1234abcd1234 1\n")).message.contains("two spaces"));
        assert!(err(&note("a\n  abcd1234abcd1234\n")).message.contains("<hash> <line ranges>"));
        assert!(err(&note("a\n  abcd1234abcd123 1\n")).message.contains("not a git-ai key"));
        assert!(err(&note("a\n  zzzz1234abcd1234 1\n")).message.contains("not a git-ai key"));
    }

    #[test]
    fn a_prompt_missing_from_the_metadata_is_still_ai_without_an_agent() {
        let claims = parse_note(&note("a\n  ffff0000ffff0000 7\n")).unwrap();
        let a = &claims[0].attribution;
        assert_eq!(a.contributor, Contributor::Ai);
        assert_eq!(a.agent_id, None);
        assert_eq!(a.model_id, None);
        assert_eq!(a.session_id.as_deref(), Some("ffff0000ffff0000"));
    }

    #[test]
    fn sessions_and_known_humans_are_routed_by_prefix() {
        let text = "src/lib.rs\n  s_c9883b05a2487d::t_9f8e7d6c5b4a32 1-2\n  h_31dce776f88375 3\n  s_0000000000000a 4\n---\n\
                    {\"schema_version\":\"authorship/3.0.0\",\"base_commit_sha\":\"abc\",\"prompts\":{},\
                    \"humans\":{\"h_31dce776f88375\":{\"author\":\"Ada <ada@example.com>\"}},\
                    \"sessions\":{\"s_c9883b05a2487d\":{\"agent_id\":{\"tool\":\"codex\",\"id\":\"sess-9\",\"model\":\"gpt-5\"},\
                    \"human_author\":\"Ada <ada@example.com>\"}}}";
        let claims = parse_note(text).unwrap();
        let a = |i: usize| &claims[i].attribution;
        assert_eq!(a(0).agent_id.as_ref().map(AgentId::as_str), Some("openai-codex"));
        assert_eq!(a(0).session_id.as_deref(), Some("sess-9"));
        assert_eq!(a(1).contributor, Contributor::Human);
        assert_eq!((a(1).agent_id.as_ref(), a(1).model_id.as_ref()), (None, None));
        assert_eq!(a(2).contributor, Contributor::Ai);
        assert_eq!(a(2).session_id.as_deref(), Some("s_0000000000000a"));
        assert!(err(&note("a\n  s_xyz 1\n")).message.contains("`s_<hex>`"));
        assert!(err(&note("a\n  s_abc::x_abc 1\n")).message.contains("t_"));
    }

    #[test]
    fn metadata_errors_point_into_the_json() {
        let e = err("a\n  abcd1234abcd1234 1\n---\n{\n  \"schema_version\": \"authorship/3.0.0\",\n  oops\n}");
        assert_eq!(e.pointer, "line 6");
        assert!(e.message.contains("not valid JSON"), "{e}");
        assert_eq!(err("---\n[]").pointer, "metadata");
        assert_eq!(err("---\n").message, "no JSON metadata after `---`");
        let e = err(&note("").replace("\"tool\": \"cursor\"", "\"tool\": 7"));
        assert_eq!(e.pointer, "metadata/prompts/abcd1234abcd1234/agent_id/tool");
        let e = err(&note("").replace("\"prompts\"", "\"prompz\""));
        assert_eq!(e.to_string(), "metadata/prompts: is required");
        let e = err(&note("").replace("\"base_commit_sha\"", "\"base\""));
        assert_eq!(e.pointer, "metadata/base_commit_sha");
    }

    #[test]
    fn crlf_notes_and_blank_lines_are_read() {
        let text = note("a.rs\r\n  abcd1234abcd1234 1-2\r\n\r\nb.rs\r\n  abcd1234abcd1234 9\r\n").replace('\n', "\r\n");
        let claims = parse_note(&text.replace("\r\r\n", "\r\n")).unwrap();
        assert_eq!(claims.iter().map(span).collect::<Vec<_>>(), [("a.rs", 1, 2), ("b.rs", 9, 9)]);
    }

    #[test]
    fn a_path_without_entries_claims_nothing() {
        assert!(parse_note(&note("a.rs\n")).unwrap().is_empty());
        assert!(parse_note(&format!("---\n{META}")).unwrap().is_empty());
    }

    #[test]
    fn more_than_the_range_budget_is_rejected() {
        let ranges = (1..=MAX_RANGES + 1).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
        let e = err(&note(&format!("a\n  abcd1234abcd1234 {ranges}\n")));
        assert_eq!(e.pointer, "line 2");
        assert!(e.message.contains("100000"));
        let ok = (1..=MAX_RANGES).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
        assert_eq!(parse_note(&note(&format!("a\n  abcd1234abcd1234 {ok}\n"))).unwrap().len(), MAX_RANGES);
    }

    proptest! {
        #[test]
        fn any_text_is_parsed_or_rejected_without_panicking(text in any::<String>()) {
            let _ = parse_note(&text);
        }

        #[test]
        fn note_shaped_text_is_parsed_or_rejected_without_panicking(
            head in "([a-z \"]{0,6}\n|  [0-9a-fsht_:]{0,20} [0-9,-]{0,12}\n|\n){0,6}",
            tail in "[{}\\[\\]\":,a-z0-9/._ -]{0,80}",
        ) {
            let _ = parse_note(&format!("{head}---\n{tail}"));
            let _ = parse_note(&format!("{head}---\n{META}"));
        }
    }
}
