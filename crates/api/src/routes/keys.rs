//! `GET /v1/keys`: the public keys that verify this server's bundles, current and retired.
//! Public on purpose: verifying evidence must not need an account.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicKeyView {
    /// Lower-case hex sha256 of the raw 32-byte public key (the DSSE `keyid`).
    pub keyid: String,
    pub algorithm: String,
    pub public_key_pem: String,
    /// Standard base64 of the raw 32-byte public key.
    pub public_key_base64: String,
    pub valid_from: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    pub keys: Vec<PublicKeyView>,
}

/// Signing keys, current and retired.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", responses((status = 200, body = KeyList)))]
pub async fn list(State(state): State<AppState>) -> Json<KeyList> {
    let keys = state
        .public_keys
        .iter()
        .map(|k| PublicKeyView {
            keyid: k.keyid.clone(),
            algorithm: k.algorithm.clone(),
            public_key_pem: k.public_key_pem.clone(),
            public_key_base64: k.public_key_base64.clone(),
            valid_from: k.valid_from,
            retired_at: k.retired_at,
        })
        .collect();
    Json(KeyList { keys })
}
