//! What one delivery attempt's HTTP answer means (delivered, gone, retry after, failed), and the
//! bounded copy of the response body that is kept with the attempt.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

/// The longest `Retry-After` honoured; a receiver asking for more is retried after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How much of a response body an attempt keeps (SPEC §6: 4 KiB).
pub const MAX_RESPONSE_BYTES: usize = 4096;

/// How an attempt ended, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A 2xx: the message is delivered to this endpoint.
    Delivered,
    /// `410 Gone`: the receiver wants no more webhooks; the endpoint is disabled.
    Gone,
    /// `429` or `503` with a usable `Retry-After`: try again after this long (at most 24 h).
    RetryAfter(Duration),
    /// Anything else: transport errors, timeouts, 3xx (never followed), 4xx, 5xx.
    Failed,
}

/// Classifies an attempt from its status (`None`: no response — a connection error, a refused
/// address or the timeout) and its `Retry-After` header, read against the caller's clock.
pub fn classify(status: Option<u16>, retry_after: Option<&str>, now: DateTime<Utc>) -> AttemptOutcome {
    match status {
        Some(200..=299) => AttemptOutcome::Delivered,
        Some(410) => AttemptOutcome::Gone,
        Some(429 | 503) => retry_after
            .and_then(|value| parse_retry_after(value, now))
            .map_or(AttemptOutcome::Failed, |delay| AttemptOutcome::RetryAfter(delay.min(MAX_RETRY_AFTER))),
        _ => AttemptOutcome::Failed,
    }
}

/// `Retry-After` is delta-seconds or an HTTP-date (RFC 9110 §10.2.3). A date in the past means
/// "now"; a number too large for `u64` means "as late as we allow".
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse::<u64>().map_or(MAX_RETRY_AFTER, Duration::from_secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::from(now)).unwrap_or(Duration::ZERO))
}

/// The first `max` bytes of a response body as text: invalid UTF-8 becomes U+FFFD, and the cut
/// falls on a character boundary, so the result is at most `max` bytes and always valid.
pub fn truncate_response(bytes: &[u8], max: usize) -> String {
    // A character is at most 4 bytes: reading 3 past `max` decodes every character that starts
    // before `max` whole, and whatever the cut splits lands past `max` and is dropped below.
    let window = &bytes[..bytes.len().min(max.saturating_add(3))];
    let mut text = String::from_utf8_lossy(window).into_owned();
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).single().expect("valid date")
    }

    #[test]
    fn every_2xx_is_delivered() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(classify(Some(status), None, now()), AttemptOutcome::Delivered);
        }
    }

    #[test]
    fn gone_disables_and_3xx_is_a_failure() {
        assert_eq!(classify(Some(410), None, now()), AttemptOutcome::Gone);
        for status in [300, 301, 302, 307, 308] {
            assert_eq!(classify(Some(status), Some("10"), now()), AttemptOutcome::Failed);
        }
    }

    #[test]
    fn no_response_and_other_statuses_are_failures() {
        for status in [None, Some(100), Some(400), Some(404), Some(500), Some(502), Some(504)] {
            assert_eq!(classify(status, Some("30"), now()), AttemptOutcome::Failed, "{status:?}");
        }
    }

    #[test]
    fn too_many_requests_and_unavailable_honour_retry_after_seconds() {
        assert_eq!(classify(Some(429), Some("120"), now()), AttemptOutcome::RetryAfter(Duration::from_secs(120)));
        assert_eq!(classify(Some(503), Some(" 0 "), now()), AttemptOutcome::RetryAfter(Duration::ZERO));
    }

    #[test]
    fn retry_after_as_an_http_date_counts_from_now() {
        let header = "Fri, 01 May 2026 12:05:00 GMT";
        assert_eq!(classify(Some(503), Some(header), now()), AttemptOutcome::RetryAfter(Duration::from_secs(300)));
        let past = "Fri, 01 May 2026 11:00:00 GMT";
        assert_eq!(classify(Some(429), Some(past), now()), AttemptOutcome::RetryAfter(Duration::ZERO));
    }

    #[test]
    fn retry_after_is_capped_at_a_day() {
        assert_eq!(classify(Some(429), Some("999999"), now()), AttemptOutcome::RetryAfter(MAX_RETRY_AFTER));
        assert_eq!(
            classify(Some(429), Some("99999999999999999999999999"), now()),
            AttemptOutcome::RetryAfter(MAX_RETRY_AFTER)
        );
        let far = "Sat, 01 May 2027 12:00:00 GMT";
        assert_eq!(classify(Some(503), Some(far), now()), AttemptOutcome::RetryAfter(MAX_RETRY_AFTER));
    }

    #[test]
    fn a_missing_or_unreadable_retry_after_is_a_plain_failure() {
        for header in [None, Some(""), Some("soon"), Some("-5"), Some("1.5"), Some("2026-05-01T12:05:00Z")] {
            assert_eq!(classify(Some(429), header, now()), AttemptOutcome::Failed, "{header:?}");
        }
    }

    #[test]
    fn truncation_keeps_short_bodies_whole() {
        assert_eq!(truncate_response(b"ok", MAX_RESPONSE_BYTES), "ok");
        assert_eq!(truncate_response(b"", 10), "");
        assert_eq!(truncate_response(b"abcdef", 0), "");
    }

    #[test]
    fn truncation_cuts_long_bodies_at_max_bytes() {
        let body = vec![b'x'; 10_000];
        assert_eq!(truncate_response(&body, MAX_RESPONSE_BYTES), "x".repeat(4096));
    }

    #[test]
    fn truncation_never_splits_a_character() {
        // "é" is 2 bytes and "€" 3: a cut at 5 falls inside the third "é" / second "€".
        assert_eq!(truncate_response("ééé".as_bytes(), 5), "éé");
        assert_eq!(truncate_response("€€".as_bytes(), 5), "€");
        assert_eq!(truncate_response("a€".as_bytes(), 4), "a€");
        for max in 0..20 {
            let text = truncate_response("a😀b€cé".repeat(3).as_bytes(), max);
            assert!(text.len() <= max);
        }
    }

    #[test]
    fn truncation_replaces_invalid_utf8_without_panicking() {
        let text = truncate_response(&[b'a', 0xff, 0xfe, b'b'], 100);
        assert_eq!(text, "a\u{fffd}\u{fffd}b");
        assert!(truncate_response(&[0xff; 50], 10).len() <= 10);
        assert_eq!(truncate_response(&[0xff; 3], usize::MAX), "\u{fffd}\u{fffd}\u{fffd}");
    }
}
