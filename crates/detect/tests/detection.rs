//! The detector set and pattern engine end to end: what is found, where, how it is reported,
//! and what happens at the deadline.

mod common;

use std::time::{Duration, Instant};

use provenance_core::analysis::FileContent;
use provenance_core::finding::{RuleInfo, Severity};
use provenance_core::line::{ChangeType, ChangedLine};
use provenance_core::{Detection, ReportMode};
use provenance_detect::{
    BUNDLED_RULE_FILES, Capabilities, DetectInput, DetectionRun, Detector, DetectorOutput, DetectorSet,
    PatternDetector, load_rule_pack,
};

use common::{added, line, path};

const ACCEPTANCE_LINE: &str = r#"    query = f"SELECT * FROM orders WHERE id = {order_id}""#;
const GITHUB_TOKEN: &str = "ghp_Zx9Kq2LmN4pR7sT1vW3yB6cD8fG0hJ5kM2nQ";
const AWS_KEY_ID: &str = "AKIAZ7Q4R2M9X3LBN6VT";

fn run(lines: &[ChangedLine], files: &[FileContent], report_mode: ReportMode) -> DetectionRun {
    let set = DetectorSet::bundled().expect("the bundled rule pack loads");
    set.run(&DetectInput { lines, files, report_mode }, Duration::from_secs(30))
}

fn ids_at(run: &DetectionRun) -> Vec<(u32, &str)> {
    run.detections.iter().map(|d| (d.location.start_line, d.rule_id.as_str())).collect()
}

#[test]
fn the_acceptance_payload_line_yields_a_python_sqli_detection_at_line_128() {
    let lines = [line("api/orders.py", 128, ChangeType::Added, ACCEPTANCE_LINE, Some("python"))];
    let run = run(&lines, &[], ReportMode::Added);
    let d = run.detections.iter().find(|d| d.rule_id.starts_with("python.sqli.")).expect("a python.sqli finding");
    assert_eq!(d.rule_id, "python.sqli.fstring");
    assert_eq!(d.location.file_path.as_str(), "api/orders.py");
    assert_eq!((d.location.start_line, d.location.end_line), (128, 128));
    assert_eq!(d.location.start_column, 13, "columns are 1-based and point at the f-string");
    assert!(d.location.end_column > d.location.start_column);
    assert_eq!(d.category, "sqli");
    assert_eq!(d.severity, Severity::High);
    assert_eq!(d.engine, "pattern");
    assert_eq!(d.snippet, ACCEPTANCE_LINE.trim());
    assert!(run.incomplete.is_empty());

    let set = DetectorSet::bundled().unwrap();
    let info = set.rules().into_iter().find(|r| r.id == d.rule_id).unwrap();
    assert_eq!(info.cwe, vec!["CWE-89".to_string()]);
    assert_eq!(info.version, d.rule_version);
}

#[test]
fn python_sql_rules_catch_each_way_of_building_a_query() {
    let cases = [
        (r#"q = f"SELECT * FROM orders WHERE id = {order_id}""#, "python.sqli.fstring"),
        (r#"q = "SELECT * FROM orders WHERE id = %s" % order_id"#, "python.sqli.percent-format"),
        (r#"q = "SELECT * FROM orders WHERE id = {}".format(order_id)"#, "python.sqli.str-format"),
        (r#"q = "SELECT * FROM orders WHERE id = " + order_id"#, "python.sqli.concat"),
    ];
    for (source, rule) in cases {
        let lines = [added("api/orders.py", 1, source)];
        assert_eq!(ids_at(&run(&lines, &[], ReportMode::Added)), vec![(1, rule)], "{source}");
    }
}

#[test]
fn python_sql_rules_ignore_prose_like_literals_and_parameterised_queries() {
    let sources = [
        r#"msg = f"select the {item} from the menu""#,
        r#"log.info(f"Selected {count} rows from {source}")"#,
        r#"cursor.execute("SELECT * FROM products WHERE name LIKE '%x'")"#,
        r#"cursor.execute("SELECT * FROM orders WHERE id = %s", (order_id,))"#,
        r#"cursor.execute("SELECT * FROM orders WHERE id = %(id)s", {"id": order_id})"#,
        r#"# q = f"SELECT * FROM orders WHERE id = {order_id}""#,
    ];
    let lines: Vec<ChangedLine> =
        sources.iter().enumerate().map(|(i, s)| added("api/orders.py", i as u32 + 1, s)).collect();
    let run = run(&lines, &[], ReportMode::Added);
    assert!(run.detections.iter().all(|d| !d.rule_id.starts_with("python.sqli.")), "{:?}", ids_at(&run));
}

#[test]
fn a_client_language_name_is_normalised() {
    let lines = [line("api/orders", 7, ChangeType::Modified, ACCEPTANCE_LINE, Some("Python3"))];
    assert_eq!(ids_at(&run(&lines, &[], ReportMode::Added)), vec![(7, "python.sqli.fstring")]);
}

#[test]
fn the_language_is_inferred_from_the_path_when_the_line_has_none() {
    let lines = [added("api/orders.py", 3, ACCEPTANCE_LINE)];
    assert_eq!(ids_at(&run(&lines, &[], ReportMode::Added)), vec![(3, "python.sqli.fstring")]);

    // Without a language or a known extension, only language-independent rules apply.
    let lines = [added("notes/orders.txt", 3, ACCEPTANCE_LINE)];
    assert!(run(&lines, &[], ReportMode::Added).detections.is_empty());
}

#[test]
fn deleted_lines_and_lines_without_content_are_not_scanned() {
    let mut no_content = added("api/orders.py", 4, "");
    no_content.content = None;
    let lines = [line("api/orders.py", 3, ChangeType::Deleted, ACCEPTANCE_LINE, Some("python")), no_content];
    assert!(run(&lines, &[], ReportMode::Added).detections.is_empty());
}

fn handler_file() -> FileContent {
    let content = [
        "import os",                   // 1
        "",                            // 2
        "def handler(cmd, expr):",     // 3
        "    os.system(cmd)",          // 4  unchanged, 5 lines from the change
        "    obj = pickle.loads(raw)", // 5  unchanged, within 3 lines of the change
        "    x = 1",                   // 6
        "    y = 2",                   // 7
        "    return eval(expr)",       // 8  added
        "",                            // 9
    ]
    .join("\n");
    FileContent { path: path("app/handler.py"), content }
}

#[test]
fn with_files_added_mode_drops_findings_on_unchanged_lines() {
    let lines = [added("app/handler.py", 8, "    return eval(expr)")];
    let run = run(&lines, &[handler_file()], ReportMode::Added);
    assert_eq!(ids_at(&run), vec![(8, "python.code-execution.eval-exec")]);
}

#[test]
fn with_files_diff_context_mode_keeps_findings_within_three_lines_of_a_change() {
    let lines = [added("app/handler.py", 8, "    return eval(expr)")];
    let run = run(&lines, &[handler_file()], ReportMode::DiffContext);
    assert_eq!(ids_at(&run), vec![(5, "python.deserialization.pickle"), (8, "python.code-execution.eval-exec")]);
}

#[test]
fn with_files_file_mode_keeps_findings_anywhere_in_a_changed_file() {
    let lines = [added("app/handler.py", 8, "    return eval(expr)")];
    let other = FileContent { path: path("app/untouched.py"), content: "eval(x)\n".into() };
    let run = run(&lines, &[handler_file(), other], ReportMode::File);
    assert_eq!(
        ids_at(&run),
        vec![
            (4, "python.command-injection.os-system"),
            (5, "python.deserialization.pickle"),
            (8, "python.code-execution.eval-exec"),
        ],
        "files without changed lines are not scanned"
    );
}

#[test]
fn with_files_the_file_content_at_head_is_what_is_scanned() {
    // The submitted line content is stale; the file is the truth at head.
    let lines = [added("app/handler.py", 4, "    pass")];
    let run = run(&lines, &[handler_file()], ReportMode::Added);
    assert_eq!(ids_at(&run), vec![(4, "python.command-injection.os-system")]);
}

#[test]
fn secrets_are_redacted_in_snippet_and_message() {
    let source = format!(r#"GITHUB_TOKEN = "{GITHUB_TOKEN}""#);
    let lines = [added("deploy/settings.py", 12, &source)];
    let run = run(&lines, &[], ReportMode::Added);
    let d = run.detections.iter().find(|d| d.rule_id == "secrets.github-token").expect("token found");
    assert_eq!(d.severity, Severity::Critical);
    assert_eq!(d.category, "secrets");
    assert_eq!(d.snippet, r#"GITHUB_TOKEN = "ghp_****""#);
    assert_eq!(d.message, "Hard-coded GitHub token ghp_****.");
    assert_no_secret(&run, GITHUB_TOKEN);
}

#[test]
fn a_secret_is_redacted_in_every_detection_on_its_line() {
    // The structural finding's snippet is the whole call, the pattern finding's the whole line.
    let source = format!(r#"subprocess.run(cmd, shell=True, env={{"GITHUB_TOKEN": "{GITHUB_TOKEN}"}})"#);
    let lines = [added("app/client.py", 2, &source)];
    let run = run(&lines, &[], ReportMode::Added);
    let shell = run
        .detections
        .iter()
        .find(|d| d.rule_id == "python.command-injection.subprocess-shell")
        .expect("shell finding");
    assert_eq!(shell.engine, "ast-grep");
    assert!(shell.snippet.contains(r#""GITHUB_TOKEN": "ghp_****""#), "{}", shell.snippet);
    assert!(run.detections.iter().any(|d| d.rule_id == "secrets.github-token"));
    assert_no_secret(&run, GITHUB_TOKEN);
}

#[test]
fn secrets_are_found_in_files_of_any_language_and_redacted() {
    let source = format!("AWS_ACCESS_KEY_ID={AWS_KEY_ID}");
    let lines = [added(".env.production", 1, &source)];
    let run = run(&lines, &[], ReportMode::Added);
    let d = run.detections.iter().find(|d| d.rule_id == "secrets.aws-access-key-id").expect("key found");
    assert_eq!(d.snippet, "AWS_ACCESS_KEY_ID=AKIA****");
    assert_eq!(d.message, "Hard-coded AWS access key id AKIA****.");
    assert_eq!((d.location.start_column, d.location.end_column), (19, 39));
    assert_no_secret(&run, AWS_KEY_ID);
}

#[test]
fn key_material_after_a_private_key_header_is_redacted() {
    let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
    for escaped_newline in [r"\n", r"\\n"] {
        let source = format!(r#"KEY = "-----BEGIN PRIVATE KEY-----{escaped_newline}{body}""#);
        let lines = [added("tests/fixtures.py", 1, &source)];
        let run = run(&lines, &[], ReportMode::Added);
        let d = run.detections.iter().find(|d| d.rule_id == "secrets.private-key").expect("key found");
        assert!(d.snippet.ends_with("****\""), "{}", d.snippet);
        assert_no_secret(&run, body);
    }
}

#[test]
fn a_low_entropy_lookalike_is_not_a_secret() {
    let lines =
        [added("config.py", 1, r#"password = "aaaaaaaaaaaa""#), added("config.py", 2, "key = AKIAAAAAAAAAAAAAAAAA")];
    assert!(run(&lines, &[], ReportMode::Added).detections.is_empty());
}

fn assert_no_secret(run: &DetectionRun, secret: &str) {
    for d in &run.detections {
        let shown = serde_json::to_string(d).expect("a detection serialises");
        assert!(!shown.contains(secret), "{} leaks the secret: {shown}", d.rule_id);
        assert!(!shown.contains(&secret[..8]), "{} leaks part of the secret: {shown}", d.rule_id);
    }
}

#[test]
fn a_deadline_in_the_past_yields_an_incomplete_result() {
    let detector = PatternDetector::bundled().unwrap();
    let lines = [added("api/orders.py", 128, ACCEPTANCE_LINE)];
    let input = DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added };
    let out = detector.detect(&input, Instant::now());
    assert!(!out.complete);

    let set = DetectorSet::bundled().unwrap();
    let run = set.run(&input, Duration::ZERO);
    assert_eq!(run.incomplete, vec!["provenance-pattern".to_string(), "provenance-structural".to_string()]);
    assert_eq!(run.detectors.len(), 2, "an incomplete detector is still recorded");
    assert!(run.durations_ms.contains_key("provenance-pattern"));
}

#[test]
fn a_detector_that_runs_out_of_time_keeps_what_it_found_so_far() {
    // A file long enough that a short budget passes mid-way (each line is scanned by every rule).
    let mut content = String::new();
    for i in 0..200_000 {
        content.push_str(&format!("value_{i} = pickle.loads(data_{i})  # padding padding padding padding\n"));
    }
    let files = [FileContent { path: path("big.py"), content }];
    let lines = [added("big.py", 1, "")];
    let input = DetectInput { lines: &lines, files: &files, report_mode: ReportMode::File };
    let started = Instant::now();
    let out = PatternDetector::bundled().unwrap().detect(&input, Instant::now() + Duration::from_millis(50));
    assert!(started.elapsed() < Duration::from_secs(5), "the deadline is honoured promptly");
    assert!(!out.complete);
    assert!(!out.detections.is_empty(), "partial results are kept");
}

#[test]
fn the_run_records_each_detector_with_its_rule_pack_digest() {
    let set = DetectorSet::bundled().unwrap();
    let run = set.run(&DetectInput { lines: &[], files: &[], report_mode: ReportMode::Added }, Duration::from_secs(1));
    let caps = set.capabilities();
    assert_eq!(caps.len(), 2);
    assert_eq!((caps[0].name.as_str(), caps[0].engine.as_str()), ("provenance-pattern", "pattern"));
    assert_eq!(caps[0].version, env!("CARGO_PKG_VERSION"));
    assert_eq!((caps[1].name.as_str(), caps[1].engine.as_str()), ("provenance-structural", "ast-grep"));
    assert!(caps[1].version.contains("ast-grep 0.40.0"), "{}", caps[1].version);
    assert_eq!(run.detectors, vec![caps[0].detector_ref(), caps[1].detector_ref()]);
    assert_ne!(caps[0].rulepack_sha256, caps[1].rulepack_sha256);
    assert!(run.incomplete.is_empty() && run.detections.is_empty());
    let all: Vec<RuleInfo> = caps.iter().flat_map(|c| c.rules.iter().cloned()).collect();
    assert_eq!(set.rules(), all);
}

#[test]
fn capabilities_serialise_for_the_api() {
    let set = DetectorSet::bundled().unwrap();
    let json = serde_json::to_value(set.capabilities()[0]).unwrap();
    assert_eq!(json["name"], "provenance-pattern");
    assert!(json["rules"].as_array().unwrap().iter().any(|r| r["id"] == "python.sqli.fstring"));
}

#[test]
fn the_rule_pack_digest_is_stable_and_changes_when_a_rule_changes() {
    let a = PatternDetector::bundled().unwrap().capabilities().rulepack_sha256.clone();
    let fresh = PatternDetector::new(load_rule_pack(BUNDLED_RULE_FILES).unwrap()).unwrap();
    assert_eq!(a, fresh.capabilities().rulepack_sha256);

    // File order does not matter: the digest is over the rules sorted by id.
    let mut reversed = BUNDLED_RULE_FILES.to_vec();
    reversed.reverse();
    let b = PatternDetector::new(load_rule_pack(&reversed).unwrap()).unwrap();
    assert_eq!(a, b.capabilities().rulepack_sha256);

    // Any change to a rule — here its severity — changes the digest.
    let changed: Vec<(&str, String)> = BUNDLED_RULE_FILES
        .iter()
        .map(|(name, text)| {
            let text = if *name == "python.yaml" {
                text.replacen("severity: high", "severity: critical", 1)
            } else {
                text.to_string()
            };
            (*name, text)
        })
        .collect();
    let docs: Vec<(&str, &str)> = changed.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let c = PatternDetector::new(load_rule_pack(&docs).unwrap()).unwrap();
    assert_ne!(a, c.capabilities().rulepack_sha256);
}

const USER_RULE: &str = r#"
rules:
  - id: acme.no-print
    version: "2"
    name: print call
    message: "print() in library code: {{match}}"
    description: Libraries log instead of printing.
    help: Use the logging module.
    severity: info
    category: style
    languages: [python]
    pattern: '\bprint\('
    examples:
      positive: ['print("hi")']
      negative: ['log.info("hi")']
"#;

#[test]
fn user_rules_load_next_to_the_bundled_ones() {
    let mut docs = BUNDLED_RULE_FILES.to_vec();
    docs.push(("acme.yaml", USER_RULE));
    let set = DetectorSet::new(vec![Box::new(PatternDetector::new(load_rule_pack(&docs).unwrap()).unwrap())]);
    let lines = [added("lib/x.py", 5, "    print(secret_value)")];
    let run =
        set.run(&DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added }, Duration::from_secs(5));
    let d = run.detections.iter().find(|d| d.rule_id == "acme.no-print").unwrap();
    assert_eq!(d.message, "print() in library code: print(");
    assert_eq!(d.rule_version, "2");
    assert_ne!(
        set.capabilities()[0].rulepack_sha256,
        PatternDetector::bundled().unwrap().capabilities().rulepack_sha256
    );
}

#[test]
fn an_invalid_regex_is_reported_with_its_file_and_rule_id() {
    let bad = USER_RULE.replace(r"pattern: '\bprint\('", "pattern: 'print(('");
    let err = load_rule_pack(&[("acme.yaml", &bad)]).unwrap_err();
    assert_eq!(err.rule_id(), Some("acme.no-print"));
    let text = err.to_string();
    assert!(text.starts_with("acme.yaml: rule acme.no-print: invalid pattern regex"), "{text}");
}

#[test]
fn a_missing_field_is_reported_with_its_file_and_rule_id() {
    let bad = USER_RULE.replace("    help: Use the logging module.\n", "");
    let err = load_rule_pack(&[("acme.yaml", &bad)]).unwrap_err();
    assert_eq!(err.rule_id(), Some("acme.no-print"));
    assert!(err.to_string().contains("acme.yaml") && err.to_string().contains("missing field `help`"), "{err}");
}

#[test]
fn an_unknown_severity_is_reported_with_its_rule_id() {
    let bad = USER_RULE.replace("severity: info", "severity: severe");
    let err = load_rule_pack(&[("acme.yaml", &bad)]).unwrap_err();
    assert_eq!(err.rule_id(), Some("acme.no-print"));
    assert!(err.to_string().contains("severe"), "{err}");
}

/// A detector that reports a fixed detection, or panics.
struct Fake {
    caps: Capabilities,
    output: Option<Vec<Detection>>,
}

impl Fake {
    fn new(name: &str, output: Option<Vec<Detection>>) -> Self {
        let caps = Capabilities {
            name: name.into(),
            engine: "fake".into(),
            version: "0".into(),
            rules: vec![],
            rulepack_sha256: "0".repeat(64),
        };
        Self { caps, output }
    }
}

impl Detector for Fake {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    fn detect(&self, _: &DetectInput<'_>, _: Instant) -> DetectorOutput {
        match &self.output {
            Some(d) => DetectorOutput { detections: d.clone(), complete: true },
            None => panic!("fake detector failure"),
        }
    }
}

#[test]
fn detections_from_all_detectors_are_deduplicated_and_sorted() {
    let lines = [
        added("b.py", 9, ACCEPTANCE_LINE),
        added("a.py", 2, "x = pickle.loads(y)"),
        added("a.py", 2, "x = pickle.loads(y)"),
    ];
    let input = DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added };
    let pattern = PatternDetector::bundled().unwrap();
    let echo = pattern.detect(&input, Instant::now() + Duration::from_secs(5)).detections;
    let set = DetectorSet::new(vec![Box::new(pattern), Box::new(Fake::new("echo", Some(echo)))]);
    let run = set.run(&input, Duration::from_secs(5));
    assert_eq!(ids_at(&run), vec![(2, "python.deserialization.pickle"), (9, "python.sqli.fstring")]);
    assert_eq!(run.detectors.len(), 2);
    assert!(run.incomplete.is_empty());
}

#[test]
fn a_detector_that_panics_is_recorded_as_incomplete_without_stopping_the_others() {
    let lines = [added("a.py", 2, "x = pickle.loads(y)")];
    let input = DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added };
    let set =
        DetectorSet::new(vec![Box::new(PatternDetector::bundled().unwrap()), Box::new(Fake::new("broken", None))]);
    let run = set.run(&input, Duration::from_secs(5));
    assert_eq!(run.incomplete, vec!["broken".to_string()]);
    assert_eq!(ids_at(&run), vec![(2, "python.deserialization.pickle")]);
    assert_eq!(run.durations_ms.len(), 2);
}
