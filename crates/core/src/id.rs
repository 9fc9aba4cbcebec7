//! Resource ids: a short type prefix and a 26-character ULID (`an_01J…`), so ids sort by
//! creation time and say what they name.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The id does not have the expected `prefix_ULID` shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an id of the form {prefix}_<26-character ULID>")]
pub struct InvalidId {
    pub prefix: &'static str,
}

/// A ULID greater than the previous one of this process, even within one millisecond (where
/// plain ULIDs are random, so "newest first" would not hold for resources made together).
fn next_ulid() -> ulid::Ulid {
    static GENERATOR: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    // A poisoned lock still holds a valid generator; the random part overflowing within one
    // millisecond (after 2^80 ids) falls back to a fresh random ULID.
    let mut generator = GENERATOR.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, example = json!(concat!($prefix, "_01JDQ7Z4V3K8M2N5P6R7S8T9VW")))]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id for a new resource, greater than every id this process made before.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, next_ulid()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or(InvalidId { prefix: $prefix })?;
                let ulid = ulid::Ulid::from_string(rest).map_err(|_| InvalidId { prefix: $prefix })?;
                Ok(Self(format!("{}_{}", $prefix, ulid)))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// An analysis of one change set.
    AnalysisId, "an");
prefixed_id!(
    /// A finding of a detector on a changed line.
    FindingId, "fd");
prefixed_id!(
    /// A policy decision over one analysis.
    DecisionId, "pd");
prefixed_id!(
    /// An API key (the public half of `pvn_<id>_<secret>`).
    ApiKeyId, "key");
prefixed_id!(
    /// A public key registered for an agent, to verify its line attestations.
    AgentKeyId, "agk");
prefixed_id!(
    /// A tenant (organisation).
    TenantId, "tn");
prefixed_id!(
    /// A suppression of findings by fingerprint.
    SuppressionId, "sup");
prefixed_id!(
    /// A signed override of a `block` decision.
    OverrideId, "ov");
prefixed_id!(
    /// A webhook endpoint of a tenant.
    WebhookEndpointId, "wh");
prefixed_id!(
    /// A webhook message: one event, delivered to every subscribed endpoint.
    MessageId, "msg");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_parse_back() {
        let id = AnalysisId::generate();
        assert!(id.as_str().starts_with("an_"));
        assert_eq!(id.as_str().len(), 3 + 26);
        assert_eq!(id.as_str().parse::<AnalysisId>().unwrap(), id);
    }

    #[test]
    fn ids_made_one_after_another_sort_in_that_order() {
        let ids: Vec<AnalysisId> = (0..1000).map(|_| AnalysisId::generate()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "even within one millisecond");
    }

    #[test]
    fn an_id_with_another_prefix_is_rejected() {
        let id = FindingId::generate();
        assert!(id.as_str().parse::<AnalysisId>().is_err());
        assert!("an_not-a-ulid".parse::<AnalysisId>().is_err());
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let a = AnalysisId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = AnalysisId::generate();
        assert!(a < b);
    }
}
