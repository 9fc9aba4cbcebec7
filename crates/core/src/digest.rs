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

/// Lower-case hex sha256 of a value's canonical JSON, hashed as it is written (a submission's
/// canonical form is as large as its body; there is no need to hold it).
pub fn canonical_sha256<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut hasher = HashWriter(Sha256::new());
    serde_jcs::to_writer(&mut hasher, value)?;
    Ok(hex::encode(hasher.0.finalize()))
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

    #[test]
    fn canonical_digest_ignores_key_order_and_whitespace() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":[1,2]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{ "a" : [1, 2], "b" : 1 }"#).unwrap();
        assert_eq!(canonical_sha256(&a).unwrap(), canonical_sha256(&b).unwrap());
        assert_eq!(canonical_json(&a).unwrap(), br#"{"a":[1,2],"b":1}"#);
        assert_eq!(canonical_sha256(&a).unwrap(), sha256_hex(br#"{"a":[1,2],"b":1}"#), "the digest of those bytes");
    }
}
