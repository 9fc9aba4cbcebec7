//! `GET /v1/detectors/capabilities`: every detector, its engine version, rule ids and rule-pack
//! digest, so a client knows exactly what evaluated its code.

use axum::Json;
use axum::extract::State;
use provenance_core::snippet::CapabilitiesResponse;

use crate::error::{ApiResult, Problem};
use crate::state::AppState;

/// The detectors this server runs.
#[utoipa::path(
    get, path = "/v1/detectors/capabilities", tag = "detectors",
    responses(
        (status = 200, body = CapabilitiesResponse),
        (status = 503, description = "The detection worker is unreachable (`PROVENANCE_WORKER_GRPC_URL`)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn capabilities(State(state): State<AppState>) -> ApiResult<Json<CapabilitiesResponse>> {
    Ok(Json(state.detection.capabilities().await?))
}
