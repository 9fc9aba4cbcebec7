//! Rate limits per key tier (SPEC §8): GCRA through Redis, shared by every API replica, with an
//! in-memory fallback. Every limited response carries `X-RateLimit-Limit`, `-Remaining` and
//! `-Reset`; a denied request gets 429 with `Retry-After`. Health and metrics are not limited.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use provenance_store::ratelimit::{Quota, RateDecision};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

fn exempt(path: &str) -> bool {
    path.starts_with("/health") || path == "/healthz" || path == "/metrics" || path.starts_with("/grpc.health.v1.")
}

fn seconds_ceil(d: std::time::Duration) -> u64 {
    d.as_millis().div_ceil(1000) as u64
}

fn set_headers(headers: &mut HeaderMap, d: &RateDecision) {
    let mut put = |name: &'static str, v: u64| {
        headers.insert(name, HeaderValue::from(v));
    };
    put("x-ratelimit-limit", u64::from(d.limit));
    put("x-ratelimit-remaining", u64::from(d.remaining));
    put("x-ratelimit-reset", seconds_ceil(d.reset_after));
}

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let (bucket, tier) = match request.extensions().get::<Caller>() {
        Some(Caller::Authenticated(p)) => (format!("key:{}", p.key_id), Some(p.tier)),
        _ => {
            let ip = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into());
            (format!("ip:{ip}"), None)
        }
    };
    let Some(quota) = Quota::for_tier(tier) else {
        return next.run(request).await; // unlimited tier
    };
    let decision = state.rate_limiter.check(&bucket, quota).await;
    if !decision.allowed {
        let tier_label = tier.map_or("anonymous", |t| t.as_str());
        metrics::counter!("provenance_rate_limit_denied_total", "tier" => tier_label).increment(1);
        let retry_after = decision.retry_after.map(seconds_ceil).unwrap_or(1).max(1);
        let mut response = ApiError::RateLimited { retry_after_seconds: retry_after }.into_response();
        set_headers(response.headers_mut(), &decision);
        response.headers_mut().insert("retry-after", HeaderValue::from(retry_after));
        return response;
    }
    let mut response = next.run(request).await;
    set_headers(response.headers_mut(), &decision);
    response
}
