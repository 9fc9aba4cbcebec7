//! The worker's periodic duties (SPEC §9). Each is run by one worker process at a time (a
//! PostgreSQL advisory lock per duty) and at most once per period across replicas (a replica
//! that finds the duty's last run, by anyone, too recent skips its turn). Every run is recorded
//! in the store — `GET /v1/admin/scheduler` shows the last one — and as metrics.
//!
//! - `outbox_sweep` (distributed mode): publishes outbox rows no relay confirmed (an API that
//!   died mid-publish, a broker that was down);
//! - `stale_job_recovery`: requeues `running` analyses whose worker stopped sending heartbeats;
//! - `webhook_retry_pump`: re-queues pending webhook deliveries long past due whose job is
//!   nowhere (a delay queue lost with a broker, a retry that could not be published);
//! - `endpoint_auto_disable`: disables endpoints failing for 5 days that no attempt disabled
//!   (no message came to find out), announcing `endpoint.disabled`;
//! - `retention_purge`: removes analyses' lines, findings and SARIF, webhook attempts and
//!   messages past the tenant's retention, and analyses with their decisions past a year.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use prost::Message;
use provenance_core::webhooks::DISABLE_AFTER_FAILING_FOR;
use provenance_core::webhooks::events::endpoint_disabled_message;
use provenance_core::{AnalysisId, TenantId};
use provenance_proto::v1::AnalysisJob;
use provenance_store::config::SchedulerSettings;
use provenance_store::relay::OutboxRelay;
use provenance_store::{OutboxMessage, RetentionRules, SchedulerRun, Store, topics};
use tokio_util::sync::CancellationToken;

/// The outbox message that (re)starts an analysis.
pub fn analysis_job(id: &AnalysisId, tenant: &TenantId, key: String) -> OutboxMessage {
    let job = AnalysisJob::for_analysis(&key, tenant.as_str(), id.as_str(), Utc::now().timestamp_millis());
    OutboxMessage { topic: topics::ANALYSIS_JOBS.into(), key, payload: job.encode_to_vec() }
}

/// The scheduler's duties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duty {
    OutboxSweep,
    StaleJobRecovery,
    WebhookRetryPump,
    EndpointAutoDisable,
    RetentionPurge,
}

impl Duty {
    pub const ALL: [Self; 5] = [
        Self::OutboxSweep,
        Self::StaleJobRecovery,
        Self::WebhookRetryPump,
        Self::EndpointAutoDisable,
        Self::RetentionPurge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::OutboxSweep => "outbox_sweep",
            Self::StaleJobRecovery => "stale_job_recovery",
            Self::WebhookRetryPump => "webhook_retry_pump",
            Self::EndpointAutoDisable => "endpoint_auto_disable",
            Self::RetentionPurge => "retention_purge",
        }
    }

    /// Its period under `settings`; zero = off.
    fn period(self, settings: &SchedulerSettings) -> Duration {
        Duration::from_secs(match self {
            Self::OutboxSweep => settings.outbox_sweep_seconds,
            Self::StaleJobRecovery => settings.stale_recovery_seconds,
            Self::WebhookRetryPump => settings.retry_pump_seconds,
            Self::EndpointAutoDisable => settings.auto_disable_seconds,
            Self::RetentionPurge => settings.retention_seconds,
        })
    }
}

/// Rows a duty handles per batch; a duty runs batches until one comes back short.
const BATCH: u32 = 500;
/// Batches per run at most, so one run cannot hold its lock for ever.
const MAX_BATCHES: usize = 20;

pub struct Scheduler {
    pub store: Arc<dyn Store>,
    /// Publishes what the outbox sweep finds (distributed mode). Without one (embedded mode,
    /// where the outbox is the queue) there is no sweep.
    pub relay: Option<OutboxRelay>,
    pub settings: SchedulerSettings,
    /// A running analysis without heartbeat for this long is requeued.
    pub stale_after: Duration,
}

impl Scheduler {
    /// Run every duty on its period until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let mut duties = tokio::task::JoinSet::new();
        for duty in Duty::ALL {
            let period = duty.period(&this.settings);
            if period.is_zero() || (duty == Duty::OutboxSweep && this.relay.is_none()) {
                continue;
            }
            let (this, shutdown) = (Arc::clone(&this), shutdown.clone());
            duties.spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        _ = tick.tick() => { this.run_duty(duty).await; }
                    }
                }
            });
        }
        while duties.join_next().await.is_some() {}
    }

    /// Run `duty` now if this process wins its lock and nobody ran it within its period (less a
    /// tenth, for the replicas' unaligned clocks). Returns the run, or `None` when skipped.
    pub async fn run_duty(&self, duty: Duty) -> Option<SchedulerRun> {
        let name = duty.name();
        let lock = match self.store.try_singleton(name).await {
            Ok(Some(lock)) => lock,
            Ok(None) => return None, // another worker runs it
            Err(e) => {
                tracing::warn!(duty = name, error = %e, "could not take the duty lock");
                return None;
            }
        };
        let period = duty.period(&self.settings);
        if let Ok(runs) = self.store.list_scheduler_runs().await
            && let Some(last) = runs.iter().find(|r| r.last.job == name)
            && (Utc::now() - last.last.started_at).to_std().unwrap_or_default() < period.mul_f64(0.9)
        {
            return None; // another replica ran it this period
        }
        let started_at = Utc::now();
        let started = Instant::now();
        let result = match duty {
            Duty::OutboxSweep => self.sweep().await,
            Duty::StaleJobRecovery => self.recover().await,
            Duty::WebhookRetryPump => self.pump().await,
            Duty::EndpointAutoDisable => self.auto_disable().await,
            Duty::RetentionPurge => self.purge().await,
        };
        let elapsed = started.elapsed();
        let run = SchedulerRun {
            job: name.to_string(),
            every_seconds: period.as_secs(),
            started_at,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            result,
            runner: runner(),
        };
        if let Err(e) = self.store.record_scheduler_run(&run).await {
            tracing::warn!(duty = name, error = %e, "could not record the duty's run");
        }
        drop(lock);
        metrics::histogram!("provenance_scheduler_duration_seconds", "job" => name).record(elapsed.as_secs_f64());
        metrics::gauge!("provenance_scheduler_last_run_timestamp_seconds", "job" => name)
            .set(Utc::now().timestamp() as f64);
        match &run.result {
            Ok(n) => {
                metrics::counter!("provenance_scheduler_runs_total", "job" => name, "result" => "ok").increment(1);
                metrics::counter!("provenance_scheduler_items_total", "job" => name).increment(*n);
                if *n > 0 {
                    tracing::info!(duty = name, items = n, "scheduler duty did work");
                }
            }
            Err(e) => {
                metrics::counter!("provenance_scheduler_runs_total", "job" => name, "result" => "error").increment(1);
                tracing::warn!(duty = name, error = %e, "scheduler duty failed");
            }
        }
        Some(run)
    }

    async fn sweep(&self) -> Result<u64, String> {
        let Some(relay) = &self.relay else { return Ok(0) };
        relay.drain().await.map(|n| n as u64).map_err(|e| e.to_string())
    }

    async fn recover(&self) -> Result<u64, String> {
        let stale_before = Utc::now() - chrono::Duration::from_std(self.stale_after).unwrap_or_default();
        let job = |id: &AnalysisId, tenant: &TenantId| {
            analysis_job(id, tenant, format!("{id}:requeue:{}", Utc::now().timestamp_millis()))
        };
        let ids = self.store.requeue_stale(stale_before, 100, &job).await.map_err(|e| e.to_string())?;
        for id in &ids {
            tracing::warn!(analysis_id = %id, "requeued a running analysis whose worker went silent");
        }
        metrics::counter!("provenance_stale_jobs_requeued_total").increment(ids.len() as u64);
        Ok(ids.len() as u64)
    }

    async fn pump(&self) -> Result<u64, String> {
        let overdue = chrono::Duration::seconds(i64::try_from(self.settings.retry_pump_overdue_seconds).unwrap_or(600));
        let mut total = 0;
        for _ in 0..MAX_BATCHES {
            let now = Utc::now();
            let n = self.store.pump_overdue_deliveries(now - overdue, now, BATCH).await.map_err(|e| e.to_string())?;
            total += n as u64;
            if n < BATCH as usize {
                break;
            }
        }
        if total > 0 {
            tracing::warn!(deliveries = total, "re-queued webhook deliveries whose job was lost");
        }
        metrics::counter!("provenance_webhook_deliveries_pumped_total").increment(total);
        Ok(total)
    }

    async fn auto_disable(&self) -> Result<u64, String> {
        let now = Utc::now();
        let failing =
            self.store.failing_endpoints(now - DISABLE_AFTER_FAILING_FOR, BATCH).await.map_err(|e| e.to_string())?;
        let mut disabled = 0;
        for endpoint in failing {
            let reason = "the endpoint failed for 5 days";
            let event = endpoint_disabled_message(endpoint.id.as_str(), &endpoint.url, reason, now).into();
            if self.store.disable_endpoint(&endpoint.id, reason, now, &[event]).await.map_err(|e| e.to_string())? {
                tracing::warn!(endpoint = %endpoint.id, tenant = %endpoint.tenant_id, "disabled a webhook endpoint failing for 5 days");
                metrics::counter!("provenance_webhook_endpoints_disabled_total", "reason" => "failing").increment(1);
                disabled += 1;
            }
        }
        Ok(disabled)
    }

    async fn purge(&self) -> Result<u64, String> {
        let rules = RetentionRules {
            default_days: self.settings.retention_days,
            record_days: self.settings.record_retention_days,
        };
        let mut total = 0;
        for _ in 0..MAX_BATCHES {
            let report = self.store.purge_expired(&rules, Utc::now(), BATCH).await.map_err(|e| e.to_string())?;
            total += report.total();
            if report.total() == 0 {
                break;
            }
        }
        Ok(total)
    }
}

/// This process, as the scheduler's record names it.
fn runner() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}
