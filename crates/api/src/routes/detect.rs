//! `POST /v1/detect`: the detectors on one snippet or file, synchronously — for editors,
//! pre-commit hooks and the deploy smoke test. Nothing is stored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use provenance_core::FieldError;
use provenance_core::access::Scope;
use provenance_core::analysis::ReportMode;
use provenance_core::attribution::Attribution;
use provenance_core::decision::DetectorRef;
use provenance_core::finding::{Category, Location, Severity, fingerprint};
use provenance_core::ingest::{DetectRequest, MAX_DETECT_BODY_BYTES, parse_detect_request};
use provenance_detect::DetectInput;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Each detector's time budget for one request (SPEC §4's default per analysis).
pub const DETECT_BUDGET: Duration = Duration::from_secs(10);

/// One finding of a synchronous detection. Like an analysis finding, without an id or a
/// lifecycle: nothing is stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DetectedFinding {
    pub rule_id: String,
    pub rule_version: String,
    pub category: Category,
    pub severity: Severity,
    pub message: String,
    pub location: Location,
    /// The matched source, secrets redacted.
    pub snippet: String,
    /// The same fingerprint an analysis would give this finding (suppressions match on it).
    pub fingerprint: String,
    pub engine: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DetectResponse {
    /// Sorted by line, column and rule.
    pub findings: Vec<DetectedFinding>,
    /// Who wrote the content, resolved from what the request declared (`unknown` without).
    pub attribution: Attribution,
    /// Every detector that ran, with its rule-pack digest.
    pub detectors: Vec<DetectorRef>,
    /// Detectors that ran out of time: their findings are partial.
    pub detectors_incomplete: Vec<String>,
    pub duration_ms: u64,
}

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
    let submission = parse_detect_request(&body)?;

    // Detection is CPU work: run it off the async runtime, a bounded number at a time so
    // synchronous scans cannot starve the rest of the API.
    let _permit = Arc::clone(&state.detect_permits)
        .acquire_owned()
        .await
        .map_err(|_| ApiError::Unavailable("the server is shutting down".into()))?;
    let detectors = Arc::clone(&state.detectors);
    let started = Instant::now();
    let (run, lines, changed) = tokio::task::spawn_blocking(move || {
        let input = DetectInput { lines: &submission.lines, files: &[], report_mode: ReportMode::Added };
        let run = detectors.run(&input, DETECT_BUDGET);
        (run, submission.lines, submission.changed_lines)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("detection task failed: {e}")))?;

    let attribution = lines.first().map(|l| l.attribution.clone()).unwrap_or_default();
    let findings = run
        .detections
        .into_iter()
        .filter(|d| {
            changed.as_ref().is_none_or(|c| c.range(d.location.start_line..=d.location.end_line).next().is_some())
        })
        .map(|d| DetectedFinding {
            fingerprint: fingerprint(&d.rule_id, &d.location.file_path, &d.snippet),
            rule_id: d.rule_id,
            rule_version: d.rule_version,
            category: d.category,
            severity: d.severity,
            message: d.message,
            location: d.location,
            snippet: d.snippet,
            engine: d.engine,
        })
        .collect();
    Ok(Json(DetectResponse {
        findings,
        attribution,
        detectors: run.detectors,
        detectors_incomplete: run.incomplete,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }))
}
