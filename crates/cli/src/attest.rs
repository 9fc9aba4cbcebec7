//! `provenance attest`: what an agent runtime needs to sign the lines it writes (SPEC §3, tier 1).
//!
//! - `keygen` makes an Ed25519 key (PKCS#8 PEM, readable only by its owner) and prints its
//!   public half;
//! - `register` registers the public half for an agent in the tenant's key registry;
//! - `sign` reads a submission payload and signs every added or modified line attributed to the
//!   agent over the context-bound message `provenance-line-v1\n{repo}\n{head_sha}\n{path}\n{line}\n
//!   {sha256(content)}`, putting the base64 signature in `attestation_signature`.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use provenance_core::attestation::sign_line;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::client::{Client, expect_status, resolve_api_key};

#[derive(Debug, Args)]
pub struct AttestArgs {
    #[command(subcommand)]
    pub command: AttestCommand,
}

#[derive(Debug, Subcommand)]
pub enum AttestCommand {
    /// Generate an agent signing key (PKCS#8 PEM, mode 0600) and print its public key.
    Keygen {
        /// Where to write the private key; refuses to overwrite.
        #[arg(long)]
        out: PathBuf,
    },
    /// Register the key's public half for an agent (needs an `admin` API key).
    Register {
        /// The agent id the key speaks for, e.g. `claude-code`.
        #[arg(long)]
        agent: String,
        /// The private key file from `keygen` (only its public half is sent).
        #[arg(long)]
        key: PathBuf,
        #[arg(long, env = "PROVENANCE_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        #[arg(long, env = "PROVENANCE_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        #[arg(long, env = "PROVENANCE_DATA_DIR", default_value = "./provenance-data")]
        data_dir: PathBuf,
    },
    /// Sign the lines of a submission payload attributed to an agent; print the signed payload.
    Sign {
        /// The agent whose lines to sign (lines whose `attribution.agent_id` is this).
        #[arg(long)]
        agent: String,
        /// The private key file from `keygen`.
        #[arg(long)]
        key: PathBuf,
        /// The payload (`POST /v1/analysis` JSON with `provenance_data.changed_lines`); `-` or
        /// absent reads standard input.
        #[arg(long)]
        payload: Option<PathBuf>,
    },
}

pub async fn run(args: AttestArgs) -> anyhow::Result<()> {
    match args.command {
        AttestCommand::Keygen { out } => {
            let key = SigningKey::from_bytes(&rand::random());
            write_private_key(&out, &key)?;
            println!("{}", STANDARD.encode(key.verifying_key().as_bytes()));
            eprintln!("wrote {}; register its public key with `provenance attest register`", out.display());
        }
        AttestCommand::Register { agent, key, server, api_key, data_dir } => {
            let key = read_private_key(&key)?;
            let client = Client::new(&server, resolve_api_key(api_key.as_deref(), &data_dir))?;
            let body = json!({"public_key": STANDARD.encode(key.verifying_key().as_bytes())});
            let (status, answer) = client.post_json(&format!("/v1/agents/{agent}/keys"), &body).await?;
            expect_status(status, &[StatusCode::CREATED, StatusCode::OK], &answer)?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
        }
        AttestCommand::Sign { agent, key, payload } => {
            let key = read_private_key(&key)?;
            let mut text = String::new();
            match payload.as_deref().filter(|p| *p != Path::new("-")) {
                Some(path) => {
                    text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
                }
                None => {
                    std::io::stdin().read_to_string(&mut text).context("reading the payload from standard input")?;
                }
            }
            let mut payload: Value = serde_json::from_str(&text).context("the payload is not JSON")?;
            let signed = sign_payload(&mut payload, &key, &agent)?;
            println!("{}", serde_json::to_string(&payload)?);
            eprintln!("signed {signed} line(s) of {agent}");
        }
    }
    Ok(())
}

/// Sign, in place, the added and modified lines of `payload` attributed to `agent`. Returns how
/// many were signed.
pub fn sign_payload(payload: &mut Value, key: &SigningKey, agent: &str) -> anyhow::Result<usize> {
    let repo = payload["repo"].as_str().context("the payload has no repo")?.to_string();
    // The server compares shas in lower case.
    let head = payload["head_sha"].as_str().context("the payload has no head_sha")?.to_ascii_lowercase();
    let Some(lines) = payload.pointer_mut("/provenance_data/changed_lines").and_then(Value::as_array_mut) else {
        bail!("the payload has no provenance_data.changed_lines to sign");
    };
    let mut signed = 0;
    for line in lines {
        let ours = line.pointer("/attribution/agent_id").and_then(Value::as_str) == Some(agent);
        let at_head = matches!(line["change_type"].as_str(), Some("added" | "modified"));
        if !(ours && at_head) {
            continue;
        }
        let (Some(path), Some(n)) = (line["file_path"].as_str(), line["line_number"].as_u64()) else {
            bail!("a line of {agent} has no file_path or line_number: {line}");
        };
        let n = u32::try_from(n).context("line_number out of range")?;
        let content = line["content"].as_str().unwrap_or_default();
        line["attestation_signature"] = Value::String(sign_line(key, &repo, &head, path, n, content));
        signed += 1;
    }
    Ok(signed)
}

fn write_private_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    use std::io::Write;
    let pem = key.to_pkcs8_pem(LineEnding::LF).context("encoding the key")?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| format!("creating {} (it must not exist)", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}

fn read_private_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    SigningKey::from_pkcs8_pem(&text).with_context(|| format!("{} is not an Ed25519 PKCS#8 PEM key", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_agents_lines_at_head_are_signed_over_their_own_place() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let mut payload = json!({"repo": "acme/shop", "head_sha": "ABCDEF12", "provenance_data": {"changed_lines": [
            {"file_path": "a.py", "line_number": 1, "change_type": "added", "content": "x", "attribution": {"agent_id": "claude-code"}},
            {"file_path": "a.py", "line_number": 2, "change_type": "deleted", "content": "y", "attribution": {"agent_id": "claude-code"}},
            {"file_path": "a.py", "line_number": 3, "change_type": "added", "content": "z", "attribution": {"agent_id": "cursor"}},
        ]}});
        assert_eq!(sign_payload(&mut payload, &key, "claude-code").unwrap(), 1);
        let lines = payload["provenance_data"]["changed_lines"].as_array().unwrap();
        assert_eq!(lines[0]["attestation_signature"], sign_line(&key, "acme/shop", "abcdef12", "a.py", 1, "x"));
        assert!(lines[1].get("attestation_signature").is_none());
        assert!(lines[2].get("attestation_signature").is_none());
    }

    #[test]
    fn a_generated_key_reads_back_and_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.key");
        let key = SigningKey::from_bytes(&[6; 32]);
        write_private_key(&path, &key).unwrap();
        assert_eq!(read_private_key(&path).unwrap().to_bytes(), key.to_bytes());
        assert!(write_private_key(&path, &key).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
