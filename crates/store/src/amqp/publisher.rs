//! Publishing with publisher confirms: the outbox relay's [`Publisher`] and the confirm channel
//! that retries use too.

use std::time::Duration;

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation};

use super::{AmqpConnection, AmqpError, headers};
use crate::outbox::OutboxRow;
use crate::relay::{PublishError, Publisher};

/// Protobuf bodies (`provenance.v1.*`).
pub(crate) const CONTENT_TYPE: &str = "application/x-protobuf";
/// AMQP `delivery_mode` of messages written to disk.
pub(crate) const PERSISTENT: u8 = 2;

/// A confirm-mode channel on the current connection, opened lazily and again after a reconnect
/// or a channel error. Publishes from many tasks share it (lapin channels are `Sync`; confirms
/// are matched by sequence number).
pub(crate) struct ConfirmChannel {
    connection: AmqpConnection,
    current: tokio::sync::Mutex<Option<(u64, Channel)>>,
}

impl ConfirmChannel {
    pub(crate) fn new(connection: AmqpConnection) -> Self {
        Self { connection, current: tokio::sync::Mutex::new(None) }
    }

    async fn channel(&self) -> Result<Channel, AmqpError> {
        let live = self.connection.live().ok_or(AmqpError::NotConnected)?;
        let mut current = self.current.lock().await;
        if let Some((generation, channel)) = current.as_ref()
            && *generation == live.generation
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        *current = None;
        let channel = live.connection.create_channel().await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        *current = Some((live.generation, channel.clone()));
        Ok(channel)
    }

    /// Publish (mandatory) and wait for the confirm: ack → `Ok`; nack, returned as unroutable,
    /// channel failure or no confirm within `timeout` → `Err` (the message may or may not be in
    /// the queue).
    pub(crate) async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        payload: &[u8],
        properties: BasicProperties,
        timeout: Duration,
    ) -> Result<(), AmqpError> {
        let attempt = async {
            let channel = self.channel().await?;
            let options = BasicPublishOptions { mandatory: true, ..BasicPublishOptions::default() };
            let confirm =
                channel.basic_publish(exchange.into(), routing_key.into(), options, payload, properties).await?;
            Ok::<_, AmqpError>(confirm.await?)
        };
        let confirmation = tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| AmqpError::Timeout(timeout, "publisher confirm"))??;
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) | Confirmation::Nack(Some(returned)) => {
                Err(AmqpError::Returned(format!(
                    "{} {} (exchange {:?}, routing key {:?})",
                    returned.reply_code, returned.reply_text, exchange, routing_key
                )))
            }
            Confirmation::Nack(None) => Err(AmqpError::Nacked),
            Confirmation::NotRequested => Err(AmqpError::Returned("the channel is not in confirm mode".to_string())),
        }
    }
}

/// The outbox relay's publisher: every row goes to the topology's exchange with its topic as the
/// routing key, persistent, `message_id` = row key, `type` = topic, mandatory, and counts as
/// published only once the broker confirmed it. Fails at once when not connected.
pub struct AmqpPublisher {
    connection: AmqpConnection,
    confirms: ConfirmChannel,
}

impl std::fmt::Debug for AmqpPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpPublisher").field("connection", &self.connection).finish_non_exhaustive()
    }
}

impl AmqpPublisher {
    pub fn new(connection: AmqpConnection) -> Self {
        Self { confirms: ConfirmChannel::new(connection.clone()), connection }
    }

    /// Publish `row` with its `traceparent` (the W3C trace context of the span that wrote it) as
    /// a message header.
    async fn publish_row(&self, row: &OutboxRow) -> Result<(), AmqpError> {
        let topology = self.connection.topology();
        if !topology.has_topic(&row.topic) {
            return Err(AmqpError::UnknownTopic(row.topic.clone()));
        }
        let mut table = FieldTable::default();
        if let Some(traceparent) = row.traceparent.as_deref() {
            table.insert(headers::TRACEPARENT.into(), AMQPValue::LongString(LongString::from(traceparent)));
        }
        let properties = message_properties(&row.key, &row.topic, table)?;
        let timeout = self.connection.settings().confirm_timeout;
        self.confirms.publish(&topology.exchange(), &row.topic, &row.payload, properties, timeout).await
    }
}

#[async_trait]
impl Publisher for AmqpPublisher {
    /// With the row's `traceparent` header, so the consumer continues the trace that wrote it.
    async fn publish(&self, row: &OutboxRow) -> Result<(), PublishError> {
        self.publish_row(row).await.map_err(|e| PublishError(e.to_string()))
    }
}

/// Properties of a job message: persistent, keyed, typed by topic, stamped.
pub(crate) fn message_properties(key: &str, topic: &str, headers: FieldTable) -> Result<BasicProperties, AmqpError> {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let short = |what: &str, value: &str| {
        ShortString::try_new(value).map_err(|e| AmqpError::InvalidMessage(format!("{what} {value:?}: {e}")))
    };
    let mut properties = BasicProperties::default()
        .with_delivery_mode(PERSISTENT)
        .with_type(short("topic", topic)?)
        .with_content_type(CONTENT_TYPE.into())
        .with_timestamp(now)
        .with_app_id("provenance".into())
        .with_headers(headers);
    if !key.is_empty() {
        properties = properties.with_message_id(short("message key", key)?);
    }
    Ok(properties)
}
