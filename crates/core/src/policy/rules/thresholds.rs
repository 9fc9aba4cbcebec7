//! Count rules over open findings: the global thresholds per severity and category, and the
//! per-agent overrides that replace them for one agent's findings. Every finding is counted by
//! exactly one threshold per severity and per category, so one more finding never lowers an
//! outcome.

use crate::decision::FiredRule;
use crate::finding::Finding;
use crate::policy::{AgentOverride, Policy, Threshold};

use super::cite_findings;

pub(in crate::policy) fn evaluate(policy: &Policy, open: &[&Finding], fired: &mut Vec<FiredRule>) {
    let override_of = |f: &Finding| f.attribution.agent_id.as_ref().and_then(|agent| policy.agents.get(agent));
    for (severity, threshold) in &policy.severity {
        let hits: Vec<&Finding> = open
            .iter()
            .copied()
            .filter(|f| f.severity == *severity)
            .filter(|f| override_of(f).is_none_or(|o| !o.severity.contains_key(severity)))
            .collect();
        let what = format!("{} open {} finding(s)", hits.len(), severity.as_str());
        fire(fired, format!("severity.{}", severity.as_str()), threshold, &hits, what);
    }
    for (category, threshold) in &policy.categories {
        let hits: Vec<&Finding> = open
            .iter()
            .copied()
            .filter(|f| &f.category == category)
            .filter(|f| override_of(f).is_none_or(|o| !o.categories.contains_key(category)))
            .collect();
        let what = format!("{} open {category} finding(s)", hits.len());
        fire(fired, format!("category.{category}"), threshold, &hits, what);
    }
    for (agent, overrides) in &policy.agents {
        let theirs: Vec<&Finding> =
            open.iter().copied().filter(|f| f.attribution.agent_id.as_ref() == Some(agent)).collect();
        evaluate_override(agent.as_str(), overrides, &theirs, fired);
    }
}

/// The rules of one agent's overrides, over that agent's open findings.
fn evaluate_override(agent: &str, overrides: &AgentOverride, theirs: &[&Finding], fired: &mut Vec<FiredRule>) {
    for (severity, threshold) in &overrides.severity {
        let hits: Vec<&Finding> = theirs.iter().copied().filter(|f| f.severity == *severity).collect();
        let what = format!("{} open {} finding(s) by {agent}", hits.len(), severity.as_str());
        fire(fired, format!("agents.{agent}.severity.{}", severity.as_str()), threshold, &hits, what);
    }
    for (category, threshold) in &overrides.categories {
        let hits: Vec<&Finding> = theirs.iter().copied().filter(|f| &f.category == category).collect();
        let what = format!("{} open {category} finding(s) by {agent}", hits.len());
        fire(fired, format!("agents.{agent}.category.{category}"), threshold, &hits, what);
    }
}

fn fire(fired: &mut Vec<FiredRule>, rule: String, threshold: &Threshold, hits: &[&Finding], what: String) {
    if let Some(outcome) = threshold.outcome(hits.len()) {
        let reason = format!("{what} (threshold {})", threshold.describe());
        fired.push(cite_findings(rule, outcome, reason, hits));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::fixtures::{by_agent, empty, evaluate, finding};
    use crate::attribution::Attribution;
    use crate::decision::Outcome;
    use crate::finding::{FindingStatus, Severity};
    use crate::names::AgentId;
    use crate::policy::{AgentOverride, Policy, Threshold};

    fn rules(e: &crate::policy::Evaluation) -> Vec<&str> {
        e.fired_rules.iter().map(|r| r.rule.as_str()).collect()
    }

    #[test]
    fn no_findings_allow_under_the_default_policy() {
        let e = evaluate(&Policy::default(), &[], &[]);
        assert_eq!(e.outcome, Outcome::Allow);
        assert!(e.fired_rules.is_empty());
    }

    #[test]
    fn one_high_finding_warns_and_cites_it() {
        let f = finding(Severity::High, "sqli", 128, Attribution::unknown());
        let e = evaluate(&Policy::default(), std::slice::from_ref(&f), &[]);
        assert_eq!(e.outcome, Outcome::Warn);
        assert_eq!(e.fired_rules[0].rule, "severity.high");
        assert_eq!(e.fired_rules[0].finding_ids, vec![f.id.clone()]);
        assert_eq!(e.fired_rules[0].lines[0].line_number, 128);
        assert_eq!(e.fired_rules[0].reason, "1 open high finding(s) (threshold warn at 1, block at 3)");
    }

    #[test]
    fn a_critical_finding_blocks_even_next_to_warnings() {
        let e = evaluate(
            &Policy::default(),
            &[
                finding(Severity::High, "sqli", 1, Attribution::unknown()),
                finding(Severity::Critical, "code_execution", 2, Attribution::unknown()),
            ],
            &[],
        );
        assert_eq!(e.outcome, Outcome::Block);
        assert_eq!(rules(&e), ["severity.high", "severity.critical"], "every rule is evaluated and reported");
    }

    #[test]
    fn a_category_threshold_counts_findings_of_that_category_only() {
        let mut p = empty();
        p.categories.insert("secrets".into(), Threshold::block(1));
        let sqli = [finding(Severity::Low, "sqli", 1, Attribution::unknown())];
        assert_eq!(evaluate(&p, &sqli, &[]).outcome, Outcome::Allow);
        let secret = [finding(Severity::Low, "secrets", 1, Attribution::unknown())];
        let e = evaluate(&p, &secret, &[]);
        assert_eq!((e.outcome, rules(&e)), (Outcome::Block, vec!["category.secrets"]));
    }

    #[test]
    fn suppressed_findings_do_not_count() {
        let mut f = finding(Severity::Critical, "secrets", 1, Attribution::unknown());
        f.status = FindingStatus::Suppressed;
        assert_eq!(evaluate(&Policy::default(), &[f], &[]).outcome, Outcome::Allow);
    }

    fn with_override(agent: &str, severity: Severity, threshold: Threshold) -> Policy {
        let mut p = empty();
        p.severity.insert(Severity::High, Threshold::warn(1));
        p.agents.insert(
            AgentId::parse(agent).unwrap(),
            AgentOverride { severity: BTreeMap::from([(severity, threshold)]), ..Default::default() },
        );
        p
    }

    #[test]
    fn an_agent_override_replaces_the_global_threshold_for_that_agent_only() {
        let p = with_override("devin", Severity::High, Threshold::block(1));
        let devin = [finding(Severity::High, "sqli", 1, by_agent("devin"))];
        let e = evaluate(&p, &devin, &[]);
        assert_eq!((e.outcome, rules(&e)), (Outcome::Block, vec!["agents.devin.severity.high"]));
        assert_eq!(e.fired_rules[0].reason, "1 open high finding(s) by devin (threshold block at 1)");

        let claude = [finding(Severity::High, "sqli", 1, by_agent("claude-code"))];
        let e = evaluate(&p, &claude, &[]);
        assert_eq!((e.outcome, rules(&e)), (Outcome::Warn, vec!["severity.high"]));
    }

    #[test]
    fn an_override_without_an_entry_falls_back_to_the_global_threshold() {
        let p = with_override("devin", Severity::Critical, Threshold::block(1));
        let e = evaluate(&p, &[finding(Severity::High, "sqli", 1, by_agent("devin"))], &[]);
        assert_eq!((e.outcome, rules(&e)), (Outcome::Warn, vec!["severity.high"]));
    }

    #[test]
    fn an_empty_override_threshold_exempts_the_agent() {
        let p = with_override("devin", Severity::High, Threshold::default());
        let e = evaluate(&p, &[finding(Severity::High, "sqli", 1, by_agent("devin"))], &[]);
        assert_eq!(e.outcome, Outcome::Allow);
    }

    #[test]
    fn a_category_override_replaces_the_global_category_threshold() {
        let mut p = empty();
        p.categories.insert("crypto".into(), Threshold::warn(1));
        p.agents.insert(
            AgentId::parse("devin").unwrap(),
            AgentOverride {
                categories: BTreeMap::from([("crypto".into(), Threshold::block(2))]),
                ..Default::default()
            },
        );
        let one = [finding(Severity::Low, "crypto", 1, by_agent("devin"))];
        assert_eq!(evaluate(&p, &one, &[]).outcome, Outcome::Allow);
        let two = [one[0].clone(), finding(Severity::Low, "crypto", 2, by_agent("devin"))];
        let e = evaluate(&p, &two, &[]);
        assert_eq!((e.outcome, rules(&e)), (Outcome::Block, vec!["agents.devin.category.crypto"]));
        assert_eq!(e.fired_rules[0].finding_ids.len(), 2);
    }
}
