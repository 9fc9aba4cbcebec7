//! `/v1/api-keys`: create (the token is shown once), list and revoke the tenant's API keys.
//! Needs the `admin` scope.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use provenance_core::access::{Scope, Tier, mint_api_key};
use provenance_core::{ApiKeyId, ValidationErrors};
use provenance_store::ApiKeyRecord;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateApiKeyRequest {
    /// A label for humans, e.g. `ci-acme-shop`.
    pub name: Option<String>,
    /// Scopes: `analysis:write`, `analysis:read`, `policy:write`, `webhooks:write`, `override`,
    /// `admin`. Default: `analysis:write` and `analysis:read`.
    pub scopes: Option<Vec<String>>,
    /// `standard` (default), `premium` or `admin`.
    pub tier: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub tier: Tier,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRecord> for ApiKeyView {
    fn from(r: ApiKeyRecord) -> Self {
        Self {
            id: r.id,
            name: r.name,
            scopes: r.scopes,
            tier: r.tier,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The secret token `pvn_<id>_<secret>`. Shown only in this response.
    pub token: String,
}

/// Build a key record for `tenant` from a validated request (shared with the CLI's direct path).
pub fn new_key_record(
    tenant: &provenance_core::TenantId,
    name: String,
    scopes: Vec<Scope>,
    tier: Tier,
    random: [u8; 32],
) -> (ApiKeyRecord, String) {
    let minted = mint_api_key(random);
    let record = ApiKeyRecord {
        id: minted.id,
        tenant_id: tenant.clone(),
        name,
        secret_sha256: minted.secret_sha256,
        scopes,
        tier,
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
    };
    (record, minted.token)
}

/// Create an API key.
#[utoipa::path(
    post, path = "/v1/api-keys", tag = "api-keys", request_body = CreateApiKeyRequest,
    responses((status = 201, body = CreatedApiKey), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(req): JsonBody<CreateApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    principal.require(Scope::Admin)?;
    let mut errors = ValidationErrors::default();
    let name = req.name.unwrap_or_else(|| "unnamed".into());
    if name.is_empty() || name.len() > 100 {
        errors.push("/name", "must be 1 to 100 characters");
    }
    let scopes: Vec<Scope> = match req.scopes {
        None => vec![Scope::AnalysisWrite, Scope::AnalysisRead],
        Some(list) => list
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                Scope::parse(s).or_else(|| {
                    errors.push(format!("/scopes/{i}"), "is not a known scope");
                    None
                })
            })
            .collect(),
    };
    let tier = match req.tier.as_deref() {
        None => Tier::Standard,
        Some(t) => Tier::parse(t).unwrap_or_else(|| {
            errors.push("/tier", "must be one of standard, premium, admin");
            Tier::Standard
        }),
    };
    errors.into_result(()).map_err(ApiError::Invalid)?;
    let (record, token) = new_key_record(&principal.tenant_id, name, scopes, tier, rand::random());
    state.store.insert_api_key(&record).await?;
    Ok((StatusCode::CREATED, Json(CreatedApiKey { key: record.into(), token })))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyView>,
}

/// List the tenant's API keys (never their secrets).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", responses((status = 200, body = ApiKeyList)), security(("bearer" = []), ("api_key" = [])))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<ApiKeyList>> {
    principal.require(Scope::Admin)?;
    let items = state.store.list_api_keys(&principal.tenant_id).await?.into_iter().map(Into::into).collect();
    Ok(Json(ApiKeyList { items }))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(
    delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    principal.require(Scope::Admin)?;
    let id: ApiKeyId = id.parse().map_err(|_| ApiError::NotFound("api key"))?;
    if state.store.revoke_api_key(&principal.tenant_id, &id, Utc::now()).await? {
        state.key_cache.invalidate(&id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("api key"))
    }
}
