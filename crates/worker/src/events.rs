//! The webhook events of a completed analysis (SPEC §6), as store events.

use chrono::{DateTime, Utc};
use provenance_core::webhooks::events::completion_messages;
use provenance_core::{Analysis, Decision};
use provenance_store::WebhookEvent;

pub fn completion_events(
    analysis: &Analysis,
    decision: &Decision,
    findings_total: usize,
    at: DateTime<Utc>,
) -> Vec<WebhookEvent> {
    completion_messages(analysis, decision, findings_total, at).into_iter().map(WebhookEvent::from).collect()
}
