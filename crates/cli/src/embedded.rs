//! Embedded mode (`provenance serve`): the API, the worker and the embedded queue in one
//! process on SQLite, with the signing key and an admin API key created on first start.

use std::net::SocketAddr;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use provenance_api::AppState;
use provenance_api::bootstrap::ensure_admin_key;
use provenance_core::policy::Policy;
use provenance_detect::DetectorSet;
use provenance_store::keyring::Keyring;
use provenance_store::queue::EmbeddedQueue;
use provenance_store::{ConnectOptions, Migrations, topics};
use provenance_worker::scheduler::Scheduler;
use provenance_worker::webhooks::{Deliverer, delivery_settings};
use provenance_worker::{Pipeline, Worker};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::settings::Settings;

/// A running embedded server.
pub struct Embedded {
    pub addr: SocketAddr,
    /// The second listener of `PROVENANCE_GRPC_LISTEN` / `--grpc-listen`, if any (gRPC is
    /// served on `addr` too).
    pub grpc_addr: Option<SocketAddr>,
    /// The admin API key, and the file it is kept in (when created by us).
    pub admin_token: String,
    pub admin_key_file: Option<PathBuf>,
    pub admin_key_created: bool,
    pub keyring: Keyring,
    shutdown: CancellationToken,
    api: JoinHandle<std::io::Result<()>>,
    worker: JoinHandle<()>,
}

impl Embedded {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting requests and jobs, finish in-flight work, and return.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.api.await.context("api task")?.context("api server")?;
        self.worker.await.context("worker task")?;
        Ok(())
    }

    /// Resolves when the server stopped on its own (an error), or `shutdown` was cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Start the API and the worker in this process.
pub async fn start(settings: &Settings) -> anyhow::Result<Embedded> {
    if settings.amqp_url.is_some() || settings.redis_url.is_some() {
        tracing::warn!(
            "`serve` runs the embedded queue and in-memory limits; PROVENANCE_AMQP_URL / PROVENANCE_REDIS_URL are ignored"
        );
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&settings.data_dir)
        .with_context(|| format!("creating data dir {}", settings.data_dir.display()))?;

    let store = provenance_store::connect(&settings.database_url(), Migrations::Apply, &ConnectOptions::default())
        .await
        .with_context(|| format!("opening the database {}", crate::settings::redact_url(&settings.database_url())))?;
    let keyring = settings.keyring().context("loading the signing key")?;

    let bootstrap = settings.bootstrap_admin_key.as_ref().map(|k| k.expose_secret().to_string());
    let admin = ensure_admin_key(store.as_ref(), bootstrap.as_deref(), &settings.data_dir, true)
        .await?
        .context("no admin key could be set up")?;

    let detectors = Arc::new(
        DetectorSet::configured(&settings.detectors.rules_dirs, &settings.detectors.external_programs())
            .context("loading the detectors")?,
    );
    let mut state = AppState::new(
        Arc::clone(&store),
        Arc::clone(&detectors),
        keyring.public_keys().to_vec(),
        Arc::new(keyring.signing_key().clone()),
        settings.limits,
    );
    state.public_base_url = settings.public_base_url.trim_end_matches('/').to_string();
    state.retention = settings.retention_rules();

    let listener = tokio::net::TcpListener::bind(settings.http_listen)
        .await
        .with_context(|| format!("binding {}", settings.http_listen))?;
    let addr = listener.local_addr()?;
    let mut listeners = vec![listener];
    let mut grpc_addr = None;
    if let Some(grpc) = settings.grpc_listen {
        let listener = tokio::net::TcpListener::bind(grpc).await.with_context(|| format!("binding {grpc}"))?;
        grpc_addr = Some(listener.local_addr()?);
        listeners.push(listener);
    }
    let shutdown = CancellationToken::new();

    let w = &settings.worker;
    let queue = Arc::new(EmbeddedQueue::new(
        Arc::clone(&store),
        topics::ANALYSIS_JOBS,
        Duration::from_secs(w.lease_seconds),
        Duration::from_millis(w.poll_interval_ms),
    ));
    let pipeline = Arc::new(Pipeline {
        detectors,
        signing_key: Arc::new(keyring.signing_key().clone()),
        policy: Policy::default(),
        detect_budget: Duration::from_secs(w.detect_budget_seconds),
    });
    let webhook_queue = Arc::new(EmbeddedQueue::new(
        Arc::clone(&store),
        topics::WEBHOOK_DELIVERIES,
        Duration::from_secs(w.lease_seconds),
        Duration::from_millis(w.poll_interval_ms),
    ));
    let deliverer = Deliverer::new(Arc::clone(&store), webhook_queue, delivery_settings(settings)?)?;
    let scheduler = Scheduler {
        store: Arc::clone(&store),
        relay: None, // the outbox is the queue here: nothing to sweep
        settings: settings.scheduler.clone(),
        stale_after: Duration::from_secs(w.stale_after_seconds),
    };
    let worker = Worker { store: Arc::clone(&store), queue, pipeline, settings: w.clone() };
    let worker_shutdown = shutdown.clone();
    let worker = tokio::spawn(async move {
        tokio::join!(
            worker.run(worker_shutdown.clone()),
            deliverer.run(worker_shutdown.clone()),
            scheduler.run(worker_shutdown)
        );
    });

    let api_shutdown = shutdown.clone();
    let api = tokio::spawn(provenance_api::serve_all(listeners, state, async move { api_shutdown.cancelled().await }));

    Ok(Embedded {
        addr,
        grpc_addr,
        admin_token: admin.token,
        admin_key_file: admin.file,
        admin_key_created: admin.created,
        keyring,
        shutdown,
        api,
        worker,
    })
}
