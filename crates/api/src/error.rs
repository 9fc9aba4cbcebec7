//! The server's one error type, rendered as `application/problem+json` (RFC 9457) with the
//! request id and, for invalid input, a JSON pointer per field. Each variant has an
//! [`ErrorCode`], so REST and gRPC answer the same failure the same way.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use provenance_core::access::Scope;
use provenance_core::ingest::IngestError;
use provenance_core::{FieldError, ValidationErrors};
use provenance_store::StoreError;
use serde::Serialize;

use crate::request_context;

/// Stable error codes, shared by every transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Malformed,
    Invalid,
    TooLarge,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    NotReady,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn http_status(self) -> StatusCode {
        match self {
            Self::Malformed => StatusCode::BAD_REQUEST,
            Self::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict | Self::NotReady => StatusCode::CONFLICT,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem `type` slug (`https://provenance.dev/problems/<slug>`).
    pub fn slug(self) -> &'static str {
        match self {
            Self::Malformed => "malformed-request",
            Self::Invalid => "validation-error",
            Self::TooLarge => "payload-too-large",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::Conflict => "conflict",
            Self::NotReady => "not-ready",
            Self::RateLimited => "rate-limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal-error",
        }
    }

    /// The gRPC status code of the same failure.
    pub fn grpc_code(self) -> tonic::Code {
        use tonic::Code;
        match self {
            Self::Malformed | Self::Invalid => Code::InvalidArgument,
            Self::TooLarge | Self::RateLimited => Code::ResourceExhausted,
            Self::Unauthenticated => Code::Unauthenticated,
            Self::Forbidden => Code::PermissionDenied,
            Self::NotFound => Code::NotFound,
            Self::Conflict | Self::NotReady => Code::FailedPrecondition,
            Self::Unavailable => Code::Unavailable,
            Self::Internal => Code::Internal,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Malformed => "Malformed request",
            Self::Invalid => "Invalid request",
            Self::TooLarge => "Request too large",
            Self::Unauthenticated => "Authentication required",
            Self::Forbidden => "Insufficient scope",
            Self::NotFound => "Not found",
            Self::Conflict => "Conflict",
            Self::NotReady => "Not ready",
            Self::RateLimited => "Too many requests",
            Self::Unavailable => "Service unavailable",
            Self::Internal => "Internal server error",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {}", .0.detail)]
    Malformed(FieldError),
    #[error(transparent)]
    Invalid(ValidationErrors),
    #[error("{limit} exceeded")]
    TooLarge { limit: &'static str, error: FieldError },
    #[error("missing or invalid API key")]
    Unauthenticated,
    #[error("this API key lacks the {} scope", .0.as_str())]
    Forbidden(Scope),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotReady(String),
    #[error("rate limit exceeded; retry in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// A dependency (database) is unreachable: retry later. Never a half-done write.
    #[error("{0}")]
    Unavailable(String),
    /// Logged with its cause; the client sees a generic message and the request id.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Malformed(_) => ErrorCode::Malformed,
            Self::Invalid(_) => ErrorCode::Invalid,
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::NotReady(_) => ErrorCode::NotReady,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid(ValidationErrors::single(pointer, detail))
    }

    /// Internal causes are logged (once, when the error is rendered) and never shown.
    fn log(&self, request_id: Option<&str>) {
        if let Self::Internal(cause) = self {
            tracing::error!(request_id, %cause, "internal error");
        }
    }

    /// The client-facing detail: an internal cause is replaced by a generic message.
    fn detail(&self) -> String {
        match self {
            Self::Internal(_) => {
                "the server failed to handle this request; quote the request id when reporting it".to_string()
            }
            Self::Invalid(e) => format!("{} invalid field(s)", e.0.len()),
            other => other.to_string(),
        }
    }

    /// The same failure as a gRPC status: the code of [`ErrorCode::grpc_code`], the problem
    /// document's detail as message, and as details the problem type (`ErrorInfo`), every invalid
    /// field by its JSON pointer (`BadRequest`) and when to retry (`RetryInfo`).
    pub fn to_status(&self) -> tonic::Status {
        self.log(request_context::current().as_ref().map(|c| c.request_id.as_str()));
        self.status()
    }

    /// [`ApiError::to_status`] of an error already logged.
    pub(crate) fn status(&self) -> tonic::Status {
        let ctx = request_context::current();
        let request_id = ctx.as_ref().map(|c| c.request_id.as_str());
        let retry_after = match self {
            Self::RateLimited { retry_after_seconds } => Some(std::time::Duration::from_secs(*retry_after_seconds)),
            Self::Unavailable(_) => Some(std::time::Duration::from_secs(1)),
            _ => None,
        };
        let code = self.code();
        provenance_proto::status::error_status(
            code.grpc_code(),
            provenance_proto::status::ErrorReport {
                reason: code.slug(),
                message: self.detail(),
                fields: self.field_errors().into_iter().map(|e| (e.pointer, e.detail)).collect(),
                request_id,
                retry_after,
            },
        )
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Malformed(e) | Self::TooLarge { error: e, .. } => vec![e.clone()],
            Self::Invalid(e) => e.0.clone(),
            _ => Vec::new(),
        }
    }
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        e.to_status()
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Malformed(f) => Self::Malformed(f),
            IngestError::TooLarge { limit, error } => Self::TooLarge { limit, error },
            IngestError::Invalid(v) => Self::Invalid(v),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("resource"),
            StoreError::Conflict(m) => Self::Conflict(m),
            StoreError::IdempotencyMismatch => Self::Invalid(ValidationErrors::single(
                "",
                "the Idempotency-Key header was already used with a different request body",
            )),
            StoreError::Database(e) if is_unavailable(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                Self::Unavailable("the database is unavailable; retry shortly".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Connection-level failures (the database is down or restarting, the pool is exhausted) are
/// temporary: the client should retry, and nothing was written.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Tls(_) => true,
        // 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 08xxx connection
        // exceptions, 53300 too_many_connections.
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08") || c == "53300")
        }
        _ => false,
    }
}

/// The RFC 9457 problem document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code();
        let ctx = request_context::current();
        self.log(ctx.as_ref().map(|c| c.request_id.as_str()));
        let problem = Problem {
            type_: format!("https://provenance.dev/problems/{}", code.slug()),
            title: code.title().to_string(),
            status: code.http_status().as_u16(),
            detail: self.detail(),
            instance: ctx.as_ref().map(|c| c.path.clone()),
            request_id: ctx.map(|c| c.request_id),
            errors: self.field_errors(),
        };
        let mut response = (code.http_status(), Json(problem)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if code == ErrorCode::Unavailable {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if code == ErrorCode::Unauthenticated {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        // A gRPC call rejected before its handler (authentication, rate limit) is answered with
        // the same error as a gRPC status (see `grpc::errors`).
        response.extensions_mut().insert(RenderedError(std::sync::Arc::new(self)));
        response
    }
}

/// The error a problem response was rendered from, kept in the response's extensions.
#[derive(Debug, Clone)]
pub struct RenderedError(pub std::sync::Arc<ApiError>);

pub type ApiResult<T> = Result<T, ApiError>;
