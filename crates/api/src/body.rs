//! `JsonBody<T>`: a JSON request body whose errors are problem documents naming the field, like
//! every other bad input (400 for JSON that does not parse, 422 for a wrong or missing field).

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use provenance_core::validation::{pointer_from_path, pointer_token};
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
                let pointer = missing_field_pointer(&pointer, &inner.to_string());
                ApiError::Invalid(ValidationErrors::single(pointer, inner.to_string()))
            }
            _ => ApiError::Malformed(FieldError::new("", format!("the body is not valid JSON: {inner}"))),
        }
    })?;
    de.end().map_err(|e| ApiError::Malformed(FieldError::new("", format!("the body is not valid JSON: {e}"))))?;
    Ok(value)
}

/// A missing field is reported at its parent; point at the field itself (`/days`, not ``).
fn missing_field_pointer(parent: &str, message: &str) -> String {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map_or_else(|| parent.to_string(), |(field, _)| format!("{parent}/{}", pointer_token(field)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        days: u32,
    }

    fn pointer_of(body: &str) -> String {
        match parse::<Outer>(body.as_bytes()) {
            Err(ApiError::Invalid(errors)) => errors.0[0].pointer.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_missing_field_is_named_by_its_own_pointer() {
        assert_eq!(pointer_of(r#"{"inner": {}}"#), "/inner/days");
        assert_eq!(pointer_of(r#"{}"#), "/inner");
        assert_eq!(pointer_of(r#"{"inner": {"days": -1}}"#), "/inner/days");
    }
}
