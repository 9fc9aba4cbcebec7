//! What every handler shares: the store, the detection backend, the public signing keys, the
//! limits, the rate limiter, the idempotency cache, the readiness probes and the metrics handle.
//! Built once at startup from settings.

use std::sync::Arc;
use std::time::Instant;

use ed25519_dalek::SigningKey;
use metrics_exporter_prometheus::PrometheusHandle;
use provenance_core::ingest::IngestLimits;
use provenance_detect::DetectorSet;
use provenance_store::Store;
use provenance_store::idempotency_cache::IdempotencyCache;
use provenance_store::keyring::PublicKeyInfo;
use provenance_store::ratelimit::RateLimiter;

use crate::readiness::{DatabaseProbe, EmbeddedQueueProbe, Probe};

pub mod detection;
pub use detection::Detection;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Runs `POST /v1/detect` and the capabilities: the detectors in this process (one scan per
    /// core at a time), or a worker's `DetectorService` (`PROVENANCE_WORKER_GRPC_URL`).
    pub detection: Detection,
    pub public_keys: Arc<Vec<PublicKeyInfo>>,
    /// Signs overrides (decisions are signed by the worker with the same key).
    pub signing_key: Arc<SigningKey>,
    pub limits: IngestLimits,
    pub metrics: PrometheusHandle,
    pub started_at: Instant,
    /// The URL clients should use to reach this server (for `status_url`); empty = relative URLs.
    pub public_base_url: String,
    pub rate_limiter: Arc<RateLimiter>,
    pub idempotency: Arc<IdempotencyCache>,
    /// Checked by `/health/ready` and `/health/startup`.
    pub probes: Arc<Vec<Arc<dyn Probe>>>,
    pub key_cache: Arc<crate::auth::KeyCache>,
    /// Retention defaults the scheduler applies (shown by `GET /v1/admin/retention`).
    pub retention: provenance_store::RetentionRules,
}

impl AppState {
    /// State for embedded mode: in-memory rate limits, no idempotency cache (the database is
    /// authoritative), the database and embedded queue as readiness probes, and `detectors`
    /// running in this process.
    pub fn new(
        store: Arc<dyn Store>,
        detectors: Arc<DetectorSet>,
        public_keys: Vec<PublicKeyInfo>,
        signing_key: Arc<SigningKey>,
        limits: IngestLimits,
    ) -> Self {
        Self::with_detection(store, Detection::local(detectors), public_keys, signing_key, limits)
    }

    /// [`AppState::new`] with another detection backend (a worker's, in distributed mode).
    pub fn with_detection(
        store: Arc<dyn Store>,
        detection: Detection,
        public_keys: Vec<PublicKeyInfo>,
        signing_key: Arc<SigningKey>,
        limits: IngestLimits,
    ) -> Self {
        let probes: Vec<Arc<dyn Probe>> =
            vec![Arc::new(DatabaseProbe(Arc::clone(&store))), Arc::new(EmbeddedQueueProbe(Arc::clone(&store)))];
        Self {
            store,
            detection,
            public_keys: Arc::new(public_keys),
            signing_key,
            limits,
            metrics: crate::metrics::handle(),
            started_at: Instant::now(),
            retention: provenance_store::RetentionRules::default(),
            public_base_url: String::new(),
            rate_limiter: Arc::new(RateLimiter::memory()),
            idempotency: Arc::new(IdempotencyCache::disabled()),
            probes: Arc::new(probes),
            key_cache: Arc::default(),
        }
    }
}
