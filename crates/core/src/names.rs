//! Validated names that cross the system's edge. Each can only be built valid (`parse`), so code
//! past the edge never re-checks a repository name, a commit sha, a path or an agent id.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_newtype {
    ($name:ident, $example:literal) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// A GitHub-style repository name, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "acme/shop")]
pub struct RepoName(String);
string_newtype!(RepoName, "acme/shop");

impl RepoName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (owner, name) = s.split_once('/').ok_or_else(|| "must be of the form owner/name".to_string())?;
        let part_ok = |p: &str, max: usize| {
            !p.is_empty()
                && p.len() <= max
                && p != "."
                && p != ".."
                && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !part_ok(owner, 39) || !part_ok(name, 100) {
            return Err("must be of the form owner/name using letters, digits, '-', '_' or '.'".into());
        }
        Ok(Self(s.to_string()))
    }

    pub fn owner(&self) -> &str {
        self.0.split_once('/').map(|(o, _)| o).unwrap_or_default()
    }
}

/// A git commit id: hexadecimal, 4 to 64 characters (legacy clients send short shas), stored
/// lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "def456")]
pub struct CommitSha(String);
string_newtype!(CommitSha, "def456");

impl CommitSha {
    pub fn parse(s: &str) -> Result<Self, String> {
        if !(4..=64).contains(&s.len()) || !s.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("must be a hexadecimal commit sha of 4 to 64 characters".into());
        }
        Ok(Self(s.to_ascii_lowercase()))
    }
}

/// A repository-relative file path: never absolute, never escaping the repository with `..`,
/// never containing NUL. Backslashes are rejected too, so a path means the same on every OS.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "api/orders.py")]
pub struct RepoPath(String);
string_newtype!(RepoPath, "api/orders.py");

impl RepoPath {
    pub const MAX_LEN: usize = 4096;

    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} bytes", Self::MAX_LEN));
        }
        if s.contains('\0') {
            return Err("must not contain NUL bytes".into());
        }
        if s.contains('\\') {
            return Err("must use '/' as separator".into());
        }
        if s.starts_with('/') || (s.len() >= 2 && s.as_bytes()[1] == b':') {
            return Err("must be relative to the repository root, not absolute".into());
        }
        if s.split('/').any(|seg| seg == "..") {
            return Err("must not contain '..' segments".into());
        }
        if s.split('/').any(|seg| seg.is_empty()) {
            return Err("must not contain empty segments".into());
        }
        Ok(Self(s.to_string()))
    }

    /// The file name's extension, without the dot.
    pub fn extension(&self) -> Option<&str> {
        let file = self.0.rsplit('/').next()?;
        let (stem, ext) = file.rsplit_once('.')?;
        (!stem.is_empty()).then_some(ext)
    }

    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

/// An AI agent's identifier, e.g. `claude-code`, `copilot`, `claude-3-opus`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "claude-code")]
pub struct AgentId(String);
string_newtype!(AgentId, "claude-code");

impl AgentId {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '@' | ':' | '+' | '[' | ']'));
        if !ok {
            return Err("must be 1 to 128 characters of letters, digits and - _ . / @ : + [ ]".into());
        }
        Ok(Self(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_name_needs_owner_and_name() {
        assert!(RepoName::parse("acme/shop").is_ok());
        assert!(RepoName::parse("acme").is_err());
        assert!(RepoName::parse("acme/").is_err());
        assert!(RepoName::parse("acme/shop/extra").is_err());
        assert!(RepoName::parse("../shop").is_err());
    }

    #[test]
    fn commit_sha_accepts_short_legacy_shas_and_normalises_case() {
        assert_eq!(CommitSha::parse("ABC123").unwrap().as_str(), "abc123");
        assert!(CommitSha::parse("abc").is_err());
        assert!(CommitSha::parse("xyz123").is_err());
        assert!(CommitSha::parse(&"a".repeat(65)).is_err());
        assert!(CommitSha::parse(&"a".repeat(40)).is_ok());
    }

    #[test]
    fn repo_path_rejects_escapes_absolute_paths_and_nul() {
        assert!(RepoPath::parse("api/orders.py").is_ok());
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "a\0b", "C:/x", "a\\b", "", "a//b"] {
            assert!(RepoPath::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn repo_path_knows_its_extension() {
        assert_eq!(RepoPath::parse("a/b.test.ts").unwrap().extension(), Some("ts"));
        assert_eq!(RepoPath::parse("Makefile").unwrap().extension(), None);
        assert_eq!(RepoPath::parse(".bashrc").unwrap().extension(), None);
    }

    #[test]
    fn agent_id_rejects_spaces_and_empty() {
        assert!(AgentId::parse("claude-3-opus").is_ok());
        assert!(AgentId::parse("copilot-swe-agent[bot]").is_ok());
        assert!(AgentId::parse("").is_err());
        assert!(AgentId::parse("has space").is_err());
    }
}
