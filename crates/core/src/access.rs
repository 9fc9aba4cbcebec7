//! API keys and scopes (SPEC §8). A key is `pvn_<id>_<secret>`; only the sha256 of the secret is
//! stored, and a presented secret is compared in constant time.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::id::ApiKeyId;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    #[serde(rename = "analysis:write")]
    AnalysisWrite,
    #[serde(rename = "analysis:read")]
    AnalysisRead,
    #[serde(rename = "policy:write")]
    PolicyWrite,
    #[serde(rename = "webhooks:write")]
    WebhooksWrite,
    #[serde(rename = "override")]
    Override,
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 6] =
        [Self::AnalysisWrite, Self::AnalysisRead, Self::PolicyWrite, Self::WebhooksWrite, Self::Override, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AnalysisWrite => "analysis:write",
            Self::AnalysisRead => "analysis:read",
            Self::PolicyWrite => "policy:write",
            Self::WebhooksWrite => "webhooks:write",
            Self::Override => "override",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Whether a key holding `held` may act with `needed` (`admin` may do everything).
pub fn grants(held: &[Scope], needed: Scope) -> bool {
    held.iter().any(|s| *s == needed || *s == Scope::Admin)
}

/// Rate-limit tier of a key (SPEC §8 defaults per minute).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    #[default]
    Standard,
    Premium,
    Admin,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Premium => "premium",
            Self::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Standard, Self::Premium, Self::Admin].into_iter().find(|v| v.as_str() == s)
    }
}

/// A newly minted key: the plaintext token is shown once; only `secret_sha256` is stored.
#[derive(Debug, Clone)]
pub struct MintedKey {
    pub id: ApiKeyId,
    pub token: String,
    pub secret_sha256: String,
}

/// Mint a key from 32 random bytes supplied by the caller (core does no I/O, randomness
/// included).
pub fn mint_api_key(random: [u8; 32]) -> MintedKey {
    let id = ApiKeyId::generate();
    let secret = hex::encode(random);
    MintedKey { token: format!("pvn_{id}_{secret}"), secret_sha256: hash_secret(&secret), id }
}

/// Split a presented token into its key id and secret, or `None` if it is not one of ours.
pub fn parse_token(token: &str) -> Option<(ApiKeyId, &str)> {
    let rest = token.trim().strip_prefix("pvn_")?;
    let (id, secret) = rest.rsplit_once('_')?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((id.parse().ok()?, secret))
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time check of a presented secret against the stored hash.
pub fn secret_matches(secret: &str, stored_sha256_hex: &str) -> bool {
    let presented = Sha256::digest(secret.as_bytes());
    let Ok(stored) = hex::decode(stored_sha256_hex) else { return false };
    stored.len() == presented.len() && constant_time_eq(&presented, &stored)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Fold with OR so the time does not depend on where the first difference is.
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_parses_back_and_matches_its_hash() {
        let k = mint_api_key([7; 32]);
        let (id, secret) = parse_token(&k.token).unwrap();
        assert_eq!(id, k.id);
        assert!(secret_matches(secret, &k.secret_sha256));
        assert!(!secret_matches(&"0".repeat(64), &k.secret_sha256));
    }

    #[test]
    fn foreign_tokens_are_not_parsed() {
        assert!(parse_token("Bearer abc").is_none());
        assert!(parse_token("pvn_key_01JDQ7Z4V3K8M2N5P6R7S8T9VW_short").is_none());
        assert!(parse_token("").is_none());
    }

    #[test]
    fn admin_grants_every_scope() {
        assert!(grants(&[Scope::Admin], Scope::Override));
        assert!(grants(&[Scope::AnalysisRead], Scope::AnalysisRead));
        assert!(!grants(&[Scope::AnalysisRead], Scope::AnalysisWrite));
    }
}
