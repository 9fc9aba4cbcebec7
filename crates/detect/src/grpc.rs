//! `provenance.v1.DetectorService` over a [`SnippetScanner`], with no authentication: what
//! `provenance-worker` serves on its internal port for the API (`PROVENANCE_WORKER_GRPC_URL`).
//! It lives here, beside the scanner, so the worker serves it without the API and the API never
//! needs the worker. Errors carry the REST problem slug and JSON pointers, so the API can turn
//! them back into the very problem document it would have answered itself.

use provenance_core::ingest::{DetectRequest, IngestError, MAX_DETECT_BODY_BYTES};
use provenance_proto::convert::ConvertError;
use provenance_proto::status::{ErrorReport, error_status};
use provenance_proto::v1;
use provenance_proto::v1::detector_service_server::{DetectorService, DetectorServiceServer};
use tonic::{Code, Request, Response, Status};

use crate::snippet::{ScanError, SnippetScanner};

/// The largest `DetectRequest` read: as much as `POST /v1/detect` accepts, plus room for the
/// protobuf framing, so every request the API forwards reaches validation and gets the answer
/// the API would have given (a 1 MiB content limit, not a transport error).
pub const MAX_DETECT_MESSAGE_BYTES: usize = MAX_DETECT_BODY_BYTES + 64 * 1024;

/// The metadata key of the caller's request id (the API forwards its own).
pub const REQUEST_ID_METADATA: &str = "x-request-id";

/// `DetectorService` running the detectors in this process.
#[derive(Debug, Clone)]
pub struct DetectorGrpc {
    scanner: SnippetScanner,
}

impl DetectorGrpc {
    pub fn new(scanner: SnippetScanner) -> Self {
        Self { scanner }
    }

    /// The tonic service, reading requests up to [`MAX_DETECT_MESSAGE_BYTES`].
    pub fn into_server(self) -> DetectorServiceServer<Self> {
        DetectorServiceServer::new(self).max_decoding_message_size(MAX_DETECT_MESSAGE_BYTES)
    }
}

#[tonic::async_trait]
impl DetectorService for DetectorGrpc {
    async fn capabilities(
        &self,
        _request: Request<v1::CapabilitiesRequest>,
    ) -> Result<Response<v1::CapabilitiesResponse>, Status> {
        Ok(Response::new(self.scanner.capabilities().into()))
    }

    async fn detect(&self, request: Request<v1::DetectRequest>) -> Result<Response<v1::DetectResponse>, Status> {
        let request_id = request.metadata().get(REQUEST_ID_METADATA).and_then(|v| v.to_str().ok()).map(str::to_string);
        let request_id = request_id.as_deref();
        let request = DetectRequest::try_from(request.into_inner()).map_err(|e| malformed_status(e, request_id))?;
        let response = self.scanner.detect(request).await.map_err(|e| scan_error_status(e, request_id))?;
        Ok(Response::new(response.into()))
    }
}

/// A message that does not convert (an unknown contributor, an invalid agent id): what REST
/// answers 400 `malformed-request` for.
pub fn malformed_status(e: ConvertError, request_id: Option<&str>) -> Status {
    error_status(
        Code::InvalidArgument,
        ErrorReport {
            reason: "malformed-request",
            message: format!("malformed request: {}", e.detail),
            fields: vec![(e.pointer, e.detail)],
            request_id,
            retry_after: None,
        },
    )
}

/// The status of a scan that did not run. Reasons are the REST problem slugs; invalid fields
/// are field violations named by their JSON pointers.
pub fn scan_error_status(e: ScanError, request_id: Option<&str>) -> Status {
    let (code, reason, message, fields) = match e {
        ScanError::Rejected(IngestError::Malformed(f)) => (
            Code::InvalidArgument,
            "malformed-request",
            format!("malformed request: {}", f.detail),
            vec![(f.pointer, f.detail)],
        ),
        ScanError::Rejected(IngestError::Invalid(v)) => (
            Code::InvalidArgument,
            "validation-error",
            format!("{} invalid field(s)", v.0.len()),
            v.0.into_iter().map(|f| (f.pointer, f.detail)).collect(),
        ),
        ScanError::Rejected(IngestError::TooLarge { limit, error }) => (
            Code::ResourceExhausted,
            "payload-too-large",
            format!("{limit} exceeded"),
            vec![(error.pointer, error.detail)],
        ),
        ScanError::ShuttingDown => (Code::Unavailable, "unavailable", e.to_string(), Vec::new()),
        ScanError::Failed(cause) => {
            tracing::error!(request_id, %cause, "snippet detection failed");
            (Code::Internal, "internal-error", "the detection failed".to_string(), Vec::new())
        }
    };
    error_status(code, ErrorReport { reason, message, fields, request_id, retry_after: None })
}
