#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The hand-written authorship fixtures (`tests/fixtures/authorship`, see its README) parse to
//! exactly the claims the specifications say they make.

use std::path::PathBuf;

use provenance_core::attribution::AttributionSource;
use provenance_core::attribution::Contributor::{self, Ai, Human, Mixed};
use provenance_core::authorship::{LineClaim, agent_trace, git_ai};

fn fixture(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", "authorship", name].iter().collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a test states about one claim: path, lines, contributor, agent, model, session.
type Row = (&'static str, u32, u32, Contributor, Option<&'static str>, Option<&'static str>, Option<&'static str>);

/// Check every claim, in order, and that each carries the source's tier and no flags.
fn assert_claims(claims: &[LineClaim], source: AttributionSource, expected: &[Row]) {
    let got: Vec<_> = claims
        .iter()
        .map(|c| {
            let a = &c.attribution;
            (
                c.path.as_str(),
                c.first_line,
                c.last_line,
                a.contributor,
                a.agent_id.as_ref().map(|id| id.as_str()),
                a.model_id.as_deref(),
                a.session_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(got, expected);
    for c in claims {
        assert_eq!(c.attribution.source, source);
        assert_eq!(c.attribution.confidence, 0.9);
        assert!(c.attribution.flags.is_empty());
        assert!(c.first_line >= 1 && c.first_line <= c.last_line);
    }
}

/// Named `authorship::…` so `cargo test -p provenance-core authorship` runs them.
mod authorship {
    use super::*;

    #[test]
    fn git_ai_current_note_with_two_tools() {
        const CLAUDE: &str = "2d6f1a9e-4c3b-4e8a-9f21-7b5c0d3e8a14";
        const CURSOR: &str = "b81c4f0e-2a7d-4d6b-8e93-0c5f1a2b3d4e";
        let claims = git_ai::parse_note(&fixture("git-ai/current-two-tools.txt")).unwrap();
        assert_claims(
            &claims,
            AttributionSource::GitAiNote,
            &[
                ("src/server/handlers.rs", 1, 24, Ai, Some("claude-code"), Some("claude-sonnet-4-5"), Some(CLAUDE)),
                ("src/server/handlers.rs", 31, 40, Ai, Some("claude-code"), Some("claude-sonnet-4-5"), Some(CLAUDE)),
                ("src/server/handlers.rs", 25, 30, Ai, Some("cursor"), Some("gpt-5"), Some(CURSOR)),
                ("docs/getting started.md", 3, 3, Ai, Some("cursor"), Some("gpt-5"), Some(CURSOR)),
                ("docs/getting started.md", 7, 9, Ai, Some("cursor"), Some("gpt-5"), Some(CURSOR)),
            ],
        );
    }

    #[test]
    fn git_ai_legacy_note_with_short_hashes() {
        let claims = git_ai::parse_note(&fixture("git-ai/legacy-short-hashes.txt")).unwrap();
        assert_claims(
            &claims,
            AttributionSource::GitAiNote,
            &[
                ("lib/parser.py", 10, 18, Ai, Some("github-copilot"), Some("gpt-4o"), Some("chat-5d1e8a20")),
                // Empty session id: the hash stands in; model `unknown`: no model.
                ("lib/parser.py", 20, 20, Ai, Some("gemini"), None, Some("e4f5a6b")),
                ("lib/parser.py", 22, 23, Ai, Some("gemini"), None, Some("e4f5a6b")),
                ("tests/test_parser.py", 1, 12, Ai, Some("github-copilot"), Some("gpt-4o"), Some("chat-5d1e8a20")),
            ],
        );
    }

    #[test]
    fn git_ai_note_with_sessions_and_known_humans() {
        const OPENCODE: (Option<&str>, Option<&str>, Option<&str>) =
            (Some("opencode"), Some("anthropic/claude-opus-4-5"), Some("ses_01JH3K9Q2W7XYZ"));
        let claims = git_ai::parse_note(&fixture("git-ai/sessions-and-humans.txt")).unwrap();
        assert_claims(
            &claims,
            AttributionSource::GitAiNote,
            &[
                ("src/main.rs", 1, 10, Ai, Some("windsurf"), Some("swe-1"), Some("cascade-42")),
                ("src/main.rs", 11, 14, Ai, OPENCODE.0, OPENCODE.1, OPENCODE.2),
                ("src/main.rs", 15, 19, Human, None, None, None),
                ("src/main.rs", 20, 20, Ai, OPENCODE.0, OPENCODE.1, OPENCODE.2),
            ],
        );
    }

    #[test]
    fn agent_trace_multi_file_record_with_ai_and_human_conversations() {
        const OPUS: Option<&str> = Some("anthropic/claude-opus-4-5-20251101");
        const CONV: Option<&str> = Some("https://api.cursor.com/v1/conversations/12345");
        let record = serde_json::from_str(&fixture("agent-trace/multi-file.json")).unwrap();
        let claims = agent_trace::parse_record(&record).unwrap();
        assert_claims(
            &claims,
            AttributionSource::AgentTrace,
            &[
                ("src/utils/parser.ts", 42, 67, Ai, Some("cursor"), OPUS, CONV),
                ("src/utils/parser.ts", 80, 95, Ai, Some("cursor"), OPUS, CONV),
                ("src/utils/parser.ts", 68, 79, Human, None, None, None),
                ("src/utils/helpers.ts", 1, 9, Human, None, None, None),
                (
                    "src/utils/helpers.ts",
                    10,
                    25,
                    Mixed,
                    Some("cursor"),
                    Some("openai/gpt-4o"),
                    Some("https://api.cursor.com/v1/conversations/12399"),
                ),
            ],
        );
    }

    #[test]
    fn agent_trace_range_contributors_override_the_conversation() {
        const SONNET: Option<&str> = Some("anthropic/claude-sonnet-4-5-20250929");
        const CONV: Option<&str> = Some("file:///home/ada/.claude/projects/shop/5f1c2b7e.jsonl");
        let record = serde_json::from_str(&fixture("agent-trace/range-override.json")).unwrap();
        let claims = agent_trace::parse_record(&record).unwrap();
        assert_claims(
            &claims,
            AttributionSource::AgentTrace,
            &[
                ("app/models/order.rb", 1, 20, Ai, Some("claude-code"), SONNET, CONV),
                (
                    "app/models/order.rb",
                    21,
                    34,
                    Ai,
                    Some("claude-code"),
                    Some("anthropic/claude-haiku-4-5-20251001"),
                    CONV,
                ),
                ("app/models/order.rb", 35, 36, Human, None, None, CONV),
                // 37–40 `unknown` and 50–60 without any contributor claim nothing.
                ("app/models/order.rb", 61, 70, Mixed, Some("claude-code"), SONNET, None),
            ],
        );
    }
}
