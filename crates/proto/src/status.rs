//! gRPC error statuses in one shape for every Provenance service: the standard code, a message,
//! `google.rpc.ErrorInfo` (reason = the REST problem type's slug, domain `provenance.dev`, the
//! request id), `google.rpc.BadRequest` with one field violation per invalid field (named by the
//! same JSON pointer as the REST problem document), and `google.rpc.RetryInfo` when a retry
//! later will do.

use std::collections::HashMap;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The domain of every `ErrorInfo`.
pub const ERROR_DOMAIN: &str = "provenance.dev";

/// What a server error says, independent of the transport.
#[derive(Debug, Clone, Default)]
pub struct ErrorReport<'a> {
    /// The REST problem type's slug (`validation-error`, `not-found`, …).
    pub reason: &'a str,
    /// Human-readable message.
    pub message: String,
    /// `(JSON pointer, what is wrong)` per invalid field.
    pub fields: Vec<(String, String)>,
    /// The request id, also in the `x-request-id` response metadata.
    pub request_id: Option<&'a str>,
    /// When to try again.
    pub retry_after: Option<Duration>,
}

/// Build the status for `report` with `code`.
pub fn error_status(code: Code, report: ErrorReport<'_>) -> Status {
    let mut details = ErrorDetails::new();
    let mut metadata = HashMap::new();
    if let Some(id) = report.request_id {
        metadata.insert("request_id".to_string(), id.to_string());
    }
    details.set_error_info(report.reason, ERROR_DOMAIN, metadata);
    if !report.fields.is_empty() {
        details.set_bad_request(
            report
                .fields
                .into_iter()
                .map(|(field, description)| FieldViolation::new(field, description))
                .collect::<Vec<_>>(),
        );
    }
    if let Some(after) = report.retry_after {
        details.set_retry_info(Some(after));
    }
    Status::with_error_details(code, report.message, details)
}

/// The `(field, description)` pairs of a status' `BadRequest` details (empty without any).
pub fn field_violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| (v.field, v.description)).collect())
        .unwrap_or_default()
}

/// The `ErrorInfo` reason of a status (the REST problem slug), if it has one.
pub fn reason(status: &Status) -> Option<String> {
    status.get_details_error_info().map(|i| i.reason)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn details_survive_the_wire_form() {
        let status = error_status(
            Code::InvalidArgument,
            ErrorReport {
                reason: "validation-error",
                message: "2 invalid field(s)".into(),
                fields: vec![("/head_sha".into(), "is required".into()), ("/repo".into(), "must be owner/name".into())],
                request_id: Some("req_1"),
                retry_after: None,
            },
        );
        // What a client receives: the status rebuilt from the response headers.
        let http = status.into_http::<()>();
        let received = Status::from_header_map(http.headers()).expect("a status in the headers");
        assert_eq!(received.code(), Code::InvalidArgument);
        assert_eq!(received.message(), "2 invalid field(s)");
        assert_eq!(
            field_violations(&received),
            vec![("/head_sha".to_string(), "is required".to_string()), ("/repo".into(), "must be owner/name".into())]
        );
        assert_eq!(reason(&received).as_deref(), Some("validation-error"));
        let info = received.get_details_error_info().expect("error info");
        assert_eq!(info.metadata.get("request_id").map(String::as_str), Some("req_1"));
    }
}
