//! Timestamps as stored: RFC 3339 UTC text with exactly three fractional digits and `Z`, so
//! text order is time order and SQL can compare them directly.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};

use crate::error::{StoreError, StoreResult};

/// The stored text of a time (sub-millisecond precision is dropped). Times past the year 9999
/// are stored as its last millisecond, so text order stays time order.
pub(super) fn to_text(at: DateTime<Utc>) -> String {
    if at.year() > 9999 {
        return "9999-12-31T23:59:59.999Z".to_string();
    }
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn opt_to_text(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(to_text)
}

pub(super) fn from_text(text: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {text:?}: {e}")))
}

pub(super) fn opt_from_text(text: Option<&str>) -> StoreResult<Option<DateTime<Utc>>> {
    text.map(from_text).transpose()
}

/// `now + d` as stored text (for leases and retry times).
pub(super) fn after(now: DateTime<Utc>, d: std::time::Duration) -> String {
    let d = chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    to_text(now.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_sort_as_text_and_round_trip_to_the_millisecond() {
        let a = DateTime::parse_from_rfc3339("2025-01-31T12:00:00.5Z").unwrap().with_timezone(&Utc);
        let b = DateTime::parse_from_rfc3339("2025-01-31T12:00:00.123456Z").unwrap().with_timezone(&Utc);
        assert_eq!(to_text(a), "2025-01-31T12:00:00.500Z");
        assert_eq!(to_text(b), "2025-01-31T12:00:00.123Z");
        assert!(to_text(b) < to_text(a));
        assert_eq!(from_text(&to_text(a)).unwrap(), a);
        assert!(to_text(DateTime::<Utc>::MAX_UTC) > to_text(a));
    }
}
