//! `GET /v1/detectors/capabilities`: every detector, its engine version, rule ids and rule-pack
//! digest, so a client knows exactly what evaluated its code.

use axum::Json;
use axum::extract::State;
use provenance_core::finding::RuleInfo;
use serde::Serialize;

use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DetectorView {
    pub name: String,
    pub engine: String,
    pub version: String,
    pub rulepack_sha256: String,
    pub rules: Vec<RuleInfo>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CapabilitiesResponse {
    pub detectors: Vec<DetectorView>,
}

/// The detectors this server runs.
#[utoipa::path(get, path = "/v1/detectors/capabilities", tag = "detectors", responses((status = 200, body = CapabilitiesResponse)))]
pub async fn capabilities(State(state): State<AppState>) -> Json<CapabilitiesResponse> {
    let detectors = state
        .detectors
        .capabilities()
        .into_iter()
        .map(|c| DetectorView {
            name: c.name.clone(),
            engine: c.engine.clone(),
            version: c.version.clone(),
            rulepack_sha256: c.rulepack_sha256.clone(),
            rules: c.rules.clone(),
        })
        .collect();
    Json(CapabilitiesResponse { detectors })
}
