//! `POST /v1/analysis`, `GET /v1/analysis/{id}` and `GET /v1/analyses`: accepting work and
//! reporting its progress. Submission validates everything, then stores the analysis, its lines
//! and its job in one transaction and answers 202; it never runs detectors.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use prost::Message;
use provenance_core::access::Scope;
use provenance_core::decision::RiskSummary;
use provenance_core::digest::sha256_hex;
use provenance_core::ingest::{ParsedSubmission, SubmitAnalysisRequest};
use provenance_core::{Analysis, AnalysisError, AnalysisId, AnalysisStatus, FieldError, Outcome, RepoName};
use provenance_proto::v1::AnalysisJob;
use provenance_store::idempotency_cache::CachedSubmission;
use provenance_store::{AnalysisFilter, IdempotencyKey, OutboxMessage, PageRequest, Submitted, topics};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::routes::{PageQuery, parse_analysis_id};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmitAnalysisResponse {
    pub analysis_id: AnalysisId,
    pub status: AnalysisStatus,
    /// Where to poll for progress.
    pub status_url: String,
    /// `true` when an identical submission already existed and is returned instead.
    pub deduplicated: bool,
}

const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// Submit a change set for analysis.
///
/// Accepts the legacy `provenance_data.changed_lines[]` wire format and/or a unified `diff`.
/// Returns 202 with the analysis id; poll `status_url` until `completed` or `failed`. An
/// identical resubmission returns the existing analysis with 200 and `deduplicated: true`.
#[utoipa::path(
    post, path = "/v1/analysis", tag = "analyses",
    request_body = SubmitAnalysisRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats within 24 h return the first response")),
    responses(
        (status = 202, description = "Accepted and queued", body = SubmitAnalysisResponse),
        (status = 200, description = "Identical analysis already exists", body = SubmitAnalysisResponse),
        (status = 400, description = "Malformed JSON or wrong field type", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over a size limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    principal.require(Scope::AnalysisWrite)?;
    let body = body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(_) => ApiError::TooLarge {
            limit: "max_body_bytes",
            error: FieldError::new("", format!("request body is larger than {} bytes", state.limits.max_body_bytes)),
        },
        other => ApiError::Malformed(FieldError::new("", other.body_text())),
    })?;
    let idempotency = idempotency_key(&headers, &body)?;
    let accepted = accept(&state, &principal, &body, idempotency).await?;
    Ok(submission_response(accepted.status, accepted.body, accepted.replayed))
}

/// The answer to a submission, whichever face it came through.
pub(crate) struct Accepted {
    /// 202 for a new (or replayed) submission, 200 for a deduplicated one.
    pub status: StatusCode,
    /// The [`SubmitAnalysisResponse`] as JSON, as first answered (replays return it again).
    pub body: String,
    /// Answered from an earlier request with the same `Idempotency-Key`.
    pub replayed: bool,
}

/// Validate a submission's JSON body and store it with its job in one transaction; the one
/// path of REST `POST /v1/analysis` and gRPC `AnalysisService.Submit`.
pub(crate) async fn accept(
    state: &AppState,
    principal: &Principal,
    body: &[u8],
    idempotency: Option<IdempotencyKey>,
) -> ApiResult<Accepted> {
    principal.require(Scope::AnalysisWrite)?;
    // Fast path: a retry with a known key is answered from the cache without touching the
    // database. The database remains the record (it checks the key again in its transaction).
    if let Some(key) = &idempotency
        && let Some(hit) = state.idempotency.get(principal.tenant_id.as_str(), &key.key).await
    {
        if hit.request_sha256 != key.request_sha256 {
            return Err(ApiError::from(provenance_store::StoreError::IdempotencyMismatch));
        }
        let status = StatusCode::from_u16(hit.status_code).unwrap_or(StatusCode::ACCEPTED);
        return Ok(Accepted { status, body: hit.body, replayed: true });
    }
    let parsed = ParsedSubmission::parse(body, &state.limits)?;
    // The tenant's agent identities are read only when commit metadata needs matching.
    let identities =
        if parsed.has_commits() { state.store.list_agent_identities(&principal.tenant_id).await? } else { Vec::new() };
    let new = parsed.validate(&state.limits, &principal.tenant_id, Utc::now(), &identities)?;
    let job = AnalysisJob::for_analysis(
        new.id.as_str(),
        new.tenant_id.as_str(),
        new.id.as_str(),
        new.created_at.timestamp_millis(),
    );
    let message =
        OutboxMessage { topic: topics::ANALYSIS_JOBS.into(), key: new.id.to_string(), payload: job.encode_to_vec() };
    let (status, analysis, deduplicated, replayed) =
        match state.store.submit_analysis(&new, idempotency.as_ref(), &message).await? {
            Submitted::Created(a) => (StatusCode::ACCEPTED, a, false, false),
            Submitted::Deduplicated(a) => (StatusCode::OK, a, true, false),
            Submitted::Replayed(a) => (StatusCode::ACCEPTED, a, false, true),
        };
    if status == StatusCode::ACCEPTED && !replayed {
        if !provenance_core::is_smoke(&new.metadata) {
            metrics::counter!("provenance_analyses_submitted_total").increment(1);
        }
        tracing::info!(analysis_id = %analysis.id, lines = new.lines.len(), "analysis accepted");
    }
    let status_url = format!("{}/v1/analysis/{}", state.public_base_url, analysis.id);
    let view = SubmitAnalysisResponse { analysis_id: analysis.id, status: analysis.status, status_url, deduplicated };
    let body = serde_json::to_string(&view).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(key) = &idempotency {
        let cached = CachedSubmission {
            request_sha256: key.request_sha256.clone(),
            analysis_id: view.analysis_id.to_string(),
            status_code: status.as_u16(),
            body: body.clone(),
        };
        state.idempotency.put(principal.tenant_id.as_str(), &key.key, &cached, IDEMPOTENCY_WINDOW).await;
    }
    Ok(Accepted { status, body, replayed })
}

/// How long an `Idempotency-Key` is honoured (SPEC §2).
const IDEMPOTENCY_WINDOW: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The answer to a submission, fresh or replayed: the JSON body, `Location` of the analysis, and
/// `Idempotent-Replayed: true` on a replay.
fn submission_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let location = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["status_url"].as_str().and_then(|u| HeaderValue::from_str(u).ok()));
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// The `Idempotency-Key` header (or gRPC metadata) of a request, keyed to its body's digest.
pub(crate) fn idempotency_key(headers: &HeaderMap, body: &[u8]) -> ApiResult<Option<IdempotencyKey>> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| ApiError::invalid("", "the Idempotency-Key header must be 1 to 255 visible characters"))?;
    Ok(Some(IdempotencyKey { key: key.to_string(), request_sha256: sha256_hex(body) }))
}

/// A short view of the decision inside an analysis.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionSummary {
    pub outcome: Outcome,
    /// `allow` when a `block` was overridden, else `outcome`: what a merge gate should act on.
    pub effective_outcome: Outcome,
    pub fired_rules: Vec<FiredRuleSummary>,
    /// The signed override of a `block` (`GET /v1/analysis/{id}/override` has its bundle).
    #[serde(rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_: Option<OverrideSummary>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverrideSummary {
    pub id: String,
    pub reason: String,
    pub overridden_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FiredRuleSummary {
    pub rule: String,
    pub outcome: Outcome,
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalysisView {
    pub id: AnalysisId,
    pub status: AnalysisStatus,
    pub repo: RepoName,
    pub pr_number: u64,
    pub base_sha: String,
    pub head_sha: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub report_mode: provenance_core::ReportMode,
    pub lines_total: u64,
    pub findings_total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_summary: Option<RiskSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<AnalysisError>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
    /// When retention removed the analysis' lines, findings and SARIF; its decision and bundle
    /// are kept longer (SPEC §9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purged_at: Option<DateTime<Utc>>,
}

impl AnalysisView {
    fn from_analysis(a: Analysis) -> Self {
        Self {
            id: a.id,
            status: a.status,
            repo: a.repo,
            pr_number: a.pr_number,
            base_sha: a.base_sha.to_string(),
            head_sha: a.head_sha.to_string(),
            branch: a.branch,
            report_mode: a.report_mode,
            lines_total: a.lines_total,
            findings_total: a.findings_total,
            risk_summary: None,
            decision: None,
            error: a.error,
            metadata: a.metadata,
            created_at: a.created_at,
            updated_at: a.updated_at,
            started_at: a.started_at,
            completed_at: a.completed_at,
            purged_at: a.purged_at,
        }
    }
}

/// Longest `?wait=` a request may hold the connection.
const MAX_WAIT_SECONDS: u64 = 30;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct GetQuery {
    /// Wait up to this many seconds (at most 30) for the analysis to be completed or failed
    /// before answering: one request instead of polling.
    pub wait: Option<u64>,
}

/// Get an analysis: status, counts, and once completed the risk summary and decision.
/// With `?wait=N` the answer is held until the analysis settles or N seconds pass.
#[utoipa::path(
    get, path = "/v1/analysis/{id}", tag = "analyses",
    params(("id" = String, Path, description = "Analysis id (`an_…`)"), GetQuery),
    responses(
        (status = 200, body = AnalysisView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<GetQuery>,
) -> ApiResult<Json<AnalysisView>> {
    view(&state, &principal, &id, q.wait).await.map(Json)
}

/// An analysis with its decision summary, after waiting up to `wait` seconds for it to settle.
pub(crate) async fn view(
    state: &AppState,
    principal: &Principal,
    id: &str,
    wait: Option<u64>,
) -> ApiResult<AnalysisView> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_analysis_id(id)?;
    let wait = match wait {
        None => None,
        Some(w) if w <= MAX_WAIT_SECONDS => Some(std::time::Duration::from_secs(w)),
        Some(_) => return Err(ApiError::invalid("/wait", format!("must be at most {MAX_WAIT_SECONDS} seconds"))),
    };
    // Subscribe before reading, so a completion between the read and the wait is not missed.
    let mut settled = wait.map(|_| state.store.settled_analyses());
    let read = || async {
        state.store.get_analysis_with_decision(&principal.tenant_id, &id).await?.ok_or(ApiError::NotFound("analysis"))
    };
    let (mut analysis, mut decision) = read().await?;
    if let (Some(wait), Some(settled)) = (wait, settled.as_mut())
        && !analysis.status.is_terminal()
    {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, settled.recv()).await {
                Ok(Ok(settled_id)) if settled_id != id => continue,
                // Ours settled, a lagging receiver may have missed it, or time is up: re-read.
                _ => break,
            }
        }
        (analysis, decision) = read().await?;
    }
    let mut view = AnalysisView::from_analysis(analysis);
    if let Some(d) = decision {
        // Only a block can be overridden: other decisions cost no extra read.
        let override_ = match d.outcome {
            Outcome::Block => state.store.get_override(&principal.tenant_id, &id).await?.map(|o| OverrideSummary {
                id: o.id.to_string(),
                reason: o.reason,
                overridden_by: o.overridden_by,
                created_at: o.created_at,
            }),
            _ => None,
        };
        view.risk_summary = Some(d.risk_summary);
        view.decision = Some(DecisionSummary {
            outcome: d.outcome,
            effective_outcome: if override_.is_some() { Outcome::Allow } else { d.outcome },
            override_,
            fired_rules: d
                .fired_rules
                .into_iter()
                .map(|r| FiredRuleSummary { rule: r.rule, outcome: r.outcome, reason: r.reason })
                .collect(),
        });
    }
    Ok(view)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// Only analyses of this repository (`owner/name`).
    pub repo: Option<String>,
    /// Only analyses of this pull request number.
    pub pr_number: Option<String>,
    /// Only analyses in this status.
    pub status: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalysisList {
    pub items: Vec<AnalysisView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// List analyses, newest first, with cursor pagination.
#[utoipa::path(
    get, path = "/v1/analyses", tag = "analyses", params(ListQuery),
    responses((status = 200, body = AnalysisList), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<AnalysisList>> {
    list_views(&state, &principal, q).await.map(Json)
}

/// One page of the tenant's analyses matching `q`, every invalid filter named.
pub(crate) async fn list_views(state: &AppState, principal: &Principal, q: ListQuery) -> ApiResult<AnalysisList> {
    principal.require(Scope::AnalysisRead)?;
    let mut errors = provenance_core::ValidationErrors::default();
    let filter = AnalysisFilter {
        repo: q.repo.as_deref().and_then(|r| RepoName::parse(r).map_err(|e| errors.push("/repo", e)).ok()),
        pr_number: q
            .pr_number
            .as_deref()
            .and_then(|p| p.parse::<u64>().map_err(|_| errors.push("/pr_number", "must be a positive integer")).ok()),
        status: q.status.as_deref().and_then(|s| {
            AnalysisStatus::parse(s)
                .ok_or(())
                .map_err(|_| errors.push("/status", "must be one of queued, running, completed, failed"))
                .ok()
        }),
    };
    let page = PageQuery { limit: q.limit, cursor: q.cursor }.to_request(&mut errors);
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let page =
        state.store.list_analyses(&principal.tenant_id, &filter, &page.unwrap_or(PageRequest::first(50))).await?;
    Ok(AnalysisList {
        items: page.items.into_iter().map(AnalysisView::from_analysis).collect(),
        next_cursor: page.next_cursor,
    })
}
