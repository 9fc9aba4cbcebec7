//! The RabbitMQ adapter of distributed mode.
//!
//! - [`Topology`]: the exchanges and quorum queues (main, dead-letter, retry delay queues) of
//!   every topic, declared idempotently on every (re)connect.
//! - [`AmqpConnection`]: one supervised broker connection. It connects with jittered exponential
//!   backoff, declares the topology, exposes readiness, and rebuilds everything when the broker
//!   drops the connection (lapin does not reconnect by itself); each new connection bumps
//!   [`AmqpConnection::generation`].
//! - [`AmqpPublisher`]: the outbox relay's [`crate::relay::Publisher`] (publisher confirms,
//!   persistent, mandatory).
//! - [`AmqpQueue`]: the worker's [`crate::queue::JobQueue`] for one topic (manual acks, prefetch,
//!   retries through delay queues, dead-lettering through the DLX).
//!
//! ```no_run
//! # async fn example() -> Result<(), provenance_store::amqp::AmqpError> {
//! use provenance_store::amqp::{AmqpConnection, AmqpSettings};
//! let connection = AmqpConnection::start(AmqpSettings::new("amqp://guest:guest@127.0.0.1:5672/%2f"))?;
//! connection.wait_ready(std::time::Duration::from_secs(30)).await?;
//! let publisher = connection.publisher(); // for the outbox relay
//! let jobs = connection.queue(provenance_store::topics::ANALYSIS_JOBS); // for the worker
//! # Ok(()) }
//! ```

mod connection;
mod consumer;
mod publisher;
mod topology;

use std::time::Duration;

pub use connection::{AmqpConnection, AmqpSettings};
pub use consumer::AmqpQueue;
pub use publisher::AmqpPublisher;
pub use topology::{RETRY_DELAYS_SECS, Topology};

use crate::error::StoreError;

/// The topics carried by RabbitMQ (routing key = topic = queue name without prefix).
pub mod topics {
    pub use crate::outbox::topics::{ANALYSIS_JOBS, WEBHOOK_DELIVERIES};
    /// Every topic the default [`super::Topology`] declares.
    pub const ALL: [&str; 2] = [ANALYSIS_JOBS, WEBHOOK_DELIVERIES];
}

/// Message headers this adapter reads or writes.
pub mod headers {
    /// Set by quorum queues on redelivery: how many times the message was returned before.
    pub const DELIVERY_COUNT: &str = "x-delivery-count";
    /// Deliveries of the job before this copy was published by a retry (a retry publishes a new
    /// message, whose `x-delivery-count` starts again at 0).
    pub const PRIOR_ATTEMPTS: &str = "x-provenance-attempts";
    /// The error of the attempt that scheduled the retry (truncated).
    pub const LAST_ERROR: &str = "x-provenance-last-error";
    /// Unix milliseconds before which a retried message must not be handed to a worker: a retry
    /// whose delay matches no delay queue hops through several until then.
    pub const NOT_BEFORE: &str = "x-provenance-not-before";
    /// W3C trace context of the request that caused the message.
    pub const TRACEPARENT: &str = "traceparent";
}

/// Failures of the broker adapter.
#[derive(Debug, thiserror::Error)]
pub enum AmqpError {
    #[error("not connected to the message broker")]
    NotConnected,
    #[error("invalid AMQP URL: {0}")]
    InvalidUrl(String),
    #[error("message broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("timed out after {0:?} waiting for the message broker ({1})")]
    Timeout(Duration, &'static str),
    #[error("the message broker refused the message (nack)")]
    Nacked,
    #[error("the message broker returned the message as unroutable: {0}")]
    Returned(String),
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    #[error("unknown topic {0:?} (not in the topology)")]
    UnknownTopic(String),
    #[error("internal error of the broker adapter: {0}")]
    Internal(String),
}

impl From<AmqpError> for StoreError {
    fn from(e: AmqpError) -> Self {
        StoreError::Broker(e.to_string())
    }
}

/// `amqp://user:secret@host/` → `amqp://user:***@host/` (for logs and `Debug`).
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shareable<T: Send + Sync + 'static>() {}

    #[test]
    fn handles_are_shareable_between_tasks() {
        shareable::<AmqpError>();
        shareable::<AmqpConnection>();
        shareable::<AmqpPublisher>();
        shareable::<AmqpQueue>();
    }

    #[test]
    fn redacts_the_password_only() {
        assert_eq!(redact_url("amqp://guest:guest@127.0.0.1:5672/%2f"), "amqp://guest:***@127.0.0.1:5672/%2f");
        assert_eq!(redact_url("amqps://u:p@h"), "amqps://u:***@h");
        assert_eq!(redact_url("amqp://127.0.0.1"), "amqp://127.0.0.1");
        assert_eq!(redact_url("amqp://user@h/v"), "amqp://user@h/v");
    }
}
