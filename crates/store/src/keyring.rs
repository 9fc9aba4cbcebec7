//! The signing keyring on disk (SPEC §5 Keys): the current Ed25519 key as PKCS#8 PEM, and every
//! public key ever used (current and retired) in `keyring.json`, so old bundles still verify.
//!
//! Layout under the data dir: `keys/` (mode 0700) holding `signing-key.pem` (mode 0600) and
//! `keyring.json`. Every file is written to a temporary file and renamed into place.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use provenance_core::dsse::{decode_base64, key_id};
use serde::{Deserialize, Serialize};

pub const KEYS_DIR: &str = "keys";
pub const SIGNING_KEY_FILE: &str = "signing-key.pem";
pub const KEYRING_FILE: &str = "keyring.json";
pub const ALGORITHM: &str = "ed25519";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid {expected}: {reason}", path.display())]
    Malformed { path: PathBuf, expected: &'static str, reason: String },
    #[error("not a public key: {0} (expected an SPKI PEM or the base64 of the raw 32-byte Ed25519 key)")]
    InvalidPublicKey(String),
    #[error("cannot encode the key: {0}")]
    Encoding(String),
    #[error("{0}")]
    Conflict(&'static str),
}

/// A public key as listed by `GET /v1/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyInfo {
    /// Lower-case hex sha256 of the raw 32-byte public key.
    pub keyid: String,
    pub algorithm: String,
    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub public_key_pem: String,
    /// Standard base64 of the raw 32-byte public key.
    pub public_key_base64: String,
    pub valid_from: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
}

impl PublicKeyInfo {
    pub fn of(key: &VerifyingKey, valid_from: DateTime<Utc>) -> Result<Self, KeyringError> {
        Ok(Self {
            keyid: key_id(key),
            algorithm: ALGORITHM.to_string(),
            public_key_pem: key.to_public_key_pem(LineEnding::LF).map_err(|e| KeyringError::Encoding(e.to_string()))?,
            public_key_base64: STANDARD.encode(key.as_bytes()),
            valid_from,
            retired_at: None,
        })
    }

    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyringError> {
        parse_public_key(&self.public_key_pem)
    }
}

/// `keyring.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct KeyringFile {
    keys: Vec<PublicKeyInfo>,
}

/// The current signing key and every public key that verifies our bundles.
pub struct Keyring {
    signing_key: SigningKey,
    /// Oldest first; exactly one (the current) without `retired_at`.
    keys: Vec<PublicKeyInfo>,
    current: usize,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("Keyring").field("current", &self.current().keyid).field("keys", &self.keys.len()).finish()
    }
}

impl Keyring {
    /// The keyring of the data dir, generating the signing key on first start.
    pub fn load_or_generate(data_dir: &Path) -> Result<Self, KeyringError> {
        let dir = keys_dir(data_dir)?;
        let key_path = dir.join(SIGNING_KEY_FILE);
        let signing_key = if key_path.exists() {
            read_signing_key(&key_path)?
        } else {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            write_signing_key(&key_path, &key)?;
            key
        };
        Self::with_keyring_file(signing_key, &dir.join(KEYRING_FILE))
    }

    /// A configured key file (PKCS#8 PEM). A file that cannot be read or parsed is an error naming
    /// it: the service must not start unsigned.
    pub fn load_file(path: &Path) -> Result<Self, KeyringError> {
        let signing_key = read_signing_key(path)?;
        let valid_from = fs::metadata(path)
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from)
            .unwrap_or_else(|_| Utc::now())
            .trunc_subsecs(0);
        let info = PublicKeyInfo::of(&signing_key.verifying_key(), valid_from)?;
        Ok(Self { signing_key, keys: vec![info], current: 0 })
    }

    /// The keyring of one private key given as PKCS#8 PEM text (`PROVENANCE_SIGNING_KEY_PEM`),
    /// for platforms that pass secrets as variables rather than files. `source` names where it
    /// came from in errors.
    pub fn from_pem(pem: &str, source: &str) -> Result<Self, KeyringError> {
        let signing_key = parse_signing_key(pem, Path::new(source))?;
        let info = PublicKeyInfo::of(&signing_key.verifying_key(), Utc::now().trunc_subsecs(0))?;
        Ok(Self { signing_key, keys: vec![info], current: 0 })
    }

    /// Make a new current key; the previous one stays listed, retired now. Without a key yet,
    /// this generates the first one.
    pub fn rotate(data_dir: &Path) -> Result<PublicKeyInfo, KeyringError> {
        let dir = keys_dir(data_dir)?;
        if !dir.join(SIGNING_KEY_FILE).exists() {
            return Ok(Self::load_or_generate(data_dir)?.current().clone());
        }
        let old = Self::load_or_generate(data_dir)?;
        let new_key = SigningKey::generate(&mut rand::rngs::OsRng);
        // Key first, then the list: if we stop in between, loading lists the new key and retires
        // the rest (see `with_keyring_file`), so the keyring heals itself.
        write_signing_key(&dir.join(SIGNING_KEY_FILE), &new_key)?;
        let now = Utc::now().trunc_subsecs(3);
        let mut keys = old.keys;
        for k in keys.iter_mut().filter(|k| k.retired_at.is_none()) {
            k.retired_at = Some(now);
        }
        let info = PublicKeyInfo::of(&new_key.verifying_key(), now)?;
        keys.push(info.clone());
        write_keyring_file(&dir.join(KEYRING_FILE), &KeyringFile { keys })?;
        Ok(info)
    }

    /// Join the signing key with the listed public keys: the signing key is listed and current,
    /// every other key is retired. Writes the file back when that changed anything.
    fn with_keyring_file(signing_key: SigningKey, path: &Path) -> Result<Self, KeyringError> {
        let mut file = read_keyring_file(path)?;
        let before = serde_json::to_string(&file.keys).ok();
        let now = Utc::now().trunc_subsecs(3);
        let keyid = key_id(&signing_key.verifying_key());
        let current = match file.keys.iter().position(|k| k.keyid == keyid) {
            Some(i) => i,
            None => {
                file.keys.push(PublicKeyInfo::of(&signing_key.verifying_key(), now)?);
                file.keys.len() - 1
            }
        };
        for (i, k) in file.keys.iter_mut().enumerate() {
            if i == current {
                k.retired_at = None;
            } else if k.retired_at.is_none() {
                k.retired_at = Some(now);
            }
        }
        if serde_json::to_string(&file.keys).ok() != before {
            write_keyring_file(path, &file)?;
        }
        Ok(Self { signing_key, keys: file.keys, current })
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.signing_key
    }

    pub fn current(&self) -> &PublicKeyInfo {
        &self.keys[self.current]
    }

    /// Every key, current and retired, oldest first.
    pub fn public_keys(&self) -> &[PublicKeyInfo] {
        &self.keys
    }

    /// Every key that verifies our bundles (retired ones included). A listed key that no longer
    /// parses is skipped, so it cannot stop verification with the others.
    pub fn verifying_keys(&self) -> Vec<VerifyingKey> {
        self.keys.iter().filter_map(|k| k.verifying_key().ok()).collect()
    }
}

/// A public key given by a user: SPKI PEM (`-----BEGIN PUBLIC KEY-----`), or base64 (standard or
/// URL-safe, padded or not) of the raw 32 bytes or of the DER SubjectPublicKeyInfo.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, KeyringError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(text).map_err(|e| KeyringError::InvalidPublicKey(e.to_string()));
    }
    let bytes = decode_base64(text).ok_or_else(|| KeyringError::InvalidPublicKey("not PEM or base64".into()))?;
    match <[u8; 32]>::try_from(bytes.as_slice()) {
        Ok(raw) => VerifyingKey::from_bytes(&raw).map_err(|e| KeyringError::InvalidPublicKey(e.to_string())),
        Err(_) => VerifyingKey::from_public_key_der(&bytes).map_err(|_| {
            KeyringError::InvalidPublicKey(format!("{} bytes, expected 32 or an SPKI document", bytes.len()))
        }),
    }
}

/// `data_dir/keys`, created with mode 0700.
fn keys_dir(data_dir: &Path) -> Result<PathBuf, KeyringError> {
    let dir = data_dir.join(KEYS_DIR);
    fs::create_dir_all(&dir).map_err(|source| KeyringError::Io { action: "create", path: dir.clone(), source })?;
    set_mode(&dir, 0o700)?;
    Ok(dir)
}

fn read_signing_key(path: &Path) -> Result<SigningKey, KeyringError> {
    let pem = fs::read_to_string(path).map_err(|source| KeyringError::Io {
        action: "read the signing key",
        path: path.to_path_buf(),
        source,
    })?;
    parse_signing_key(&pem, path)
}

fn parse_signing_key(pem: &str, path: &Path) -> Result<SigningKey, KeyringError> {
    SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyringError::Malformed {
        path: path.to_path_buf(),
        expected: "PKCS#8 PEM Ed25519 private key",
        reason: e.to_string(),
    })
}

fn write_signing_key(path: &Path, key: &SigningKey) -> Result<(), KeyringError> {
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyringError::Encoding(e.to_string()))?;
    write_atomically(path, pem.as_bytes(), 0o600)
}

fn read_keyring_file(path: &Path) -> Result<KeyringFile, KeyringError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| KeyringError::Malformed {
            path: path.to_path_buf(),
            expected: "keyring",
            reason: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeyringFile::default()),
        Err(source) => Err(KeyringError::Io { action: "read", path: path.to_path_buf(), source }),
    }
}

fn write_keyring_file(path: &Path, file: &KeyringFile) -> Result<(), KeyringError> {
    let mut json = serde_json::to_vec_pretty(file).map_err(|e| KeyringError::Encoding(e.to_string()))?;
    json.push(b'\n');
    write_atomically(path, &json, 0o644)
}

/// Write to a sibling temporary file created with `mode`, flush it to disk, and rename it over
/// `path`: readers see the old file or the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyringError> {
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("key");
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let io = |action: &'static str, p: &Path| {
        let p = p.to_path_buf();
        move |source| KeyringError::Io { action, path: p, source }
    };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let mut f = options.open(&tmp).map_err(io("create", &tmp))?;
    // The mode above only applies to a new file; a leftover temporary file keeps its own.
    set_mode(&tmp, mode)?;
    f.write_all(bytes).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("write", &tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io("replace", path))?;
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), KeyringError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| KeyringError::Io {
        action: "set permissions of",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), KeyringError> {
    Ok(())
}
