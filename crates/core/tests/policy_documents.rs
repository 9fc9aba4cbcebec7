#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Policy documents end to end: a YAML document is parsed and validated, selected for a
//! repository, and evaluated over lines and findings the way the worker does.

use proptest::prelude::*;
use provenance_core::attribution::flags;
use provenance_core::decision::Coverage;
use provenance_core::policy::{Evaluation, Policy, PolicyInput, evaluate_policy, select_policy};
use provenance_core::{
    AgentId, Attribution, AttributionSource, ChangeType, ChangedLine, Contributor, Detection, Finding, FindingStatus,
    Location, Outcome, RepoPath, Severity,
};

const GOVERNED: &str = r#"
apiVersion: provenance.dev/policy/v1
id: acme-strict
description: Agents are welcome, with guard rails.
scope:
  repos: ["acme/*"]
priority: 10
severity:
  critical: {block_at: 1}
  high: {warn_at: 1, block_at: 3}
categories:
  secrets: {block_at: 1}
provenance:
  min_coverage_percent: 0
  block_on_unknown: false
block_on_signature_invalid: true
on_detectors_incomplete: warn
require_signed_agents: [devin]
paths:
  - name: workflows
    match: [".github/workflows/**"]
  - name: migrations
    match: ["**/migrations/**"]
    agents: [claude-code]
    allow_with_human_co_author: false
    outcome: warn
agents:
  claude-code:
    severity:
      high: {block_at: 1}
"#;

fn governed() -> Policy {
    Policy::parse(GOVERNED).expect("the example policy is valid")
}

fn agent(id: &str) -> Attribution {
    Attribution {
        contributor: Contributor::Ai,
        agent_id: Some(AgentId::parse(id).unwrap()),
        source: AttributionSource::Trailer,
        confidence: 0.8,
        ..Attribution::unknown()
    }
}

fn line(path: &str, n: u32, attribution: Attribution) -> ChangedLine {
    ChangedLine {
        file_path: RepoPath::parse(path).unwrap(),
        line_number: n,
        change_type: ChangeType::Added,
        content: Some("run: make".into()),
        language: None,
        author_identity: None,
        declared: None,
        content_sha256: None,
        attestation_signature: None,
        attribution,
    }
}

fn finding(severity: Severity, category: &str, n: u32, attribution: Attribution) -> Finding {
    Finding::from_detection(
        Detection {
            rule_id: format!("test.{category}"),
            rule_version: "1".into(),
            category: category.into(),
            severity,
            message: "m".into(),
            location: Location {
                file_path: RepoPath::parse("src/app.py").unwrap(),
                start_line: n,
                end_line: n,
                start_column: 1,
                end_column: 2,
            },
            snippet: format!("snippet {n}"),
            engine: "test".into(),
        },
        attribution,
    )
}

fn evaluate(policy: &Policy, findings: &[Finding], lines: &[ChangedLine]) -> Evaluation {
    evaluate_policy(policy, &PolicyInput { findings, lines, coverage: &Coverage::of(lines), detectors_incomplete: &[] })
}

fn fired(e: &Evaluation) -> Vec<&str> {
    e.fired_rules.iter().map(|r| r.rule.as_str()).collect()
}

#[test]
fn block_outcome_when_agent_edits_workflow_without_human_coauthor() {
    let lines =
        [line(".github/workflows/ci.yml", 12, agent("claude-code")), line("src/app.py", 1, agent("claude-code"))];
    let e = evaluate(&governed(), &[], &lines);
    assert_eq!(e.outcome, Outcome::Block);
    assert_eq!(fired(&e), ["path.workflows"]);
    let cited: Vec<(&str, u32)> =
        e.fired_rules[0].lines.iter().map(|l| (l.file_path.as_str(), l.line_number)).collect();
    assert_eq!(cited, [(".github/workflows/ci.yml", 12)]);
}

#[test]
fn allow_outcome_when_the_same_workflow_lines_are_mixed_or_human_co_authored() {
    let mixed = Attribution { contributor: Contributor::Mixed, ..agent("claude-code") };
    let mut flagged = agent("claude-code");
    flagged.flag(flags::HUMAN_CO_AUTHOR);
    for attribution in [mixed, flagged] {
        let e = evaluate(&governed(), &[], &[line(".github/workflows/ci.yml", 12, attribution)]);
        assert_eq!(e.outcome, Outcome::Allow, "{:?}", e.fired_rules);
    }
}

#[test]
fn the_shipped_default_blocks_agent_only_workflow_changes_too() {
    let e = evaluate(&Policy::default(), &[], &[line(".github/workflows/release.yml", 3, agent("github-copilot"))]);
    assert_eq!((e.outcome, fired(&e)), (Outcome::Block, vec!["path.workflows"]));
}

#[test]
fn a_critical_finding_and_a_warn_rule_block_with_every_fired_rule_listed() {
    let findings = [finding(Severity::Critical, "code_execution", 1, Attribution::unknown())];
    let lines = [line("db/migrations/0007.sql", 1, agent("claude-code"))];
    let e = evaluate(&governed(), &findings, &lines);
    assert_eq!(e.outcome, Outcome::Block);
    assert_eq!(fired(&e), ["severity.critical", "path.migrations"]);
    assert_eq!(e.fired_rules[1].outcome, Outcome::Warn);
}

#[test]
fn a_per_agent_override_replaces_the_global_threshold_for_that_agent_only() {
    let claude = [finding(Severity::High, "sqli", 1, agent("claude-code"))];
    let e = evaluate(&governed(), &claude, &[]);
    assert_eq!((e.outcome, fired(&e)), (Outcome::Block, vec!["agents.claude-code.severity.high"]));

    let cursor = [finding(Severity::High, "sqli", 1, agent("cursor"))];
    let e = evaluate(&governed(), &cursor, &[]);
    assert_eq!((e.outcome, fired(&e)), (Outcome::Warn, vec!["severity.high"]));
}

#[test]
fn unsigned_lines_of_an_agent_that_must_sign_block() {
    let e = evaluate(&governed(), &[], &[line("src/app.py", 4, agent("devin"))]);
    assert_eq!((e.outcome, fired(&e)), (Outcome::Block, vec!["attestation.require_signed"]));
    assert!(e.fired_rules[0].reason.starts_with("1 line(s) by devin"), "{}", e.fired_rules[0].reason);
}

#[test]
fn an_agent_may_not_touch_migrations_even_with_a_co_author_when_the_rule_says_so() {
    let mut flagged = agent("claude-code");
    flagged.flag(flags::HUMAN_CO_AUTHOR);
    let e = evaluate(&governed(), &[], &[line("migrations/0001.sql", 1, flagged)]);
    assert_eq!((e.outcome, fired(&e)), (Outcome::Warn, vec!["path.migrations"]));
    // The rule names claude-code only.
    let e = evaluate(&governed(), &[], &[line("migrations/0001.sql", 1, agent("cursor"))]);
    assert_eq!(e.outcome, Outcome::Allow);
}

// --- parsing -----------------------------------------------------------------------------

fn first_error(text: &str) -> (String, String) {
    let e = Policy::parse(text).expect_err("the document is invalid");
    (e.0[0].pointer.clone(), e.0[0].detail.clone())
}

#[test]
fn an_unknown_field_is_named_by_its_pointer() {
    assert_eq!(first_error("id: p\nblock_on_everything: true\n").0, "/block_on_everything");
    assert_eq!(first_error("paths:\n  - name: w\n    match: [a/**]\n    globs: [b/**]\n").0, "/paths/0/globs");
    assert_eq!(first_error("severity:\n  high: {warn: 1}\n").0, "/severity/high/warn");
    assert_eq!(first_error("scope: {repo: [acme/*]}\n").0, "/scope/repo");
    assert_eq!(first_error("agents: {devin: {severity: {}, paths: []}}\n").0, "/agents/devin/paths");
    let (pointer, detail) = first_error("severity: {severe: {block_at: 1}}\n");
    assert_eq!(pointer, "/severity/severe");
    assert!(detail.contains("unknown variant `severe`"), "{detail}");
}

#[test]
fn a_bad_glob_is_named_by_its_pointer() {
    assert_eq!(first_error("scope: {repos: ['acme/[x']}\n").0, "/scope/repos/0");
    let text = "paths:\n  - {name: a, match: ['ok/**']}\n  - {name: b, match: ['x/**', 'y/{z']}\n";
    assert_eq!(first_error(text).0, "/paths/1/match/1");
}

#[test]
fn warn_at_above_block_at_is_named_by_its_threshold() {
    let (pointer, detail) = first_error("severity:\n  high: {warn_at: 4, block_at: 2}\n");
    assert_eq!(pointer, "/severity/high");
    assert_eq!(detail, "warn_at (4) must not be above block_at (2)");
}

#[test]
fn a_wrong_type_is_named_by_its_pointer() {
    let (pointer, detail) = first_error("severity:\n  high: {warn_at: many}\n");
    assert_eq!(pointer, "/severity/high/warn_at");
    assert!(detail.contains("invalid type"), "{detail}");
    assert_eq!(first_error("require_signed_agents: ['has space']\n").0, "/require_signed_agents/0");
    assert_eq!(first_error("agents: {'has space': {}}\n").0, "/agents/has space");
    assert_eq!(first_error("paths: [{name: w, match: [a/**], agents: ['no agent']}]\n").0, "/paths/0/agents/0");
    assert_eq!(first_error("apiVersion: provenance.dev/policy/v2\n").0, "/apiVersion");
    assert_eq!(first_error("block_on_signature_invalid: sometimes\n").0, "/block_on_signature_invalid");
}

#[test]
fn a_yaml_syntax_error_is_reported_for_the_whole_document_with_its_position() {
    let (pointer, detail) = first_error("id: p\nseverity:\n  high: {warn_at: 1\n");
    assert_eq!(pointer, "");
    assert!(detail.contains("line") && detail.contains("column"), "{detail}");
}

#[test]
fn json_round_trip_gives_an_equal_policy_and_digest() {
    for policy in [governed(), Policy::default()] {
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(json["apiVersion"], "provenance.dev/policy/v1");
        let back: Policy = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, policy);
        assert_eq!(back.reference(), policy.reference());
        // The stored JSON form is itself a valid document.
        assert_eq!(Policy::parse(&json.to_string()).unwrap(), policy);
        assert_eq!(Policy::parse(&policy.to_yaml()).unwrap(), policy);
    }
}

#[test]
fn a_policy_read_back_without_parse_still_evaluates_its_globs() {
    let stored = serde_json::to_string(&governed()).unwrap();
    let back: Policy = serde_json::from_str(&stored).unwrap();
    assert!(back.applies_to("acme/shop"));
    let e = evaluate(&back, &[], &[line(".github/workflows/ci.yml", 1, agent("cursor"))]);
    assert_eq!(fired(&e), ["path.workflows"]);
}

// --- selection ---------------------------------------------------------------------------

#[test]
fn the_scoped_policy_governs_its_repositories_and_the_default_the_rest() {
    let policies = [Policy::default(), governed()];
    assert_eq!(select_policy(&policies, "acme/shop").unwrap().id, "acme-strict");
    assert_eq!(select_policy(&policies, "globex/shop").unwrap().id, "default");
    let higher = Policy::parse("id: acme-lenient\nscope: {repos: ['acme/shop']}\npriority: 20\n").unwrap();
    let policies = [Policy::default(), governed(), higher];
    assert_eq!(select_policy(&policies, "acme/shop").unwrap().id, "acme-lenient");
    assert_eq!(select_policy(&policies, "acme/web").unwrap().id, "acme-strict");
}

// --- monotonicity ------------------------------------------------------------------------

#[test]
fn adding_findings_one_by_one_never_lowers_the_outcome() {
    let mut findings = Vec::new();
    let mut last = Outcome::Allow;
    for (i, severity) in
        [Severity::Low, Severity::Medium, Severity::High, Severity::High, Severity::High].into_iter().enumerate()
    {
        findings.push(finding(severity, "x", i as u32 + 1, Attribution::unknown()));
        let now = evaluate(&Policy::default(), &findings, &[]).outcome;
        assert!(now >= last);
        last = now;
    }
    assert_eq!(last, Outcome::Block, "three high findings block under the default policy");
}

#[test]
fn provenance_coverage_is_a_share_so_attributed_lines_can_lift_it_above_the_minimum() {
    let policy = Policy::parse("provenance: {min_coverage_percent: 50}\n").unwrap();
    let mut lines = vec![line("a.py", 1, Attribution::unknown())];
    assert_eq!(evaluate(&policy, &[], &lines).outcome, Outcome::Warn);
    lines.push(line("a.py", 2, agent("devin")));
    assert_eq!(evaluate(&policy, &[], &lines).outcome, Outcome::Allow, "documented in docs/policy.md");
}

#[derive(Debug, Clone)]
enum Evidence {
    Finding {
        severity: Severity,
        category: &'static str,
        agent: Option<&'static str>,
        open: bool,
    },
    Line {
        path: &'static str,
        contributor: Contributor,
        agent: Option<&'static str>,
        signed: bool,
        flag: Option<&'static str>,
    },
}

fn evidence() -> impl Strategy<Value = Evidence> {
    let agents = prop::option::of(prop::sample::select(vec!["claude-code", "devin", "cursor"]));
    let finding = (
        prop::sample::select(Severity::ALL.to_vec()),
        prop::sample::select(vec!["secrets", "sqli", "crypto"]),
        agents.clone(),
        any::<bool>(),
    )
        .prop_map(|(severity, category, agent, open)| Evidence::Finding { severity, category, agent, open });
    let line = (
        prop::sample::select(vec![".github/workflows/ci.yml", "db/migrations/1.sql", "src/app.py"]),
        prop::sample::select(vec![Contributor::Ai, Contributor::Mixed, Contributor::Human, Contributor::Unknown]),
        agents,
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![flags::HUMAN_CO_AUTHOR, flags::SIGNATURE_INVALID])),
    )
        .prop_map(|(path, contributor, agent, signed, flag)| Evidence::Line {
            path,
            contributor,
            agent,
            signed,
            flag,
        });
    prop_oneof![finding, line]
}

fn attribution(contributor: Contributor, agent: Option<&str>) -> Attribution {
    Attribution {
        contributor,
        agent_id: agent
            .filter(|_| matches!(contributor, Contributor::Ai | Contributor::Mixed))
            .map(|a| AgentId::parse(a).unwrap()),
        source: if contributor == Contributor::Unknown { AttributionSource::None } else { AttributionSource::Declared },
        confidence: 0.9,
        ..Attribution::unknown()
    }
}

proptest! {
    /// Every rule but the coverage share only ever gains evidence as findings and lines are
    /// added, so the outcome never falls.
    #[test]
    fn adding_findings_or_lines_never_lowers_the_outcome(steps in prop::collection::vec(evidence(), 1..40)) {
        let policy = governed();
        let (mut findings, mut lines) = (Vec::new(), Vec::new());
        let mut last = Outcome::Allow;
        for (i, step) in steps.into_iter().enumerate() {
            let n = i as u32 + 1;
            match step {
                Evidence::Finding { severity, category, agent, open } => {
                    let mut f = finding(severity, category, n, attribution(Contributor::Ai, agent));
                    if !open {
                        f.status = FindingStatus::Suppressed;
                    }
                    findings.push(f);
                }
                Evidence::Line { path, contributor, agent, signed, flag } => {
                    let mut a = attribution(contributor, agent);
                    if signed && a.agent_id.is_some() {
                        a.source = AttributionSource::Signed;
                    }
                    if let Some(flag) = flag {
                        a.flag(flag);
                    }
                    lines.push(line(path, n, a));
                }
            }
            let now = evaluate(&policy, &findings, &lines);
            prop_assert!(now.outcome >= last, "fell from {last:?} to {:?}: {:?}", now.outcome, now.fired_rules);
            last = now.outcome;
        }
    }
}

// --- documentation -----------------------------------------------------------------------

/// The YAML blocks of a Markdown page.
fn yaml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_policy_shown_in_the_docs_is_valid_and_the_last_is_the_shipped_default() {
    let blocks = yaml_blocks(include_str!("../../../docs/policy.md"));
    assert!(blocks.len() >= 4, "docs/policy.md shows the example, path rules, overrides and the default");
    for block in &blocks {
        Policy::parse(block).unwrap_or_else(|e| panic!("{e}\n{block}"));
    }
    let mut shown = Policy::parse(blocks.last().unwrap()).unwrap();
    shown.version = Policy::default().version;
    assert_eq!(shown, Policy::default());
}

#[test]
fn the_policy_in_the_readme_parses() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("cat > ci-guard.yaml <<'YAML'\n").expect("the README shows a policy") + 29;
    let end = start + readme[start..].find("\nYAML\n").unwrap();
    let policy = Policy::parse(&readme[start..end]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.paths.len(), 1);
    assert!(policy.applies_to("acme/shop"));
}
