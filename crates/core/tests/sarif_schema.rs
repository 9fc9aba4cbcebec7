//! SARIF logs validate against the official OASIS SARIF 2.1.0 JSON schema and follow GitHub
//! code scanning's conventions and limits.

use chrono::{DateTime, TimeZone, Utc};
use jsonschema::Draft;
use provenance_core::attribution::{Attribution, AttributionSource, Contributor};
use provenance_core::finding::{Finding, FindingStatus, Location, RuleInfo, Severity, Suppression};
use provenance_core::id::{AnalysisId, FindingId};
use provenance_core::names::{AgentId, CommitSha, RepoName, RepoPath};
use provenance_core::sarif::{
    MAX_RESULTS_PER_RUN, SarifInput, SarifLog, SarifSubject, render_sarif, sarif_bytes, sarif_log, sarif_sha256,
};
use serde_json::{Value, json};

const HEAD: &str = "0123456789abcdef0123456789abcdef01234567";

fn schema_validator() -> jsonschema::Validator {
    let text = include_str!("fixtures/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(text).expect("the schema fixture is JSON");
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the official schema compiles")
}

/// Validate against the official schema, failing with every error and where it is.
fn assert_valid_sarif(log: &Value) {
    let validator = schema_validator();
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("  at {}: {e} (schema {})", e.instance_path, e.schema_path))
        .collect();
    assert!(errors.is_empty(), "SARIF log does not validate against the 2.1.0 schema:\n{}", errors.join("\n"));

    // The draft-04 schema cannot check `uri-reference`; check artifact URIs with a later draft.
    let uri_ref = jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(&json!({"type": "string", "format": "uri-reference"}))
        .expect("uri-reference schema");
    for result in log["runs"][0]["results"].as_array().into_iter().flatten() {
        for location in result["locations"].as_array().into_iter().flatten() {
            let uri = &location["physicalLocation"]["artifactLocation"]["uri"];
            assert!(uri_ref.is_valid(uri), "artifact uri {uri} is not a URI reference");
        }
    }
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, h, m, s).single().expect("valid time")
}

fn rule(id: &str, severity: Severity, category: &str, cwe: &[&str]) -> RuleInfo {
    RuleInfo {
        id: id.into(),
        version: "1".into(),
        name: format!("{id} name"),
        short_description: format!("{id} short"),
        full_description: format!("{id} full description"),
        help: format!("How to fix {id}."),
        severity,
        category: category.into(),
        languages: vec!["python".into()],
        cwe: cwe.iter().map(|c| c.to_string()).collect(),
        references: vec!["https://owasp.org/Top10/".into()],
        tags: vec!["python".into()],
    }
}

fn rules() -> Vec<RuleInfo> {
    vec![
        rule("python.sqli.fstring", Severity::Critical, "sqli", &["CWE-89"]),
        rule("python.exec.eval", Severity::High, "code_execution", &["CWE-95"]),
        rule("python.crypto.md5", Severity::Medium, "crypto", &["CWE-328"]),
        rule("generic.tls.verify_off", Severity::Low, "tls", &["CWE-295"]),
        rule("generic.todo.security", Severity::Info, "hygiene", &[]),
        rule("rule.without.results", Severity::High, "ssrf", &["CWE-918"]),
    ]
}

fn ai(agent: &str) -> Attribution {
    Attribution {
        contributor: Contributor::Ai,
        agent_id: Some(AgentId::parse(agent).expect("agent")),
        model_id: Some("anthropic/claude-opus-4-5".into()),
        session_id: None,
        source: AttributionSource::Declared,
        confidence: 0.9,
        flags: Vec::new(),
    }
}

fn finding(rule_id: &str, severity: Severity, path: &str, line: u32) -> Finding {
    Finding {
        id: FindingId::generate(),
        rule_id: rule_id.into(),
        rule_version: "1".into(),
        category: rule_id.split('.').nth(1).unwrap_or("misc").into(),
        severity,
        message: format!("{rule_id} matched"),
        location: Location {
            file_path: RepoPath::parse(path).expect("path"),
            start_line: line,
            end_line: line,
            start_column: 5,
            end_column: 30,
        },
        snippet: "cursor.execute(f\"SELECT * FROM t WHERE id={id}\")".into(),
        fingerprint: format!("{:032x}", u128::from(line) * 7919 + rule_id.len() as u128),
        attribution: Attribution::unknown(),
        engine: "structural".into(),
        status: FindingStatus::Open,
        suppression: None,
    }
}

fn varied_findings() -> Vec<Finding> {
    let mut sqli = finding("python.sqli.fstring", Severity::Critical, "api/orders.py", 12);
    sqli.attribution = ai("claude-code");
    let eval = finding("python.exec.eval", Severity::High, "my scripts/run job.py", 3);
    let md5 = finding("python.crypto.md5", Severity::Medium, "lib/hash.py", 40);
    let mut tls = finding("generic.tls.verify_off", Severity::Low, "lib/http.py", 8);
    tls.status = FindingStatus::Suppressed;
    tls.suppression = Some(Suppression {
        id: None,
        reason: "internal test server with a self-signed certificate".into(),
        suppressed_by: "alice".into(),
        suppressed_at: at(10, 0, 0),
        expires_at: None,
    });
    let todo = finding("generic.todo.security", Severity::Info, "README.md", 1);
    let mut unknown_rule = finding("external.semgrep.custom", Severity::High, "lib/ssrf.py", 5);
    unknown_rule.category = "ssrf".into();
    unknown_rule.location.start_column = 0;
    unknown_rule.location.end_column = 0;
    vec![todo, md5, sqli, tls, eval, unknown_rule]
}

struct Fixture {
    repo: RepoName,
    head: CommitSha,
    analysis_id: AnalysisId,
    rules: Vec<RuleInfo>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            repo: RepoName::parse("acme/shop").expect("repo"),
            head: CommitSha::parse(HEAD).expect("sha"),
            analysis_id: AnalysisId::generate(),
            rules: rules(),
        }
    }

    fn input<'a>(&'a self, findings: &'a [Finding]) -> SarifInput<'a> {
        SarifInput {
            subject: Some(SarifSubject { repo: &self.repo, head_sha: &self.head, analysis_id: &self.analysis_id }),
            findings,
            rules: &self.rules,
            tool_version: "0.1.0",
            execution_successful: true,
            failure_message: None,
            start_time: Some(at(12, 0, 0)),
            end_time: Some(at(12, 0, 3)),
        }
    }
}

fn result_for<'a>(log: &'a Value, finding: &Finding) -> &'a Value {
    log["runs"][0]["results"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["properties"]["finding_id"] == finding.id.as_str()))
        .unwrap_or_else(|| panic!("no result for {}", finding.rule_id))
}

#[test]
fn a_log_with_varied_findings_validates_against_the_official_schema() {
    let fx = Fixture::new();
    let findings = varied_findings();
    let log = render_sarif(&fx.input(&findings));
    assert_valid_sarif(&log);

    assert_eq!(log["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(log["runs"].as_array().map(Vec::len), Some(1));
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "Provenance");
    assert_eq!(driver["version"], "0.1.0");
    assert_eq!(driver["informationUri"], "https://github.com/provenance-dev/provenance");
    assert_eq!(run["automationDetails"]["id"], format!("provenance/{}", fx.analysis_id));
    assert_eq!(
        run["versionControlProvenance"],
        json!([{"repositoryUri": "https://github.com/acme/shop", "revisionId": HEAD}])
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    assert_eq!(run["invocations"][0]["startTimeUtc"], "2026-11-22T12:00:00.000Z");
    assert_eq!(run["invocations"][0]["endTimeUtc"], "2026-11-22T12:00:03.000Z");
    assert!(run["invocations"][0].get("toolExecutionNotifications").is_none());
    assert!(run.get("properties").is_none(), "nothing truncated");
    assert_eq!(run["results"].as_array().map(Vec::len), Some(findings.len()));

    // The AI-attributed finding says who wrote the line.
    let sqli = result_for(&log, &findings[2]);
    assert_eq!(
        sqli["properties"],
        json!({
            "finding_id": findings[2].id.as_str(),
            "category": "sqli",
            "severity": "critical",
            "agent_id": "claude-code",
            "contributor": "ai",
            "attribution_source": "declared",
            "attribution_confidence": 0.9,
        })
    );
    assert_eq!(sqli["partialFingerprints"], json!({"provenance/v1": findings[2].fingerprint}));
    assert_eq!(
        sqli["locations"][0]["physicalLocation"],
        json!({
            "artifactLocation": {"uri": "api/orders.py", "uriBaseId": "%SRCROOT%"},
            "region": {
                "startLine": 12, "endLine": 12, "startColumn": 5, "endColumn": 30,
                "snippet": {"text": findings[2].snippet},
            },
        })
    );
    assert!(sqli.get("suppressions").is_none());

    // An unattributed line has no agent id.
    let eval = result_for(&log, &findings[4]);
    assert!(eval["properties"].get("agent_id").is_none());
    assert_eq!(eval["properties"]["contributor"], "unknown");
    assert_eq!(eval["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "my%20scripts/run%20job.py");

    // The suppressed finding is reported as externally suppressed, with the reason.
    let tls = result_for(&log, &findings[3]);
    assert_eq!(
        tls["suppressions"],
        json!([{"kind": "external", "justification": "internal test server with a self-signed certificate"}])
    );

    // Unknown columns are left out rather than written as 0.
    let region = &result_for(&log, &findings[5])["locations"][0]["physicalLocation"]["region"];
    assert!(region.get("startColumn").is_none() && region.get("endColumn").is_none());
}

#[test]
fn rules_carry_github_metadata_and_only_rules_with_results_are_listed() {
    let fx = Fixture::new();
    let findings = varied_findings();
    let log = render_sarif(&fx.input(&findings));
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "external.semgrep.custom",
            "generic.tls.verify_off",
            "generic.todo.security",
            "python.crypto.md5",
            "python.exec.eval",
            "python.sqli.fstring",
        ],
        "sorted by id, without `rule.without.results`"
    );

    let sqli = &rules[5];
    assert_eq!(
        *sqli,
        json!({
            "id": "python.sqli.fstring",
            "name": "python.sqli.fstring name",
            "shortDescription": {"text": "python.sqli.fstring short"},
            "fullDescription": {"text": "python.sqli.fstring full description"},
            "help": {"text": "How to fix python.sqli.fstring."},
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "category": "sqli",
                "tags": ["security", "sqli", "python", "CWE-89", "external/cwe/cwe-89"],
                "security-severity": "9.5",
                "precision": "high",
            },
        })
    );
    let scores: Vec<&str> = rules.iter().filter_map(|r| r["properties"]["security-severity"].as_str()).collect();
    assert_eq!(scores, ["8.0", "3.0", "0.0", "5.5", "8.0", "9.5"]);

    // A finding of a rule without metadata gets a minimal descriptor from the finding.
    assert_eq!(
        rules[0],
        json!({
            "id": "external.semgrep.custom",
            "name": "external.semgrep.custom",
            "shortDescription": {"text": "external.semgrep.custom"},
            "defaultConfiguration": {"level": "error"},
            "properties": {
                "category": "ssrf",
                "tags": ["security", "ssrf"],
                "security-severity": "8.0",
                "precision": "high",
            },
        })
    );
}

#[test]
fn an_empty_findings_list_still_validates() {
    let fx = Fixture::new();
    let log = render_sarif(&fx.input(&[]));
    assert_valid_sarif(&log);
    assert_eq!(log["runs"][0]["results"], json!([]));
    assert_eq!(log["runs"][0]["tool"]["driver"]["rules"], json!([]));
}

#[test]
fn execution_is_reported_unsuccessful_with_the_failure_message_when_told() {
    let fx = Fixture::new();
    let findings = varied_findings();
    let input = SarifInput {
        execution_successful: false,
        failure_message: Some("detector external:semgrep ran out of its 10 s budget"),
        start_time: None,
        end_time: None,
        ..fx.input(&findings)
    };
    let log = render_sarif(&input);
    assert_valid_sarif(&log);
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"],
        json!([{"level": "error", "message": {"text": "detector external:semgrep ran out of its 10 s budget"}}])
    );
    assert!(invocation.get("startTimeUtc").is_none() && invocation.get("endTimeUtc").is_none());
}

#[test]
fn result_levels_follow_severity() {
    let fx = Fixture::new();
    let findings = varied_findings();
    let log = render_sarif(&fx.input(&findings));
    for f in &findings {
        let expected = match f.severity {
            Severity::Critical | Severity::High => "error",
            Severity::Medium => "warning",
            Severity::Low | Severity::Info => "note",
        };
        assert_eq!(result_for(&log, f)["level"], expected, "{}", f.rule_id);
    }
}

#[test]
fn results_are_ordered_most_severe_first() {
    let fx = Fixture::new();
    let log = render_sarif(&fx.input(&varied_findings()));
    let severities: Vec<&str> = log["runs"][0]["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["properties"]["severity"].as_str())
        .collect();
    assert_eq!(severities, ["critical", "high", "high", "medium", "low", "info"]);
}

#[test]
fn rule_index_points_to_the_rule_of_the_result() {
    let fx = Fixture::new();
    let findings = varied_findings();
    let log = render_sarif(&fx.input(&findings));
    let rules = &log["runs"][0]["tool"]["driver"]["rules"];
    let results = log["runs"][0]["results"].as_array().cloned().unwrap_or_default();
    assert!(!results.is_empty());
    for r in &results {
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
    }
}

#[test]
fn more_than_25000_findings_are_capped_keeping_the_most_severe() {
    let fx = Fixture::new();
    let mut findings: Vec<Finding> = (0..MAX_RESULTS_PER_RUN as u32 + 10)
        .map(|i| finding("python.crypto.md5", Severity::Medium, "a.py", i + 1))
        .collect();
    findings.extend((0..5).map(|i| finding("generic.todo.security", Severity::Info, "b.py", i + 1)));
    findings.push(finding("python.sqli.fstring", Severity::Critical, "z.py", 1));
    let typed = sarif_log(&fx.input(&findings));
    let run = &typed.runs[0];
    assert_eq!(run.results.len(), MAX_RESULTS_PER_RUN);
    assert_eq!(run.results[0].rule_id, "python.sqli.fstring");
    assert!(run.results.iter().all(|r| r.rule_id != "generic.todo.security"), "the least severe go first");
    assert_eq!(run.properties.as_ref().and_then(|p| p.results_truncated), Some(16));
    assert!(run.results.iter().all(|r| r.locations.len() <= 1_000));
    assert_eq!(run.tool.driver.rules.len(), 2, "rules of dropped results are not listed");

    let log = typed.to_value();
    assert_eq!(log["runs"][0]["properties"], json!({"results_truncated": 16}));
    let notes = &log["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notes[0]["level"], "warning");
    assert_valid_sarif(&log);
}

#[test]
fn the_served_bytes_are_canonical_and_independent_of_finding_order() {
    let fx = Fixture::new();
    let findings = varied_findings();
    let mut reversed = findings.clone();
    reversed.reverse();
    let a = sarif_log(&fx.input(&findings));
    let b = sarif_log(&fx.input(&reversed));
    assert_eq!(sarif_bytes(&a), sarif_bytes(&b));
    assert_eq!(sarif_sha256(&a), sarif_sha256(&b));
    assert_eq!(sarif_sha256(&a).len(), 64);

    // The bytes parse back into the same typed log.
    let parsed: SarifLog = serde_json::from_slice(&sarif_bytes(&a)).expect("typed SARIF");
    assert_eq!(parsed, a);
}

#[test]
fn the_schema_check_is_real_and_rejects_invalid_logs() {
    let fx = Fixture::new();
    let findings = varied_findings();
    let good = render_sarif(&fx.input(&findings));
    let validator = schema_validator();
    assert!(validator.is_valid(&good));

    let mut bad_level = good.clone();
    bad_level["runs"][0]["results"][0]["level"] = json!("critical");
    let mut zero_line = good.clone();
    zero_line["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = json!(0);
    let mut bad_uri = good.clone();
    bad_uri["runs"][0]["versionControlProvenance"][0]["repositoryUri"] = json!("not a uri");
    let mut unknown_field = good.clone();
    unknown_field["runs"][0]["results"][0]["severity"] = json!("high");
    let mut duplicate_tags = good;
    duplicate_tags["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"] = json!(["security", "security"]);
    for (what, log) in [
        ("level", bad_level),
        ("startLine", zero_line),
        ("repositoryUri", bad_uri),
        ("unknown field", unknown_field),
        ("duplicate tags", duplicate_tags),
    ] {
        assert!(!validator.is_valid(&log), "{what} should be rejected");
    }
}
