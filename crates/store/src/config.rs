//! Settings of the `provenance`, `provenance-api` and `provenance-worker` binaries: built-in defaults, then the optional TOML file
//! (`--config`), then `PROVENANCE_*` environment variables (nested keys with `__`, e.g.
//! `PROVENANCE_LIMITS__MAX_BODY_BYTES`), then command-line flags. SPEC §11 fixes the names.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use provenance_core::ingest::IngestLimits;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Worker tuning; every field has a default and a `PROVENANCE_WORKER__…` variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerSettings {
    /// Jobs processed at the same time by this process.
    pub concurrency: usize,
    /// Deliveries of one job before its analysis is marked failed (`delivery_limit_exceeded`).
    pub max_attempts: u32,
    /// How long a received job stays reserved without a heartbeat (a crashed worker's job is
    /// picked up again after this).
    pub lease_seconds: u64,
    /// Safety-net poll interval of the embedded queue (jobs normally wake it on commit).
    pub poll_interval_ms: u64,
    /// Time budget of each detector for one analysis.
    pub detect_budget_seconds: u64,
    /// First retry delay after a transient failure; doubles per attempt.
    pub retry_base_ms: u64,
    /// On shutdown, how long in-flight jobs may take to finish before they are handed back.
    pub shutdown_grace_seconds: u64,
    /// `provenance-worker`: address of its internal port: `/health/*`, `/metrics`, and the gRPC
    /// `DetectorService` (with `grpc.health.v1`) the API calls when `worker_grpc_url` is set.
    pub health_listen: SocketAddr,
    /// AMQP prefetch: unacknowledged jobs a worker process may hold (keep it near
    /// `concurrency`, or one replica hoards jobs others could run).
    pub prefetch: u16,
    /// A `running` analysis whose worker sent no heartbeat for this long is requeued.
    pub stale_after_seconds: u64,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 2,
            max_attempts: 5,
            lease_seconds: 60,
            poll_interval_ms: 1000,
            detect_budget_seconds: 10,
            retry_base_ms: 1000,
            shutdown_grace_seconds: 20,
            health_listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            prefetch: 4,
            stale_after_seconds: 300,
        }
    }
}

/// Webhook delivery (`PROVENANCE_WEBHOOKS__…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// Deliveries in flight at once in one process, across endpoints (also the RabbitMQ
    /// prefetch of the delivery queue).
    pub concurrency: usize,
    /// Deliveries in flight at once to one endpoint, per process.
    pub per_endpoint_concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { concurrency: 64, per_endpoint_concurrency: 16 }
    }
}

/// The scheduler's duties and retention (`PROVENANCE_SCHEDULER__…`, SPEC §9). Periods are in
/// seconds; a period of 0 turns the duty off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SchedulerSettings {
    /// Publish outbox rows no relay confirmed (distributed mode).
    pub outbox_sweep_seconds: u64,
    /// Requeue running analyses whose worker went silent.
    pub stale_recovery_seconds: u64,
    /// Re-queue pending webhook deliveries whose job was lost.
    pub retry_pump_seconds: u64,
    /// A pending delivery this far past its due time, with no job anywhere, counts as lost.
    pub retry_pump_overdue_seconds: u64,
    /// Disable endpoints failing for 5 days that no attempt has disabled yet.
    pub auto_disable_seconds: u64,
    /// Retention purge.
    pub retention_seconds: u64,
    /// Days analyses keep their lines, findings and SARIF, and webhook attempts and messages are
    /// kept, for tenants that set none (`PUT /v1/admin/retention`).
    pub retention_days: u32,
    /// Days decisions and bundles (with their analysis) are kept at least.
    pub record_retention_days: u32,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            outbox_sweep_seconds: 10,
            stale_recovery_seconds: 30,
            retry_pump_seconds: 60,
            retry_pump_overdue_seconds: 600,
            auto_disable_seconds: 3600,
            retention_seconds: 3600,
            retention_days: 90,
            record_retention_days: 365,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Embedded mode: the SQLite database, the signing keys and the admin key live here.
    pub data_dir: PathBuf,
    /// REST listen address.
    pub http_listen: SocketAddr,
    /// A second listen address for the API, for operators who want gRPC on a port of its own
    /// (a gRPC-only load balancer, the conventional 50051). Unset: gRPC is served on
    /// `http_listen` with REST, told apart by `content-type: application/grpc`.
    pub grpc_listen: Option<SocketAddr>,
    /// `sqlite://…` (default: `provenance.db` in the data dir) or `postgres://…`.
    pub database_url: Option<String>,
    /// Largest database connection pool of one process (Postgres).
    pub database_max_connections: u32,
    /// Apply pending database migrations at start (`--migrate`); otherwise an unmigrated schema
    /// stops `provenance-api` and `provenance-worker` with a message saying so.
    pub migrate: bool,
    /// RabbitMQ URL; unset = the embedded queue. (`serve` always uses the embedded queue.)
    pub amqp_url: Option<String>,
    /// Prefix of every exchange and queue name (to share one broker between installations).
    pub amqp_prefix: String,
    /// Redis URL; unset = in-memory rate limits and idempotency.
    pub redis_url: Option<String>,
    /// Ed25519 private key (PKCS#8 PEM). Unset = generated into `<data_dir>/keys/`.
    pub signing_key_file: Option<PathBuf>,
    /// The same key as PEM text, for platforms that pass secrets as variables (Railway, ECS
    /// secrets); exclusive with `signing_key_file`.
    #[serde(skip_serializing)]
    pub signing_key_pem: Option<SecretString>,
    /// Create this admin API key at start if absent (`pvn_<id>_<secret>`).
    #[serde(skip_serializing)]
    pub bootstrap_admin_key: Option<SecretString>,
    /// Where `provenance-api` finds a worker's `DetectorService` for `POST /v1/detect` and the
    /// capabilities: the worker's `health_listen` as a URL (`http://worker:9090`). Unset = the
    /// detectors run in the API process.
    pub worker_grpc_url: Option<String>,
    /// Comma-separated hosts/CIDRs exempt from the webhook SSRF guard.
    pub webhook_allow_hosts: String,
    /// OTLP traces endpoint; unset = traces go to the logs only.
    pub otlp_endpoint: Option<String>,
    /// `text` or `json`; unset = `text` on a terminal, `json` otherwise.
    pub log_format: Option<LogFormat>,
    /// Base URL put in `status_url` (e.g. `https://provenance.example.com`); empty = relative.
    pub public_base_url: String,
    /// Submission size limits.
    pub limits: IngestLimits,
    /// Job processing.
    pub worker: WorkerSettings,
    /// Webhook delivery.
    pub webhooks: WebhookSettings,
    /// The scheduler's duties and retention.
    pub scheduler: SchedulerSettings,
    /// Rules and detectors beyond the bundled rule pack. The API (capabilities, `POST
    /// /v1/detect`) and the workers must be given the same.
    pub detectors: DetectorSettings,
}

/// Rules and detectors beyond the bundled rule pack (`[detectors]` in the TOML file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorSettings {
    /// Directories of extra rule files (`*.yaml`, `*.yml`): pattern rule files and ast-grep
    /// rule files, loaded with the bundled pack.
    pub rules_dirs: Vec<PathBuf>,
    /// External detectors (`[[detectors.external]]`, `name` and `program`), each an executable
    /// speaking the `provenance.detector/v1` protocol.
    pub external: Vec<ExternalDetectorSettings>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalDetectorSettings {
    pub name: String,
    pub program: PathBuf,
}

impl DetectorSettings {
    /// The external detectors as `(name, program)`.
    pub fn external_programs(&self) -> Vec<(String, PathBuf)> {
        self.external.iter().map(|e| (e.name.clone(), e.program.clone())).collect()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./provenance-data"),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            grpc_listen: None,
            database_url: None,
            database_max_connections: 16,
            migrate: false,
            amqp_url: None,
            amqp_prefix: String::new(),
            redis_url: None,
            signing_key_file: None,
            signing_key_pem: None,
            bootstrap_admin_key: None,
            worker_grpc_url: None,
            webhook_allow_hosts: String::new(),
            otlp_endpoint: None,
            log_format: None,
            public_base_url: String::new(),
            limits: IngestLimits::default(),
            worker: WorkerSettings::default(),
            webhooks: WebhookSettings::default(),
            scheduler: SchedulerSettings::default(),
            detectors: DetectorSettings::default(),
        }
    }
}

/// Command-line overrides of `serve`.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub http_listen: Option<SocketAddr>,
    pub grpc_listen: Option<SocketAddr>,
}

impl Settings {
    /// What the retention duty keeps, from the scheduler settings.
    pub fn retention_rules(&self) -> crate::repository::RetentionRules {
        crate::repository::RetentionRules {
            default_days: self.scheduler.retention_days,
            record_days: self.scheduler.record_retention_days,
        }
    }

    /// Defaults ← `config` file ← `PROVENANCE_*` env ← flags.
    pub fn load(config: Option<&Path>, overrides: &Overrides) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config {
            figment = figment.merge(Toml::file_exact(path));
        }
        let mut settings: Settings = figment.merge(Env::prefixed("PROVENANCE_").split("__")).extract()?;
        if let Some(d) = &overrides.data_dir {
            settings.data_dir = d.clone();
        }
        if let Some(l) = overrides.http_listen {
            settings.http_listen = l;
        }
        if let Some(l) = overrides.grpc_listen {
            settings.grpc_listen = Some(l);
        }
        Ok(settings)
    }

    /// Open the configured store: apply pending migrations when `migrate` is set, else refuse an
    /// unmigrated schema ([`crate::StoreError::Unmigrated`]).
    pub async fn open_store(&self) -> crate::StoreResult<std::sync::Arc<dyn crate::Store>> {
        let migrations = if self.migrate { crate::Migrations::Apply } else { crate::Migrations::Require };
        let options = crate::ConnectOptions {
            max_connections: self.database_max_connections,
            ..crate::ConnectOptions::default()
        };
        crate::connect(&self.database_url(), migrations, &options).await
    }

    /// The signing keys: the configured key file, else the keyring of the data dir (created on
    /// first use).
    pub fn keyring(&self) -> Result<crate::keyring::Keyring, crate::keyring::KeyringError> {
        let pem = self.signing_key_pem.as_ref().map(|k| k.expose_secret()).filter(|k| !k.trim().is_empty());
        match (&self.signing_key_file, pem) {
            (Some(_), Some(_)) => Err(crate::keyring::KeyringError::Conflict(
                "set PROVENANCE_SIGNING_KEY_FILE or PROVENANCE_SIGNING_KEY_PEM, not both",
            )),
            (Some(path), None) => crate::keyring::Keyring::load_file(path),
            (None, Some(pem)) => crate::keyring::Keyring::from_pem(pem, "PROVENANCE_SIGNING_KEY_PEM"),
            (None, None) => crate::keyring::Keyring::load_or_generate(&self.data_dir),
        }
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("provenance.db").display()))
    }

    /// The effective configuration as TOML, with secrets and URL passwords redacted.
    pub fn redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = Some(redact_url(&self.database_url()));
        shown.amqp_url = self.amqp_url.as_deref().map(redact_url);
        shown.redis_url = self.redis_url.as_deref().map(redact_url);
        let mut text = toml_string(&shown);
        let bootstrap = if self.bootstrap_admin_key.as_ref().is_some_and(|k| !k.expose_secret().is_empty()) {
            "\"[redacted]\""
        } else {
            "(unset)"
        };
        text.push_str(&format!("# bootstrap_admin_key = {bootstrap}\n"));
        if self.signing_key_pem.as_ref().is_some_and(|k| !k.expose_secret().trim().is_empty()) {
            text.push_str("# signing_key_pem = \"[redacted]\"\n");
        }
        text
    }
}

fn toml_string(settings: &Settings) -> String {
    // figment has no TOML writer; JSON → TOML through serde keeps every key.
    let value = serde_json::to_value(settings).unwrap_or_default();
    let mut out = String::new();
    let mut tables = String::new();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            match v {
                serde_json::Value::Null => out.push_str(&format!("# {k} = (unset)\n")),
                serde_json::Value::Object(inner) => {
                    tables.push_str(&format!("\n[{k}]\n"));
                    for (ik, iv) in inner {
                        tables.push_str(&format!("{ik} = {iv}\n"));
                    }
                }
                other => out.push_str(&format!("{k} = {other}\n")),
            }
        }
    }
    out + &tables
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let Some((userinfo, host)) = rest.split_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_redacted() {
        assert_eq!(redact_url("postgres://app:hunter2@db:5432/x"), "postgres://app:***@db:5432/x");
        assert_eq!(redact_url("sqlite://./data/p.db"), "sqlite://./data/p.db");
    }

    #[test]
    fn flags_override_the_defaults() {
        let s = Settings::load(
            None,
            &Overrides {
                data_dir: Some("/tmp/x".into()),
                http_listen: Some("127.0.0.1:0".parse().unwrap()),
                grpc_listen: None,
            },
        )
        .unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(s.http_listen.port(), 0);
        assert_eq!(s.database_url(), "sqlite:///tmp/x/provenance.db");
    }

    #[test]
    fn a_config_file_sets_nested_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, "http_listen = \"127.0.0.1:9999\"\n[limits]\nmax_changed_lines = 10\n").unwrap();
        let s = Settings::load(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(s.http_listen.port(), 9999);
        assert_eq!(s.limits.max_changed_lines, 10);
        assert_eq!(s.limits.max_files, IngestLimits::default().max_files);
    }

    #[test]
    fn the_printed_config_never_shows_the_bootstrap_key() {
        let s = Settings { bootstrap_admin_key: Some(SecretString::from("pvn_secret")), ..Default::default() };
        let text = s.redacted_toml();
        assert!(!text.contains("pvn_secret"));
        assert!(text.contains("[redacted]"));
    }

    #[test]
    fn the_signing_key_can_come_as_pem_text_with_the_same_identity_as_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let generated = crate::keyring::Keyring::load_or_generate(dir.path()).unwrap();
        let file = dir.path().join("keys").join("signing-key.pem");
        let pem = std::fs::read_to_string(&file).unwrap();

        let from_text = Settings { signing_key_pem: Some(SecretString::from(pem.clone())), ..Default::default() };
        assert_eq!(from_text.keyring().unwrap().current().keyid, generated.current().keyid);
        let text = from_text.redacted_toml();
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        assert!(text.contains("signing_key_pem = \"[redacted]\""));

        let both = Settings { signing_key_file: Some(file), ..from_text };
        assert!(both.keyring().unwrap_err().to_string().contains("not both"));

        let garbage = Settings { signing_key_pem: Some(SecretString::from("nope")), ..Default::default() };
        let why = garbage.keyring().unwrap_err().to_string();
        assert!(why.contains("PROVENANCE_SIGNING_KEY_PEM") && why.contains("PKCS#8"), "{why}");
    }
}
