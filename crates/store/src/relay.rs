//! The outbox relay (distributed mode): claims outbox rows, publishes each to the broker, waits
//! for the publisher confirm, and only then deletes the row. A relay that dies between publish
//! and delete leaves the row leased; when the lease (30 s) runs out, any relay publishes it again.
//! Consumers are idempotent by job id, so a re-publish never becomes a second decision.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::Store;
use crate::outbox::OutboxRow;

/// A broker that accepts a message only when it has it safely (publisher confirms).
#[async_trait]
pub trait Publisher: Send + Sync {
    /// Publish `row` on its topic and wait for the broker's confirm. `Err` means the message may
    /// or may not have arrived; the relay will publish it again later.
    async fn publish(&self, row: &OutboxRow) -> Result<(), PublishError>;
}

#[derive(Debug, thiserror::Error)]
#[error("publishing failed: {0}")]
pub struct PublishError(pub String);

/// Relay settings.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Topics whose rows this relay publishes.
    pub topics: Vec<String>,
    /// How long a claimed row stays reserved for this relay; an unconfirmed row is re-published
    /// by someone after this (SPEC §9: 30 s).
    pub lease: Duration,
    /// Safety-net poll interval (commits in this process wake the relay at once).
    pub poll_interval: Duration,
    /// Delay before retrying a row whose publish failed.
    pub retry_delay: Duration,
    /// Rows claimed, published and deleted together.
    pub batch: u32,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            // Every topic that goes through the outbox: analysis jobs and webhook deliveries.
            topics: crate::amqp::topics::ALL.iter().map(ToString::to_string).collect(),
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            retry_delay: Duration::from_secs(1),
            batch: 64,
        }
    }
}

pub struct OutboxRelay {
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    settings: RelaySettings,
}

impl OutboxRelay {
    pub fn new(store: Arc<dyn Store>, publisher: Arc<dyn Publisher>, settings: RelaySettings) -> Self {
        Self { store, publisher, settings }
    }

    /// Publish everything due, then wait for a commit notification or the poll interval; until
    /// `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let published = match self.drain().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay pass failed");
                    0
                }
            };
            if published > 0 {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = self.store.outbox_notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }

    /// One pass: claim and publish due rows of every topic, a batch at a time (the batch's
    /// publishes in flight together, then one delete for every confirmed row), until none is left
    /// or a publish fails. Returns how many were published.
    pub async fn drain(&self) -> crate::StoreResult<usize> {
        let mut published = 0;
        for topic in &self.settings.topics {
            loop {
                let rows = self.store.claim_outbox_batch(topic, self.settings.lease, self.settings.batch).await?;
                if rows.is_empty() {
                    break;
                }
                let results = join_all(rows.iter().map(|row| self.publisher.publish(row))).await;
                let mut confirmed = Vec::with_capacity(rows.len());
                let mut failed = false;
                for (row, result) in rows.iter().zip(results) {
                    match result {
                        Ok(()) => {
                            let lag = (Utc::now() - row.created_at).num_milliseconds().max(0) as f64 / 1000.0;
                            metrics::histogram!("provenance_outbox_lag_seconds", "topic" => topic.clone()).record(lag);
                            confirmed.push(row.id);
                        }
                        Err(e) => {
                            tracing::warn!(topic = %topic, key = %row.key, error = %e, "publish failed; will retry");
                            let at =
                                Utc::now() + chrono::Duration::from_std(self.settings.retry_delay).unwrap_or_default();
                            self.store.retry_outbox(row.id, at, &e.to_string()).await?;
                            metrics::counter!("provenance_outbox_publish_failures_total", "topic" => topic.clone())
                                .increment(1);
                            failed = true;
                        }
                    }
                }
                if !confirmed.is_empty() {
                    self.store.complete_outbox_batch(&confirmed).await?;
                }
                metrics::counter!("provenance_outbox_published_total", "topic" => topic.clone())
                    .increment(confirmed.len() as u64);
                published += confirmed.len();
                if failed {
                    break;
                }
            }
        }
        Ok(published)
    }
}
