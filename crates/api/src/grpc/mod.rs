//! The gRPC face of the API (`proto/provenance/v1`), served on the REST port: a request whose
//! `content-type` is `application/grpc` is routed to the tonic services, everything else to the
//! REST routes. Both go through the same middleware (request id, authentication, rate limits),
//! the same handlers' logic (each service calls the function its REST route calls) and the same
//! error type, rendered here as a gRPC status instead of a problem document.
//!
//! Also served: `grpc.health.v1.Health` and server reflection (v1 and v1alpha), so `grpcurl`
//! and other generic clients work without the `.proto` files.

mod analysis;
mod detector;
mod json;
mod time;
mod webhooks;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt;
use provenance_proto::v1::analysis_service_server::AnalysisServiceServer;
use provenance_proto::v1::webhook_service_server::WebhookServiceServer;
use tonic::{Code, Status};
use tonic_health::ServingStatus;

use crate::auth::{Caller, Principal};
use crate::error::{ApiError, RenderedError};
use crate::state::AppState;

/// The gRPC services, as routes to merge into the REST router.
pub fn router(state: &AppState) -> Router<AppState> {
    let (health, health_service) = tonic_health::server::health_reporter();
    // The reporter's lock is uncontended here: the futures complete at once.
    let _ = health.set_serving::<AnalysisServiceServer<analysis::Analyses>>().now_or_never();
    let _ = health.set_serving::<WebhookServiceServer<webhooks::Webhooks>>().now_or_never();
    let _ = health.set_service_status("provenance.v1.DetectorService", ServingStatus::Serving).now_or_never();

    let mut routes = tonic::service::Routes::new(health_service)
        .add_service(
            AnalysisServiceServer::new(analysis::Analyses::new(state.clone()))
                // A submission may be as large as the REST body limit (and is checked against
                // it again, with a field-naming error).
                .max_decoding_message_size(state.limits.max_body_bytes.saturating_add(1024))
                .max_encoding_message_size(usize::MAX),
        )
        .add_service(WebhookServiceServer::new(webhooks::Webhooks::new(state.clone())))
        .add_service(detector::service(state.clone()));
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(provenance_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    match (reflection().build_v1(), reflection().build_v1alpha()) {
        (Ok(v1), Ok(v1alpha)) => routes = routes.add_service(v1).add_service(v1alpha),
        (Err(e), _) | (_, Err(e)) => tracing::error!(error = %e, "gRPC reflection is unavailable"),
    }
    routes
        .into_axum_router()
        // tonic answers unknown paths with a gRPC UNIMPLEMENTED; REST wants its plain 404 (a
        // gRPC call to an unknown method still gets UNIMPLEMENTED, from `errors`).
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(())
}

/// Whether a request is a gRPC call.
pub fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// Middleware: a gRPC call answered by something other than a gRPC service — an error of the
/// authentication or rate-limit middleware, a timeout, a panic, an unknown method — gets a gRPC
/// status rather than an HTTP error a gRPC client cannot read. Headers set on the way (request
/// id, rate limits) are kept as response metadata.
pub async fn errors(request: Request, next: Next) -> Response {
    if !is_grpc(&request) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    if response.headers().contains_key("grpc-status")
        || response.headers().get(header::CONTENT_TYPE).is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc"))
    {
        return response;
    }
    let status = match response.extensions().get::<RenderedError>() {
        Some(RenderedError(error)) => error.status(),
        None => http_status_to_grpc(response.status()),
    };
    let mut grpc = status.into_http::<axum::body::Body>();
    for (name, value) in response.headers() {
        let keep = name.as_str().starts_with("x-") || name == header::RETRY_AFTER;
        if keep {
            grpc.headers_mut().insert(name.clone(), value.clone());
        }
    }
    grpc
}

/// The gRPC code for an HTTP answer that carries no error of ours (gRPC's own HTTP mapping,
/// with 404 — no such method — as UNIMPLEMENTED).
fn http_status_to_grpc(status: StatusCode) -> Status {
    let code = match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Code::Unimplemented,
        StatusCode::REQUEST_TIMEOUT => Code::DeadlineExceeded,
        StatusCode::PAYLOAD_TOO_LARGE => Code::ResourceExhausted,
        StatusCode::UNAUTHORIZED => Code::Unauthenticated,
        StatusCode::FORBIDDEN => Code::PermissionDenied,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
        s if s.is_server_error() => Code::Internal,
        _ => Code::Unknown,
    };
    Status::new(code, format!("HTTP {status}"))
}

/// The authenticated caller of a gRPC request (the authentication middleware left it in the
/// request's extensions).
pub(crate) fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, Status> {
    match request.extensions().get::<Caller>() {
        Some(Caller::Authenticated(p)) => Ok(p.clone()),
        _ => Err(ApiError::Unauthenticated.to_status()),
    }
}
