//! The worker's own small HTTP endpoint: `/health/live`, `/health/ready` (database, broker) and
//! `/metrics`, for orchestrators and Prometheus.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use provenance_store::health::{HealthReport, HealthStatus, Probe, check_all};

#[derive(Clone)]
struct HealthState {
    probes: Arc<Vec<Arc<dyn Probe>>>,
    started_at: Instant,
}

pub fn router(probes: Vec<Arc<dyn Probe>>) -> Router {
    let state = HealthState { probes: Arc::new(probes), started_at: Instant::now() };
    Router::new()
        .route("/health/live", get(live))
        .route("/healthz", get(live))
        .route("/health/ready", get(ready))
        .route("/health/startup", get(ready))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn live(State(s): State<HealthState>) -> impl IntoResponse {
    axum::Json(HealthReport::new(env!("CARGO_PKG_VERSION"), s.started_at.elapsed(), Vec::new()))
}

async fn ready(State(s): State<HealthState>) -> impl IntoResponse {
    let report = HealthReport::new(env!("CARGO_PKG_VERSION"), s.started_at.elapsed(), check_all(&s.probes).await);
    let code = if report.status == HealthStatus::Down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, axum::Json(report))
}

async fn metrics() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], provenance_store::process::metrics_handle().render())
}
