//! The GCRA arithmetic, shared by the in-memory limiter; the Lua script in `script.rs` is a line by
//! line transcription of [`step`] (keep the two in sync).
//!
//! Times are integer microseconds (on the limiter's clock, or Redis' `TIME`). With
//! `T` = emission interval = 60 s / `per_minute` and the delay-variation tolerance
//! `dvt` = `T` × `burst`, a bucket is one number, its theoretical arrival time `TAT`:
//!
//! ```text
//! tat      = max(stored TAT or now, now)
//! new_tat  = tat + T
//! ahead    = new_tat - now
//! if ahead > dvt:  deny (now < TAT - τ, with τ = T × (burst - 1)),
//!                  retry_after = ahead - dvt, reset_after = tat - now, remaining = 0
//! else:            store new_tat (expiring when it is reached), reset_after = ahead,
//!                  remaining = floor((dvt - ahead) / T)
//! ```
//!
//! A fresh bucket therefore admits exactly `burst` requests at once, then one every `T`.

use std::time::Duration;

use super::{Quota, RateDecision};

/// `T` in microseconds (at least 1).
pub(crate) fn emission_interval_us(quota: Quota) -> u64 {
    (60_000_000 / u64::from(quota.per_minute.max(1))).max(1)
}

/// The effective burst (at least 1).
pub(crate) fn burst(quota: Quota) -> u32 {
    quota.burst.max(1)
}

/// One GCRA step. Returns the decision and, when allowed, the TAT to store.
pub(crate) fn step(stored_tat: Option<u64>, now: u64, quota: Quota) -> (RateDecision, Option<u64>) {
    let t = emission_interval_us(quota);
    let burst = burst(quota);
    let dvt = t.saturating_mul(u64::from(burst));
    let tat = stored_tat.unwrap_or(now).max(now);
    let new_tat = tat.saturating_add(t);
    // How far ahead of now the bucket would be; `now < allow_at` ⇔ `ahead > dvt`. Working with
    // this difference keeps everything unsigned, whatever the clock's origin.
    let ahead = new_tat - now;
    if ahead > dvt {
        let decision = RateDecision {
            allowed: false,
            limit: burst,
            remaining: 0,
            reset_after: Duration::from_micros(tat - now),
            retry_after: Some(Duration::from_micros(ahead - dvt)),
        };
        (decision, None)
    } else {
        let remaining = u32::try_from((dvt - ahead) / t).unwrap_or(u32::MAX).min(burst);
        let decision = RateDecision {
            allowed: true,
            limit: burst,
            remaining,
            reset_after: Duration::from_micros(ahead),
            retry_after: None,
        };
        (decision, Some(new_tat))
    }
}
