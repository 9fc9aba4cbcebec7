//! GCRA in Redis: one Lua script per request, atomic, on Redis' own clock.

use std::sync::Mutex;
use std::time::Duration;

use deadpool_redis::redis::{self, ErrorKind, ServerErrorKind, aio::MultiplexedConnection};

use super::{Quota, RateDecision, gcra};

/// Prefix of every bucket key.
pub const KEY_PREFIX: &str = "pvn:rl:";

/// `KEYS[1]` bucket; `ARGV[1]` emission interval T (µs); `ARGV[2]` burst.
/// Returns `{allowed (0|1), remaining, reset_after_us, retry_after_us}`.
///
/// The time comes from `TIME` on the Redis server, so API replicas with skewed clocks share one
/// timeline (Redis ≥ 5 replicates the script's effects, so calling `TIME` before a write is
/// allowed). The TAT is stored as an integer string with `%d`: Lua's `tostring` would print a
/// 16-digit microsecond timestamp in `%.14g` and lose precision (all values stay below 2^53, so
/// Lua's doubles hold them exactly). The key expires when the bucket is full again, so idle keys
/// cost nothing. Transcribes `gcra::step`.
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local dvt = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval
local ahead = new_tat - now
if ahead > dvt then
  return {0, 0, tat - now, ahead - dvt}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil(ahead / 1000))
return {1, math.floor((dvt - ahead) / interval), ahead, 0}
";

/// Runs [`SCRIPT`] by `EVALSHA`, learning its SHA-1 from `SCRIPT LOAD` the first time (no SHA-1
/// implementation among our dependencies) and falling back to `EVAL` on `NOSCRIPT` (e.g. after a
/// restart of a Redis without persistence), which also loads it again.
#[derive(Debug, Default)]
pub(crate) struct GcraScript {
    sha: Mutex<Option<String>>,
}

impl GcraScript {
    fn sha(&self) -> Option<String> {
        self.sha.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub(crate) async fn run(
        &self,
        mut conn: MultiplexedConnection,
        key: &str,
        quota: Quota,
    ) -> redis::RedisResult<RateDecision> {
        let redis_key = format!("{KEY_PREFIX}{key}");
        let interval = gcra::emission_interval_us(quota);
        let burst = gcra::burst(quota);
        let reply: Vec<i64> = match self.sha() {
            Some(sha) => {
                let result = redis::cmd("EVALSHA")
                    .arg(&sha)
                    .arg(1)
                    .arg(&redis_key)
                    .arg(interval)
                    .arg(burst)
                    .query_async(&mut conn)
                    .await;
                match result {
                    Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                        redis::cmd("EVAL")
                            .arg(SCRIPT)
                            .arg(1)
                            .arg(&redis_key)
                            .arg(interval)
                            .arg(burst)
                            .query_async(&mut conn)
                            .await?
                    }
                    other => other?,
                }
            }
            None => {
                // One round trip: load (to learn the SHA) and evaluate.
                let (sha, reply): (String, Vec<i64>) = redis::pipe()
                    .cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(SCRIPT)
                    .cmd("EVAL")
                    .arg(SCRIPT)
                    .arg(1)
                    .arg(&redis_key)
                    .arg(interval)
                    .arg(burst)
                    .query_async(&mut conn)
                    .await?;
                *self.sha.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(sha);
                reply
            }
        };
        decode(&reply, burst)
    }
}

fn decode(reply: &[i64], burst: u32) -> redis::RedisResult<RateDecision> {
    let &[allowed, remaining, reset_us, retry_us] = reply else {
        return Err(redis::RedisError::from((
            ErrorKind::UnexpectedReturnType,
            "unexpected reply from the rate-limit script",
            format!("{reply:?}"),
        )));
    };
    let us = |v: i64| Duration::from_micros(u64::try_from(v).unwrap_or(0));
    let allowed = allowed == 1;
    Ok(RateDecision {
        allowed,
        limit: burst,
        remaining: u32::try_from(remaining).unwrap_or(0).min(burst),
        reset_after: us(reset_us),
        retry_after: (!allowed).then(|| us(retry_us)),
    })
}
