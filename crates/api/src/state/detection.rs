//! Where `POST /v1/detect` and the capabilities run (ARCHITECTURE §1): in this process, or on a
//! worker's `DetectorService` over gRPC when `PROVENANCE_WORKER_GRPC_URL` is set. A REST client
//! cannot tell which but by latency: the worker runs the same code and its errors come back as
//! the same problems.

use std::sync::Arc;
use std::time::Duration;

use provenance_core::FieldError;
use provenance_core::ValidationErrors;
use provenance_core::ingest::{DetectRequest, IngestError};
use provenance_core::snippet::{CapabilitiesResponse, DetectResponse};
use provenance_detect::grpc::{MAX_DETECT_MESSAGE_BYTES, REQUEST_ID_METADATA};
use provenance_detect::{DetectorSet, ScanError, SnippetScanner};
use provenance_proto::status::{field_violations, reason};
use provenance_proto::v1;
use provenance_proto::v1::detector_service_client::DetectorServiceClient;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::error::{ApiError, ApiResult};

/// How long connecting to the worker may take before the request fails with 503.
pub const WORKER_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one call to the worker may take: every detector's 10 s budget, with room to wait for
/// a free core on a busy worker (the REST request itself times out at 60 s).
pub const WORKER_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The detection backend of this API process.
#[derive(Debug, Clone)]
pub enum Detection {
    /// The detectors run here, one scan per core at a time.
    Local(SnippetScanner),
    /// A worker's `DetectorService` runs them.
    Remote(WorkerDetectors),
}

/// A client of a worker's `DetectorService`, connecting on first use and again after a failure,
/// so the API starts (and stays ready) while the workers come and go.
#[derive(Debug, Clone)]
pub struct WorkerDetectors {
    client: DetectorServiceClient<Channel>,
    url: Arc<str>,
}

impl Detection {
    /// Run `detectors` in this process.
    pub fn local(detectors: Arc<DetectorSet>) -> Self {
        Self::Local(SnippetScanner::new(detectors))
    }

    /// Call the `DetectorService` at `url` (`http://worker:9090`); nothing is connected yet.
    pub fn remote(url: &str) -> Result<Self, tonic::transport::Error> {
        let channel = Endpoint::from_shared(url.to_string())?
            .connect_timeout(WORKER_CONNECT_TIMEOUT)
            .timeout(WORKER_REQUEST_TIMEOUT)
            .connect_lazy();
        let client = DetectorServiceClient::new(channel)
            .max_encoding_message_size(MAX_DETECT_MESSAGE_BYTES)
            // Findings of a 1 MiB file can outgrow tonic's 4 MiB default; in-process there is no
            // limit either.
            .max_decoding_message_size(usize::MAX);
        Ok(Self::Remote(WorkerDetectors { client, url: url.into() }))
    }

    /// Validate `request` and run the detectors on it.
    pub async fn detect(&self, request: DetectRequest) -> ApiResult<DetectResponse> {
        match self {
            Self::Local(scanner) => scanner.detect(request).await.map_err(from_scan_error),
            Self::Remote(worker) => {
                let call = outgoing(v1::DetectRequest::from(request));
                let answer = worker.client.clone().detect(call).await.map_err(|s| worker.error(s))?;
                DetectResponse::try_from(answer.into_inner()).map_err(|e| {
                    ApiError::Internal(format!("the worker at {} answered an invalid Detect: {e}", worker.url))
                })
            }
        }
    }

    /// What the detectors are.
    pub async fn capabilities(&self) -> ApiResult<CapabilitiesResponse> {
        match self {
            Self::Local(scanner) => Ok(scanner.capabilities()),
            Self::Remote(worker) => {
                let answer = worker
                    .client
                    .clone()
                    .capabilities(outgoing(v1::CapabilitiesRequest {}))
                    .await
                    .map_err(|s| worker.error(s))?;
                CapabilitiesResponse::try_from(answer.into_inner()).map_err(|e| {
                    ApiError::Internal(format!("the worker at {} answered invalid Capabilities: {e}", worker.url))
                })
            }
        }
    }
}

fn from_scan_error(e: ScanError) -> ApiError {
    match e {
        ScanError::Rejected(e) => e.into(),
        ScanError::ShuttingDown => ApiError::Unavailable("the server is shutting down".into()),
        ScanError::Failed(cause) => ApiError::Internal(format!("detection task failed: {cause}")),
    }
}

impl WorkerDetectors {
    /// The problem a REST client gets for the worker's `status`: the one it would have got
    /// in-process for bad input, 503 when the worker cannot be reached or is overloaded.
    fn error(&self, status: Status) -> ApiError {
        let mut fields =
            field_violations(&status).into_iter().map(|(pointer, detail)| FieldError::new(pointer, detail));
        match status.code() {
            Code::InvalidArgument if reason(&status).as_deref() == Some("malformed-request") => {
                ApiError::Malformed(fields.next().unwrap_or_else(|| FieldError::new("", status.message())))
            }
            Code::InvalidArgument => {
                let fields: Vec<FieldError> = fields.collect();
                if fields.is_empty() {
                    ApiError::invalid("", status.message())
                } else {
                    ApiError::Invalid(ValidationErrors(fields))
                }
            }
            // The one size limit the worker checks; the body limit is checked here first.
            Code::ResourceExhausted => IngestError::TooLarge {
                limit: "max_detect_content_bytes",
                error: fields.next().unwrap_or_else(|| FieldError::new("/content", status.message())),
            }
            .into(),
            Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded => {
                tracing::warn!(worker = %self.url, code = ?status.code(), message = status.message(), "the worker's DetectorService is unavailable");
                ApiError::Unavailable(
                    "the detection worker (PROVENANCE_WORKER_GRPC_URL) is unavailable; retry shortly".into(),
                )
            }
            code => ApiError::Internal(format!(
                "the worker's DetectorService at {} answered {code:?}: {}",
                self.url,
                status.message()
            )),
        }
    }
}

/// A call to the worker carrying the request id and the W3C trace context of the request being
/// handled, so the worker's span joins its trace.
fn outgoing<T>(message: T) -> tonic::Request<T> {
    let mut headers = http::HeaderMap::new();
    provenance_store::trace_context::inject_headers(&tracing::Span::current(), &mut headers);
    if let Some(id) = crate::request_context::current().and_then(|c| c.request_id.parse().ok()) {
        headers.insert(REQUEST_ID_METADATA, id);
    }
    let mut call = tonic::Request::new(message);
    *call.metadata_mut() = tonic::metadata::MetadataMap::from_headers(headers);
    call
}
