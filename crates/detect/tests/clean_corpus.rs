//! Acceptance: a corpus of clean, idiomatic code (`tests/clean/`) produces no high or critical
//! findings from the bundled detectors, and hardly any findings at all.
//!
//! The corpus is normal safe code with the near-misses a real codebase has (parameterised SQL,
//! `LIKE '%x'` literals, prose such as "select a file from …", `yaml.safe_load`, fixed-argument
//! subprocesses, `env:` indirection in workflows). A finding here is a false positive of a rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use provenance_core::analysis::FileContent;
use provenance_core::finding::Severity;
use provenance_core::language::infer_language;
use provenance_core::line::ChangedLine;
use provenance_core::{Detection, ReportMode};
use provenance_detect::{DetectInput, DetectorSet};

use common::{added, path};

/// Languages the corpus must cover.
const LANGUAGES: [&str; 9] =
    ["python", "javascript", "typescript", "go", "java", "rust", "ruby", "shell", "github-actions"];

/// At most this many findings of any severity over the whole corpus.
const MAX_FINDINGS: usize = 3;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("clean")
}

/// Every file under `dir` (dot-directories such as `.github` included), sorted.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            walk(&entry, out);
        } else {
            out.push(entry);
        }
    }
}

/// The corpus as (path relative to the corpus root, content), so `.github/workflows/ci.yml`
/// infers as `github-actions`.
fn corpus() -> Vec<(String, String)> {
    let root = corpus_root();
    let mut files = Vec::new();
    walk(&root, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel: Vec<&str> =
                f.strip_prefix(&root).unwrap().components().map(|c| c.as_os_str().to_str().unwrap()).collect();
            (rel.join("/"), std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))
        })
        .collect()
}

fn describe(detections: &[&Detection]) -> String {
    detections
        .iter()
        .map(|d| {
            format!(
                "\n  {:?} {} [{}] {}:{} {}",
                d.severity,
                d.rule_id,
                d.engine,
                d.location.file_path.as_str(),
                d.location.start_line,
                d.snippet
            )
        })
        .collect()
}

#[test]
fn a_corpus_of_clean_code_produces_no_high_or_critical_findings() {
    let corpus = corpus();
    let files: Vec<FileContent> =
        corpus.iter().map(|(rel, content)| FileContent { path: path(rel), content: content.clone() }).collect();
    // One changed line per file; `ReportMode::File` then scans the whole file.
    let lines: Vec<ChangedLine> =
        corpus.iter().map(|(rel, content)| added(rel, 1, content.lines().next().unwrap_or_default())).collect();

    let languages: BTreeSet<&str> = files.iter().filter_map(|f| infer_language(&f.path)).collect();
    assert!(files.len() >= 10, "only {} corpus files", files.len());
    for language in LANGUAGES {
        assert!(languages.contains(language), "the corpus has no {language} file (languages: {languages:?})");
    }

    let set = DetectorSet::bundled().unwrap();
    let input = DetectInput { lines: &lines, files: &files, report_mode: ReportMode::File };
    let run = set.run(&input, Duration::from_secs(30));
    assert!(run.incomplete.is_empty(), "incomplete detectors: {:?}", run.incomplete);
    assert!(run.panicked.is_empty(), "panicked detectors: {:?}", run.panicked);
    assert_eq!(run.detectors.len(), 2, "both bundled engines ran: {:?}", run.detectors);

    let all: Vec<&Detection> = run.detections.iter().collect();
    let severe: Vec<&Detection> = all.iter().copied().filter(|d| d.severity >= Severity::High).collect();
    assert!(severe.is_empty(), "high/critical findings on clean code:{}", describe(&severe));
    assert!(
        all.len() <= MAX_FINDINGS,
        "{} findings on clean code (at most {MAX_FINDINGS} expected):{}",
        all.len(),
        describe(&all)
    );
    if !all.is_empty() {
        println!("findings on clean code:{}", describe(&all));
    }
}
