//! `path.<name>`: paths agents may not change alone (`.github/workflows/**`, `**/migrations/**`).
//! A changed line in a matching file fires the rule when an agent wrote it (contributor `ai`, or
//! `mixed`) and, unless the rule says co-authorship does not help, no human co-authored it.

use std::collections::BTreeSet;

use crate::attribution::{Attribution, Contributor};
use crate::decision::FiredRule;
use crate::line::ChangedLine;
use crate::policy::globs::Matcher;
use crate::policy::{PathRule, Policy};

use super::{agents_of, cite_lines};

/// Files named in a reason before the rest are only counted.
const FILES_NAMED: usize = 3;

pub(in crate::policy) fn evaluate(
    policy: &Policy,
    globs: &[Matcher],
    lines: &[ChangedLine],
    fired: &mut Vec<FiredRule>,
) {
    for (rule, matcher) in policy.paths.iter().zip(globs) {
        let hits: Vec<&ChangedLine> =
            lines.iter().filter(|l| matcher.is_match(l.file_path.as_str()) && offends(rule, &l.attribution)).collect();
        if hits.is_empty() {
            continue;
        }
        let patterns = rule.patterns.join(", ");
        let reason = if rule.allow_with_human_co_author {
            format!(
                "{} line(s) in {} changed by {} without a human co-author ({patterns})",
                hits.len(),
                files_of(&hits),
                agents_of(&hits)
            )
        } else {
            format!(
                "{} line(s) in {} changed by {}; agents may not change {patterns}",
                hits.len(),
                files_of(&hits),
                agents_of(&hits)
            )
        };
        fired.push(cite_lines(format!("path.{}", rule.name), rule.outcome, reason, &hits));
    }
}

/// Whether a line with this attribution breaks the rule (its path already matches).
fn offends(rule: &PathRule, a: &Attribution) -> bool {
    let by_agent = matches!(a.contributor, Contributor::Ai | Contributor::Mixed);
    let named = rule.agents.as_ref().is_none_or(|agents| a.agent_id.as_ref().is_some_and(|id| agents.contains(id)));
    by_agent && named && !(rule.allow_with_human_co_author && a.is_human_co_authored())
}

/// `a.yml, b.yml and 2 more file(s)`, for reasons.
fn files_of(lines: &[&ChangedLine]) -> String {
    let files: BTreeSet<&str> = lines.iter().map(|l| l.file_path.as_str()).collect();
    let named: Vec<&str> = files.iter().take(FILES_NAMED).copied().collect();
    match files.len().saturating_sub(FILES_NAMED) {
        0 => named.join(", "),
        more => format!("{} and {more} more file(s)", named.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{by_agent, by_human, empty, evaluate, line};
    use crate::attribution::{Attribution, Contributor, flags};
    use crate::decision::Outcome;
    use crate::names::AgentId;
    use crate::policy::{PathRule, Policy};

    fn rule(name: &str, patterns: &[&str]) -> PathRule {
        PathRule {
            name: name.into(),
            patterns: patterns.iter().map(|p| p.to_string()).collect(),
            agents: None,
            allow_with_human_co_author: true,
            outcome: Outcome::Block,
        }
    }

    fn with(rules: Vec<PathRule>) -> Policy {
        Policy { paths: rules, ..empty() }
    }

    fn mixed(agent: &str) -> Attribution {
        Attribution { contributor: Contributor::Mixed, ..by_agent(agent) }
    }

    fn co_authored(agent: &str) -> Attribution {
        let mut a = by_agent(agent);
        a.flag(flags::HUMAN_CO_AUTHOR);
        a
    }

    #[test]
    fn block_outcome_when_an_agent_edits_a_workflow_without_a_human_co_author() {
        let p = with(vec![rule("workflows", &[".github/workflows/**"])]);
        let lines = [
            line(".github/workflows/ci.yml", 3, by_agent("claude-code")),
            line(".github/workflows/ci.yml", 4, by_agent("claude-code")),
            line("src/main.rs", 1, by_agent("claude-code")),
        ];
        let e = evaluate(&p, &[], &lines);
        assert_eq!(e.outcome, Outcome::Block);
        let fired = &e.fired_rules[0];
        assert_eq!(fired.rule, "path.workflows");
        assert_eq!(
            fired.lines.iter().map(|l| (l.file_path.as_str(), l.line_number)).collect::<Vec<_>>(),
            [(".github/workflows/ci.yml", 3), (".github/workflows/ci.yml", 4)]
        );
        assert_eq!(
            fired.reason,
            "2 line(s) in .github/workflows/ci.yml changed by claude-code without a human co-author \
             (.github/workflows/**)"
        );
    }

    #[test]
    fn a_human_co_author_or_a_mixed_line_makes_the_change_acceptable() {
        let p = with(vec![rule("workflows", &[".github/workflows/**"])]);
        let lines = [
            line(".github/workflows/ci.yml", 3, mixed("claude-code")),
            line(".github/workflows/ci.yml", 4, co_authored("claude-code")),
        ];
        assert_eq!(evaluate(&p, &[], &lines).outcome, Outcome::Allow);
    }

    #[test]
    fn without_the_co_author_allowance_agents_may_not_touch_the_paths_at_all() {
        let p = with(vec![PathRule { allow_with_human_co_author: false, ..rule("migrations", &["**/migrations/**"]) }]);
        let lines =
            [line("db/migrations/0001.sql", 1, mixed("devin")), line("migrations/0002.sql", 1, co_authored("devin"))];
        let e = evaluate(&p, &[], &lines);
        assert_eq!(e.outcome, Outcome::Block);
        assert_eq!(e.fired_rules[0].lines.len(), 2);
        assert!(
            e.fired_rules[0].reason.ends_with("agents may not change **/migrations/**"),
            "{}",
            e.fired_rules[0].reason
        );
    }

    #[test]
    fn human_and_unknown_lines_never_fire_a_path_rule() {
        let p =
            with(vec![PathRule { allow_with_human_co_author: false, ..rule("workflows", &[".github/workflows/**"]) }]);
        let lines = [
            line(".github/workflows/ci.yml", 1, by_human()),
            line(".github/workflows/ci.yml", 2, Attribution::unknown()),
        ];
        assert_eq!(evaluate(&p, &[], &lines).outcome, Outcome::Allow);
    }

    #[test]
    fn a_rule_naming_agents_applies_to_those_agents_only() {
        let p = with(vec![PathRule {
            agents: Some(vec![AgentId::parse("devin").unwrap()]),
            outcome: Outcome::Warn,
            ..rule("infra", &["infra/**", "*.tf"])
        }]);
        let claude = [line("infra/main.tf", 1, by_agent("claude-code"))];
        assert_eq!(evaluate(&p, &[], &claude).outcome, Outcome::Allow);
        let devin = [line("main.tf", 1, by_agent("devin"))];
        let e = evaluate(&p, &[], &devin);
        assert_eq!((e.outcome, e.fired_rules[0].rule.as_str()), (Outcome::Warn, "path.infra"));
    }

    #[test]
    fn each_path_rule_fires_on_its_own() {
        let p = with(vec![rule("workflows", &[".github/workflows/**"]), rule("migrations", &["**/migrations/**"])]);
        let lines =
            [line("a/migrations/1.sql", 1, by_agent("devin")), line("b/migrations/2.sql", 1, by_agent("devin"))];
        let e = evaluate(&p, &[], &lines);
        assert_eq!(e.fired_rules.len(), 1);
        assert_eq!(e.fired_rules[0].rule, "path.migrations");
        assert!(
            e.fired_rules[0].reason.starts_with("2 line(s) in a/migrations/1.sql, b/migrations/2.sql changed by devin")
        );
    }
}
