//! Language inference from file paths, used when a changed line does not name its language.

use crate::names::RepoPath;

/// The language of a file, by extension or well-known file name. Names are lower-case and match
/// the `language` field of rules.
pub fn infer_language(path: &RepoPath) -> Option<&'static str> {
    let name = path.file_name();
    let p = path.as_str();
    if p.starts_with(".github/workflows/") && (name.ends_with(".yml") || name.ends_with(".yaml")) {
        return Some("github-actions");
    }
    match name {
        "Dockerfile" => return Some("dockerfile"),
        "Makefile" => return Some("make"),
        _ => {}
    }
    Some(match path.extension()?.to_ascii_lowercase().as_str() {
        "py" | "pyi" => "python",
        "js" | "mjs" | "cjs" | "jsx" => "javascript",
        "ts" | "mts" | "cts" | "tsx" => "typescript",
        "go" => "go",
        "java" => "java",
        "kt" | "kts" => "kotlin",
        "rs" => "rust",
        "rb" => "ruby",
        "sh" | "bash" | "zsh" => "shell",
        "php" => "php",
        "c" | "h" => "c",
        "cc" | "cpp" | "cxx" | "hpp" => "cpp",
        "cs" => "csharp",
        "swift" => "swift",
        "scala" => "scala",
        "sql" => "sql",
        "yml" | "yaml" => "yaml",
        "json" => "json",
        "toml" => "toml",
        "tf" => "terraform",
        _ => return None,
    })
}

/// Normalise a client-supplied language name (`Python`, `py`, `TS`) to ours.
pub fn normalise_language(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.as_str() {
        "py" | "python3" => "python".into(),
        "js" | "node" | "jsx" => "javascript".into(),
        "ts" | "tsx" => "typescript".into(),
        "golang" => "go".into(),
        "rb" => "ruby".into(),
        "rs" => "rust".into(),
        "sh" | "bash" | "zsh" => "shell".into(),
        _ => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(p: &str) -> Option<&'static str> {
        infer_language(&RepoPath::parse(p).unwrap())
    }

    #[test]
    fn infers_common_languages_from_paths() {
        assert_eq!(lang("api/orders.py"), Some("python"));
        assert_eq!(lang("web/app.tsx"), Some("typescript"));
        assert_eq!(lang(".github/workflows/ci.yml"), Some("github-actions"));
        assert_eq!(lang("deploy/k8s.yaml"), Some("yaml"));
        assert_eq!(lang("README"), None);
    }
}
