//! The worker's periodic duties (SPEC §9), each run by exactly one worker process at a time
//! (a Postgres advisory lock per duty): the outbox sweep, which publishes rows no relay has
//! confirmed (an API that died mid-publish, a broker that was down), and stale-job recovery,
//! which requeues `running` analyses whose worker stopped sending heartbeats.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use prost::Message;
use provenance_core::{AnalysisId, TenantId};
use provenance_proto::v1::AnalysisJob;
use provenance_store::relay::OutboxRelay;
use provenance_store::{OutboxMessage, Store, topics};
use tokio_util::sync::CancellationToken;

/// The outbox message that (re)starts an analysis.
pub fn analysis_job(id: &AnalysisId, tenant: &TenantId, key: String) -> OutboxMessage {
    let job = AnalysisJob::for_analysis(&key, tenant.as_str(), id.as_str(), Utc::now().timestamp_millis());
    OutboxMessage { topic: topics::ANALYSIS_JOBS.into(), key, payload: job.encode_to_vec() }
}

pub struct Scheduler {
    pub store: Arc<dyn Store>,
    /// Publishes what the sweep finds (distributed mode).
    pub relay: OutboxRelay,
    pub sweep_every: Duration,
    pub recovery_every: Duration,
    /// A running analysis without heartbeat for this long is requeued.
    pub stale_after: Duration,
}

impl Scheduler {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut sweep = tokio::time::interval(self.sweep_every);
        let mut recovery = tokio::time::interval(self.recovery_every);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        recovery.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = sweep.tick() => self.duty("outbox_sweep", || self.sweep()).await,
                _ = recovery.tick() => self.duty("stale_job_recovery", || self.recover()).await,
            }
        }
    }

    /// Run `work` if this process wins the duty's lock; record the outcome as metrics.
    async fn duty<F, Fut>(&self, name: &'static str, work: F)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<usize, String>>,
    {
        let lock = match self.store.try_singleton(name).await {
            Ok(Some(lock)) => lock,
            Ok(None) => return, // another worker runs it
            Err(e) => {
                tracing::warn!(duty = name, error = %e, "could not take the duty lock");
                return;
            }
        };
        let started = Instant::now();
        let result = work().await;
        drop(lock);
        let seconds = started.elapsed().as_secs_f64();
        metrics::histogram!("provenance_scheduler_duration_seconds", "job" => name).record(seconds);
        metrics::gauge!("provenance_scheduler_last_run_timestamp_seconds", "job" => name)
            .set(Utc::now().timestamp() as f64);
        match result {
            Ok(n) => {
                metrics::counter!("provenance_scheduler_runs_total", "job" => name, "result" => "ok").increment(1);
                if n > 0 {
                    tracing::info!(duty = name, items = n, "scheduler duty did work");
                }
            }
            Err(e) => {
                metrics::counter!("provenance_scheduler_runs_total", "job" => name, "result" => "error").increment(1);
                tracing::warn!(duty = name, error = %e, "scheduler duty failed");
            }
        }
    }

    async fn sweep(&self) -> Result<usize, String> {
        self.relay.drain().await.map_err(|e| e.to_string())
    }

    async fn recover(&self) -> Result<usize, String> {
        let stale_before = Utc::now() - chrono::Duration::from_std(self.stale_after).unwrap_or_default();
        let job = |id: &AnalysisId, tenant: &TenantId| {
            analysis_job(id, tenant, format!("{id}:requeue:{}", Utc::now().timestamp_millis()))
        };
        let ids = self.store.requeue_stale(stale_before, 100, &job).await.map_err(|e| e.to_string())?;
        for id in &ids {
            tracing::warn!(analysis_id = %id, "requeued a running analysis whose worker went silent");
        }
        metrics::counter!("provenance_stale_jobs_requeued_total").increment(ids.len() as u64);
        Ok(ids.len())
    }
}
