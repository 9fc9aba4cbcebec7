//! The event types a webhook endpoint can subscribe to, named as Standard Webhooks recommends:
//! full-stop delimited, grouped hierarchically.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What happened. Serialised as its dotted name (`analysis.completed`), which is also the
/// `type` of the message body and the value of an endpoint's event filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventType {
    /// An analysis finished: attribution, detection and the decision are stored.
    #[serde(rename = "analysis.completed")]
    AnalysisCompleted,
    /// An analysis could not be finished (bad input past ingestion, a detector that failed).
    #[serde(rename = "analysis.failed")]
    AnalysisFailed,
    /// A decision came out `allow`.
    #[serde(rename = "decision.allow")]
    DecisionAllow,
    /// A decision came out `warn`.
    #[serde(rename = "decision.warn")]
    DecisionWarn,
    /// A decision came out `block`.
    #[serde(rename = "decision.block")]
    DecisionBlock,
    /// A finding was suppressed by a person or a suppression rule.
    #[serde(rename = "finding.suppressed")]
    FindingSuppressed,
    /// Operational: an endpoint was disabled (it answered `410 Gone`, or failed for 5 days).
    #[serde(rename = "endpoint.disabled")]
    EndpointDisabled,
    /// Operational: a message used up every attempt of its retry schedule and was dead-lettered.
    #[serde(rename = "message.attempt.exhausted")]
    MessageAttemptExhausted,
    /// Sent on request to check that an endpoint receives and verifies webhooks.
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl EventType {
    /// Every event type, in declaration (and `Ord`) order.
    pub const ALL: [Self; 9] = [
        Self::AnalysisCompleted,
        Self::AnalysisFailed,
        Self::DecisionAllow,
        Self::DecisionWarn,
        Self::DecisionBlock,
        Self::FindingSuppressed,
        Self::EndpointDisabled,
        Self::MessageAttemptExhausted,
        Self::WebhookTest,
    ];

    /// The dotted name, exactly as it is serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AnalysisCompleted => "analysis.completed",
            Self::AnalysisFailed => "analysis.failed",
            Self::DecisionAllow => "decision.allow",
            Self::DecisionWarn => "decision.warn",
            Self::DecisionBlock => "decision.block",
            Self::FindingSuppressed => "finding.suppressed",
            Self::EndpointDisabled => "endpoint.disabled",
            Self::MessageAttemptExhausted => "message.attempt.exhausted",
            Self::WebhookTest => "webhook.test",
        }
    }

    /// The event type with this exact dotted name (case-sensitive), if there is one.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_serialises_as_its_dotted_name_and_parses_back() {
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).ok(), Some(serde_json::Value::from(t.as_str())));
            assert_eq!(serde_json::from_value::<EventType>(t.as_str().into()).ok(), Some(t));
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(t.to_string(), t.as_str());
        }
    }

    #[test]
    fn unknown_or_differently_cased_names_do_not_parse() {
        assert_eq!(EventType::parse("analysis.COMPLETED"), None);
        assert_eq!(EventType::parse("analysis_completed"), None);
        assert_eq!(EventType::parse(""), None);
        assert!(serde_json::from_str::<EventType>("\"decision.deny\"").is_err());
    }

    #[test]
    fn all_lists_each_type_once_in_order() {
        let mut sorted = EventType::ALL.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, EventType::ALL.to_vec());
        assert_eq!(EventType::parse("message.attempt.exhausted"), Some(EventType::MessageAttemptExhausted));
    }
}
