//! `provenance api-keys`: create, list and revoke API keys — directly in a local data dir's
//! database, or through a server's `/v1/api-keys` with an admin key.

use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use provenance_api::routes::api_keys::new_key_record;
use provenance_core::ApiKeyId;
use provenance_core::access::{Scope, Tier};
use provenance_store::{ConnectOptions, Migrations};
use serde_json::json;

use crate::client::{Client, resolve_api_key};
use crate::settings::{Overrides, Settings};
use provenance_api::bootstrap::default_tenant;

#[derive(Debug, Args)]
pub struct ApiKeysArgs {
    #[command(subcommand)]
    pub command: ApiKeysCommand,
    /// Manage keys through this server instead of the local data dir.
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// Admin API key for --server (default: the data dir's admin key).
    #[arg(long, global = true, env = "PROVENANCE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The data dir of an embedded installation.
    #[arg(long, global = true, env = "PROVENANCE_DATA_DIR", default_value = "./provenance-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Create a key and print its token (shown once).
    Create {
        #[arg(long, default_value = "cli")]
        name: String,
        /// Repeat for several scopes (default: analysis:write and analysis:read).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long, default_value = "standard")]
        tier: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id (`key_…`).
    Revoke { id: String },
    /// Print a fresh random key without storing it (e.g. for PROVENANCE_BOOTSTRAP_ADMIN_KEY).
    Mint,
}

pub async fn run(args: ApiKeysArgs) -> anyhow::Result<()> {
    if matches!(args.command, ApiKeysCommand::Mint) {
        println!("{}", provenance_core::access::mint_api_key(rand::random()).token);
        return Ok(());
    }
    match &args.server {
        Some(server) => via_server(server, &args).await,
        None => direct(&args).await,
    }
}

async fn via_server(server: &str, args: &ApiKeysArgs) -> anyhow::Result<()> {
    let client = Client::new(server, resolve_api_key(args.api_key.as_deref(), &args.data_dir))?;
    match &args.command {
        ApiKeysCommand::Create { name, scopes, tier } => {
            let mut body = json!({"name": name, "tier": tier});
            if !scopes.is_empty() {
                body["scopes"] = json!(scopes);
            }
            let (_, created) = client.post_json("/v1/api-keys", &body).await?;
            println!("{}", created["token"].as_str().context("no token in the response")?);
            eprintln!("created {} with scopes {}", created["id"], created["scopes"]);
        }
        ApiKeysCommand::List => {
            let list = client.get_json("/v1/api-keys").await?;
            println!("{}", serde_json::to_string_pretty(&list["items"])?);
        }
        ApiKeysCommand::Revoke { id } => {
            client.delete(&format!("/v1/api-keys/{id}")).await?;
            eprintln!("revoked {id}");
        }
        ApiKeysCommand::Mint => unreachable!("handled before choosing a target"),
    }
    Ok(())
}

async fn direct(args: &ApiKeysArgs) -> anyhow::Result<()> {
    let settings = Settings::load(None, &Overrides { data_dir: Some(args.data_dir.clone()), ..Default::default() })
        .map_err(|e| anyhow::anyhow!(e))?;
    let store =
        provenance_store::connect(&settings.database_url(), Migrations::Require, &ConnectOptions::default()).await?;
    let tenant = default_tenant();
    store.ensure_tenant(&tenant, "default").await?;
    match &args.command {
        ApiKeysCommand::Create { name, scopes, tier } => {
            let scopes = if scopes.is_empty() {
                vec![Scope::AnalysisWrite, Scope::AnalysisRead]
            } else {
                scopes
                    .iter()
                    .map(|s| Scope::parse(s).with_context(|| format!("unknown scope {s:?}")))
                    .collect::<anyhow::Result<_>>()?
            };
            let tier = Tier::parse(tier).with_context(|| format!("unknown tier {tier:?}"))?;
            let (record, token) = new_key_record(&tenant, name.clone(), scopes, tier, rand::random());
            store.insert_api_key(&record).await?;
            println!("{token}");
            eprintln!("created {}", record.id);
        }
        ApiKeysCommand::List => {
            for k in store.list_api_keys(&tenant).await? {
                let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}\t{}", k.id, k.name, scopes.join(","), k.tier.as_str(), state);
            }
        }
        ApiKeysCommand::Mint => unreachable!("handled before choosing a target"),
        ApiKeysCommand::Revoke { id } => {
            let id: ApiKeyId = id.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            if !store.revoke_api_key(&tenant, &id, Utc::now()).await? {
                bail!("no key {id}");
            }
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}
