//! Per-key rate limiting (SPEC §8): GCRA, shared by every API replica through Redis, and in memory
//! when Redis is not configured or not answering.
//!
//! Why hand-written rather than the `governor` crate: `governor` keeps its state in process only
//! (so replicas cannot share a budget through Redis), and its check result does not expose the
//! remaining budget and reset time that the `X-RateLimit-Remaining` / `X-RateLimit-Reset` headers
//! need. GCRA is a few lines (see `gcra.rs`), and the same arithmetic runs in memory and as one
//! atomic Lua script in Redis.
//!
//! Availability over precision: [`RateLimiter::check`] never fails. Redis gets 50 ms per call;
//! on any error or timeout the call is decided by the in-memory limiter, the limiter reports
//! [`LimiterBackend::Degraded`], and Redis is retried at most once a second until it answers
//! again. While degraded each replica enforces the full quota on its own, so the effective limit
//! is at most `replicas ×` the quota — loose, but never unlimited and never an outage.
//!
//! Denial metrics (`provenance_rate_limit_denied_total{tier}`) are the caller's; this module
//! counts `provenance_rate_limiter_fallback_total{reason}` (reason = `error`, `timeout` or
//! `backoff`) for every call decided in memory although Redis is configured.

mod gcra;
pub(crate) mod link;
mod memory;
mod script;

use std::time::Duration;

use provenance_core::access::Tier;

use self::link::{Health, RedisLink};
pub use self::memory::{Clock, DEFAULT_MAX_KEYS, ManualClock, MemoryLimiter, MonotonicClock, SWEEP_INTERVAL};
pub use self::script::KEY_PREFIX;

/// How long one Redis round trip of [`RateLimiter::check`] may take before the in-memory
/// limiter decides instead.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(50);
/// How long [`RateLimiter::ping`] waits for Redis (a readiness probe may have to connect).
pub const PING_TIMEOUT: Duration = Duration::from_millis(500);

/// A rate: `per_minute` sustained, up to `burst` requests at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Sustained rate; one request is earned back every `60 s / per_minute`. (0 is taken as 1.)
    pub per_minute: u32,
    /// Requests allowed at once from a full bucket. (0 is taken as 1.)
    pub burst: u32,
}

impl Quota {
    /// SPEC §8 default for anonymous callers (per client address).
    pub const ANONYMOUS: Quota = Quota::per_minute(100);
    /// SPEC §8 default for `standard` keys.
    pub const STANDARD: Quota = Quota::per_minute(1_000);
    /// SPEC §8 default for `premium` keys.
    pub const PREMIUM: Quota = Quota::per_minute(5_000);

    /// `per_minute` with the default burst (= `per_minute`: a full minute's budget at once).
    pub const fn per_minute(per_minute: u32) -> Self {
        Self { per_minute, burst: per_minute }
    }

    /// The same rate with another burst.
    pub const fn with_burst(self, burst: u32) -> Self {
        Self { burst, ..self }
    }

    /// The SPEC §8 default for a key tier; `None` tier = anonymous. `admin` is unlimited (`None`).
    pub fn for_tier(tier: Option<Tier>) -> Option<Quota> {
        match tier {
            None => Some(Self::ANONYMOUS),
            Some(Tier::Standard) => Some(Self::STANDARD),
            Some(Tier::Premium) => Some(Self::PREMIUM),
            Some(Tier::Admin) => None,
        }
    }

    /// Time to earn back one request.
    pub fn emission_interval(self) -> Duration {
        Duration::from_micros(gcra::emission_interval_us(self))
    }
}

/// The outcome of one [`RateLimiter::check`], with what the response headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// `X-RateLimit-Limit`: the bucket size (the quota's burst, = per-minute rate by default).
    pub limit: u32,
    /// `X-RateLimit-Remaining`: requests that would be allowed right now after this one.
    pub remaining: u32,
    /// `X-RateLimit-Reset`: time until the bucket is full again.
    pub reset_after: Duration,
    /// `Retry-After` when denied: time until one request will be allowed.
    pub retry_after: Option<Duration>,
}

/// Where decisions are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimiterBackend {
    /// No Redis configured: in-process limits (one replica).
    Memory,
    /// Shared limits in Redis.
    Redis,
    /// Redis configured but failing: the in-memory fallback is in use.
    Degraded { reason: String },
}

impl LimiterBackend {
    /// `memory`, `redis` or `degraded` (for logs and health output).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis => "redis",
            Self::Degraded { .. } => "degraded",
        }
    }
}

/// Per-key GCRA limiter; see the module documentation. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct RateLimiter {
    memory: MemoryLimiter,
    redis: Option<RedisBackend>,
    redis_timeout: Duration,
}

#[derive(Debug)]
struct RedisBackend {
    link: RedisLink,
    script: script::GcraScript,
}

impl RateLimiter {
    /// In-process limits only (no Redis configured).
    pub fn memory() -> Self {
        Self { memory: MemoryLimiter::new(), redis: None, redis_timeout: REDIS_TIMEOUT }
    }

    /// In-process limits on the given clock (tests).
    pub fn memory_with_clock(clock: std::sync::Arc<dyn Clock>) -> Self {
        Self { memory: MemoryLimiter::with_clock(clock), redis: None, redis_timeout: REDIS_TIMEOUT }
    }

    /// Limits shared through the Redis at `url` (`redis://[user:pass@]host:port[/db]`).
    ///
    /// Only the URL is checked here; nothing waits for Redis. Inside a Tokio runtime a background
    /// connect starts at once, so a Redis that is down at start shows as
    /// [`LimiterBackend::Degraded`] within moments (and at the latest on the first `check`).
    pub fn redis(url: &str) -> Result<Self, deadpool_redis::redis::RedisError> {
        let link = RedisLink::new(url, "rate limiter")?;
        link.warm_up();
        Ok(Self {
            memory: MemoryLimiter::new(),
            redis: Some(RedisBackend { link, script: Default::default() }),
            redis_timeout: REDIS_TIMEOUT,
        })
    }

    /// Give each Redis round trip `timeout` instead of [`REDIS_TIMEOUT`] (50 ms). A burst of a few
    /// thousand simultaneous checks queues longer than 50 ms on one connection (more so in debug
    /// builds), and calls past the budget are decided in memory.
    pub fn with_redis_timeout(mut self, timeout: Duration) -> Self {
        self.redis_timeout = timeout;
        self
    }

    /// `Some(url)` → [`Self::redis`], `None` → [`Self::memory`].
    pub fn from_url(url: Option<&str>) -> Result<Self, deadpool_redis::redis::RedisError> {
        url.map_or_else(|| Ok(Self::memory()), Self::redis)
    }

    /// Count one request for `key` (e.g. an API key id, or `ip:<addr>` for anonymous callers —
    /// never a secret: it is stored in Redis as `pvn:rl:<key>`). Never fails.
    pub async fn check(&self, key: &str, quota: Quota) -> RateDecision {
        let Some(backend) = &self.redis else {
            return self.memory.check(key, quota);
        };
        let outcome = backend.link.run(self.redis_timeout, |conn| backend.script.run(conn, key, quota)).await;
        match outcome {
            Ok(decision) => decision,
            Err(e) => {
                metrics::counter!("provenance_rate_limiter_fallback_total", "reason" => e.label()).increment(1);
                self.memory.check(key, quota)
            }
        }
    }

    /// Where decisions are being made, as last observed (no I/O).
    pub fn backend(&self) -> LimiterBackend {
        match &self.redis {
            None => LimiterBackend::Memory,
            Some(backend) => health_to_backend(backend.link.health()),
        }
    }

    /// For readiness: `PING` Redis now (within [`PING_TIMEOUT`], ignoring the back-off), record the
    /// outcome, and return the resulting backend. Redis is non-critical: callers should report
    /// `Degraded` without failing readiness.
    pub async fn ping(&self) -> LimiterBackend {
        match &self.redis {
            None => LimiterBackend::Memory,
            Some(backend) => health_to_backend(backend.link.probe(PING_TIMEOUT).await),
        }
    }

    /// The in-memory limiter (alone, or the fallback).
    pub fn memory_limiter(&self) -> &MemoryLimiter {
        &self.memory
    }
}

fn health_to_backend(health: Health) -> LimiterBackend {
    match health {
        // Not contacted yet: assume the configured backend until a call says otherwise.
        Health::Unknown | Health::Up => LimiterBackend::Redis,
        Health::Down { reason } => LimiterBackend::Degraded { reason },
    }
}
