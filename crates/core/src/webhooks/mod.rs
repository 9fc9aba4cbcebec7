//! Webhooks as Standard Webhooks 1.0 defines them (SPEC §6): event types, secrets, signatures,
//! the message body, the retry schedule, attempt outcomes, endpoint validation and the SSRF guard.
//!
//! Everything here decides and encodes; nothing sends. The worker supplies the clock (`now`), the
//! randomness (key bytes, jitter units) and the HTTP client, and stores what these functions say.

mod attempt;
mod endpoint;
mod event_type;
pub mod events;
mod message;
mod retry;
mod secret;
mod signature;
pub mod ssrf;

pub use attempt::{AttemptOutcome, MAX_RESPONSE_BYTES, MAX_RETRY_AFTER, classify, truncate_response};
pub use endpoint::{
    EndpointUrl, MAX_CUSTOM_HEADERS, MAX_URL_LEN, RESERVED_HEADERS, validate_endpoint_url, validate_headers,
};
pub use event_type::EventType;
pub use message::message_body;
pub use retry::{DISABLE_AFTER_FAILING_FOR, JITTER, RetrySchedule, jittered, next_delay, should_disable};
pub use secret::{SecretError, WebhookSecret, parse_whpk, parse_whsk, public_key_whpk, signing_key_whsk};
pub use signature::{
    HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, SignedHeaders, sign_headers, sign_v1, sign_v1a, signature_header,
    signed_content,
};
