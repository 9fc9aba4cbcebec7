//! `google.protobuf.Struct`/`Value` ↔ JSON, for the fields that carry free-form JSON (analysis
//! metadata, Agent Trace records, webhook payloads). Protobuf numbers are doubles: an integral
//! one becomes a JSON integer again, so `{"pr": 42}` sent over gRPC is the same document as over
//! REST (and deduplicates against it).

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};

/// The largest double below which every integer is exact (2^53).
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

pub fn struct_to_json(s: &Struct) -> Map<String, Json> {
    s.fields.iter().map(|(k, v)| (k.clone(), value_to_json(v))).collect()
}

pub fn value_to_json(v: &Value) -> Json {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StructValue(s)) => Json::Object(struct_to_json(s)),
        Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(value_to_json).collect()),
    }
}

fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < MAX_EXACT {
        // Exact: |n| < 2^53 and integral.
        #[allow(clippy::cast_possible_truncation)]
        return Json::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Json::Null, Json::Number)
}

pub fn json_to_struct(m: &Map<String, Json>) -> Struct {
    Struct { fields: m.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect() }
}

pub fn json_to_value(v: &Json) -> Value {
    let kind = match v {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Json::Object(m) => Kind::StructValue(json_to_struct(m)),
        Json::Array(items) => Kind::ListValue(ListValue { values: items.iter().map(json_to_value).collect() }),
    };
    Value { kind: Some(kind) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn documents_round_trip_with_integers_kept() {
        let doc = json!({"pr": 42, "ratio": 0.5, "tags": ["a", null, true], "nested": {"neg": -7}});
        let Json::Object(map) = doc.clone() else { unreachable!() };
        assert_eq!(Json::Object(struct_to_json(&json_to_struct(&map))), doc);
        assert_eq!(value_to_json(&json_to_value(&json!(1e300))), json!(1e300));
    }
}
