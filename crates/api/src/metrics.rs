//! Prometheus metrics (SPEC §8): one process-wide recorder, the HTTP request middleware, and the
//! `/metrics` endpoint, which also refreshes the gauges that are read from the store.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use provenance_core::AnalysisStatus;
use provenance_store::topics;

use crate::state::AppState;

/// The process-wide recorder (shared with the worker binary's metrics endpoint), with the API's
/// alerted counters exported from the first scrape.
pub fn handle() -> PrometheusHandle {
    let handle = provenance_store::process::metrics_handle();
    provenance_store::process::export_counters_at_zero(provenance_store::process::API_COUNTERS);
    handle
}

/// Count and time every request by method, route template and status.
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    // gRPC methods share one route per service (`/provenance.v1.AnalysisService/{*rest}`): label
    // them by method, except an unknown one (UNIMPLEMENTED), which would grow the label set.
    let route = if route.ends_with("/{*rest}") && response.headers().get("grpc-status").is_none_or(|s| s != "12") {
        path
    } else {
        route
    };
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` — Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    if let Ok(counts) = state.store.count_by_status().await {
        // Every status is exported, zero included, so dashboards see a series from the start.
        for status in
            [AnalysisStatus::Queued, AnalysisStatus::Running, AnalysisStatus::Completed, AnalysisStatus::Failed]
        {
            let n = counts.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            metrics::gauge!("provenance_analyses", "status" => status.as_str()).set(n as f64);
        }
    }
    if let Ok(depth) = state.store.outbox_depth(topics::ANALYSIS_JOBS).await {
        metrics::gauge!("provenance_queue_depth", "queue" => topics::ANALYSIS_JOBS).set(depth as f64);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}
