//! Authentication: `Authorization: Bearer pvn_…` (or `X-API-Key`), looked up by key id, compared
//! in constant time against the stored hash. The middleware authenticates once per request and
//! leaves the [`Principal`] (or nothing, for anonymous calls) in the request extensions; the rate
//! limiter and the handlers read it from there.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use provenance_core::access::{Scope, Tier, grants, parse_token, secret_matches};
use provenance_core::{ApiKeyId, TenantId};
use provenance_store::ApiKeyRecord;

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

/// The outcome of authenticating a request, kept in its extensions.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    Authenticated(Principal),
    /// Credentials were presented but are not valid.
    Rejected,
}

/// Don't write `last_used_at` more often than this per key: it is a hint, not an audit log.
const TOUCH_INTERVAL_SECONDS: i64 = 60;

/// How long a looked-up key is trusted without asking the database again. Revoking through this
/// process takes effect at once; through another replica, within this time.
const KEY_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);
const KEY_CACHE_MAX: usize = 10_000;

/// Recently looked-up API keys, so a busy client (a poll loop, a CI fleet) costs no database
/// query per request. Only valid keys are cached; the secret is still checked every time.
#[derive(Debug, Default)]
pub struct KeyCache {
    entries: std::sync::Mutex<std::collections::HashMap<ApiKeyId, (ApiKeyRecord, std::time::Instant)>>,
}

impl KeyCache {
    fn get(&self, id: &ApiKeyId) -> Option<ApiKeyRecord> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.get(id).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(r, _)| r.clone())
    }

    fn put(&self, record: ApiKeyRecord) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= KEY_CACHE_MAX {
            entries.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
            if entries.len() >= KEY_CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(record.id.clone(), (record, std::time::Instant::now()));
    }

    /// Forget a key (revoked here).
    pub fn invalidate(&self, id: &ApiKeyId) {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
    }
}

fn presented_token(parts: &Parts) -> Option<&str> {
    let headers = &parts.headers;
    if let Some(v) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = v.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then_some(token.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

async fn authenticate(parts: &Parts, state: &AppState) -> ApiResult<Caller> {
    let has_credentials =
        parts.headers.contains_key(axum::http::header::AUTHORIZATION) || parts.headers.contains_key("x-api-key");
    let Some(token) = presented_token(parts) else {
        return Ok(if has_credentials { Caller::Rejected } else { Caller::Anonymous });
    };
    let Some((id, secret)) = parse_token(token) else { return Ok(Caller::Rejected) };
    let record = match state.key_cache.get(&id) {
        Some(r) => r,
        None => match state.store.find_api_key(&id).await? {
            Some(r) => r,
            None => return Ok(Caller::Rejected),
        },
    };
    if record.revoked_at.is_some() || !secret_matches(secret, &record.secret_sha256) {
        return Ok(Caller::Rejected);
    }
    let now = Utc::now();
    let mut record = record;
    if record.last_used_at.is_none_or(|t| (now - t).num_seconds() >= TOUCH_INTERVAL_SECONDS) {
        // Best effort: a failed touch must not fail the request.
        match state.store.touch_api_key(&id, now).await {
            Ok(()) => record.last_used_at = Some(now),
            Err(e) => tracing::debug!(error = %e, "could not record key use"),
        }
    }
    state.key_cache.put(record.clone());
    Ok(Caller::Authenticated(Principal {
        key_id: record.id,
        tenant_id: record.tenant_id,
        scopes: record.scopes,
        tier: record.tier,
    }))
}

/// Authenticate every request once.
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = match authenticate(&parts, &state).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, body)).await
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = match parts.extensions.get::<Caller>() {
            Some(c) => c.clone(),
            // Routes mounted without the middleware (tests) authenticate here.
            None => authenticate(parts, state).await?,
        };
        match caller {
            Caller::Authenticated(p) => Ok(p),
            Caller::Anonymous | Caller::Rejected => Err(ApiError::Unauthenticated),
        }
    }
}
