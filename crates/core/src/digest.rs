//! Digests over canonical JSON (RFC 8785, JCS): the same value always hashes the same, whatever
//! the key order or number formatting it arrived with.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Lower-case hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The RFC 8785 canonical JSON bytes of a value.
pub fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_jcs::to_vec(value)
}

/// Lower-case hex sha256 of a value's canonical JSON.
pub fn canonical_sha256<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    Ok(sha256_hex(&canonical_json(value)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_digest_ignores_key_order_and_whitespace() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":[1,2]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{ "a" : [1, 2], "b" : 1 }"#).unwrap();
        assert_eq!(canonical_sha256(&a).unwrap(), canonical_sha256(&b).unwrap());
        assert_eq!(canonical_json(&a).unwrap(), br#"{"a":[1,2],"b":1}"#);
    }
}
