//! Which of a tenant's policies governs a repository: a policy scoped to the repository beats a
//! catch-all, then the higher `priority` wins, then the smaller `id`.

use std::cmp::Reverse;

use super::Policy;

impl Policy {
    /// Whether the policy's scope covers `repo` (`owner/name`); an empty scope covers every
    /// repository.
    pub fn applies_to(&self, repo: &str) -> bool {
        self.scope.is_everywhere() || self.scope_globs().is_match(repo)
    }
}

/// The policy that governs `repo` among `policies`, or `None` when no scope covers it.
pub fn select_policy<'a>(policies: &'a [Policy], repo: &str) -> Option<&'a Policy> {
    policies.iter().filter(|p| p.applies_to(repo)).min_by(|a, b| precedence(a).cmp(&precedence(b)))
}

/// Smaller goes first: scoped before catch-all, higher priority, smaller id.
fn precedence(p: &Policy) -> (bool, Reverse<i32>, &str) {
    (p.scope.is_everywhere(), Reverse(p.priority), &p.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyScope;

    fn policy(id: &str, repos: &[&str], priority: i32) -> Policy {
        Policy {
            id: id.into(),
            scope: PolicyScope { repos: repos.iter().map(|r| r.to_string()).collect() },
            priority,
            ..Policy::default()
        }
    }

    fn selected<'a>(policies: &'a [Policy], repo: &str) -> Option<&'a str> {
        select_policy(policies, repo).map(|p| p.id.as_str())
    }

    #[test]
    fn a_scoped_policy_beats_a_catch_all_even_with_a_lower_priority() {
        let policies = [policy("everywhere", &[], 100), policy("payments", &["acme/payments-*"], 0)];
        assert_eq!(selected(&policies, "acme/payments-api"), Some("payments"));
        assert_eq!(selected(&policies, "acme/shop"), Some("everywhere"));
    }

    #[test]
    fn among_equally_scoped_policies_priority_then_id_decides() {
        let policies = [policy("b", &["acme/*"], 1), policy("a", &["acme/*"], 1), policy("z", &["acme/shop"], 5)];
        assert_eq!(selected(&policies, "acme/shop"), Some("z"));
        assert_eq!(selected(&policies, "acme/web"), Some("a"));
    }

    #[test]
    fn no_policy_is_selected_when_no_scope_covers_the_repository() {
        let policies = [policy("acme", &["acme/*"], 0)];
        assert_eq!(selected(&policies, "globex/shop"), None);
        assert_eq!(selected(&[], "acme/shop"), None);
    }

    #[test]
    fn an_empty_scope_covers_every_repository() {
        assert!(Policy::default().applies_to("anyone/anything"));
        assert!(policy("p", &["acme/*", "globex/shop"], 0).applies_to("globex/shop"));
        assert!(!policy("p", &["acme/*", "globex/shop"], 0).applies_to("globex/web"));
    }
}
