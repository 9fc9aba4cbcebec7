//! `provenance-worker`: consumes analysis jobs (distributed mode). Configuration: `--config FILE`
//! (TOML) and `PROVENANCE_*` variables; see the README.

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
#[command(name = "provenance-worker", version, about = "Provenance job worker (distributed mode)")]
struct Args {
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Apply pending database migrations before starting.
    #[arg(long)]
    migrate: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let settings = Settings::load(args.config.as_deref(), &Overrides::default()).map(|mut s| {
        s.migrate |= args.migrate;
        s
    });
    run_service("provenance-worker", settings, provenance_worker::startup::run).await
}
