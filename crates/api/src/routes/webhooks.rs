//! `/v1/webhooks/endpoints`: where a tenant's events are delivered (SPEC §6), per Standard
//! Webhooks 1.0. The signing secret is shown once, when the endpoint is created and when it is
//! rotated; after a rotation the previous secret keeps signing (both signatures are sent) for a
//! grace period, so receivers can switch without losing a message.
//!
//! Every call needs the `webhooks:write` scope (endpoints carry URLs and custom headers, which
//! often hold credentials).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use provenance_core::access::Scope;
use provenance_core::validation::pointer_token;
use provenance_core::webhooks::events::test_message;
use provenance_core::webhooks::{EventType, RetrySchedule, WebhookSecret, validate_endpoint_url, validate_headers};
use provenance_core::{ValidationErrors, WebhookEndpointId};
use provenance_store::{ReplayFilter, WebhookAttemptRecord, WebhookEndpointRecord, WebhookEvent};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, Problem};
use crate::routes::PageQuery;
use crate::state::AppState;

/// How long the previous secret keeps signing after a rotation, by default.
const DEFAULT_ROTATION_GRACE_SECONDS: u64 = 24 * 60 * 60;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRequest {
    /// `https://…` (or `http://`); required on create.
    pub url: Option<String>,
    pub description: Option<String>,
    /// Event types to receive (`analysis.completed`, `decision.block`, …); empty or absent = all.
    pub event_types: Option<Vec<String>>,
    /// Custom headers sent with every delivery (not the `webhook-*` ones).
    pub headers: Option<BTreeMap<String, String>>,
    /// Default true on create. Enabling a disabled endpoint clears why it was disabled.
    pub enabled: Option<bool>,
    /// Delays in seconds after each failed attempt (1–20 entries, each 1 s to 24 h); `null` on
    /// update goes back to the default schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<u64>>)]
    pub retry_schedule_seconds: Option<Option<Vec<u64>>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
fn double_option<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Vec<u64>>>, D::Error> {
    Option::<Vec<u64>>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointView {
    #[schema(value_type = String, example = "wh_01JDQ7Z4V3K8M2N5P6R7S8T9VW")]
    pub id: WebhookEndpointId,
    pub url: String,
    pub description: String,
    /// Empty: every event.
    pub event_types: Vec<String>,
    pub headers: BTreeMap<String, String>,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Failing since (first failure after the last success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    pub retry_schedule_seconds: Vec<u64>,
    /// Until when the previous secret also signs (after a rotation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Only in the answers to create and rotate: store it now, it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl EndpointView {
    fn of(e: WebhookEndpointRecord, show_secret: bool) -> Self {
        let schedule = e
            .retry_schedule
            .as_deref()
            .and_then(|s| RetrySchedule::parse_seconds(s).ok())
            .unwrap_or_default()
            .as_seconds();
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            headers: e.headers,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            retry_schedule_seconds: schedule,
            previous_secret_expires_at: e.previous_secret_expires_at.filter(|t| *t > Utc::now()),
            created_at: e.created_at,
            updated_at: e.updated_at,
            secret: show_secret.then_some(e.secret),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointList {
    pub items: Vec<EndpointView>,
}

fn new_secret() -> String {
    WebhookSecret::from_random(rand::random::<[u8; 32]>()).to_string()
}

fn parse_endpoint_id(id: &str) -> ApiResult<WebhookEndpointId> {
    id.parse().map_err(|_| ApiError::NotFound("webhook endpoint"))
}

/// Apply the fields present in `req` to `e`, collecting every invalid one.
fn apply(req: EndpointRequest, e: &mut WebhookEndpointRecord, errors: &mut ValidationErrors) {
    if let Some(url) = req.url {
        match validate_endpoint_url(&url) {
            Ok(valid) => e.url = valid.as_str().to_string(),
            Err(why) => errors.push("/url", why),
        }
    }
    if let Some(description) = req.description {
        if description.chars().count() > 500 {
            errors.push("/description", "is longer than 500 characters");
        }
        e.description = description;
    }
    if let Some(types) = req.event_types {
        for (i, t) in types.iter().enumerate() {
            if EventType::parse(t).is_none() {
                let known: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
                errors.push(format!("/event_types/{i}"), format!("unknown event type; one of {}", known.join(", ")));
            }
        }
        let mut types = types;
        types.sort();
        types.dedup();
        e.event_types = types;
    }
    if let Some(headers) = req.headers {
        if let Err((name, why)) = validate_headers(&headers) {
            errors.push(format!("/headers/{}", pointer_token(&name)), why);
        }
        e.headers = headers;
    }
    if let Some(enabled) = req.enabled {
        if enabled && !e.enabled {
            e.disabled_reason = None;
            e.failing_since = None;
        }
        e.enabled = enabled;
    }
    if let Some(schedule) = req.retry_schedule_seconds {
        if let Some(seconds) = &schedule
            && let Err(why) = RetrySchedule::parse_seconds(seconds)
        {
            errors.push("/retry_schedule_seconds", why);
        }
        e.retry_schedule = schedule;
    }
}

/// Create an endpoint; the answer carries its signing secret, once.
#[utoipa::path(
    post, path = "/v1/webhooks/endpoints", tag = "webhooks", request_body = EndpointRequest,
    responses((status = 201, body = EndpointView), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(req): JsonBody<EndpointRequest>,
) -> ApiResult<(StatusCode, Json<EndpointView>)> {
    Ok((StatusCode::CREATED, Json(create_endpoint(&state, &principal, req).await?)))
}

/// Create an endpoint from `req`; its view carries the new secret.
pub(crate) async fn create_endpoint(
    state: &AppState,
    principal: &Principal,
    req: EndpointRequest,
) -> ApiResult<EndpointView> {
    principal.require(Scope::WebhooksWrite)?;
    let now = Utc::now();
    let mut errors = ValidationErrors::default();
    if req.url.is_none() {
        errors.push("/url", "is required");
    }
    let mut endpoint = WebhookEndpointRecord {
        id: WebhookEndpointId::generate(),
        tenant_id: principal.tenant_id.clone(),
        url: String::new(),
        description: String::new(),
        event_types: Vec::new(),
        headers: BTreeMap::new(),
        enabled: true,
        secret: new_secret(),
        previous_secret: None,
        previous_secret_expires_at: None,
        retry_schedule: None,
        disabled_reason: None,
        failing_since: None,
        created_at: now,
        updated_at: now,
    };
    apply(req, &mut endpoint, &mut errors);
    errors.into_result(()).map_err(ApiError::Invalid)?;
    state.store.insert_endpoint(&endpoint).await?;
    Ok(EndpointView::of(endpoint, true))
}

/// The tenant's endpoints, oldest first.
#[utoipa::path(
    get, path = "/v1/webhooks/endpoints", tag = "webhooks",
    responses((status = 200, body = EndpointList)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<EndpointList>> {
    list_endpoints(&state, &principal).await.map(Json)
}

/// The tenant's endpoints, without secrets.
pub(crate) async fn list_endpoints(state: &AppState, principal: &Principal) -> ApiResult<EndpointList> {
    principal.require(Scope::WebhooksWrite)?;
    let items = state
        .store
        .list_endpoints(&principal.tenant_id)
        .await?
        .into_iter()
        .map(|e| EndpointView::of(e, false))
        .collect();
    Ok(EndpointList { items })
}

/// One endpoint.
#[utoipa::path(
    get, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses((status = 200, body = EndpointView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<EndpointView>> {
    get_endpoint(&state, &principal, &id).await.map(Json)
}

/// One endpoint, without its secret.
pub(crate) async fn get_endpoint(state: &AppState, principal: &Principal, id: &str) -> ApiResult<EndpointView> {
    principal.require(Scope::WebhooksWrite)?;
    let endpoint = load(state, principal, id).await?;
    Ok(EndpointView::of(endpoint, false))
}

async fn load(state: &AppState, principal: &Principal, id: &str) -> ApiResult<WebhookEndpointRecord> {
    let id = parse_endpoint_id(id)?;
    state.store.get_endpoint(&principal.tenant_id, &id).await?.ok_or(ApiError::NotFound("webhook endpoint"))
}

/// Change some of an endpoint's fields.
#[utoipa::path(
    patch, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks", request_body = EndpointRequest,
    params(("id" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses(
        (status = 200, body = EndpointView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<EndpointRequest>,
) -> ApiResult<Json<EndpointView>> {
    update_endpoint(&state, &principal, &id, req).await.map(Json)
}

/// Apply the fields present in `req` to an endpoint.
pub(crate) async fn update_endpoint(
    state: &AppState,
    principal: &Principal,
    id: &str,
    req: EndpointRequest,
) -> ApiResult<EndpointView> {
    principal.require(Scope::WebhooksWrite)?;
    let mut endpoint = load(state, principal, id).await?;
    let mut errors = ValidationErrors::default();
    apply(req, &mut endpoint, &mut errors);
    errors.into_result(()).map_err(ApiError::Invalid)?;
    endpoint.updated_at = Utc::now();
    if !state.store.update_endpoint(&endpoint).await? {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    Ok(EndpointView::of(endpoint, false))
}

/// Delete an endpoint; its queued deliveries are dropped.
#[utoipa::path(
    delete, path = "/v1/webhooks/endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    delete_endpoint(&state, &principal, &id).await.map(|()| StatusCode::NO_CONTENT)
}

/// Delete an endpoint (not found if it is not the tenant's).
pub(crate) async fn delete_endpoint(state: &AppState, principal: &Principal, id: &str) -> ApiResult<()> {
    principal.require(Scope::WebhooksWrite)?;
    let id = parse_endpoint_id(id)?;
    if state.store.delete_endpoint(&principal.tenant_id, &id).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound("webhook endpoint"))
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateRequest {
    /// How long the previous secret keeps signing too (default 86 400 s; 0 = stop at once).
    pub previous_valid_for_seconds: Option<u64>,
}

/// Rotate the signing secret: the answer carries the new one, once. Until the grace period ends,
/// deliveries carry a signature with each secret.
#[utoipa::path(
    post, path = "/v1/webhooks/endpoints/{id}/rotate-secret", tag = "webhooks", request_body = RotateRequest,
    params(("id" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses((status = 200, body = EndpointView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn rotate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<RotateRequest>,
) -> ApiResult<Json<EndpointView>> {
    rotate_secret(&state, &principal, &id, req).await.map(Json)
}

/// Give an endpoint a new secret; its view carries it.
pub(crate) async fn rotate_secret(
    state: &AppState,
    principal: &Principal,
    id: &str,
    req: RotateRequest,
) -> ApiResult<EndpointView> {
    principal.require(Scope::WebhooksWrite)?;
    let grace = req.previous_valid_for_seconds.unwrap_or(DEFAULT_ROTATION_GRACE_SECONDS);
    if grace > 7 * DEFAULT_ROTATION_GRACE_SECONDS {
        return Err(ApiError::invalid("/previous_valid_for_seconds", "must be at most 604800 (7 days)"));
    }
    let mut endpoint = load(state, principal, id).await?;
    let now = Utc::now();
    endpoint.previous_secret = Some(std::mem::replace(&mut endpoint.secret, new_secret()));
    endpoint.previous_secret_expires_at = Some(now + Duration::seconds(i64::try_from(grace).unwrap_or(i64::MAX / 2)));
    endpoint.updated_at = now;
    if !state.store.update_endpoint(&endpoint).await? {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    Ok(EndpointView::of(endpoint, true))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptView {
    #[schema(value_type = String)]
    pub message_id: String,
    pub attempt: u32,
    pub attempted_at: DateTime<Utc>,
    /// Absent when no HTTP answer came (refused, timeout, connection error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// `delivered`, `failed`, `gone`, `retry_after`, `refused`, `skipped`.
    pub outcome: String,
    /// The first 4 KiB of the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<WebhookAttemptRecord> for AttemptView {
    fn from(a: WebhookAttemptRecord) -> Self {
        Self {
            message_id: a.message_id.to_string(),
            attempt: a.attempt,
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            outcome: a.outcome,
            response: a.response,
            error: a.error,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttemptList {
    pub items: Vec<AttemptView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Every delivery attempt to an endpoint, newest first.
#[utoipa::path(
    get, path = "/v1/webhooks/endpoints/{id}/attempts", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (`wh_…`)"), PageQuery),
    responses((status = 200, body = AttemptList), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn attempts(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<AttemptList>> {
    list_attempts(&state, &principal, &id, &q).await.map(Json)
}

/// A page of an endpoint's attempts.
pub(crate) async fn list_attempts(
    state: &AppState,
    principal: &Principal,
    id: &str,
    q: &PageQuery,
) -> ApiResult<AttemptList> {
    principal.require(Scope::WebhooksWrite)?;
    let endpoint = load(state, principal, id).await?;
    let page = state.store.list_attempts(&principal.tenant_id, &endpoint.id, &q.parse()?).await?;
    Ok(AttemptList { items: page.items.into_iter().map(AttemptView::from).collect(), next_cursor: page.next_cursor })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestSent {
    /// The message queued (`webhook-id` of its deliveries).
    pub message_id: String,
}

/// Send a `webhook.test` message to this endpoint (whatever its event filter); its attempts show
/// in `…/attempts`.
#[utoipa::path(
    post, path = "/v1/webhooks/endpoints/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses(
        (status = 202, body = TestSent),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The endpoint is disabled", body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn test(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<TestSent>)> {
    Ok((StatusCode::ACCEPTED, Json(send_test(&state, &principal, &id).await?)))
}

/// Queue a `webhook.test` message to an enabled endpoint.
pub(crate) async fn send_test(state: &AppState, principal: &Principal, id: &str) -> ApiResult<TestSent> {
    principal.require(Scope::WebhooksWrite)?;
    let endpoint = load(state, principal, id).await?;
    if !endpoint.enabled {
        return Err(ApiError::Conflict("the endpoint is disabled; enable it first".into()));
    }
    let now = Utc::now();
    let event: WebhookEvent = test_message(now).into();
    if !state.store.emit_to_endpoint(&principal.tenant_id, &endpoint.id, &event, now).await? {
        return Err(ApiError::NotFound("webhook endpoint"));
    }
    Ok(TestSent { message_id: event.message_id.to_string() })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    #[schema(value_type = String)]
    pub endpoint_id: String,
    /// `pending`, `delivered`, `failed`, `exhausted` or `skipped`.
    pub status: String,
    pub attempts: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    #[schema(value_type = String)]
    pub id: String,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// The body every attempt sends.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageList {
    pub items: Vec<MessageView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The tenant's webhook messages, newest first, with where each delivery stands.
#[utoipa::path(
    get, path = "/v1/webhooks/messages", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = MessageList)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn messages(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<MessageList>> {
    list_messages(&state, &principal, &q).await.map(Json)
}

/// A page of the tenant's messages with their deliveries.
pub(crate) async fn list_messages(state: &AppState, principal: &Principal, q: &PageQuery) -> ApiResult<MessageList> {
    principal.require(Scope::WebhooksWrite)?;
    let page = state.store.list_messages(&principal.tenant_id, &q.parse()?).await?;
    let items = page
        .items
        .into_iter()
        .map(|m| MessageView {
            id: m.id.to_string(),
            event_type: m.event_type,
            created_at: m.created_at,
            payload: serde_json::from_str(&m.payload).unwrap_or(serde_json::Value::String(m.payload)),
            deliveries: m
                .deliveries
                .into_iter()
                .map(|(endpoint, status, attempts)| DeliveryView {
                    endpoint_id: endpoint.to_string(),
                    status: status.as_str().to_string(),
                    attempts,
                })
                .collect(),
        })
        .collect();
    Ok(MessageList { items, next_cursor: page.next_cursor })
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// Only to this endpoint (default: every endpoint the message went to).
    pub endpoint_id: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Replayed {
    /// Deliveries queued again (pending ones and disabled endpoints are left alone).
    pub replayed: usize,
}

/// Deliver a message again, to one endpoint or to every endpoint it went to.
#[utoipa::path(
    post, path = "/v1/webhooks/messages/{id}/replay", tag = "webhooks", request_body = ReplayRequest,
    params(("id" = String, Path, description = "Message id (`msg_…`)")),
    responses((status = 202, body = Replayed), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn replay_message(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ReplayRequest>,
) -> ApiResult<(StatusCode, Json<Replayed>)> {
    Ok((StatusCode::ACCEPTED, Json(replay(&state, &principal, &id, req).await?)))
}

/// Queue a message's deliveries again.
pub(crate) async fn replay(
    state: &AppState,
    principal: &Principal,
    id: &str,
    req: ReplayRequest,
) -> ApiResult<Replayed> {
    principal.require(Scope::WebhooksWrite)?;
    let message = id.parse().map_err(|_| ApiError::NotFound("webhook message"))?;
    let endpoint = req
        .endpoint_id
        .map(|e| e.parse::<WebhookEndpointId>().map_err(|_| ApiError::invalid("/endpoint_id", "is not an endpoint id")))
        .transpose()?;
    let filter = ReplayFilter { message: Some(message), endpoint, since: None, only_failed: false };
    let replayed = state.store.replay_deliveries(&principal.tenant_id, &filter, Utc::now()).await?;
    Ok(Replayed { replayed })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayFailedRequest {
    /// Messages created at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
}

/// Deliver again every failed or exhausted message of an endpoint since a time (after fixing
/// the receiver, say).
#[utoipa::path(
    post, path = "/v1/webhooks/endpoints/{id}/replay-failed", tag = "webhooks", request_body = ReplayFailedRequest,
    params(("id" = String, Path, description = "Endpoint id (`wh_…`)")),
    responses(
        (status = 202, body = Replayed),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn replay_failed(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ReplayFailedRequest>,
) -> ApiResult<(StatusCode, Json<Replayed>)> {
    Ok((StatusCode::ACCEPTED, Json(replay_failures(&state, &principal, &id, req).await?)))
}

/// Queue an endpoint's failed and exhausted deliveries since a time again.
pub(crate) async fn replay_failures(
    state: &AppState,
    principal: &Principal,
    id: &str,
    req: ReplayFailedRequest,
) -> ApiResult<Replayed> {
    principal.require(Scope::WebhooksWrite)?;
    let Some(since) = req.since else { return Err(ApiError::invalid("/since", "is required")) };
    let endpoint = load(state, principal, id).await?;
    let filter = ReplayFilter { message: None, endpoint: Some(endpoint.id), since: Some(since), only_failed: true };
    let replayed = state.store.replay_deliveries(&principal.tenant_id, &filter, Utc::now()).await?;
    Ok(Replayed { replayed })
}
