//! `provenance-api`: the REST API of distributed mode. Configuration: `--config FILE` (TOML) and
//! `PROVENANCE_*` variables; see the README.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use provenance_store::config::{Overrides, Settings};
use provenance_store::process::run_service;

/// mimalloc: the services allocate per request and per job, and glibc malloc was a fifth of
/// their CPU time in the round-trip benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let settings = Settings::load(args.config.as_deref(), &overrides).map(|mut s| {
        s.migrate |= args.migrate;
        s
    });
    run_service("provenance-api", settings, provenance_api::startup::run).await
}
