//! The outbox relay (distributed mode): claims outbox rows, publishes each to the broker, waits
//! for the publisher confirm, and only then deletes the row. A relay that dies between publish
//! and delete leaves the row leased; when the lease (30 s) runs out, any relay publishes it again.
//! Consumers are idempotent by job id, so a re-publish never becomes a second decision.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
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
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            topics: vec![crate::topics::ANALYSIS_JOBS.to_string()],
            lease: Duration::from_secs(30),
            poll_interval: Duration::from_secs(1),
            retry_delay: Duration::from_secs(1),
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

    /// One pass: claim and publish due rows of every topic until none is left or a publish
    /// fails. Returns how many were published.
    pub async fn drain(&self) -> crate::StoreResult<usize> {
        let mut published = 0;
        for topic in &self.settings.topics {
            while let Some(row) = self.store.claim_outbox(topic, self.settings.lease).await? {
                let lag = (Utc::now() - row.created_at).num_milliseconds().max(0) as f64 / 1000.0;
                match self.publisher.publish(&row).await {
                    Ok(()) => {
                        self.store.complete_outbox(row.id).await?;
                        metrics::histogram!("provenance_outbox_lag_seconds", "topic" => topic.clone()).record(lag);
                        metrics::counter!("provenance_outbox_published_total", "topic" => topic.clone()).increment(1);
                        published += 1;
                    }
                    Err(e) => {
                        tracing::warn!(topic = %topic, key = %row.key, error = %e, "publish failed; will retry");
                        let at = Utc::now() + chrono::Duration::from_std(self.settings.retry_delay).unwrap_or_default();
                        self.store.retry_outbox(row.id, at, &e.to_string()).await?;
                        metrics::counter!("provenance_outbox_publish_failures_total", "topic" => topic.clone())
                            .increment(1);
                        break;
                    }
                }
            }
        }
        Ok(published)
    }
}
