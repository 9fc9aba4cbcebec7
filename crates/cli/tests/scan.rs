//! `provenance scan` as a user runs it: the binary on a directory, a file and a diff.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const VULNERABLE: &str = "import subprocess\n\
    query = f\"SELECT * FROM orders WHERE id = {order_id}\"\n\
    subprocess.run(cmd, shell=True)\n\
    total = compute(items)\n";

fn scan(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provenance")).arg("scan").args(args).current_dir(dir).output().unwrap()
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/orders.py"), VULNERABLE).unwrap();
    std::fs::write(dir.path().join("app/clean.py"), "def total(items):\n    return sum(items)\n").unwrap();
    std::fs::create_dir_all(dir.path().join(".cache")).unwrap();
    std::fs::write(dir.path().join(".cache/hidden.py"), VULNERABLE).unwrap();
    dir
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn a_directory_scan_prints_each_finding_with_its_place_and_fails_on_high() {
    let dir = project();
    let out = scan(dir.path(), &["."]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("app/orders.py:2:9: high python.sqli.fstring: "), "{text}");
    assert!(text.contains("app/orders.py:3:1: high python.command-injection.subprocess-shell: "), "{text}");
    assert!(!text.contains("clean.py:"), "{text}");
    assert!(!text.contains("hidden.py"), "hidden directories are not scanned: {text}");
    assert!(text.trim_end().ends_with("2 finding(s) in 2 file(s)"), "{text}");
}

#[test]
fn the_exit_code_follows_the_fail_on_threshold() {
    let dir = project();
    assert_eq!(scan(dir.path(), &["app", "--fail-on", "critical"]).status.code(), Some(0));
    assert_eq!(scan(dir.path(), &["app", "--fail-on", "never"]).status.code(), Some(0));
    assert_eq!(scan(dir.path(), &["app", "--fail-on", "medium"]).status.code(), Some(1));
    assert_eq!(scan(dir.path(), &["app/clean.py"]).status.code(), Some(0));
}

#[test]
fn paths_are_relative_to_the_current_directory() {
    let dir = project();
    let out = scan(&dir.path().join("app"), &["--format", "json", "orders.py"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["findings"][0]["location"]["file_path"], "orders.py");
    assert_eq!(report["files_scanned"], 1);
    let detectors: Vec<&str> =
        report["detectors"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(detectors, ["provenance-pattern", "provenance-structural"]);
    assert_eq!(report["detectors"][1]["rulepack_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(report["findings"][0]["fingerprint"].as_str().unwrap().len(), 32);
}

#[test]
fn sarif_output_validates_against_the_official_schema() {
    let dir = project();
    let out = scan(dir.path(), &["--format", "sarif", "app"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../core/tests/fixtures/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
    let run = &sarif["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "provenance/scan");
    assert!(run.get("versionControlProvenance").is_none());
    assert_eq!(run["results"].as_array().unwrap().len(), 2);
    assert_eq!(run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "app/orders.py");
}

#[test]
fn a_diff_scan_reports_added_lines_only() {
    let dir = project();
    let diff = "diff --git a/svc/a.py b/svc/a.py\n--- a/svc/a.py\n+++ b/svc/a.py\n@@ -1,2 +1,2 @@\n x = 1\n\
                -eval(old_input)\n+os.system(\"rm -rf \" + path)\n";
    std::fs::write(dir.path().join("change.diff"), diff).unwrap();
    let out = scan(dir.path(), &["--diff", "change.diff"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("svc/a.py:2:1: high python.command-injection.os-system: "), "{text}");
    assert!(!text.contains("eval"), "a removed line is not reported: {text}");
}

#[test]
fn extra_rules_are_loaded_from_a_directory_and_a_broken_one_is_named() {
    let dir = project();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/team.yaml"),
        r#"rules:
  - id: team.no-compute
    version: 1
    name: compute() is deprecated
    message: "compute() is deprecated: {{match}}"
    description: Use the batch API instead.
    help: Replace compute(items) with batch.compute(items).
    severity: medium
    category: maintainability
    languages: [python]
    pattern: '\bcompute\('
    examples:
      positive: ["x = compute(items)"]
      negative: ["x = batch.compute_all(items)"]
"#,
    )
    .unwrap();
    let out = scan(dir.path(), &["app", "--rules", "rules", "--fail-on", "never"]);
    assert!(stdout(&out).contains("app/orders.py:4:9: medium team.no-compute: compute() is deprecated: compute("));

    std::fs::write(dir.path().join("rules/broken.yml"), "rules:\n  - id: Bad Id\n").unwrap();
    let out = scan(dir.path(), &["app", "--rules", "rules"]);
    assert_eq!(out.status.code(), Some(2), "a scan that cannot run is not a scan that found something");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("broken.yml"), "{err}");
}

#[test]
fn ast_grep_rules_and_external_detectors_join_the_scan() {
    let dir = project();
    let rules = dir.path().join("team-rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("no-compute.yml"),
        "id: team.no-compute\nlanguage: python\nmessage: compute($$$A) is deprecated\nseverity: warning\nrule:\n  pattern: compute($$$A)\n",
    )
    .unwrap();
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../detect/tests/plugins/fixme-security.sh");
    std::fs::write(dir.path().join("app/todo.py"), "x = 1\n# FIXME(security): sanitise\n").unwrap();
    let out = scan(
        dir.path(),
        &[
            "--rules",
            "team-rules",
            "--external",
            plugin.to_str().unwrap(),
            "--fail-on",
            "never",
            "--format",
            "json",
            "app",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let found: Vec<(String, u64, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location"]["file_path"].as_str().unwrap().to_string(),
                f["location"]["start_line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(found.contains(&("app/orders.py".into(), 4, "team.no-compute".into())), "{found:?}");
    assert!(found.contains(&("app/todo.py".into(), 2, "fixme-security/fixme".into())), "{found:?}");
    let names: Vec<&str> =
        report["detectors"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["provenance-pattern", "provenance-structural", "fixme-security"]);
}
