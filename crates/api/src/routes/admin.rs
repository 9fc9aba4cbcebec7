//! Operator views (scope `admin`): the scheduler's duties and the tenant's retention (SPEC §9).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use provenance_core::access::Scope;
use provenance_store::SchedulerRecord;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// One scheduler duty: its last run (by whichever worker ran it) and totals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DutyView {
    /// `outbox_sweep`, `stale_job_recovery`, `webhook_retry_pump`, `endpoint_auto_disable`,
    /// `retention_purge`.
    pub name: String,
    /// How often it is meant to run.
    pub every_seconds: u64,
    pub last_run: LastRunView,
    pub runs: u64,
    pub failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<DateTime<Utc>>,
    /// No run for more than twice its period: no worker is running it.
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LastRunView {
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// `ok` or `error`.
    pub result: &'static str,
    /// What the run did: rows published, analyses requeued, deliveries re-queued, endpoints
    /// disabled, rows removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The worker that ran it (`host:pid`).
    pub runner: String,
}

impl DutyView {
    fn of(r: SchedulerRecord, now: DateTime<Utc>) -> Self {
        let period = chrono::Duration::seconds(i64::try_from(r.last.every_seconds).unwrap_or(i64::MAX / 4));
        let last = &r.last;
        Self {
            overdue: now - last.started_at > period * 2 + chrono::Duration::milliseconds(last.duration_ms as i64),
            name: r.last.job.clone(),
            every_seconds: last.every_seconds,
            last_run: LastRunView {
                started_at: last.started_at,
                duration_ms: last.duration_ms,
                result: if last.result.is_ok() { "ok" } else { "error" },
                items: last.result.as_ref().ok().copied(),
                error: last.result.as_ref().err().cloned(),
                runner: last.runner.clone(),
            },
            runs: r.runs,
            failures: r.failures,
            last_success_at: r.last_success_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SchedulerView {
    /// Duties that have run at least once, by name.
    pub jobs: Vec<DutyView>,
}

/// The scheduler's duties: each one's last run, duration and result.
#[utoipa::path(
    get, path = "/v1/admin/scheduler", tag = "admin",
    responses((status = 200, body = SchedulerView), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn scheduler(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<SchedulerView>> {
    principal.require(Scope::Admin)?;
    let now = Utc::now();
    let jobs = state.store.list_scheduler_runs().await?.into_iter().map(|r| DutyView::of(r, now)).collect();
    Ok(Json(SchedulerView { jobs }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RetentionView {
    /// Days analyses keep their lines, files, findings and SARIF, and webhook attempts and
    /// messages are kept.
    pub days: u32,
    /// `tenant` (set with `PUT`) or `default` (the operator's `PROVENANCE_SCHEDULER__RETENTION_DAYS`).
    pub source: &'static str,
    /// Days decisions and signed bundles are kept (with what is left of their analysis): the
    /// operator's minimum, or `days` if longer.
    pub decision_days: u32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRequest {
    /// 1–3650 (`DELETE` returns to the operator's default).
    pub days: u32,
}

/// Longest retention a tenant may set.
const MAX_RETENTION_DAYS: u32 = 3650;

async fn retention_view(state: &AppState, principal: &Principal) -> ApiResult<RetentionView> {
    let own = state.store.tenant_retention(&principal.tenant_id).await?;
    let days = own.unwrap_or(state.retention.default_days);
    Ok(RetentionView {
        days,
        source: if own.is_some() { "tenant" } else { "default" },
        decision_days: state.retention.record_days.max(days),
    })
}

/// The tenant's retention.
#[utoipa::path(
    get, path = "/v1/admin/retention", tag = "admin",
    responses((status = 200, body = RetentionView), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn retention(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<RetentionView>> {
    principal.require(Scope::Admin)?;
    Ok(Json(retention_view(&state, &principal).await?))
}

/// Set the tenant's retention (the scheduler's `retention_purge` applies it within its period).
#[utoipa::path(
    put, path = "/v1/admin/retention", tag = "admin", request_body = RetentionRequest,
    responses((status = 200, body = RetentionView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn set_retention(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(req): JsonBody<RetentionRequest>,
) -> ApiResult<Json<RetentionView>> {
    principal.require(Scope::Admin)?;
    if !(1..=MAX_RETENTION_DAYS).contains(&req.days) {
        return Err(ApiError::invalid("/days", format!("must be between 1 and {MAX_RETENTION_DAYS}")));
    }
    state.store.set_tenant_retention(&principal.tenant_id, Some(req.days)).await?;
    Ok(Json(retention_view(&state, &principal).await?))
}

/// Return the tenant to the operator's default retention.
#[utoipa::path(
    delete, path = "/v1/admin/retention", tag = "admin",
    responses((status = 200, body = RetentionView), (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn reset_retention(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<RetentionView>> {
    principal.require(Scope::Admin)?;
    state.store.set_tenant_retention(&principal.tenant_id, None).await?;
    Ok(Json(retention_view(&state, &principal).await?))
}
