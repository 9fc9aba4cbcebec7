//! Provenance's REST API: accepts analyses (validated, stored with their job in one transaction,
//! answered 202), serves results, keys, health, metrics and the OpenAPI document.
//!
//! Where a request goes: `routes::router` lists every route; each resource has its module under
//! `routes/`; errors are rendered in `error.rs`.

pub mod auth;
pub mod body;
pub mod bootstrap;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod rate_limit;
pub mod readiness;
pub mod request_context;
pub mod routes;
pub mod startup;
pub mod state;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;

pub use error::{ApiError, ErrorCode};
pub use state::AppState;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    routes::router(&state)
        // A route layer, so the metric is labelled with the matched route template.
        .route_layer(middleware::from_fn(metrics::track_http))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit::middleware))
        .layer(middleware::from_fn_with_state(state.clone(), auth::middleware))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(60)))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(request_context::middleware))
        .layer(SetSensitiveRequestHeadersLayer::new([
            axum::http::header::AUTHORIZATION,
            axum::http::HeaderName::from_static("x-api-key"),
        ]))
        .with_state(state)
}

/// Serve the application until `shutdown` resolves, then finish in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Connection info gives anonymous callers their per-address rate-limit bucket.
    axum::serve(listener, app(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
