//! `provenance-worker`: consumes analysis jobs (distributed mode). Configuration: `--config FILE`
//! (TOML) and `PROVENANCE_*` variables; see the README.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use provenance_store::config::{Overrides, Settings};
use provenance_store::process::{healthcheck, migrate_only, run_service};

/// mimalloc: the services allocate per request and per job, and glibc malloc was a fifth of
/// their CPU time in the round-trip benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "provenance-worker", version, about = "Provenance job worker (distributed mode)")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Apply pending database migrations before starting.
    #[arg(long)]
    migrate: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply pending database migrations and exit (a one-shot job before the services start).
    Migrate,
    /// Exit 0 when this service's readiness probe answers 200 on its configured address (for
    /// container health checks; the images have no shell).
    Healthcheck,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let settings = Settings::load(args.config.as_deref(), &Overrides::default()).map(|mut s| {
        s.migrate |= args.migrate;
        s
    });
    match args.command {
        None => run_service("provenance-worker", settings, provenance_worker::startup::run).await,
        Some(Command::Migrate) => migrate_only("provenance-worker", settings).await,
        Some(Command::Healthcheck) => healthcheck("provenance-worker", settings, |s| s.worker.health_listen),
    }
}
