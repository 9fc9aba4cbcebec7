//! Builders shared by the integration tests.
#![allow(dead_code)]

use provenance_core::attribution::Attribution;
use provenance_core::line::{ChangeType, ChangedLine};
use provenance_core::names::RepoPath;

pub fn path(p: &str) -> RepoPath {
    RepoPath::parse(p).expect("valid test path")
}

pub fn line(
    file: &str,
    line_number: u32,
    change_type: ChangeType,
    content: &str,
    language: Option<&str>,
) -> ChangedLine {
    ChangedLine {
        file_path: path(file),
        line_number,
        change_type,
        content: Some(content.to_string()),
        language: language.map(str::to_string),
        author_identity: None,
        declared: None,
        content_sha256: None,
        attestation_signature: None,
        attribution: Attribution::unknown(),
    }
}

pub fn added(file: &str, line_number: u32, content: &str) -> ChangedLine {
    line(file, line_number, ChangeType::Added, content, None)
}

/// A file path of the given rule language, so inference agrees with it.
pub fn path_for_language(language: &str) -> &'static str {
    match language {
        "python" => "src/example.py",
        "javascript" => "src/example.js",
        "typescript" => "src/example.ts",
        "go" => "src/example.go",
        "java" => "src/Example.java",
        "kotlin" => "src/Example.kt",
        "ruby" => "lib/example.rb",
        "rust" => "src/example.rs",
        "shell" => "scripts/example.sh",
        "dockerfile" => "Dockerfile",
        "make" => "Makefile",
        "github-actions" => ".github/workflows/example.yml",
        _ => "notes/example.txt",
    }
}
