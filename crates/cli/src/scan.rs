//! `provenance scan`: the detectors on local files or a diff, no server needed. Findings go to
//! stdout as text, JSON or SARIF, with paths relative to the current directory; the exit code
//! says whether any reached the `--fail-on` severity.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use provenance_core::analysis::{FileContent, ReportMode};
use provenance_core::attribution::Attribution;
use provenance_core::decision::DetectorRef;
use provenance_core::diff::{changed_lines, parse_unified_diff};
use provenance_core::finding::{Finding, Severity};
use provenance_core::language::infer_language;
use provenance_core::line::{ChangeType, ChangedLine};
use provenance_core::names::RepoPath;
use provenance_core::sarif::{SarifInput, render_sarif};
use provenance_detect::{DetectInput, DetectionRun, DetectorSet};
use serde::Serialize;

/// Files larger than this are skipped (as Semgrep's default `--max-target-bytes` does).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to scan (directories recursively, honouring .gitignore).
    #[arg(required_unless_present = "diff")]
    pub paths: Vec<PathBuf>,
    /// Scan the added and modified lines of a unified diff instead (`-` reads stdin).
    #[arg(long, conflicts_with = "paths")]
    pub diff: Option<PathBuf>,
    /// A directory of extra rule files (`*.yaml`, `*.yml`), loaded with the bundled pack
    /// (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// An external detector: an executable speaking the `provenance.detector/v1` protocol
    /// (docs/external-detectors.md), named after its file name (repeatable).
    #[arg(long = "external", value_name = "PROGRAM")]
    pub external: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit with status 1 when a finding is at least this severe.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// Time budget per detector for the whole scan; past it the results are partial (and
    /// reported as such).
    #[arg(long, default_value_t = 300)]
    pub budget_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `path:line:col: severity rule: message`, one finding per line.
    Text,
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
    /// Always exit 0 when the scan ran.
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            Self::Info => Some(Severity::Info),
            Self::Low => Some(Severity::Low),
            Self::Medium => Some(Severity::Medium),
            Self::High => Some(Severity::High),
            Self::Critical => Some(Severity::Critical),
            Self::Never => None,
        }
    }
}

/// What a scan found, as `--format json` prints it.
#[derive(Debug, Serialize)]
pub struct ScanReport {
    pub findings: Vec<Finding>,
    pub files_scanned: usize,
    /// Files left out: over [`MAX_FILE_BYTES`], not UTF-8, or unreadable.
    pub files_skipped: usize,
    /// Detectors that ran out of budget: their findings are partial.
    pub detectors_incomplete: Vec<String>,
    /// Every detector that ran, with its version and rule-pack digest.
    pub detectors: Vec<DetectorRef>,
}

/// Run the scan and print the report; returns the process exit code.
pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let detectors = detectors(&args.rules, &args.external)?;
    let budget = Duration::from_secs(args.budget_seconds);
    let cwd = std::env::current_dir().context("the current directory is not readable")?;
    let (run, files_scanned, files_skipped) = match &args.diff {
        Some(diff) => {
            let lines = diff_lines(diff)?;
            let run = detectors.run(&DetectInput { lines: &lines, files: &[], report_mode: ReportMode::Added }, budget);
            let files = lines.iter().map(|l| &l.file_path).collect::<std::collections::BTreeSet<_>>().len();
            (run, files, 0)
        }
        None => {
            let (files, skipped) = collect_files(&args.paths, &cwd)?;
            // Every file counts as changed: `file` mode then reports findings anywhere in it.
            let lines: Vec<ChangedLine> = files.iter().map(|f| whole_file_marker(&f.path)).collect();
            let run =
                detectors.run(&DetectInput { lines: &lines, files: &files, report_mode: ReportMode::File }, budget);
            (run, files.len(), skipped)
        }
    };
    let report = report(run, files_scanned, files_skipped);
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Text => print_text(&mut out, &report)?,
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Sarif => {
            let rules = detectors.rules();
            let sarif = render_sarif(&SarifInput {
                subject: None,
                findings: &report.findings,
                rules: &rules,
                tool_version: env!("CARGO_PKG_VERSION"),
                execution_successful: report.detectors_incomplete.is_empty(),
                failure_message: None,
                start_time: None,
                end_time: None,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&sarif)?)?;
        }
    }
    if !report.detectors_incomplete.is_empty() {
        eprintln!(
            "warning: {} ran out of its {} s budget; the results are partial",
            report.detectors_incomplete.join(", "),
            args.budget_seconds
        );
    }
    let failing = args.fail_on.threshold().is_some_and(|t| report.findings.iter().any(|f| f.severity >= t));
    Ok(u8::from(failing))
}

/// The bundled rule pack, the rule files of `dirs` and the external detectors `programs` (each
/// named after its file name).
pub fn detectors(dirs: &[PathBuf], programs: &[PathBuf]) -> anyhow::Result<DetectorSet> {
    let external: Vec<(String, PathBuf)> = programs.iter().map(|p| (external_name(p), p.clone())).collect();
    Ok(DetectorSet::configured(dirs, &external)?)
}

/// An external detector's name from its program's file name: `semgrep-plugin.py` →
/// `semgrep-plugin`.
fn external_name(program: &Path) -> String {
    let stem = program.file_stem().map(|s| s.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let name: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if name.is_empty() { "external".into() } else { name }
}

/// Every file under `roots` (directories walked honouring .gitignore and skipping hidden
/// entries), read as UTF-8, with its path relative to `cwd`. Returns the files and how many
/// were skipped.
fn collect_files(roots: &[PathBuf], cwd: &Path) -> anyhow::Result<(Vec<FileContent>, usize)> {
    let mut files = Vec::new();
    let mut skipped = 0;
    for root in roots {
        if !root.exists() {
            bail!("{}: no such file or directory", root.display());
        }
        for entry in ignore::WalkBuilder::new(root).sort_by_file_name(|a, b| a.cmp(b)).build() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("warning: {e}");
                    skipped += 1;
                    continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            let Some(repo_path) = display_path(path, root, cwd) else {
                skipped += 1;
                continue;
            };
            if entry.metadata().map_or(true, |m| m.len() > MAX_FILE_BYTES) {
                skipped += 1;
                continue;
            }
            match std::fs::read(path).map(String::from_utf8) {
                Ok(Ok(content)) => files.push(FileContent { path: repo_path, content }),
                _ => skipped += 1,
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok((files, skipped))
}

/// The path as findings show it: relative to the current directory when it is under it, else
/// relative to the directory holding the root it was found under.
fn display_path(path: &Path, root: &Path, cwd: &Path) -> Option<RepoPath> {
    let path = lexical_absolute(path, cwd);
    let relative = match path.strip_prefix(cwd) {
        Ok(r) => r.to_path_buf(),
        Err(_) => {
            let root = lexical_absolute(root, cwd);
            path.strip_prefix(root.parent().unwrap_or(&root)).ok()?.to_path_buf()
        }
    };
    let text = relative.to_str()?.replace(std::path::MAIN_SEPARATOR, "/");
    RepoPath::parse(&text).ok()
}

/// `path` made absolute against `cwd`, with `.` and `..` resolved by name (not through
/// symbolic links, so a path names what the user typed).
fn lexical_absolute(path: &Path, cwd: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in cwd.join(path).components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A line that marks `path` as changed, so the detectors scan the whole file.
fn whole_file_marker(path: &RepoPath) -> ChangedLine {
    changed_line(path.clone(), 1, ChangeType::Added, None)
}

fn changed_line(
    file_path: RepoPath,
    line_number: u32,
    change_type: ChangeType,
    content: Option<String>,
) -> ChangedLine {
    ChangedLine {
        language: infer_language(&file_path).map(str::to_string),
        file_path,
        line_number,
        change_type,
        content,
        author_identity: None,
        declared: None,
        content_sha256: None,
        attestation_signature: None,
        attribution: Attribution::unknown(),
    }
}

/// The added and modified lines of a unified diff (`-`: stdin), as changed lines.
fn diff_lines(source: &Path) -> anyhow::Result<Vec<ChangedLine>> {
    let text = if source == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading the diff from stdin")?
    } else {
        std::fs::read_to_string(source).with_context(|| format!("{}: not readable", source.display()))?
    };
    let files = parse_unified_diff(&text).map_err(|e| anyhow::anyhow!("{}: {e}", source.display()))?;
    changed_lines(&files)
        .into_iter()
        .filter(|l| l.change_type.is_at_head())
        .map(|l| {
            let file_path = RepoPath::parse(&l.path).map_err(|e| anyhow::anyhow!("diff path {:?}: {e}", l.path))?;
            Ok(changed_line(file_path, l.line_number, l.change_type, Some(l.content)))
        })
        .collect()
}

fn report(run: DetectionRun, files_scanned: usize, files_skipped: usize) -> ScanReport {
    // `DetectorSet::run` gives the detections sorted by place and rule.
    let findings: Vec<Finding> =
        run.detections.into_iter().map(|d| Finding::from_detection(d, Attribution::unknown())).collect();
    ScanReport {
        findings,
        files_scanned,
        files_skipped,
        detectors_incomplete: run.incomplete,
        detectors: run.detectors,
    }
}

fn print_text(out: &mut impl std::io::Write, report: &ScanReport) -> std::io::Result<()> {
    for f in &report.findings {
        let l = &f.location;
        writeln!(
            out,
            "{}:{}:{}: {} {}: {}",
            l.file_path,
            l.start_line,
            l.start_column,
            f.severity.as_str(),
            f.rule_id,
            f.message
        )?;
    }
    writeln!(
        out,
        "{} finding(s) in {} file(s){}",
        report.findings.len(),
        report.files_scanned,
        if report.files_skipped > 0 { format!(", {} skipped", report.files_skipped) } else { String::new() }
    )
}
