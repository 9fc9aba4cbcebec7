//! Synchronous detection of one snippet (`POST /v1/detect`, `DetectorService.Detect`): the one
//! code path that the API runs in-process and the worker runs behind gRPC, so both answer alike.

use std::sync::Arc;
use std::time::{Duration, Instant};

use provenance_core::analysis::ReportMode;
use provenance_core::ingest::{DetectRequest, DetectSubmission, IngestError, validate_detect_request};
use provenance_core::snippet::{CapabilitiesResponse, DetectResponse, DetectedFinding, DetectorView};
use tokio::sync::Semaphore;

use crate::{DetectInput, DetectorSet};

/// Each detector's time budget for one snippet (SPEC §4's default per analysis).
pub const SNIPPET_BUDGET: Duration = Duration::from_secs(10);

impl DetectorSet {
    /// Run every detector over a validated snippet, each within `budget`, and report the findings
    /// touching its changed lines (all of them without), fingerprinted as an analysis would.
    /// CPU-bound: call it off the async runtime ([`SnippetScanner`] does).
    pub fn detect_snippet(&self, submission: &DetectSubmission, budget: Duration) -> DetectResponse {
        let started = Instant::now();
        let input = DetectInput { lines: &submission.lines, files: &[], report_mode: ReportMode::Added };
        let run = self.run(&input, budget);
        let findings = run
            .detections
            .into_iter()
            .map(DetectedFinding::from_detection)
            .filter(|f| submission.changed_lines.as_ref().is_none_or(|lines| f.touches(lines)))
            .collect();
        DetectResponse {
            findings,
            attribution: submission.lines.first().map(|l| l.attribution.clone()).unwrap_or_default(),
            detectors: run.detectors,
            detectors_incomplete: run.incomplete,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Every detector with its engine version, rules and rule-pack digest.
    pub fn capabilities_response(&self) -> CapabilitiesResponse {
        let detectors = self
            .capabilities()
            .into_iter()
            .map(|c| DetectorView {
                name: c.name.clone(),
                engine: c.engine.clone(),
                version: c.version.clone(),
                rulepack_sha256: c.rulepack_sha256.clone(),
                rules: c.rules.clone(),
            })
            .collect();
        CapabilitiesResponse { detectors }
    }
}

/// Runs snippet detections for an async server: validates the request, then scans on a blocking
/// thread, a bounded number at a time (one per core) so synchronous scans cannot starve the rest
/// of the process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SnippetScanner {
    detectors: Arc<DetectorSet>,
    permits: Arc<Semaphore>,
}

/// Why a snippet was not scanned.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The request is malformed, invalid or too large; nothing ran.
    #[error(transparent)]
    Rejected(#[from] IngestError),
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The detection task died (a bug): logged by the caller with the request id.
    #[error("detection task failed: {0}")]
    Failed(String),
}

impl SnippetScanner {
    /// A scanner over `detectors` running one scan per core at a time.
    pub fn new(detectors: Arc<DetectorSet>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        Self { detectors, permits: Arc::new(Semaphore::new(cores)) }
    }

    pub fn detectors(&self) -> &Arc<DetectorSet> {
        &self.detectors
    }

    pub fn capabilities(&self) -> CapabilitiesResponse {
        self.detectors.capabilities_response()
    }

    /// Validate `request` and run the detectors on it, each within [`SNIPPET_BUDGET`].
    pub async fn detect(&self, request: DetectRequest) -> Result<DetectResponse, ScanError> {
        let submission = validate_detect_request(request)?;
        let _permit = Arc::clone(&self.permits).acquire_owned().await.map_err(|_| ScanError::ShuttingDown)?;
        let detectors = Arc::clone(&self.detectors);
        tokio::task::spawn_blocking(move || detectors.detect_snippet(&submission, SNIPPET_BUDGET))
            .await
            .map_err(|e| ScanError::Failed(e.to_string()))
    }
}
