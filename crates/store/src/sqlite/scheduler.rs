//! The scheduler's record of duty runs and retention (`SchedulerRepository`), as the Postgres
//! store has them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::TenantId;

use super::SqliteStore;
use super::timestamps::{from_text, to_text};
use crate::error::StoreResult;
use crate::repository::{PurgeReport, RetentionRules, SchedulerRecord, SchedulerRepository, SchedulerRun};
use crate::row_codec::{RunRow, retention_cutoffs, to_i64};

#[async_trait]
impl SchedulerRepository for SqliteStore {
    async fn record_scheduler_run(&self, run: &SchedulerRun) -> StoreResult<()> {
        let (items, error) = match &run.result {
            Ok(n) => (to_i64("items", *n)?, None),
            Err(e) => (0, Some(e.as_str())),
        };
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO scheduler_runs (job, every_seconds, started_at, duration_ms, result, items, error, runner, \
             runs, failures, last_success_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, CASE WHEN ?7 IS NULL THEN 0 ELSE 1 END, \
             CASE WHEN ?7 IS NULL THEN ?3 END) \
             ON CONFLICT (job) DO UPDATE SET every_seconds = excluded.every_seconds, \
             started_at = excluded.started_at, duration_ms = excluded.duration_ms, result = excluded.result, \
             items = excluded.items, error = excluded.error, runner = excluded.runner, \
             runs = scheduler_runs.runs + 1, failures = scheduler_runs.failures + excluded.failures, \
             last_success_at = COALESCE(excluded.last_success_at, scheduler_runs.last_success_at)",
        )
        .bind(&run.job)
        .bind(to_i64("every_seconds", run.every_seconds)?)
        .bind(to_text(run.started_at))
        .bind(to_i64("duration_ms", run.duration_ms)?)
        .bind(if run.result.is_ok() { "ok" } else { "error" })
        .bind(items)
        .bind(error)
        .bind(&run.runner)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_scheduler_runs(&self) -> StoreResult<Vec<SchedulerRecord>> {
        let rows: Vec<RunRow<String>> = sqlx::query_as(
            "SELECT job, every_seconds, started_at, duration_ms, result, items, error, runner, runs, failures, \
             last_success_at FROM scheduler_runs ORDER BY job",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|r| r.into_record(|t| from_text(&t))).collect()
    }

    async fn tenant_retention(&self, tenant: &TenantId) -> StoreResult<Option<u32>> {
        let days: Option<Option<i64>> = sqlx::query_scalar("SELECT retention_days FROM tenants WHERE id = ?1")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(days.flatten().and_then(|d| u32::try_from(d).ok()))
    }

    async fn set_tenant_retention(&self, tenant: &TenantId, days: Option<u32>) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE tenants SET retention_days = ?2 WHERE id = ?1")
            .bind(tenant.as_str())
            .bind(days.map(i64::from))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tenant by tenant (each with its own cutoffs), a bounded batch of each kind, one write
    /// transaction per tenant.
    async fn purge_expired(&self, rules: &RetentionRules, now: DateTime<Utc>, limit: u32) -> StoreResult<PurgeReport> {
        let tenants: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT id, retention_days FROM tenants ORDER BY id").fetch_all(&self.pool).await?;
        let mut report = PurgeReport::default();
        let limit = i64::from(limit);
        for (tenant, days) in tenants {
            let (details_before, records_before) =
                retention_cutoffs(rules, days.and_then(|d| i32::try_from(d).ok()), now);
            let (details_before, records_before) = (to_text(details_before), to_text(records_before));
            let mut tx = self.begin_write().await?;
            let deleted = sqlx::query(
                "DELETE FROM analyses WHERE id IN (SELECT id FROM analyses WHERE tenant_id = ?1 AND created_at < ?2 \
                 AND status IN ('completed', 'failed') ORDER BY created_at LIMIT ?3)",
            )
            .bind(&tenant)
            .bind(&records_before)
            .bind(limit)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let expired: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM analyses WHERE tenant_id = ?1 AND created_at < ?2 AND purged_at IS NULL \
                 AND status IN ('completed', 'failed') ORDER BY created_at LIMIT ?3",
            )
            .bind(&tenant)
            .bind(&details_before)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            for id in &expired {
                for table in ["analysis_line_chunks", "analysis_files", "findings", "sarif_reports"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE analysis_id = ?1"))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("UPDATE analyses SET purged_at = ?2 WHERE id = ?1")
                    .bind(id)
                    .bind(to_text(now))
                    .execute(&mut *tx)
                    .await?;
            }
            let attempts = sqlx::query(
                "DELETE FROM webhook_attempts WHERE id IN (SELECT w.id FROM webhook_attempts w \
                 JOIN webhook_endpoints e ON e.id = w.endpoint_id WHERE e.tenant_id = ?1 AND w.attempted_at < ?2 \
                 ORDER BY w.attempted_at LIMIT ?3)",
            )
            .bind(&tenant)
            .bind(&details_before)
            .bind(limit)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let messages = sqlx::query(
                "DELETE FROM webhook_messages WHERE id IN (SELECT m.id FROM webhook_messages m WHERE m.tenant_id = ?1 \
                 AND m.created_at < ?2 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
                 WHERE d.message_id = m.id AND d.status = 'pending') ORDER BY m.created_at LIMIT ?3)",
            )
            .bind(&tenant)
            .bind(&details_before)
            .bind(limit)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            report.analyses_deleted += deleted;
            report.analyses_purged += expired.len() as u64;
            report.attempts_deleted += attempts;
            report.messages_deleted += messages;
        }
        Ok(report)
    }
}
