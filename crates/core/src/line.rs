//! A changed line of a pull request, as submitted and as attributed.

use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, Contributor};
use crate::names::{AgentId, RepoPath};

/// How the line changed. `line_number` is at head for `added`/`modified`, at base for `deleted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Modified => "modified",
            Self::Deleted => "deleted",
        }
    }

    /// Lines that exist at head (and so can carry new risk).
    pub fn is_at_head(self) -> bool {
        !matches!(self, Self::Deleted)
    }
}

/// What the submitter declared about who wrote a line (legacy `attribution{…}` fields plus the
/// richer `contributor`, `model_id`, `session_id`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeclaredAttribution {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contributor: Option<Contributor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    /// The line's number in its file at `commit_sha`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance_marker: Option<String>,
}

impl DeclaredAttribution {
    pub fn is_empty(&self) -> bool {
        self.contributor.is_none() && self.agent_id.is_none() && self.model_id.is_none()
    }
}

/// One changed line with everything we know about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChangedLine {
    pub file_path: RepoPath,
    pub line_number: u32,
    pub change_type: ChangeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Given by the client, or inferred from the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<DeclaredAttribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_signature: Option<String>,
    /// The resolved attribution: what the line declares from submission, then what the worker
    /// resolves from every source it has.
    pub attribution: Attribution,
}

/// A line's address within a change set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LineRef {
    pub file_path: RepoPath,
    pub line_number: u32,
}
