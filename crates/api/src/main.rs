//! `provenance-api`: the REST API of distributed mode. Configuration: `--config FILE` (TOML) and
//! `PROVENANCE_*` variables; see the README.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use provenance_store::config::{Overrides, Settings};
use provenance_store::process::{init_logging, shutdown_signal};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(name = "provenance-api", version, about = "Provenance REST API (distributed mode)")]
struct Args {
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Apply pending database migrations before serving.
    #[arg(long)]
    migrate: bool,
    /// REST listen address (overrides PROVENANCE_HTTP_LISTEN).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let overrides = Overrides { http_listen: args.listen, ..Default::default() };
    let mut settings = match Settings::load(args.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    settings.migrate |= args.migrate;
    init_logging(settings.log_format);
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        signal.cancel();
    });
    match provenance_api::startup::run(settings, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
