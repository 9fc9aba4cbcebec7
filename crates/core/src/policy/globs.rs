//! A policy's globs — repository scope and path rules — compiled once, on first use, and kept
//! beside the document (never serialised, so they change neither equality nor the digest).

use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::Policy;

/// A repository glob over `owner/name`: `*` stays within one part, and matching ignores case
/// (GitHub names do).
pub(super) fn repo_glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).case_insensitive(true).build()
}

/// A path glob over repository-relative paths: `*` stays within one segment, `**` crosses
/// segments; case matters (git paths are case-sensitive).
pub(super) fn path_glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

/// The globs of one pattern list. A pattern that does not compile — possible only in a policy
/// that skipped [`Policy::parse`] — matches nothing.
#[derive(Debug, Clone)]
pub(super) struct Matcher {
    patterns: Vec<String>,
    set: GlobSet,
}

impl Matcher {
    fn new(patterns: &[String], glob: fn(&str) -> Result<Glob, globset::Error>) -> Self {
        let mut builder = GlobSetBuilder::new();
        for glob in patterns.iter().filter_map(|p| glob(p).ok()) {
            builder.add(glob);
        }
        Self { patterns: patterns.to_vec(), set: builder.build().unwrap_or_else(|_| GlobSet::empty()) }
    }

    pub(super) fn is_match(&self, candidate: &str) -> bool {
        self.set.is_match(candidate)
    }
}

/// The lazily compiled globs of one policy value: the scope, and one matcher per path rule in
/// order, each compiled on its first use (selection needs only the scope). Equal to every other
/// cache, so two policies are equal exactly when their documents are.
#[derive(Clone, Default)]
pub(super) struct GlobCache {
    scope: OnceLock<Matcher>,
    paths: OnceLock<Vec<Matcher>>,
}

impl PartialEq for GlobCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for GlobCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobCache")
            .field("scope", &self.scope.get().is_some())
            .field("paths", &self.paths.get().is_some())
            .finish()
    }
}

fn compile_paths(policy: &Policy) -> Vec<Matcher> {
    policy.paths.iter().map(|rule| Matcher::new(&rule.patterns, path_glob)).collect()
}

impl Policy {
    /// The compiled scope. The cache is used while it was compiled from the current patterns
    /// (the fields are public and may have changed since); otherwise it is compiled afresh.
    pub(super) fn scope_globs(&self) -> Cow<'_, Matcher> {
        let cached = self.globs.scope.get_or_init(|| Matcher::new(&self.scope.repos, repo_glob));
        if cached.patterns == self.scope.repos {
            Cow::Borrowed(cached)
        } else {
            Cow::Owned(Matcher::new(&self.scope.repos, repo_glob))
        }
    }

    /// The compiled path rules, one matcher per rule in order; cached like [`Self::scope_globs`].
    pub(super) fn path_globs(&self) -> Cow<'_, [Matcher]> {
        let cached = self.globs.paths.get_or_init(|| compile_paths(self));
        let current = cached.len() == self.paths.len()
            && cached.iter().zip(&self.paths).all(|(m, rule)| m.patterns == rule.patterns);
        if current { Cow::Borrowed(cached.as_slice()) } else { Cow::Owned(compile_paths(self)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PathRule;

    fn matches(pattern: &str, path: &str) -> bool {
        path_glob(pattern).unwrap().compile_matcher().is_match(path)
    }

    #[test]
    fn a_single_star_stays_in_one_segment_and_a_double_star_crosses_them() {
        assert!(matches(".github/workflows/**", ".github/workflows/ci.yml"));
        assert!(matches(".github/workflows/**", ".github/workflows/nested/x.yml"));
        assert!(!matches(".github/workflows/**", ".github/dependabot.yml"));
        assert!(matches("**/migrations/**", "migrations/0001.sql"));
        assert!(matches("**/migrations/**", "db/app/migrations/0001.sql"));
        assert!(matches("*.tf", "main.tf"));
        assert!(!matches("*.tf", "infra/main.tf"));
        assert!(!matches("Dockerfile", "dockerfile"), "paths are case-sensitive");
    }

    #[test]
    fn repository_globs_keep_to_owner_and_name_and_ignore_case() {
        let m = |pattern: &str, repo: &str| repo_glob(pattern).unwrap().compile_matcher().is_match(repo);
        assert!(m("acme/*", "acme/shop"));
        assert!(m("acme/*", "Acme/Shop"));
        assert!(!m("acme/*", "acme-labs/shop"));
        assert!(m("acme/payments-*", "acme/payments-api"));
        assert!(!m("acme/payments-*", "acme/shop"));
        assert!(!m("*", "acme/shop"), "`*` does not cross the `/`");
    }

    #[test]
    fn globs_follow_changes_to_the_policy_after_first_use() {
        let mut p = Policy::default();
        assert!(p.path_globs()[0].is_match(".github/workflows/ci.yml"));
        p.paths = vec![PathRule {
            name: "infra".into(),
            patterns: vec!["infra/**".into()],
            agents: None,
            allow_with_human_co_author: true,
            outcome: crate::decision::Outcome::Block,
        }];
        let globs = p.path_globs();
        assert!(globs[0].is_match("infra/main.tf"));
        assert!(!globs[0].is_match(".github/workflows/ci.yml"));
    }

    #[test]
    fn the_scope_follows_changes_to_the_policy_after_first_use() {
        let mut p = Policy::default();
        assert!(p.applies_to("acme/shop"));
        p.scope.repos = vec!["globex/*".into()];
        assert!(!p.applies_to("acme/shop"));
        assert!(p.applies_to("globex/shop"));
    }

    #[test]
    fn a_pattern_that_does_not_compile_matches_nothing() {
        let m = Matcher::new(&["a/[b".to_string(), "c/*".to_string()], path_glob);
        assert!(!m.is_match("a/[b"));
        assert!(m.is_match("c/d"));
    }
}
