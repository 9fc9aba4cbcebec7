//! What the worker reads and commits (`PipelineRepository`): the job's inputs, the status
//! transitions, stale-job recovery, and the results of one analysis in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::{AnalysisError, AnalysisId, AnalysisStatus, ChangedLine, FileContent, Finding, TenantId};
use sqlx::PgConnection;

use super::rows::{
    ANALYSIS_COLUMNS, AnalysisRow, FileRow, LINE_COLUMNS, LineRow, finding_status_str, parse_id, status_from, to_i64,
    to_json, to_u64,
};
use super::submission::insert_outbox;
use super::{PostgresStore, ts};
use crate::error::{StoreError, StoreResult};
use crate::outbox::OutboxMessage;
use crate::repository::{AnalysisResult, JobInput, PipelineRepository};

/// Rows per statement of the bulk writes (arrays are bound whole, see `submission.rs`).
const ROWS_PER_STATEMENT: usize = 10_000;

#[async_trait]
impl PipelineRepository for PostgresStore {
    async fn load_job_input(&self, id: &AnalysisId) -> StoreResult<Option<JobInput>> {
        // One repeatable-read transaction, so lines and files are the same snapshot as the
        // analysis.
        let mut tx = self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
        let sql = format!("SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE id = $1");
        let Some(row) = sqlx::query_as::<_, AnalysisRow>(&sql).bind(id.as_str()).fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let analysis = row.try_into()?;
        let sql = format!("SELECT {LINE_COLUMNS} FROM analysis_lines WHERE analysis_id = $1 ORDER BY seq");
        let lines = sqlx::query_as::<_, LineRow>(&sql)
            .bind(id.as_str())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(ChangedLine::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        let files = sqlx::query_as::<_, FileRow>(
            "SELECT path, content FROM analysis_files WHERE analysis_id = $1 ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(FileContent::try_from)
        .collect::<StoreResult<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some(JobInput { analysis, lines, files }))
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

    async fn complete_analysis(&self, result: &AnalysisResult) -> StoreResult<()> {
        let id = result.analysis_id.as_str();
        let mut tx = self.pool.begin().await?;
        // The row lock makes a concurrent completion (a redelivered job) wait, then see `completed`.
        let Some((status, lines_total)) = lock_status(&mut tx, &result.analysis_id).await? else {
            return Err(StoreError::NotFound);
        };
        if status.is_terminal() {
            tx.rollback().await?;
            return Ok(());
        }
        if result.lines.len() as u64 != lines_total {
            return Err(StoreError::Conflict(format!(
                "analysis {id} has {lines_total} lines but the result carries {}",
                result.lines.len()
            )));
        }
        update_attributions(&mut tx, &result.analysis_id, &result.lines).await?;
        insert_findings(&mut tx, &result.analysis_id, &result.findings).await?;

        let decision = &result.decision;
        sqlx::query(
            "INSERT INTO decisions (analysis_id, decision_id, outcome, decision, decided_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(decision.id.as_str())
        .bind(decision.outcome.as_str())
        .bind(to_json(decision)?)
        .bind(ts(decision.decided_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO bundles (analysis_id, envelope) VALUES ($1, $2)")
            .bind(id)
            .bind(to_json(&result.bundle)?)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sarif_reports (analysis_id, sarif) VALUES ($1, $2)")
            .bind(id)
            .bind(to_json(&result.sarif)?)
            .execute(&mut *tx)
            .await?;

        sqlx::query(
            "UPDATE analyses SET status = 'completed', findings_total = $1, outcome = $2, error_code = NULL, \
             error_message = NULL, completed_at = $3, updated_at = $3 WHERE id = $4",
        )
        .bind(to_i64("findings_total", result.findings.len() as u64)?)
        .bind(decision.outcome.as_str())
        .bind(ts(result.completed_at))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        // Delivered to listeners when the transaction commits, never before.
        sqlx::query("SELECT pg_notify($1, $2)").bind(super::SETTLED_CHANNEL).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fail_analysis(&self, id: &AnalysisId, error: &AnalysisError, at: DateTime<Utc>) -> StoreResult<()> {
        // One statement: the status check and the update happen under the same row lock.
        let done = sqlx::query(
            "UPDATE analyses SET status = 'failed', error_code = $1, error_message = $2, completed_at = $3, \
             updated_at = $3 WHERE id = $4 AND status IN ('queued', 'running')",
        )
        .bind(&error.code)
        .bind(&error.message)
        .bind(ts(at))
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(super::SETTLED_CHANNEL)
                .bind(id.as_str())
                .execute(&self.pool)
                .await?;
        }
        if done.rows_affected() == 0 {
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM analyses WHERE id = $1)")
                .bind(id.as_str())
                .fetch_one(&self.pool)
                .await?;
            if !exists {
                return Err(StoreError::NotFound);
            }
        }
        Ok(())
    }
}

/// The analysis' status and line count, locking its row until the transaction ends.
async fn lock_status(conn: &mut PgConnection, id: &AnalysisId) -> StoreResult<Option<(AnalysisStatus, u64)>> {
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT status, lines_total FROM analyses WHERE id = $1 FOR UPDATE")
            .bind(id.as_str())
            .fetch_optional(conn)
            .await?;
    row.map(|(s, n)| Ok((status_from(&s)?, to_u64("lines_total", n)?))).transpose()
}

/// Each line's resolved attribution, matched by position (`seq`), one array pair per statement.
async fn update_attributions(conn: &mut PgConnection, id: &AnalysisId, lines: &[ChangedLine]) -> StoreResult<()> {
    for (chunk_no, chunk) in lines.chunks(ROWS_PER_STATEMENT).enumerate() {
        let seq: Vec<i64> = (0..chunk.len()).map(|i| (chunk_no * ROWS_PER_STATEMENT + i) as i64).collect();
        let attribution = chunk.iter().map(|l| to_json(&l.attribution)).collect::<StoreResult<Vec<_>>>()?;
        sqlx::query(
            "UPDATE analysis_lines AS l SET attribution = u.attribution \
             FROM UNNEST($2::bigint[], $3::text[]) AS u (seq, attribution) \
             WHERE l.analysis_id = $1 AND l.seq = u.seq",
        )
        .bind(id.as_str())
        .bind(seq)
        .bind(attribution)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Findings in the order given (`seq` from 0), one array per column per statement.
async fn insert_findings(conn: &mut PgConnection, id: &AnalysisId, findings: &[Finding]) -> StoreResult<()> {
    for (chunk_no, chunk) in findings.chunks(ROWS_PER_STATEMENT).enumerate() {
        let n = chunk.len();
        let mut seq = Vec::with_capacity(n);
        let (mut fid, mut rule_id, mut rule_version, mut category, mut severity, mut message) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut file_path, mut start_line, mut end_line, mut start_column, mut end_column) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut snippet, mut fingerprint, mut attribution, mut engine, mut status, mut suppression) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (i, f) in chunk.iter().enumerate() {
            seq.push((chunk_no * ROWS_PER_STATEMENT + i) as i64);
            fid.push(f.id.as_str());
            rule_id.push(f.rule_id.as_str());
            rule_version.push(f.rule_version.as_str());
            category.push(f.category.as_str());
            severity.push(f.severity.as_str());
            message.push(f.message.as_str());
            file_path.push(f.location.file_path.as_str());
            start_line.push(i64::from(f.location.start_line));
            end_line.push(i64::from(f.location.end_line));
            start_column.push(i64::from(f.location.start_column));
            end_column.push(i64::from(f.location.end_column));
            snippet.push(f.snippet.as_str());
            fingerprint.push(f.fingerprint.as_str());
            attribution.push(to_json(&f.attribution)?);
            engine.push(f.engine.as_str());
            status.push(finding_status_str(f.status));
            suppression.push(f.suppression.as_ref().map(to_json).transpose()?);
        }
        sqlx::query(
            "INSERT INTO findings (analysis_id, seq, id, rule_id, rule_version, category, severity, message, \
             file_path, start_line, end_line, start_column, end_column, snippet, fingerprint, attribution, engine, \
             status, suppression) \
             SELECT $1, u.seq, u.id, u.rule_id, u.rule_version, u.category, u.severity, u.message, u.file_path, \
             u.start_line, u.end_line, u.start_column, u.end_column, u.snippet, u.fingerprint, u.attribution, \
             u.engine, u.status, u.suppression \
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
             $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::text[], \
             $16::text[], $17::text[], $18::text[], $19::text[]) \
             AS u (seq, id, rule_id, rule_version, category, severity, message, file_path, start_line, end_line, \
             start_column, end_column, snippet, fingerprint, attribution, engine, status, suppression)",
        )
        .bind(id.as_str())
        .bind(seq)
        .bind(fid)
        .bind(rule_id)
        .bind(rule_version)
        .bind(category)
        .bind(severity)
        .bind(message)
        .bind(file_path)
        .bind(start_line)
        .bind(end_line)
        .bind(start_column)
        .bind(end_column)
        .bind(snippet)
        .bind(fingerprint)
        .bind(attribution)
        .bind(engine)
        .bind(status)
        .bind(suppression)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
