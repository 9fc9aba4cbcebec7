//! Signing secrets in the forms Standard Webhooks shows to people: `whsec_` + base64 for the
//! symmetric HMAC secret, `whsk_` / `whpk_` + base64 for an Ed25519 secret and public key.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{SigningKey, VerifyingKey};

const SECRET_PREFIX: &str = "whsec_";
const SIGNING_KEY_PREFIX: &str = "whsk_";
const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// The standard asks for at least 24 random bytes (192 bits) and at most 512 bits.
const MIN_SECRET_LEN: usize = 24;
const MAX_SECRET_LEN: usize = 64;

/// Why a secret or key string was refused. The messages never repeat the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// What follows the prefix is not standard (padded) base64.
    #[error("the {kind} is not standard base64 after its `{prefix}` prefix")]
    NotBase64 { kind: &'static str, prefix: &'static str },
    /// The decoded bytes have the wrong length for this kind of key.
    #[error("the {kind} decodes to {found} bytes; {expected}")]
    Length { kind: &'static str, found: usize, expected: &'static str },
    /// The bytes have the right length but are not a valid Ed25519 key (or key pair).
    #[error("the {kind} is not a valid Ed25519 key")]
    InvalidKey { kind: &'static str },
}

/// An endpoint's symmetric signing secret: 24–64 random bytes, shown once as `whsec_<base64>`.
///
/// `Display` gives the `whsec_` form (for the one time it is shown and for storage); `Debug`
/// never prints it, so a secret inside a logged struct stays out of the logs.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// A new secret from 32 random bytes the caller drew from a CSPRNG.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(bytes.to_vec())
    }

    /// A secret as a person or the store gives it back: `whsec_<base64>` or the bare base64 (the
    /// official libraries accept both). It must decode to 24–64 bytes.
    pub fn parse(s: &str) -> Result<Self, SecretError> {
        const KIND: &str = "webhook secret";
        let encoded = s.strip_prefix(SECRET_PREFIX).unwrap_or(s);
        let bytes =
            STANDARD.decode(encoded).map_err(|_| SecretError::NotBase64 { kind: KIND, prefix: SECRET_PREFIX })?;
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&bytes.len()) {
            return Err(SecretError::Length { kind: KIND, found: bytes.len(), expected: "expected 24 to 64" });
        }
        Ok(Self(bytes))
    }

    /// The raw key bytes the HMAC is keyed with.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(whsec_<redacted>)")
    }
}

/// The Ed25519 public key an endpoint's consumer verifies `v1a` signatures with: `whpk_` + the
/// base64 of its 32 bytes.
pub fn public_key_whpk(key: &VerifyingKey) -> String {
    format!("{PUBLIC_KEY_PREFIX}{}", STANDARD.encode(key.as_bytes()))
}

/// The Ed25519 secret key in the standard's `whsk_` form: base64 of the 64-byte key pair (the
/// 32-byte seed then the 32-byte public key), as Svix, the standard's reference sender, writes it.
pub fn signing_key_whsk(key: &SigningKey) -> String {
    format!("{SIGNING_KEY_PREFIX}{}", STANDARD.encode(key.to_keypair_bytes()))
}

/// Reads a `whpk_` public key (prefix optional).
pub fn parse_whpk(s: &str) -> Result<VerifyingKey, SecretError> {
    const KIND: &str = "Ed25519 public key";
    let bytes = decode(s, PUBLIC_KEY_PREFIX, KIND)?;
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| SecretError::Length {
        kind: KIND,
        found: bytes.len(),
        expected: "expected 32",
    })?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| SecretError::InvalidKey { kind: KIND })
}

/// Reads a `whsk_` secret key (prefix optional): the standard's 64-byte key pair, whose public
/// half must match the seed, or a bare 32-byte seed as some libraries write it.
pub fn parse_whsk(s: &str) -> Result<SigningKey, SecretError> {
    const KIND: &str = "Ed25519 secret key";
    let bytes = decode(s, SIGNING_KEY_PREFIX, KIND)?;
    if let Ok(pair) = <[u8; 64]>::try_from(bytes.as_slice()) {
        return SigningKey::from_keypair_bytes(&pair).map_err(|_| SecretError::InvalidKey { kind: KIND });
    }
    if let Ok(seed) = <[u8; 32]>::try_from(bytes.as_slice()) {
        return Ok(SigningKey::from_bytes(&seed));
    }
    Err(SecretError::Length { kind: KIND, found: bytes.len(), expected: "expected 64 (key pair) or 32 (seed)" })
}

fn decode(s: &str, prefix: &'static str, kind: &'static str) -> Result<Vec<u8>, SecretError> {
    STANDARD.decode(s.strip_prefix(prefix).unwrap_or(s)).map_err(|_| SecretError::NotBase64 { kind, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The secret of the official libraries' own test vectors.
    const OFFICIAL: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

    #[test]
    fn a_random_secret_displays_as_whsec_and_parses_back() {
        let secret = WebhookSecret::from_random([7; 32]);
        let shown = secret.to_string();
        assert!(shown.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&shown), Ok(secret.clone()));
        assert_eq!(secret.as_bytes(), &[7; 32]);
    }

    #[test]
    fn a_secret_parses_with_or_without_its_prefix() {
        let with = WebhookSecret::parse(OFFICIAL);
        let without = WebhookSecret::parse(OFFICIAL.trim_start_matches("whsec_"));
        assert!(with.is_ok());
        assert_eq!(with, without);
        assert_eq!(with.map(|s| s.as_bytes().len()), Ok(24));
    }

    #[test]
    fn secrets_outside_24_to_64_bytes_or_not_base64_are_refused() {
        let short = format!("whsec_{}", STANDARD.encode([1u8; 23]));
        let long = format!("whsec_{}", STANDARD.encode([1u8; 65]));
        assert!(matches!(WebhookSecret::parse(&short), Err(SecretError::Length { found: 23, .. })));
        assert!(matches!(WebhookSecret::parse(&long), Err(SecretError::Length { found: 65, .. })));
        assert!(WebhookSecret::parse(&format!("whsec_{}", STANDARD.encode([1u8; 64]))).is_ok());
        assert!(matches!(WebhookSecret::parse("whsec_not*base64"), Err(SecretError::NotBase64 { .. })));
        assert!(WebhookSecret::parse("").is_err());
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = WebhookSecret::from_random([9; 32]);
        let debug = format!("{secret:?} {:?}", Some(&secret));
        let encoded = STANDARD.encode([9u8; 32]);
        assert!(!debug.contains(&encoded), "{debug}");
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn error_messages_do_not_echo_the_input() {
        let err = WebhookSecret::parse("whsec_s3cr3t!!").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn ed25519_keys_round_trip_through_whsk_and_whpk() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let whsk = signing_key_whsk(&key);
        let whpk = public_key_whpk(&key.verifying_key());
        assert!(whsk.starts_with("whsk_"));
        assert!(whpk.starts_with("whpk_"));
        assert_eq!(STANDARD.decode(&whsk["whsk_".len()..]).map(|b| b.len()), Ok(64));
        assert_eq!(STANDARD.decode(&whpk["whpk_".len()..]).map(|b| b.len()), Ok(32));
        assert_eq!(parse_whsk(&whsk).map(|k| k.to_bytes()), Ok(key.to_bytes()));
        assert_eq!(parse_whpk(&whpk), Ok(key.verifying_key()));
    }

    #[test]
    fn a_whsk_may_be_a_bare_seed_but_not_a_mismatched_pair() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let seed_only = format!("whsk_{}", STANDARD.encode(key.to_bytes()));
        assert_eq!(parse_whsk(&seed_only).map(|k| k.verifying_key()), Ok(key.verifying_key()));

        let mut pair = key.to_keypair_bytes();
        pair[40] ^= 1;
        let mismatched = format!("whsk_{}", STANDARD.encode(pair));
        assert!(matches!(parse_whsk(&mismatched), Err(SecretError::InvalidKey { .. })));
        assert!(matches!(parse_whsk(&format!("whsk_{}", STANDARD.encode([1u8; 48]))), Err(SecretError::Length { .. })));
    }

    #[test]
    fn a_whpk_must_be_32_bytes_and_not_a_secret_in_disguise() {
        assert!(matches!(parse_whpk(&format!("whpk_{}", STANDARD.encode([1u8; 31]))), Err(SecretError::Length { .. })));
        let key = SigningKey::from_bytes(&[5; 32]);
        assert!(parse_whpk(&signing_key_whsk(&key)).is_err());
        assert!(parse_whsk(&public_key_whpk(&key.verifying_key())).is_err());
    }
}
