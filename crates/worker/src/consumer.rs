//! The job consumer: receives analysis jobs from a [`JobQueue`], keeps the job leased while the
//! pipeline runs, acknowledges only after the results are committed, retries transient failures
//! with backoff, and fails an analysis whose job keeps failing (poison) instead of looping.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use prost::Message;
use provenance_core::webhooks::events::failure_message;
use provenance_core::{AnalysisError, AnalysisId};
use provenance_proto::v1::AnalysisJob;
use provenance_store::config::WorkerSettings;
use provenance_store::queue::{Delivery, JobQueue};
use provenance_store::trace_context;
use provenance_store::{Store, StoreError, WebhookEvent};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::pipeline::{Pipeline, PipelineError, RunOutcome};

pub struct Worker {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub pipeline: Arc<Pipeline>,
    pub settings: WorkerSettings,
}

impl Worker {
    /// Consume jobs until `shutdown` is cancelled; then let in-flight jobs finish within the
    /// grace period. A job cut off by the deadline is not acknowledged, so it is redelivered.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let mut tasks = JoinSet::new();
        for slot in 0..this.settings.concurrency.max(1) {
            let this = Arc::clone(&this);
            let shutdown = shutdown.clone();
            tasks.spawn(async move { this.consume(slot, shutdown).await });
        }
        shutdown.cancelled().await;
        let grace = Duration::from_secs(this.settings.shutdown_grace_seconds);
        if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!("in-flight jobs did not finish within {grace:?}; they will be redelivered");
            tasks.abort_all();
        }
    }

    async fn consume(&self, slot: usize, shutdown: CancellationToken) {
        loop {
            let delivery = tokio::select! {
                _ = shutdown.cancelled() => return,
                d = self.queue.receive() => d,
            };
            match delivery {
                Ok(d) => self.handle(d).await,
                Err(e) => {
                    tracing::error!(slot, error = %e, "receiving a job failed; retrying shortly");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    async fn handle(&self, delivery: Delivery) {
        let Some(id) = job_analysis_id(&delivery) else {
            tracing::error!(key = %delivery.key, "undecodable job dropped");
            self.ack(&delivery).await;
            return;
        };
        let span = job_span(
            tracing::info_span!("job", analysis_id = %id, attempt = delivery.attempts, trace_id = tracing::field::Empty),
            &delivery,
        );
        self.process(delivery, id).instrument(span).await;
    }

    async fn process(&self, delivery: Delivery, id: AnalysisId) {
        if delivery.attempts > self.settings.max_attempts {
            tracing::error!("delivery limit reached; marking the analysis failed");
            let error = AnalysisError {
                code: "delivery_limit_exceeded".into(),
                message: format!("the job was delivered {} times without completing", delivery.attempts - 1),
            };
            self.give_up(&delivery, &id, &error).await;
            return;
        }
        if delivery.attempts > 1 {
            metrics::counter!("provenance_queue_redeliveries_total").increment(1);
        }

        let result = {
            let heartbeat = self.keep_alive(&delivery, &id);
            let run = self.pipeline.run(self.store.as_ref(), &id);
            tokio::pin!(run);
            tokio::select! {
                r = &mut run => r,
                _ = heartbeat => unreachable!("the heartbeat never ends on its own"),
            }
        };
        match result {
            Ok(RunOutcome::Decided(outcome)) => {
                tracing::info!(outcome = outcome.as_str(), "analysis completed");
                self.ack(&delivery).await;
            }
            Ok(RunOutcome::AlreadyTerminal) => {
                tracing::info!("analysis already terminal; redelivered job acknowledged");
                self.ack(&delivery).await;
            }
            Err(PipelineError::Permanent(error)) => {
                tracing::error!(code = %error.code, message = %error.message, "analysis failed");
                match self.fail(&id, &error).await {
                    // A job for an analysis that no longer exists has nothing left to do.
                    Ok(()) | Err(StoreError::NotFound) => self.ack(&delivery).await,
                    Err(e) => self.retry(&delivery, &e.to_string()).await,
                }
            }
            Err(PipelineError::Retryable(error)) if delivery.attempts >= self.settings.max_attempts => {
                tracing::error!(code = %error.code, message = %error.message, "last attempt failed; giving up");
                self.give_up(&delivery, &id, &error).await;
            }
            Err(e @ (PipelineError::Retryable(_) | PipelineError::Transient(_))) => {
                tracing::warn!(error = %e, "attempt failed; job will be retried");
                self.retry(&delivery, &e.to_string()).await;
            }
        }
    }

    /// Record the analysis as failed, with its `analysis.failed` webhook event (none for a smoke test).
    async fn fail(&self, id: &AnalysisId, error: &AnalysisError) -> Result<(), StoreError> {
        let at = Utc::now();
        let events: Vec<WebhookEvent> = match self.store.load_job_input(id).await? {
            // Smoke-test analyses emit no events (the smoke report says what failed).
            Some(input) if provenance_core::is_smoke(&input.analysis.metadata) => Vec::new(),
            Some(input) => vec![failure_message(&input.analysis, error, at).into()],
            None => return Err(StoreError::NotFound),
        };
        self.store.fail_analysis(id, error, at, &events).await
    }

    /// Record the analysis as failed and send the job to the dead-letter queue.
    async fn give_up(&self, delivery: &Delivery, id: &AnalysisId, error: &AnalysisError) {
        match self.fail(id, error).await {
            Ok(()) | Err(StoreError::NotFound) => {
                metrics::counter!("provenance_jobs_dead_lettered_total").increment(1);
                if let Err(e) = self.queue.dead_letter(delivery, &error.code).await {
                    tracing::warn!(error = %e, "dead-lettering the job failed; it will come back");
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not record the failure; the job will come back"),
        }
    }

    /// Extend the lease and record a heartbeat periodically (stale-job recovery requeues a
    /// `running` analysis whose heartbeat stops); never returns.
    async fn keep_alive(&self, delivery: &Delivery, id: &AnalysisId) {
        let every = Duration::from_secs((self.settings.lease_seconds / 3).max(1));
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = self.queue.keep_alive(delivery).await {
                tracing::warn!(error = %e, "could not extend the job lease");
            }
            if let Err(e) = self.store.heartbeat(id, Utc::now()).await {
                tracing::warn!(error = %e, "could not record the job heartbeat");
            }
        }
    }

    async fn ack(&self, delivery: &Delivery) {
        if let Err(e) = self.queue.ack(delivery).await {
            // The job will be redelivered and skipped as already terminal.
            tracing::warn!(error = %e, "acknowledging the job failed");
        }
    }

    async fn retry(&self, delivery: &Delivery, error: &str) {
        let exp = delivery.attempts.saturating_sub(1).min(10);
        let delay = Duration::from_millis(self.settings.retry_base_ms.saturating_mul(1 << exp));
        if let Err(e) = self.queue.retry(delivery, delay, error).await {
            tracing::warn!(error = %e, "scheduling the retry failed; the lease expiry will redeliver the job");
        }
    }
}

/// `span` (declaring an empty `trace_id` field) as a child of the span that queued the job, so
/// one trace runs from the request through the queue to here; its logs carry the trace id.
pub(crate) fn job_span(span: tracing::Span, delivery: &Delivery) -> tracing::Span {
    if let Some(traceparent) = &delivery.traceparent {
        trace_context::set_parent_from(&span, traceparent);
    }
    trace_context::record_trace_id(&span);
    span
}

fn job_analysis_id(delivery: &Delivery) -> Option<AnalysisId> {
    let job = AnalysisJob::decode(delivery.payload.as_slice()).ok()?;
    job.analysis_id.parse().ok()
}
