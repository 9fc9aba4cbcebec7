//! Authentication: `Authorization: Bearer pvn_…` (or `X-API-Key`), looked up by key id, compared
//! in constant time against the stored hash, and turned into a [`Principal`] with scopes.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::Utc;
use provenance_core::access::{Scope, Tier, grants, parse_token, secret_matches};
use provenance_core::{ApiKeyId, TenantId};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key_id: ApiKeyId,
    pub tenant_id: TenantId,
    pub scopes: Vec<Scope>,
    pub tier: Tier,
}

impl Principal {
    pub fn require(&self, scope: Scope) -> ApiResult<()> {
        if grants(&self.scopes, scope) { Ok(()) } else { Err(ApiError::Forbidden(scope)) }
    }
}

/// Don't write `last_used_at` more often than this per key: it is a hint, not an audit log.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

fn presented_token(parts: &Parts) -> Option<&str> {
    let headers = &parts.headers;
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = v.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then_some(token.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = presented_token(parts).ok_or(ApiError::Unauthenticated)?;
        let (id, secret) = parse_token(token).ok_or(ApiError::Unauthenticated)?;
        let record = state.store.find_api_key(&id).await?.ok_or(ApiError::Unauthenticated)?;
        if record.revoked_at.is_some() || !secret_matches(secret, &record.secret_sha256) {
            return Err(ApiError::Unauthenticated);
        }
        let now = Utc::now();
        if record.last_used_at.is_none_or(|t| (now - t).num_seconds() >= TOUCH_INTERVAL_SECONDS) {
            state.store.touch_api_key(&id, now).await?;
        }
        Ok(Principal { key_id: record.id, tenant_id: record.tenant_id, scopes: record.scopes, tier: record.tier })
    }
}
