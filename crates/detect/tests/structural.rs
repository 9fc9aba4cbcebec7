//! The structural (ast-grep) engine: every bundled rule's code examples through the detector,
//! report modes over multi-line matches, hunks without files, user rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use provenance_core::ReportMode;
use provenance_core::analysis::FileContent;
use provenance_core::finding::Severity;
use provenance_core::line::{ChangeType, ChangedLine};
use provenance_detect::{
    BUNDLED_STRUCTURAL_RULE_FILES, DetectInput, Detector, SecretRedactor, StructuralDetector, StructuralRule,
    load_structural_rules,
};

use common::{added, line, path};

/// Example files for each language a structural rule runs on.
fn paths_for(language: &str) -> &'static [&'static str] {
    match language {
        "python" => &["src/example.py"],
        "javascript" => &["src/example.js"],
        "typescript" => &["src/example.ts", "src/example.tsx"],
        "ruby" => &["lib/example.rb"],
        "rust" => &["src/example.rs"],
        "java" => &["src/Example.java"],
        "go" => &["src/example.go"],
        other => panic!("no example path for {other}"),
    }
}

fn detect(
    detector: &StructuralDetector,
    lines: &[ChangedLine],
    files: &[FileContent],
    mode: ReportMode,
) -> Vec<(u32, String)> {
    let input = DetectInput { lines, files, report_mode: mode };
    let out = detector.detect(&input, Instant::now() + Duration::from_secs(30));
    assert!(out.complete);
    out.detections.into_iter().map(|d| (d.location.start_line, d.rule_id)).collect()
}

/// The rule ids the detector reports for `code` as a whole new file at `file`, once given the
/// file content and once as hunk lines only.
fn ids_for_new_file(detector: &StructuralDetector, file: &str, code: &str) -> (Vec<String>, Vec<String>) {
    let lines: Vec<ChangedLine> = code
        .lines()
        .enumerate()
        .map(|(i, text)| line(file, u32::try_from(i + 1).unwrap(), ChangeType::Added, text, None))
        .collect();
    let files = [FileContent { path: path(file), content: code.to_string() }];
    let with_file = detect(detector, &lines, &files, ReportMode::Added).into_iter().map(|(_, id)| id).collect();
    let hunks_only = detect(detector, &lines, &[], ReportMode::Added).into_iter().map(|(_, id)| id).collect();
    (with_file, hunks_only)
}

fn languages(rule: &StructuralRule) -> Vec<String> {
    rule.info().languages.clone()
}

#[test]
fn every_structural_rule_has_code_examples_and_complete_metadata() {
    let detector = StructuralDetector::bundled().unwrap();
    assert!(detector.rules().len() >= 8);
    // Start-up skips the bundled examples; loading with them checked must succeed too.
    assert_eq!(load_structural_rules(BUNDLED_STRUCTURAL_RULE_FILES).unwrap().len(), detector.rules().len());
    for rule in detector.rules() {
        let info = rule.info();
        let examples = rule.examples().unwrap_or_else(|| panic!("{} has no examples", info.id));
        assert!(!examples.positive.is_empty() && !examples.negative.is_empty(), "{}", info.id);
        assert!(!info.cwe.is_empty(), "{} has no CWE", info.id);
        assert!(!info.references.is_empty(), "{} has no reference", info.id);
        assert_ne!(info.category, "custom", "{} has no category", info.id);
        assert_ne!(info.name, info.id, "{} has no name", info.id);
    }
}

#[test]
fn every_positive_example_yields_its_rule_in_every_language_of_the_rule() {
    let detector = StructuralDetector::bundled().unwrap();
    for rule in detector.rules() {
        for language in languages(rule) {
            for file in paths_for(&language) {
                for code in &rule.examples().unwrap().positive {
                    let (with_file, hunks_only) = ids_for_new_file(&detector, file, code);
                    assert!(with_file.iter().any(|id| id == rule.id()), "{} ({file}) missed {code:?}", rule.id());
                    assert!(
                        hunks_only.iter().any(|id| id == rule.id()),
                        "{} ({file}, hunks) missed {code:?}",
                        rule.id()
                    );
                }
            }
        }
    }
}

#[test]
fn no_negative_example_yields_its_rule() {
    let detector = StructuralDetector::bundled().unwrap();
    for rule in detector.rules() {
        for language in languages(rule) {
            for file in paths_for(&language) {
                for code in &rule.examples().unwrap().negative {
                    let (with_file, hunks_only) = ids_for_new_file(&detector, file, code);
                    assert!(!with_file.iter().any(|id| id == rule.id()), "{} ({file}) fired on {code:?}", rule.id());
                    assert!(!hunks_only.iter().any(|id| id == rule.id()), "{} ({file}) fired on {code:?}", rule.id());
                }
            }
        }
    }
}

/// The detector parses a file only for the rules whose identifiers it contains; on every
/// example of every rule that must report exactly what matching each rule directly reports.
#[test]
fn the_literal_prefilter_reports_exactly_what_each_rule_matches() {
    let detector = StructuralDetector::bundled().unwrap();
    let rules = detector.rules();
    let examples: Vec<&String> = rules
        .iter()
        .flat_map(|r| r.examples().into_iter().flat_map(|e| e.positive.iter().chain(&e.negative)))
        .collect();
    for rule in rules {
        let file = paths_for(&languages(rule)[0])[0];
        for code in &examples {
            let expected = rule.count_matches(code) > 0;
            let (got, _) = ids_for_new_file(&detector, file, code);
            assert_eq!(got.iter().any(|id| id == rule.id()), expected, "{}: {code:?}", rule.id());
        }
    }
}

const MULTI_LINE: &str = "import subprocess\n\
def deploy(cmd):\n\
    subprocess.run(\n\
        cmd,\n\
        check=True,\n\
        shell=True,\n\
    )\n\
\n\
\n\
\n\
\n\
print(\"done\")\n";

#[test]
fn a_match_spanning_lines_counts_when_any_of_its_lines_changed() {
    let detector = StructuralDetector::bundled().unwrap();
    let files = [FileContent { path: path("ops/deploy.py"), content: MULTI_LINE.into() }];
    let changed = [added("ops/deploy.py", 6, "        shell=True,")];
    let found = detect(&detector, &changed, &files, ReportMode::Added);
    assert_eq!(found, vec![(3, "python.command-injection.subprocess-shell".to_string())]);

    let elsewhere = [added("ops/deploy.py", 1, "import subprocess")];
    assert!(detect(&detector, &elsewhere, &files, ReportMode::Added).is_empty());
    assert_eq!(detect(&detector, &elsewhere, &files, ReportMode::File).len(), 1);
    // The match spans lines 3..=7: line 1 is within three lines of it, line 12 is not.
    assert_eq!(detect(&detector, &elsewhere, &files, ReportMode::DiffContext).len(), 1);
    let far = [added("ops/deploy.py", 12, "print(\"done\")")];
    assert!(detect(&detector, &far, &files, ReportMode::DiffContext).is_empty());
}

#[test]
fn hunks_without_files_are_parsed_and_placed_at_their_line_numbers() {
    let detector = StructuralDetector::bundled().unwrap();
    let lines: Vec<ChangedLine> = MULTI_LINE
        .lines()
        .enumerate()
        .skip(2)
        .map(|(i, text)| line("ops/deploy.py", u32::try_from(i + 40).unwrap(), ChangeType::Added, text, None))
        .collect();
    let found = detect(&detector, &lines, &[], ReportMode::Added);
    assert_eq!(found, vec![(42, "python.command-injection.subprocess-shell".to_string())]);
}

#[test]
fn an_inline_ignore_comment_does_not_silence_a_finding() {
    let detector = StructuralDetector::bundled().unwrap();
    let code = "# ast-grep-ignore\nresult = eval(expression)\n";
    let (with_file, _) = ids_for_new_file(&detector, "app/calc.py", code);
    assert_eq!(with_file, vec!["python.code-execution.eval-exec".to_string()]);
}

#[test]
fn a_plain_ast_grep_rule_loads_with_defaults_and_reports() {
    let yaml = "id: acme.no-console-log\nlanguage: JavaScript\nmessage: console.log($$$A) left in\nseverity: warning\nrule:\n  pattern: console.log($$$A)\n";
    let rules = load_structural_rules(&[("acme.yml", yaml)]).unwrap();
    let detector = StructuralDetector::new(rules, SecretRedactor::default()).unwrap();
    let info = &detector.rules()[0].info().clone();
    assert_eq!(info.severity, Severity::Medium);
    assert_eq!(info.category, "custom");
    assert_eq!(info.languages, vec!["javascript".to_string(), "typescript".to_string()]);
    let input_lines = [added("web/app.tsx", 3, "console.log(user.id);")];
    let input = DetectInput { lines: &input_lines, files: &[], report_mode: ReportMode::Added };
    let out = detector.detect(&input, Instant::now() + Duration::from_secs(5));
    assert_eq!(out.detections.len(), 1);
    assert_eq!(out.detections[0].message, "console.log(user.id) left in");
    assert_eq!(out.detections[0].engine, "ast-grep");
}

#[test]
fn load_errors_name_the_file_and_rule() {
    let with_globs = "id: acme.x\nlanguage: python\nmessage: m\nfiles: ['src/**']\nrule:\n  pattern: print($A)\n";
    let err = load_structural_rules(&[("acme.yml", with_globs)]).unwrap_err();
    assert_eq!((err.file(), err.rule_id()), (Some("acme.yml"), Some("acme.x")));
    assert!(err.to_string().contains("`files` is not supported"), "{err}");

    let bad_language = "id: acme.y\nlanguage: cobol\nmessage: m\nrule:\n  pattern: x\n";
    let err = load_structural_rules(&[("acme.yml", bad_language)]).unwrap_err();
    assert_eq!(err.rule_id(), Some("acme.y"));

    let failing_example = "id: acme.z\nlanguage: python\nmessage: m\nrule:\n  pattern: print($A)\nmetadata:\n  examples:\n    positive: ['log(x)']\n    negative: ['pass']\n";
    let err = load_structural_rules(&[("acme.yml", failing_example)]).unwrap_err();
    assert!(err.to_string().contains("positive example does not match"), "{err}");

    let twice = "id: acme.w\nlanguage: python\nmessage: m\nrule:\n  pattern: print($A)\n";
    let err = load_structural_rules(&[("a.yml", twice), ("b.yml", twice)]).unwrap_err();
    assert!(err.to_string().contains("duplicate rule id"), "{err}");
}
