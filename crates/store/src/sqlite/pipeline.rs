//! What the worker reads and commits (`PipelineRepository`): the job's inputs, the status
//! transitions, and the results of one analysis in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::{AnalysisError, AnalysisId, AnalysisStatus, ChangedLine, FileContent, Finding, TenantId};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::rows::{ANALYSIS_COLUMNS, AnalysisRow, FileRow, finding_status_str, parse_id, status_from, to_i64, to_json};
use super::submission::insert_outbox;
use super::timestamps::to_text;
use crate::error::{StoreError, StoreResult};
use crate::line_chunks;
use crate::outbox::OutboxMessage;
use crate::repository::{AnalysisResult, JobInput, PipelineRepository, WebhookEvent};

const MAX_BINDS_PER_STATEMENT: usize = 30_000;
const FINDING_BINDS: usize = 19;

#[async_trait]
impl PipelineRepository for SqliteStore {
    async fn load_job_input(&self, id: &AnalysisId) -> StoreResult<Option<JobInput>> {
        // One read transaction, so lines and files are the same snapshot as the analysis.
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE id = ?");
        let Some(row) = sqlx::query_as::<_, AnalysisRow>(&sql).bind(id.as_str()).fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let analysis = row.try_into()?;
        let chunks: Vec<String> =
            sqlx::query_scalar("SELECT lines FROM analysis_line_chunks WHERE analysis_id = ? ORDER BY chunk")
                .bind(id.as_str())
                .fetch_all(&mut *tx)
                .await?;
        let lines = line_chunks::decode(chunks.iter().map(String::as_str))?;
        let files =
            sqlx::query_as::<_, FileRow>("SELECT path, content FROM analysis_files WHERE analysis_id = ? ORDER BY seq")
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
        let at = to_text(at);
        let done = sqlx::query(
            "UPDATE analyses SET status = 'running', started_at = ?, heartbeat_at = ?, updated_at = ? \
             WHERE id = ? AND status IN ('queued', 'running')",
        )
        .bind(&at)
        .bind(&at)
        .bind(&at)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn heartbeat(&self, id: &AnalysisId, at: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE analyses SET heartbeat_at = ? WHERE id = ? AND status = 'running'")
            .bind(to_text(at))
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The stalest first. An analysis that heartbeats, completes or fails between the pick and
    /// its own transaction is left alone (the update re-checks the condition).
    async fn requeue_stale(
        &self,
        stale_before: DateTime<Utc>,
        limit: u32,
        job: &(dyn for<'a> Fn(&'a AnalysisId, &'a TenantId) -> OutboxMessage + Send + Sync),
    ) -> StoreResult<Vec<AnalysisId>> {
        let stale_before = to_text(stale_before);
        let candidates: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM analyses WHERE status = 'running' AND heartbeat_at < ? ORDER BY heartbeat_at, id LIMIT ?",
        )
        .bind(&stale_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut requeued = Vec::with_capacity(candidates.len());
        for id in candidates {
            let now = Utc::now();
            let mut tx = self.begin_write().await?;
            let tenant: Option<String> = sqlx::query_scalar(
                "UPDATE analyses SET status = 'queued', updated_at = ? \
                 WHERE id = ? AND status = 'running' AND heartbeat_at < ? RETURNING tenant_id",
            )
            .bind(to_text(now))
            .bind(&id)
            .bind(&stale_before)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(tenant) = tenant else {
                tx.rollback().await?;
                continue;
            };
            let id: AnalysisId = parse_id("analysis id", &id)?;
            let tenant: TenantId = parse_id("tenant id", &tenant)?;
            let message = job(&id, &tenant);
            insert_outbox(&mut tx, &message, now).await?;
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
        let mut tx = self.begin_write().await?;
        let Some((status, lines_total)) = status_of(&mut tx, &result.analysis_id).await? else {
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
        update_lines(&mut tx, &result.analysis_id, &result.lines).await?;
        insert_findings(&mut tx, &result.analysis_id, &result.findings).await?;

        let decision = &result.decision;
        sqlx::query(
            "INSERT INTO decisions (analysis_id, decision_id, outcome, decision, decided_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(decision.id.as_str())
        .bind(decision.outcome.as_str())
        .bind(to_json(decision)?)
        .bind(to_text(decision.decided_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO bundles (analysis_id, envelope) VALUES (?, ?)")
            .bind(id)
            .bind(to_json(&result.bundle)?)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO sarif_reports (analysis_id, sarif) VALUES (?, ?)")
            .bind(id)
            .bind(to_json(&result.sarif)?)
            .execute(&mut *tx)
            .await?;

        let completed_at = to_text(result.completed_at);
        sqlx::query(
            "UPDATE analyses SET status = 'completed', findings_total = ?, outcome = ?, error_code = NULL, \
             error_message = NULL, completed_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(to_i64("findings_total", result.findings.len() as u64)?)
        .bind(decision.outcome.as_str())
        .bind(&completed_at)
        .bind(&completed_at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let queued = if result.events.is_empty() {
            0
        } else {
            let tenant: String =
                sqlx::query_scalar("SELECT tenant_id FROM analyses WHERE id = ?").bind(id).fetch_one(&mut *tx).await?;
            super::webhooks::emit_in_tx(&mut tx, &tenant, &result.events, result.completed_at).await?
        };
        tx.commit().await?;
        self.announce_settled(&result.analysis_id);
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(())
    }

    async fn fail_analysis(
        &self,
        id: &AnalysisId,
        error: &AnalysisError,
        at: DateTime<Utc>,
        events: &[WebhookEvent],
    ) -> StoreResult<()> {
        let failed_at = at;
        let at = to_text(at);
        let mut tx = self.begin_write().await?;
        let Some((status, _)) = status_of(&mut tx, id).await? else {
            return Err(StoreError::NotFound);
        };
        if !status.is_terminal() {
            sqlx::query(
                "UPDATE analyses SET status = 'failed', error_code = ?, error_message = ?, completed_at = ?, \
                 updated_at = ? WHERE id = ?",
            )
            .bind(&error.code)
            .bind(&error.message)
            .bind(&at)
            .bind(&at)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
            let queued = if events.is_empty() {
                0
            } else {
                let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM analyses WHERE id = ?")
                    .bind(id.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                super::webhooks::emit_in_tx(&mut tx, &tenant, events, failed_at).await?
            };
            tx.commit().await?;
            self.announce_settled(id);
            if queued > 0 {
                self.notify_outbox();
            }
            return Ok(());
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn status_of(conn: &mut SqliteConnection, id: &AnalysisId) -> StoreResult<Option<(AnalysisStatus, u64)>> {
    let row: Option<(String, i64)> = sqlx::query_as("SELECT status, lines_total FROM analyses WHERE id = ?")
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?;
    row.map(|(s, n)| Ok((status_from(&s)?, super::rows::to_u64("lines_total", n)?))).transpose()
}

/// The lines again, now with their resolved attribution, chunk for chunk.
async fn update_lines(conn: &mut SqliteConnection, id: &AnalysisId, lines: &[ChangedLine]) -> StoreResult<()> {
    for (chunk, text) in line_chunks::encode(lines)? {
        sqlx::query(
            "UPDATE analysis_line_chunks SET lines = ?1 WHERE analysis_id = ?2 AND chunk = ?3 AND lines IS NOT ?1",
        )
        .bind(text)
        .bind(id.as_str())
        .bind(chunk)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Findings in the order given (`seq` from 0), many per statement.
async fn insert_findings(conn: &mut SqliteConnection, id: &AnalysisId, findings: &[Finding]) -> StoreResult<()> {
    let rows_per_statement = MAX_BINDS_PER_STATEMENT / FINDING_BINDS;
    for (chunk_no, chunk) in findings.chunks(rows_per_statement).enumerate() {
        let mut encoded = Vec::with_capacity(chunk.len());
        for (i, f) in chunk.iter().enumerate() {
            let suppression = f.suppression.as_ref().map(to_json).transpose()?;
            encoded.push(((chunk_no * rows_per_statement + i) as i64, f, to_json(&f.attribution)?, suppression));
        }
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO findings (analysis_id, seq, id, rule_id, rule_version, category, severity, message, \
             file_path, start_line, end_line, start_column, end_column, snippet, fingerprint, attribution, engine, \
             status, suppression) ",
        );
        q.push_values(encoded, |mut b, (seq, f, attribution, suppression)| {
            b.push_bind(id.as_str())
                .push_bind(seq)
                .push_bind(f.id.as_str())
                .push_bind(f.rule_id.as_str())
                .push_bind(f.rule_version.as_str())
                .push_bind(f.category.as_str())
                .push_bind(f.severity.as_str())
                .push_bind(f.message.as_str())
                .push_bind(f.location.file_path.as_str())
                .push_bind(i64::from(f.location.start_line))
                .push_bind(i64::from(f.location.end_line))
                .push_bind(i64::from(f.location.start_column))
                .push_bind(i64::from(f.location.end_column))
                .push_bind(f.snippet.as_str())
                .push_bind(f.fingerprint.as_str())
                .push_bind(attribution)
                .push_bind(f.engine.as_str())
                .push_bind(finding_status_str(f.status))
                .push_bind(suppression);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}
