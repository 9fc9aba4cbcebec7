//! The analysis pipeline over one stored analysis. Pure steps come from `core` and `detect`;
//! this module only sequences them, times them, and commits the result in one transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use ed25519_dalek::SigningKey;
use provenance_core::attestation::{RegisteredKey, SigningContext, apply_attestations, needs_keys, parse_public_key};
use provenance_core::attribution::resolve_attribution;
use provenance_core::decision::{DecisionInput, decide};
use provenance_core::digest::{canonical_json, sha256_hex};
use provenance_core::policy::{Policy, select_policy};
use provenance_core::sarif::{SarifInput, SarifSubject, render_sarif};
use provenance_core::statement::{build_statement, sign_statement};
use provenance_core::suppression::apply_suppressions;
use provenance_core::webhooks::events::completion_messages;
use provenance_core::{AnalysisError, AnalysisId, Attribution, ChangedLine, Finding, Outcome, RepoPath, TenantId};
use provenance_detect::{DetectInput, DetectorSet};
use provenance_store::{AnalysisResult, JobStart, Store, StoreError, WebhookEvent};

/// Why a pipeline run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// Infrastructure trouble (database); the job is retried.
    #[error("transient: {0}")]
    Transient(#[from] StoreError),
    /// This attempt failed in a way that may not repeat (a detector panicked); the job is
    /// retried, and the analysis fails with this error once the delivery limit is reached.
    #[error("{}: {}", .0.code, .0.message)]
    Retryable(AnalysisError),
    /// The analysis cannot be processed; it is marked failed with this error.
    #[error("{}: {}", .0.code, .0.message)]
    Permanent(AnalysisError),
}

impl PipelineError {
    fn permanent(code: &str, message: impl Into<String>) -> Self {
        Self::Permanent(AnalysisError { code: code.into(), message: message.into() })
    }
}

/// What a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    Decided(Outcome),
    /// The analysis was already completed or failed (a redelivered job).
    AlreadyTerminal,
}

pub struct Pipeline {
    pub detectors: Arc<DetectorSet>,
    pub signing_key: Arc<SigningKey>,
    /// What applies when none of the tenant's policies matches the repository.
    pub policy: Policy,
    /// Per-detector time budget for one analysis.
    pub detect_budget: Duration,
}

impl Pipeline {
    pub async fn run(&self, store: &dyn Store, id: &AnalysisId) -> Result<RunOutcome, PipelineError> {
        let started_at = Utc::now();
        let input = match store.start_job(id, started_at).await? {
            JobStart::Started(input) => *input,
            JobStart::Settled => return Ok(RunOutcome::AlreadyTerminal),
            JobStart::Missing => {
                return Err(PipelineError::permanent("analysis_missing", format!("analysis {id} does not exist")));
            }
        };
        let mut timings = BTreeMap::new();

        let t = Instant::now();
        let mut lines = input.lines;
        for line in lines.iter_mut().filter(|l| !l.attribution.is_known()) {
            // Submission resolves every source but signatures (documents and commit metadata
            // are read there and not stored separately); this only covers lines stored before
            // it did.
            line.attribution = resolve_attribution(line);
        }
        let keys =
            if needs_keys(&lines) { registered_keys(store, &input.analysis.tenant_id).await? } else { Vec::new() };
        let context = SigningContext { repo: &input.analysis.repo, head_sha: &input.analysis.head_sha };
        apply_attestations(&mut lines, context, &keys);
        timings.insert("attribution".to_string(), t.elapsed().as_millis() as u64);

        let t = Instant::now();
        let detectors = Arc::clone(&self.detectors);
        let budget = self.detect_budget;
        let report_mode = input.analysis.report_mode;
        let (lines, files, run) = tokio::task::spawn_blocking(move || {
            let run = detectors.run(&DetectInput { lines: &lines, files: &input.files, report_mode }, budget);
            (lines, input.files, run)
        })
        .await
        .map_err(|e| PipelineError::permanent("detector_crashed", format!("a detector panicked: {e}")))?;
        drop(files);
        if !run.panicked.is_empty() {
            return Err(PipelineError::Retryable(AnalysisError {
                code: "detector_panicked".into(),
                message: format!("detector(s) {} panicked on this analysis", run.panicked.join(", ")),
            }));
        }
        timings.insert("detect".to_string(), t.elapsed().as_millis() as u64);
        for (detector, ms) in &run.durations_ms {
            metrics::histogram!("provenance_detector_duration_seconds", "detector" => detector.clone())
                .record(*ms as f64 / 1000.0);
        }

        let by_line = attribution_index(&lines);
        let findings: Vec<Finding> = run
            .detections
            .into_iter()
            .map(|d| {
                let who = by_line
                    .get(&(&d.location.file_path, d.location.start_line))
                    .map(|a| (*a).clone())
                    .unwrap_or_else(Attribution::unknown);
                Finding::from_detection(d, who)
            })
            .collect();
        // A smoke-test analysis is real work but not the team's: it stays out of the figures.
        let smoke = provenance_core::is_smoke(&input.analysis.metadata);
        if !smoke {
            for f in &findings {
                metrics::counter!("provenance_findings_total", "rule" => f.rule_id.clone()).increment(1);
            }
        }

        let t = Instant::now();
        let tenant = &input.analysis.tenant_id;
        let mut findings = findings;
        if !findings.is_empty() {
            let fingerprints: Vec<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
            let suppressions = store.active_suppressions(tenant, &fingerprints, started_at).await?;
            apply_suppressions(&mut findings, &suppressions, started_at);
        }
        // The tenant's policy whose scope matches the repository, else the default.
        let policies: Vec<Policy> = store.list_policies(tenant).await?.into_iter().map(|r| r.policy).collect();
        let policy = select_policy(&policies, input.analysis.repo.as_str()).unwrap_or(&self.policy);
        let decided_at = Utc::now();
        let mut decision = decide(DecisionInput {
            analysis_id: id,
            lines: &lines,
            findings: &findings,
            policy,
            detectors: run.detectors,
            detectors_incomplete: run.incomplete,
            timings_ms: BTreeMap::new(),
            decided_at,
        });
        timings.insert("policy".to_string(), t.elapsed().as_millis() as u64);

        let t = Instant::now();
        let rules = self.detectors.rules();
        let sarif = render_sarif(&SarifInput {
            subject: Some(SarifSubject {
                repo: &input.analysis.repo,
                head_sha: &input.analysis.head_sha,
                analysis_id: id,
            }),
            findings: &findings,
            rules: &rules,
            tool_version: env!("CARGO_PKG_VERSION"),
            execution_successful: decision.detectors_incomplete.is_empty(),
            failure_message: None,
            start_time: Some(started_at),
            end_time: Some(decided_at),
        });
        let sarif_bytes =
            canonical_json(&sarif).map_err(|e| PipelineError::permanent("sarif_encoding", e.to_string()))?;
        timings.insert("sarif".to_string(), t.elapsed().as_millis() as u64);
        decision.timings_ms = timings;

        let statement = build_statement(&input.analysis, &decision, &sha256_hex(&sarif_bytes));
        let envelope = sign_statement(&statement, &self.signing_key);
        let bundle =
            serde_json::to_value(&envelope).map_err(|e| PipelineError::permanent("bundle_encoding", e.to_string()))?;

        let outcome = decision.outcome;
        let completed_at = Utc::now();
        // …and emits no webhook events: a smoke test every few minutes must not page receivers.
        let events: Vec<WebhookEvent> = if smoke {
            Vec::new()
        } else {
            completion_messages(&input.analysis, &decision, findings.len(), completed_at)
                .into_iter()
                .map(WebhookEvent::from)
                .collect()
        };
        store
            .complete_analysis(&AnalysisResult {
                analysis_id: id.clone(),
                lines,
                findings,
                decision,
                bundle,
                sarif,
                completed_at,
                events,
            })
            .await?;
        if !smoke {
            metrics::counter!("provenance_decisions_total", "outcome" => outcome.as_str()).increment(1);
        }
        Ok(RunOutcome::Decided(outcome))
    }
}

/// The tenant's active agent keys, to verify line attestations with.
async fn registered_keys(store: &dyn Store, tenant: &TenantId) -> Result<Vec<RegisteredKey>, PipelineError> {
    let records = store.list_agent_keys(tenant, None).await?;
    Ok(records
        .into_iter()
        .filter(|r| r.revoked_at.is_none())
        .filter_map(|r| match parse_public_key(&r.public_key) {
            Ok(key) => Some(RegisteredKey { key_id: r.id.to_string(), agent_id: r.agent_id, key }),
            Err(why) => {
                tracing::error!(key = %r.id, "a stored agent key does not parse ({why}); it verifies nothing");
                None
            }
        })
        .collect())
}

/// Attribution of each line at head, by (path, line number).
fn attribution_index(lines: &[ChangedLine]) -> HashMap<(&RepoPath, u32), &Attribution> {
    lines
        .iter()
        .filter(|l| l.change_type.is_at_head())
        .map(|l| ((&l.file_path, l.line_number), &l.attribution))
        .collect()
}
