//! `provenance keys`: show the signing keys of a data dir (public halves only) and rotate them.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use provenance_store::keyring::Keyring;

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
    #[arg(long, global = true, env = "PROVENANCE_DATA_DIR", default_value = "./provenance-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print the public keys (current and retired) as JSON, or the current one as PEM.
    Show {
        /// Print only the current public key, PEM-encoded (for `provenance verify --key`).
        #[arg(long)]
        pem: bool,
    },
    /// Generate a new signing key; the old one stays listed (retired) for verification. A
    /// running server signs with the new key after its next start.
    Rotate,
}

pub fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::Show { pem } => {
            let keyring = Keyring::load_or_generate(&args.data_dir)?;
            if pem {
                print!("{}", keyring.current().public_key_pem);
            } else {
                println!("{}", serde_json::to_string_pretty(keyring.public_keys())?);
            }
        }
        KeysCommand::Rotate => {
            let info = Keyring::rotate(&args.data_dir)?;
            println!("{}", serde_json::to_string_pretty(&info)?);
            eprintln!("new signing key {}; restart the server to sign with it", info.keyid);
        }
    }
    Ok(())
}
