//! The connection supervisor: one broker connection, rebuilt whenever it is lost.
//!
//! lapin does not reconnect by itself (its `auto_recover` is opt-in and experimental), so a task
//! owns the connection: it connects with jittered exponential backoff, declares the topology,
//! publishes the live connection (and readiness) through `watch` channels, and watches the
//! connection's error events and status. When the connection is gone it withdraws it, and starts
//! over; every successful connection gets a new [`AmqpConnection::generation`]. Publishers and
//! consumers open their channels lazily on the current connection and notice a new generation.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, Event};
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{AmqpError, AmqpPublisher, AmqpQueue, Topology, redact_url};

/// Settings of the broker adapter.
#[derive(Clone)]
pub struct AmqpSettings {
    /// `amqp://user:password@host:port/vhost` (`%2f` = the default vhost `/`); `amqps://` for TLS.
    /// Query parameters such as `heartbeat=` and `connection_timeout=` are honoured.
    pub url: String,
    /// Shown by `rabbitmqctl list_connections client_properties` and the management UI.
    pub connection_name: String,
    pub topology: Topology,
    /// Unacknowledged deliveries per consumer (`basic.qos`).
    pub prefetch: u16,
    /// How long a publish may wait for the broker's confirm.
    pub confirm_timeout: Duration,
    /// How long one connection attempt (TCP, handshake, topology) may take.
    pub connect_timeout: Duration,
    /// First reconnection delay; doubles up to `backoff_max`; each delay is jittered to 50–100 %.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Heartbeat interval proposed to the broker when the URL does not set `heartbeat=` (seconds;
    /// a dead peer is noticed after about two intervals).
    pub heartbeat_secs: u16,
}

impl AmqpSettings {
    /// Production defaults: no prefix, delivery limit 10, prefetch 16, confirm timeout 10 s,
    /// backoff 100 ms → 10 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            connection_name: "provenance".to_string(),
            topology: Topology::new(""),
            prefetch: 16,
            confirm_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(10),
            heartbeat_secs: 15,
        }
    }

    #[must_use]
    pub fn with_connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection_name = name.into();
        self
    }

    #[must_use]
    pub fn with_topology(mut self, topology: Topology) -> Self {
        self.topology = topology;
        self
    }

    #[must_use]
    pub fn with_prefetch(mut self, prefetch: u16) -> Self {
        self.prefetch = prefetch;
        self
    }
}

impl fmt::Debug for AmqpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpSettings")
            .field("url", &redact_url(&self.url))
            .field("connection_name", &self.connection_name)
            .field("topology", &self.topology)
            .field("prefetch", &self.prefetch)
            .field("confirm_timeout", &self.confirm_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("backoff_initial", &self.backoff_initial)
            .field("backoff_max", &self.backoff_max)
            .field("heartbeat_secs", &self.heartbeat_secs)
            .finish()
    }
}

/// The connection currently up, with the generation it was given.
pub(crate) struct Live {
    pub(crate) generation: u64,
    pub(crate) connection: Connection,
}

struct Shared {
    settings: AmqpSettings,
    uri: AMQPUri,
    live: watch::Sender<Option<Arc<Live>>>,
    ready: watch::Sender<bool>,
    generation: AtomicU64,
    last_error: Mutex<Option<String>>,
    shutdown: CancellationToken,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    fn set_last_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = error;
    }
}

/// A supervised broker connection. Cheap to clone; the supervisor stops (and the connection is
/// closed) when the last clone, publisher and queue made from it are dropped, or on
/// [`AmqpConnection::close`].
#[derive(Clone)]
pub struct AmqpConnection {
    shared: Arc<Shared>,
    _stop_on_drop: Arc<DropGuard>,
}

impl fmt::Debug for AmqpConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConnection")
            .field("settings", &self.shared.settings)
            .field("ready", &self.is_ready())
            .field("generation", &self.generation())
            .finish()
    }
}

impl AmqpConnection {
    /// Validate the URL and start the supervisor task (needs a Tokio runtime). Returns at once;
    /// the connection comes up in the background — see [`Self::wait_ready`] / [`Self::ready`].
    pub fn start(settings: AmqpSettings) -> Result<Self, AmqpError> {
        let mut uri: AMQPUri = settings.url.parse().map_err(|e: String| AmqpError::InvalidUrl(e))?;
        if uri.query.heartbeat.is_none() {
            uri.query.heartbeat = Some(settings.heartbeat_secs);
        }
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            settings,
            uri,
            live: watch::Sender::new(None),
            ready: watch::Sender::new(false),
            generation: AtomicU64::new(0),
            last_error: Mutex::new(None),
            shutdown: shutdown.clone(),
            supervisor: Mutex::new(None),
        });
        let handle = tokio::spawn(supervise(Arc::clone(&shared)));
        *shared.supervisor.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(Self { shared, _stop_on_drop: Arc::new(shutdown.drop_guard()) })
    }

    pub fn settings(&self) -> &AmqpSettings {
        &self.shared.settings
    }

    pub fn topology(&self) -> &Topology {
        &self.shared.settings.topology
    }

    /// Connected and the topology declared.
    pub fn is_ready(&self) -> bool {
        *self.shared.ready.borrow()
    }

    /// Readiness as a watch (for health checks and for waiting).
    pub fn ready(&self) -> watch::Receiver<bool> {
        self.shared.ready.subscribe()
    }

    /// Wait until ready, at most `timeout`.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), AmqpError> {
        let mut ready = self.ready();
        match tokio::time::timeout(timeout, ready.wait_for(|r| *r)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(AmqpError::NotConnected),
            Err(_) => Err(AmqpError::Timeout(timeout, "broker readiness")),
        }
    }

    /// How many connections were established so far (1 after the first; +1 per reconnect).
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::SeqCst)
    }

    /// Why the last connection attempt failed or the last connection was lost (for health).
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The outbox relay's publisher.
    pub fn publisher(&self) -> AmqpPublisher {
        AmqpPublisher::new(self.clone())
    }

    /// The worker's queue of `topic`, with the prefetch of the settings.
    pub fn queue(&self, topic: &str) -> AmqpQueue {
        AmqpQueue::new(self.clone(), topic, self.shared.settings.prefetch)
    }

    /// A plain channel on the current connection (administration, tests). Fails at once when not
    /// connected.
    pub async fn open_channel(&self) -> Result<Channel, AmqpError> {
        let live = self.live().ok_or(AmqpError::NotConnected)?;
        Ok(live.connection.create_channel().await?)
    }

    /// Ready messages in the main queue of `topic` (not counting unacknowledged ones).
    pub async fn queue_depth(&self, topic: &str) -> Result<u64, AmqpError> {
        let queue = self.known_topic(topic)?.queue(topic);
        self.message_count(&queue).await
    }

    /// Messages in the dead-letter queue of `topic`.
    pub async fn dead_letter_depth(&self, topic: &str) -> Result<u64, AmqpError> {
        let queue = self.known_topic(topic)?.dead_letter_queue(topic);
        self.message_count(&queue).await
    }

    /// Stop the supervisor and close the connection gracefully (in-flight unacknowledged
    /// deliveries go back to their queues).
    pub async fn close(&self) {
        self.shared.shutdown.cancel();
        let handle = self.shared.supervisor.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        }
    }

    fn known_topic(&self, topic: &str) -> Result<&Topology, AmqpError> {
        let topology = self.topology();
        if topology.has_topic(topic) { Ok(topology) } else { Err(AmqpError::UnknownTopic(topic.to_string())) }
    }

    /// Passive declare on a channel of its own: a missing queue closes the channel (404).
    async fn message_count(&self, queue: &str) -> Result<u64, AmqpError> {
        let timeout = self.shared.settings.confirm_timeout;
        let channel = self.open_channel().await?;
        let options = QueueDeclareOptions { passive: true, ..QueueDeclareOptions::default() };
        let declared =
            tokio::time::timeout(timeout, channel.queue_declare(queue.into(), options, FieldTable::default()))
                .await
                .map_err(|_| AmqpError::Timeout(timeout, "queue depth"))?;
        if channel.status().connected() {
            let _ = channel.close(200, "OK".into()).await;
        }
        Ok(u64::from(declared?.message_count()))
    }

    /// The connection currently up, if any.
    pub(crate) fn live(&self) -> Option<Arc<Live>> {
        self.shared.live.borrow().clone()
    }

    pub(crate) fn live_watch(&self) -> watch::Receiver<Option<Arc<Live>>> {
        self.shared.live.subscribe()
    }

    /// Wait for a connection to be up (forever, unless the connection was closed).
    pub(crate) async fn wait_live(&self) -> Result<Arc<Live>, AmqpError> {
        let mut live = self.live_watch();
        tokio::select! {
            () = self.shared.shutdown.cancelled() => Err(AmqpError::NotConnected),
            current = live.wait_for(Option::is_some) => {
                current.map_err(|_| AmqpError::NotConnected)?.clone().ok_or(AmqpError::NotConnected)
            }
        }
    }
}

type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

async fn supervise(shared: Arc<Shared>) {
    let url = redact_url(&shared.settings.url);
    let mut backoff = Backoff::new(shared.settings.backoff_initial, shared.settings.backoff_max);
    loop {
        let attempt = tokio::select! {
            () = shared.shutdown.cancelled() => break,
            attempt = connect_once(&shared) => attempt,
        };
        match attempt {
            Ok((connection, mut events)) => {
                backoff.reset();
                let generation = shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
                let live = Arc::new(Live { generation, connection });
                shared.set_last_error(None);
                shared.live.send_replace(Some(Arc::clone(&live)));
                shared.ready.send_replace(true);
                tracing::info!(%url, generation, "connected to the message broker; topology declared");

                let lost = wait_lost(&live, &mut events, &shared.shutdown).await;
                shared.ready.send_replace(false);
                shared.live.send_replace(None);
                match lost {
                    None => {
                        close_quietly(&live.connection).await;
                        break;
                    }
                    Some(reason) => {
                        tracing::warn!(%url, generation, %reason, "lost the message broker connection; reconnecting");
                        shared.set_last_error(Some(reason));
                        close_quietly(&live.connection).await;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(%url, error = %e, "connecting to the message broker failed; retrying");
                shared.set_last_error(Some(e.to_string()));
            }
        }
        let delay = backoff.next_delay();
        tokio::select! {
            () = shared.shutdown.cancelled() => break,
            () = tokio::time::sleep(delay) => {}
        }
    }
    shared.ready.send_replace(false);
    shared.live.send_replace(None);
    tracing::debug!(%url, "message broker supervisor stopped");
}

/// Connect, then declare the topology on a channel of its own.
async fn connect_once(shared: &Shared) -> Result<(Connection, Events), AmqpError> {
    let timeout = shared.settings.connect_timeout;
    let properties =
        ConnectionProperties::default().with_connection_name(shared.settings.connection_name.as_str().into());
    let connection = tokio::time::timeout(timeout, Connection::connect_uri(shared.uri.clone(), properties))
        .await
        .map_err(|_| AmqpError::Timeout(timeout, "connect"))??;
    // Listen before anything can go wrong, so no error event is missed.
    let events: Events = Box::pin(connection.events_listener());
    let declare = async {
        let channel = connection.create_channel().await?;
        shared.settings.topology.declare(&channel).await?;
        let _ = channel.close(200, "OK".into()).await;
        Ok::<_, AmqpError>(())
    };
    let declared = match tokio::time::timeout(timeout, declare).await {
        Ok(result) => result,
        Err(_) => Err(AmqpError::Timeout(timeout, "topology declaration")),
    };
    match declared {
        Ok(()) => Ok((connection, events)),
        Err(e) => {
            close_quietly(&connection).await;
            Err(e)
        }
    }
}

/// Wait until the connection is gone (`Some(reason)`) or shutdown (`None`). Error events also
/// report channel-level errors (a passive declare of a missing queue, …), so the connection's
/// own status decides; a periodic check catches closures that raise no event.
async fn wait_lost(live: &Live, events: &mut Events, shutdown: &CancellationToken) -> Option<String> {
    let mut check = tokio::time::interval(Duration::from_millis(250));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return None,
            event = events.next() => match event {
                Some(Event::Error(error)) => {
                    if !live.connection.status().connected() {
                        return Some(error.to_string());
                    }
                    tracing::debug!(%error, "message broker channel error");
                }
                Some(Event::ConnectionBlocked(reason)) => {
                    tracing::warn!(%reason, "the message broker blocked publishing (resource alarm)");
                }
                Some(Event::ConnectionUnblocked) => tracing::info!("the message broker unblocked publishing"),
                Some(_) => {}
                None => return Some("the connection's event stream ended".to_string()),
            },
            _ = check.tick() => {
                if !live.connection.status().connected() {
                    return Some("the connection is closed".to_string());
                }
            }
        }
    }
}

async fn close_quietly(connection: &Connection) {
    if connection.status().connected() {
        let _ = tokio::time::timeout(Duration::from_secs(2), connection.close(200, "OK".into())).await;
    }
}

/// Exponential backoff with jitter (each delay drawn from 50–100 % of the nominal one).
struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max, next: initial }
    }

    fn reset(&mut self) {
        self.next = self.initial;
    }

    fn next_delay(&mut self) -> Duration {
        let nominal = self.next.min(self.max);
        self.next = nominal.saturating_mul(2).min(self.max);
        nominal.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_jitters_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        let delays: Vec<Duration> = (0..12).map(|_| b.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(100));
        assert!(delays[1] >= Duration::from_millis(100) && delays[1] <= Duration::from_millis(200));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(10)));
        assert!(delays[11] >= Duration::from_secs(5));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
