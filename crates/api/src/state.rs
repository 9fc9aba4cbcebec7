//! What every handler shares: the store, the detectors, the public signing keys, the limits and
//! the metrics handle. Built once at startup from settings.

use std::sync::Arc;
use std::time::Instant;

use metrics_exporter_prometheus::PrometheusHandle;
use provenance_core::ingest::IngestLimits;
use provenance_detect::DetectorSet;
use provenance_store::Store;
use provenance_store::keyring::PublicKeyInfo;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub detectors: Arc<DetectorSet>,
    pub public_keys: Arc<Vec<PublicKeyInfo>>,
    pub limits: IngestLimits,
    pub metrics: PrometheusHandle,
    pub started_at: Instant,
    /// The URL clients should use to reach this server (for `status_url`); empty = relative URLs.
    pub public_base_url: String,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        detectors: Arc<DetectorSet>,
        public_keys: Vec<PublicKeyInfo>,
        limits: IngestLimits,
    ) -> Self {
        Self {
            store,
            detectors,
            public_keys: Arc::new(public_keys),
            limits,
            metrics: crate::metrics::handle(),
            started_at: Instant::now(),
            public_base_url: String::new(),
        }
    }
}
