//! `detectors.incomplete`: detection that ran out of budget or failed is partial evidence, and
//! the policy says what that is worth.

use crate::decision::FiredRule;
use crate::policy::Policy;

pub(in crate::policy) fn evaluate(policy: &Policy, incomplete: &[String], fired: &mut Vec<FiredRule>) {
    let Some(outcome) = policy.on_detectors_incomplete else { return };
    if incomplete.is_empty() {
        return;
    }
    fired.push(FiredRule {
        rule: "detectors.incomplete".into(),
        outcome,
        reason: format!("detection is partial: {} did not finish", incomplete.join(", ")),
        finding_ids: Vec::new(),
        lines: Vec::new(),
    });
}

#[cfg(test)]
mod tests {
    use crate::decision::{Coverage, Outcome};
    use crate::policy::{Policy, PolicyInput, evaluate_policy};

    fn evaluate(policy: &Policy, incomplete: &[String]) -> crate::policy::Evaluation {
        evaluate_policy(
            policy,
            &PolicyInput {
                findings: &[],
                lines: &[],
                coverage: &Coverage::default(),
                detectors_incomplete: incomplete,
            },
        )
    }

    #[test]
    fn partial_detection_warns_under_the_default_policy() {
        let e = evaluate(&Policy::default(), &["external:semgrep".to_string()]);
        assert_eq!(e.outcome, Outcome::Warn);
        assert_eq!(e.fired_rules[0].rule, "detectors.incomplete");
        assert_eq!(e.fired_rules[0].reason, "detection is partial: external:semgrep did not finish");
        assert_eq!(evaluate(&Policy::default(), &[]).outcome, Outcome::Allow);
    }

    #[test]
    fn partial_detection_is_no_rule_when_the_policy_says_nothing_or_allow() {
        let silent = Policy { on_detectors_incomplete: None, ..Policy::default() };
        assert!(evaluate(&silent, &["x".to_string()]).fired_rules.is_empty());
        let allow = Policy { on_detectors_incomplete: Some(Outcome::Allow), ..Policy::default() };
        assert!(evaluate(&allow, &["x".to_string()]).fired_rules.is_empty(), "a fired rule is warn or block");
    }
}
