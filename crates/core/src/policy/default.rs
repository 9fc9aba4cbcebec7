//! The shipped default policy, built here and shipped as `default.yaml`; a test keeps the two
//! equal.

use std::collections::BTreeMap;

use crate::decision::Outcome;
use crate::finding::Severity;

use super::{PathRule, Policy, PolicyApiVersion, PolicyScope, ProvenanceRule, Threshold};

/// The shipped default as a document, as `docs/policy.md` shows it.
pub const DEFAULT_POLICY_YAML: &str = include_str!("default.yaml");

impl Default for Policy {
    /// The shipped default (`default`, version 2): critical findings block; high findings warn,
    /// and block from three; medium findings warn from five; any secret blocks; bad signatures
    /// block; partial detection warns; agent-only changes to `.github/workflows/**` block.
    /// Provenance coverage is reported but not enforced.
    fn default() -> Self {
        Self {
            api_version: PolicyApiVersion::V1,
            id: "default".into(),
            version: 2,
            description: Some(
                "The shipped default: critical findings block; high findings warn, and block from three; \
                 medium findings warn from five; any secret blocks; invalid signatures block; partial \
                 detection warns; agents may not change CI workflows without a human co-author."
                    .into(),
            ),
            scope: PolicyScope::default(),
            priority: 0,
            severity: BTreeMap::from([
                (Severity::Critical, Threshold::block(1)),
                (Severity::High, Threshold::warn_block(1, 3)),
                (Severity::Medium, Threshold::warn(5)),
            ]),
            categories: BTreeMap::from([("secrets".to_string(), Threshold::block(1))]),
            provenance: ProvenanceRule::default(),
            block_on_signature_invalid: true,
            on_detectors_incomplete: Some(Outcome::Warn),
            require_signed_agents: Vec::new(),
            require_signed_outcome: Outcome::Block,
            paths: vec![PathRule {
                name: "workflows".into(),
                patterns: vec![".github/workflows/**".into()],
                agents: None,
                allow_with_human_co_author: true,
                outcome: Outcome::Block,
            }],
            agents: BTreeMap::new(),
            globs: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_yaml_is_the_default_policy() {
        let shipped = Policy::parse(DEFAULT_POLICY_YAML).unwrap();
        assert_eq!(shipped.version, 0, "the document leaves the version to the server");
        assert_eq!(Policy { version: Policy::default().version, ..shipped }, Policy::default());
    }

    #[test]
    fn the_default_is_version_two_of_the_policy_named_default() {
        let r = Policy::default().reference();
        assert_eq!((r.id.as_str(), r.version), ("default", 2));
    }
}
