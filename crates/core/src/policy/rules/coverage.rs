//! `provenance.min_coverage`: the share of changed lines whose author is known must reach the
//! policy's minimum. A share, so unlike the other rules it can fall back below its threshold when
//! attributed lines are added.

use crate::attribution::Contributor;
use crate::decision::{Coverage, FiredRule, Outcome};
use crate::line::ChangedLine;
use crate::policy::Policy;

use super::cite_lines;

pub(in crate::policy) fn evaluate(
    policy: &Policy,
    lines: &[ChangedLine],
    coverage: &Coverage,
    fired: &mut Vec<FiredRule>,
) {
    let minimum = policy.provenance.min_coverage_percent;
    if coverage.lines_total == 0 || coverage.percent >= minimum || minimum.is_nan() {
        return;
    }
    let unknown: Vec<&ChangedLine> =
        lines.iter().filter(|l| l.attribution.contributor == Contributor::Unknown).collect();
    let outcome = if policy.provenance.block_on_unknown { Outcome::Block } else { Outcome::Warn };
    let reason = format!("provenance coverage {:.2}% is below the required {minimum:.2}%", coverage.percent);
    fired.push(cite_lines("provenance.min_coverage".into(), outcome, reason, &unknown));
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{by_agent, empty, evaluate, line};
    use crate::attribution::Attribution;
    use crate::decision::Outcome;
    use crate::policy::ProvenanceRule;

    #[test]
    fn coverage_below_the_minimum_warns_and_cites_the_unknown_lines() {
        let mut p = empty();
        p.provenance = ProvenanceRule { min_coverage_percent: 80.0, block_on_unknown: false };
        let lines = [line("a.py", 1, by_agent("devin")), line("a.py", 2, Attribution::unknown())];
        let e = evaluate(&p, &[], &lines);
        assert_eq!(e.outcome, Outcome::Warn);
        assert_eq!(e.fired_rules[0].rule, "provenance.min_coverage");
        assert_eq!(e.fired_rules[0].reason, "provenance coverage 50.00% is below the required 80.00%");
        assert_eq!(e.fired_rules[0].lines.len(), 1);
        assert_eq!(e.fired_rules[0].lines[0].line_number, 2);

        p.provenance.block_on_unknown = true;
        assert_eq!(evaluate(&p, &[], &lines).outcome, Outcome::Block);
    }

    #[test]
    fn coverage_at_the_minimum_or_an_empty_change_does_not_fire() {
        let mut p = empty();
        p.provenance = ProvenanceRule { min_coverage_percent: 50.0, block_on_unknown: true };
        let lines = [line("a.py", 1, by_agent("devin")), line("a.py", 2, Attribution::unknown())];
        assert_eq!(evaluate(&p, &[], &lines).outcome, Outcome::Allow);
        assert_eq!(evaluate(&p, &[], &[]).outcome, Outcome::Allow);
    }
}
