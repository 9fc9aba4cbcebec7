//! Evaluating a policy over one change set. Every rule is evaluated; each rule that fires
//! contributes `warn` or `block` with its reason and evidence, and the outcome is the maximum
//! (`allow < warn < block`), so adding a finding can never make a decision more lenient.

use crate::decision::{Coverage, FiredRule, Outcome};
use crate::finding::Finding;
use crate::line::ChangedLine;

use super::{Policy, rules};

/// What a policy is evaluated over.
#[derive(Debug)]
pub struct PolicyInput<'a> {
    pub findings: &'a [Finding],
    pub lines: &'a [ChangedLine],
    pub coverage: &'a Coverage,
    pub detectors_incomplete: &'a [String],
}

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub outcome: Outcome,
    pub fired_rules: Vec<FiredRule>,
}

/// Evaluate every rule of `policy`; the outcome is the maximum over the rules that fired.
pub fn evaluate_policy(policy: &Policy, input: &PolicyInput<'_>) -> Evaluation {
    let open: Vec<&Finding> = input.findings.iter().filter(|f| f.is_open()).collect();
    let mut fired = Vec::new();
    rules::thresholds::evaluate(policy, &open, &mut fired);
    rules::coverage::evaluate(policy, input.lines, input.coverage, &mut fired);
    rules::attestation::evaluate(policy, input.lines, &mut fired);
    rules::paths::evaluate(policy, &policy.path_globs(), input.lines, &mut fired);
    rules::detection::evaluate(policy, input.detectors_incomplete, &mut fired);
    // A fired rule says `warn` or `block`; `allow` (left only in a policy that skipped
    // `Policy::parse`) turns the rule off rather than listing it.
    fired.retain(|r| r.outcome > Outcome::Allow);
    let outcome = fired.iter().map(|r| r.outcome).max().unwrap_or(Outcome::Allow);
    Evaluation { outcome, fired_rules: fired }
}
