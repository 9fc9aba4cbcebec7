//! Rows as SQLite returns them, and their conversion to and from the domain types. A row that
//! no longer decodes is `StoreError::Corrupt`, never a panic.

use provenance_core::access::{Scope, Tier};
use provenance_core::finding::Suppression;
use provenance_core::{
    Analysis, AnalysisError, CommitSha, FileContent, Finding, Location, Outcome, RepoName, RepoPath, ReportMode,
    Severity,
};

use super::timestamps::{from_text, opt_from_text};
use crate::error::{StoreError, StoreResult};
use crate::repository::ApiKeyRecord;

pub(crate) use crate::row_codec::{
    corrupt, finding_status_from, finding_status_str, from_json, parse_id, status_from, to_i64, to_json, to_u32, to_u64,
};

pub(super) const ANALYSIS_COLUMNS: &str = "id, tenant_id, repo, pr_number, base_sha, head_sha, branch, status, \
     error_code, error_message, report_mode, metadata, inputs_sha256, lines_total, findings_total, outcome, \
     created_at, updated_at, started_at, completed_at, purged_at";

#[derive(Debug, sqlx::FromRow)]
pub(super) struct AnalysisRow {
    id: String,
    tenant_id: String,
    repo: String,
    pr_number: i64,
    base_sha: String,
    head_sha: String,
    branch: Option<String>,
    status: String,
    error_code: Option<String>,
    error_message: Option<String>,
    report_mode: String,
    metadata: String,
    inputs_sha256: String,
    lines_total: i64,
    findings_total: i64,
    outcome: Option<String>,
    created_at: String,
    updated_at: String,
    started_at: Option<String>,
    completed_at: Option<String>,
    purged_at: Option<String>,
}

impl TryFrom<AnalysisRow> for Analysis {
    type Error = StoreError;

    fn try_from(r: AnalysisRow) -> StoreResult<Self> {
        let error = match (r.error_code, r.error_message) {
            (Some(code), message) => Some(AnalysisError { code, message: message.unwrap_or_default() }),
            (None, _) => None,
        };
        Ok(Analysis {
            id: parse_id("analysis id", &r.id)?,
            tenant_id: parse_id("tenant id", &r.tenant_id)?,
            repo: RepoName::parse(&r.repo).map_err(|e| corrupt("repo", e))?,
            pr_number: to_u64("pr_number", r.pr_number)?,
            base_sha: CommitSha::parse(&r.base_sha).map_err(|e| corrupt("base_sha", e))?,
            head_sha: CommitSha::parse(&r.head_sha).map_err(|e| corrupt("head_sha", e))?,
            branch: r.branch,
            status: status_from(&r.status)?,
            error,
            report_mode: ReportMode::parse(&r.report_mode).ok_or_else(|| corrupt("report_mode", &r.report_mode))?,
            metadata: from_json("metadata", &r.metadata)?,
            inputs_sha256: r.inputs_sha256,
            lines_total: to_u64("lines_total", r.lines_total)?,
            findings_total: to_u64("findings_total", r.findings_total)?,
            outcome: r.outcome.map(|o| Outcome::parse(&o).ok_or_else(|| corrupt("outcome", o))).transpose()?,
            created_at: from_text(&r.created_at)?,
            updated_at: from_text(&r.updated_at)?,
            started_at: opt_from_text(r.started_at.as_deref())?,
            completed_at: opt_from_text(r.completed_at.as_deref())?,
            purged_at: opt_from_text(r.purged_at.as_deref())?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(super) struct FileRow {
    path: String,
    content: String,
}

impl TryFrom<FileRow> for FileContent {
    type Error = StoreError;

    fn try_from(r: FileRow) -> StoreResult<Self> {
        Ok(FileContent { path: RepoPath::parse(&r.path).map_err(|e| corrupt("file path", e))?, content: r.content })
    }
}

pub(super) const FINDING_COLUMNS: &str = "seq, id, rule_id, rule_version, category, severity, message, file_path, \
     start_line, end_line, start_column, end_column, snippet, fingerprint, attribution, engine, status, suppression";

#[derive(Debug, sqlx::FromRow)]
pub(super) struct FindingRow {
    pub(super) seq: i64,
    id: String,
    rule_id: String,
    rule_version: String,
    category: String,
    severity: String,
    message: String,
    file_path: String,
    start_line: i64,
    end_line: i64,
    start_column: i64,
    end_column: i64,
    snippet: String,
    fingerprint: String,
    attribution: String,
    engine: String,
    status: String,
    suppression: Option<String>,
}

impl TryFrom<FindingRow> for Finding {
    type Error = StoreError;

    fn try_from(r: FindingRow) -> StoreResult<Self> {
        Ok(Finding {
            id: parse_id("finding id", &r.id)?,
            rule_id: r.rule_id,
            rule_version: r.rule_version,
            category: r.category,
            severity: Severity::parse(&r.severity).ok_or_else(|| corrupt("severity", &r.severity))?,
            message: r.message,
            location: Location {
                file_path: RepoPath::parse(&r.file_path).map_err(|e| corrupt("finding file_path", e))?,
                start_line: to_u32("start_line", r.start_line)?,
                end_line: to_u32("end_line", r.end_line)?,
                start_column: to_u32("start_column", r.start_column)?,
                end_column: to_u32("end_column", r.end_column)?,
            },
            snippet: r.snippet,
            fingerprint: r.fingerprint,
            attribution: from_json("finding attribution", &r.attribution)?,
            engine: r.engine,
            status: finding_status_from(&r.status)?,
            suppression: r.suppression.map(|s| from_json::<Suppression>("suppression", &s)).transpose()?,
        })
    }
}

pub(super) const API_KEY_COLUMNS: &str =
    "id, tenant_id, name, secret_sha256, scopes, tier, created_at, last_used_at, revoked_at";

#[derive(Debug, sqlx::FromRow)]
pub(super) struct ApiKeyRow {
    id: String,
    tenant_id: String,
    name: String,
    secret_sha256: String,
    scopes: String,
    tier: String,
    created_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl TryFrom<ApiKeyRow> for ApiKeyRecord {
    type Error = StoreError;

    fn try_from(r: ApiKeyRow) -> StoreResult<Self> {
        Ok(ApiKeyRecord {
            id: parse_id("api key id", &r.id)?,
            tenant_id: parse_id("tenant id", &r.tenant_id)?,
            name: r.name,
            secret_sha256: r.secret_sha256,
            scopes: from_json::<Vec<Scope>>("scopes", &r.scopes)?,
            tier: Tier::parse(&r.tier).ok_or_else(|| corrupt("tier", &r.tier))?,
            created_at: from_text(&r.created_at)?,
            last_used_at: opt_from_text(r.last_used_at.as_deref())?,
            revoked_at: opt_from_text(r.revoked_at.as_deref())?,
        })
    }
}
