//! The message body every endpoint receives: `{"type", "timestamp", "data"}` as Standard
//! Webhooks recommends, serialised once and sent byte for byte as it was signed.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::event_type::EventType;

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    event: EventType,
    timestamp: String,
    data: &'a serde_json::Value,
}

/// The minified JSON body of a message: `type`, then `timestamp` (when the event happened, RFC
/// 3339 in UTC with `Z`, with as many fraction digits as it has), then `data`.
pub fn message_body(event: EventType, timestamp: DateTime<Utc>, data: &serde_json::Value) -> Vec<u8> {
    let body = Body { event, timestamp: timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true), data };
    serde_json::to_vec(&body).expect("a struct of a string-named enum, a string and a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_body_has_type_timestamp_and_data_in_that_order() {
        let at = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).single().expect("valid date");
        let body = message_body(EventType::DecisionBlock, at, &json!({"a": [true], "z": 1}));
        assert_eq!(
            String::from_utf8(body).expect("utf-8"),
            r#"{"type":"decision.block","timestamp":"2026-03-04T05:06:07Z","data":{"a":[true],"z":1}}"#
        );
    }

    #[test]
    fn the_timestamp_keeps_its_fraction_and_ends_in_z() {
        let at = Utc.timestamp_opt(1_700_000_000, 344_522_000).single().expect("valid time");
        let body: serde_json::Value =
            serde_json::from_slice(&message_body(EventType::WebhookTest, at, &json!(null))).expect("the body is JSON");
        assert_eq!(body["timestamp"], "2023-11-14T22:13:20.344522Z");
        assert_eq!(body["data"], serde_json::Value::Null);
    }
}
