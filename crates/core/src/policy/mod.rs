//! Policy as code (SPEC §5): the versioned policy document, its parsing and validation, which
//! policy applies to a repository, and the monotone evaluation of every rule over one change set.
//!
//! The document format, every rule id and the shipped default are described in `docs/policy.md`.

mod default;
mod document;
mod evaluate;
mod globs;
mod rules;
mod selection;
mod threshold;
mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::decision::{Outcome, PolicyRef};
use crate::digest::canonical_sha256;
use crate::finding::Severity;
use crate::names::AgentId;

pub use default::DEFAULT_POLICY_YAML;
pub use evaluate::{Evaluation, PolicyInput, evaluate_policy};
pub use selection::select_policy;
pub use threshold::Threshold;

use globs::GlobCache;

/// The schema version of a policy document (`apiVersion`). Optional on input; always written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum PolicyApiVersion {
    #[default]
    #[serde(rename = "provenance.dev/policy/v1")]
    V1,
}

impl PolicyApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1 => "provenance.dev/policy/v1",
        }
    }
}

/// A versioned governance policy (SPEC §5). Only open findings count. Build one from a document
/// with [`Policy::parse`], which checks everything [`Deserialize`] alone cannot, or start from
/// [`Policy::default`] and set fields (a private glob cache rules out `Policy { .. }` literals
/// outside this crate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(rename = "apiVersion", default)]
    pub api_version: PolicyApiVersion,
    /// `[a-z0-9][a-z0-9._-]*`, at most 64 characters. May be left out of a document.
    #[serde(default)]
    pub id: String,
    /// Assigned by the server when a policy is stored; a document's own value is not trusted.
    #[serde(default)]
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The repositories the policy is for; empty: every repository.
    #[serde(default, skip_serializing_if = "PolicyScope::is_everywhere")]
    pub scope: PolicyScope,
    /// Among policies whose scope matches a repository equally well, the higher priority wins.
    #[serde(default)]
    pub priority: i32,
    /// Thresholds per severity, counting open findings of exactly that severity.
    #[serde(default, deserialize_with = "threshold::severity_map")]
    pub severity: BTreeMap<Severity, Threshold>,
    /// Thresholds per category (`secrets`, `sqli`, …).
    #[serde(default)]
    pub categories: BTreeMap<String, Threshold>,
    #[serde(default)]
    pub provenance: ProvenanceRule,
    /// Block when any line carries a `signature_invalid` flag.
    #[serde(default)]
    pub block_on_signature_invalid: bool,
    /// Outcome when a detector ran out of budget (`warn` by default); absent: not a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_detectors_incomplete: Option<Outcome>,
    /// Agents whose lines must carry a valid attestation signature.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_signed_agents: Vec<AgentId>,
    /// What an unsigned line of a `require_signed_agents` agent contributes (`block` by default).
    #[serde(default = "block", skip_serializing_if = "is_block")]
    pub require_signed_outcome: Outcome,
    /// Paths agents may not change alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathRule>,
    /// Per-agent thresholds that replace the global ones for that agent's findings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<AgentId, AgentOverride>,
    /// The compiled scope and path globs, built on first use (not part of the document).
    #[serde(skip)]
    globs: GlobCache,
}

/// The repositories a policy applies to: globs over `owner/name` (`acme/*`, `acme/payments-*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyScope {
    #[serde(default)]
    pub repos: Vec<String>,
}

impl PolicyScope {
    /// No globs: the policy is a catch-all.
    pub fn is_everywhere(&self) -> bool {
        self.repos.is_empty()
    }
}

/// A provenance requirement: share of changed lines whose author is known.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceRule {
    /// Below this coverage (percent, 0 to 100), the rule fires.
    #[serde(default)]
    pub min_coverage_percent: f64,
    /// `block` instead of `warn` when coverage is below the minimum.
    #[serde(default)]
    pub block_on_unknown: bool,
}

/// Paths agents may not change without a human co-author (or at all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    /// `[a-z0-9][a-z0-9_-]*`; the rule fires as `path.<name>`.
    pub name: String,
    /// Globs over repository-relative paths; `*` stays within a segment, `**` crosses them.
    #[serde(rename = "match")]
    pub patterns: Vec<String>,
    /// The agents the rule is for; absent: every agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<Vec<AgentId>>,
    /// Whether a human co-author makes an agent's change acceptable.
    #[serde(default = "yes")]
    pub allow_with_human_co_author: bool,
    #[serde(default = "block")]
    pub outcome: Outcome,
}

/// One agent's thresholds; each entry replaces the global threshold of the same severity or
/// category for that agent's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentOverride {
    #[serde(default, deserialize_with = "threshold::severity_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub severity: BTreeMap<Severity, Threshold>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, Threshold>,
}

fn block() -> Outcome {
    Outcome::Block
}

fn is_block(outcome: &Outcome) -> bool {
    *outcome == Outcome::Block
}

fn yes() -> bool {
    true
}

impl Policy {
    /// The policy's id, version and sha256 of its canonical JSON (the document's fields only).
    pub fn reference(&self) -> PolicyRef {
        PolicyRef {
            id: self.id.clone(),
            version: self.version,
            sha256: canonical_sha256(self).expect("a policy always serialises to JSON"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_digest_is_stable_and_follows_the_document() {
        assert_eq!(Policy::default().reference(), Policy::default().reference());
        let changed = Policy { version: 3, ..Policy::default() };
        assert_ne!(changed.reference().sha256, Policy::default().reference().sha256);
    }

    #[test]
    fn compiled_globs_are_not_part_of_the_digest_or_equality() {
        let fresh = Policy::default();
        let used = Policy::default();
        assert!(used.applies_to("acme/shop"));
        let _ = used.to_yaml();
        evaluate_policy(
            &used,
            &PolicyInput {
                findings: &[],
                lines: &[],
                coverage: &crate::decision::Coverage::default(),
                detectors_incomplete: &[],
            },
        );
        assert_eq!(fresh, used);
        assert_eq!(fresh.reference(), used.reference());
    }

    #[test]
    fn a_json_round_trip_gives_the_same_policy() {
        let p = Policy::default();
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"apiVersion\":\"provenance.dev/policy/v1\""), "{json}");
        let back: Policy = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}
