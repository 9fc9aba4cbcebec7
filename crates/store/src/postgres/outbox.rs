//! The outbox table as a lease-based queue (`OutboxRepository`), shared by every relay and
//! consumer of every replica: a claim leases the oldest due row with `FOR UPDATE SKIP LOCKED`, so
//! concurrent claimers never wait for each other nor take the same row; a lease that runs out (its
//! holder died) makes the row claimable again. Leases and due times are measured with the
//! database clock, the one clock every replica shares.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::{to_u32, to_u64};
use super::{PostgresStore, micros, ts};
use crate::error::{StoreError, StoreResult};
use crate::outbox::OutboxRow;
use crate::repository::OutboxRepository;

#[async_trait]
impl OutboxRepository for PostgresStore {
    async fn claim_outbox(&self, topic: &str, lease: Duration) -> StoreResult<Option<OutboxRow>> {
        // One statement: the pick (skipping rows another claimer has locked this instant) and the
        // lease commit together.
        let row: Option<(i64, String, String, Vec<u8>, i64, DateTime<Utc>, Option<String>)> = sqlx::query_as(
            "UPDATE outbox SET locked_until = now() + $2 * interval '1 microsecond', attempts = attempts + 1 \
             WHERE id = (SELECT id FROM outbox \
                         WHERE topic = $1 AND available_at <= now() \
                           AND (locked_until IS NULL OR locked_until <= now()) \
                         ORDER BY available_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING id, topic, key, payload, attempts, created_at, traceparent",
        )
        .bind(topic)
        .bind(micros(lease))
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, topic, key, payload, attempts, created_at, traceparent)) = row else { return Ok(None) };
        // Pass the baton: another waiting consumer of this process tries the next row rather than
        // waiting for its poll interval. It finds nothing at worst, and then waits again.
        self.notify_outbox();
        let attempts = to_u32("attempts", attempts)?;
        Ok(Some(OutboxRow { id, topic, key, payload, attempts, created_at, traceparent }))
    }

    /// One statement for the whole batch, like `claim_outbox`.
    async fn claim_outbox_batch(&self, topic: &str, lease: Duration, limit: u32) -> StoreResult<Vec<OutboxRow>> {
        let rows: Vec<(i64, String, String, Vec<u8>, i64, DateTime<Utc>, Option<String>)> = sqlx::query_as(
            "UPDATE outbox SET locked_until = now() + $2 * interval '1 microsecond', attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox \
                          WHERE topic = $1 AND available_at <= now() \
                            AND (locked_until IS NULL OR locked_until <= now()) \
                          ORDER BY available_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, topic, key, payload, attempts, created_at, traceparent",
        )
        .bind(topic)
        .bind(micros(lease))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        if !rows.is_empty() {
            self.notify_outbox();
        }
        let mut rows = rows
            .into_iter()
            .map(|(id, topic, key, payload, attempts, created_at, traceparent)| {
                let attempts = to_u32("attempts", attempts)?;
                Ok(OutboxRow { id, topic, key, payload, attempts, created_at, traceparent })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // RETURNING has no order; ids are insertion order.
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    async fn complete_outbox_batch(&self, ids: &[i64]) -> StoreResult<()> {
        sqlx::query("DELETE FROM outbox WHERE id = ANY($1)").bind(ids).execute(&self.pool).await?;
        Ok(())
    }

    async fn extend_lease(&self, id: i64, lease: Duration) -> StoreResult<()> {
        let done = sqlx::query("UPDATE outbox SET locked_until = now() + $1 * interval '1 microsecond' WHERE id = $2")
            .bind(micros(lease))
            .bind(id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Completing a row that is already gone is not an error (a redelivered job may finish twice).
    async fn complete_outbox(&self, id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM outbox WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn retry_outbox(&self, id: i64, at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE outbox SET locked_until = NULL, available_at = $1, last_error = $2 WHERE id = $3")
                .bind(ts(at))
                .bind(error)
                .bind(id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if at <= Utc::now() {
            self.notify_outbox();
        }
        Ok(())
    }

    async fn outbox_depth(&self, topic: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE topic = $1")
            .bind(topic)
            .fetch_one(&self.pool)
            .await?;
        to_u64("outbox depth", n)
    }

    async fn outbox_notified(&self) {
        self.outbox_notify.notified().await;
    }
}
