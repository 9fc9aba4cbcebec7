//! When a failed delivery is tried again: the retry schedule (default or per endpoint), its
//! jitter, the effect of `Retry-After`, and when an endpoint that keeps failing is disabled.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::attempt::AttemptOutcome;

/// ±10%: spreads the retries of many messages that failed together.
pub const JITTER: f64 = 0.10;

/// An endpoint that has failed every attempt for this long is disabled (SPEC §6).
pub const DISABLE_AFTER_FAILING_FOR: chrono::Duration = chrono::Duration::days(5);

const MAX_ENTRIES: usize = 20;
const MAX_DELAY_SECS: u64 = 24 * 60 * 60;

/// The delays before each retry: entry `n` (0-based) is waited after attempt `n + 1` failed, so
/// a schedule of `k` delays allows `k + 1` attempts. Only valid schedules can be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl Default for RetrySchedule {
    /// SPEC §6: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — 8 attempts over about 27.5 hours.
    fn default() -> Self {
        Self([5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600].map(Duration::from_secs).to_vec())
    }
}

impl RetrySchedule {
    /// A per-endpoint schedule from whole seconds: 1 to 20 delays, each from 1 s to 24 h.
    pub fn parse_seconds(seconds: &[u64]) -> Result<Self, String> {
        if seconds.is_empty() || seconds.len() > MAX_ENTRIES {
            return Err(format!("a retry schedule has 1 to {MAX_ENTRIES} delays, not {}", seconds.len()));
        }
        if let Some((i, s)) = seconds.iter().enumerate().find(|(_, s)| !(1..=MAX_DELAY_SECS).contains(*s)) {
            return Err(format!("retry delay {} is {s} s; each must be from 1 to {MAX_DELAY_SECS} seconds", i + 1));
        }
        Ok(Self(seconds.iter().copied().map(Duration::from_secs).collect()))
    }

    /// The delays, in order.
    pub fn delays(&self) -> &[Duration] {
        &self.0
    }

    /// The delays in whole seconds, as [`RetrySchedule::parse_seconds`] reads them back.
    pub fn as_seconds(&self) -> Vec<u64> {
        self.0.iter().map(Duration::as_secs).collect()
    }

    /// How many attempts a message gets in all: the first, then one after each delay.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.0.len() + 1).expect("a schedule has at most 20 delays")
    }
}

/// `delay` scaled by a factor in [0.9, 1.1): `unit` is a uniform random number in [0, 1) that the
/// caller drew. Out-of-range units are clamped and a non-finite one counts as the midpoint, so a
/// bad random source cannot make a delay negative or unbounded.
pub fn jittered(delay: Duration, unit: f64) -> Duration {
    let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.5 };
    delay.mul_f64(1.0 - JITTER + 2.0 * JITTER * unit)
}

/// How long to wait before the next attempt, given how many attempts have been made (this one
/// included) and how this one ended. `None` means stop: the message was delivered, the endpoint
/// is gone, or every attempt is used up (dead letter, `message.attempt.exhausted`).
///
/// A `Retry-After` the receiver asked for is honoured as given (at least 1 s, no jitter) but
/// still uses up an attempt, so a receiver cannot keep a message alive forever.
pub fn next_delay(
    schedule: &RetrySchedule,
    attempts_made: u32,
    outcome: &AttemptOutcome,
    unit: f64,
) -> Option<Duration> {
    match outcome {
        AttemptOutcome::Delivered | AttemptOutcome::Gone => None,
        _ if attempts_made >= schedule.max_attempts() => None,
        AttemptOutcome::RetryAfter(delay) => Some((*delay).max(Duration::from_secs(1))),
        AttemptOutcome::Failed => {
            let index = usize::try_from(attempts_made.saturating_sub(1)).unwrap_or(usize::MAX);
            schedule.delays().get(index).map(|delay| jittered(*delay, unit))
        }
    }
}

/// Whether an endpoint whose deliveries have all failed since `failing_since` (`None`: it is
/// not failing) should now be disabled.
pub fn should_disable(failing_since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    failing_since.is_some_and(|since| now - since >= DISABLE_AFTER_FAILING_FOR)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const SECS: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_default_schedule_is_the_specs_seven_delays_and_eight_attempts() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.as_seconds(), [5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert_eq!(schedule.max_attempts(), 8);
    }

    #[test]
    fn parse_seconds_accepts_1_to_20_delays_of_1_s_to_24_h() {
        assert_eq!(
            RetrySchedule::parse_seconds(&[1, 86_400]).map(|s| s.delays().to_vec()),
            Ok(vec![SECS(1), SECS(86_400)])
        );
        assert_eq!(RetrySchedule::parse_seconds(&[60; 20]).map(|s| s.max_attempts()), Ok(21));
        assert!(RetrySchedule::parse_seconds(&[]).is_err());
        assert!(RetrySchedule::parse_seconds(&[60; 21]).is_err());
        let zero = RetrySchedule::parse_seconds(&[5, 0]).expect_err("0 s is refused");
        assert!(zero.contains("retry delay 2 is 0 s"), "{zero}");
        assert!(RetrySchedule::parse_seconds(&[86_401]).is_err());
    }

    #[test]
    fn a_schedule_round_trips_through_seconds() {
        let schedule = RetrySchedule::default();
        assert_eq!(RetrySchedule::parse_seconds(&schedule.as_seconds()), Ok(schedule));
    }

    #[test]
    fn jitter_stays_within_ten_percent_over_many_units() {
        let delay = SECS(300);
        let (low, high) = (delay.mul_f64(0.9), delay.mul_f64(1.1));
        let mut seen_low_half = false;
        let mut seen_high_half = false;
        for i in 0..10_000 {
            let unit = f64::from(i) / 10_000.0;
            let d = jittered(delay, unit);
            assert!(d >= low && d < high, "unit {unit} gave {d:?}");
            seen_low_half |= d < delay;
            seen_high_half |= d > delay;
        }
        assert!(seen_low_half && seen_high_half);
        assert_eq!(jittered(delay, 0.0), low);
        assert_eq!(jittered(delay, 0.5), delay);
    }

    #[test]
    fn jitter_clamps_units_from_a_bad_random_source() {
        let delay = SECS(100);
        assert_eq!(jittered(delay, -3.0), SECS(90));
        assert_eq!(jittered(delay, 7.0), SECS(110));
        assert_eq!(jittered(delay, f64::NAN), delay);
        assert_eq!(jittered(delay, f64::INFINITY), delay);
        assert_eq!(jittered(Duration::ZERO, 0.7), Duration::ZERO);
    }

    #[test]
    fn a_failure_waits_the_jittered_entry_for_that_attempt() {
        let schedule = RetrySchedule::default();
        assert_eq!(next_delay(&schedule, 1, &AttemptOutcome::Failed, 0.5), Some(SECS(5)));
        assert_eq!(next_delay(&schedule, 2, &AttemptOutcome::Failed, 0.5), Some(SECS(300)));
        assert_eq!(next_delay(&schedule, 7, &AttemptOutcome::Failed, 0.5), Some(SECS(36_000)));
        assert_eq!(next_delay(&schedule, 3, &AttemptOutcome::Failed, 0.0), Some(SECS(1620)));
        assert_eq!(next_delay(&schedule, 0, &AttemptOutcome::Failed, 0.5), Some(SECS(5)));
    }

    #[test]
    fn the_schedule_is_exhausted_at_the_eighth_attempt() {
        let schedule = RetrySchedule::default();
        assert!(next_delay(&schedule, 7, &AttemptOutcome::Failed, 0.5).is_some());
        assert_eq!(next_delay(&schedule, 8, &AttemptOutcome::Failed, 0.5), None);
        assert_eq!(next_delay(&schedule, 9, &AttemptOutcome::Failed, 0.5), None);
        assert_eq!(next_delay(&schedule, 8, &AttemptOutcome::RetryAfter(SECS(10)), 0.5), None);
        let short = RetrySchedule::parse_seconds(&[10]).expect("valid");
        assert_eq!(next_delay(&short, 2, &AttemptOutcome::Failed, 0.5), None);
    }

    #[test]
    fn delivered_and_gone_stop_at_once() {
        let schedule = RetrySchedule::default();
        assert_eq!(next_delay(&schedule, 1, &AttemptOutcome::Delivered, 0.5), None);
        assert_eq!(next_delay(&schedule, 1, &AttemptOutcome::Gone, 0.5), None);
    }

    #[test]
    fn retry_after_is_honoured_unjittered_and_at_least_one_second() {
        let schedule = RetrySchedule::default();
        assert_eq!(next_delay(&schedule, 1, &AttemptOutcome::RetryAfter(SECS(120)), 0.0), Some(SECS(120)));
        assert_eq!(next_delay(&schedule, 1, &AttemptOutcome::RetryAfter(Duration::ZERO), 0.0), Some(SECS(1)));
        assert_eq!(next_delay(&schedule, 4, &AttemptOutcome::RetryAfter(SECS(2)), 0.9), Some(SECS(2)));
    }

    #[test]
    fn an_endpoint_is_disabled_after_failing_for_five_days() {
        let since = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid date");
        assert!(!should_disable(None, since + chrono::Duration::days(30)));
        assert!(!should_disable(Some(since), since + chrono::Duration::days(5) - chrono::Duration::seconds(1)));
        assert!(should_disable(Some(since), since + chrono::Duration::days(5)));
        assert!(should_disable(Some(since), since + chrono::Duration::days(6)));
        assert!(!should_disable(Some(since), since - chrono::Duration::days(1)));
    }
}
