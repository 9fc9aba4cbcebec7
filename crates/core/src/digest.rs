//! Digests over canonical JSON (RFC 8785, JCS): the same value always hashes the same, whatever
//! the key order or number formatting it arrived with.

use std::io::Write;

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Lower-case hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The RFC 8785 canonical JSON bytes of a value.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    write_canonical(&mut out, &serde_json::to_value(value)?)?;
    Ok(out)
}

/// Lower-case hex sha256 of a value's canonical JSON, hashed as it is written (a submission's
/// canonical form is as large as its body; there is no need to hold it).
pub fn canonical_sha256<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    canonical_value_sha256(&serde_json::to_value(value)?)
}

/// [`canonical_sha256`] of a parsed JSON document, without copying it first.
pub fn canonical_value_sha256(value: &Value) -> Result<String, serde_json::Error> {
    let mut hasher = HashWriter(Sha256::new());
    write_canonical(&mut hasher, value)?;
    Ok(hex::encode(hasher.0.finalize()))
}

/// Write `value` in RFC 8785 form, straight to `out`: members sorted by the UTF-16 code units
/// of their names, numbers as ECMAScript prints them, strings escaped as JSON requires and no
/// more (serde_json's escaping is exactly that), no whitespace.
///
/// Serialisers that canonicalise through serde (`serde_jcs` and its kin) must buffer every
/// object's members to sort them, copying each nested object once per level; a submission was a
/// sixth of the API's CPU time that way. A parsed value already holds its members, so they are
/// sorted in place and written once.
fn write_canonical<W: Write>(out: &mut W, value: &Value) -> Result<(), serde_json::Error> {
    match value {
        Value::Null => out.write_all(b"null").map_err(serde_json::Error::io),
        Value::Bool(b) => out.write_all(if *b { b"true" } else { b"false" }).map_err(serde_json::Error::io),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => serde_json::to_writer(out, s),
        Value::Array(items) => {
            out.write_all(b"[").map_err(serde_json::Error::io)?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",").map_err(serde_json::Error::io)?;
                }
                write_canonical(out, item)?;
            }
            out.write_all(b"]").map_err(serde_json::Error::io)
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.write_all(b"{").map_err(serde_json::Error::io)?;
            for (i, (name, item)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",").map_err(serde_json::Error::io)?;
                }
                serde_json::to_writer(&mut *out, name)?;
                out.write_all(b":").map_err(serde_json::Error::io)?;
                write_canonical(out, item)?;
            }
            out.write_all(b"}").map_err(serde_json::Error::io)
        }
    }
}

/// Integers that a double holds exactly are written as integers; every other number as
/// ECMAScript's `Number.prototype.toString` writes the nearest double.
fn write_number<W: Write>(out: &mut W, n: &serde_json::Number) -> Result<(), serde_json::Error> {
    const EXACT: u64 = 1 << 53;
    let text = match (n.as_u64(), n.as_i64()) {
        (Some(u), _) if u <= EXACT => u.to_string(),
        (_, Some(i)) if i.unsigned_abs() <= EXACT => i.to_string(),
        _ => match n.as_f64() {
            Some(0.0) => "0".to_string(), // also -0, as ECMAScript prints it
            Some(f) if f.is_finite() => ryu_js::Buffer::new().format_finite(f).to_string(),
            _ => return Err(serde::ser::Error::custom(format!("{n} is not a finite number"))),
        },
    };
    out.write_all(text.as_bytes()).map_err(serde_json::Error::io)
}

/// An `io::Write` that feeds a hasher.
struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8785 §3.2.3: members sorted by UTF-16 code units (the emoji's surrogates sort before
    /// U+FB33, although its code point is higher).
    #[test]
    fn members_sort_by_utf16_code_units() {
        let v: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",
               "1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control",
               "\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let text = String::from_utf8(canonical_json(&v).unwrap()).unwrap();
        let order: Vec<&str> = v
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .into_iter()
            .map(|k| (text.find(&serde_json::to_string(k).unwrap()).unwrap(), k))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect();
        assert_eq!(order, ["\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1f600}", "\u{fb33}"]);
    }

    /// The example of RFC 8785 §3.2.2 (numbers, string escapes, literals), byte for byte.
    #[test]
    fn the_rfc_example_canonicalises_byte_for_byte() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let v: Value = serde_json::from_str(input).unwrap();
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        assert_eq!(String::from_utf8(canonical_json(&v).unwrap()).unwrap(), expected);
        assert_eq!(canonical_value_sha256(&v).unwrap(), sha256_hex(expected.as_bytes()));
    }

    /// Integers beyond 2^53 are written as the double ECMAScript would hold; negative zero as 0.
    #[test]
    fn large_integers_and_negative_zero_print_as_ecmascript_does() {
        let v: Value =
            serde_json::from_str("[9007199254740992, 9007199254740993, -9007199254740993, -0.0, 1e21, 123]").unwrap();
        assert_eq!(
            String::from_utf8(canonical_json(&v).unwrap()).unwrap(),
            "[9007199254740992,9007199254740992,-9007199254740992,0,1e+21,123]"
        );
    }

    /// Ordinary documents (ASCII member names, small integers) hash as they did with
    /// `serde_jcs` 0.1, which earlier versions used: digests already stored stay valid.
    #[test]
    fn ordinary_documents_hash_as_before() {
        let v: Value = serde_json::from_str(
            r#"{"repo":"acme/shop","pr_number":7,"provenance_data":{"changed_lines":[
                {"file_path":"a.py","line_number":3,"content":"x = \"é\"\t# \u0001","attribution":{"agent_id":"claude-code"}},
                {"line_number":4,"file_path":"a.py","content":null,"score":0.25}]},"metadata":{"z":[],"a":{}}}"#,
        )
        .unwrap();
        assert_eq!(canonical_json(&v).unwrap(), serde_jcs::to_vec(&v).unwrap());
        assert_eq!(canonical_value_sha256(&v).unwrap(), sha256_hex(&serde_jcs::to_vec(&v).unwrap()));
    }

    #[test]
    fn canonical_digest_ignores_key_order_and_whitespace() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":[1,2]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{ "a" : [1, 2], "b" : 1 }"#).unwrap();
        assert_eq!(canonical_sha256(&a).unwrap(), canonical_sha256(&b).unwrap());
        assert_eq!(canonical_json(&a).unwrap(), br#"{"a":[1,2],"b":1}"#);
        assert_eq!(canonical_sha256(&a).unwrap(), sha256_hex(br#"{"a":[1,2],"b":1}"#), "the digest of those bytes");
    }
}
