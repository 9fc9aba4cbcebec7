//! A lazily connected, self-healing link to Redis, shared by the rate limiter and the idempotency
//! cache.
//!
//! Why not `deadpool_redis::Pool`: its `recycle` sends a `PING` on every checkout, which doubles
//! the round trips of a limiter that runs on every request, and a pool of multiplexed connections
//! buys nothing — one `MultiplexedConnection` already pipelines every concurrent request over one
//! socket (the usage redis-rs recommends). We still get `redis` through `deadpool_redis::redis`.
//!
//! Behaviour:
//! - Nothing connects at construction: [`RedisLink::new`] only parses the URL. The first use (or
//!   [`RedisLink::warm_up`]) connects in a background task with its own, longer timeout, so a slow
//!   first connect is not cancelled by a caller's short budget and later calls pick it up.
//! - Every operation runs under the caller's budget ([`tokio::time::timeout`]). A failure or a
//!   timeout marks the link down, drops a connection that may be broken, and starts a back-off:
//!   while down, at most one call per [`BACKOFF`] is let through to probe Redis again; the others
//!   are told to use their fallback at once without touching the network.
//! - State transitions (up → down, down → up) are logged once each, not per request.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use deadpool_redis::redis::{self, AsyncConnectionConfig, Client, ErrorKind, aio::MultiplexedConnection};
use tokio::sync::watch;

/// How long a background connection attempt may take (independent of callers' budgets).
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// While down, how often one call is let through to probe Redis again.
pub(crate) const BACKOFF: Duration = Duration::from_secs(1);

/// Health of the link as last observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Health {
    /// Not contacted yet.
    Unknown,
    /// The last operation succeeded.
    Up,
    /// The last operation failed; `reason` says how.
    Down { reason: String },
}

/// Why an operation did not produce a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkError {
    /// Skipped without contacting Redis: the link is down and backing off.
    BackingOff,
    /// The operation did not finish within the budget.
    Timeout,
    /// Redis (or the connection to it) returned an error.
    Failed(String),
}

impl LinkError {
    /// Short label for metrics.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Self::BackingOff => "backoff",
            Self::Timeout => "timeout",
            Self::Failed(_) => "error",
        }
    }
}

type ConnectResult = Option<Result<(MultiplexedConnection, u64), String>>;

enum Slot {
    Empty,
    Connecting(watch::Receiver<ConnectResult>),
    Ready { conn: MultiplexedConnection, generation: u64 },
}

struct HealthState {
    health: Health,
    /// While down: when the next probe may go through.
    retry_at: Option<Instant>,
}

struct Inner {
    client: Client,
    /// Name used in logs ("rate limiter", "idempotency cache").
    component: &'static str,
    slot: Mutex<Slot>,
    generation: AtomicU64,
    health: Mutex<HealthState>,
}

/// See the module documentation.
#[derive(Clone)]
pub(crate) struct RedisLink {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisLink {
    // The client's connection info may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLink")
            .field("component", &self.inner.component)
            .field("health", &self.health())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these short critical sections leaves consistent data.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RedisLink {
    /// Parse the URL; does not connect.
    pub(crate) fn new(url: &str, component: &'static str) -> Result<Self, redis::RedisError> {
        let client = Client::open(url)?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                component,
                slot: Mutex::new(Slot::Empty),
                generation: AtomicU64::new(0),
                health: Mutex::new(HealthState { health: Health::Unknown, retry_at: None }),
            }),
        })
    }

    /// If called inside a Tokio runtime, start connecting in the background (and record the
    /// outcome), so the first request does not pay for the connect. Never blocks.
    pub(crate) fn warm_up(&self) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let link = self.clone();
            handle.spawn(async move {
                let _ = link.probe(CONNECT_TIMEOUT).await;
            });
        }
    }

    pub(crate) fn health(&self) -> Health {
        lock(&self.inner.health).health.clone()
    }

    /// Actively check Redis with `PING` (ignoring the back-off) and record the outcome.
    pub(crate) async fn probe(&self, budget: Duration) -> Health {
        let _ = self
            .run_inner(budget, |mut conn| async move { redis::cmd("PING").query_async::<String>(&mut conn).await })
            .await;
        self.health()
    }

    /// Run `op` on a connection within `budget`, honouring the back-off while down.
    pub(crate) async fn run<T, F, Fut>(&self, budget: Duration, op: F) -> Result<T, LinkError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.permit() {
            return Err(LinkError::BackingOff);
        }
        self.run_inner(budget, op).await
    }

    async fn run_inner<T, F, Fut>(&self, budget: Duration, op: F) -> Result<T, LinkError>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        // Which connection the operation used, so a failure drops that one and not a newer one.
        let mut used: Option<u64> = None;
        let outcome = tokio::time::timeout(budget, async {
            let (conn, generation) = self.connection().await.map_err(LinkError::Failed)?;
            used = Some(generation);
            op(conn).await.map_err(|e| {
                // Server replies (NOSCRIPT, WRONGTYPE, …) leave the connection usable; anything
                // else (I/O, protocol) means it may be broken.
                if !matches!(e.kind(), ErrorKind::Server(_)) {
                    self.invalidate(generation);
                }
                LinkError::Failed(e.to_string())
            })
        })
        .await;
        match outcome {
            Ok(Ok(value)) => {
                self.succeeded();
                Ok(value)
            }
            Ok(Err(e)) => {
                let reason = match &e {
                    LinkError::Failed(msg) => msg.clone(),
                    other => format!("{other:?}"),
                };
                self.failed(reason);
                Err(e)
            }
            Err(_elapsed) => {
                // A command that hangs may mean a half-open socket: reconnect on the next probe.
                // (A connect still in flight is left to finish in its task.)
                if let Some(generation) = used {
                    self.invalidate(generation);
                }
                self.failed(format!("no answer from Redis within {} ms", budget.as_millis()));
                Err(LinkError::Timeout)
            }
        }
    }

    /// Whether this call may contact Redis: always while up (or unknown); while down, one call
    /// per [`BACKOFF`].
    fn permit(&self) -> bool {
        let mut h = lock(&self.inner.health);
        match h.health {
            Health::Unknown | Health::Up => true,
            Health::Down { .. } => {
                let now = Instant::now();
                match h.retry_at {
                    Some(at) if now < at => false,
                    _ => {
                        h.retry_at = Some(now + BACKOFF);
                        true
                    }
                }
            }
        }
    }

    fn succeeded(&self) {
        let mut h = lock(&self.inner.health);
        match &h.health {
            Health::Up => {}
            Health::Unknown => tracing::info!(component = self.inner.component, "connected to Redis"),
            Health::Down { .. } => tracing::info!(
                component = self.inner.component,
                "Redis reachable again; leaving the in-memory fallback"
            ),
        }
        h.health = Health::Up;
        h.retry_at = None;
    }

    fn failed(&self, reason: String) {
        let mut h = lock(&self.inner.health);
        match &h.health {
            Health::Down { .. } => {
                tracing::debug!(component = self.inner.component, %reason, "Redis still unavailable")
            }
            Health::Unknown | Health::Up => tracing::warn!(
                component = self.inner.component,
                %reason,
                retry_every_ms = BACKOFF.as_millis() as u64,
                "Redis unavailable; using the in-memory fallback"
            ),
        }
        h.health = Health::Down { reason };
        h.retry_at = Some(Instant::now() + BACKOFF);
    }

    fn invalidate(&self, generation: u64) {
        let mut slot = lock(&self.inner.slot);
        if matches!(&*slot, Slot::Ready { generation: g, .. } if *g == generation) {
            *slot = Slot::Empty;
        }
    }

    /// The current connection, or join (or start) a background connect and wait for it.
    async fn connection(&self) -> Result<(MultiplexedConnection, u64), String> {
        let mut rx = {
            let mut slot = lock(&self.inner.slot);
            match &*slot {
                Slot::Ready { conn, generation } => return Ok((conn.clone(), *generation)),
                Slot::Connecting(rx) => rx.clone(),
                Slot::Empty => {
                    let (tx, rx) = watch::channel::<ConnectResult>(None);
                    *slot = Slot::Connecting(rx.clone());
                    let inner = Arc::clone(&self.inner);
                    tokio::spawn(async move {
                        let config = AsyncConnectionConfig::new()
                            .set_connection_timeout(Some(CONNECT_TIMEOUT))
                            .set_response_timeout(None);
                        let result = match tokio::time::timeout(
                            CONNECT_TIMEOUT,
                            inner.client.get_multiplexed_async_connection_with_config(&config),
                        )
                        .await
                        {
                            Ok(Ok(conn)) => Ok((conn, inner.generation.fetch_add(1, Ordering::Relaxed) + 1)),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(_) => Err(format!("connecting took longer than {} ms", CONNECT_TIMEOUT.as_millis())),
                        };
                        *lock(&inner.slot) = match &result {
                            Ok((conn, generation)) => Slot::Ready { conn: conn.clone(), generation: *generation },
                            Err(_) => Slot::Empty,
                        };
                        let _ = tx.send(Some(result));
                    });
                    rx
                }
            }
        };
        let result = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| "the Redis connect task ended unexpectedly".to_owned())?
            .clone();
        result.unwrap_or_else(|| Err("the Redis connect task ended unexpectedly".to_owned()))
    }
}
