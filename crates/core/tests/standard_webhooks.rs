//! Our signatures against the official Standard Webhooks verifier (`standardwebhooks` crate): a
//! consumer using the official library must accept what we send and refuse what was tampered with.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use ed25519_dalek::{Signature, SigningKey, Verifier};
use http::{HeaderMap, HeaderValue};
use provenance_core::webhooks::{
    EventType, SignedHeaders, WebhookSecret, message_body, parse_whpk, public_key_whpk, sign_headers, sign_v1,
};
use serde_json::json;
use standardwebhooks::{Webhook, WebhookError};

const MSG_ID: &str = "msg_01J8ZQ4V6X7Y8Z9A0B1C2D3E4F";

fn header_map(headers: &SignedHeaders) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers.pairs() {
        map.insert(name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn verifier(secret: &WebhookSecret) -> Webhook {
    Webhook::new(&secret.to_string()).unwrap()
}

fn body() -> Vec<u8> {
    message_body(
        EventType::DecisionBlock,
        Utc::now(),
        &json!({"analysis_id": "an_01J8ZQ", "outcome": "block", "repo": "acme/api", "note": "naïve ✓"}),
    )
}

#[test]
fn the_official_library_verifies_a_message_we_signed() {
    let secret = WebhookSecret::from_random(rand::random());
    let body = body();
    let headers = sign_headers(MSG_ID, Utc::now().timestamp(), &body, &[&secret], None);
    verifier(&secret).verify(&body, &header_map(&headers)).unwrap();
}

#[test]
fn the_official_library_accepts_our_secret_with_or_without_its_prefix() {
    let secret = WebhookSecret::from_random(rand::random());
    let shown = secret.to_string();
    let bare = Webhook::new(shown.strip_prefix("whsec_").unwrap()).unwrap();
    let body = body();
    let headers = sign_headers(MSG_ID, Utc::now().timestamp(), &body, &[&secret], None);
    bare.verify(&body, &header_map(&headers)).unwrap();
}

#[test]
fn our_v1_signature_is_the_one_the_official_library_computes() {
    for _ in 0..20 {
        let secret = WebhookSecret::from_random(rand::random());
        let ts: i64 = rand::random::<u32>().into();
        let body = body();
        assert_eq!(sign_v1(&secret, MSG_ID, ts, &body), verifier(&secret).sign(MSG_ID, ts, &body).unwrap());
    }
}

#[test]
fn during_rotation_either_secret_verifies_and_a_third_does_not() {
    let old = WebhookSecret::from_random(rand::random());
    let new = WebhookSecret::from_random(rand::random());
    let body = body();
    let headers = sign_headers(MSG_ID, Utc::now().timestamp(), &body, &[&new, &old], None);
    assert_eq!(headers.webhook_signature.matches("v1,").count(), 2);
    let map = header_map(&headers);
    verifier(&old).verify(&body, &map).unwrap();
    verifier(&new).verify(&body, &map).unwrap();
    let stranger = WebhookSecret::from_random(rand::random());
    assert!(matches!(verifier(&stranger).verify(&body, &map), Err(WebhookError::InvalidSignature)));
}

#[test]
fn a_tampered_body_id_or_timestamp_is_refused() {
    let secret = WebhookSecret::from_random(rand::random());
    let body = body();
    let now = Utc::now().timestamp();
    let headers = sign_headers(MSG_ID, now, &body, &[&secret], None);
    let wh = verifier(&secret);

    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'k').unwrap();
    tampered[at] = b'K';
    assert!(matches!(wh.verify(&tampered, &header_map(&headers)), Err(WebhookError::InvalidSignature)));

    let mut other_id = header_map(&headers);
    other_id.insert("webhook-id", HeaderValue::from_static("msg_other"));
    assert!(matches!(wh.verify(&body, &other_id), Err(WebhookError::InvalidSignature)));

    let mut other_ts = header_map(&headers);
    other_ts.insert("webhook-timestamp", HeaderValue::from_str(&(now - 1).to_string()).unwrap());
    assert!(matches!(wh.verify(&body, &other_ts), Err(WebhookError::InvalidSignature)));
}

#[test]
fn a_too_old_or_future_timestamp_is_refused_even_when_correctly_signed() {
    let secret = WebhookSecret::from_random(rand::random());
    let body = body();
    let wh = verifier(&secret);
    let old = sign_headers(MSG_ID, Utc::now().timestamp() - 10 * 60, &body, &[&secret], None);
    assert!(matches!(wh.verify(&body, &header_map(&old)), Err(WebhookError::TimestampTooOldError)));
    let future = sign_headers(MSG_ID, Utc::now().timestamp() + 10 * 60, &body, &[&secret], None);
    assert!(matches!(wh.verify(&body, &header_map(&future)), Err(WebhookError::FutureTimestampError)));
}

#[test]
fn a_v1a_signature_beside_v1_does_not_disturb_the_official_library() {
    let secret = WebhookSecret::from_random(rand::random());
    let key = SigningKey::from_bytes(&rand::random());
    let body = body();
    let headers = sign_headers(MSG_ID, Utc::now().timestamp(), &body, &[&secret], Some(&key));
    assert!(headers.webhook_signature.contains(" v1a,"));
    verifier(&secret).verify(&body, &header_map(&headers)).unwrap();
}

/// The official Rust crate (1.0.1) verifies `v1` only, so `v1a` is checked the way the standard
/// describes: Ed25519 over `{id}.{timestamp}.{body}` with the `whpk_` public key.
#[test]
fn a_v1a_signature_verifies_with_the_whpk_public_key() {
    let key = SigningKey::from_bytes(&rand::random());
    let whpk = public_key_whpk(&key.verifying_key());
    let body = body();
    let ts = Utc::now().timestamp();
    let headers = sign_headers(MSG_ID, ts, &body, &[], Some(&key));

    let public = parse_whpk(&whpk).unwrap();
    let verify = |id: &str, ts: i64, body: &[u8]| {
        headers.webhook_signature.split(' ').filter_map(|s| s.strip_prefix("v1a,")).any(|encoded| {
            let bytes: [u8; 64] = STANDARD.decode(encoded).unwrap().try_into().unwrap();
            let mut content = format!("{id}.{ts}.").into_bytes();
            content.extend_from_slice(body);
            public.verify(&content, &Signature::from_bytes(&bytes)).is_ok()
        })
    };
    assert!(verify(MSG_ID, ts, &body));
    assert!(!verify(MSG_ID, ts, b"{}"));
    assert!(!verify("msg_other", ts, &body));
    assert!(!verify(MSG_ID, ts + 1, &body));

    // A key-only endpoint's header carries nothing the symmetric verifier could accept.
    let stranger = WebhookSecret::from_random(rand::random());
    assert!(verifier(&stranger).verify(&body, &header_map(&headers)).is_err());
}
