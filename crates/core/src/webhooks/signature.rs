//! The `webhook-signature` header: `v1,` HMAC-SHA256 and `v1a,` Ed25519 signatures over
//! `{msg_id}.{timestamp}.{body}`, space-separated so that a rotated secret can sign beside the old.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::secret::WebhookSecret;

/// The message id, stable across retries: the consumer's idempotency key.
pub const HEADER_ID: &str = "webhook-id";
/// Unix seconds of this attempt (not of the event).
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The space-separated signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// The bytes that are signed: `{msg_id}.{timestamp_secs}.{body}`.
pub fn signed_content(msg_id: &str, timestamp_secs: i64, body: &[u8]) -> Vec<u8> {
    let mut content = format!("{msg_id}.{timestamp_secs}.").into_bytes();
    content.extend_from_slice(body);
    content
}

/// A symmetric signature: `v1,` + base64 of HMAC-SHA256 keyed with the secret's bytes.
pub fn sign_v1(secret: &WebhookSecret, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(&signed_content(msg_id, timestamp_secs, body));
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// An asymmetric signature: `v1a,` + base64 of the 64-byte Ed25519 signature.
pub fn sign_v1a(key: &SigningKey, msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let signature = key.sign(&signed_content(msg_id, timestamp_secs, body));
    format!("v1a,{}", STANDARD.encode(signature.to_bytes()))
}

/// The `webhook-signature` value: the signatures, space-separated, in the order given.
pub fn signature_header(parts: &[String]) -> String {
    parts.join(" ")
}

/// The three Standard Webhooks headers of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `webhook-id`: the message id.
    pub webhook_id: String,
    /// `webhook-timestamp`: unix seconds of this attempt, in decimal.
    pub webhook_timestamp: String,
    /// `webhook-signature`: the space-separated signatures.
    pub webhook_signature: String,
}

impl SignedHeaders {
    /// The headers as (name, value) pairs, ready for an HTTP client.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (HEADER_ID, &self.webhook_id),
            (HEADER_TIMESTAMP, &self.webhook_timestamp),
            (HEADER_SIGNATURE, &self.webhook_signature),
        ]
    }
}

/// Signs one attempt: a `v1,` signature per secret (during rotation, the new and the old; the
/// consumer accepts the message if any one verifies), then a `v1a,` one when the endpoint chose
/// asymmetric signing. An endpoint always has at least one of the two; with neither, the
/// signature header is empty and every consumer will rightly refuse the message.
pub fn sign_headers(
    msg_id: &str,
    timestamp_secs: i64,
    body: &[u8],
    secrets: &[&WebhookSecret],
    ed25519: Option<&SigningKey>,
) -> SignedHeaders {
    let mut parts: Vec<String> = secrets.iter().map(|s| sign_v1(s, msg_id, timestamp_secs, body)).collect();
    if let Some(key) = ed25519 {
        parts.push(sign_v1a(key, msg_id, timestamp_secs, body));
    }
    SignedHeaders {
        webhook_id: msg_id.to_owned(),
        webhook_timestamp: timestamp_secs.to_string(),
        webhook_signature: signature_header(&parts),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signature, Verifier};

    use super::*;

    const MSG_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;

    fn official_secret() -> WebhookSecret {
        WebhookSecret::parse("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").expect("the official test secret is valid")
    }

    #[test]
    fn signed_content_is_id_dot_timestamp_dot_body() {
        assert_eq!(signed_content("msg_1", 1674087231, b"{\"a\":1}"), b"msg_1.1674087231.{\"a\":1}".to_vec());
        assert_eq!(signed_content("msg_1", -5, b""), b"msg_1.-5.".to_vec());
    }

    #[test]
    fn sign_v1_matches_the_official_libraries_test_vector() {
        assert_eq!(
            sign_v1(&official_secret(), MSG_ID, 1649367553, BODY),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn sign_v1_changes_with_the_id_the_timestamp_and_the_body() {
        let base = sign_v1(&official_secret(), MSG_ID, 1649367553, BODY);
        assert_ne!(base, sign_v1(&official_secret(), "msg_other", 1649367553, BODY));
        assert_ne!(base, sign_v1(&official_secret(), MSG_ID, 1649367554, BODY));
        assert_ne!(base, sign_v1(&official_secret(), MSG_ID, 1649367553, b"{}"));
    }

    #[test]
    fn sign_v1a_is_an_ed25519_signature_over_the_signed_content() {
        let key = SigningKey::from_bytes(&[11; 32]);
        let sig = sign_v1a(&key, MSG_ID, 1649367553, BODY);
        let encoded = sig.strip_prefix("v1a,").expect("v1a prefix");
        let bytes: [u8; 64] = STANDARD.decode(encoded).expect("base64").try_into().expect("64 bytes");
        let content = signed_content(MSG_ID, 1649367553, BODY);
        assert!(key.verifying_key().verify(&content, &Signature::from_bytes(&bytes)).is_ok());
        assert!(key.verifying_key().verify(b"other", &Signature::from_bytes(&bytes)).is_err());
    }

    #[test]
    fn signature_header_joins_with_single_spaces() {
        assert_eq!(signature_header(&["v1,a".into(), "v1,b".into()]), "v1,a v1,b");
        assert_eq!(signature_header(&["v1,a".into()]), "v1,a");
        assert_eq!(signature_header(&[]), "");
    }

    #[test]
    fn sign_headers_signs_with_each_secret_then_the_ed25519_key() {
        let old = official_secret();
        let new = WebhookSecret::from_random([1; 32]);
        let key = SigningKey::from_bytes(&[2; 32]);
        let headers = sign_headers(MSG_ID, 1649367553, BODY, &[&new, &old], Some(&key));
        assert_eq!(headers.webhook_id, MSG_ID);
        assert_eq!(headers.webhook_timestamp, "1649367553");
        let parts: Vec<&str> = headers.webhook_signature.split(' ').collect();
        assert_eq!(
            parts,
            [
                sign_v1(&new, MSG_ID, 1649367553, BODY).as_str(),
                sign_v1(&old, MSG_ID, 1649367553, BODY).as_str(),
                sign_v1a(&key, MSG_ID, 1649367553, BODY).as_str(),
            ]
        );
        assert_eq!(headers.pairs()[0], ("webhook-id", MSG_ID));
        assert_eq!(headers.pairs()[1], ("webhook-timestamp", "1649367553"));
    }

    #[test]
    fn sign_headers_with_only_a_key_sends_only_v1a() {
        let key = SigningKey::from_bytes(&[2; 32]);
        let headers = sign_headers(MSG_ID, 1, BODY, &[], Some(&key));
        assert!(headers.webhook_signature.starts_with("v1a,"));
        assert!(!headers.webhook_signature.contains(' '));
    }
}
