use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use provenance_cli::settings::{Overrides, Settings};
use provenance_cli::{api_keys, attest, embedded, keys, scan, smoke, submit, verify};
use provenance_store::process::shutdown_signal;

/// mimalloc: the services allocate per request and per job, and glibc malloc was a fifth of
/// their CPU time in the round-trip benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Provenance: who wrote every changed line, what risk it carries, and whether it may merge —
/// signed so anyone can verify it offline.
#[derive(Debug, Parser)]
#[command(name = "provenance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the worker in one process on SQLite (embedded mode).
    Serve {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// REST and gRPC listen address (default 127.0.0.1:8080).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// A second listen address (e.g. 127.0.0.1:50051), for clients that want gRPC on a port
        /// of its own; gRPC is always served on --listen too.
        #[arg(long)]
        grpc_listen: Option<SocketAddr>,
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Submit a change set, wait for the decision, write SARIF and the signed bundle.
    Submit(submit::SubmitArgs),
    /// Verify a signed bundle offline and print its statement.
    Verify(verify::VerifyArgs),
    /// For agent runtimes: make a signing key, register it, sign the lines an agent wrote.
    Attest(attest::AttestArgs),
    /// Run the detectors on local files or a diff and print the findings (no server needed).
    Scan(scan::ScanArgs),
    /// Check a deployment end to end (health, detect, analysis, decision, bundle, SARIF) and
    /// print a JSON report with a root-cause hint; exit 0 only if every check passes.
    Smoke(smoke::SmokeArgs),
    /// Manage API keys.
    ApiKeys(api_keys::ApiKeysArgs),
    /// Show or rotate the signing keys.
    Keys(keys::KeysArgs),
    /// Apply pending database migrations (PROVENANCE_DATABASE_URL) and exit.
    Migrate {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Show the effective configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration, secrets redacted.
    Print {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Serve { data_dir, listen, grpc_listen, config } => {
            let overrides = Overrides { data_dir, http_listen: listen, grpc_listen };
            let settings = Settings::load(config.as_deref(), &overrides).map_err(|e| anyhow::anyhow!(e))?;
            let telemetry = provenance_store::telemetry::init("provenance", &settings)?;
            let served = serve(settings).await;
            telemetry.shutdown().await;
            served.map(|()| 0)
        }
        Command::Submit(args) => Ok(submit::run(args).await? as u8),
        Command::Verify(args) => verify::run(args).await.map(|()| 0),
        Command::Attest(args) => attest::run(args).await.map(|()| 0),
        // 1 means "findings at the threshold", so a scan that could not run exits 2.
        Command::Scan(args) => Ok(scan::run(args).unwrap_or_else(|e| {
            eprintln!("error: {e:#}");
            2
        })),
        Command::Smoke(args) => smoke::run(args).await,
        Command::ApiKeys(args) => api_keys::run(args).await.map(|()| 0),
        Command::Keys(args) => keys::run(args).map(|()| 0),
        Command::Migrate { data_dir, config } => {
            let overrides = Overrides { data_dir, ..Default::default() };
            let settings = Settings::load(config.as_deref(), &overrides).map_err(|e| anyhow::anyhow!(e))?;
            migrate(&settings).await?;
            Ok(0)
        }
        Command::Config { command: ConfigCommand::Print { config } } => {
            let settings = Settings::load(config.as_deref(), &Overrides::default()).map_err(|e| anyhow::anyhow!(e))?;
            print!("{}", settings.redacted_toml());
            Ok(0)
        }
    }
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    use provenance_store::{ConnectOptions, Migrations, StoreError};
    let url = settings.database_url();
    let shown = provenance_cli::settings::redact_url(&url);
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&settings.data_dir)?;
    }
    let options = ConnectOptions::default();
    match provenance_store::connect(&url, Migrations::Require, &options).await {
        Ok(_) => eprintln!("{shown}: the schema is up to date"),
        Err(StoreError::Unmigrated(pending)) => {
            provenance_store::connect(&url, Migrations::Apply, &options).await?;
            eprintln!("{shown}: applied {} migration(s): {}", pending.len(), pending.join(", "));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let server = embedded::start(&settings).await?;
    eprintln!("Provenance {} listening on {}", env!("CARGO_PKG_VERSION"), server.base_url());
    eprintln!("  API docs:    {}/docs", server.base_url());
    match server.grpc_addr {
        Some(addr) => eprintln!("  gRPC:        {} and {addr}", server.addr),
        None => eprintln!("  gRPC:        {} (with REST; reflection and health are on)", server.addr),
    }
    eprintln!("  data dir:    {}", settings.data_dir.display());
    eprintln!("  signing key: {}", server.keyring.current().keyid);
    match (&server.admin_key_file, server.admin_key_created) {
        (Some(path), true) => eprintln!("  admin API key created and written to {} (mode 0600)", path.display()),
        (Some(path), false) => eprintln!("  admin API key: {}", path.display()),
        (None, _) => eprintln!("  admin API key: from PROVENANCE_BOOTSTRAP_ADMIN_KEY"),
    }
    shutdown_signal().await;
    eprintln!("shutting down: finishing in-flight requests and jobs");
    server.stop().await
}
