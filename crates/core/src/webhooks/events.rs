//! The messages of the events Provenance emits (SPEC §6): the type and body of each, built from
//! the state change that causes it. Bodies are `{type, timestamp, data}` ([`message_body`]).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{EventType, message_body};
use crate::analysis::{Analysis, AnalysisError};
use crate::decision::{Decision, Outcome};
use crate::suppression::FingerprintSuppression;

/// An event ready to be stored as a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMessage {
    pub event: EventType,
    /// The exact body every delivery attempt sends.
    pub body: String,
}

impl EventMessage {
    fn new(event: EventType, at: DateTime<Utc>, data: &Value) -> Self {
        // `message_body` writes JSON, which is UTF-8.
        Self { event, body: String::from_utf8_lossy(&message_body(event, at, data)).into_owned() }
    }
}

fn analysis_data(analysis: &Analysis) -> serde_json::Map<String, Value> {
    let Value::Object(map) = json!({
        "analysis_id": analysis.id,
        "repo": analysis.repo,
        "pr_number": analysis.pr_number,
        "base_sha": analysis.base_sha,
        "head_sha": analysis.head_sha,
    }) else {
        unreachable!("a JSON object literal")
    };
    map
}

/// `analysis.completed` and `decision.<outcome>` of a completed analysis.
pub fn completion_messages(
    analysis: &Analysis,
    decision: &Decision,
    findings_total: usize,
    at: DateTime<Utc>,
) -> Vec<EventMessage> {
    let mut data = analysis_data(analysis);
    data.insert("status".into(), json!("completed"));
    data.insert("decision_id".into(), json!(decision.id));
    data.insert("outcome".into(), json!(decision.outcome));
    data.insert("findings_total".into(), json!(findings_total));
    data.insert(
        "fired_rules".into(),
        decision
            .fired_rules
            .iter()
            .map(|r| json!({"rule": r.rule, "outcome": r.outcome, "reason": r.reason}))
            .collect(),
    );
    let data = Value::Object(data);
    let decision_event = match decision.outcome {
        Outcome::Allow => EventType::DecisionAllow,
        Outcome::Warn => EventType::DecisionWarn,
        Outcome::Block => EventType::DecisionBlock,
    };
    vec![EventMessage::new(EventType::AnalysisCompleted, at, &data), EventMessage::new(decision_event, at, &data)]
}

/// `analysis.failed`.
pub fn failure_message(analysis: &Analysis, error: &AnalysisError, at: DateTime<Utc>) -> EventMessage {
    let mut data = analysis_data(analysis);
    data.insert("status".into(), json!("failed"));
    data.insert("error".into(), json!({"code": error.code, "message": error.message}));
    EventMessage::new(EventType::AnalysisFailed, at, &Value::Object(data))
}

/// `finding.suppressed`.
pub fn suppression_message(suppression: &FingerprintSuppression, at: DateTime<Utc>) -> EventMessage {
    EventMessage::new(EventType::FindingSuppressed, at, &json!({"suppression": suppression}))
}

/// `webhook.test`: sent on request to one endpoint.
pub fn test_message(at: DateTime<Utc>) -> EventMessage {
    EventMessage::new(EventType::WebhookTest, at, &json!({"message": "a test event from Provenance"}))
}

/// `endpoint.disabled`: an endpoint stopped receiving (410 Gone, or failing for days).
pub fn endpoint_disabled_message(endpoint_id: &str, url: &str, reason: &str, at: DateTime<Utc>) -> EventMessage {
    EventMessage::new(
        EventType::EndpointDisabled,
        at,
        &json!({"endpoint_id": endpoint_id, "url": url, "reason": reason}),
    )
}

/// `message.attempt.exhausted`: every attempt of the schedule failed; the delivery is
/// dead-lettered (replay it to try again).
pub fn exhausted_message(
    message_id: &str,
    endpoint_id: &str,
    event_type: &str,
    attempts: u32,
    at: DateTime<Utc>,
) -> EventMessage {
    EventMessage::new(
        EventType::MessageAttemptExhausted,
        at,
        &json!({"message_id": message_id, "endpoint_id": endpoint_id, "event_type": event_type, "attempts": attempts}),
    )
}
