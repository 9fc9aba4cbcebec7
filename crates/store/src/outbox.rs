//! The transactional outbox: every message that must leave the system is first a row written in
//! the same transaction as the state that caused it. In embedded mode the worker consumes these
//! rows directly; in distributed mode a relay publishes them to RabbitMQ.

use chrono::{DateTime, Utc};

/// Queue/topic names shared by the outbox, the embedded queue and RabbitMQ.
pub mod topics {
    pub const ANALYSIS_JOBS: &str = "analysis.jobs";
    /// Webhook deliveries (SPEC §6): key and payload are `{message_id}:{endpoint_id}`.
    pub const WEBHOOK_DELIVERIES: &str = "webhook.deliveries";
}

/// A message to write in the outbox within a state-changing transaction. The row also keeps the
/// `traceparent` of the span it is written in ([`crate::trace_context::current_traceparent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub topic: String,
    /// Idempotency key of the message (the job id); unique per topic.
    pub key: String,
    /// Protobuf-encoded body (`provenance.v1.*`).
    pub payload: Vec<u8>,
}

/// A claimed outbox row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub payload: Vec<u8>,
    /// How many times this row has been claimed, this claim included.
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// The W3C `traceparent` of the span that wrote the row (the request or job that caused the
    /// message), so its consumer continues that trace.
    pub traceparent: Option<String>,
}
