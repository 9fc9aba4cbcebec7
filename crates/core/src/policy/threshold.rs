//! Count thresholds (`warn_at`, `block_at`) and the severity-keyed maps that hold them.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::decision::Outcome;
use crate::finding::Severity;

/// Fire `warn` at `warn_at` matching findings and `block` at `block_at`. Neither set: the
/// threshold never fires (in an agent override, that exempts the agent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_at: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_at: Option<u32>,
}

impl Threshold {
    pub fn warn(at: u32) -> Self {
        Self { warn_at: Some(at), block_at: None }
    }
    pub fn block(at: u32) -> Self {
        Self { warn_at: None, block_at: Some(at) }
    }
    pub fn warn_block(warn: u32, block: u32) -> Self {
        Self { warn_at: Some(warn), block_at: Some(block) }
    }

    /// What `count` matching findings contribute; `None` below every threshold. Rising in
    /// `count`, so more findings never give a milder outcome.
    pub fn outcome(&self, count: usize) -> Option<Outcome> {
        let reached = |at: Option<u32>| at.is_some_and(|at| count >= at as usize && count > 0);
        if reached(self.block_at) {
            Some(Outcome::Block)
        } else if reached(self.warn_at) {
            Some(Outcome::Warn)
        } else {
            None
        }
    }

    /// `warn at 1, block at 3`, for reasons.
    pub fn describe(&self) -> String {
        match (self.warn_at, self.block_at) {
            (Some(w), Some(b)) => format!("warn at {w}, block at {b}"),
            (Some(w), None) => format!("warn at {w}"),
            (None, Some(b)) => format!("block at {b}"),
            (None, None) => "none".into(),
        }
    }
}

/// A severity as a map key, read as a plain string so a bad key is reported at its own JSON
/// pointer (an enum key would leave the error's path with an unnamed segment).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct SeverityKey(Severity);

impl<'de> Deserialize<'de> for SeverityKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["info", "low", "medium", "high", "critical"];
        let name = String::deserialize(d)?;
        Severity::parse(&name).map(SeverityKey).ok_or_else(|| serde::de::Error::unknown_variant(&name, NAMES))
    }
}

/// `deserialize_with` for `BTreeMap<Severity, Threshold>` fields.
pub(super) fn severity_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Severity, Threshold>, D::Error> {
    let keyed = BTreeMap::<SeverityKey, Threshold>::deserialize(d)?;
    Ok(keyed.into_iter().map(|(key, threshold)| (key.0, threshold)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_blocks_from_block_at_and_warns_from_warn_at() {
        let t = Threshold::warn_block(1, 3);
        assert_eq!(t.outcome(0), None);
        assert_eq!(t.outcome(1), Some(Outcome::Warn));
        assert_eq!(t.outcome(2), Some(Outcome::Warn));
        assert_eq!(t.outcome(3), Some(Outcome::Block));
        assert_eq!(Threshold::default().outcome(100), None);
    }

    #[test]
    fn zero_findings_never_fire_even_at_a_zero_threshold() {
        assert_eq!(Threshold::block(0).outcome(0), None);
        assert_eq!(Threshold::block(0).outcome(1), Some(Outcome::Block));
    }
}
