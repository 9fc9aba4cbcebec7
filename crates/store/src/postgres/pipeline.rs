//! What the worker reads and commits (`PipelineRepository`): the job's inputs, the status
//! transitions, stale-job recovery, and the results of one analysis in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::{AnalysisError, AnalysisId, AnalysisStatus, FileContent, Finding, RepoPath, TenantId};

use super::rows::{
    ANALYSIS_COLUMNS, AnalysisRow, corrupt, finding_status_str, parse_id, status_from, to_i64, to_json, to_u64,
};
use super::submission::insert_outbox;
use super::{PostgresStore, ts};
use crate::error::{StoreError, StoreResult};
use crate::line_chunks;
use crate::outbox::OutboxMessage;
use crate::repository::{AnalysisResult, JobInput, JobStart, PipelineRepository, WebhookEvent, mark_started};
use crate::trace_context::current_traceparent;

#[async_trait]
impl PipelineRepository for PostgresStore {
    /// One statement, so the lines and files are the same snapshot as the analysis.
    async fn load_job_input(&self, id: &AnalysisId) -> StoreResult<Option<JobInput>> {
        let sql = format!("SELECT {ANALYSIS_COLUMNS}, {INPUT_COLUMNS} FROM analyses a WHERE id = $1");
        let row = sqlx::query_as::<_, JobInputRow>(&sql).bind(id.as_str()).fetch_optional(&self.pool).await?;
        row.map(|r| r.into_job_input(id)).transpose()
    }

    /// One statement: the status change and the read of the input (which sees the analysis as it
    /// was just before, so a settled one reads as settled and is left alone).
    async fn start_job(&self, id: &AnalysisId, at: DateTime<Utc>) -> StoreResult<JobStart> {
        let sql = format!(
            "WITH started AS ( \
                 UPDATE analyses SET status = 'running', started_at = $2, heartbeat_at = $2, updated_at = $2 \
                 WHERE id = $1 AND status IN ('queued', 'running') RETURNING id \
             ) \
             SELECT {ANALYSIS_COLUMNS}, EXISTS (SELECT 1 FROM started) AS started, {INPUT_COLUMNS} \
             FROM analyses a WHERE id = $1"
        );
        let Some(row) =
            sqlx::query_as::<_, StartRow>(&sql).bind(id.as_str()).bind(ts(at)).fetch_optional(&self.pool).await?
        else {
            return Ok(JobStart::Missing);
        };
        if !row.started {
            return Ok(JobStart::Settled);
        }
        let mut input = row.input.into_job_input(id)?;
        mark_started(&mut input.analysis, at);
        Ok(JobStart::Started(Box::new(input)))
    }

    /// A missing analysis (deleted since the job was queued) also answers `false`: there is
    /// nothing to run.
    async fn mark_running(&self, id: &AnalysisId, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE analyses SET status = 'running', started_at = $1, heartbeat_at = $1, updated_at = $1 \
             WHERE id = $2 AND status IN ('queued', 'running')",
        )
        .bind(ts(at))
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn heartbeat(&self, id: &AnalysisId, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE analyses SET heartbeat_at = $1 WHERE id = $2 AND status = 'running'")
            .bind(ts(at))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The stalest first. An analysis that heartbeats, completes or fails between the pick and
    /// its own transaction is left alone (the update re-checks the condition under its row lock),
    /// so several schedulers running this at once requeue each analysis once.
    async fn requeue_stale(
        &self,
        stale_before: DateTime<Utc>,
        limit: u32,
        job: &(dyn for<'a> Fn(&'a AnalysisId, &'a TenantId) -> OutboxMessage + Send + Sync),
    ) -> StoreResult<Vec<AnalysisId>> {
        let candidates: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM analyses WHERE status = 'running' AND heartbeat_at < $1 \
             ORDER BY heartbeat_at, id LIMIT $2",
        )
        .bind(stale_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut requeued = Vec::with_capacity(candidates.len());
        for id in candidates {
            let mut tx = self.pool.begin().await?;
            let tenant: Option<String> = sqlx::query_scalar(
                "UPDATE analyses SET status = 'queued', updated_at = $1 \
                 WHERE id = $2 AND status = 'running' AND heartbeat_at < $3 RETURNING tenant_id",
            )
            .bind(ts(Utc::now()))
            .bind(&id)
            .bind(stale_before)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(tenant) = tenant else {
                tx.rollback().await?;
                continue;
            };
            let id: AnalysisId = parse_id("analysis id", &id)?;
            let tenant: TenantId = parse_id("tenant id", &tenant)?;
            let message = job(&id, &tenant);
            insert_outbox(&mut tx, &message).await?;
            tx.commit().await?;
            requeued.push(id);
        }
        if !requeued.is_empty() {
            self.notify_outbox();
        }
        Ok(requeued)
    }

    /// One statement: the status change (which takes the analysis' row lock, so a concurrent
    /// completion of a redelivered job waits, then finds it settled and changes nothing), the
    /// resolved lines, the findings, the decision, bundle and SARIF, and the settled
    /// notification, all or nothing. Every write hangs off the `settled` row, so an analysis that
    /// is already settled gets none of them.
    async fn complete_analysis(&self, result: &AnalysisResult) -> StoreResult<()> {
        let id = result.analysis_id.as_str();
        let decision = &result.decision;
        let (chunk, chunk_lines): (Vec<i64>, Vec<String>) = line_chunks::encode(&result.lines)?.into_iter().unzip();
        let findings = FindingColumns::of(&result.findings)?;
        let sql = format!(
            "WITH settled AS ( \
                 UPDATE analyses SET status = 'completed', findings_total = $2, outcome = $3, error_code = NULL, \
                 error_message = NULL, completed_at = $4, updated_at = $4 \
                 WHERE id = $1 AND status IN ('queued', 'running') AND lines_total = $5 RETURNING id, tenant_id \
             ), lines AS ( \
                 UPDATE analysis_line_chunks AS c SET lines = u.lines \
                 FROM settled, UNNEST($6::bigint[], $7::text[]) AS u (chunk, lines) \
                 WHERE c.analysis_id = settled.id AND c.chunk = u.chunk AND c.lines IS DISTINCT FROM u.lines \
             ), decision AS ( \
                 INSERT INTO decisions (analysis_id, decision_id, outcome, decision, decided_at) \
                 SELECT id, $8, $3, $9, $10 FROM settled \
             ), bundle AS ( \
                 INSERT INTO bundles (analysis_id, envelope) SELECT id, $11 FROM settled \
             ), sarif AS ( \
                 INSERT INTO sarif_reports (analysis_id, sarif) SELECT id, $12 FROM settled \
             ), findings AS ( \
                 INSERT INTO findings (analysis_id, seq, id, rule_id, rule_version, category, severity, message, \
                 file_path, start_line, end_line, start_column, end_column, snippet, fingerprint, attribution, \
                 engine, status, suppression) \
                 SELECT settled.id, u.seq - 1, u.id, u.rule_id, u.rule_version, u.category, u.severity, u.message, \
                 u.file_path, u.start_line, u.end_line, u.start_column, u.end_column, u.snippet, u.fingerprint, \
                 u.attribution, u.engine, u.status, u.suppression \
                 FROM settled, UNNEST($14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], \
                 $20::text[], $21::bigint[], $22::bigint[], $23::bigint[], $24::bigint[], $25::text[], $26::text[], \
                 $27::text[], $28::text[], $29::text[], $30::text[]) WITH ORDINALITY \
                 AS u (id, rule_id, rule_version, category, severity, message, file_path, start_line, end_line, \
                 start_column, end_column, snippet, fingerprint, attribution, engine, status, suppression, seq) \
             ), {events} \
             SELECT settled.id, (SELECT count(*) FROM queued) FROM settled, LATERAL pg_notify($13, settled.id)",
            events = super::webhooks::emit_events_ctes("(SELECT tenant_id FROM settled)", 31, "$4", "$34"),
        );
        let (event_types, message_ids, payloads) = super::webhooks::event_columns(&result.events);
        let settled: Option<(String, i64)> = sqlx::query_as(&sql)
            .bind(id)
            .bind(to_i64("findings_total", result.findings.len() as u64)?)
            .bind(decision.outcome.as_str())
            .bind(ts(result.completed_at))
            .bind(to_i64("lines_total", result.lines.len() as u64)?)
            .bind(chunk)
            .bind(chunk_lines)
            .bind(decision.id.as_str())
            .bind(to_json(decision)?)
            .bind(ts(decision.decided_at))
            .bind(to_json(&result.bundle)?)
            .bind(to_json(&result.sarif)?)
            .bind(super::SETTLED_CHANNEL)
            .bind(findings.id)
            .bind(findings.rule_id)
            .bind(findings.rule_version)
            .bind(findings.category)
            .bind(findings.severity)
            .bind(findings.message)
            .bind(findings.file_path)
            .bind(findings.start_line)
            .bind(findings.end_line)
            .bind(findings.start_column)
            .bind(findings.end_column)
            .bind(findings.snippet)
            .bind(findings.fingerprint)
            .bind(findings.attribution)
            .bind(findings.engine)
            .bind(findings.status)
            .bind(findings.suppression)
            .bind(event_types)
            .bind(message_ids)
            .bind(payloads)
            .bind(current_traceparent())
            .fetch_optional(&self.pool)
            .await?;
        if let Some((_, queued)) = settled {
            if queued > 0 {
                self.notify_outbox();
            }
            return Ok(());
        }
        // Nothing changed: find out why.
        let Some((status, lines_total)) = status_of(&self.pool, &result.analysis_id).await? else {
            return Err(StoreError::NotFound);
        };
        if status.is_terminal() {
            return Ok(());
        }
        Err(StoreError::Conflict(format!(
            "analysis {id} has {lines_total} lines but the result carries {}",
            result.lines.len()
        )))
    }

    async fn fail_analysis(
        &self,
        id: &AnalysisId,
        error: &AnalysisError,
        at: DateTime<Utc>,
        events: &[WebhookEvent],
    ) -> StoreResult<()> {
        // One statement: the status check and the update happen under the same row lock, the
        // webhook events hang off the change, and the settled notification goes out with the
        // commit.
        let sql = format!(
            "WITH failed AS ( \
                 UPDATE analyses SET status = 'failed', error_code = $1, error_message = $2, completed_at = $3, \
                 updated_at = $3 WHERE id = $4 AND status IN ('queued', 'running') RETURNING id, tenant_id \
             ), {events} \
             SELECT failed.id, (SELECT count(*) FROM queued) FROM failed, LATERAL pg_notify($5, failed.id)",
            events = super::webhooks::emit_events_ctes("(SELECT tenant_id FROM failed)", 6, "$3", "$9"),
        );
        let (event_types, message_ids, payloads) = super::webhooks::event_columns(events);
        let failed: Option<(String, i64)> = sqlx::query_as(&sql)
            .bind(&error.code)
            .bind(&error.message)
            .bind(ts(at))
            .bind(id.as_str())
            .bind(super::SETTLED_CHANNEL)
            .bind(event_types)
            .bind(message_ids)
            .bind(payloads)
            .bind(current_traceparent())
            .fetch_optional(&self.pool)
            .await?;
        if failed.as_ref().is_some_and(|(_, queued)| *queued > 0) {
            self.notify_outbox();
        }
        if failed.is_none() && status_of(&self.pool, id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

/// The analysis' status and line count.
async fn status_of(pool: &sqlx::PgPool, id: &AnalysisId) -> StoreResult<Option<(AnalysisStatus, u64)>> {
    let row: Option<(String, i64)> = sqlx::query_as("SELECT status, lines_total FROM analyses WHERE id = $1")
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?;
    row.map(|(s, n)| Ok((status_from(&s)?, to_u64("lines_total", n)?))).transpose()
}

/// The columns after the analysis' in `load_job_input` and `start_job` (`a` is the analysis).
const INPUT_COLUMNS: &str = "\
    ARRAY(SELECT lines FROM analysis_line_chunks WHERE analysis_id = a.id ORDER BY chunk) AS line_chunks, \
    ARRAY(SELECT path FROM analysis_files WHERE analysis_id = a.id ORDER BY seq) AS file_paths, \
    ARRAY(SELECT content FROM analysis_files WHERE analysis_id = a.id ORDER BY seq) AS file_contents";

/// An analysis with its input, as `load_job_input` reads it.
#[derive(sqlx::FromRow)]
struct JobInputRow {
    #[sqlx(flatten)]
    analysis: AnalysisRow,
    line_chunks: Vec<String>,
    file_paths: Vec<String>,
    file_contents: Vec<String>,
}

impl JobInputRow {
    fn into_job_input(self, id: &AnalysisId) -> StoreResult<JobInput> {
        if self.file_paths.len() != self.file_contents.len() {
            return Err(StoreError::Corrupt(format!("analysis {id}: file paths and contents differ in number")));
        }
        let lines = line_chunks::decode(self.line_chunks.iter().map(String::as_str))?;
        let files = self
            .file_paths
            .into_iter()
            .zip(self.file_contents)
            .map(|(path, content)| {
                Ok(FileContent { path: RepoPath::parse(&path).map_err(|e| corrupt("file path", e))?, content })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(JobInput { analysis: self.analysis.try_into()?, lines, files })
    }
}

/// What `start_job` reads: whether this call started the job, and the input.
#[derive(sqlx::FromRow)]
struct StartRow {
    started: bool,
    #[sqlx(flatten)]
    input: JobInputRow,
}

/// Findings as one array per column (in the order given), for `UNNEST`.
struct FindingColumns<'a> {
    id: Vec<&'a str>,
    rule_id: Vec<&'a str>,
    rule_version: Vec<&'a str>,
    category: Vec<&'a str>,
    severity: Vec<&'a str>,
    message: Vec<&'a str>,
    file_path: Vec<&'a str>,
    start_line: Vec<i64>,
    end_line: Vec<i64>,
    start_column: Vec<i64>,
    end_column: Vec<i64>,
    snippet: Vec<&'a str>,
    fingerprint: Vec<&'a str>,
    attribution: Vec<String>,
    engine: Vec<&'a str>,
    status: Vec<&'static str>,
    suppression: Vec<Option<String>>,
}

impl<'a> FindingColumns<'a> {
    fn of(findings: &'a [Finding]) -> StoreResult<Self> {
        Ok(Self {
            id: findings.iter().map(|f| f.id.as_str()).collect(),
            rule_id: findings.iter().map(|f| f.rule_id.as_str()).collect(),
            rule_version: findings.iter().map(|f| f.rule_version.as_str()).collect(),
            category: findings.iter().map(|f| f.category.as_str()).collect(),
            severity: findings.iter().map(|f| f.severity.as_str()).collect(),
            message: findings.iter().map(|f| f.message.as_str()).collect(),
            file_path: findings.iter().map(|f| f.location.file_path.as_str()).collect(),
            start_line: findings.iter().map(|f| i64::from(f.location.start_line)).collect(),
            end_line: findings.iter().map(|f| i64::from(f.location.end_line)).collect(),
            start_column: findings.iter().map(|f| i64::from(f.location.start_column)).collect(),
            end_column: findings.iter().map(|f| i64::from(f.location.end_column)).collect(),
            snippet: findings.iter().map(|f| f.snippet.as_str()).collect(),
            fingerprint: findings.iter().map(|f| f.fingerprint.as_str()).collect(),
            attribution: findings.iter().map(|f| to_json(&f.attribution)).collect::<StoreResult<_>>()?,
            engine: findings.iter().map(|f| f.engine.as_str()).collect(),
            status: findings.iter().map(|f| finding_status_str(f.status)).collect(),
            suppression: findings
                .iter()
                .map(|f| f.suppression.as_ref().map(to_json).transpose())
                .collect::<StoreResult<_>>()?,
        })
    }
}
