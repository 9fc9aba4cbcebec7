//! Rate limiting (SPEC §8) and the idempotency cache (SPEC §2).
//!
//! The in-memory tests run everywhere. The ones marked `needs services: Redis` use the Redis at
//! 127.0.0.1:6379 (override with `PROVENANCE_TEST_REDIS_URL`); each uses keys unique to the run so
//! tests never share buckets. None of them stops the server.

use std::sync::Arc;
use std::time::Duration;

use provenance_core::access::Tier;
use provenance_store::idempotency_cache::{CachedSubmission, IdempotencyCache};
use provenance_store::ratelimit::{LimiterBackend, ManualClock, MemoryLimiter, Quota, RateLimiter};

fn redis_url() -> String {
    std::env::var("PROVENANCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A prefix unique to this test and run.
fn unique(test: &str) -> String {
    format!("test:{test}:{}", ulid::Ulid::new())
}

fn clocked() -> (Arc<ManualClock>, MemoryLimiter) {
    let clock = Arc::new(ManualClock::new());
    (clock.clone(), MemoryLimiter::with_clock(clock))
}

// ---------------------------------------------------------------------------------------------
// Quotas

#[test]
fn tier_defaults_follow_the_spec() {
    assert_eq!(Quota::for_tier(None), Some(Quota { per_minute: 100, burst: 100 }));
    assert_eq!(Quota::for_tier(Some(Tier::Standard)), Some(Quota { per_minute: 1_000, burst: 1_000 }));
    assert_eq!(Quota::for_tier(Some(Tier::Premium)), Some(Quota { per_minute: 5_000, burst: 5_000 }));
    assert_eq!(Quota::for_tier(Some(Tier::Admin)), None);
    assert_eq!(Quota::per_minute(60).emission_interval(), Duration::from_secs(1));
    assert_eq!(Quota::per_minute(60).with_burst(5), Quota { per_minute: 60, burst: 5 });
}

// ---------------------------------------------------------------------------------------------
// In-memory GCRA (injected clock)

#[test]
fn a_full_bucket_allows_exactly_burst_then_denies_with_retry_after() {
    let (_clock, limiter) = clocked();
    let quota = Quota::per_minute(60).with_burst(5); // one per second, five at once
    for i in 0..5u32 {
        let d = limiter.check("k", quota);
        assert!(d.allowed, "request {i} should pass");
        assert_eq!(d.limit, 5);
        assert_eq!(d.remaining, 4 - i);
        assert_eq!(d.retry_after, None);
        assert_eq!(d.reset_after, Duration::from_secs(u64::from(i) + 1));
    }
    let denied = limiter.check("k", quota);
    assert!(!denied.allowed);
    assert_eq!(denied.remaining, 0);
    assert_eq!(denied.limit, 5);
    assert_eq!(denied.retry_after, Some(Duration::from_secs(1)), "one emission interval");
    assert_eq!(denied.reset_after, Duration::from_secs(5), "a denial does not consume");
    // Denials do not push the budget further away.
    for _ in 0..10 {
        assert_eq!(limiter.check("k", quota).retry_after, Some(Duration::from_secs(1)));
    }
}

#[test]
fn the_bucket_refills_at_the_emission_rate() {
    let (clock, limiter) = clocked();
    let quota = Quota::per_minute(60).with_burst(3);
    for _ in 0..3 {
        assert!(limiter.check("k", quota).allowed);
    }
    assert!(!limiter.check("k", quota).allowed);

    clock.advance(Duration::from_millis(400));
    let d = limiter.check("k", quota);
    assert!(!d.allowed);
    assert_eq!(d.retry_after, Some(Duration::from_millis(600)));

    clock.advance(Duration::from_millis(600));
    let d = limiter.check("k", quota);
    assert!(d.allowed, "one request earned back after T = 1 s");
    assert_eq!(d.remaining, 0);
    assert!(!limiter.check("k", quota).allowed);

    // 2.5 s later: two more earned (not three), sustained rate holds.
    clock.advance(Duration::from_millis(2_500));
    let d = limiter.check("k", quota);
    assert!(d.allowed);
    assert_eq!(d.remaining, 1);
    assert!(limiter.check("k", quota).allowed);
    assert!(!limiter.check("k", quota).allowed);

    // Long idle: full again, but never more than the burst.
    clock.advance(Duration::from_secs(3_600));
    let d = limiter.check("k", quota);
    assert!(d.allowed);
    assert_eq!(d.remaining, 2);
    assert_eq!(d.reset_after, Duration::from_secs(1));
}

#[test]
fn remaining_and_reset_for_the_default_burst() {
    let (clock, limiter) = clocked();
    let quota = Quota::per_minute(100); // T = 600 ms, burst 100
    let d = limiter.check("k", quota);
    assert_eq!((d.allowed, d.limit, d.remaining), (true, 100, 99));
    assert_eq!(d.reset_after, Duration::from_millis(600));
    for _ in 0..49 {
        limiter.check("k", quota);
    }
    let d = limiter.check("k", quota);
    assert_eq!(d.remaining, 49);
    assert_eq!(d.reset_after, Duration::from_millis(30_600), "51 × 600 ms");
    clock.advance(Duration::from_secs(6));
    let d = limiter.check("k", quota);
    assert_eq!(d.remaining, 58, "ten earned back in 6 s, one spent");
    assert_eq!(d.reset_after, Duration::from_millis(25_200));
}

#[test]
fn keys_are_independent() {
    let (_clock, limiter) = clocked();
    let quota = Quota::per_minute(60).with_burst(2);
    assert!(limiter.check("a", quota).allowed);
    assert!(limiter.check("a", quota).allowed);
    assert!(!limiter.check("a", quota).allowed);
    let b = limiter.check("b", quota);
    assert!(b.allowed);
    assert_eq!(b.remaining, 1);
    assert!(!limiter.check("a", quota).allowed);
}

#[test]
fn full_buckets_are_evicted() {
    let (clock, limiter) = clocked();
    let quota = Quota::per_minute(600).with_burst(10); // refills fully within 1 s
    for i in 0..1_000 {
        limiter.check(&format!("key-{i}"), quota);
    }
    assert_eq!(limiter.len(), 1_000);

    // Past the sweep interval every bucket is full again; touching keys sweeps their shards.
    clock.advance(Duration::from_secs(11));
    for i in 0..200 {
        limiter.check(&format!("new-{i}"), quota);
    }
    assert!(limiter.len() < 1_200, "automatic sweep dropped full buckets: {}", limiter.len());

    clock.advance(Duration::from_secs(2));
    assert!(limiter.evict_expired() > 0);
    assert!(limiter.is_empty(), "{} left", limiter.len());
}

#[test]
fn tracked_keys_stay_under_max_keys() {
    let (_clock, limiter) = clocked();
    let limiter = limiter.with_max_keys(160);
    let quota = Quota::per_minute(1); // buckets stay live for a minute: nothing expires
    for i in 0..10_000 {
        limiter.check(&format!("key-{i}"), quota);
    }
    assert!(limiter.len() <= 160, "{} keys tracked", limiter.len());
    assert!(limiter.len() > 100, "{} keys tracked", limiter.len());
}

#[tokio::test]
async fn memory_backend_reports_memory_and_limits() {
    let clock = Arc::new(ManualClock::new());
    let limiter = RateLimiter::memory_with_clock(clock.clone());
    assert_eq!(limiter.backend(), LimiterBackend::Memory);
    assert_eq!(limiter.ping().await, LimiterBackend::Memory);
    let quota = Quota::per_minute(60).with_burst(2);
    assert!(limiter.check("k", quota).await.allowed);
    assert!(limiter.check("k", quota).await.allowed);
    assert!(!limiter.check("k", quota).await.allowed);
    clock.advance(Duration::from_secs(1));
    assert!(limiter.check("k", quota).await.allowed);
}

#[tokio::test]
async fn real_clock_refill() {
    let limiter = RateLimiter::memory();
    let quota = Quota::per_minute(600).with_burst(2); // T = 100 ms
    assert!(limiter.check("k", quota).await.allowed);
    assert!(limiter.check("k", quota).await.allowed);
    let denied = limiter.check("k", quota).await;
    assert!(!denied.allowed);
    let wait = denied.retry_after.expect("retry_after when denied");
    assert!(wait <= Duration::from_millis(100), "{wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(5)).await;
    assert!(limiter.check("k", quota).await.allowed);
}

#[tokio::test]
async fn disabled_idempotency_cache_misses() {
    let cache = IdempotencyCache::disabled();
    assert!(!cache.is_enabled());
    cache.put("tn_1", "k", &submission("a"), Duration::from_secs(60)).await;
    assert_eq!(cache.get("tn_1", "k").await, None);
}

#[test]
fn idempotency_keys_are_hashed_per_tenant() {
    let a = IdempotencyCache::cache_key("tn_1", "any bytes \u{0}\n{}*");
    assert!(a.starts_with("pvn:idem:tn_1:"));
    assert_eq!(a.len(), "pvn:idem:tn_1:".len() + 64);
    assert_ne!(a, IdempotencyCache::cache_key("tn_2", "any bytes \u{0}\n{}*"));
}

fn submission(id: &str) -> CachedSubmission {
    CachedSubmission {
        request_sha256: format!("sha-{id}"),
        analysis_id: format!("an_{id}"),
        status_code: 202,
        body: format!(r#"{{"analysis_id":"an_{id}","status_url":"/v1/analysis/an_{id}"}}"#),
    }
}

// ---------------------------------------------------------------------------------------------
// Redis

#[tokio::test]
#[ignore = "needs services: Redis"]
async fn two_replicas_share_one_budget() {
    let a = RateLimiter::redis(&redis_url()).expect("url");
    let b = RateLimiter::redis(&redis_url()).expect("url");
    let key = unique("shared");
    let quota = Quota::per_minute(60).with_burst(4);

    let mut allowed = 0;
    for i in 0..8 {
        let limiter = if i % 2 == 0 { &a } else { &b };
        let d = limiter.check(&key, quota).await;
        assert_eq!(d.limit, 4);
        if d.allowed {
            allowed += 1;
            assert_eq!(d.remaining, 4 - allowed, "remaining counts across replicas");
        } else {
            let retry = d.retry_after.expect("retry_after when denied");
            assert!(retry > Duration::ZERO && retry <= Duration::from_secs(1), "{retry:?}");
            assert!(d.reset_after > Duration::from_secs(3) && d.reset_after <= Duration::from_secs(4));
        }
    }
    assert_eq!(allowed, 4, "one budget for both replicas");
    assert_eq!(a.backend(), LimiterBackend::Redis);
    assert_eq!(b.backend(), LimiterBackend::Redis);
    assert_eq!(a.ping().await, LimiterBackend::Redis);
    // The fallback was never used.
    assert!(a.memory_limiter().is_empty() && b.memory_limiter().is_empty());

    // Another key has its own budget.
    assert!(a.check(&unique("other"), quota).await.allowed);
}

#[tokio::test]
#[ignore = "needs services: Redis"]
async fn redis_refills_and_expires_buckets() {
    let limiter = RateLimiter::redis(&redis_url()).expect("url");
    let key = unique("refill");
    let quota = Quota::per_minute(600).with_burst(2); // T = 100 ms
    assert!(limiter.check(&key, quota).await.allowed);
    assert!(limiter.check(&key, quota).await.allowed);
    let denied = limiter.check(&key, quota).await;
    assert!(!denied.allowed);
    tokio::time::sleep(denied.retry_after.expect("retry_after") + Duration::from_millis(10)).await;
    assert!(limiter.check(&key, quota).await.allowed);

    // The bucket key carries a TTL of its reset time, so idle buckets vanish.
    let client = deadpool_redis::redis::Client::open(redis_url()).expect("url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect");
    let ttl: i64 =
        deadpool_redis::redis::cmd("PTTL").arg(format!("pvn:rl:{key}")).query_async(&mut conn).await.expect("PTTL");
    assert!(ttl > 0 && ttl <= 200, "PTTL {ttl}");
    tokio::time::sleep(Duration::from_millis(250)).await;
    let exists: i64 =
        deadpool_redis::redis::cmd("EXISTS").arg(format!("pvn:rl:{key}")).query_async(&mut conn).await.expect("EXISTS");
    assert_eq!(exists, 0);
    assert_eq!(limiter.check(&key, quota).await.remaining, 1, "a full bucket again");
}

#[tokio::test]
#[ignore = "needs services: Redis"]
async fn script_cache_flush_is_survived() {
    // A Redis restart without persistence forgets loaded scripts: EVALSHA → NOSCRIPT → EVAL.
    let limiter = RateLimiter::redis(&redis_url()).expect("url");
    let key = unique("noscript");
    let quota = Quota::per_minute(60).with_burst(3);
    assert!(limiter.check(&key, quota).await.allowed);
    let client = deadpool_redis::redis::Client::open(redis_url()).expect("url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect");
    let _: () = deadpool_redis::redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut conn).await.expect("SCRIPT FLUSH");
    let d = limiter.check(&key, quota).await;
    assert!(d.allowed);
    assert_eq!(d.remaining, 1);
    assert_eq!(limiter.backend(), LimiterBackend::Redis);
    assert!(limiter.memory_limiter().is_empty());
}

#[tokio::test]
#[ignore = "needs services: Redis"]
async fn unreachable_redis_degrades_to_memory_and_still_limits() {
    let limiter = RateLimiter::redis("redis://127.0.0.1:1").expect("a valid URL builds without connecting");
    let quota = Quota::per_minute(6).with_burst(3); // T = 10 s: nothing refills during the test
    let key = unique("degraded");
    let started = std::time::Instant::now();
    let decisions: Vec<_> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(limiter.check(&key, quota).await);
        }
        v
    };
    assert!(started.elapsed() < Duration::from_secs(1), "fallback is fast: {:?}", started.elapsed());
    assert_eq!(decisions.iter().filter(|d| d.allowed).count(), 3, "limited in memory");
    assert!(decisions[4].retry_after.is_some());
    match limiter.backend() {
        LimiterBackend::Degraded { reason } => assert!(!reason.is_empty()),
        other => panic!("expected Degraded, got {other:?}"),
    }
    assert_eq!(limiter.memory_limiter().len(), 1);
    assert!(matches!(limiter.ping().await, LimiterBackend::Degraded { .. }));
    // Later calls (past the back-off) try Redis again and still answer from memory.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert!(!limiter.check(&key, quota).await.allowed);
    assert!(matches!(limiter.backend(), LimiterBackend::Degraded { .. }));
}

#[tokio::test]
#[ignore = "needs services: Redis"]
async fn a_redis_down_at_start_is_degraded_without_blocking() {
    let started = std::time::Instant::now();
    let limiter = RateLimiter::redis("redis://127.0.0.1:1").expect("url");
    assert!(started.elapsed() < Duration::from_millis(50), "construction does not wait for Redis");
    // The background connect started by the constructor records the failure on its own.
    for _ in 0..100 {
        if matches!(limiter.backend(), LimiterBackend::Degraded { .. }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(matches!(limiter.backend(), LimiterBackend::Degraded { .. }), "{:?}", limiter.backend());
    let cache = IdempotencyCache::redis("redis://127.0.0.1:1").expect("url");
    assert!(cache.is_enabled());
    cache.put("tn_x", "k", &submission("x"), Duration::from_secs(5)).await;
    assert_eq!(cache.get("tn_x", "k").await, None, "errors are misses");
}

#[tokio::test]
#[ignore = "needs services: Redis"]
async fn idempotency_cache_round_trips_and_the_first_put_wins() {
    let cache = IdempotencyCache::redis(&redis_url()).expect("url");
    let tenant = unique("tenant");
    let key = "client key with spaces, \u{e9} and {braces}";
    assert_eq!(cache.get(&tenant, key).await, None);

    let first = submission("first");
    cache.put(&tenant, key, &first, Duration::from_secs(60)).await;
    assert_eq!(cache.get(&tenant, key).await, Some(first.clone()));

    cache.put(&tenant, key, &submission("second"), Duration::from_secs(60)).await;
    assert_eq!(cache.get(&tenant, key).await, Some(first.clone()), "SET NX: the first answer wins");

    // Another tenant, same client key: separate entry.
    assert_eq!(cache.get(&unique("tenant"), key).await, None);

    // A second cache (another replica) sees the same entry.
    let other = IdempotencyCache::redis(&redis_url()).expect("url");
    assert_eq!(other.get(&tenant, key).await, Some(first));
}

#[tokio::test]
#[ignore = "needs services: Redis"]
async fn idempotency_entries_expire_and_garbage_is_a_miss() {
    let cache = IdempotencyCache::redis(&redis_url()).expect("url");
    let tenant = unique("tenant");
    cache.put(&tenant, "short", &submission("s"), Duration::from_millis(100)).await;
    assert!(cache.get(&tenant, "short").await.is_some());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(cache.get(&tenant, "short").await, None);

    let client = deadpool_redis::redis::Client::open(redis_url()).expect("url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect");
    let _: () = deadpool_redis::redis::cmd("SET")
        .arg(IdempotencyCache::cache_key(&tenant, "garbage"))
        .arg("not json")
        .arg("PX")
        .arg(10_000)
        .query_async(&mut conn)
        .await
        .expect("SET");
    assert_eq!(cache.get(&tenant, "garbage").await, None);
}

/// A throwaway `redis-server` on a free port, killed (by its own handle) when dropped, so this
/// test can stop "its" Redis without touching the shared one.
struct PrivateRedis {
    child: Option<std::process::Child>,
    port: u16,
}

impl PrivateRedis {
    fn start(port: Option<u16>) -> Option<Self> {
        let port = port.unwrap_or_else(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        });
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        Some(Self { child: Some(child), port })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("private redis-server on port {} did not start", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
#[ignore = "needs services: Redis (the redis-server binary)"]
async fn degrades_when_redis_stops_and_recovers_when_it_returns() {
    let mut server = PrivateRedis::start(None).expect("this test needs the redis-server binary on PATH");
    server.wait_ready().await;
    let limiter = RateLimiter::redis(&server.url()).expect("url");
    let quota = Quota::per_minute(6).with_burst(5); // T = 10 s
    let key = unique("outage");
    assert_eq!(limiter.check(&key, quota).await.remaining, 4);
    assert_eq!(limiter.ping().await, LimiterBackend::Redis);

    server.stop();
    let during = limiter.check(&key, quota).await;
    assert!(during.allowed, "decided in memory");
    assert!(matches!(limiter.backend(), LimiterBackend::Degraded { .. }), "{:?}", limiter.backend());
    assert!(matches!(limiter.ping().await, LimiterBackend::Degraded { .. }));

    // Same port, empty server (no persistence): scripts and buckets are gone.
    let server = PrivateRedis::start(Some(server.port)).expect("restart");
    server.wait_ready().await;
    tokio::time::sleep(Duration::from_millis(1_100)).await; // past the back-off
    let after = limiter.check(&key, quota).await;
    assert!(after.allowed);
    assert_eq!(after.remaining, 4, "a fresh bucket in the restarted Redis");
    assert_eq!(limiter.backend(), LimiterBackend::Redis);
    assert_eq!(limiter.check(&key, quota).await.remaining, 3, "EVALSHA after NOSCRIPT recovery");
}
