//! `JsonBody<T>`: a JSON request body whose errors are problem documents naming the field, like
//! every other bad input (400 for JSON that does not parse, 422 for a wrong or missing field).

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use provenance_core::validation::pointer_from_path;
use provenance_core::{FieldError, ValidationErrors};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::Malformed(FieldError::new("", e.body_text())))?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parse a JSON document as `T`, with the error naming the field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let pointer = pointer_from_path(e.path());
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                ApiError::Invalid(ValidationErrors::single(pointer, inner.to_string()))
            }
            _ => ApiError::Malformed(FieldError::new("", format!("the body is not valid JSON: {inner}"))),
        }
    })?;
    de.end().map_err(|e| ApiError::Malformed(FieldError::new("", format!("the body is not valid JSON: {e}"))))?;
    Ok(value)
}
