//! Commit metadata as evidence of authorship (SPEC §3, tiers 3 and 4): `Agent-ID:`,
//! `Generated-by:` and `Co-authored-by:` trailers naming an agent, commits authored by a known
//! agent bot account, and the footers agent tools write into commit messages, matched against
//! the shipped table of known agent identities.

use serde::{Deserialize, Serialize};

use crate::attribution::{Attribution, AttributionSource, Contributor, flags};
use crate::names::AgentId;

/// One agent tool and the marks it leaves on commits. Matching is case-insensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownAgent {
    /// The agent id lines get (`claude-code`).
    pub agent_id: &'static str,
    /// Names it signs trailers with (`Co-authored-by: Claude <…>`, `Generated-by: Claude Code`).
    pub names: &'static [&'static str],
    /// E-mail addresses of its trailers and commits.
    pub emails: &'static [&'static str],
    /// Bot logins its commits are authored by.
    pub logins: &'static [&'static str],
    /// Text it writes into commit messages.
    pub footers: &'static [&'static str],
}

/// The agent identities Provenance knows out of the box.
pub const KNOWN_AGENTS: &[KnownAgent] = &[
    KnownAgent {
        agent_id: "claude-code",
        names: &["claude", "claude code"],
        emails: &["noreply@anthropic.com"],
        logins: &["claude[bot]"],
        footers: &["generated with [claude code]", "generated with claude code"],
    },
    KnownAgent {
        agent_id: "github-copilot",
        names: &["copilot", "github copilot"],
        emails: &["copilot@github.com", "198982749+copilot@users.noreply.github.com"],
        logins: &["copilot-swe-agent[bot]", "copilot"],
        footers: &[],
    },
    KnownAgent {
        agent_id: "cursor",
        names: &["cursor", "cursor agent"],
        emails: &["cursoragent@cursor.com"],
        logins: &["cursor[bot]"],
        footers: &[],
    },
    KnownAgent {
        agent_id: "openai-codex",
        names: &["codex", "openai codex", "chatgpt codex connector"],
        emails: &[],
        logins: &["chatgpt-codex-connector[bot]", "codex[bot]"],
        footers: &[],
    },
    KnownAgent {
        agent_id: "devin",
        names: &["devin", "devin ai"],
        emails: &["158243242+devin-ai-integration[bot]@users.noreply.github.com"],
        logins: &["devin-ai-integration[bot]"],
        footers: &[],
    },
    KnownAgent {
        agent_id: "gemini",
        names: &["gemini", "gemini code assist", "gemini cli"],
        emails: &[],
        logins: &["gemini-code-assist[bot]"],
        footers: &[],
    },
    KnownAgent {
        agent_id: "amazon-q",
        names: &["amazon q", "amazon q developer"],
        emails: &[],
        logins: &["amazon-q-developer[bot]"],
        footers: &[],
    },
    KnownAgent { agent_id: "aider", names: &["aider"], emails: &["noreply@aider.chat"], logins: &[], footers: &[] },
    KnownAgent { agent_id: "cline", names: &["cline"], emails: &[], logins: &[], footers: &[] },
    KnownAgent { agent_id: "windsurf", names: &["windsurf", "cascade"], emails: &[], logins: &[], footers: &[] },
];

/// What a commit says about itself: who authored it and its message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommitInfo {
    pub sha: String,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub message: String,
}

/// An agent identity a tenant adds to the shipped table: its own agents, or more marks of a known
/// one. Values are matched case-insensitively (kept lower-case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentIdentity {
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub logins: Vec<String>,
    #[serde(default)]
    pub footers: Vec<String>,
}

impl KnownAgent {
    /// This shipped agent as an [`AgentIdentity`] (`None` only if its id were invalid).
    pub fn identity(&self) -> Option<AgentIdentity> {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Some(AgentIdentity {
            agent_id: AgentId::parse(self.agent_id).ok()?,
            names: owned(self.names),
            emails: owned(self.emails),
            logins: owned(self.logins),
            footers: owned(self.footers),
        })
    }
}

/// One entry of an [`IdentityTable`], borrowed from the shipped table or a tenant's identity.
#[derive(Debug, Clone)]
struct Entry<'a> {
    agent_id: &'a str,
    names: Vec<&'a str>,
    emails: Vec<&'a str>,
    logins: Vec<&'a str>,
    footers: Vec<&'a str>,
}

/// The identities commit metadata is matched against: a tenant's own first, then the shipped
/// [`KNOWN_AGENTS`].
#[derive(Debug, Clone)]
pub struct IdentityTable<'a> {
    entries: Vec<Entry<'a>>,
}

impl<'a> IdentityTable<'a> {
    /// The shipped table alone.
    pub fn shipped() -> IdentityTable<'static> {
        IdentityTable::with_tenant(&[])
    }

    /// The tenant's identities, then the shipped table.
    pub fn with_tenant(tenant: &'a [AgentIdentity]) -> Self {
        let own = tenant.iter().map(|a| Entry {
            agent_id: a.agent_id.as_str(),
            names: a.names.iter().map(String::as_str).collect(),
            emails: a.emails.iter().map(String::as_str).collect(),
            logins: a.logins.iter().map(String::as_str).collect(),
            footers: a.footers.iter().map(String::as_str).collect(),
        });
        let shipped = KNOWN_AGENTS.iter().map(|a| Entry {
            agent_id: a.agent_id,
            names: a.names.to_vec(),
            emails: a.emails.to_vec(),
            logins: a.logins.to_vec(),
            footers: a.footers.to_vec(),
        });
        Self { entries: own.chain(shipped).collect() }
    }
}

fn known_by<'t, 'a>(
    table: &'t IdentityTable<'a>,
    pick: impl for<'e> Fn(&'e Entry<'a>) -> &'e [&'a str],
    value: &str,
) -> Option<&'t Entry<'a>> {
    let value = value.trim().to_ascii_lowercase();
    table.entries.iter().find(|a| pick(a).iter().any(|v| *v == value))
}

/// `Name <email>` split into its parts.
fn name_and_email(value: &str) -> (String, Option<String>) {
    match value.split_once('<') {
        Some((name, rest)) => (name.trim().to_string(), Some(rest.trim_end().trim_end_matches('>').trim().to_string())),
        None => (value.trim().to_string(), None),
    }
}

/// The trailers of a message: `Key: value` lines of its last paragraph.
fn trailers(message: &str) -> Vec<(String, String)> {
    let trimmed = message.trim_end();
    let last = trimmed.rsplit("\n\n").next().unwrap_or_default();
    let parsed: Vec<(String, String)> = last
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            let ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            ok.then(|| (key.to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect();
    // A trailer block is all trailers; a paragraph of prose is not one.
    if parsed.len() == last.lines().filter(|l| !l.trim().is_empty()).count() { parsed } else { Vec::new() }
}

fn agent(agent_id: &str, source: AttributionSource) -> Option<Attribution> {
    let agent_id = AgentId::parse(agent_id).ok()?;
    Some(Attribution {
        contributor: Contributor::Ai,
        agent_id: Some(agent_id),
        source,
        confidence: source.confidence(),
        ..Attribution::unknown()
    })
}

/// What a commit's metadata says about who wrote it, strongest evidence first: trailers and a
/// bot author (tier 3, 0.8), then footers (tier 4, 0.6). `None` when it names no agent: a
/// commit by a person with no agent marks says nothing about tools (and a person is never
/// turned into an agent). When the commit also shows a human took part — a person authored it,
/// or a `Co-authored-by:` trailer names one — the attribution carries
/// [`flags::HUMAN_CO_AUTHOR`].
pub fn commit_attribution(commit: &CommitInfo, table: &IdentityTable<'_>) -> Option<Attribution> {
    let mut attribution = agent_of_commit(commit, table)?;
    if human_took_part(commit, table, attribution.source) {
        attribution.flag(flags::HUMAN_CO_AUTHOR);
    }
    Some(attribution)
}

fn agent_of_commit(commit: &CommitInfo, table: &IdentityTable<'_>) -> Option<Attribution> {
    for (key, value) in trailers(&commit.message) {
        let found = match key.as_str() {
            "agent-id" => agent(&value.to_ascii_lowercase(), AttributionSource::Trailer),
            "generated-by" | "co-authored-by" => {
                trailer_agent(table, &value).and_then(|a| agent(a.agent_id, AttributionSource::Trailer))
            }
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    if let Some(a) = author_agent(commit, table) {
        return agent(a.agent_id, AttributionSource::BotAuthor);
    }
    let message = commit.message.to_ascii_lowercase();
    table
        .entries
        .iter()
        .find(|a| a.footers.iter().any(|f| message.contains(f)))
        .and_then(|a| agent(a.agent_id, AttributionSource::Footer))
}

/// The known agent a `Generated-by:` or `Co-authored-by:` value (`Name <email>`) names.
fn trailer_agent<'t, 'a>(table: &'t IdentityTable<'a>, value: &str) -> Option<&'t Entry<'a>> {
    let (name, email) = name_and_email(value);
    email
        .as_deref()
        .and_then(|e| known_by(table, |a| &a.emails, e))
        .or_else(|| known_by(table, |a| &a.names, &name))
        .or_else(|| known_by(table, |a| &a.names, name.split(" (").next().unwrap_or_default()))
}

/// The known agent whose account authored the commit: its e-mail, its login (as the e-mail's
/// local part or the author name), or Aider's `Name (aider)`.
fn author_agent<'t, 'a>(commit: &CommitInfo, table: &'t IdentityTable<'a>) -> Option<&'t Entry<'a>> {
    commit
        .author_email
        .as_deref()
        .and_then(|e| {
            known_by(table, |a| &a.emails, e)
                .or_else(|| known_by(table, |a| &a.logins, e.split('@').next().unwrap_or_default()))
        })
        .or_else(|| commit.author_name.as_deref().and_then(|n| known_by(table, |a| &a.logins, n)))
        .or_else(|| {
            // Aider commits as the user with " (aider)" appended to the name.
            commit
                .author_name
                .as_deref()
                .filter(|n| n.trim_end().ends_with("(aider)"))
                .and_then(|_| known_by(table, |a| &a.names, "aider"))
        })
}

/// Whether an agent's commit shows a human took part: a person authored it (the agent is known
/// from the message, not from the author), or a `Co-authored-by:` trailer names a person.
fn human_took_part(commit: &CommitInfo, table: &IdentityTable<'_>, source: AttributionSource) -> bool {
    let author = [commit.author_name.as_deref(), commit.author_email.as_deref()];
    let person_authored = source != AttributionSource::BotAuthor
        && author.iter().flatten().any(|part| !part.trim().is_empty())
        && !author.iter().flatten().any(|part| is_bot(part))
        && author_agent(commit, table).is_none()
        && commit.author_name.as_deref().is_none_or(|n| known_by(table, |a| &a.names, n).is_none());
    person_authored
        || trailers(&commit.message).iter().any(|(key, value)| {
            key == "co-authored-by" && !value.is_empty() && !is_bot(value) && trailer_agent(table, value).is_none()
        })
}

/// A GitHub App account (`dependabot[bot]`, `…+copilot-swe-agent[bot]@users.noreply.github.com`).
fn is_bot(identity: &str) -> bool {
    identity.to_ascii_lowercase().contains("[bot]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(author: (&str, &str), message: &str) -> CommitInfo {
        CommitInfo {
            sha: "abc1234".into(),
            author_name: Some(author.0.into()),
            author_email: Some(author.1.into()),
            message: message.into(),
        }
    }

    fn resolved(c: &CommitInfo) -> Option<(String, AttributionSource, f64)> {
        commit_attribution(c, &IdentityTable::shipped())
            .map(|a| (a.agent_id.map(|x| x.to_string()).unwrap_or_default(), a.source, a.confidence))
    }

    const HUMAN: (&str, &str) = ("Ada Lovelace", "ada@example.com");

    #[test]
    fn a_co_authored_by_trailer_with_a_known_agent_is_tier_three() {
        let c = commit(HUMAN, "Fix the parser\n\nMore words.\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n");
        assert_eq!(resolved(&c), Some(("claude-code".into(), AttributionSource::Trailer, 0.8)));
        let c = commit(HUMAN, "Tidy\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>");
        assert_eq!(resolved(&c).unwrap().0, "cursor");
        let c = commit(HUMAN, "Tidy\n\nCo-authored-by: aider (anthropic/claude-sonnet) <noreply@aider.chat>");
        assert_eq!(resolved(&c).unwrap().0, "aider");
    }

    #[test]
    fn agent_id_and_generated_by_trailers_name_the_agent() {
        let c = commit(HUMAN, "Add cache\n\nAgent-ID: acme-bot\nSigned-off-by: Ada <ada@example.com>");
        assert_eq!(resolved(&c), Some(("acme-bot".into(), AttributionSource::Trailer, 0.8)));
        let c = commit(HUMAN, "Add cache\n\nGenerated-by: Gemini CLI");
        assert_eq!(resolved(&c).unwrap().0, "gemini");
    }

    #[test]
    fn a_commit_by_an_agent_bot_account_is_tier_three() {
        let c = commit(("Copilot", "198982749+Copilot@users.noreply.github.com"), "Initial plan");
        assert_eq!(resolved(&c), Some(("github-copilot".into(), AttributionSource::BotAuthor, 0.8)));
        let c = commit(("copilot-swe-agent[bot]", "x@users.noreply.github.com"), "Fix");
        assert_eq!(resolved(&c).unwrap().0, "github-copilot");
        let c = commit(("Ada Lovelace (aider)", "ada@example.com"), "feat: add retries");
        assert_eq!(resolved(&c), Some(("aider".into(), AttributionSource::BotAuthor, 0.8)));
    }

    #[test]
    fn a_tool_footer_alone_is_tier_four() {
        let c = commit(
            HUMAN,
            "Refactor\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\n\nSee #12 for why.",
        );
        assert_eq!(resolved(&c), Some(("claude-code".into(), AttributionSource::Footer, 0.6)));
    }

    fn co_authored(c: &CommitInfo) -> bool {
        commit_attribution(c, &IdentityTable::shipped()).expect("an agent's commit").has_flag(flags::HUMAN_CO_AUTHOR)
    }

    #[test]
    fn a_person_committing_with_an_agent_trailer_is_a_human_co_author() {
        let c = commit(HUMAN, "Fix the parser\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n");
        assert!(co_authored(&c));
        let c = commit(HUMAN, "Add cache\n\nAgent-ID: acme-bot");
        assert!(co_authored(&c));
        let c = commit(HUMAN, "Refactor\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)");
        assert!(co_authored(&c), "a footer names the agent; the author is still the person");
    }

    #[test]
    fn a_bot_commit_with_a_person_as_co_author_is_human_co_authored() {
        let c = commit(
            ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"),
            "Fix\n\nCo-authored-by: Ada Lovelace <ada@example.com>",
        );
        assert!(co_authored(&c));
    }

    #[test]
    fn a_pure_agent_commit_has_no_human_co_author() {
        let c = commit(
            ("copilot-swe-agent[bot]", "198982749+Copilot@users.noreply.github.com"),
            "Fix\n\nCo-authored-by: Copilot <copilot@github.com>",
        );
        assert!(!co_authored(&c));
        // An agent named by a trailer on a commit that an agent or bot account authored.
        let c = commit(("Claude", "claude@example.com"), "Fix\n\nCo-Authored-By: Claude <noreply@anthropic.com>");
        assert!(!co_authored(&c));
        let c = commit(
            ("devin-ai-integration[bot]", "158243242+devin-ai-integration[bot]@users.noreply.github.com"),
            "Fix\n\nCo-authored-by: renovate[bot] <29139614+renovate[bot]@users.noreply.github.com>",
        );
        assert!(!co_authored(&c));
        let c = commit(("Ada Lovelace (aider)", "ada@example.com"), "feat: add retries");
        assert!(!co_authored(&c), "Aider commits under the person's name with a suffix");
    }

    #[test]
    fn a_person_s_commit_without_agent_marks_says_nothing() {
        let c = commit(
            HUMAN,
            "Fix typo\n\nSigned-off-by: Ada Lovelace <ada@example.com>\nCo-authored-by: Grace Hopper <grace@example.com>",
        );
        assert_eq!(resolved(&c), None);
        // Prose mentioning a tool is not a trailer block.
        let c = commit(HUMAN, "Compare with Copilot\n\nWe tried what Copilot: suggested, it was wrong.");
        assert_eq!(resolved(&c), None);
    }
}
