//! An analysis: one evaluation of one change set, and its lifecycle
//! `queued → running → completed | failed`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::decision::Outcome;
use crate::id::{AnalysisId, TenantId};
use crate::line::ChangedLine;
use crate::names::{CommitSha, RepoName, RepoPath};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisStatus {
    Queued,
    Running,
    Completed,
    Failed,
}

impl AnalysisStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Completed, Self::Failed].into_iter().find(|v| v.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }
}

/// Why an analysis failed: a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnalysisError {
    pub code: String,
    pub message: String,
}

/// Which findings count: only on added/modified lines (default), anywhere in a hunk, or anywhere
/// in a changed file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportMode {
    #[default]
    Added,
    DiffContext,
    File,
}

impl ReportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::DiffContext => "diff_context",
            Self::File => "file",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Added, Self::DiffContext, Self::File].into_iter().find(|v| v.as_str() == s)
    }
}

/// A file's full content at head, so detectors see context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileContent {
    pub path: RepoPath,
    pub content: String,
}

/// The metadata key that marks a synthetic analysis made by `provenance smoke`: `"smoke": true`.
/// Such analyses are processed like any other, but they are left out of the business figures
/// (submitted, decided, findings) and emit no webhook events, so a smoke test every few minutes
/// against production neither skews what a team measures nor pages its receivers.
pub const SMOKE_METADATA_KEY: &str = "smoke";

/// Whether `metadata` marks a smoke-test analysis (see [`SMOKE_METADATA_KEY`]).
pub fn is_smoke(metadata: &serde_json::Map<String, serde_json::Value>) -> bool {
    metadata.get(SMOKE_METADATA_KEY).and_then(serde_json::Value::as_bool).unwrap_or(false)
}

/// A validated submission, ready to be stored with its outbox job in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnalysis {
    pub id: AnalysisId,
    pub tenant_id: TenantId,
    pub repo: RepoName,
    pub pr_number: u64,
    pub base_sha: CommitSha,
    pub head_sha: CommitSha,
    pub branch: Option<String>,
    pub lines: Vec<ChangedLine>,
    pub files: Vec<FileContent>,
    pub report_mode: ReportMode,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// sha256 of the canonical (JCS) submitted inputs; with repo, pr and head sha it identifies a
    /// resubmission.
    pub inputs_sha256: String,
    pub created_at: DateTime<Utc>,
}

/// An analysis as stored, with its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub id: AnalysisId,
    pub tenant_id: TenantId,
    pub repo: RepoName,
    pub pr_number: u64,
    pub base_sha: CommitSha,
    pub head_sha: CommitSha,
    pub branch: Option<String>,
    pub status: AnalysisStatus,
    pub error: Option<AnalysisError>,
    pub report_mode: ReportMode,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub inputs_sha256: String,
    pub lines_total: u64,
    pub findings_total: u64,
    pub outcome: Option<Outcome>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// When retention removed its lines, files, findings and SARIF (its decision and bundle
    /// stay longer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged_at: Option<DateTime<Utc>>,
}
