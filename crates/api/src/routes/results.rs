//! The results of a completed analysis: decision, findings, lines with attribution, the signed
//! bundle and the SARIF report.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use provenance_core::access::Scope;
use provenance_core::decision::Decision;
use provenance_core::digest::canonical_json;
use provenance_core::dsse::Envelope;
use provenance_core::sarif::{SarifInput, SarifSubject, render_sarif};
use provenance_core::{Analysis, AnalysisId, AnalysisStatus, ChangedLine, Finding, TenantId};
use serde::Serialize;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::routes::{PageQuery, parse_analysis_id};
use crate::state::AppState;

/// A result exists only once the analysis completed: say why it is not there yet.
async fn require_completed(state: &AppState, tenant: &TenantId, id: &AnalysisId) -> ApiResult<()> {
    let analysis = state.store.get_analysis(tenant, id).await?.ok_or(ApiError::NotFound("analysis"))?;
    match analysis.status {
        AnalysisStatus::Completed => Ok(()),
        AnalysisStatus::Failed => Err(ApiError::NotReady(format!(
            "analysis failed: {}",
            analysis.error.map(|e| format!("{}: {}", e.code, e.message)).unwrap_or_default()
        ))),
        other => Err(ApiError::NotReady(format!("analysis is {}; results are not available yet", other.as_str()))),
    }
}

fn missing_after_completion(what: &'static str) -> ApiError {
    ApiError::Internal(format!("completed analysis has no stored {what}"))
}

/// The policy decision: outcome, fired rules with evidence, risk summary, coverage.
#[utoipa::path(
    get, path = "/v1/analysis/{id}/decision", tag = "results",
    params(("id" = String, Path, description = "Analysis id")),
    responses(
        (status = 200, body = Decision),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Analysis not completed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn decision(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Decision>> {
    load_decision(&state, &principal, &id).await.map(Json)
}

/// The decision of a completed analysis.
pub(crate) async fn load_decision(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Decision> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_analysis_id(id)?;
    require_completed(state, &principal.tenant_id, &id).await?;
    state.store.get_decision(&principal.tenant_id, &id).await?.ok_or_else(|| missing_after_completion("decision"))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingList {
    pub items: Vec<Finding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Findings on the changed lines, in file and line order.
#[utoipa::path(
    get, path = "/v1/analysis/{id}/findings", tag = "results",
    params(("id" = String, Path, description = "Analysis id"), PageQuery),
    responses((status = 200, body = FindingList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn findings(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<FindingList>> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_analysis_id(&id)?;
    let page = q.parse()?;
    let page =
        state.store.list_findings(&principal.tenant_id, &id, &page).await?.ok_or(ApiError::NotFound("analysis"))?;
    Ok(Json(FindingList { items: page.items, next_cursor: page.next_cursor }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineList {
    pub items: Vec<ChangedLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Each changed line with its resolved attribution (`unknown` until the analysis completes).
#[utoipa::path(
    get, path = "/v1/analysis/{id}/lines", tag = "results",
    params(("id" = String, Path, description = "Analysis id"), PageQuery),
    responses((status = 200, body = LineList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn lines(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<LineList>> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_analysis_id(&id)?;
    let page = q.parse()?;
    let page = state.store.list_lines(&principal.tenant_id, &id, &page).await?.ok_or(ApiError::NotFound("analysis"))?;
    Ok(Json(LineList { items: page.items, next_cursor: page.next_cursor }))
}

/// The DSSE envelope over the in-toto decision statement; verify it with `provenance verify`
/// and the keys of `GET /v1/keys`.
#[utoipa::path(
    get, path = "/v1/analysis/{id}/bundle", tag = "results",
    params(("id" = String, Path, description = "Analysis id")),
    responses(
        (status = 200, body = Envelope),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn bundle(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let bundle = load_bundle(&state, &principal, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], Json(bundle)).into_response())
}

/// The signed bundle (DSSE envelope as stored) of a completed analysis.
pub(crate) async fn load_bundle(state: &AppState, principal: &Principal, id: &str) -> ApiResult<serde_json::Value> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_analysis_id(id)?;
    require_completed(state, &principal.tenant_id, &id).await?;
    state.store.get_bundle(&principal.tenant_id, &id).await?.ok_or_else(|| missing_after_completion("bundle"))
}

/// The SARIF 2.1.0 report, ready for GitHub code scanning.
#[utoipa::path(
    get, path = "/v1/analysis/{id}/sarif", tag = "results",
    params(("id" = String, Path, description = "Analysis id")),
    responses(
        (status = 200, description = "SARIF 2.1.0 log", content_type = "application/sarif+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn sarif(State(state): State<AppState>, principal: Principal, Path(id): Path<String>) -> ApiResult<Response> {
    let body = load_sarif(&state, &principal, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/sarif+json")], body).into_response())
}

/// The SARIF log of a completed (or failed) analysis in its canonical (RFC 8785) form: the bytes
/// a client saves hash to the `sarif` subject digest of the signed statement.
pub(crate) async fn load_sarif(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Vec<u8>> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_analysis_id(id)?;
    let analysis = state.store.get_analysis(&principal.tenant_id, &id).await?.ok_or(ApiError::NotFound("analysis"))?;
    let sarif = if analysis.status == AnalysisStatus::Failed {
        // A failed analysis still gets a log, so code scanning shows the run as failed
        // (`executionSuccessful: false` with the error) instead of as clean.
        failed_run_sarif(&analysis)?
    } else {
        require_completed(state, &principal.tenant_id, &id).await?;
        state.store.get_sarif(&principal.tenant_id, &id).await?.ok_or_else(|| missing_after_completion("sarif"))?
    };
    canonical_json(&sarif).map_err(|e| ApiError::Internal(e.to_string()))
}

fn failed_run_sarif(analysis: &Analysis) -> ApiResult<serde_json::Value> {
    let message = analysis.error.as_ref().map(|e| format!("analysis failed: {}: {}", e.code, e.message));
    let log = render_sarif(&SarifInput {
        subject: Some(SarifSubject { repo: &analysis.repo, head_sha: &analysis.head_sha, analysis_id: &analysis.id }),
        findings: &[],
        rules: &[],
        tool_version: env!("CARGO_PKG_VERSION"),
        execution_successful: false,
        failure_message: Some(message.as_deref().unwrap_or("analysis failed")),
        start_time: analysis.started_at,
        end_time: analysis.completed_at.or(Some(analysis.updated_at)),
    });
    serde_json::to_value(&log).map_err(|e| ApiError::Internal(e.to_string()))
}
