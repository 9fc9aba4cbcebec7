//! `provenance-worker`: builds the pipeline and the job source from [`Settings`] and consumes
//! until SIGTERM, running the scheduler's duties beside and serving health, metrics and the
//! gRPC `DetectorService` on its internal port. With `PROVENANCE_AMQP_URL` it consumes
//! RabbitMQ (and the scheduler sweeps the outbox); without it, it consumes the database outbox
//! directly (several workers may share one Postgres database that way).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use provenance_core::policy::Policy;
use provenance_detect::DetectorSet;
use provenance_store::amqp::{AmqpConnection, AmqpPublisher, AmqpQueue, AmqpSettings, Topology};
use provenance_store::config::Settings;
use provenance_store::health::{BrokerProbe, DatabaseProbe, EmbeddedQueueProbe, Probe};
use provenance_store::queue::{EmbeddedQueue, JobQueue};
use provenance_store::relay::{OutboxRelay, RelaySettings};
use provenance_store::topics;
use tokio_util::sync::CancellationToken;

use crate::scheduler::Scheduler;
use crate::webhooks::{Deliverer, delivery_settings};
use crate::{Pipeline, Worker};

pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let store = settings.open_store().await.with_context(|| {
        format!("opening the database {}", provenance_store::config::redact_url(&settings.database_url()))
    })?;
    let keyring = settings.keyring().context("loading the signing keys")?;
    provenance_store::process::export_counters_at_zero(provenance_store::process::WORKER_COUNTERS);

    let w = &settings.worker;
    let pipeline = Arc::new(Pipeline {
        detectors: Arc::new(
            DetectorSet::configured(&settings.detectors.rules_dirs, &settings.detectors.external_programs())
                .context("loading the detectors")?,
        ),
        signing_key: Arc::new(keyring.signing_key().clone()),
        policy: Policy::default(),
        detect_budget: Duration::from_secs(w.detect_budget_seconds),
    });

    let mut probes: Vec<Arc<dyn Probe>> = vec![Arc::new(DatabaseProbe(Arc::clone(&store)))];
    let mut background = tokio::task::JoinSet::new();
    let webhook_queue: Arc<dyn JobQueue>;
    let mut relay = None;
    let queue: Arc<dyn JobQueue> = match &settings.amqp_url {
        Some(amqp) => {
            let connection = AmqpConnection::start(
                AmqpSettings::new(amqp.as_str())
                    .with_connection_name("provenance-worker")
                    .with_topology(Topology::new(&settings.amqp_prefix))
                    .with_prefetch(w.prefetch),
            )
            .context("configuring RabbitMQ")?;
            probes.push(Arc::new(BrokerProbe(connection.clone())));
            let publisher = Arc::new(AmqpPublisher::new(connection.clone()));
            // The rows this process writes (webhook deliveries queued with a decision or an
            // attempt, requeued jobs) are published at once by a relay woken on commit; the
            // scheduler's sweep catches what any relay left behind.
            background.spawn(
                OutboxRelay::new(Arc::clone(&store), Arc::clone(&publisher) as _, RelaySettings::default())
                    .run(shutdown.clone()),
            );
            relay = Some(OutboxRelay::new(Arc::clone(&store), publisher, RelaySettings::default()));
            // Deliveries wait on receivers, not on the CPU: the delivery queue's prefetch is the
            // deliverer's concurrency, not the analysis jobs' one.
            let prefetch = u16::try_from(settings.webhooks.concurrency).unwrap_or(u16::MAX).max(1);
            webhook_queue = Arc::new(AmqpQueue::new(connection.clone(), topics::WEBHOOK_DELIVERIES, prefetch));
            Arc::new(AmqpQueue::new(connection, topics::ANALYSIS_JOBS, w.prefetch))
        }
        None => {
            probes.push(Arc::new(EmbeddedQueueProbe(Arc::clone(&store))));
            webhook_queue = Arc::new(EmbeddedQueue::new(
                Arc::clone(&store),
                topics::WEBHOOK_DELIVERIES,
                Duration::from_secs(w.lease_seconds),
                Duration::from_millis(w.poll_interval_ms),
            ));
            Arc::new(EmbeddedQueue::new(
                Arc::clone(&store),
                topics::ANALYSIS_JOBS,
                Duration::from_secs(w.lease_seconds),
                Duration::from_millis(w.poll_interval_ms),
            ))
        }
    };

    let listener = tokio::net::TcpListener::bind(w.health_listen)
        .await
        .with_context(|| format!("binding the internal port {}", w.health_listen))?;
    tracing::info!(
        internal_port = %listener.local_addr()?,
        database = store.backend(),
        queue = if settings.amqp_url.is_some() { "rabbitmq" } else { "database outbox" },
        concurrency = w.concurrency,
        "provenance-worker started"
    );
    let health_shutdown = shutdown.clone();
    // Health, metrics and the DetectorService the API calls (`PROVENANCE_WORKER_GRPC_URL`).
    let internal = crate::internal_port::router(probes, Arc::clone(&pipeline.detectors)).await;
    background.spawn(async move {
        let _ = axum::serve(listener, internal)
            .with_graceful_shutdown(async move { health_shutdown.cancelled().await })
            .await;
    });

    let scheduler = Scheduler {
        store: Arc::clone(&store),
        relay,
        settings: settings.scheduler.clone(),
        stale_after: Duration::from_secs(w.stale_after_seconds),
    };
    background.spawn(scheduler.run(shutdown.clone()));
    let deliverer = Deliverer::new(Arc::clone(&store), webhook_queue, delivery_settings(&settings)?)?;
    background.spawn(deliverer.run(shutdown.clone()));
    let worker = Worker { store, queue, pipeline, settings: w.clone() };
    worker.run(shutdown.clone()).await;
    shutdown.cancel();
    let _ =
        tokio::time::timeout(Duration::from_secs(5), async { while background.join_next().await.is_some() {} }).await;
    Ok(())
}
