//! Rules on attestation signatures: `attestation.signature_invalid` (a line's signature does not
//! verify) and `attestation.require_signed` (agents that must sign every line they write).

use crate::attribution::{AttributionSource, Contributor, flags};
use crate::decision::{FiredRule, Outcome};
use crate::line::ChangedLine;
use crate::policy::Policy;

use super::{agents_of, cite_lines};

pub(in crate::policy) fn evaluate(policy: &Policy, lines: &[ChangedLine], fired: &mut Vec<FiredRule>) {
    if policy.block_on_signature_invalid {
        let bad: Vec<&ChangedLine> =
            lines.iter().filter(|l| l.attribution.has_flag(flags::SIGNATURE_INVALID)).collect();
        if !bad.is_empty() {
            let reason = format!("{} line(s) carry an invalid attestation signature", bad.len());
            fired.push(cite_lines("attestation.signature_invalid".into(), Outcome::Block, reason, &bad));
        }
    }
    if !policy.require_signed_agents.is_empty() {
        let unsigned: Vec<&ChangedLine> = lines.iter().filter(|l| unsigned_by_required(policy, l)).collect();
        if !unsigned.is_empty() {
            let reason = format!(
                "{} line(s) by {} are not signed; these agents must sign every line: {}",
                unsigned.len(),
                agents_of(&unsigned),
                policy.require_signed_agents.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", "),
            );
            fired.push(cite_lines(
                "attestation.require_signed".into(),
                policy.require_signed_outcome,
                reason,
                &unsigned,
            ));
        }
    }
}

/// A line at head written by (or with) an agent that must sign, without a valid signature.
/// Deleted lines have no content at head to sign.
fn unsigned_by_required(policy: &Policy, line: &ChangedLine) -> bool {
    let a = &line.attribution;
    line.change_type.is_at_head()
        && matches!(a.contributor, Contributor::Ai | Contributor::Mixed)
        && a.source != AttributionSource::Signed
        && a.agent_id.as_ref().is_some_and(|agent| policy.require_signed_agents.contains(agent))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{by_agent, by_human, empty, evaluate, line};
    use crate::attribution::{AttributionSource, Contributor, flags};
    use crate::decision::Outcome;
    use crate::line::ChangeType;
    use crate::names::AgentId;
    use crate::policy::Policy;

    fn requiring(agents: &[&str]) -> Policy {
        Policy { require_signed_agents: agents.iter().map(|a| AgentId::parse(a).unwrap()).collect(), ..empty() }
    }

    #[test]
    fn an_invalid_signature_blocks_and_cites_the_line() {
        let mut bad = by_agent("devin");
        bad.flag(flags::SIGNATURE_INVALID);
        let lines = [line("a.py", 1, by_agent("devin")), line("a.py", 2, bad)];
        let e = evaluate(&Policy::default(), &[], &lines);
        assert_eq!(e.outcome, Outcome::Block);
        assert_eq!(e.fired_rules[0].rule, "attestation.signature_invalid");
        assert_eq!(e.fired_rules[0].lines.len(), 1);
        assert_eq!(e.fired_rules[0].lines[0].line_number, 2);
        let off = Policy { block_on_signature_invalid: false, ..Policy::default() };
        assert_eq!(evaluate(&off, &[], &lines).outcome, Outcome::Allow);
    }

    #[test]
    fn unsigned_lines_of_an_agent_that_must_sign_block_naming_the_agent_and_count() {
        let lines = [
            line("a.py", 1, by_agent("claude-code")),
            line("a.py", 2, by_agent("claude-code")),
            line("a.py", 3, by_agent("devin")),
        ];
        let e = evaluate(&requiring(&["claude-code"]), &[], &lines);
        assert_eq!(e.outcome, Outcome::Block);
        let rule = &e.fired_rules[0];
        assert_eq!(rule.rule, "attestation.require_signed");
        assert_eq!(
            rule.reason,
            "2 line(s) by claude-code are not signed; these agents must sign every line: claude-code"
        );
        assert_eq!(rule.lines.iter().map(|l| l.line_number).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn signed_lines_human_lines_and_deletions_satisfy_a_signing_requirement() {
        let mut signed = by_agent("claude-code");
        signed.source = AttributionSource::Signed;
        let mut deleted = line("a.py", 3, by_agent("claude-code"));
        deleted.change_type = ChangeType::Deleted;
        let lines = [line("a.py", 1, signed), line("a.py", 2, by_human()), deleted];
        assert_eq!(evaluate(&requiring(&["claude-code"]), &[], &lines).outcome, Outcome::Allow);
    }

    #[test]
    fn mixed_lines_of_an_agent_that_must_sign_count_and_the_outcome_is_configurable() {
        let mut mixed = by_agent("claude-code");
        mixed.contributor = Contributor::Mixed;
        let p = Policy { require_signed_outcome: Outcome::Warn, ..requiring(&["claude-code", "devin"]) };
        let e = evaluate(&p, &[], &[line("a.py", 1, mixed)]);
        assert_eq!(e.outcome, Outcome::Warn);
        assert!(e.fired_rules[0].reason.ends_with("claude-code, devin"), "{}", e.fired_rules[0].reason);
    }
}
