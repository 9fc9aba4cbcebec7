//! `provenance-api`: builds the application from [`Settings`] and serves it until SIGTERM.
//! In distributed mode (`PROVENANCE_AMQP_URL` set) it also runs the outbox relay, which publishes
//! each committed job to RabbitMQ as soon as the transaction commits. With
//! `PROVENANCE_WORKER_GRPC_URL` set, `POST /v1/detect` runs on a worker's `DetectorService`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use provenance_detect::DetectorSet;
use provenance_store::amqp::{AmqpConnection, AmqpPublisher, AmqpSettings, Topology};
use provenance_store::config::Settings;
use provenance_store::idempotency_cache::IdempotencyCache;
use provenance_store::ratelimit::RateLimiter;
use provenance_store::relay::{OutboxRelay, RelaySettings};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::readiness::{BrokerProbe, DatabaseProbe, EmbeddedQueueProbe, Probe, RedisProbe};
use crate::state::Detection;
use crate::{AppState, bootstrap};

/// Bind `settings.http_listen` and serve until `shutdown` is cancelled.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.http_listen)
        .await
        .with_context(|| format!("binding {}", settings.http_listen))?;
    serve_on(listener, settings, shutdown).await
}

/// Serve on `listener` until `shutdown` is cancelled; in-flight requests finish, the relay stops
/// after its current publish (an unconfirmed row is simply published again later).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let store = settings.open_store().await.with_context(|| {
        format!("opening the database {}", provenance_store::config::redact_url(&settings.database_url()))
    })?;
    let keyring = settings.keyring().context("loading the signing keys")?;

    let bootstrap_key = settings.bootstrap_admin_key.as_ref().map(|k| k.expose_secret().to_string());
    if bootstrap::ensure_admin_key(store.as_ref(), bootstrap_key.as_deref(), &settings.data_dir, false).await?.is_none()
    {
        tracing::warn!(
            "no admin API key: set PROVENANCE_BOOTSTRAP_ADMIN_KEY or create one with `provenance api-keys create`"
        );
    }

    // `POST /v1/detect` and the capabilities: a worker's DetectorService when one is configured
    // (the detectors are then not loaded here), else the detectors in this process.
    let detection = match settings.worker_grpc_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => Detection::remote(url).with_context(|| format!("PROVENANCE_WORKER_GRPC_URL {url:?}"))?,
        None => Detection::local(Arc::new(
            DetectorSet::configured(&settings.detectors.rules_dirs, &settings.detectors.external_programs())
                .context("loading the detectors")?,
        )),
    };
    let mut state = AppState::with_detection(
        Arc::clone(&store),
        detection,
        keyring.public_keys().to_vec(),
        Arc::new(keyring.signing_key().clone()),
        settings.limits,
    );
    state.public_base_url = settings.public_base_url.trim_end_matches('/').to_string();
    state.retention = settings.retention_rules();

    let mut probes: Vec<Arc<dyn Probe>> = vec![Arc::new(DatabaseProbe(Arc::clone(&store)))];
    let mut background = tokio::task::JoinSet::new();
    match &settings.amqp_url {
        Some(amqp) => {
            let connection = AmqpConnection::start(
                AmqpSettings::new(amqp.as_str())
                    .with_connection_name("provenance-api")
                    .with_topology(Topology::new(&settings.amqp_prefix)),
            )
            .context("configuring RabbitMQ")?;
            probes.push(Arc::new(BrokerProbe(connection.clone())));
            let publisher = Arc::new(AmqpPublisher::new(connection.clone()));
            let relay = OutboxRelay::new(Arc::clone(&store), publisher, RelaySettings::default());
            background.spawn(relay.run(shutdown.clone()));
        }
        None => probes.push(Arc::new(EmbeddedQueueProbe(Arc::clone(&store)))),
    }
    if let Some(redis) = &settings.redis_url {
        let limiter = Arc::new(RateLimiter::redis(redis).context("configuring Redis")?);
        probes.push(Arc::new(RedisProbe(Arc::clone(&limiter))));
        state.rate_limiter = limiter;
        state.idempotency = Arc::new(IdempotencyCache::redis(redis).context("configuring Redis")?);
    }
    state.probes = Arc::new(probes);

    tracing::info!(
        addr = %listener.local_addr()?,
        database = store.backend(),
        queue = if settings.amqp_url.is_some() { "rabbitmq" } else { "embedded" },
        detectors = settings.worker_grpc_url.as_deref().filter(|u| !u.trim().is_empty()).unwrap_or("in-process"),
        "provenance-api listening"
    );
    let mut listeners = vec![listener];
    if let Some(grpc) = settings.grpc_listen {
        let listener = tokio::net::TcpListener::bind(grpc).await.with_context(|| format!("binding {grpc}"))?;
        tracing::info!(addr = %listener.local_addr()?, "provenance-api also listening (PROVENANCE_GRPC_LISTEN)");
        listeners.push(listener);
    }
    let api_shutdown = shutdown.clone();
    crate::serve_all(listeners, state, async move { api_shutdown.cancelled().await }).await?;
    shutdown.cancel();
    // The relay ends at its next await point; give it a moment to finish a publish in flight.
    let _ =
        tokio::time::timeout(Duration::from_secs(5), async { while background.join_next().await.is_some() {} }).await;
    Ok(())
}
