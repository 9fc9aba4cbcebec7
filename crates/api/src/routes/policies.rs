//! `/v1/policies`: the tenant's policies as code (SPEC §5; the format is in docs/policy.md).
//!
//! A policy is stored as the YAML (or JSON) document it was written as, and parsed; every put
//! stores a new version, and decisions name the version they were made under. The policy whose
//! repo scope matches an analysis' repository is the one applied (see `select_policy`); with none,
//! the shipped default. `POST /v1/policies/validate` checks a document and, given an analysis,
//! says what its decision would have been under it.
//!
//! Reading needs `analysis:read`; storing or deleting needs `policy:write`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use provenance_core::access::Scope;
use provenance_core::decision::{FiredRule, Outcome, PolicyRef};
use provenance_core::policy::{Policy, PolicyInput, evaluate_policy, select_policy};
use provenance_core::{AnalysisStatus, ChangedLine, FieldError, Finding, ValidationErrors};
use provenance_store::{PageRequest, PolicyRecord};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::routes::parse_analysis_id;
use crate::state::AppState;

/// Largest policy document accepted, in bytes.
const MAX_POLICY_BYTES: usize = 256 * 1024;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub id: String,
    pub version: u32,
    /// sha256 of the policy's canonical JSON, as decisions cite it.
    pub sha256: String,
    /// The parsed policy.
    pub policy: Policy,
    /// The document as it was stored (absent for the shipped default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// The API key that stored it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl PolicyView {
    fn shipped_default() -> Self {
        let policy = Policy::default();
        let PolicyRef { id, version, sha256 } = policy.reference();
        Self { id, version, sha256, policy, source: None, created_at: None, created_by: None }
    }
}

impl From<PolicyRecord> for PolicyView {
    fn from(r: PolicyRecord) -> Self {
        let PolicyRef { id, version, sha256 } = r.policy.reference();
        Self {
            id,
            version,
            sha256,
            policy: r.policy,
            source: Some(r.source),
            created_at: Some(r.created_at),
            created_by: Some(r.created_by),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PolicyList {
    /// The tenant's active policies, by id.
    pub items: Vec<PolicyView>,
    /// What applies to a repository no policy's scope matches.
    pub default: PolicyView,
}

/// The tenant's active policies and the shipped default.
#[utoipa::path(
    get, path = "/v1/policies", tag = "policies",
    responses((status = 200, body = PolicyList)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<PolicyList>> {
    principal.require(Scope::AnalysisRead)?;
    let items = state.store.list_policies(&principal.tenant_id).await?.into_iter().map(PolicyView::from).collect();
    Ok(Json(PolicyList { items, default: PolicyView::shipped_default() }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct VersionQuery {
    /// A stored version (also of a deleted policy); the active one when absent.
    pub version: Option<u32>,
}

/// One policy: its active version, or a given stored version.
#[utoipa::path(
    get, path = "/v1/policies/{policy_id}", tag = "policies",
    params(("policy_id" = String, Path, description = "The policy's id"), VersionQuery),
    responses((status = 200, body = PolicyView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(policy_id): Path<String>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<Json<PolicyView>> {
    principal.require(Scope::AnalysisRead)?;
    let record = state
        .store
        .get_policy(&principal.tenant_id, &policy_id, q.version)
        .await?
        .ok_or(ApiError::NotFound("policy"))?;
    Ok(Json(record.into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EffectiveQuery {
    /// The repository (`owner/name`).
    pub repo: String,
}

/// The policy that applies to a repository now: the tenant's policy whose scope matches it
/// (a scoped one before a catch-all, then by priority), else the shipped default.
#[utoipa::path(
    get, path = "/v1/policies/effective", tag = "policies", params(EffectiveQuery),
    responses((status = 200, body = PolicyView)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn effective(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<EffectiveQuery>,
) -> ApiResult<Json<PolicyView>> {
    principal.require(Scope::AnalysisRead)?;
    let repo = provenance_core::RepoName::parse(&q.repo).map_err(|why| ApiError::invalid("/repo", why))?;
    let records = state.store.list_policies(&principal.tenant_id).await?;
    let policies: Vec<Policy> = records.iter().map(|r| r.policy.clone()).collect();
    let chosen = select_policy(&policies, repo.as_str()).map(|p| p.id.clone());
    let view = match chosen.and_then(|id| records.into_iter().find(|r| r.policy.id == id)) {
        Some(record) => record.into(),
        None => PolicyView::shipped_default(),
    };
    Ok(Json(view))
}

/// Parse a policy document; its `id`, when present, must be the one in the URL.
fn parse_document(text: &str, policy_id: &str, pointer_prefix: &str) -> ApiResult<Policy> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(ApiError::TooLarge {
            limit: "max_policy_bytes",
            error: FieldError::new(pointer_prefix, format!("a policy is at most {MAX_POLICY_BYTES} bytes")),
        });
    }
    let prefixed = |errors: ValidationErrors| {
        ApiError::Invalid(ValidationErrors(
            errors.0.into_iter().map(|e| FieldError::new(format!("{pointer_prefix}{}", e.pointer), e.detail)).collect(),
        ))
    };
    let mut policy = Policy::parse(text).map_err(prefixed)?;
    if policy.id.is_empty() {
        policy.id = policy_id.to_string();
    } else if policy.id != policy_id {
        return Err(ApiError::invalid(
            format!("{pointer_prefix}/id"),
            format!("is {:?} but the URL names policy {policy_id:?}", policy.id),
        ));
    }
    Ok(policy)
}

/// Store a new version of a policy (YAML or JSON body, `Content-Type` `application/yaml` or
/// `application/json`). The first version answers 201, later ones 200.
#[utoipa::path(
    put, path = "/v1/policies/{policy_id}", tag = "policies",
    params(("policy_id" = String, Path, description = "The policy's id: 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit")),
    request_body(content = String, content_type = "application/yaml", description = "The policy document (docs/policy.md)"),
    responses(
        (status = 201, body = PolicyView), (status = 200, body = PolicyView),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn put(
    State(state): State<AppState>,
    principal: Principal,
    Path(policy_id): Path<String>,
    body: String,
) -> ApiResult<(StatusCode, Json<PolicyView>)> {
    principal.require(Scope::PolicyWrite)?;
    check_policy_id(&policy_id)?;
    let policy = parse_document(&body, &policy_id, "")?;
    let record =
        state.store.put_policy(&principal.tenant_id, &policy, &body, principal.key_id.as_str(), Utc::now()).await?;
    let status = if record.policy.version == 1 { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(record.into())))
}

fn check_policy_id(id: &str) -> ApiResult<()> {
    let ok = (1..=64).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid("/policy_id", "must be 1–64 of a-z 0-9 . _ -, starting with a letter or digit"))
    }
}

/// Deactivate a policy; its versions stay readable for the decisions that cite them.
#[utoipa::path(
    delete, path = "/v1/policies/{policy_id}", tag = "policies",
    params(("policy_id" = String, Path, description = "The policy's id")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(policy_id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require(Scope::PolicyWrite)?;
    if state.store.delete_policy(&principal.tenant_id, &policy_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("policy"))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateRequest {
    /// The policy: its YAML or JSON text, or the policy as a JSON object.
    #[schema(value_type = Object)]
    pub policy: serde_json::Value,
    /// Dry-run it against this completed analysis: what its decision would have been.
    pub analysis_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ValidateResponse {
    pub valid: bool,
    /// The parsed policy, as it would be stored.
    pub policy: Policy,
    pub sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<DryRun>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DryRun {
    pub analysis_id: String,
    /// The decision the analysis got, under the policy it was decided with.
    pub current: Evaluated,
    /// The decision it would get under the validated policy.
    pub proposed: Evaluated,
    pub outcome_changed: bool,
    /// Rules that fire under the validated policy only.
    pub rules_added: Vec<String>,
    /// Rules that fired in the decision and would not under the validated policy.
    pub rules_removed: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Evaluated {
    pub policy: PolicyRef,
    pub outcome: Outcome,
    pub fired_rules: Vec<FiredRule>,
}

/// Check a policy document (nothing is stored) and, given an analysis, dry-run it: the decision
/// the analysis got next to the one it would get, and which rules would fire or stop firing.
#[utoipa::path(
    post, path = "/v1/policies/validate", tag = "policies", request_body = ValidateRequest,
    responses(
        (status = 200, body = ValidateResponse),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The analysis is not completed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The policy is invalid; `errors[]` point into `/policy`", body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn validate(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(req): JsonBody<ValidateRequest>,
) -> ApiResult<Json<ValidateResponse>> {
    principal.require(Scope::AnalysisRead)?;
    let text = match &req.policy {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(_) => req.policy.to_string(),
        _ => return Err(ApiError::invalid("/policy", "must be the policy's YAML or JSON text, or a JSON object")),
    };
    let mut policy = Policy::parse(&text).map_err(|errors| {
        ApiError::Invalid(ValidationErrors(
            errors.0.into_iter().map(|e| FieldError::new(format!("/policy{}", e.pointer), e.detail)).collect(),
        ))
    })?;
    if policy.id.is_empty() {
        policy.id = "draft".into();
    }
    let dry_run = match req.analysis_id.as_deref() {
        None => None,
        Some(id) => Some(dry_run(&state, &principal, id, &policy).await?),
    };
    Ok(Json(ValidateResponse { valid: true, sha256: policy.reference().sha256, policy, dry_run }))
}

async fn dry_run(state: &AppState, principal: &Principal, id: &str, policy: &Policy) -> ApiResult<DryRun> {
    let id = parse_analysis_id(id).map_err(|_| ApiError::invalid("/analysis_id", "is not an analysis id"))?;
    let tenant = &principal.tenant_id;
    let (analysis, decision) =
        state.store.get_analysis_with_decision(tenant, &id).await?.ok_or(ApiError::NotFound("analysis"))?;
    let decision = match (analysis.status, decision) {
        (AnalysisStatus::Completed, Some(d)) => d,
        (status, _) => {
            return Err(ApiError::NotReady(format!(
                "analysis is {}; only a decided analysis can be dry-run",
                status.as_str()
            )));
        }
    };
    let analysis_id = &id;
    let lines: Vec<ChangedLine> = all_pages(|page| async move {
        state.store.list_lines(tenant, analysis_id, &page).await?.ok_or(ApiError::NotFound("analysis"))
    })
    .await?;
    let findings: Vec<Finding> = all_pages(|page| async move {
        state.store.list_findings(tenant, analysis_id, &page).await?.ok_or(ApiError::NotFound("analysis"))
    })
    .await?;
    let proposed = evaluate_policy(
        policy,
        &PolicyInput {
            findings: &findings,
            lines: &lines,
            coverage: &decision.coverage,
            detectors_incomplete: &decision.detectors_incomplete,
        },
    );
    let names = |rules: &[FiredRule]| rules.iter().map(|r| r.rule.clone()).collect::<Vec<_>>();
    let (before, after) = (names(&decision.fired_rules), names(&proposed.fired_rules));
    Ok(DryRun {
        analysis_id: id.to_string(),
        outcome_changed: decision.outcome != proposed.outcome,
        rules_added: after.iter().filter(|r| !before.contains(r)).cloned().collect(),
        rules_removed: before.iter().filter(|r| !after.contains(r)).cloned().collect(),
        current: Evaluated { policy: decision.policy, outcome: decision.outcome, fired_rules: decision.fired_rules },
        proposed: Evaluated {
            policy: policy.reference(),
            outcome: proposed.outcome,
            fired_rules: proposed.fired_rules,
        },
    })
}

/// Every item of a paginated store list.
async fn all_pages<T, F, Fut>(mut fetch: F) -> ApiResult<Vec<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: std::future::Future<Output = ApiResult<provenance_store::Page<T>>>,
{
    let mut items = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    loop {
        let got = fetch(page.clone()).await?;
        items.extend(got.items);
        match got.next_cursor.as_deref().and_then(provenance_store::page::decode_cursor) {
            Some(after) => page.after = Some(after),
            None => return Ok(items),
        }
    }
}
