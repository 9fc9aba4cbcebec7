//! Exchanges and queues, all durable, all (but the exchanges) quorum queues:
//!
//! ```text
//! publish ──► <p>provenance (direct) ──topic──► <p><topic>            (quorum, x-delivery-limit)
//!                    ▲                               │ reject / delivery limit
//!                    │ TTL expiry                    ▼
//!   <p><topic>.retry.{1,10,60,300}s       <p>provenance.dlx (direct) ──topic──► <p><topic>.dlq
//!                    ▲
//!   retry = publish (default exchange) + ack of the original
//! ```
//!
//! Dead-lettering out of the main and retry queues is `at-least-once` (quorum queues keep a
//! message until the target queue confirmed it), so a job is never lost between queues.

use std::time::Duration;

use lapin::options::{
    ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, ExchangeKind};

use super::AmqpError;

/// The delay queues of every topic, in seconds, shortest first.
pub const RETRY_DELAYS_SECS: [u32; 4] = [1, 10, 60, 300];

/// Default `x-delivery-limit` of the main queues: a backstop above the worker's own limit (5).
const DEFAULT_DELIVERY_LIMIT: u32 = 10;

/// Names and arguments of everything the adapter declares. Every name starts with the prefix
/// (empty by default; one broker can host several installations, and tests isolate themselves
/// with a unique one such as `"t-1a2b3c."`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    prefix: String,
    delivery_limit: u32,
    topics: Vec<String>,
}

impl Topology {
    /// The topics of [`super::topics::ALL`], delivery limit 10. A non-empty `prefix` that does
    /// not end with a separator (`.`, `-`, `_`, `:`, `/`) gets a `.`: `"staging"` →
    /// `staging.provenance`, `staging.analysis.jobs`, ….
    pub fn new(prefix: &str) -> Self {
        let mut prefix = prefix.to_string();
        if !prefix.is_empty() && !prefix.ends_with(['.', '-', '_', ':', '/']) {
            prefix.push('.');
        }
        Self {
            prefix,
            delivery_limit: DEFAULT_DELIVERY_LIMIT,
            topics: super::topics::ALL.iter().map(|t| (*t).to_string()).collect(),
        }
    }

    /// Returns of a message (nack/reject with requeue, channel closed while unacked) after which
    /// the main queue dead-letters it instead of delivering it again.
    #[must_use]
    pub fn with_delivery_limit(mut self, limit: u32) -> Self {
        self.delivery_limit = limit;
        self
    }

    /// Replace the topics (each gets a main queue, a DLQ and delay queues).
    #[must_use]
    pub fn with_topics<S: AsRef<str>>(mut self, topics: &[S]) -> Self {
        self.topics = topics.iter().map(|t| t.as_ref().to_string()).collect();
        self
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn delivery_limit(&self) -> u32 {
        self.delivery_limit
    }

    pub fn topics(&self) -> &[String] {
        &self.topics
    }

    pub fn has_topic(&self, topic: &str) -> bool {
        self.topics.iter().any(|t| t == topic)
    }

    /// The direct exchange every message is published to (routing key = topic).
    pub fn exchange(&self) -> String {
        format!("{}provenance", self.prefix)
    }

    /// The direct exchange rejected and over-delivered messages go to (routing key = topic).
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}provenance.dlx", self.prefix)
    }

    /// The quorum queue workers consume.
    pub fn queue(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    pub fn dead_letter_queue(&self, topic: &str) -> String {
        format!("{}{topic}.dlq", self.prefix)
    }

    /// The delay queue holding messages `seconds` before they go back to the main queue.
    pub fn retry_queue(&self, topic: &str, seconds: u32) -> String {
        format!("{}{topic}.retry.{seconds}s", self.prefix)
    }

    /// Every queue name, for cleanup and inspection.
    pub fn queue_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for topic in &self.topics {
            names.push(self.queue(topic));
            names.push(self.dead_letter_queue(topic));
            names.extend(RETRY_DELAYS_SECS.iter().map(|s| self.retry_queue(topic, *s)));
        }
        names
    }

    /// Declare everything; idempotent (same arguments every time). A queue that already exists
    /// with other arguments makes the broker close the channel with `PRECONDITION_FAILED`.
    pub async fn declare(&self, channel: &Channel) -> Result<(), AmqpError> {
        let durable_exchange = ExchangeDeclareOptions { durable: true, ..ExchangeDeclareOptions::default() };
        let durable_queue = QueueDeclareOptions { durable: true, ..QueueDeclareOptions::default() };
        let exchange = self.exchange();
        let dlx = self.dead_letter_exchange();
        channel
            .exchange_declare(exchange.as_str().into(), ExchangeKind::Direct, durable_exchange, FieldTable::default())
            .await?;
        channel
            .exchange_declare(dlx.as_str().into(), ExchangeKind::Direct, durable_exchange, FieldTable::default())
            .await?;
        for topic in &self.topics {
            let main = self.queue(topic);
            let mut args = quorum();
            args.insert("x-delivery-limit".into(), int(self.delivery_limit));
            dead_letter_to(&mut args, &dlx, topic);
            channel.queue_declare(main.as_str().into(), durable_queue, args).await?;
            channel
                .queue_bind(
                    main.as_str().into(),
                    exchange.as_str().into(),
                    topic.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;

            let dlq = self.dead_letter_queue(topic);
            channel.queue_declare(dlq.as_str().into(), durable_queue, quorum()).await?;
            channel
                .queue_bind(
                    dlq.as_str().into(),
                    dlx.as_str().into(),
                    topic.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;

            for seconds in RETRY_DELAYS_SECS {
                let mut args = quorum();
                args.insert("x-message-ttl".into(), int(seconds.saturating_mul(1000)));
                dead_letter_to(&mut args, &exchange, topic);
                // Published to through the default exchange (routing key = queue name); no binding.
                channel.queue_declare(self.retry_queue(topic, seconds).as_str().into(), durable_queue, args).await?;
            }
        }
        Ok(())
    }

    /// Delete every queue and both exchanges (tests, `provenance` operators' teardown). Messages
    /// in them are lost. Stops at the first error (a failed operation closes the channel).
    pub async fn delete(&self, channel: &Channel) -> Result<(), AmqpError> {
        for queue in self.queue_names() {
            channel.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()).await?;
        }
        for exchange in [self.exchange(), self.dead_letter_exchange()] {
            channel.exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default()).await?;
        }
        Ok(())
    }

    /// How a retry after `delay` travels: the delay queue it is published to first, and whether
    /// it must carry its due time ([`super::headers::NOT_BEFORE`]) and hop through further delay
    /// queues until then. A delay of at most 1 s, or equal (±50 ms) to a delay queue's, goes
    /// straight through that queue; any other delay starts with the longest queue not past it,
    /// so every delay is honoured to about a second (SPEC §6: 5 s, 5 min, 30 min, … ±10 %).
    pub fn retry_route(delay: Duration) -> (u32, bool) {
        if delay <= Duration::from_secs(1) {
            return (RETRY_DELAYS_SECS[0], false);
        }
        let tolerance = Duration::from_millis(50);
        match RETRY_DELAYS_SECS.iter().find(|s| Duration::from_secs(u64::from(**s)).abs_diff(delay) <= tolerance) {
            Some(seconds) => (*seconds, false),
            None => (Self::hop_delay_for(delay), true),
        }
    }

    /// The next hop of a message that must wait `remaining` more: the longest delay queue not
    /// past it (so the wait ends within a second of its due time), the shortest one below that.
    pub(crate) fn hop_delay_for(remaining: Duration) -> u32 {
        RETRY_DELAYS_SECS
            .iter()
            .rev()
            .copied()
            .find(|s| Duration::from_secs(u64::from(*s)) <= remaining)
            .unwrap_or(RETRY_DELAYS_SECS[0])
    }
}

fn quorum() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), string("quorum"));
    args
}

fn dead_letter_to(args: &mut FieldTable, exchange: &str, routing_key: &str) {
    args.insert("x-dead-letter-exchange".into(), string(exchange));
    args.insert("x-dead-letter-routing-key".into(), string(routing_key));
    // Keep the message until the target queue has it; requires reject-publish overflow.
    args.insert("x-dead-letter-strategy".into(), string("at-least-once"));
    args.insert("x-overflow".into(), string("reject-publish"));
}

fn string(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}

fn int(n: u32) -> AMQPValue {
    AMQPValue::LongInt(i32::try_from(n).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prefixed() {
        let t = Topology::new("t-1.");
        assert_eq!(t.exchange(), "t-1.provenance");
        assert_eq!(t.dead_letter_exchange(), "t-1.provenance.dlx");
        assert_eq!(t.queue("analysis.jobs"), "t-1.analysis.jobs");
        assert_eq!(t.dead_letter_queue("analysis.jobs"), "t-1.analysis.jobs.dlq");
        assert_eq!(t.retry_queue("webhook.deliveries", 60), "t-1.webhook.deliveries.retry.60s");
        assert_eq!(t.queue_names().len(), 12);
        assert_eq!(Topology::new("").queue("analysis.jobs"), "analysis.jobs");
        assert_eq!(Topology::new("staging").exchange(), "staging.provenance");
        assert_eq!(Topology::new("staging-").queue("analysis.jobs"), "staging-analysis.jobs");
    }

    #[test]
    fn retries_go_straight_through_a_matching_queue_or_hop() {
        let s = Duration::from_secs;
        assert_eq!(Topology::retry_route(Duration::ZERO), (1, false));
        assert_eq!(Topology::retry_route(Duration::from_millis(300)), (1, false));
        assert_eq!(Topology::retry_route(s(1)), (1, false));
        assert_eq!(Topology::retry_route(s(10)), (10, false));
        assert_eq!(Topology::retry_route(Duration::from_millis(60_030)), (60, false));
        assert_eq!(Topology::retry_route(s(300)), (300, false));
        assert_eq!(Topology::retry_route(s(2)), (1, true));
        assert_eq!(Topology::retry_route(s(5)), (1, true));
        assert_eq!(Topology::retry_route(s(16)), (10, true));
        assert_eq!(Topology::retry_route(s(1800)), (300, true));
        assert_eq!(Topology::retry_route(s(36_000)), (300, true));
    }

    #[test]
    fn hops_round_down() {
        let s = Duration::from_secs;
        assert_eq!(Topology::hop_delay_for(Duration::from_millis(700)), 1);
        assert_eq!(Topology::hop_delay_for(s(9)), 1);
        assert_eq!(Topology::hop_delay_for(s(59)), 10);
        assert_eq!(Topology::hop_delay_for(s(299)), 60);
        assert_eq!(Topology::hop_delay_for(s(3600)), 300);
    }
}
