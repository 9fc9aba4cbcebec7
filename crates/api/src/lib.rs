//! Provenance's REST and gRPC API: accepts analyses (validated, stored with their job in one transaction,
//! answered 202), serves results, keys, health, metrics and the OpenAPI document.
//!
//! Where a request goes: `routes::router` lists every route; each resource has its module under
//! `routes/`; errors are rendered in `error.rs`.

pub mod auth;
pub mod body;
pub mod bootstrap;
pub mod error;
pub mod grpc;
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
        .merge(grpc::router(&state))
        // A route layer, so the metric is labelled with the matched route template.
        .route_layer(middleware::from_fn(metrics::track_http))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit::middleware))
        .layer(middleware::from_fn_with_state(state.clone(), auth::middleware))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(60)))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(grpc::errors))
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
    serve_all(vec![listener], state, shutdown).await
}

/// [`serve`] on several listeners at once (the REST port and `PROVENANCE_GRPC_LISTEN`): the same
/// application, REST and gRPC, on each.
pub async fn serve_all(
    listeners: Vec<TcpListener>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(state);
    let (stop, _) = tokio::sync::watch::channel(());
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        let mut stopped = stop.subscribe();
        // Connection info gives anonymous callers their per-address rate-limit bucket.
        let service = app.clone().into_make_service_with_connect_info::<std::net::SocketAddr>();
        servers.spawn(async move {
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.changed().await;
                })
                .await
        });
    }
    tokio::select! {
        () = shutdown => {}
        // A listener that fails ends them all.
        Some(Ok(Err(e))) = servers.join_next() => {
            let _ = stop.send(());
            return Err(e);
        }
    }
    let _ = stop.send(());
    while let Some(done) = servers.join_next().await {
        done.map_err(std::io::Error::other)??;
    }
    Ok(())
}
