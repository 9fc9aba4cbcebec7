//! What a well-typed policy document must still satisfy: names, globs that compile, thresholds
//! that make sense, outcomes a rule can contribute. Every problem is collected, each at the
//! JSON pointer of its field.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::decision::Outcome;
use crate::finding::Severity;
use crate::validation::{ValidationErrors, pointer_token};

use super::globs::{path_glob, repo_glob};
use super::{Policy, Threshold};

/// The longest policy id and path rule name.
const MAX_NAME: usize = 64;

pub(super) fn check(policy: &Policy, document: &Value) -> ValidationErrors {
    let mut errors = ValidationErrors::default();
    if document.get("id").is_some() && !is_name(&policy.id, true) {
        errors.push("/id", "must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");
    }
    for (i, pattern) in policy.scope.repos.iter().enumerate() {
        check_repo_glob(&mut errors, &format!("/scope/repos/{i}"), pattern);
    }
    check_thresholds(&mut errors, "", &policy.severity, &policy.categories);
    let coverage = policy.provenance.min_coverage_percent;
    if !(0.0..=100.0).contains(&coverage) {
        errors.push("/provenance/min_coverage_percent", "must be a number from 0 to 100");
    }
    if policy.on_detectors_incomplete == Some(Outcome::Allow) {
        errors.push("/on_detectors_incomplete", "must be warn or block; leave it out to ignore partial detection");
    }
    if policy.require_signed_outcome == Outcome::Allow {
        errors.push("/require_signed_outcome", "must be warn or block");
    }
    check_path_rules(&mut errors, policy);
    for (agent, overrides) in &policy.agents {
        let at = format!("/agents/{}", pointer_token(agent.as_str()));
        check_thresholds(&mut errors, &at, &overrides.severity, &overrides.categories);
    }
    errors
}

/// `[a-z0-9][a-z0-9_-]*` (with `.` too for policy ids), at most [`MAX_NAME`] characters.
fn is_name(name: &str, dots: bool) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.len() <= MAX_NAME
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' || (dots && c == '.'))
}

fn check_repo_glob(errors: &mut ValidationErrors, at: &str, pattern: &str) {
    if !pattern.contains('/') {
        errors.push(at, "must be a glob over owner/name, e.g. acme/* or acme/payments-*");
    } else if let Err(e) = repo_glob(pattern) {
        errors.push(at, e.to_string());
    }
}

fn check_thresholds(
    errors: &mut ValidationErrors,
    at: &str,
    severity: &BTreeMap<Severity, Threshold>,
    categories: &BTreeMap<String, Threshold>,
) {
    for (s, threshold) in severity {
        check_threshold(errors, &format!("{at}/severity/{}", s.as_str()), threshold);
    }
    for (category, threshold) in categories {
        let here = format!("{at}/categories/{}", pointer_token(category));
        if category.is_empty() || category.chars().any(char::is_whitespace) {
            errors.push(&here, "a category is a name without spaces, e.g. secrets or sqli");
        }
        check_threshold(errors, &here, threshold);
    }
}

fn check_threshold(errors: &mut ValidationErrors, at: &str, threshold: &Threshold) {
    for (field, value) in [("warn_at", threshold.warn_at), ("block_at", threshold.block_at)] {
        if value == Some(0) {
            errors.push(format!("{at}/{field}"), "must be at least 1");
        }
    }
    if let (Some(warn), Some(block)) = (threshold.warn_at, threshold.block_at)
        && warn > block
    {
        errors.push(at, format!("warn_at ({warn}) must not be above block_at ({block})"));
    }
}

fn check_path_rules(errors: &mut ValidationErrors, policy: &Policy) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, rule) in policy.paths.iter().enumerate() {
        let at = format!("/paths/{i}");
        if !is_name(&rule.name, false) {
            errors.push(
                format!("{at}/name"),
                "must be 1 to 64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit",
            );
        } else if let Some(first) = seen.insert(&rule.name, i) {
            errors.push(format!("{at}/name"), format!("the name is already used by /paths/{first}"));
            seen.insert(&rule.name, first);
        }
        if rule.patterns.is_empty() {
            errors.push(format!("{at}/match"), "must list at least one path glob");
        }
        for (j, pattern) in rule.patterns.iter().enumerate() {
            let here = format!("{at}/match/{j}");
            if pattern.is_empty() {
                errors.push(here, "must not be empty");
            } else if pattern.starts_with('/') {
                errors.push(here, "paths are relative to the repository root: drop the leading '/'");
            } else if let Err(e) = path_glob(pattern) {
                errors.push(here, e.to_string());
            }
        }
        if rule.agents.as_ref().is_some_and(Vec::is_empty) {
            errors.push(format!("{at}/agents"), "must name at least one agent; leave it out to cover every agent");
        }
        if rule.outcome == Outcome::Allow {
            errors.push(format!("{at}/outcome"), "must be warn or block");
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::Policy;

    fn pointers(text: &str) -> Vec<String> {
        Policy::parse(text).expect_err("the document is invalid").0.into_iter().map(|e| e.pointer).collect()
    }

    #[test]
    fn every_semantic_error_is_reported_at_once() {
        let text = "
id: Bad Id
scope: {repos: ['acme', 'acme/[x']}
severity:
  high: {warn_at: 5, block_at: 3}
  low: {warn_at: 0}
categories:
  'has space': {block_at: 1}
provenance: {min_coverage_percent: 120}
on_detectors_incomplete: allow
require_signed_outcome: allow
paths:
  - {name: ok, match: ['/abs/**', 'a/[b', ''], agents: [], outcome: allow}
  - {name: ok, match: []}
  - {name: Not_ok, match: ['x/**']}
agents:
  devin:
    severity: {critical: {warn_at: 2, block_at: 1}}
";
        assert_eq!(
            pointers(text),
            [
                "/id",
                "/scope/repos/0",
                "/scope/repos/1",
                "/severity/low/warn_at",
                "/severity/high",
                "/categories/has space",
                "/provenance/min_coverage_percent",
                "/on_detectors_incomplete",
                "/require_signed_outcome",
                "/paths/0/match/0",
                "/paths/0/match/1",
                "/paths/0/match/2",
                "/paths/0/agents",
                "/paths/0/outcome",
                "/paths/1/name",
                "/paths/1/match",
                "/paths/2/name",
                "/agents/devin/severity/critical",
            ]
        );
    }

    #[test]
    fn an_absent_id_is_fine_but_an_empty_one_is_not() {
        assert!(Policy::parse("priority: 1\n").is_ok());
        assert_eq!(pointers("id: ''\n"), ["/id"]);
        assert!(Policy::parse("id: acme.payments_v2-strict\n").is_ok());
        assert_eq!(pointers(&format!("id: {}\n", "a".repeat(65))), ["/id"]);
    }

    #[test]
    fn a_bad_glob_is_named_with_the_reason() {
        let e = Policy::parse("paths: [{name: w, match: ['a/{b']}]\n").unwrap_err().0;
        assert_eq!(e[0].pointer, "/paths/0/match/0");
        assert!(e[0].detail.contains("unclosed alternate group"), "{}", e[0].detail);
    }

    #[test]
    fn coverage_must_be_a_percentage() {
        assert_eq!(pointers("provenance: {min_coverage_percent: -1}\n"), ["/provenance/min_coverage_percent"]);
        assert!(Policy::parse("provenance: {min_coverage_percent: 100}\n").is_ok());
        // YAML's .nan has no JSON form; it is read as null, which is not a number.
        assert_eq!(pointers("provenance: {min_coverage_percent: .nan}\n"), ["/provenance/min_coverage_percent"]);
    }
}
