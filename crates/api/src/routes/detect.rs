//! `POST /v1/detect`: the detectors on one snippet or file, synchronously — for editors,
//! pre-commit hooks and the deploy smoke test. Nothing is stored. The detectors run in this
//! process or on a worker ([`crate::state::Detection`]); the answer is the same.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use provenance_core::FieldError;
use provenance_core::access::Scope;
use provenance_core::ingest::{DetectRequest, MAX_DETECT_BODY_BYTES, read_detect_request};
use provenance_core::snippet::DetectResponse;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Run the detectors on one snippet or file.
///
/// The content is scanned as the lines of `path` from `first_line`; with `changed_lines`, only
/// findings touching those lines are returned. At most 1 MiB of content; each detector gets
/// 10 s.
#[utoipa::path(
    post, path = "/v1/detect", tag = "detectors",
    request_body = DetectRequest,
    responses(
        (status = 200, description = "The findings", body = DetectResponse),
        (status = 400, description = "Malformed JSON or wrong field type", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Content over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The detection worker is unreachable (`PROVENANCE_WORKER_GRPC_URL`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn detect(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<DetectResponse>> {
    principal.require(Scope::AnalysisWrite)?;
    let body = body.map_err(|e| match e {
        BytesRejection::FailedToBufferBody(_) => ApiError::TooLarge {
            limit: "max_detect_body_bytes",
            error: FieldError::new("", format!("request body is larger than {MAX_DETECT_BODY_BYTES} bytes")),
        },
        other => ApiError::Malformed(FieldError::new("", other.body_text())),
    })?;
    // Only the JSON is read here; the detection backend validates the fields, so a worker's
    // answer to bad input is the one this process would give.
    let request = read_detect_request(&body)?;
    Ok(Json(state.detection.detect(request).await?))
}
