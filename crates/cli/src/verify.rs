//! `provenance verify`: check a bundle offline — the DSSE signature under a public key file, the
//! server's published keys, or both — and print the decision statement it carries.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use ed25519_dalek::VerifyingKey;
use provenance_core::dsse::Envelope;
use provenance_core::statement::{OpenedStatement, open_any};
use provenance_store::keyring::parse_public_key;

use crate::client::Client;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle (DSSE envelope JSON), e.g. `provenance-bundle.json`.
    pub bundle: PathBuf,
    /// Public key file: PEM (`-----BEGIN PUBLIC KEY-----`) or base64 of the raw 32 bytes.
    #[arg(long)]
    pub key: Vec<PathBuf>,
    /// Fetch the keys from a `GET /v1/keys` document at this URL.
    #[arg(long)]
    pub keys_url: Option<String>,
    /// Require the statement's subject to be this repository (`owner/name`).
    #[arg(long)]
    pub repo: Option<String>,
    /// Require the statement's subject to be this commit.
    #[arg(long)]
    pub sha: Option<String>,
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.bundle).with_context(|| format!("reading {}", args.bundle.display()))?;
    let envelope: Envelope =
        serde_json::from_str(&text).with_context(|| format!("{} is not a DSSE envelope", args.bundle.display()))?;
    let mut keys: Vec<VerifyingKey> = Vec::new();
    for path in &args.key {
        let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        keys.push(parse_public_key(&pem).with_context(|| format!("{} is not an Ed25519 public key", path.display()))?);
    }
    if let Some(url) = &args.keys_url {
        keys.extend(fetch_keys(url).await?);
    }
    if keys.is_empty() {
        bail!("no key to verify with: pass --key FILE or --keys-url URL");
    }
    let statement = open_any(&envelope, &keys).context("verification FAILED")?;
    statement
        .check_subject(args.repo.as_deref(), args.sha.as_deref())
        .map_err(|why| anyhow::anyhow!("verification FAILED: {why}"))?;
    let value = statement.to_value();
    let subject = statement.subject().first().map(|s| s.name.clone()).unwrap_or_default();
    let kind = match statement {
        OpenedStatement::Decision(_) => "decision",
        OpenedStatement::Override(_) => "override",
    };
    println!("{}", serde_json::to_string_pretty(&value)?);
    eprintln!(
        "verified: {kind} about {} — outcome {} (signed by key {})",
        subject,
        value["predicate"]["outcome"].as_str().unwrap_or("?"),
        envelope.signatures.first().map(|s| s.keyid.as_str()).unwrap_or("?")
    );
    Ok(())
}

async fn fetch_keys(url: &str) -> anyhow::Result<Vec<VerifyingKey>> {
    let (base, path) = match url.find("/v1/keys") {
        Some(i) => (&url[..i], &url[i..]),
        None => (url.trim_end_matches('/'), "/v1/keys"),
    };
    let doc = Client::new(base, None)?.get_json(path).await?;
    doc["keys"]
        .as_array()
        .context("the keys document has no `keys` list")?
        .iter()
        .map(|k| {
            let pem = k["public_key_pem"].as_str().context("a key has no public_key_pem")?;
            parse_public_key(pem).context("a published key is not an Ed25519 public key")
        })
        .collect()
}
