//! Logs and traces of every process (SPEC §8), one `tracing` subscriber for both: log lines
//! (text or JSON, filtered by `RUST_LOG`) and OpenTelemetry spans with real W3C ids.
//!
//! Spans always get trace and span ids from the SDK (sampled parent-based, always on), so trace
//! context crosses the queue and HTTP even when no collector is configured; with
//! `PROVENANCE_OTLP_ENDPOINT` set, a batch exporter also sends them there over OTLP/gRPC.

use std::io::IsTerminal;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::{LogFormat, Settings};

/// The log filter when `RUST_LOG` is unset.
const LOG_FILTER: &str = "info,sqlx=warn,tower_http=warn,lapin=warn,amq_protocol=warn";
/// Which spans become OpenTelemetry spans. Fixed rather than `RUST_LOG`, so quieter logs never
/// break a trace; the exporter's own HTTP/2 stack is left out so exporting is not traced.
const TRACE_FILTER: &str = "info,sqlx=warn,tower_http=warn,lapin=warn,amq_protocol=warn,h2=off,hyper=off,tonic=off,tower=off,opentelemetry=off";
/// How long an export may take before it is abandoned (a collector that is down must not hold up
/// the batch queue for long; spans beyond the queue are dropped, never the request).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for the last spans to be exported.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// Not a `source`: the message says it all, and a cause chain would say it twice.
    #[error("PROVENANCE_OTLP_ENDPOINT: {0}")]
    Exporter(opentelemetry_otlp::ExporterBuildError),
}

/// The tracer provider of this process. [`Telemetry::shutdown`] exports the spans still queued.
#[derive(Debug, Clone)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Spans of `service` (`provenance-api`, `provenance-worker`, `provenance`), exported to
    /// `otlp_endpoint` (`http://collector:4317`) when given. With an endpoint this must run inside
    /// a Tokio runtime: the gRPC exporter sends from it.
    pub fn new(service: &str, otlp_endpoint: Option<&str>) -> Result<Self, TelemetryError> {
        let resource = Resource::builder()
            .with_service_name(service.to_string())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let mut builder = SdkTracerProvider::builder()
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
            .with_resource(resource);
        if let Some(endpoint) = otlp_endpoint.map(str::trim).filter(|e| !e.is_empty()) {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(EXPORT_TIMEOUT)
                .build()
                .map_err(TelemetryError::Exporter)?;
            builder = builder.with_batch_exporter(exporter);
        }
        Ok(Self { provider: builder.build() })
    }

    /// The layer that gives `tracing` spans their OpenTelemetry context (and exports them).
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("provenance"))
            .with_filter(EnvFilter::new(TRACE_FILTER))
    }

    /// Export the spans ended so far; blocks until they are sent (tests; shutdown does it too).
    pub fn flush(&self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::warn!(error = %e, "exporting spans failed");
        }
    }

    /// Export what is still queued (within 5 s) and stop exporting.
    pub async fn shutdown(self) {
        // Blocking: the batch processor's thread exports through this runtime meanwhile.
        let provider = self.provider;
        let done = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT)).await;
        if let Ok(Err(e)) = done {
            eprintln!("exporting the last spans failed: {e}");
        }
    }
}

/// Set up this process' logs and traces (see the module docs) and the W3C propagator. A second
/// call in one process keeps the first subscriber; its [`Telemetry`] then exports nothing.
pub fn init(service: &str, settings: &Settings) -> Result<Telemetry, TelemetryError> {
    let telemetry = Telemetry::new(service, settings.otlp_endpoint.as_deref())?;

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(LOG_FILTER));
    let format =
        settings.log_format.unwrap_or(if std::io::stderr().is_terminal() { LogFormat::Text } else { LogFormat::Json });
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Text => logs.boxed(),
        // Each line carries its spans' fields, among them the `trace_id` of the request and job
        // spans, so a log line leads to its trace.
        LogFormat::Json => logs.json().boxed(),
    };
    if Registry::default().with(logs.with_filter(filter)).with(telemetry.layer()).try_init().is_ok() {
        // For libraries that trace through the globals.
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(telemetry.provider.clone());
    }
    Ok(telemetry)
}
