//! The worker's queue of one topic over RabbitMQ.
//!
//! A consumer channel (`basic.qos` prefetch, manual acks) is opened lazily on the current
//! connection and again after a reconnect or a channel failure. Each consumer channel gets a new
//! *channel generation*, carried in [`Delivery::generation`]: delivery tags are per channel, so an
//! ack, retry or dead-letter of a delivery from an earlier channel is a no-op (the broker put the
//! message back in the queue when that channel closed, and delivers it again).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, BasicRejectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, Consumer};

use super::connection::Live;
use super::publisher::{ConfirmChannel, message_properties};
use super::{AmqpConnection, AmqpError, Topology, headers};
use crate::error::StoreResult;
use crate::queue::{Delivery, JobQueue};

/// Longest error text carried by a retried message.
const MAX_ERROR_HEADER: usize = 1024;
/// A message due within this margin is delivered rather than sent through another delay hop.
const DUE_MARGIN_MS: i64 = 500;

/// One consumer channel.
struct ConsumerChannel {
    /// The channel generation handed out in [`Delivery::generation`].
    epoch: u64,
    /// The connection generation the channel lives on.
    connection_generation: u64,
    channel: Channel,
    consumer: tokio::sync::Mutex<Consumer>,
}

enum Settle {
    Ack,
    Requeue,
    Reject,
}

/// [`JobQueue`] of one topic: consumes `<prefix><topic>` with manual acks.
///
/// - `receive` waits (through reconnects) for the next delivery; `attempts` = deliveries of the
///   job so far: `1 + x-delivery-count` (set by quorum queues when a message was returned), plus
///   the deliveries before a retry (carried by the retried copy in `x-provenance-attempts`).
/// - `ack` acks; `retry` publishes a copy to a delay queue (confirmed) and acks the original
///   (nack-with-requeue if the publish failed); the copy comes back after `delay` (see
///   [`Topology::retry_route`]: through one delay queue, or hopping through several until due); `dead_letter` rejects without requeue (to
///   the DLQ through the DLX); `keep_alive` does nothing (RabbitMQ has no lease; mind its
///   `consumer_timeout`, 30 min by default, for longer jobs).
pub struct AmqpQueue {
    inner: Arc<Inner>,
}

struct Inner {
    connection: AmqpConnection,
    topic: String,
    queue: String,
    prefetch: u16,
    epochs: AtomicU64,
    current: Mutex<Option<Arc<ConsumerChannel>>>,
    opening: tokio::sync::Mutex<()>,
    confirms: Arc<ConfirmChannel>,
    /// Headers of deliveries handed out and not settled yet, by (channel generation, tag); at
    /// most `prefetch` per live channel, older generations are dropped on a new channel.
    in_flight: Mutex<HashMap<(u64, u64), FieldTable>>,
}

impl std::fmt::Debug for AmqpQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpQueue")
            .field("queue", &self.inner.queue)
            .field("prefetch", &self.inner.prefetch)
            .field("channel_generation", &self.channel_generation())
            .finish_non_exhaustive()
    }
}

impl AmqpQueue {
    /// The queue of `topic` (which should be in the connection's topology), with `prefetch`
    /// unacknowledged deliveries at most. Consuming starts at the first `receive`.
    pub fn new(connection: AmqpConnection, topic: &str, prefetch: u16) -> Self {
        let inner = Inner {
            queue: connection.topology().queue(topic),
            topic: topic.to_string(),
            prefetch: prefetch.max(1),
            epochs: AtomicU64::new(0),
            current: Mutex::new(None),
            opening: tokio::sync::Mutex::new(()),
            confirms: Arc::new(ConfirmChannel::new(connection.clone())),
            in_flight: Mutex::new(HashMap::new()),
            connection,
        };
        Self { inner: Arc::new(inner) }
    }

    pub fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// The generation of the current consumer channel (0 before the first one).
    pub fn channel_generation(&self) -> u64 {
        self.inner.epochs.load(Ordering::SeqCst)
    }

    /// Hand a delivery back to the queue at once (nack with requeue), e.g. at shutdown. Counts as
    /// a return towards the queue's delivery limit.
    pub async fn requeue(&self, delivery: &Delivery) -> Result<(), AmqpError> {
        self.inner.settle(delivery, Settle::Requeue).await
    }
}

impl Inner {
    async fn next_delivery(self: &Arc<Self>) -> Result<Delivery, AmqpError> {
        loop {
            let cc = self.consumer_channel().await?;
            let mut live = self.connection.live_watch();
            let next = {
                let mut consumer = cc.consumer.lock().await;
                if !self.is_current(&cc) {
                    continue;
                }
                tokio::select! {
                    next = consumer.next() => Some(next),
                    _ = live.wait_for(|l| l.as_ref().map(|l| l.generation) != Some(cc.connection_generation)) => None,
                }
            };
            match next {
                Some(Some(Ok(delivery))) => {
                    if let Some(delivery) = self.accept(&cc, delivery) {
                        return Ok(delivery);
                    }
                }
                Some(Some(Err(error))) => {
                    tracing::debug!(queue = %self.queue, %error, "consumer channel failed; opening a new one");
                    self.discard(&cc);
                }
                Some(None) => {
                    tracing::debug!(queue = %self.queue, "consumer cancelled; opening a new one");
                    self.discard(&cc);
                }
                None => self.discard(&cc),
            }
        }
    }

    /// The current consumer channel, opened (after waiting for a connection) if there is none.
    /// Fails only when opening fails on a connection that is still up (e.g. the queue is missing).
    async fn consumer_channel(self: &Arc<Self>) -> Result<Arc<ConsumerChannel>, AmqpError> {
        loop {
            if let Some(cc) = self.usable_current() {
                return Ok(cc);
            }
            let live = self.connection.wait_live().await?;
            let generation = live.generation;
            // Opened by a task of its own: a `basic.consume` whose future is dropped before the
            // broker's consume-ok still registers a consumer in lapin, one nobody can cancel,
            // which would hold up to `prefetch` messages unacked for the connection's lifetime.
            // A cancelled `receive` only stops waiting for the task.
            let inner = Arc::clone(self);
            let opened = tokio::spawn(async move {
                let _opening = inner.opening.lock().await;
                if let Some(cc) = inner.usable_current() {
                    return Ok(cc);
                }
                let cc = inner.open(&live).await?;
                *inner.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&cc));
                Ok::<_, AmqpError>(cc)
            })
            .await;
            match opened {
                Ok(Ok(cc)) => return Ok(cc),
                Ok(Err(e)) => {
                    let live = self.connection.live();
                    if live.as_ref().is_some_and(|l| l.generation == generation && l.connection.status().connected()) {
                        return Err(e);
                    }
                    // The connection died under us (or was replaced meanwhile): try again on the
                    // next one.
                    if live.is_none_or(|l| l.generation == generation) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                Err(join) => return Err(AmqpError::Internal(format!("opening a consumer channel failed: {join}"))),
            }
        }
    }

    async fn open(&self, live: &Live) -> Result<Arc<ConsumerChannel>, AmqpError> {
        let channel = live.connection.create_channel().await?;
        channel.basic_qos(self.prefetch, BasicQosOptions::default()).await?;
        let consumer = channel
            .basic_consume(self.queue.as_str().into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
            .await?;
        let epoch = self.epochs.fetch_add(1, Ordering::SeqCst) + 1;
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).retain(|(generation, _), _| *generation >= epoch);
        tracing::debug!(queue = %self.queue, epoch, connection_generation = live.generation, "consuming");
        Ok(Arc::new(ConsumerChannel {
            epoch,
            connection_generation: live.generation,
            channel,
            consumer: tokio::sync::Mutex::new(consumer),
        }))
    }

    fn usable_current(&self) -> Option<Arc<ConsumerChannel>> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        let live_generation = self.connection.live().map(|l| l.generation);
        if live_generation == Some(current.connection_generation) && current.channel.status().connected() {
            Some(current)
        } else {
            None
        }
    }

    fn is_current(&self, cc: &ConsumerChannel) -> bool {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_some_and(|c| c.epoch == cc.epoch)
    }

    /// The consumer channel that delivered `generation`, if it is still the current one.
    fn channel_for(&self, generation: u64) -> Option<Arc<ConsumerChannel>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).as_ref().filter(|c| c.epoch == generation).cloned()
    }

    /// Forget a failed consumer channel (if still current) and close it; its unacknowledged
    /// deliveries go back to the queue.
    fn discard(&self, cc: &Arc<ConsumerChannel>) {
        {
            let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            if current.as_ref().is_some_and(|c| c.epoch == cc.epoch) {
                *current = None;
            }
        }
        if cc.channel.status().connected() {
            let channel = cc.channel.clone();
            tokio::spawn(async move {
                let _ = channel.close(200, "OK".into()).await;
            });
        }
    }

    /// Turn a broker delivery into a job delivery; `None` when the message is a long retry not
    /// due yet (it is sent through another delay queue instead).
    fn accept(&self, cc: &Arc<ConsumerChannel>, delivery: lapin::message::Delivery) -> Option<Delivery> {
        let table = delivery.properties.headers().clone().unwrap_or_default();
        if let Some(not_before) = int_header(&table, headers::NOT_BEFORE) {
            let remaining = not_before - now_millis();
            if remaining > DUE_MARGIN_MS {
                self.spawn_hop(cc, delivery, table, Duration::from_millis(remaining.unsigned_abs()));
                return None;
            }
        }
        let prior = int_header(&table, headers::PRIOR_ATTEMPTS).unwrap_or(0).max(0);
        let returned = int_header(&table, headers::DELIVERY_COUNT).unwrap_or(i64::from(delivery.redelivered)).max(0);
        let attempts = u32::try_from(prior.saturating_add(returned).saturating_add(1)).unwrap_or(u32::MAX);
        let key = delivery.properties.message_id().as_ref().map(|k| k.to_string()).unwrap_or_default();
        let tag = delivery.delivery_tag;
        let traceparent = string_header(&table, headers::TRACEPARENT);
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert((cc.epoch, tag), table);
        Some(Delivery {
            id: i64::try_from(tag).unwrap_or(i64::MAX),
            generation: cc.epoch,
            key,
            payload: delivery.data,
            attempts,
            traceparent,
        })
    }

    /// Move a message that must wait `remaining` more to the next delay queue (confirmed), then
    /// ack it. Runs as a task of its own so a cancelled `receive` never strands it unacked.
    fn spawn_hop(
        &self,
        cc: &Arc<ConsumerChannel>,
        delivery: lapin::message::Delivery,
        table: FieldTable,
        remaining: Duration,
    ) {
        let confirms = Arc::clone(&self.confirms);
        let channel = cc.channel.clone();
        let queue = self.connection.topology().retry_queue(&self.topic, Topology::hop_delay_for(remaining));
        let timeout = self.connection.settings().confirm_timeout;
        let key = delivery.properties.message_id().as_ref().map(|k| k.to_string()).unwrap_or_default();
        let topic = self.topic.clone();
        tokio::spawn(async move {
            let tag = delivery.delivery_tag;
            let published = match message_properties(&key, &topic, copy_headers(&table)) {
                Ok(properties) => confirms.publish("", &queue, &delivery.data, properties, timeout).await,
                Err(e) => Err(e),
            };
            match published {
                Ok(()) => {
                    let _ = channel.basic_ack(tag, BasicAckOptions::default()).await;
                }
                Err(error) => {
                    tracing::warn!(%queue, %error, "moving a delayed retry to its next delay queue failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let _ = channel.basic_nack(tag, BasicNackOptions { requeue: true, multiple: false }).await;
                }
            }
        });
    }

    fn forget(&self, generation: u64, tag: u64) -> Option<FieldTable> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&(generation, tag))
    }

    async fn settle(&self, delivery: &Delivery, settle: Settle) -> Result<(), AmqpError> {
        let Ok(tag) = u64::try_from(delivery.id) else {
            tracing::warn!(id = delivery.id, "not a delivery of this queue; ignored");
            return Ok(());
        };
        self.forget(delivery.generation, tag);
        let Some(cc) = self.channel_for(delivery.generation) else {
            tracing::debug!(queue = %self.queue, generation = delivery.generation, "delivery from an earlier channel; the broker has requeued it");
            return Ok(());
        };
        let result = match settle {
            Settle::Ack => cc.channel.basic_ack(tag, BasicAckOptions::default()).await,
            Settle::Requeue => cc.channel.basic_nack(tag, BasicNackOptions { requeue: true, multiple: false }).await,
            Settle::Reject => cc.channel.basic_reject(tag, BasicRejectOptions { requeue: false }).await,
        };
        match result {
            Ok(()) => Ok(()),
            // The channel closed under us: the broker has requeued the message.
            Err(error) if !cc.channel.status().connected() => {
                tracing::debug!(queue = %self.queue, %error, "channel closed before settling; the broker has requeued the message");
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn retry_delivery(&self, delivery: &Delivery, delay: Duration, error: &str) -> Result<(), AmqpError> {
        if self.channel_for(delivery.generation).is_none() {
            // Its channel is gone, so the broker has requeued it already: a copy would be a duplicate.
            return self.settle(delivery, Settle::Ack).await;
        }
        let table = u64::try_from(delivery.id)
            .ok()
            .and_then(|tag| {
                self.in_flight.lock().unwrap_or_else(|p| p.into_inner()).get(&(delivery.generation, tag)).cloned()
            })
            .unwrap_or_default();
        let mut copy = copy_headers(&table);
        copy.insert(headers::PRIOR_ATTEMPTS.into(), AMQPValue::LongLongInt(i64::from(delivery.attempts)));
        copy.insert(
            headers::LAST_ERROR.into(),
            AMQPValue::LongString(LongString::from(truncate(error, MAX_ERROR_HEADER))),
        );
        let (seconds, hops) = Topology::retry_route(delay);
        if hops {
            let due = now_millis().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
            copy.insert(headers::NOT_BEFORE.into(), AMQPValue::LongLongInt(due));
        }
        let queue = self.connection.topology().retry_queue(&self.topic, seconds);
        let timeout = self.connection.settings().confirm_timeout;
        let published = match message_properties(&delivery.key, &self.topic, copy) {
            Ok(properties) => self.confirms.publish("", &queue, &delivery.payload, properties, timeout).await,
            Err(e) => Err(e),
        };
        match published {
            Ok(()) => self.settle(delivery, Settle::Ack).await,
            Err(e) => {
                if let Err(nack) = self.settle(delivery, Settle::Requeue).await {
                    tracing::warn!(error = %nack, "requeueing after a failed retry publish failed too");
                }
                Err(e)
            }
        }
    }
}

#[async_trait]
impl JobQueue for AmqpQueue {
    async fn receive(&self) -> StoreResult<Delivery> {
        Ok(self.inner.next_delivery().await?)
    }

    async fn ack(&self, delivery: &Delivery) -> StoreResult<()> {
        Ok(self.inner.settle(delivery, Settle::Ack).await?)
    }

    async fn retry(&self, delivery: &Delivery, delay: Duration, error: &str) -> StoreResult<()> {
        Ok(self.inner.retry_delivery(delivery, delay, error).await?)
    }

    async fn keep_alive(&self, _delivery: &Delivery) -> StoreResult<()> {
        Ok(())
    }

    async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> StoreResult<()> {
        tracing::info!(queue = %self.inner.queue, key = %delivery.key, %reason, "dead-lettering a job");
        Ok(self.inner.settle(delivery, Settle::Reject).await?)
    }
}

/// The headers a copy keeps: everything but the broker's bookkeeping of the original.
fn copy_headers(table: &FieldTable) -> FieldTable {
    let mut copy = FieldTable::default();
    for (name, value) in table {
        let name = name.as_str();
        let broker_owned = name == headers::DELIVERY_COUNT
            || name == "x-death"
            || name.starts_with("x-first-death-")
            || name.starts_with("x-last-death-");
        if !broker_owned {
            copy.insert(name.into(), value.clone());
        }
    }
    copy
}

fn string_header(table: &FieldTable, name: &str) -> Option<String> {
    match table.inner().get(name)? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

fn int_header(table: &FieldTable, name: &str) -> Option<i64> {
    match table.inner().get(name)? {
        AMQPValue::ShortShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortShortUInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortUInt(v) => Some(i64::from(*v)),
        AMQPValue::LongInt(v) => Some(i64::from(*v)),
        AMQPValue::LongUInt(v) => Some(i64::from(*v)),
        AMQPValue::LongLongInt(v) => Some(*v),
        AMQPValue::Timestamp(v) => i64::try_from(*v).ok(),
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok()?.trim().parse().ok(),
        AMQPValue::ShortString(s) => s.as_str().trim().parse().ok(),
        _ => None,
    }
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_drop_broker_bookkeeping() {
        let mut t = FieldTable::default();
        t.insert("x-delivery-count".into(), AMQPValue::LongLongInt(3));
        t.insert("x-death".into(), AMQPValue::Void);
        t.insert("x-first-death-queue".into(), AMQPValue::Void);
        t.insert("traceparent".into(), AMQPValue::LongString("00-abc-def-01".into()));
        let copy = copy_headers(&t);
        assert_eq!(copy.inner().len(), 1);
        assert!(copy.contains_key("traceparent"));
    }

    #[test]
    fn reads_integer_headers_of_any_width() {
        let mut t = FieldTable::default();
        t.insert("a".into(), AMQPValue::LongLongInt(2));
        t.insert("b".into(), AMQPValue::ShortUInt(3));
        t.insert("c".into(), AMQPValue::LongString("4".into()));
        assert_eq!(int_header(&t, "a"), Some(2));
        assert_eq!(int_header(&t, "b"), Some(3));
        assert_eq!(int_header(&t, "c"), Some(4));
        assert_eq!(int_header(&t, "d"), None);
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
