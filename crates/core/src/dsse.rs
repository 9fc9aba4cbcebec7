//! DSSE v1.0 envelopes (Dead Simple Signing Envelope) with Ed25519: the pre-authentication
//! encoding, signing, and verification that accepts standard and URL-safe base64.
//! Spec: <https://github.com/secure-systems-lab/dsse/blob/master/protocol.md>.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The payload type of in-toto statements.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnvelopeSignature {
    pub keyid: String,
    pub sig: String,
}

/// `{payloadType, payload: base64(body), signatures: [{keyid, sig}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsseError {
    #[error("payload is not valid base64")]
    PayloadEncoding,
    #[error("payloadType is {found:?}, expected {expected:?}")]
    PayloadType { expected: String, found: String },
    #[error("the envelope has no signatures")]
    NoSignatures,
    #[error("no signature verifies with the given key(s)")]
    BadSignature,
}

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII
/// decimal bytes.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out
}

/// Lower-case hex sha256 of the raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Sign `payload` as a one-signature envelope.
pub fn sign_envelope(key: &SigningKey, payload_type: &str, payload: &[u8]) -> Envelope {
    let sig = key.sign(&pae(payload_type, payload));
    Envelope {
        payload_type: payload_type.to_string(),
        payload: STANDARD.encode(payload),
        signatures: vec![EnvelopeSignature {
            keyid: key_id(&key.verifying_key()),
            sig: STANDARD.encode(sig.to_bytes()),
        }],
    }
}

/// Decode base64 in any of the standard or URL-safe alphabets, padded or not.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD].into_iter().find_map(|e| e.decode(s).ok())
}

/// Verify that at least one signature of `envelope` is valid under one of `keys`, and that the
/// payload type is `expected_type`; returns the payload bytes.
///
/// A signature whose `keyid` names a given key is checked against that key; a signature with an
/// empty or unknown keyid is tried against every key (keyid is a hint, not a trust decision).
pub fn verify_envelope(envelope: &Envelope, keys: &[VerifyingKey], expected_type: &str) -> Result<Vec<u8>, DsseError> {
    if envelope.payload_type != expected_type {
        return Err(DsseError::PayloadType { expected: expected_type.into(), found: envelope.payload_type.clone() });
    }
    let payload = decode_base64(&envelope.payload).ok_or(DsseError::PayloadEncoding)?;
    if envelope.signatures.is_empty() {
        return Err(DsseError::NoSignatures);
    }
    let message = pae(&envelope.payload_type, &payload);
    for s in &envelope.signatures {
        let Some(sig) = decode_base64(&s.sig).and_then(|b| Signature::from_slice(&b).ok()) else { continue };
        let named: Vec<&VerifyingKey> = keys.iter().filter(|k| key_id(k) == s.keyid).collect();
        let candidates: Vec<&VerifyingKey> = if named.is_empty() { keys.iter().collect() } else { named };
        if candidates.iter().any(|k| k.verify(&message, &sig).is_ok()) {
            return Ok(payload);
        }
    }
    Err(DsseError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[42; 32])
    }

    #[test]
    fn pae_reproduces_the_dsse_test_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn a_signed_envelope_verifies_and_returns_its_payload() {
        let env = sign_envelope(&key(), IN_TOTO_PAYLOAD_TYPE, b"{\"a\":1}");
        assert_eq!(env.signatures[0].keyid, key_id(&key().verifying_key()));
        assert_eq!(env.signatures[0].keyid.len(), 64);
        let payload = verify_envelope(&env, &[key().verifying_key()], IN_TOTO_PAYLOAD_TYPE).unwrap();
        assert_eq!(payload, b"{\"a\":1}");
    }

    #[test]
    fn changing_one_byte_of_the_payload_breaks_the_signature() {
        let mut env = sign_envelope(&key(), IN_TOTO_PAYLOAD_TYPE, b"{\"outcome\":\"block\"}");
        let mut raw = STANDARD.decode(&env.payload).unwrap();
        raw[3] ^= 1;
        env.payload = STANDARD.encode(raw);
        assert_eq!(verify_envelope(&env, &[key().verifying_key()], IN_TOTO_PAYLOAD_TYPE), Err(DsseError::BadSignature));
    }

    #[test]
    fn another_key_does_not_verify() {
        let env = sign_envelope(&key(), IN_TOTO_PAYLOAD_TYPE, b"x");
        let other = SigningKey::from_bytes(&[7; 32]).verifying_key();
        assert_eq!(verify_envelope(&env, &[other], IN_TOTO_PAYLOAD_TYPE), Err(DsseError::BadSignature));
    }

    #[test]
    fn url_safe_base64_is_accepted() {
        let mut env = sign_envelope(&key(), IN_TOTO_PAYLOAD_TYPE, b"\xfb\xff\xfe payload with + and /");
        env.payload = URL_SAFE_NO_PAD.encode(decode_base64(&env.payload).unwrap());
        env.signatures[0].sig = URL_SAFE.encode(decode_base64(&env.signatures[0].sig).unwrap());
        assert!(verify_envelope(&env, &[key().verifying_key()], IN_TOTO_PAYLOAD_TYPE).is_ok());
    }

    #[test]
    fn a_wrong_payload_type_is_rejected() {
        let env = sign_envelope(&key(), "text/plain", b"x");
        assert!(matches!(
            verify_envelope(&env, &[key().verifying_key()], IN_TOTO_PAYLOAD_TYPE),
            Err(DsseError::PayloadType { .. })
        ));
    }
}
