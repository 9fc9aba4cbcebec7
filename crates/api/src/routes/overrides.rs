//! Overrides and the bundle history of an analysis (SPEC §5).
//!
//! - `POST /v1/analysis/{id}/override {reason}` (scope `override`): turns a `block` into an
//!   allowed merge. The override is its own signed statement naming the decision statement by
//!   digest; the decision and its bundle stay as they were.
//! - `GET /v1/analysis/{id}/override`: the override, if any.
//! - `GET /v1/analysis/{id}/bundles`: every signed statement about the analysis, oldest first
//!   (the decision, then the override).
//! - `POST /v1/bundles/verify`: verify any bundle this server signed (public, like `/v1/keys`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use provenance_core::access::Scope;
use provenance_core::decision::Outcome;
use provenance_core::dsse::Envelope;
use provenance_core::overrides::{OVERRIDE_PREDICATE_TYPE, OverrideInput, build_override_statement};
use provenance_core::statement::{DECISION_PREDICATE_TYPE, OpenedStatement, open_any, sign_statement};
use provenance_core::validation::required_reason;
use provenance_core::{AnalysisId, AnalysisStatus, OverrideId, ValidationErrors};
use provenance_store::OverrideRecord;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::routes::parse_analysis_id;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// Why the block is overridden (required, at most 2 000 characters); it is signed.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverrideView {
    #[schema(value_type = String, example = "ov_01JDQ7Z4V3K8M2N5P6R7S8T9VW")]
    pub id: OverrideId,
    #[schema(value_type = String)]
    pub analysis_id: AnalysisId,
    pub original_outcome: Outcome,
    pub outcome: Outcome,
    pub reason: String,
    /// The API key (`key_…`) that overrode the decision.
    pub overridden_by: String,
    pub created_at: DateTime<Utc>,
    /// The DSSE envelope of the override statement.
    pub bundle: Envelope,
}

impl TryFrom<OverrideRecord> for OverrideView {
    type Error = ApiError;

    fn try_from(r: OverrideRecord) -> ApiResult<Self> {
        let bundle = serde_json::from_value(r.bundle)
            .map_err(|e| ApiError::Internal(format!("stored override bundle is not an envelope: {e}")))?;
        Ok(Self {
            id: r.id,
            analysis_id: r.analysis_id,
            original_outcome: Outcome::Block,
            outcome: Outcome::Allow,
            reason: r.reason,
            overridden_by: r.overridden_by,
            created_at: r.created_at,
            bundle,
        })
    }
}

/// Override a `block` decision: the merge is allowed, with a signed reason.
#[utoipa::path(
    post, path = "/v1/analysis/{id}/override", tag = "results", request_body = OverrideRequest,
    params(("id" = String, Path, description = "Analysis id")),
    responses(
        (status = 201, body = OverrideView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not completed, not `block`, or already overridden", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<OverrideRequest>,
) -> ApiResult<(StatusCode, Json<OverrideView>)> {
    principal.require(Scope::Override)?;
    let mut errors = ValidationErrors::default();
    let reason = required_reason(&mut errors, "/reason", req.reason.as_deref(), "say why the block is overridden");
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let id = parse_analysis_id(&id)?;
    let tenant = &principal.tenant_id;
    let (analysis, decision) =
        state.store.get_analysis_with_decision(tenant, &id).await?.ok_or(ApiError::NotFound("analysis"))?;
    let Some(decision) = decision.filter(|_| analysis.status == AnalysisStatus::Completed) else {
        return Err(ApiError::Conflict(format!(
            "analysis is {}; only a decided analysis can be overridden",
            analysis.status.as_str()
        )));
    };
    if decision.outcome != Outcome::Block {
        return Err(ApiError::Conflict(format!(
            "the decision is `{}`; only a `block` can be overridden",
            decision.outcome.as_str()
        )));
    }
    if state.store.get_override(tenant, &id).await?.is_some() {
        return Err(ApiError::Conflict("this analysis is already overridden".into()));
    }
    let bundle = state
        .store
        .get_bundle(tenant, &id)
        .await?
        .ok_or_else(|| ApiError::Internal("decided analysis has no bundle".into()))?;
    let decision_bundle: Envelope = serde_json::from_value(bundle)
        .map_err(|e| ApiError::Internal(format!("stored bundle is not an envelope: {e}")))?;
    let override_id = OverrideId::generate();
    let at = Utc::now();
    let statement = build_override_statement(&OverrideInput {
        id: &override_id,
        analysis: &analysis,
        decision: &decision,
        decision_bundle: &decision_bundle,
        reason: &reason,
        overridden_by: principal.key_id.as_str(),
        at,
    })
    .map_err(|e| ApiError::Conflict(e.to_string()))?;
    let envelope = sign_statement(&statement, &state.signing_key);
    let record = OverrideRecord {
        id: override_id,
        analysis_id: id,
        reason,
        overridden_by: principal.key_id.to_string(),
        created_at: at,
        bundle: serde_json::to_value(&envelope).map_err(|e| ApiError::Internal(e.to_string()))?,
    };
    if !state.store.insert_override(&record).await? {
        return Err(ApiError::Conflict("this analysis is already overridden".into()));
    }
    metrics::counter!("provenance_overrides_total").increment(1);
    Ok((StatusCode::CREATED, Json(OverrideView::try_from(record)?)))
}

/// The override of an analysis.
#[utoipa::path(
    get, path = "/v1/analysis/{id}/override", tag = "results",
    params(("id" = String, Path, description = "Analysis id")),
    responses((status = 200, body = OverrideView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<OverrideView>> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_analysis_id(&id)?;
    let record = state.store.get_override(&principal.tenant_id, &id).await?.ok_or(ApiError::NotFound("override"))?;
    Ok(Json(record.try_into()?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BundleHistoryEntry {
    /// `decision` or `override`.
    pub kind: String,
    pub predicate_type: String,
    pub signed_at: DateTime<Utc>,
    pub bundle: Envelope,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BundleHistory {
    pub items: Vec<BundleHistoryEntry>,
}

/// Every signed statement about an analysis, oldest first: its decision, then its override.
#[utoipa::path(
    get, path = "/v1/analysis/{id}/bundles", tag = "results",
    params(("id" = String, Path, description = "Analysis id")),
    responses(
        (status = 200, body = BundleHistory),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Analysis not completed", body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn history(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<BundleHistory>> {
    principal.require(Scope::AnalysisRead)?;
    let id = parse_analysis_id(&id)?;
    let tenant = &principal.tenant_id;
    let (analysis, decision) =
        state.store.get_analysis_with_decision(tenant, &id).await?.ok_or(ApiError::NotFound("analysis"))?;
    let Some(decision) = decision else {
        return Err(ApiError::NotReady(format!("analysis is {}; nothing is signed yet", analysis.status.as_str())));
    };
    let bundle = state
        .store
        .get_bundle(tenant, &id)
        .await?
        .ok_or_else(|| ApiError::Internal("decided analysis has no bundle".into()))?;
    let mut items = vec![BundleHistoryEntry {
        kind: "decision".into(),
        predicate_type: DECISION_PREDICATE_TYPE.into(),
        signed_at: decision.decided_at,
        bundle: serde_json::from_value(bundle).map_err(|e| ApiError::Internal(format!("stored bundle: {e}")))?,
    }];
    if let Some(record) = state.store.get_override(tenant, &id).await? {
        let view = OverrideView::try_from(record)?;
        items.push(BundleHistoryEntry {
            kind: "override".into(),
            predicate_type: OVERRIDE_PREDICATE_TYPE.into(),
            signed_at: view.created_at,
            bundle: view.bundle,
        });
    }
    Ok(Json(BundleHistory { items }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The DSSE envelope (a decision or override bundle).
    pub bundle: Envelope,
    /// Require the statement to be about this repository (`owner/name`).
    pub repo: Option<String>,
    /// Require the statement to be about this commit.
    pub sha: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VerifyResponse {
    pub verified: bool,
    /// Why it did not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `decision` or `override`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The key that verified it, and when that key was retired (if it was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_retired_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The verified statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub statement: Option<serde_json::Value>,
}

impl VerifyResponse {
    fn failed(error: String) -> Self {
        Self {
            verified: false,
            error: Some(error),
            kind: None,
            keyid: None,
            key_retired_at: None,
            outcome: None,
            statement: None,
        }
    }
}

/// Verify a bundle against this server's keys, current and retired: 200 with `verified` true and
/// the statement, or `verified` false and why (bad signature, unknown key, another subject).
/// Public: verifying evidence needs no account.
#[utoipa::path(
    post, path = "/v1/bundles/verify", tag = "keys", request_body = VerifyRequest,
    responses((status = 200, body = VerifyResponse), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
pub async fn verify(
    State(state): State<AppState>,
    JsonBody(req): JsonBody<VerifyRequest>,
) -> ApiResult<Json<VerifyResponse>> {
    let keys: Vec<(VerifyingKey, &provenance_store::keyring::PublicKeyInfo)> =
        state.public_keys.iter().filter_map(|k| k.verifying_key().ok().map(|v| (v, k))).collect();
    let mut opened = None;
    // One key at a time, so the answer can say which key verified it.
    for (key, info) in &keys {
        if let Ok(statement) = open_any(&req.bundle, std::slice::from_ref(key)) {
            opened = Some((statement, *info));
            break;
        }
    }
    let Some((statement, key)) = opened else {
        let why = open_any(&req.bundle, &keys.iter().map(|(k, _)| *k).collect::<Vec<_>>())
            .err()
            .map_or_else(|| "does not verify".to_string(), |e| e.to_string());
        return Ok(Json(VerifyResponse::failed(why)));
    };
    if let Err(problem) = statement.check_subject(req.repo.as_deref(), req.sha.as_deref()) {
        return Ok(Json(VerifyResponse::failed(problem)));
    }
    let kind = match statement {
        OpenedStatement::Decision(_) => "decision",
        OpenedStatement::Override(_) => "override",
    };
    Ok(Json(VerifyResponse {
        verified: true,
        error: None,
        kind: Some(kind.into()),
        keyid: Some(key.keyid.clone()),
        key_retired_at: key.retired_at,
        outcome: Some(statement.outcome()),
        statement: Some(statement.to_value()),
    }))
}
