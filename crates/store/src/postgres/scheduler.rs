//! The scheduler's record of duty runs and retention (`SchedulerRepository`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::TenantId;

use super::{PostgresStore, ts};
use crate::error::StoreResult;
use crate::repository::{PurgeReport, RetentionRules, SchedulerRecord, SchedulerRepository, SchedulerRun};
use crate::row_codec::{RunRow, retention_cutoffs, to_i64};

#[async_trait]
impl SchedulerRepository for PostgresStore {
    async fn record_scheduler_run(&self, run: &SchedulerRun) -> StoreResult<()> {
        let (items, error) = match &run.result {
            Ok(n) => (to_i64("items", *n)?, None),
            Err(e) => (0, Some(e.as_str())),
        };
        sqlx::query(
            "INSERT INTO scheduler_runs (job, every_seconds, started_at, duration_ms, result, items, error, runner, \
             runs, failures, last_success_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, CASE WHEN $7::text IS NULL THEN 0 ELSE 1 END, \
             CASE WHEN $7::text IS NULL THEN $3 END) \
             ON CONFLICT (job) DO UPDATE SET every_seconds = EXCLUDED.every_seconds, \
             started_at = EXCLUDED.started_at, duration_ms = EXCLUDED.duration_ms, result = EXCLUDED.result, \
             items = EXCLUDED.items, error = EXCLUDED.error, runner = EXCLUDED.runner, \
             runs = scheduler_runs.runs + 1, failures = scheduler_runs.failures + EXCLUDED.failures, \
             last_success_at = COALESCE(EXCLUDED.last_success_at, scheduler_runs.last_success_at)",
        )
        .bind(&run.job)
        .bind(to_i64("every_seconds", run.every_seconds)?)
        .bind(ts(run.started_at))
        .bind(to_i64("duration_ms", run.duration_ms)?)
        .bind(if run.result.is_ok() { "ok" } else { "error" })
        .bind(items)
        .bind(error)
        .bind(&run.runner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_scheduler_runs(&self) -> StoreResult<Vec<SchedulerRecord>> {
        let rows: Vec<RunRow<DateTime<Utc>>> = sqlx::query_as(
            "SELECT job, every_seconds, started_at, duration_ms, result, items, error, runner, runs, failures, \
             last_success_at FROM scheduler_runs ORDER BY job",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|r| r.into_record(Ok)).collect()
    }

    async fn tenant_retention(&self, tenant: &TenantId) -> StoreResult<Option<u32>> {
        let days: Option<Option<i32>> = sqlx::query_scalar("SELECT retention_days FROM tenants WHERE id = $1")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(days.flatten().and_then(|d| u32::try_from(d).ok()))
    }

    async fn set_tenant_retention(&self, tenant: &TenantId, days: Option<u32>) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET retention_days = $2 WHERE id = $1")
            .bind(tenant.as_str())
            .bind(days.map(|d| i32::try_from(d).unwrap_or(i32::MAX)))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Tenant by tenant (each with its own cutoffs), a bounded batch of each kind.
    async fn purge_expired(&self, rules: &RetentionRules, now: DateTime<Utc>, limit: u32) -> StoreResult<PurgeReport> {
        let tenants: Vec<(String, Option<i32>)> =
            sqlx::query_as("SELECT id, retention_days FROM tenants ORDER BY id").fetch_all(&self.pool).await?;
        let mut report = PurgeReport::default();
        let limit = i64::from(limit);
        for (tenant, days) in tenants {
            let (details_before, records_before) = retention_cutoffs(rules, days, now);
            let (purged, deleted, attempts, messages): (i64, i64, i64, i64) = sqlx::query_as(
                "WITH expired AS ( \
                     SELECT id FROM analyses WHERE tenant_id = $1 AND created_at < $2 AND created_at >= $3 \
                     AND purged_at IS NULL AND status IN ('completed', 'failed') \
                     ORDER BY created_at LIMIT $4 FOR UPDATE SKIP LOCKED \
                 ), \
                 chunks AS (DELETE FROM analysis_line_chunks WHERE analysis_id IN (SELECT id FROM expired)), \
                 files AS (DELETE FROM analysis_files WHERE analysis_id IN (SELECT id FROM expired)), \
                 findings AS (DELETE FROM findings WHERE analysis_id IN (SELECT id FROM expired)), \
                 sarif AS (DELETE FROM sarif_reports WHERE analysis_id IN (SELECT id FROM expired)), \
                 purged AS (UPDATE analyses SET purged_at = $5 WHERE id IN (SELECT id FROM expired) RETURNING 1), \
                 deleted AS ( \
                     DELETE FROM analyses WHERE id IN (SELECT id FROM analyses WHERE tenant_id = $1 \
                     AND created_at < $3 AND status IN ('completed', 'failed') ORDER BY created_at LIMIT $4) \
                     RETURNING 1 \
                 ), attempts AS ( \
                     DELETE FROM webhook_attempts WHERE id IN (SELECT w.id FROM webhook_attempts w \
                     JOIN webhook_endpoints e ON e.id = w.endpoint_id WHERE e.tenant_id = $1 \
                     AND w.attempted_at < $2 ORDER BY w.attempted_at LIMIT $4) RETURNING 1 \
                 ), messages AS ( \
                     DELETE FROM webhook_messages WHERE id IN (SELECT m.id FROM webhook_messages m \
                     WHERE m.tenant_id = $1 AND m.created_at < $2 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                     WHERE d.message_id = m.id AND d.status = 'pending') ORDER BY m.created_at LIMIT $4) RETURNING 1 \
                 ) SELECT (SELECT count(*) FROM purged), (SELECT count(*) FROM deleted), \
                 (SELECT count(*) FROM attempts), (SELECT count(*) FROM messages)",
            )
            .bind(&tenant)
            .bind(ts(details_before))
            .bind(ts(records_before))
            .bind(limit)
            .bind(ts(now))
            .fetch_one(&self.pool)
            .await?;
            report.analyses_purged += purged.unsigned_abs();
            report.analyses_deleted += deleted.unsigned_abs();
            report.attempts_deleted += attempts.unsigned_abs();
            report.messages_deleted += messages.unsigned_abs();
        }
        Ok(report)
    }
}
