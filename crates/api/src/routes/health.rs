//! Health probes (SPEC §8): `live` answers from the process alone; `ready` and `startup` check
//! the database and the queue and answer 503 when a critical one is down.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use provenance_store::topics;
use serde::Serialize;

use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Down,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentHealth {
    pub name: String,
    pub status: HealthStatus,
    pub message: String,
    pub check_duration_ms: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub version: String,
    pub uptime_seconds: u64,
    pub components: Vec<ComponentHealth>,
}

fn report(state: &AppState, components: Vec<ComponentHealth>) -> (StatusCode, Json<HealthReport>) {
    let status = if components.iter().any(|c| c.status == HealthStatus::Down) {
        HealthStatus::Down
    } else if components.iter().any(|c| c.status == HealthStatus::Degraded) {
        HealthStatus::Degraded
    } else {
        HealthStatus::Ok
    };
    let code = if status == HealthStatus::Down { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (
        code,
        Json(HealthReport {
            status,
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: state.started_at.elapsed().as_secs(),
            components,
        }),
    )
}

/// Liveness: the process answers. No dependency is checked.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, body = HealthReport)))]
pub async fn live(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    report(&state, Vec::new())
}

async fn check_components(state: &AppState) -> Vec<ComponentHealth> {
    let started = Instant::now();
    let database = match state.store.ping().await {
        Ok(()) => (HealthStatus::Ok, "reachable".to_string()),
        Err(e) => (HealthStatus::Down, e.to_string()),
    };
    let db = ComponentHealth {
        name: "database".into(),
        status: database.0,
        message: database.1,
        check_duration_ms: started.elapsed().as_millis() as u64,
    };
    let started = Instant::now();
    let queue = match state.store.outbox_depth(topics::ANALYSIS_JOBS).await {
        Ok(depth) => (HealthStatus::Ok, format!("embedded queue, {depth} job(s) pending")),
        Err(e) => (HealthStatus::Down, e.to_string()),
    };
    let queue = ComponentHealth {
        name: "queue".into(),
        status: queue.0,
        message: queue.1,
        check_duration_ms: started.elapsed().as_millis() as u64,
    };
    vec![db, queue]
}

/// Readiness: the database and the queue answer. 503 otherwise.
#[utoipa::path(get, path = "/health/ready", tag = "operations", responses((status = 200, body = HealthReport), (status = 503, body = HealthReport)))]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let components = check_components(&state).await;
    report(&state, components)
}

/// Startup: the server finished starting (migrations applied, keys loaded) and its dependencies
/// answer.
#[utoipa::path(get, path = "/health/startup", tag = "operations", responses((status = 200, body = HealthReport), (status = 503, body = HealthReport)))]
pub async fn startup(State(state): State<AppState>) -> (StatusCode, Json<HealthReport>) {
    let components = check_components(&state).await;
    report(&state, components)
}
