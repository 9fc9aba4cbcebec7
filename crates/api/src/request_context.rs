//! Per-request context: the `X-Request-Id` (echoed from the client when sane, else generated),
//! set on every response, carried by the tracing span, and readable by the error renderer; and
//! the W3C trace context of the caller (`traceparent`/`tracestate` headers, which are gRPC
//! metadata too), which the request span continues.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use provenance_store::trace_context;
use tracing::Instrument;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub path: String,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// The context of the request being handled on this task, if any.
pub fn current() -> Option<RequestContext> {
    CONTEXT.try_with(Clone::clone).ok()
}

fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic())
}

pub async fn middleware(mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| acceptable(id))
        .map(str::to_string)
        .unwrap_or_else(|| format!("req_{}", ulid::Ulid::new()));
    let header = HeaderValue::from_str(&request_id).expect("request ids are visible ASCII");
    request.headers_mut().insert(REQUEST_ID_HEADER, header.clone());
    let ctx = RequestContext { request_id: request_id.clone(), path: request.uri().path().to_string() };
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %ctx.path,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
    );
    // A missing or malformed `traceparent` starts a trace here instead.
    trace_context::set_parent_from_headers(&span, request.headers());
    trace_context::record_trace_id(&span);
    let mut response = CONTEXT.scope(ctx, next.run(request)).instrument(span).await;
    response.headers_mut().insert(REQUEST_ID_HEADER, header);
    response
}
