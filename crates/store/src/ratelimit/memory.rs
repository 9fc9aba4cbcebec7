//! The in-process GCRA limiter: used alone when no Redis is configured, and as the fallback while
//! Redis is unreachable.
//!
//! State is one `u64` (the bucket's TAT) per key in a sharded `Mutex<HashMap>`. A bucket whose TAT
//! is in the past is full, which is the same as having no entry, so such entries are evicted: each
//! shard sweeps itself every [`SWEEP_INTERVAL`] of clock time, and at once when it grows past its
//! share of `max_keys` (if it is still too big after that, the fullest buckets — smallest TAT, the
//! least information lost — go first). Memory is therefore bounded by the keys active within the
//! last refill window, and by `max_keys` in any case.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{Quota, RateDecision, gcra};

/// A source of monotonic time for the in-memory limiter (injectable for tests).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time elapsed since an arbitrary fixed origin; must never go backwards.
    fn now(&self) -> Duration;
}

/// The real clock: [`Instant`] since the limiter was created.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        Self { origin: Instant::now() }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Default)]
pub struct ManualClock {
    micros: AtomicU64,
}

impl ManualClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.micros.fetch_add(duration_us(by), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

fn duration_us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// How often (in clock time) each shard drops its full buckets.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(10);
/// Default upper bound on tracked keys.
pub const DEFAULT_MAX_KEYS: usize = 1_000_000;
const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    /// key → TAT (µs on the clock).
    buckets: HashMap<String, u64>,
    next_sweep_us: u64,
}

impl Shard {
    fn sweep(&mut self, now: u64) -> usize {
        let before = self.buckets.len();
        self.buckets.retain(|_, tat| *tat > now);
        before - self.buckets.len()
    }

    /// Keep at most `target` entries, dropping the smallest TATs (the buckets closest to full).
    fn shrink_to(&mut self, target: usize) {
        let excess = self.buckets.len().saturating_sub(target);
        if excess == 0 {
            return;
        }
        let mut tats: Vec<u64> = self.buckets.values().copied().collect();
        let (_, cutoff, _) = tats.select_nth_unstable(excess - 1);
        let cutoff = *cutoff;
        let mut to_drop = excess;
        self.buckets.retain(|_, tat| {
            if to_drop > 0 && *tat <= cutoff {
                to_drop -= 1;
                false
            } else {
                true
            }
        });
    }
}

/// The in-memory GCRA limiter (see the module documentation).
pub struct MemoryLimiter {
    clock: Arc<dyn Clock>,
    hasher: std::collections::hash_map::RandomState,
    shards: Box<[Mutex<Shard>]>,
    max_keys_per_shard: usize,
}

impl fmt::Debug for MemoryLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryLimiter")
            .field("clock", &self.clock)
            .field("keys", &self.len())
            .field("max_keys", &(self.max_keys_per_shard * SHARDS))
            .finish()
    }
}

impl Default for MemoryLimiter {
    fn default() -> Self {
        Self::new()
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl MemoryLimiter {
    /// A limiter on the real monotonic clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(MonotonicClock::new()))
    }

    /// A limiter on the given clock.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            hasher: std::collections::hash_map::RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            max_keys_per_shard: DEFAULT_MAX_KEYS / SHARDS,
        }
    }

    /// Bound the number of tracked keys (rounded up to a multiple of the shard count).
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys_per_shard = max_keys.div_ceil(SHARDS).max(1);
        self
    }

    fn now_us(&self) -> u64 {
        duration_us(self.clock.now())
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        let index = (self.hasher.hash_one(key) % SHARDS as u64) as usize;
        &self.shards[index]
    }

    /// Count one request for `key` against `quota`.
    pub fn check(&self, key: &str, quota: Quota) -> RateDecision {
        let now = self.now_us();
        let mut shard = lock(self.shard(key));
        if now >= shard.next_sweep_us {
            shard.sweep(now);
            shard.next_sweep_us = now.saturating_add(duration_us(SWEEP_INTERVAL));
        }
        let (decision, new_tat) = gcra::step(shard.buckets.get(key).copied(), now, quota);
        if let Some(tat) = new_tat {
            match shard.buckets.get_mut(key) {
                Some(slot) => *slot = tat,
                None => {
                    if shard.buckets.len() >= self.max_keys_per_shard {
                        shard.sweep(now);
                        // Still full of live buckets: make room for a tenth at once so this
                        // O(n) step stays rare.
                        let target = self.max_keys_per_shard - self.max_keys_per_shard.div_ceil(10);
                        if shard.buckets.len() >= self.max_keys_per_shard {
                            shard.shrink_to(target);
                        }
                    }
                    shard.buckets.insert(key.to_owned(), tat);
                }
            }
        }
        decision
    }

    /// Number of tracked keys (buckets that are not full).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).buckets.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop every full bucket now; returns how many were dropped. (Also happens on its own.)
    pub fn evict_expired(&self) -> usize {
        let now = self.now_us();
        self.shards.iter().map(|s| lock(s).sweep(now)).sum()
    }
}
