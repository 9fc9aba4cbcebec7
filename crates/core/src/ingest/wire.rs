//! The wire format of `POST /v1/analysis`: the legacy `provenance_data.changed_lines[]` of the
//! earlier Python service, unified `diff` text, full `files`, and the size limits. Fields are
//! optional at this level so that a missing one is reported by name, not as a parse failure.

use serde::{Deserialize, Serialize};

/// Size limits of one submission (SPEC §2 defaults). Over a limit, nothing is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IngestLimits {
    /// Request body, bytes (413 beyond).
    pub max_body_bytes: usize,
    /// Changed lines per analysis, from `changed_lines` and `diff` together.
    pub max_changed_lines: usize,
    /// Entries of `files`.
    pub max_files: usize,
    /// Bytes of one line's `content`.
    pub max_line_bytes: usize,
    /// Bytes of one file's `content`.
    pub max_file_bytes: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            max_changed_lines: 100_000,
            max_files: 2_000,
            max_line_bytes: 8 * 1024,
            max_file_bytes: 2 * 1024 * 1024,
        }
    }
}

/// `POST /v1/analysis` body. Fields are optional at the wire level so that a missing one is
/// reported by name rather than as a parse failure.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "repo": "acme/shop", "pr_number": "42", "base_sha": "abc123", "head_sha": "def456",
    "provenance_data": {"changed_lines": [{
        "file_path": "api/orders.py", "line_number": 128, "change_type": "added",
        "content": "query = f\"SELECT * FROM orders WHERE id = {order_id}\"",
        "language": "python", "attribution": {"agent_id": "claude-3-opus"}}]}
}))]
pub struct SubmitAnalysisRequest {
    /// `owner/name`.
    #[schema(value_type = String)]
    pub repo: Option<String>,
    /// Pull request number, as a number or a string of digits (legacy clients send strings).
    #[schema(value_type = String)]
    pub pr_number: Option<PrNumber>,
    /// Base commit sha (hex, 4 to 64 characters).
    #[schema(value_type = String)]
    pub base_sha: Option<String>,
    /// Head commit sha (hex, 4 to 64 characters).
    #[schema(value_type = String)]
    pub head_sha: Option<String>,
    pub branch: Option<String>,
    /// Changed lines in the earlier service's wire format.
    pub provenance_data: Option<ProvenanceData>,
    /// Unified diff text (`git diff` output); parsed into changed lines.
    pub diff: Option<String>,
    /// Full contents of changed files at head, so detectors see context.
    pub files: Option<Vec<WireFile>>,
    /// `added` (default), `diff_context` or `file`.
    pub report_mode: Option<String>,
    /// Free-form metadata stored with the analysis (JSON object).
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Documents about who wrote the change: git-ai authorship notes, Agent Trace records, and
    /// the commits of the pull request (whose trailers, bot authors and tool footers attribute
    /// the lines of that commit). See `docs/attribution.md`.
    pub attribution_sources: Option<Vec<WireAttributionSource>>,
}

/// One entry of `attribution_sources`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WireAttributionSource {
    /// A commit of the pull request. Its metadata attributes the lines that name it in
    /// `attribution.commit_sha` (any unambiguous prefix) or, when it is the only commit, every line.
    Commit {
        sha: String,
        #[serde(default)]
        author_name: Option<String>,
        #[serde(default)]
        author_email: Option<String>,
        #[serde(default)]
        message: String,
    },
    /// A git-ai authorship note (`refs/notes/ai`, format `authorship/3.x`) of `commit_sha`. Its
    /// line numbers are positions in the files at that commit: they apply directly when it is
    /// the head commit, and otherwise to lines that name the commit in `attribution.commit_sha`
    /// and their position there in `attribution.commit_line` (as `git blame` reports them).
    GitAiNote {
        /// The commit the note is attached to (default: the head commit).
        #[serde(default)]
        commit_sha: Option<String>,
        /// The note's text.
        note: String,
    },
    /// An Agent Trace record (v0.1 JSON). Its revision is `vcs.revision` for git (default: the
    /// head commit); line numbers apply as for a git-ai note.
    AgentTrace {
        #[schema(value_type = Object)]
        record: serde_json::Value,
    },
}

/// A pull request number: a positive integer, or a string of digits.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PrNumber {
    Number(i64),
    Text(String),
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ProvenanceData {
    pub changed_lines: Option<Vec<WireChangedLine>>,
}

/// One changed line as the earlier Python service sent it, plus the richer attribution fields.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct WireChangedLine {
    pub file_path: Option<String>,
    /// 1-based; at head for added/modified lines, at base for deleted ones.
    pub line_number: Option<i64>,
    /// `added`, `modified` or `deleted`.
    pub change_type: Option<String>,
    pub content: Option<String>,
    pub language: Option<String>,
    pub author_identity: Option<String>,
    pub timestamp: Option<String>,
    pub attribution: Option<WireAttribution>,
    /// Lower-case hex sha256 of `content`.
    pub content_sha256: Option<String>,
    /// Base64 Ed25519 attestation over the line (verified by the attribution stage).
    pub attestation_signature: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct WireAttribution {
    pub agent_id: Option<String>,
    pub agent_version: Option<String>,
    pub agent_session_id: Option<String>,
    pub commit_sha: Option<String>,
    /// The line's number in the file at `commit_sha` (from `git blame`), so that authorship
    /// documents of earlier commits find it.
    pub commit_line: Option<i64>,
    pub provenance_marker: Option<String>,
    /// `ai`, `human`, `mixed` or `unknown`.
    pub contributor: Option<String>,
    /// models.dev style, e.g. `anthropic/claude-opus-4-5`.
    pub model_id: Option<String>,
    pub session_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct WireFile {
    pub path: Option<String>,
    pub content: Option<String>,
}
