//! Embedded mode (`provenance serve`): the API, the worker and the embedded queue in one
//! process on SQLite, with the signing key and an admin API key created on first start.

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use provenance_api::AppState;
use provenance_api::routes::api_keys::new_key_record;
use provenance_core::TenantId;
use provenance_core::access::{Scope, Tier, hash_secret, parse_token};
use provenance_core::policy::Policy;
use provenance_detect::DetectorSet;
use provenance_store::keyring::Keyring;
use provenance_store::queue::EmbeddedQueue;
use provenance_store::{ApiKeyRecord, Store, topics};
use provenance_worker::{Pipeline, Worker};
use secrecy::ExposeSecret;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::settings::Settings;

/// The tenant of embedded mode, which serves one organisation.
pub fn embedded_tenant() -> TenantId {
    "tn_00000000000000000000000000".parse().expect("a valid constant tenant id")
}

/// The file holding the admin API key that `serve` creates on first start.
pub fn admin_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.key")
}

/// A running embedded server.
pub struct Embedded {
    pub addr: SocketAddr,
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

    let store = provenance_store::connect(&settings.database_url())
        .await
        .with_context(|| format!("opening the database {}", crate::settings::redact_url(&settings.database_url())))?;
    let keyring = match &settings.signing_key_file {
        Some(path) => Keyring::load_file(path),
        None => Keyring::load_or_generate(&settings.data_dir),
    }
    .context("loading the signing key")?;

    let tenant = embedded_tenant();
    store.ensure_tenant(&tenant, "default").await?;
    let admin = ensure_admin_key(store.as_ref(), settings, &tenant).await?;

    let detectors = Arc::new(DetectorSet::bundled().context("loading the bundled rule pack")?);
    let mut state =
        AppState::new(Arc::clone(&store), Arc::clone(&detectors), keyring.public_keys().to_vec(), settings.limits);
    state.public_base_url = settings.public_base_url.trim_end_matches('/').to_string();

    let listener = tokio::net::TcpListener::bind(settings.http_listen)
        .await
        .with_context(|| format!("binding {}", settings.http_listen))?;
    let addr = listener.local_addr()?;
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
    let worker = Worker { store: Arc::clone(&store), queue, pipeline, settings: w.clone() };
    let worker = tokio::spawn(worker.run(shutdown.clone()));

    let api_shutdown = shutdown.clone();
    let api = tokio::spawn(provenance_api::serve(listener, state, async move { api_shutdown.cancelled().await }));

    Ok(Embedded {
        addr,
        admin_token: admin.token,
        admin_key_file: admin.file,
        admin_key_created: admin.created,
        keyring,
        shutdown,
        api,
        worker,
    })
}

struct AdminKey {
    token: String,
    file: Option<PathBuf>,
    created: bool,
}

/// Make sure an admin key exists: the operator's `PROVENANCE_BOOTSTRAP_ADMIN_KEY`, or the one
/// in `<data_dir>/admin.key`, created (mode 0600) on first start.
async fn ensure_admin_key(store: &dyn Store, settings: &Settings, tenant: &TenantId) -> anyhow::Result<AdminKey> {
    if let Some(token) = settings.bootstrap_admin_key.as_ref().map(|k| k.expose_secret().trim().to_string()) {
        register_token(store, tenant, &token, "bootstrap-admin").await.context("PROVENANCE_BOOTSTRAP_ADMIN_KEY")?;
        return Ok(AdminKey { token, file: None, created: false });
    }
    let path = admin_key_path(&settings.data_dir);
    if path.exists() {
        let token = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let token = token.trim().to_string();
        register_token(store, tenant, &token, "admin")
            .await
            .with_context(|| format!("the key in {}", path.display()))?;
        return Ok(AdminKey { token, file: Some(path), created: false });
    }
    let (record, token) = new_key_record(tenant, "admin".into(), vec![Scope::Admin], Tier::Admin, rand::random());
    store.insert_api_key(&record).await?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{token}")?;
    Ok(AdminKey { token, file: Some(path), created: true })
}

/// Store `token` as an admin key if the database does not know it (e.g. a fresh database).
async fn register_token(store: &dyn Store, tenant: &TenantId, token: &str, name: &str) -> anyhow::Result<()> {
    let Some((id, secret)) = parse_token(token) else {
        bail!("not an API key of the form pvn_<id>_<secret>");
    };
    if store.find_api_key(&id).await?.is_none() {
        store
            .insert_api_key(&ApiKeyRecord {
                id,
                tenant_id: tenant.clone(),
                name: name.to_string(),
                secret_sha256: hash_secret(secret),
                scopes: vec![Scope::Admin],
                tier: Tier::Admin,
                created_at: chrono::Utc::now(),
                last_used_at: None,
                revoked_at: None,
            })
            .await?;
    }
    Ok(())
}
