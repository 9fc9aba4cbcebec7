//! External detectors: a real executable speaking `provenance.detector/v1` (a shell script in
//! `tests/plugins/`), run in a temporary directory, checked, time-limited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use provenance_core::ReportMode;
use provenance_core::analysis::FileContent;
use provenance_core::finding::Severity;
use provenance_detect::{DetectInput, Detector, DetectorSet, ExternalDetector, SecretRedactor};

use common::{added, path};

fn plugin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/fixme-security.sh")
}

/// A throw-away plug-in script with the given body.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

const CAPABILITIES: &str = r#"if [ "$1" = capabilities ]; then echo '{"protocol":"provenance.detector/v1","tool":{"name":"t","version":"1"}}'; exit 0; fi"#;

const FILE: &str = "import os\n# FIXME(security): validate the path\nx = 1\n\n# FIXME(security): and this\n";

#[test]
fn an_external_detector_reports_through_the_protocol_with_our_snippets_and_report_modes() {
    let detector = ExternalDetector::new("fixme", &plugin(), SecretRedactor::default()).unwrap();
    let caps = detector.capabilities();
    assert_eq!((caps.engine.as_str(), caps.version.as_str()), ("external", "fixme-security 1.0"));
    assert_eq!(caps.rules[0].id, "fixme/fixme");
    assert_eq!(caps.rulepack_sha256.len(), 64);

    let files = [FileContent { path: path("app/files.py"), content: FILE.into() }];
    let lines = [added("app/files.py", 2, "# FIXME(security): validate the path")];
    let run = |mode| {
        let input = DetectInput { lines: &lines, files: &files, report_mode: mode };
        let out = detector.detect(&input, Instant::now() + Duration::from_secs(10));
        assert!(out.complete);
        out.detections
    };
    let added_only = run(ReportMode::Added);
    assert_eq!(added_only.len(), 1, "the finding on unchanged line 5 is dropped: {added_only:?}");
    let d = &added_only[0];
    assert_eq!((d.rule_id.as_str(), d.location.start_line, d.severity), ("fixme/fixme", 2, Severity::Low));
    assert_eq!(d.category, "review");
    assert_eq!(d.snippet, "# FIXME(security): validate the path");
    assert_eq!(d.engine, "external");
    assert_eq!(run(ReportMode::File).len(), 2);
}

#[test]
fn without_file_contents_the_submitted_lines_sit_at_their_line_numbers() {
    let detector = ExternalDetector::new("fixme", &plugin(), SecretRedactor::default()).unwrap();
    let lines = [added("lib/deep/x.rb", 40, "# FIXME(security) unchecked"), added("lib/deep/x.rb", 41, "run(x)")];
    let input = DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added };
    let out = detector.detect(&input, Instant::now() + Duration::from_secs(10));
    assert_eq!(out.detections.iter().map(|d| d.location.start_line).collect::<Vec<_>>(), [40]);
}

#[test]
fn findings_outside_the_given_files_or_lines_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        r#"{CAPABILITIES}
cat > /dev/null
echo '{{"protocol":"provenance.detector/v1","findings":[
 {{"rule_id":"r","path":"/etc/passwd","start_line":1,"message":"outside"}},
 {{"rule_id":"r","path":"../x.py","start_line":1,"message":"escape"}},
 {{"rule_id":"r","path":"a.py","start_line":99,"message":"no such line"}},
 {{"rule_id":"r","path":"./a.py","start_line":1,"message":"kept"}}]}}'"#
    );
    let program = script(dir.path(), "liar.sh", &body);
    let detector = ExternalDetector::new("liar", &program, SecretRedactor::default()).unwrap();
    let lines = [added("a.py", 1, "x = 1")];
    let input = DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added };
    let out = detector.detect(&input, Instant::now() + Duration::from_secs(10));
    assert!(out.complete);
    assert_eq!(out.detections.iter().map(|d| d.message.as_str()).collect::<Vec<_>>(), ["kept"]);
    assert_eq!(out.detections[0].severity, Severity::Medium, "a rule the tool did not describe defaults to medium");
}

#[test]
fn a_plugin_over_its_budget_is_stopped_with_its_children_and_marked_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("child-survived");
    let body = format!("{CAPABILITIES}\n(sleep 3; touch {}) &\nsleep 30", marker.display());
    let program = script(dir.path(), "slow.sh", &body);
    let set =
        DetectorSet::new(vec![Box::new(ExternalDetector::new("slow", &program, SecretRedactor::default()).unwrap())]);
    let lines = [added("a.py", 1, "x = 1")];
    let started = Instant::now();
    let run =
        set.run(&DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added }, Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(3), "stopped at its deadline: {:?}", started.elapsed());
    assert_eq!(run.incomplete, ["slow"]);
    std::thread::sleep(Duration::from_secs(4));
    assert!(!marker.exists(), "the plug-in's background child was killed too");
}

#[test]
fn a_failing_or_garbled_plugin_yields_an_incomplete_result() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [added("a.py", 1, "x = 1")];
    for (name, body) in
        [("exit", "cat >/dev/null; echo boom >&2; exit 3"), ("garbled", "cat >/dev/null; echo 'not json'")]
    {
        let program = script(dir.path(), &format!("{name}.sh"), &format!("{CAPABILITIES}\n{body}"));
        let detector = ExternalDetector::new(name, &program, SecretRedactor::default()).unwrap();
        let out = detector.detect(
            &DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added },
            Instant::now() + Duration::from_secs(10),
        );
        assert!(!out.complete, "{name}");
        assert!(out.detections.is_empty());
    }
}

#[test]
fn setup_errors_name_the_detector() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = script(
        dir.path(),
        "v2.sh",
        r#"echo '{"protocol":"provenance.detector/v2","tool":{"name":"t","version":"1"}}'"#,
    );
    let err = ExternalDetector::new("v2", &wrong, SecretRedactor::default()).unwrap_err();
    assert!(err.to_string().contains("\"v2\"") && err.to_string().contains("provenance.detector/v1"), "{err}");
    let err = ExternalDetector::new("missing", &dir.path().join("nope"), SecretRedactor::default()).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let err = ExternalDetector::new("Bad Name", &plugin(), SecretRedactor::default()).unwrap_err();
    assert!(err.to_string().contains("lower-case"), "{err}");
}

#[test]
fn the_plugin_sees_only_a_scratch_directory_and_a_minimal_environment() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("env.txt");
    let body = format!(
        "{CAPABILITIES}\ncat >/dev/null\n{{ pwd; env; find . -type f; }} > {}\necho '{{\"protocol\":\"provenance.detector/v1\",\"findings\":[]}}'",
        report.display()
    );
    let program = script(dir.path(), "spy.sh", &body);
    let detector = ExternalDetector::new("spy", &program, SecretRedactor::default()).unwrap();
    let lines = [added("src/a.py", 1, "x = 1")];
    let out = detector.detect(
        &DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added },
        Instant::now() + Duration::from_secs(10),
    );
    assert!(out.complete);
    let seen = std::fs::read_to_string(&report).unwrap();
    assert!(seen.contains("./src/a.py"), "{seen}");
    assert!(
        !seen.contains("CARGO_MANIFEST_DIR") && !seen.contains("CARGO_PKG_NAME"),
        "the environment is cleared: {seen}"
    );
    assert!(seen.contains("PROVENANCE_DETECTOR_PROTOCOL=provenance.detector/v1"), "{seen}");
}
