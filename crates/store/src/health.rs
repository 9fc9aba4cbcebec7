//! Readiness probes of the adapters: each external dependency reports itself; the health
//! endpoints of `provenance-api` and `provenance-worker` combine them. The database and the queue
//! are critical (503 when down); Redis only degrades.

use std::sync::Arc;
use std::time::Instant;

use crate::ratelimit::{LimiterBackend, RateLimiter};
use crate::{Store, topics};
use async_trait::async_trait;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Down,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComponentHealth {
    pub name: String,
    pub status: HealthStatus,
    pub message: String,
    pub check_duration_ms: u64,
}

/// One dependency's health check.
#[async_trait]
pub trait Probe: Send + Sync {
    fn name(&self) -> &'static str;
    /// `(status, message)`; must finish quickly (callers add no timeout of their own).
    async fn check(&self) -> (HealthStatus, String);
}

/// Run a probe and time it.
pub async fn run_probe(probe: &dyn Probe) -> ComponentHealth {
    let started = Instant::now();
    let (status, message) = probe.check().await;
    ComponentHealth {
        name: probe.name().to_string(),
        status,
        message,
        check_duration_ms: started.elapsed().as_millis() as u64,
    }
}

pub struct DatabaseProbe(pub Arc<dyn Store>);

#[async_trait]
impl Probe for DatabaseProbe {
    fn name(&self) -> &'static str {
        "database"
    }
    async fn check(&self) -> (HealthStatus, String) {
        match self.0.ping().await {
            Ok(()) => (HealthStatus::Ok, format!("{} reachable", self.0.backend())),
            Err(e) => (HealthStatus::Down, e.to_string()),
        }
    }
}

/// The embedded queue lives in the database: it is up when the outbox answers.
pub struct EmbeddedQueueProbe(pub Arc<dyn Store>);

#[async_trait]
impl Probe for EmbeddedQueueProbe {
    fn name(&self) -> &'static str {
        "queue"
    }
    async fn check(&self) -> (HealthStatus, String) {
        match self.0.outbox_depth(topics::ANALYSIS_JOBS).await {
            Ok(depth) => (HealthStatus::Ok, format!("embedded queue, {depth} job(s) pending")),
            Err(e) => (HealthStatus::Down, e.to_string()),
        }
    }
}

/// Redis backs rate limits and the idempotency cache; without it they run in memory, so it is
/// never critical.
pub struct RedisProbe(pub Arc<RateLimiter>);

#[async_trait]
impl Probe for RedisProbe {
    fn name(&self) -> &'static str {
        "redis"
    }
    async fn check(&self) -> (HealthStatus, String) {
        match self.0.ping().await {
            LimiterBackend::Redis => (HealthStatus::Ok, "reachable".into()),
            LimiterBackend::Memory => (HealthStatus::Ok, "not configured; in-memory rate limits".into()),
            LimiterBackend::Degraded { reason } => {
                (HealthStatus::Degraded, format!("unreachable ({reason}); in-memory rate limits per process"))
            }
        }
    }
}

/// RabbitMQ: ready when the connection supervisor holds a live connection with the topology
/// declared.
pub struct BrokerProbe(pub crate::amqp::AmqpConnection);

#[async_trait]
impl Probe for BrokerProbe {
    fn name(&self) -> &'static str {
        "broker"
    }
    async fn check(&self) -> (HealthStatus, String) {
        if self.0.is_ready() {
            (HealthStatus::Ok, "rabbitmq connected".into())
        } else {
            let why = self.0.last_error().unwrap_or_else(|| "connecting".into());
            (HealthStatus::Down, format!("rabbitmq not connected ({why}); reconnecting"))
        }
    }
}

/// The combined report of `/health/*` (SPEC §8 shape).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub version: String,
    pub uptime_seconds: u64,
    pub components: Vec<ComponentHealth>,
}

impl HealthReport {
    /// Down if any component is down, else degraded if any is degraded, else ok.
    pub fn new(version: &str, uptime: std::time::Duration, components: Vec<ComponentHealth>) -> Self {
        let status = components.iter().map(|c| c.status).fold(HealthStatus::Ok, |acc, s| match (acc, s) {
            (HealthStatus::Down, _) | (_, HealthStatus::Down) => HealthStatus::Down,
            (HealthStatus::Degraded, _) | (_, HealthStatus::Degraded) => HealthStatus::Degraded,
            _ => HealthStatus::Ok,
        });
        Self { status, version: version.to_string(), uptime_seconds: uptime.as_secs(), components }
    }
}

/// Run every probe concurrently.
pub async fn check_all(probes: &[Arc<dyn Probe>]) -> Vec<ComponentHealth> {
    futures_util::future::join_all(probes.iter().map(|p| run_probe(p.as_ref()))).await
}
