//! The webhook events of a completed analysis (SPEC §6): `analysis.completed` and
//! `decision.<outcome>`, each a message `{type, timestamp, data}` queued with the completion.

use chrono::{DateTime, Utc};
use provenance_core::webhooks::{EventType, message_body};
use provenance_core::{Analysis, Decision, MessageId, Outcome};
use provenance_store::WebhookEvent;
use serde_json::json;

pub fn completion_events(
    analysis: &Analysis,
    decision: &Decision,
    findings_total: usize,
    at: DateTime<Utc>,
) -> Vec<WebhookEvent> {
    let data = json!({
        "analysis_id": analysis.id,
        "repo": analysis.repo,
        "pr_number": analysis.pr_number,
        "base_sha": analysis.base_sha,
        "head_sha": analysis.head_sha,
        "status": "completed",
        "decision_id": decision.id,
        "outcome": decision.outcome,
        "findings_total": findings_total,
        "fired_rules": decision.fired_rules.iter().map(|r| json!({"rule": r.rule, "outcome": r.outcome, "reason": r.reason})).collect::<Vec<_>>(),
    });
    let decision_event = match decision.outcome {
        Outcome::Allow => EventType::DecisionAllow,
        Outcome::Warn => EventType::DecisionWarn,
        Outcome::Block => EventType::DecisionBlock,
    };
    [EventType::AnalysisCompleted, decision_event]
        .into_iter()
        .map(|event| WebhookEvent {
            message_id: MessageId::generate(),
            event_type: event.as_str().to_string(),
            payload: String::from_utf8_lossy(&message_body(event, at, &data)).into_owned(),
        })
        .collect()
}
