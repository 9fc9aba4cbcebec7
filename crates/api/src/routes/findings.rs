//! Finding lifecycle (SPEC §5): `GET /v1/findings/{id}`, `POST /v1/findings/{id}/suppress`, and
//! the tenant's suppressions (`GET /v1/suppressions`, `DELETE /v1/suppressions/{id}`).
//!
//! A suppression matches the finding's fingerprint (rule, path, normalised snippet), so it
//! applies to every later analysis of the same code until it expires or is revoked. An analysis
//! already decided keeps its decision as signed. Suppressing and un-suppressing need
//! `policy:write`; reading needs `analysis:read`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use provenance_core::access::Scope;
use provenance_core::suppression::FingerprintSuppression;
use provenance_core::validation::required_reason;
use provenance_core::webhooks::events::suppression_message;
use provenance_core::{AnalysisId, Finding, FindingId, SuppressionId, ValidationErrors};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingView {
    #[schema(value_type = String)]
    pub analysis_id: AnalysisId,
    pub finding: Finding,
}

fn parse_finding_id(id: &str) -> ApiResult<FindingId> {
    id.parse().map_err(|_| ApiError::NotFound("finding"))
}

/// One finding, with the analysis it belongs to.
#[utoipa::path(
    get, path = "/v1/findings/{id}", tag = "findings",
    params(("id" = String, Path, description = "Finding id (`fd_…`)")),
    responses((status = 200, body = FindingView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<FindingView>> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_finding_id(&id)?;
    let (analysis_id, finding) =
        state.store.get_finding(&principal.tenant_id, &id).await?.ok_or(ApiError::NotFound("finding"))?;
    Ok(Json(FindingView { analysis_id, finding }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuppressRequest {
    /// Why the risk is accepted (required, at most 2 000 characters).
    pub reason: Option<String>,
    /// After this time (RFC 3339, in the future) the suppression no longer applies.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Suppress a finding: later analyses treat findings with its fingerprint as suppressed (they no
/// longer count towards the decision, and are listed with the suppression).
#[utoipa::path(
    post, path = "/v1/findings/{id}/suppress", tag = "findings", request_body = SuppressRequest,
    params(("id" = String, Path, description = "Finding id (`fd_…`)")),
    responses(
        (status = 201, body = FingerprintSuppression),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The fingerprint is already suppressed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn suppress(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<SuppressRequest>,
) -> ApiResult<(StatusCode, Json<FingerprintSuppression>)> {
    principal.require(Scope::PolicyWrite)?;
    let now = Utc::now();
    let mut errors = ValidationErrors::default();
    let reason = required_reason(&mut errors, "/reason", req.reason.as_deref(), "say why the risk is accepted");
    if req.expires_at.is_some_and(|at| at <= now) {
        errors.push("/expires_at", "must be in the future");
    }
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let id = parse_finding_id(&id)?;
    let (_, finding) =
        state.store.get_finding(&principal.tenant_id, &id).await?.ok_or(ApiError::NotFound("finding"))?;
    let suppression = FingerprintSuppression {
        id: SuppressionId::generate(),
        fingerprint: finding.fingerprint,
        finding_id: finding.id,
        rule_id: finding.rule_id,
        file_path: finding.location.file_path.to_string(),
        reason,
        suppressed_by: principal.key_id.to_string(),
        created_at: now,
        expires_at: req.expires_at,
        revoked_at: None,
        revoked_by: None,
    };
    let events = [suppression_message(&suppression, now).into()];
    match state.store.insert_suppression(&principal.tenant_id, &suppression, &events).await? {
        None => Ok((StatusCode::CREATED, Json(suppression))),
        Some(existing) => Err(ApiError::Conflict(format!(
            "this finding's fingerprint is already suppressed by {} (revoke it first to change it)",
            existing.id
        ))),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SuppressionQuery {
    /// Also list revoked suppressions (default false).
    #[serde(default)]
    pub include_revoked: bool,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SuppressionList {
    pub items: Vec<FingerprintSuppression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The tenant's suppressions, newest first (expired ones included: check `expires_at`).
#[utoipa::path(
    get, path = "/v1/suppressions", tag = "findings", params(SuppressionQuery),
    responses((status = 200, body = SuppressionList), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<SuppressionQuery>,
) -> ApiResult<Json<SuppressionList>> {
    principal.require(Scope::AnalysisRead)?;
    let page = crate::routes::PageQuery { limit: q.limit, cursor: q.cursor }.parse()?;
    let page = state.store.list_suppressions(&principal.tenant_id, q.include_revoked, &page).await?;
    Ok(Json(SuppressionList { items: page.items, next_cursor: page.next_cursor }))
}

/// Un-suppress: later analyses count the fingerprint's findings again. The suppression is kept,
/// revoked, for the record.
#[utoipa::path(
    delete, path = "/v1/suppressions/{id}", tag = "findings",
    params(("id" = String, Path, description = "Suppression id (`sup_…`)")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require(Scope::PolicyWrite)?;
    let id: SuppressionId = id.parse().map_err(|_| ApiError::NotFound("suppression"))?;
    if state.store.revoke_suppression(&principal.tenant_id, &id, principal.key_id.as_str(), Utc::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("suppression"))
    }
}
