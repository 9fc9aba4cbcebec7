//! The fast path for `Idempotency-Key` (SPEC §2): the first response to a keyed submission, kept
//! in Redis so a repeat is answered without a database round trip. The database stays the record
//! (and the arbiter of races); this cache is best effort: every error is a miss, and nothing here
//! ever fails a request.
//!
//! Keys are `pvn:idem:<tenant>:<hex sha256 of the client's key>` — hashing makes arbitrary client
//! bytes safe and bounds the key length. Values are [`CachedSubmission`] as JSON, written with
//! `SET … NX PX` so the first answer wins and expires on its own (24 h in the spec). Callers must
//! compare `request_sha256` with the repeat's digest and treat a mismatch as a key reuse with a
//! different request (the same rule as the database path).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ratelimit::link::RedisLink;

/// Prefix of every cache key.
pub const KEY_PREFIX: &str = "pvn:idem:";
/// How long one cache round trip may take before it counts as a miss.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(100);

/// The first response to a keyed submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedSubmission {
    /// Digest of the request the key was first used with.
    pub request_sha256: String,
    pub analysis_id: String,
    pub status_code: u16,
    /// The JSON body first returned.
    pub body: String,
}

/// See the module documentation. Disabled (every `get` a miss, `put` a no-op) without Redis.
#[derive(Debug, Clone)]
pub struct IdempotencyCache {
    link: Option<RedisLink>,
}

impl IdempotencyCache {
    /// No cache: the database path answers every repeat.
    pub fn disabled() -> Self {
        Self { link: None }
    }

    /// A cache in the Redis at `url`. Only the URL is checked; nothing waits for Redis.
    pub fn redis(url: &str) -> Result<Self, deadpool_redis::redis::RedisError> {
        let link = RedisLink::new(url, "idempotency cache")?;
        link.warm_up();
        Ok(Self { link: Some(link) })
    }

    /// `Some(url)` → [`Self::redis`], `None` → [`Self::disabled`].
    pub fn from_url(url: Option<&str>) -> Result<Self, deadpool_redis::redis::RedisError> {
        url.map_or_else(|| Ok(Self::disabled()), Self::redis)
    }

    pub fn is_enabled(&self) -> bool {
        self.link.is_some()
    }

    /// The Redis key for a tenant's client-supplied idempotency key.
    pub fn cache_key(tenant: &str, key: &str) -> String {
        format!("{KEY_PREFIX}{tenant}:{}", hex::encode(Sha256::digest(key.as_bytes())))
    }

    /// The cached first response, if any. Any error (Redis down, slow, corrupt value) is a miss.
    pub async fn get(&self, tenant: &str, key: &str) -> Option<CachedSubmission> {
        let link = self.link.as_ref()?;
        let cache_key = Self::cache_key(tenant, key);
        let raw = link
            .run(REDIS_TIMEOUT, |mut conn| {
                let cache_key = cache_key.clone();
                async move {
                    deadpool_redis::redis::cmd("GET").arg(&cache_key).query_async::<Option<String>>(&mut conn).await
                }
            })
            .await;
        match raw {
            Ok(Some(json)) => match serde_json::from_str(&json) {
                Ok(value) => Some(value),
                Err(e) => {
                    tracing::warn!(error = %e, key = %cache_key, "undecodable idempotency cache entry; ignoring it");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(error = ?e, "idempotency cache lookup failed; treating as a miss");
                None
            }
        }
    }

    /// Remember the first response for `ttl` unless one is already stored (`SET NX PX`): the
    /// first answer wins. Errors are logged and ignored.
    pub async fn put(&self, tenant: &str, key: &str, value: &CachedSubmission, ttl: Duration) {
        let Some(link) = &self.link else { return };
        let json = match serde_json::to_string(value) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(error = %e, "could not encode an idempotency cache entry");
                return;
            }
        };
        let cache_key = Self::cache_key(tenant, key);
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let outcome = link
            .run(REDIS_TIMEOUT, |mut conn| async move {
                // Nil when the key already existed (NX): not an error.
                deadpool_redis::redis::cmd("SET")
                    .arg(&cache_key)
                    .arg(json)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            })
            .await;
        if let Err(e) = outcome {
            tracing::debug!(error = ?e, "idempotency cache write failed; ignored (the database is the record)");
        }
    }
}
