//! Job queues as the worker sees them, and the embedded queue of one-process mode: the outbox
//! table itself, claimed with leases, woken on commit and polled as a safety net.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use tokio::time::Instant;

use crate::error::StoreResult;
use crate::repository::Store;

/// A job handed to a worker. It stays leased to that worker until `ack`, `retry`, or the lease
/// runs out (then it is delivered again, with `attempts` one higher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The outbox row id (embedded) or the AMQP delivery tag (distributed).
    pub id: i64,
    /// Which consumer channel delivered it (AMQP delivery tags restart on every new channel, so
    /// an ack must go to the channel that delivered). Always 0 in embedded mode.
    pub generation: u64,
    pub key: String,
    pub payload: Vec<u8>,
    /// Deliveries of this job so far, this one included.
    pub attempts: u32,
    /// The W3C `traceparent` of the request or job that caused this one: its span's parent.
    pub traceparent: Option<String>,
}

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Wait for the next job. Cancel-safe: dropping the future never loses a job (at worst a job
    /// claimed at the instant of cancellation waits out its lease and is delivered again).
    async fn receive(&self) -> StoreResult<Delivery>;
    /// The job is done and its results are committed.
    async fn ack(&self, delivery: &Delivery) -> StoreResult<()>;
    /// Deliver the job again after `delay`, recording why it failed this time.
    async fn retry(&self, delivery: &Delivery, delay: Duration, error: &str) -> StoreResult<()>;
    /// Extend the lease while the job is still being worked on.
    async fn keep_alive(&self, delivery: &Delivery) -> StoreResult<()>;
    /// Give up on the job for good: it goes to the dead-letter queue where the transport has one
    /// (distributed mode), else it is dropped. The caller has recorded the failure already.
    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> StoreResult<()> {
        let _ = reason;
        self.ack(delivery).await
    }
}

/// The queue of embedded mode, backed by the outbox rows of one topic.
pub struct EmbeddedQueue {
    store: Arc<dyn Store>,
    topic: String,
    lease: Duration,
    poll_interval: Duration,
    /// When retried jobs become due, so `receive` wakes for them instead of waiting out a whole
    /// poll interval.
    wake_ups: Mutex<BinaryHeap<Reverse<Instant>>>,
}

impl std::fmt::Debug for EmbeddedQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedQueue")
            .field("topic", &self.topic)
            .field("lease", &self.lease)
            .field("poll_interval", &self.poll_interval)
            .finish_non_exhaustive()
    }
}

impl EmbeddedQueue {
    /// `lease`: how long a delivery is reserved before it is handed out again (keep it above the
    /// `keep_alive` period); `poll_interval`: the safety-net poll when no commit woke the queue.
    pub fn new(store: Arc<dyn Store>, topic: &str, lease: Duration, poll_interval: Duration) -> Self {
        Self { store, topic: topic.to_string(), lease, poll_interval, wake_ups: Mutex::new(BinaryHeap::new()) }
    }

    /// How long to sleep before polling again: the poll interval, or less if a retried job falls
    /// due sooner.
    fn next_sleep(&self) -> Duration {
        let now = Instant::now();
        let mut wake_ups = self.wake_ups.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while wake_ups.peek().is_some_and(|Reverse(at)| *at <= now) {
            wake_ups.pop();
        }
        match wake_ups.peek() {
            Some(Reverse(at)) => self.poll_interval.min(*at - now),
            None => self.poll_interval,
        }
    }

    fn wake_at(&self, at: Instant) {
        self.wake_ups.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Reverse(at));
    }
}

#[async_trait]
impl JobQueue for EmbeddedQueue {
    async fn receive(&self) -> StoreResult<Delivery> {
        loop {
            if let Some(row) = self.store.claim_outbox(&self.topic, self.lease).await? {
                return Ok(Delivery {
                    id: row.id,
                    generation: 0,
                    key: row.key,
                    payload: row.payload,
                    attempts: row.attempts,
                    traceparent: row.traceparent,
                });
            }
            let sleep = self.next_sleep();
            tokio::select! {
                () = self.store.outbox_notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
    }

    async fn ack(&self, delivery: &Delivery) -> StoreResult<()> {
        self.store.complete_outbox(delivery.id).await
    }

    async fn retry(&self, delivery: &Delivery, delay: Duration, error: &str) -> StoreResult<()> {
        let due = chrono::Duration::from_std(delay).ok().and_then(|d| Utc::now().checked_add_signed(d));
        let due = due.unwrap_or(chrono::DateTime::<Utc>::MAX_UTC);
        self.store.retry_outbox(delivery.id, due, error).await?;
        if let Some(at) = Instant::now().checked_add(delay) {
            // A few milliseconds late, so the row is surely due when we look.
            self.wake_at(at + Duration::from_millis(5));
        }
        Ok(())
    }

    async fn keep_alive(&self, delivery: &Delivery) -> StoreResult<()> {
        self.store.extend_lease(delivery.id, self.lease).await
    }
}
