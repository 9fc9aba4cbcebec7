//! Provenance detectors (SPEC §4): engines that find risky code in changed lines, and the
//! bundled rule pack. Three engines:
//!
//! * `pattern` ([`PatternDetector`]) — regex rules per line, secrets with entropy checks and
//!   redaction (`rules/*.yaml`);
//! * `ast-grep` ([`StructuralDetector`]) — ast-grep rules over tree-sitter syntax trees, each
//!   file parsed once, files no rule can match skipped before parsing (`rules/structural/`);
//! * `external` ([`ExternalDetector`]) — any executable speaking `provenance.detector/v1`.
//!
//! The API is synchronous — the worker calls it on a blocking thread. Every detector gets a
//! deadline, checks it between lines, and when it passes returns what it found so far with
//! `complete: false`; [`DetectorSet::run`] records such detectors in
//! [`DetectionRun::incomplete`], so a slow detector yields a partial result, never a hang.
//!
//! One snippet at a time (`POST /v1/detect`): [`DetectorSet::detect_snippet`], run off the async
//! runtime by [`SnippetScanner`], which [`grpc::DetectorGrpc`] serves as `DetectorService`.
//!
//! ```no_run
//! use std::time::Duration;
//! use provenance_core::ReportMode;
//! use provenance_detect::{DetectInput, DetectorSet};
//!
//! let set = DetectorSet::bundled().expect("bundled rules are valid");
//! let input = DetectInput { lines: &[], files: &[], report_mode: ReportMode::Added };
//! let run = set.run(&input, Duration::from_secs(10));
//! assert!(run.incomplete.is_empty());
//! ```

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use provenance_core::analysis::{FileContent, ReportMode};
use provenance_core::decision::DetectorRef;
use provenance_core::finding::{Detection, RuleInfo};
use provenance_core::line::ChangedLine;
use serde::Serialize;

mod external;
pub mod grpc;
mod pattern;
mod rulepack;
mod snippet;
mod structural;

pub use external::{EXTERNAL_PROTOCOL, ExternalDetector, ExternalError};
pub use pattern::{
    BUNDLED_RULE_FILES, DIFF_CONTEXT_LINES, MAX_SNIPPET_CHARS, PatternDetector, REDACTION_MARK, SecretRedactor,
    redact_secret,
};
pub use rulepack::{
    ANY_LANGUAGE, Examples, PatternRule, RulePackError, RuleSpec, SecretSpec, load_rule_pack, rule_pack_digest,
    shannon_entropy,
};
pub use snippet::{SNIPPET_BUDGET, ScanError, SnippetScanner};
pub use structural::{
    AST_GREP_VERSION, BUNDLED_STRUCTURAL_RULE_FILES, StructuralDetector, StructuralRule, is_structural_rule_file,
    load_structural_rules,
};

/// What the detectors look at: the changed lines, optionally the full files at head, and which
/// findings count.
#[derive(Debug, Clone, Copy)]
pub struct DetectInput<'a> {
    pub lines: &'a [ChangedLine],
    pub files: &'a [FileContent],
    pub report_mode: ReportMode,
}

/// What a detector is: its name, engine and version, its rules, and the digest of its rule pack.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Capabilities {
    pub name: String,
    pub engine: String,
    pub version: String,
    pub rules: Vec<RuleInfo>,
    pub rulepack_sha256: String,
}

impl Capabilities {
    /// The reference a decision records for this detector.
    pub fn detector_ref(&self) -> DetectorRef {
        DetectorRef {
            name: self.name.clone(),
            version: self.version.clone(),
            rulepack_sha256: self.rulepack_sha256.clone(),
        }
    }
}

/// One detector's result. `complete` is false when the deadline passed before it finished; the
/// detections are then those found so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectorOutput {
    pub detections: Vec<Detection>,
    pub complete: bool,
}

/// A detection engine.
pub trait Detector: Send + Sync {
    fn capabilities(&self) -> &Capabilities;

    /// Scan the input. Implementations check `deadline` between units of work (files, lines)
    /// and return `complete: false` with what they have once it has passed.
    fn detect(&self, input: &DetectInput<'_>, deadline: Instant) -> DetectorOutput;
}

/// The result of running every detector of a set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectionRun {
    /// De-duplicated and sorted by (path, line, column, rule id).
    pub detections: Vec<Detection>,
    /// Every detector that ran, with its rule-pack digest.
    pub detectors: Vec<DetectorRef>,
    /// Names of detectors that ran out of budget (or panicked), so their results are partial.
    pub incomplete: Vec<String>,
    /// Names of detectors that panicked (also listed in `incomplete`). The pipeline treats a
    /// panic as a failed attempt rather than a partial result, so a poison input is retried and
    /// then dead-lettered instead of silently producing a weaker decision.
    pub panicked: Vec<String>,
    /// Wall time per detector name, in milliseconds.
    pub durations_ms: BTreeMap<String, u64>,
}

/// The detectors an analysis runs.
pub struct DetectorSet {
    detectors: Vec<Box<dyn Detector>>,
}

impl std::fmt::Debug for DetectorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.detectors.iter().map(|d| &d.capabilities().name)).finish()
    }
}

impl DetectorSet {
    /// The bundled rule pack: the pattern engine and the structural engine.
    pub fn bundled() -> Result<Self, RulePackError> {
        Self::bundled_with(&[])
    }

    /// The bundled rule pack, the rule files of `rule_dirs` and the external detectors
    /// `(name, program)`: what a deployment's settings or `provenance scan`'s flags ask for.
    pub fn configured(rule_dirs: &[PathBuf], external: &[(String, PathBuf)]) -> Result<Self, DetectorSetError> {
        let files = read_rule_dirs(rule_dirs)?;
        let docs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let (mut detectors, redactor) = rule_engines(&docs)?;
        for (name, program) in external {
            if detectors.iter().any(|d| d.capabilities().name == *name) {
                return Err(DetectorSetError::DuplicateName(name.clone()));
            }
            detectors.push(Box::new(ExternalDetector::new(name, program, redactor.clone())?));
        }
        Ok(Self::new(detectors))
    }

    /// The bundled rule pack plus more rule files, `(file name, YAML)` (e.g. `--rules DIR`).
    /// Files of ast-grep rule documents (with `language` and `rule`) go to the structural
    /// engine, the others to the pattern engine; rule ids must be unique across both.
    pub fn bundled_with(extra: &[(&str, &str)]) -> Result<Self, RulePackError> {
        Ok(Self::new(rule_engines(extra)?.0))
    }

    pub fn new(detectors: Vec<Box<dyn Detector>>) -> Self {
        Self { detectors }
    }

    pub fn capabilities(&self) -> Vec<&Capabilities> {
        self.detectors.iter().map(|d| d.capabilities()).collect()
    }

    /// Every rule of every detector.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.detectors.iter().flat_map(|d| d.capabilities().rules.iter().cloned()).collect()
    }

    /// Run every detector, each with its own `budget`; with several detectors they run in
    /// parallel. A detector that panics counts as incomplete and contributes no detections.
    pub fn run(&self, input: &DetectInput<'_>, budget: Duration) -> DetectionRun {
        let outputs: Vec<(Option<DetectorOutput>, Duration)> = if self.detectors.len() <= 1 {
            self.detectors.iter().map(|d| run_one(d.as_ref(), input, budget)).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> =
                    self.detectors.iter().map(|d| scope.spawn(move || run_one(d.as_ref(), input, budget))).collect();
                handles.into_iter().map(|h| h.join().unwrap_or((None, Duration::ZERO))).collect()
            })
        };

        let mut run = DetectionRun::default();
        for (detector, (output, elapsed)) in self.detectors.iter().zip(outputs) {
            let caps = detector.capabilities();
            run.detectors.push(caps.detector_ref());
            run.durations_ms.insert(caps.name.clone(), u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
            match output {
                Some(out) => {
                    if !out.complete {
                        run.incomplete.push(caps.name.clone());
                    }
                    run.detections.extend(out.detections);
                }
                None => {
                    run.incomplete.push(caps.name.clone());
                    run.panicked.push(caps.name.clone());
                }
            }
        }
        run.detections.sort_by(|a, b| detection_key(a).cmp(&detection_key(b)));
        run.detections.dedup_by(|a, b| detection_key(a) == detection_key(b));
        run
    }
}

/// The pattern and structural engines over the bundled packs plus `extra` rule files, and the
/// redactor of the pattern pack's secret rules (which other engines' output goes through).
fn rule_engines(extra: &[(&str, &str)]) -> Result<(Vec<Box<dyn Detector>>, SecretRedactor), RulePackError> {
    if extra.is_empty() {
        let pattern = PatternDetector::bundled()?;
        let redactor = SecretRedactor::new(pattern.rules());
        return Ok((vec![Box::new(pattern), Box::new(StructuralDetector::bundled()?)], redactor));
    }
    type RuleFiles<'a> = Vec<(&'a str, &'a str)>;
    let (structural, pattern): (RuleFiles<'_>, RuleFiles<'_>) =
        extra.iter().partition(|(_, text)| is_structural_rule_file(text));
    let pattern_files: RuleFiles<'_> = BUNDLED_RULE_FILES.iter().copied().chain(pattern).collect();
    let pattern_rules = load_rule_pack(&pattern_files)?;
    let structural_files: RuleFiles<'_> = BUNDLED_STRUCTURAL_RULE_FILES.iter().copied().chain(structural).collect();
    let structural_rules = load_structural_rules(&structural_files)?;
    for rule in &structural_rules {
        if let Some(first) = pattern_rules.iter().find(|p| p.id() == rule.id()) {
            return Err(RulePackError::DuplicateId {
                file: rule.source_file().to_string(),
                rule_id: rule.id().to_string(),
                first_file: first.source_file().to_string(),
            });
        }
    }
    let redactor = SecretRedactor::new(&pattern_rules);
    let detectors: Vec<Box<dyn Detector>> = vec![
        Box::new(PatternDetector::new(pattern_rules)?),
        Box::new(StructuralDetector::new(structural_rules, redactor.clone())?),
    ];
    Ok((detectors, redactor))
}

/// Why the configured detectors could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DetectorSetError {
    #[error(transparent)]
    RulePack(#[from] RulePackError),
    #[error(transparent)]
    External(#[from] ExternalError),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("two detectors are named {0:?}")]
    DuplicateName(String),
}

/// The rule files (`*.yaml`, `*.yml`) of each directory, sorted by name: `(path, YAML)`.
pub fn read_rule_dirs(dirs: &[PathBuf]) -> Result<Vec<(String, String)>, DetectorSetError> {
    let io = |path: &std::path::Path, e: std::io::Error| DetectorSetError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let mut out = Vec::new();
    for dir in dirs {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            out.push((path.display().to_string(), text));
        }
    }
    Ok(out)
}

fn detection_key(d: &Detection) -> (&str, u32, u32, &str) {
    (d.location.file_path.as_str(), d.location.start_line, d.location.start_column, d.rule_id.as_str())
}

fn run_one(detector: &dyn Detector, input: &DetectInput<'_>, budget: Duration) -> (Option<DetectorOutput>, Duration) {
    let started = Instant::now();
    let deadline = started.checked_add(budget).unwrap_or(started + Duration::from_secs(86_400));
    let output = catch_unwind(AssertUnwindSafe(|| detector.detect(input, deadline))).ok();
    (output, started.elapsed())
}
