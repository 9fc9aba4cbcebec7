//! The worker's internal port (`PROVENANCE_WORKER__HEALTH_LISTEN`): `/health/*` and `/metrics`,
//! and on the same listener, over HTTP/2 without TLS, the gRPC `DetectorService` the API calls
//! when `PROVENANCE_WORKER_GRPC_URL` is set, with `grpc.health.v1` reporting it. It has no
//! authentication: keep the port inside the cluster, like `/metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use provenance_detect::grpc::DetectorGrpc;
use provenance_detect::grpc::REQUEST_ID_METADATA;
use provenance_detect::{DetectorSet, SnippetScanner};
use provenance_proto::v1::detector_service_server::DetectorServiceServer;
use provenance_store::health::Probe;
use provenance_store::trace_context;
use tonic::service::Routes;
use tracing::Instrument;

/// Everything the internal port serves; `detectors` are the ones the pipeline runs.
pub async fn router(probes: Vec<Arc<dyn Probe>>, detectors: Arc<DetectorSet>) -> Router {
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<DetectorServiceServer<DetectorGrpc>>().await;
    // Built on the health router rather than `Routes::new`, so other paths keep axum's plain 404.
    Routes::from(crate::health::router(probes))
        .add_service(DetectorGrpc::new(SnippetScanner::new(detectors)).into_server())
        .add_service(health_service)
        .into_axum_router()
        .layer(axum::middleware::from_fn(traced))
}

/// Each call gets a span that continues the caller's trace (the API sends `traceparent`) and
/// carries its request id.
async fn traced(request: Request, next: Next) -> Response {
    let request_id = request.headers().get(REQUEST_ID_METADATA).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let span = tracing::info_span!(
        "internal",
        path = %request.uri().path(),
        request_id = %request_id,
        trace_id = tracing::field::Empty,
    );
    trace_context::set_parent_from_headers(&span, request.headers());
    trace_context::record_trace_id(&span);
    next.run(request).instrument(span).await
}
