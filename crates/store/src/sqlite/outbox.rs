//! The outbox table as a lease-based queue (`OutboxRepository`): a claim leases the oldest due
//! row; a lease that runs out (the worker died) makes the row claimable again.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::SqliteStore;
use super::rows::{to_u32, to_u64};
use super::timestamps::{after, from_text, to_text};
use crate::error::{StoreError, StoreResult};
use crate::outbox::OutboxRow;
use crate::repository::OutboxRepository;

#[async_trait]
impl OutboxRepository for SqliteStore {
    async fn claim_outbox(&self, topic: &str, lease: Duration) -> StoreResult<Option<OutboxRow>> {
        let now = Utc::now();
        let now_text = to_text(now);
        // One statement, so the pick and the lease are atomic under SQLite's single writer.
        let row: Option<(i64, String, String, Vec<u8>, i64, String, Option<String>)> = sqlx::query_as(
            "UPDATE outbox SET locked_until = ?, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM outbox \
                         WHERE topic = ? AND available_at <= ? AND (locked_until IS NULL OR locked_until <= ?) \
                         ORDER BY available_at, id LIMIT 1) \
             RETURNING id, topic, key, payload, attempts, created_at, traceparent",
        )
        .bind(after(now, lease))
        .bind(topic)
        .bind(&now_text)
        .bind(&now_text)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, topic, key, payload, attempts, created_at, traceparent)) = row else { return Ok(None) };
        // Pass the baton: another waiting consumer tries the next row rather than waiting for its
        // poll interval. It finds nothing at worst, and then waits again.
        self.notify_outbox();
        Ok(Some(OutboxRow {
            id,
            topic,
            key,
            payload,
            attempts: to_u32("attempts", attempts)?,
            created_at: from_text(&created_at)?,
            traceparent,
        }))
    }

    async fn extend_lease(&self, id: i64, lease: Duration) -> StoreResult<()> {
        let done = sqlx::query("UPDATE outbox SET locked_until = ? WHERE id = ?")
            .bind(after(Utc::now(), lease))
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
        sqlx::query("DELETE FROM outbox WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn retry_outbox(&self, id: i64, at: DateTime<Utc>, error: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE outbox SET locked_until = NULL, available_at = ?, last_error = ? WHERE id = ?")
            .bind(to_text(at))
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
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE topic = ?").bind(topic).fetch_one(&self.pool).await?;
        to_u64("outbox depth", n)
    }

    async fn outbox_notified(&self) {
        self.outbox_notify.notified().await;
    }
}
