//! Process plumbing shared by the three binaries (`provenance`, `provenance-api`,
//! `provenance-worker`): logs and traces (set up by [`crate::telemetry`]), the Prometheus
//! recorder, the shutdown signal, and the one-shot `migrate` and `healthcheck` commands of the
//! service binaries.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::Settings;

const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide metrics recorder; installed on first use, so many apps in one test process
/// share it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding program); then our
            // handle still renders what we record through it.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counters of one process that alerts watch with `increase()`, as (name, label, values): a
/// counter first exported at 1 has no earlier sample, so its first event would go unseen. These
/// are exported at 0 from the first scrape.
pub type KnownCounter = (&'static str, Option<(&'static str, &'static [&'static str])>);

/// The API's counters that the shipped alerts and dashboard read.
pub const API_COUNTERS: &[KnownCounter] = &[
    ("provenance_analyses_submitted_total", None),
    ("provenance_overrides_total", None),
    ("provenance_outbox_publish_failures_total", Some(("topic", &["analysis.jobs"]))),
];

/// The worker's counters that the shipped alerts and dashboard read.
pub const WORKER_COUNTERS: &[KnownCounter] = &[
    ("provenance_decisions_total", Some(("outcome", &["allow", "warn", "block"]))),
    ("provenance_jobs_dead_lettered_total", None),
    ("provenance_queue_redeliveries_total", None),
    ("provenance_stale_jobs_requeued_total", None),
    ("provenance_webhook_exhausted_total", None),
];

/// Export `counters` at 0. Recording 0 changes nothing already counted, so a second call (several
/// apps in one process) is harmless.
pub fn export_counters_at_zero(counters: &[KnownCounter]) {
    for (name, labels) in counters {
        match labels {
            None => metrics::counter!(*name).increment(0),
            Some((label, values)) => {
                for value in *values {
                    metrics::counter!(*name, *label => *value).increment(0);
                }
            }
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// The settings, or exit code 2 after saying what is wrong with them.
fn valid(name: &str, settings: Result<Settings, Box<figment::Error>>) -> Result<Settings, std::process::ExitCode> {
    settings.map_err(|e| {
        eprintln!("{name}: invalid configuration: {e}");
        std::process::ExitCode::from(2)
    })
}

/// The `main` of a service binary: report a bad configuration (exit 2), set up logs and traces
/// (service name `name`), install the metrics recorder, run `service` until SIGTERM/SIGINT cancels the token it is given,
/// export the last spans, and map its result to an exit code (errors are printed with their
/// causes; exit 1).
pub async fn run_service<F, Fut, E>(
    name: &str,
    settings: Result<Settings, Box<figment::Error>>,
    service: F,
) -> std::process::ExitCode
where
    F: FnOnce(Settings, tokio_util::sync::CancellationToken) -> Fut,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let settings = match valid(name, settings) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let telemetry = match crate::telemetry::init(name, &settings) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{name}: invalid configuration: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // The recorder before any work: until it is installed, metrics go nowhere (a worker would
    // lose everything it counted before its first scrape).
    metrics_handle();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight work");
        signal.cancel();
    });
    let result = service(settings, shutdown).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// A container health check: `GET /health/ready` on this process' own health address (an
/// unspecified address such as `0.0.0.0` is probed on loopback), answered `200` within `timeout`.
/// Plain blocking HTTP/1.1, so the check needs no shell or `curl` in the image.
pub fn probe_ready(addr: std::net::SocketAddr, timeout: std::time::Duration) -> Result<(), String> {
    use std::io::{Read, Write};

    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| format!("{addr}: {e}"))?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line.split_whitespace().nth(1).unwrap_or("no status");
    if status == "200" { Ok(()) } else { Err(format!("{addr}/health/ready answered {status}")) }
}

/// `<binary> migrate`: apply pending migrations and exit.
pub async fn migrate_only(name: &str, settings: Result<Settings, Box<figment::Error>>) -> std::process::ExitCode {
    let settings = match valid(name, settings) {
        Ok(s) => Settings { migrate: true, ..s },
        Err(code) => return code,
    };
    match settings.open_store().await {
        Ok(_) => {
            eprintln!("{name}: the database schema is up to date");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `<binary> healthcheck`: [`probe_ready`] on the address `addr` picks from the settings.
pub fn healthcheck(
    name: &str,
    settings: Result<Settings, Box<figment::Error>>,
    addr: impl FnOnce(&Settings) -> std::net::SocketAddr,
) -> std::process::ExitCode {
    let settings = match valid(name, settings) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match probe_ready(addr(&settings), std::time::Duration::from_secs(3)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: not ready: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
