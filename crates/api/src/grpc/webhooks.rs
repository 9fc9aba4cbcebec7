//! `WebhookService`: each method runs the same function as its REST route (`routes::webhooks`).

use provenance_proto::v1;
use provenance_proto::v1::webhook_service_server::WebhookService;
use tonic::{Request, Response, Status};

use super::json::json_to_value;
use super::principal;
use super::time::{from_timestamp, optional, timestamp};
use crate::error::ApiError;
use crate::routes::PageQuery;
use crate::routes::webhooks::{
    self as rest, AttemptView, EndpointRequest, EndpointView, MessageView, ReplayFailedRequest, ReplayRequest,
    RotateRequest,
};
use crate::state::AppState;

pub struct Webhooks {
    state: AppState,
}

impl Webhooks {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl WebhookService for Webhooks {
    async fn create_endpoint(
        &self,
        request: Request<v1::CreateEndpointRequest>,
    ) -> Result<Response<v1::Endpoint>, Status> {
        let principal = principal(&request)?;
        let r = request.into_inner();
        let req = EndpointRequest {
            url: (!r.url.is_empty()).then_some(r.url),
            description: r.description,
            event_types: (!r.event_types.is_empty()).then_some(r.event_types),
            headers: (!r.headers.is_empty()).then(|| r.headers.into_iter().collect()),
            enabled: r.enabled,
            retry_schedule_seconds: r.retry_schedule.map(|s| Some(s.seconds)),
        };
        Ok(Response::new(endpoint(rest::create_endpoint(&self.state, &principal, req).await?)))
    }

    async fn list_endpoints(
        &self,
        request: Request<v1::ListEndpointsRequest>,
    ) -> Result<Response<v1::ListEndpointsResponse>, Status> {
        let principal = principal(&request)?;
        let list = rest::list_endpoints(&self.state, &principal).await?;
        Ok(Response::new(v1::ListEndpointsResponse { items: list.items.into_iter().map(endpoint).collect() }))
    }

    async fn get_endpoint(&self, request: Request<v1::EndpointRef>) -> Result<Response<v1::Endpoint>, Status> {
        let principal = principal(&request)?;
        let view = rest::get_endpoint(&self.state, &principal, &request.get_ref().endpoint_id).await?;
        Ok(Response::new(endpoint(view)))
    }

    async fn update_endpoint(
        &self,
        request: Request<v1::UpdateEndpointRequest>,
    ) -> Result<Response<v1::Endpoint>, Status> {
        let principal = principal(&request)?;
        let r = request.into_inner();
        let retry_schedule_seconds = match (r.retry_schedule, r.default_retry_schedule) {
            (Some(_), true) => {
                return Err(ApiError::invalid(
                    "/default_retry_schedule",
                    "set either retry_schedule or default_retry_schedule, not both",
                )
                .into());
            }
            (Some(s), false) => Some(Some(s.seconds)),
            (None, true) => Some(None),
            (None, false) => None,
        };
        let req = EndpointRequest {
            url: r.url,
            description: r.description,
            event_types: r.event_types.map(|t| t.values),
            headers: r.headers.map(|h| h.values.into_iter().collect()),
            enabled: r.enabled,
            retry_schedule_seconds,
        };
        Ok(Response::new(endpoint(rest::update_endpoint(&self.state, &principal, &r.endpoint_id, req).await?)))
    }

    async fn delete_endpoint(
        &self,
        request: Request<v1::EndpointRef>,
    ) -> Result<Response<v1::DeleteEndpointResponse>, Status> {
        let principal = principal(&request)?;
        rest::delete_endpoint(&self.state, &principal, &request.get_ref().endpoint_id).await?;
        Ok(Response::new(v1::DeleteEndpointResponse {}))
    }

    async fn rotate_secret(&self, request: Request<v1::RotateSecretRequest>) -> Result<Response<v1::Endpoint>, Status> {
        let principal = principal(&request)?;
        let r = request.into_inner();
        let req = RotateRequest { previous_valid_for_seconds: r.previous_valid_for_seconds };
        Ok(Response::new(endpoint(rest::rotate_secret(&self.state, &principal, &r.endpoint_id, req).await?)))
    }

    async fn list_attempts(
        &self,
        request: Request<v1::ListAttemptsRequest>,
    ) -> Result<Response<v1::ListAttemptsResponse>, Status> {
        let principal = principal(&request)?;
        let r = request.into_inner();
        let list = rest::list_attempts(&self.state, &principal, &r.endpoint_id, &page(r.page)).await?;
        Ok(Response::new(v1::ListAttemptsResponse {
            items: list.items.into_iter().map(attempt).collect(),
            next_cursor: list.next_cursor.unwrap_or_default(),
        }))
    }

    async fn send_test(&self, request: Request<v1::EndpointRef>) -> Result<Response<v1::SendTestResponse>, Status> {
        let principal = principal(&request)?;
        let sent = rest::send_test(&self.state, &principal, &request.get_ref().endpoint_id).await?;
        Ok(Response::new(v1::SendTestResponse { message_id: sent.message_id }))
    }

    async fn list_messages(
        &self,
        request: Request<v1::ListMessagesRequest>,
    ) -> Result<Response<v1::ListMessagesResponse>, Status> {
        let principal = principal(&request)?;
        let list = rest::list_messages(&self.state, &principal, &page(request.into_inner().page)).await?;
        Ok(Response::new(v1::ListMessagesResponse {
            items: list.items.into_iter().map(message).collect(),
            next_cursor: list.next_cursor.unwrap_or_default(),
        }))
    }

    async fn replay_message(
        &self,
        request: Request<v1::ReplayMessageRequest>,
    ) -> Result<Response<v1::ReplayResponse>, Status> {
        let principal = principal(&request)?;
        let r = request.into_inner();
        let replayed =
            rest::replay(&self.state, &principal, &r.message_id, ReplayRequest { endpoint_id: r.endpoint_id }).await?;
        Ok(Response::new(v1::ReplayResponse { replayed: replayed.replayed as u64 }))
    }

    async fn replay_failed(
        &self,
        request: Request<v1::ReplayFailedRequest>,
    ) -> Result<Response<v1::ReplayResponse>, Status> {
        let principal = principal(&request)?;
        let r = request.into_inner();
        let since = match r.since {
            None => None,
            Some(t) => Some(from_timestamp(&t).ok_or_else(|| ApiError::invalid("/since", "is not a valid time"))?),
        };
        let replayed =
            rest::replay_failures(&self.state, &principal, &r.endpoint_id, ReplayFailedRequest { since }).await?;
        Ok(Response::new(v1::ReplayResponse { replayed: replayed.replayed as u64 }))
    }
}

fn page(p: Option<v1::PageRequest>) -> PageQuery {
    let p = p.unwrap_or_default();
    PageQuery { limit: (p.limit > 0).then_some(p.limit), cursor: (!p.cursor.is_empty()).then_some(p.cursor) }
}

fn endpoint(e: EndpointView) -> v1::Endpoint {
    v1::Endpoint {
        id: e.id.to_string(),
        url: e.url,
        description: e.description,
        event_types: e.event_types,
        headers: e.headers.into_iter().collect(),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.unwrap_or_default(),
        failing_since: optional(e.failing_since),
        retry_schedule_seconds: e.retry_schedule_seconds,
        previous_secret_expires_at: optional(e.previous_secret_expires_at),
        created_at: Some(timestamp(e.created_at)),
        updated_at: Some(timestamp(e.updated_at)),
        secret: e.secret.unwrap_or_default(),
    }
}

fn attempt(a: AttemptView) -> v1::Attempt {
    v1::Attempt {
        message_id: a.message_id,
        attempt: a.attempt,
        attempted_at: Some(timestamp(a.attempted_at)),
        status_code: a.status_code.map(u32::from),
        latency_ms: a.latency_ms,
        outcome: a.outcome,
        response: a.response,
        error: a.error,
    }
}

fn message(m: MessageView) -> v1::Message {
    v1::Message {
        id: m.id,
        event_type: m.event_type,
        created_at: Some(timestamp(m.created_at)),
        payload: Some(json_to_value(&m.payload)),
        deliveries: m
            .deliveries
            .into_iter()
            .map(|d| v1::Delivery { endpoint_id: d.endpoint_id, status: d.status, attempts: d.attempts })
            .collect(),
    }
}
