//! The REST routes, one module per resource. `router` is the one place that lists them all.

pub mod admin;
pub mod agents;
pub mod analyses;
pub mod api_keys;
pub mod detect;
pub mod detectors;
pub mod docs;
pub mod findings;
pub mod health;
pub mod keys;
pub mod overrides;
pub mod policies;
pub mod results;
pub mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use provenance_core::{AnalysisId, ValidationErrors};
use provenance_store::PageRequest;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/v1/analysis",
            // Leave a little room above the limit so an oversized body is answered by our own
            // check, with a problem document naming the limit.
            post(analyses::submit).layer(DefaultBodyLimit::max(state.limits.max_body_bytes.saturating_add(1))),
        )
        .route("/v1/analyses", get(analyses::list))
        .route("/v1/analysis/{id}", get(analyses::get))
        .route("/v1/analysis/{id}/decision", get(results::decision))
        .route("/v1/analysis/{id}/findings", get(results::findings))
        .route("/v1/analysis/{id}/lines", get(results::lines))
        .route("/v1/analysis/{id}/bundle", get(results::bundle))
        .route("/v1/analysis/{id}/sarif", get(results::sarif))
        .route("/v1/analysis/{id}/override", post(overrides::create).get(overrides::get))
        .route("/v1/analysis/{id}/bundles", get(overrides::history))
        .route("/v1/bundles/verify", post(overrides::verify))
        .route("/v1/policies", get(policies::list))
        .route("/v1/policies/validate", post(policies::validate))
        .route("/v1/policies/effective", get(policies::effective))
        .route("/v1/policies/{policy_id}", get(policies::get).put(policies::put).delete(policies::delete))
        .route("/v1/findings/{id}", get(findings::get))
        .route("/v1/findings/{id}/suppress", post(findings::suppress))
        .route("/v1/suppressions", get(findings::list))
        .route("/v1/suppressions/{id}", delete(findings::revoke))
        .route("/v1/webhooks/endpoints", post(webhooks::create).get(webhooks::list))
        .route("/v1/webhooks/endpoints/{id}", get(webhooks::get).patch(webhooks::update).delete(webhooks::delete))
        .route("/v1/webhooks/endpoints/{id}/rotate-secret", post(webhooks::rotate))
        .route("/v1/webhooks/endpoints/{id}/attempts", get(webhooks::attempts))
        .route("/v1/webhooks/endpoints/{id}/test", post(webhooks::test))
        .route("/v1/webhooks/endpoints/{id}/replay-failed", post(webhooks::replay_failed))
        .route("/v1/webhooks/messages", get(webhooks::messages))
        .route("/v1/webhooks/messages/{id}/replay", post(webhooks::replay_message))
        .route("/v1/detectors/capabilities", get(detectors::capabilities))
        .route(
            "/v1/detect",
            post(detect::detect).layer(DefaultBodyLimit::max(provenance_core::ingest::MAX_DETECT_BODY_BYTES + 1)),
        )
        .route("/v1/keys", get(keys::list))
        .route("/v1/agents/{agent_id}/keys", post(agents::register).get(agents::list).delete(agents::revoke_all))
        .route("/v1/agents/{agent_id}/keys/{key_id}", delete(agents::revoke))
        .route("/v1/agents/{agent_id}/identity", put(agents::put_identity).delete(agents::delete_identity))
        .route("/v1/agents/identities", get(agents::identities))
        .route("/v1/api-keys", post(api_keys::create).get(api_keys::list))
        .route("/v1/admin/scheduler", get(admin::scheduler))
        .route("/v1/admin/retention", get(admin::retention).put(admin::set_retention).delete(admin::reset_retention))
        .route("/v1/api-keys/{id}", delete(api_keys::revoke))
        .route("/health/live", get(health::live))
        .route("/healthz", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/health/startup", get(health::startup))
        .route("/metrics", get(crate::metrics::render))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::page))
        .route("/docs/", get(docs::page))
        .route("/docs/{asset}", get(docs::asset))
}

/// Ids are opaque to clients: a malformed one is simply not found.
pub(crate) fn parse_analysis_id(id: &str) -> ApiResult<AnalysisId> {
    id.parse().map_err(|_| ApiError::NotFound("analysis"))
}

/// `?limit=&cursor=` of a paginated list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageQuery {
    pub(crate) fn to_request(&self, errors: &mut ValidationErrors) -> Option<PageRequest> {
        match PageRequest::from_query(self.limit, self.cursor.as_deref()) {
            Ok(p) => Some(p),
            Err(why) => {
                let pointer = if why.contains("cursor") { "/cursor" } else { "/limit" };
                errors.push(pointer, why);
                None
            }
        }
    }

    pub(crate) fn parse(&self) -> ApiResult<PageRequest> {
        let mut errors = ValidationErrors::default();
        let page = self.to_request(&mut errors);
        errors.into_result(()).map_err(ApiError::Invalid)?;
        Ok(page.unwrap_or(PageRequest::first(PageRequest::DEFAULT_LIMIT)))
    }
}
