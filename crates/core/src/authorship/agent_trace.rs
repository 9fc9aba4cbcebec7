//! Agent Trace records (agent-trace.dev, by Cursor; specification 0.1.0, schema
//! `https://agent-trace.dev/schemas/v1/trace-record.json`).
//!
//! A record names the tool that wrote it and, per file, the conversations that produced ranges
//! of lines, each with a contributor (`human`, `ai`, `mixed` or `unknown`, and an optional
//! models.dev `model_id`). A range's own contributor replaces its conversation's (agent
//! handoffs). What a range becomes:
//! - `ai` / `mixed`: that contributor, the agent id of the record's `tool.name`, the model id as
//!   given, and the conversation's `url` as session id;
//! - `human`: a human, never with an agent or a model (the conversation's `url` stays its
//!   session id);
//! - `unknown`, or no contributor at either level: no claim (the record does not say).
//!
//! The record is checked against the specification's schema (required members, their types,
//! enums, 1-based lines, `model_id` at most 250 characters); members it does not define are
//! ignored, as a later minor version may add optional ones (§7.1). `version` is `MAJOR.MINOR` or
//! `MAJOR.MINOR.PATCH` with major 0 or 1: the specification's own example says `0.1.0`, its
//! reference implementation writes `1.0`. Ids (`id` a UUID, `timestamp` RFC 3339) are checked
//! for shape only.

use serde_json::{Map, Value};

use super::{
    FormatError, LineClaim, RangeBudget, agent_for_tool, as_array, as_object, as_str, child, claim, line_range,
    model_id, optional_str, required, type_name,
};
use crate::attribution::{AttributionSource, Contributor};

/// The longest `model_id` the schema allows, in characters.
const MAX_MODEL_ID: usize = 250;

/// Parse one trace record into claims, in the record's order.
pub fn parse_record(value: &Value) -> Result<Vec<LineClaim>, FormatError> {
    let root = as_object(value, "/")?;
    version(as_str(required(root, "", "version")?, "/version")?)?;
    let id = as_str(required(root, "", "id")?, "/id")?;
    if !is_uuid(id) {
        return Err(FormatError::new("/id", "must be a UUID"));
    }
    let timestamp = as_str(required(root, "", "timestamp")?, "/timestamp")?;
    if chrono::DateTime::parse_from_rfc3339(timestamp).is_err() {
        return Err(FormatError::new("/timestamp", "must be an RFC 3339 date-time"));
    }
    if let Some(vcs) = root.get("vcs") {
        let vcs = as_object(vcs, "/vcs")?;
        let kind = as_str(required(vcs, "/vcs", "type")?, "/vcs/type")?;
        if !["git", "jj", "hg", "svn"].contains(&kind) {
            return Err(FormatError::new("/vcs/type", "must be one of git, jj, hg, svn"));
        }
        as_str(required(vcs, "/vcs", "revision")?, "/vcs/revision")?;
    }
    let agent = match root.get("tool") {
        Some(tool) => {
            let tool = as_object(tool, "/tool")?;
            optional_str(tool, "/tool", "version", false)?;
            agent_for_tool(as_str(required(tool, "/tool", "name")?, "/tool/name")?)
        }
        None => None,
    };
    if let Some(metadata) = root.get("metadata") {
        as_object(metadata, "/metadata")?;
    }

    let mut claims = Vec::new();
    let mut budget = RangeBudget::default();
    let files_at = "/files";
    for (i, file) in as_array(required(root, "", "files")?, files_at)?.iter().enumerate() {
        let file_at = child(files_at, &i.to_string());
        let file = as_object(file, &file_at)?;
        let path = as_str(required(file, &file_at, "path")?, &child(&file_at, "path"))?;
        if path.is_empty() {
            return Err(FormatError::new(child(&file_at, "path"), "must not be empty"));
        }
        let conversations_at = child(&file_at, "conversations");
        for (j, conversation) in
            as_array(required(file, &file_at, "conversations")?, &conversations_at)?.iter().enumerate()
        {
            let conv_at = child(&conversations_at, &j.to_string());
            let conversation = as_object(conversation, &conv_at)?;
            let url = optional_str(conversation, &conv_at, "url", false)?;
            let default = optional_contributor(conversation, &conv_at)?;
            if let Some(related) = conversation.get("related") {
                related_resources(related, &child(&conv_at, "related"))?;
            }
            let ranges_at = child(&conv_at, "ranges");
            for (k, range) in as_array(required(conversation, &conv_at, "ranges")?, &ranges_at)?.iter().enumerate() {
                let range_at = child(&ranges_at, &k.to_string());
                budget.take(|| range_at.clone())?;
                let range = as_object(range, &range_at)?;
                let first = line_number(range, &range_at, "start_line")?;
                let last = line_number(range, &range_at, "end_line")?;
                let lines = line_range(first, last).map_err(|m| FormatError::new(range_at.as_str(), m))?;
                optional_str(range, &range_at, "content_hash", false)?;
                let who = optional_contributor(range, &range_at)?.or_else(|| default.clone());
                if let Some(who) = who.filter(|w| w.kind != Contributor::Unknown) {
                    claims.push(claim(
                        path,
                        lines,
                        who.kind,
                        agent.clone(),
                        who.model_id,
                        url.map(str::to_string),
                        AttributionSource::AgentTrace,
                    ));
                }
            }
        }
    }
    Ok(claims)
}

/// `MAJOR.MINOR[.PATCH]` with a major this parser reads.
fn version(v: &str) -> Result<(), FormatError> {
    let parts: Vec<&str> = v.split('.').collect();
    let numeric = parts.iter().all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric || !(2..=3).contains(&parts.len()) {
        return Err(FormatError::new("/version", "must be `MAJOR.MINOR` or `MAJOR.MINOR.PATCH`, e.g. `0.1.0`"));
    }
    match parts[0].parse::<u32>() {
        Ok(0 | 1) => Ok(()),
        _ => Err(FormatError::new(
            "/version",
            format!("unsupported Agent Trace version `{v}`: only 0.x (and the reference implementation's 1.0) is read"),
        )),
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[derive(Debug, Clone)]
struct Who {
    kind: Contributor,
    model_id: Option<String>,
}

/// The `contributor` member of a conversation or a range, if it has one.
fn optional_contributor(map: &Map<String, Value>, at: &str) -> Result<Option<Who>, FormatError> {
    let Some(v) = map.get("contributor") else {
        return Ok(None);
    };
    let at = child(at, "contributor");
    let contributor = as_object(v, &at)?;
    let kind = match as_str(required(contributor, &at, "type")?, &child(&at, "type"))? {
        "human" => Contributor::Human,
        "ai" => Contributor::Ai,
        "mixed" => Contributor::Mixed,
        "unknown" => Contributor::Unknown,
        _ => return Err(FormatError::new(child(&at, "type"), "must be one of human, ai, mixed, unknown")),
    };
    let model = optional_str(contributor, &at, "model_id", false)?;
    if model.is_some_and(|m| m.chars().count() > MAX_MODEL_ID) {
        return Err(FormatError::new(child(&at, "model_id"), format!("must be at most {MAX_MODEL_ID} characters")));
    }
    Ok(Some(Who { kind, model_id: model_id(model) }))
}

fn related_resources(v: &Value, at: &str) -> Result<(), FormatError> {
    for (i, resource) in as_array(v, at)?.iter().enumerate() {
        let at = child(at, &i.to_string());
        let resource = as_object(resource, &at)?;
        as_str(required(resource, &at, "type")?, &child(&at, "type"))?;
        as_str(required(resource, &at, "url")?, &child(&at, "url"))?;
    }
    Ok(())
}

/// A 1-based line number member.
fn line_number(range: &Map<String, Value>, at: &str, key: &str) -> Result<u64, FormatError> {
    let v = required(range, at, key)?;
    match v.as_u64() {
        Some(n) if n >= 1 && n <= u64::from(u32::MAX) => Ok(n),
        _ => Err(FormatError::new(
            child(at, key),
            match v {
                Value::Number(n) => format!("must be an integer from 1 to {}, not {n}", u32::MAX),
                other => format!("must be an integer, not {}", type_name(other)),
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::authorship::MAX_RANGES;
    use crate::names::AgentId;

    fn record(files: Value) -> Value {
        json!({
            "version": "0.1.0",
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "timestamp": "2026-01-23T14:30:00Z",
            "vcs": {"type": "git", "revision": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0"},
            "tool": {"name": "cursor", "version": "2.4.0"},
            "files": files,
        })
    }

    fn one_conversation(conversation: Value) -> Value {
        record(json!([{"path": "src/a.ts", "conversations": [conversation]}]))
    }

    fn err(v: &Value) -> FormatError {
        parse_record(v).expect_err("should be rejected")
    }

    #[test]
    fn ai_ranges_get_the_tool_s_agent_the_model_and_the_conversation() {
        let claims = parse_record(&one_conversation(json!({
            "url": "https://api.cursor.com/v1/conversations/12345",
            "contributor": {"type": "ai", "model_id": "anthropic/claude-opus-4-5-20251101"},
            "ranges": [{"start_line": 42, "end_line": 67, "content_hash": "murmur3:9f2e8a1b"}, {"start_line": 70, "end_line": 70}],
        })))
        .unwrap();
        assert_eq!(claims.len(), 2);
        assert_eq!((claims[0].path.as_str(), claims[0].first_line, claims[0].last_line), ("src/a.ts", 42, 67));
        let a = &claims[0].attribution;
        assert_eq!(a.contributor, Contributor::Ai);
        assert_eq!(a.agent_id.as_ref().map(AgentId::as_str), Some("cursor"));
        assert_eq!(a.model_id.as_deref(), Some("anthropic/claude-opus-4-5-20251101"));
        assert_eq!(a.session_id.as_deref(), Some("https://api.cursor.com/v1/conversations/12345"));
        assert_eq!((a.source, a.confidence), (AttributionSource::AgentTrace, 0.9));
        assert!(a.flags.is_empty());
    }

    #[test]
    fn a_human_range_stays_human_without_agent_or_model() {
        let claims = parse_record(&one_conversation(json!({
            "contributor": {"type": "human", "model_id": "openai/gpt-4o"},
            "ranges": [{"start_line": 1, "end_line": 3}],
        })))
        .unwrap();
        let a = &claims[0].attribution;
        assert_eq!(a.contributor, Contributor::Human);
        assert_eq!((a.agent_id.as_ref(), a.model_id.as_ref()), (None, None));
    }

    #[test]
    fn a_range_contributor_overrides_the_conversation_s() {
        let claims = parse_record(&one_conversation(json!({
            "contributor": {"type": "ai", "model_id": "anthropic/claude-sonnet-4-20250514"},
            "ranges": [
                {"start_line": 1, "end_line": 5},
                {"start_line": 6, "end_line": 8, "contributor": {"type": "ai", "model_id": "openai/gpt-4o"}},
                {"start_line": 9, "end_line": 9, "contributor": {"type": "human"}},
                {"start_line": 10, "end_line": 12, "contributor": {"type": "mixed"}},
                {"start_line": 13, "end_line": 14, "contributor": {"type": "unknown"}},
            ],
        })))
        .unwrap();
        let got: Vec<_> = claims
            .iter()
            .map(|c| (c.first_line, c.attribution.contributor, c.attribution.model_id.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (1, Contributor::Ai, Some("anthropic/claude-sonnet-4-20250514")),
                (6, Contributor::Ai, Some("openai/gpt-4o")),
                (9, Contributor::Human, None),
                // The override replaces the whole contributor, model included.
                (10, Contributor::Mixed, None),
            ]
        );
        assert_eq!(claims[3].attribution.agent_id.as_ref().map(AgentId::as_str), Some("cursor"));
    }

    #[test]
    fn ranges_without_any_contributor_claim_nothing() {
        let claims = parse_record(&one_conversation(json!({"ranges": [{"start_line": 1, "end_line": 2}]}))).unwrap();
        assert!(claims.is_empty());
        let some = parse_record(&one_conversation(json!({
            "ranges": [{"start_line": 1, "end_line": 2, "contributor": {"type": "ai"}}],
        })))
        .unwrap();
        assert_eq!(some.len(), 1);
    }

    #[test]
    fn the_tool_decides_the_agent_id() {
        let mut v =
            one_conversation(json!({"contributor": {"type": "ai"}, "ranges": [{"start_line": 1, "end_line": 1}]}));
        let agent = |v: &Value| parse_record(v).unwrap()[0].attribution.agent_id.clone().map(|a| a.to_string());
        v["tool"] = json!({"name": "claude-code"});
        assert_eq!(agent(&v).as_deref(), Some("claude-code"));
        v["tool"] = json!({"name": "unknown"});
        assert_eq!(agent(&v), None);
        v.as_object_mut().unwrap().remove("tool");
        assert_eq!(agent(&v), None);
        assert_eq!(parse_record(&v).unwrap()[0].attribution.contributor, Contributor::Ai);
        v["tool"] = json!({"version": "1"});
        assert_eq!(err(&v).pointer, "/tool/name");
    }

    #[test]
    fn versions_zero_and_one_are_read_others_rejected() {
        let mut v = one_conversation(json!({"ranges": []}));
        for ok in ["0.1.0", "0.1", "1.0", "0.2"] {
            v["version"] = json!(ok);
            assert!(parse_record(&v).is_ok(), "{ok}");
        }
        v["version"] = json!("2.0");
        let e = err(&v);
        assert_eq!(e.pointer, "/version");
        assert!(e.message.contains("unsupported Agent Trace version `2.0`"), "{e}");
        for bad in [json!("v1"), json!("1"), json!("1.0.0.0"), json!(1.0)] {
            v["version"] = bad;
            assert_eq!(err(&v).pointer, "/version");
        }
    }

    #[test]
    fn record_level_members_are_checked() {
        let base = one_conversation(json!({"ranges": []}));
        let with = |key: &str, value: Value| {
            let mut v = base.clone();
            v[key] = value;
            err(&v).pointer
        };
        assert_eq!(with("id", json!("not-a-uuid")), "/id");
        assert_eq!(with("timestamp", json!("yesterday")), "/timestamp");
        assert_eq!(with("vcs", json!({"type": "cvs", "revision": "1"})), "/vcs/type");
        assert_eq!(with("vcs", json!({"type": "git"})), "/vcs/revision");
        assert_eq!(with("files", json!({})), "/files");
        assert_eq!(with("metadata", json!([])), "/metadata");
        let mut v = base.clone();
        v.as_object_mut().unwrap().remove("id");
        assert_eq!(err(&v).to_string(), "/id: is required");
        assert_eq!(err(&json!([])).pointer, "/");
        // Members the specification does not define are ignored.
        let mut v = base.clone();
        v["x-vendor"] = json!({"anything": true});
        assert!(parse_record(&v).is_ok());
    }

    #[test]
    fn bad_ranges_are_rejected_with_a_pointer() {
        let range = |r: Value| {
            err(&record(json!([
                {"path": "a", "conversations": []},
                {"path": "b", "conversations": [
                    {"contributor": {"type": "ai"}, "ranges": []},
                    {"contributor": {"type": "ai"}, "ranges": [{"start_line": 1, "end_line": 1}, r]},
                ]},
            ])))
        };
        assert_eq!(range(json!({"start_line": 5, "end_line": 4})).pointer, "/files/1/conversations/1/ranges/1");
        assert_eq!(
            range(json!({"start_line": 0, "end_line": 4})).pointer,
            "/files/1/conversations/1/ranges/1/start_line"
        );
        assert_eq!(
            range(json!({"start_line": 1, "end_line": 4294967296_u64})).pointer,
            "/files/1/conversations/1/ranges/1/end_line"
        );
        assert_eq!(
            range(json!({"start_line": 1.5, "end_line": 4})).pointer,
            "/files/1/conversations/1/ranges/1/start_line"
        );
        assert_eq!(
            range(json!({"start_line": -1, "end_line": 4})).pointer,
            "/files/1/conversations/1/ranges/1/start_line"
        );
        assert_eq!(
            range(json!({"start_line": "1", "end_line": 4})).pointer,
            "/files/1/conversations/1/ranges/1/start_line"
        );
        assert_eq!(range(json!({"end_line": 4})).pointer, "/files/1/conversations/1/ranges/1/start_line");
        assert_eq!(
            range(json!({"start_line": 1, "end_line": 1, "contributor": {"type": "bot"}})).pointer,
            "/files/1/conversations/1/ranges/1/contributor/type"
        );
        let long = "m".repeat(MAX_MODEL_ID + 1);
        assert_eq!(
            range(json!({"start_line": 1, "end_line": 1, "contributor": {"type": "ai", "model_id": long}})).pointer,
            "/files/1/conversations/1/ranges/1/contributor/model_id"
        );
        assert_eq!(range(json!([1, 2])).pointer, "/files/1/conversations/1/ranges/1");
    }

    #[test]
    fn files_and_conversations_are_checked() {
        assert_eq!(err(&record(json!([{"path": "", "conversations": []}]))).pointer, "/files/0/path");
        assert_eq!(err(&record(json!([{"path": "a"}]))).pointer, "/files/0/conversations");
        assert_eq!(
            err(&record(json!([{"path": "a", "conversations": [{}]}]))).pointer,
            "/files/0/conversations/0/ranges"
        );
        assert_eq!(
            err(&record(json!([{"path": "a", "conversations": [{"ranges": [], "related": [{"type": "session"}]}]}])))
                .pointer,
            "/files/0/conversations/0/related/0/url"
        );
        assert_eq!(
            err(&record(json!([{"path": "a", "conversations": [{"ranges": [], "url": 3}]}]))).pointer,
            "/files/0/conversations/0/url"
        );
    }

    #[test]
    fn more_than_the_range_budget_is_rejected() {
        let ranges: Vec<Value> = (0..=MAX_RANGES).map(|_| json!({"start_line": 1, "end_line": 1})).collect();
        let e = err(&one_conversation(json!({"contributor": {"type": "ai"}, "ranges": ranges})));
        assert_eq!(e.pointer, format!("/files/0/conversations/0/ranges/{MAX_RANGES}"));
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z0-9._:-]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let key = prop_oneof![
                Just("version".to_string()),
                Just("files".to_string()),
                Just("path".to_string()),
                Just("conversations".to_string()),
                Just("ranges".to_string()),
                Just("start_line".to_string()),
                Just("end_line".to_string()),
                Just("contributor".to_string()),
                Just("type".to_string()),
                "[a-z_]{1,8}",
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(key, inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_is_parsed_or_rejected_without_panicking(files in any_json(), whole in any_json()) {
            let _ = parse_record(&record(files));
            let _ = parse_record(&whole);
        }
    }
}
