//! Health probes (SPEC §8): `live` answers from the process alone; `ready` and `startup` run the
//! readiness probes and answer 503 when a critical dependency is down (a degraded one, such as
//! Redis, keeps 200 with `status: degraded`).

use crate::readiness::{ComponentHealth, HealthReport, HealthStatus, check_all};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

fn report(state: &AppState, components: Vec<ComponentHealth>) -> (StatusCode, Json<HealthReport>) {
    let report = HealthReport::new(env!("CARGO_PKG_VERSION"), state.started_at.elapsed(), components);
    let code = if report.status == HealthStatus::Down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (code, Json(report))
}

async fn check_components(state: &AppState) -> Vec<ComponentHealth> {
    check_all(&state.probes).await
}

/// Liveness: the process answers. No dependency is checked.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, body = HealthReport)))]
pub async fn live(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    report(&state, Vec::new())
}

/// Readiness: the database and the queue answer (Redis is reported, never critical).
#[utoipa::path(get, path = "/health/ready", tag = "operations", responses((status = 200, body = HealthReport), (status = 503, body = HealthReport)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let components = check_components(&state).await;
    report(&state, components)
}

/// Startup: the server finished starting (migrations checked, keys loaded) and its dependencies
/// answer.
#[utoipa::path(get, path = "/health/startup", tag = "operations", responses((status = 200, body = HealthReport), (status = 503, body = HealthReport)))]
pub async fn startup(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let components = check_components(&state).await;
    report(&state, components)
}
