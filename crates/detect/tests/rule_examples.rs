//! Every bundled rule's examples, run through the detector as real changed lines.

mod common;

use std::time::{Duration, Instant};

use provenance_core::ReportMode;
use provenance_core::line::ChangeType;
use provenance_detect::{ANY_LANGUAGE, DetectInput, Detector, DetectorSet, PatternDetector};

use common::{line, path_for_language};

fn rule_ids_on_line_one(detector: &PatternDetector, language: &str, content: &str) -> Vec<String> {
    let (file, lang) = if language == ANY_LANGUAGE {
        ("config/settings.txt", None)
    } else {
        (path_for_language(language), Some(language))
    };
    let lines = [line(file, 1, ChangeType::Added, content, lang)];
    let input = DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added };
    let out = detector.detect(&input, Instant::now() + Duration::from_secs(30));
    assert!(out.complete);
    out.detections.into_iter().inspect(|d| assert_eq!(d.location.start_line, 1)).map(|d| d.rule_id).collect()
}

#[test]
fn every_positive_example_yields_its_rule_on_line_one_in_every_rule_language() {
    let detector = PatternDetector::bundled().unwrap();
    for rule in detector.rules() {
        let spec = rule.spec();
        for language in &spec.languages {
            for example in &spec.examples.positive {
                let ids = rule_ids_on_line_one(&detector, language, example);
                assert!(ids.contains(&spec.id), "{} ({language}) missed its positive example {example:?}", spec.id);
            }
        }
    }
}

#[test]
fn no_negative_example_yields_its_rule() {
    let detector = PatternDetector::bundled().unwrap();
    for rule in detector.rules() {
        let spec = rule.spec();
        for language in &spec.languages {
            for example in &spec.examples.negative {
                let ids = rule_ids_on_line_one(&detector, language, example);
                assert!(!ids.contains(&spec.id), "{} ({language}) fired on its negative example {example:?}", spec.id);
            }
        }
    }
}

#[test]
fn every_rule_has_positive_and_negative_examples_and_complete_metadata() {
    let detector = PatternDetector::bundled().unwrap();
    assert!(detector.rules().len() >= 15);
    for rule in detector.rules() {
        let spec = rule.spec();
        assert!(!spec.examples.positive.is_empty() && !spec.examples.negative.is_empty(), "{}", spec.id);
        assert!(!spec.cwe.is_empty(), "{} has no CWE", spec.id);
        assert!(!spec.references.is_empty(), "{} has no reference", spec.id);
    }
}

#[test]
fn a_rule_does_not_fire_on_lines_of_another_language() {
    let detector = PatternDetector::bundled().unwrap();
    let ids = rule_ids_on_line_one(&detector, "go", "rows, err := db.Query(\"SELECT * FROM users WHERE id = \" + id)");
    assert!(ids.iter().any(|id| id.starts_with("go.")), "{ids:?}");
    assert!(!ids.iter().any(|id| !id.starts_with("go.")), "{ids:?}");
}

#[test]
fn the_bundled_pack_covers_the_required_languages_and_categories() {
    let rules = DetectorSet::bundled().unwrap().rules();
    for language in ["python", "javascript", "typescript", "go", "java", "ruby", "rust", "shell", "github-actions"] {
        assert!(rules.iter().any(|r| r.languages.iter().any(|l| l == language)), "no rule for {language}");
    }
    for category in [
        "sqli",
        "code_execution",
        "command_injection",
        "deserialization",
        "tls",
        "crypto",
        "secrets",
        "unsafe",
        "ssrf",
        "path_traversal",
        "ci",
    ] {
        assert!(rules.iter().any(|r| r.category == category), "no rule in {category}");
    }
}

/// The detector runs only the rules its one-pass prefilter picks for a line; that must report
/// exactly what running every applicable rule on the line reports.
#[test]
fn the_prefilter_reports_exactly_the_rules_that_match_each_example_line() {
    let detector = PatternDetector::bundled().unwrap();
    let mut languages: Vec<&str> =
        detector.rules().iter().flat_map(|r| r.spec().languages.iter().map(String::as_str)).collect();
    languages.sort_unstable();
    languages.dedup();
    let examples: Vec<&str> = detector
        .rules()
        .iter()
        .flat_map(|r| r.spec().examples.positive.iter().chain(&r.spec().examples.negative))
        .map(String::as_str)
        .collect();
    for language in languages {
        let lang = (language != ANY_LANGUAGE).then_some(language);
        for example in &examples {
            let mut expected: Vec<String> = detector
                .rules()
                .iter()
                .filter(|r| r.applies_to(lang) && r.matches_line(example))
                .map(|r| r.id().to_string())
                .collect();
            expected.sort();
            let mut got = rule_ids_on_line_one(&detector, language, example);
            got.sort();
            got.dedup();
            assert_eq!(got, expected, "{language}: {example:?}");
        }
    }
}
