//! Who wrote a line, how we know, and how sure we are (SPEC §3). Resolution takes the strongest
//! available source; a human author is never turned into an agent.

use serde::{Deserialize, Serialize};

use crate::line::ChangedLine;
use crate::names::AgentId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Contributor {
    Ai,
    Human,
    Mixed,
    Unknown,
}

impl Contributor {
    pub const ALL: [Contributor; 4] = [Self::Ai, Self::Human, Self::Mixed, Self::Unknown];

    /// The contributor named by its [`as_str`](Self::as_str) form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ai => "ai",
            Self::Human => "human",
            Self::Mixed => "mixed",
            Self::Unknown => "unknown",
        }
    }
}

/// How an attribution is known, strongest first (SPEC §3 tiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributionSource {
    Signed,
    Declared,
    GitAiNote,
    AgentTrace,
    Trailer,
    BotAuthor,
    Footer,
    Resolver,
    None,
}

impl AttributionSource {
    pub const ALL: [AttributionSource; 9] = [
        Self::Signed,
        Self::Declared,
        Self::GitAiNote,
        Self::AgentTrace,
        Self::Trailer,
        Self::BotAuthor,
        Self::Footer,
        Self::Resolver,
        Self::None,
    ];

    /// The source named by its [`as_str`](Self::as_str) form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The confidence a source earns by its tier.
    pub fn confidence(self) -> f64 {
        match self {
            Self::Signed => 1.0,
            Self::Declared | Self::GitAiNote | Self::AgentTrace => 0.9,
            Self::Trailer | Self::BotAuthor => 0.8,
            Self::Footer => 0.6,
            Self::Resolver => 0.5,
            Self::None => 0.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signed => "signed",
            Self::Declared => "declared",
            Self::GitAiNote => "git_ai_note",
            Self::AgentTrace => "agent_trace",
            Self::Trailer => "trailer",
            Self::BotAuthor => "bot_author",
            Self::Footer => "footer",
            Self::Resolver => "resolver",
            Self::None => "none",
        }
    }
}

/// The flags a line's attribution can carry (SPEC §3); policy acts on them.
pub mod flags {
    /// An attestation signature came with the line and does not verify for it (forged, made
    /// for another line, file, PR or commit, or by a key that is not registered).
    pub const SIGNATURE_INVALID: &str = "signature_invalid";
    /// The line is attributed to an agent with registered keys but carries no signature.
    pub const UNSIGNED_FROM_KEYED_AGENT: &str = "unsigned_from_keyed_agent";
    /// Sources disagree about who wrote the line; the strongest was kept.
    pub const SOURCE_CONFLICT: &str = "source_conflict";
    /// The signature verifies over the content alone (the earlier service's scheme), so it is
    /// not bound to this line's place and could have been copied from elsewhere.
    pub const LEGACY_UNBOUND_SIGNATURE: &str = "legacy_unbound_signature";
    /// The commit that brought the line shows a human took part next to the agent: a person
    /// authored it (the agent came from a trailer or footer), or a `Co-authored-by:` trailer
    /// names a person. Path rules accept an agent's change with a human co-author.
    pub const HUMAN_CO_AUTHOR: &str = "human_co_author";
}

/// The resolved authorship of one line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attribution {
    pub contributor: Contributor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    pub source: AttributionSource,
    pub confidence: f64,
    /// Evidence problems policy can act on, e.g. `signature_invalid`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

impl Attribution {
    pub fn unknown() -> Self {
        Self {
            contributor: Contributor::Unknown,
            agent_id: None,
            model_id: None,
            session_id: None,
            source: AttributionSource::None,
            confidence: 0.0,
            flags: Vec::new(),
        }
    }

    /// Whether some source told us who wrote the line.
    pub fn is_known(&self) -> bool {
        self.contributor != Contributor::Unknown
    }

    /// Add `flag` unless the line already carries it.
    pub fn flag(&mut self, flag: &str) {
        if !self.has_flag(flag) {
            self.flags.push(flag.to_string());
        }
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// Whether a human took part in writing the line: it is `mixed`, or its commit shows a human
    /// co-author ([`flags::HUMAN_CO_AUTHOR`]).
    pub fn is_human_co_authored(&self) -> bool {
        self.contributor == Contributor::Mixed || self.has_flag(flags::HUMAN_CO_AUTHOR)
    }

    /// Whether two known attributions name different authors: another kind of contributor, or
    /// two different agents.
    pub fn disagrees_with(&self, other: &Attribution) -> bool {
        if !self.is_known() || !other.is_known() {
            return false;
        }
        self.contributor != other.contributor
            || matches!((&self.agent_id, &other.agent_id), (Some(a), Some(b)) if a != b)
    }

    /// Fold another source's claim into this one: the stronger claim is kept (on a tie, the one
    /// already here), and a disagreement is recorded as `source_conflict`. An inferred claim
    /// (commit metadata, tiers 3–4) never turns a line attributed to a human into an agent's.
    /// `human_co_author` is kept whichever claim wins: it is evidence about the commit, not about
    /// which tool wrote the line.
    pub fn combine(&mut self, candidate: Attribution) {
        let conflict = self.disagrees_with(&candidate);
        let inferred = matches!(
            candidate.source,
            AttributionSource::Trailer | AttributionSource::BotAuthor | AttributionSource::Footer
        );
        let protected_human = inferred && self.contributor == Contributor::Human;
        if candidate.confidence > self.confidence && !protected_human {
            let flags = std::mem::take(&mut self.flags);
            *self = candidate;
            for f in flags {
                self.flag(&f);
            }
        } else if candidate.has_flag(flags::HUMAN_CO_AUTHOR) {
            self.flag(flags::HUMAN_CO_AUTHOR);
        }
        if conflict {
            self.flag(flags::SOURCE_CONFLICT);
        }
    }

    /// The agent a line counts for in per-agent summaries (`human`/`unknown` otherwise).
    pub fn agent_label(&self) -> String {
        match (&self.agent_id, self.contributor) {
            (Some(agent), _) => agent.to_string(),
            (None, c) => c.as_str().to_string(),
        }
    }
}

impl Default for Attribution {
    fn default() -> Self {
        Self::unknown()
    }
}

/// Resolve a line's attribution from what was submitted with it. Today this reads the declared
/// fields; stronger and inferred sources (signatures, notes, trailers) slot in by tier.
pub fn resolve_attribution(line: &ChangedLine) -> Attribution {
    let Some(declared) = line.declared.as_ref().filter(|d| !d.is_empty()) else {
        return Attribution::unknown();
    };
    let contributor = match (declared.contributor, &declared.agent_id) {
        (Some(c), _) => c,
        (None, Some(_)) => Contributor::Ai,
        (None, None) if declared.model_id.is_some() => Contributor::Ai,
        (None, None) => Contributor::Unknown,
    };
    if contributor == Contributor::Unknown {
        return Attribution::unknown();
    }
    let source = AttributionSource::Declared;
    Attribution {
        contributor,
        // A line declared human keeps no agent id, whatever else came with it.
        agent_id: (contributor != Contributor::Human).then(|| declared.agent_id.clone()).flatten(),
        model_id: declared.model_id.clone(),
        session_id: declared.session_id.clone(),
        source,
        confidence: source.confidence(),
        flags: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::{ChangeType, DeclaredAttribution};
    use crate::names::RepoPath;

    fn line(declared: Option<DeclaredAttribution>) -> ChangedLine {
        ChangedLine {
            file_path: RepoPath::parse("a.py").unwrap(),
            line_number: 1,
            change_type: ChangeType::Added,
            content: Some("x = 1".into()),
            language: None,
            author_identity: None,
            declared,
            content_sha256: None,
            attestation_signature: None,
            attribution: Attribution::unknown(),
        }
    }

    #[test]
    fn a_declared_agent_id_makes_the_line_ai_written_with_tier_two_confidence() {
        let a = resolve_attribution(&line(Some(DeclaredAttribution {
            agent_id: Some(AgentId::parse("claude-3-opus").unwrap()),
            ..Default::default()
        })));
        assert_eq!(a.contributor, Contributor::Ai);
        assert_eq!(a.agent_id.unwrap().as_str(), "claude-3-opus");
        assert_eq!(a.source, AttributionSource::Declared);
        assert_eq!(a.confidence, 0.9);
    }

    #[test]
    fn a_line_declared_human_is_never_given_an_agent() {
        let a = resolve_attribution(&line(Some(DeclaredAttribution {
            contributor: Some(Contributor::Human),
            agent_id: Some(AgentId::parse("copilot").unwrap()),
            ..Default::default()
        })));
        assert_eq!(a.contributor, Contributor::Human);
        assert!(a.agent_id.is_none());
    }

    #[test]
    fn human_co_author_evidence_from_a_weaker_commit_claim_is_kept() {
        let mut declared = resolve_attribution(&line(Some(DeclaredAttribution {
            agent_id: Some(AgentId::parse("claude-code").unwrap()),
            ..Default::default()
        })));
        assert!(!declared.is_human_co_authored());
        let mut from_commit = Attribution {
            source: AttributionSource::Trailer,
            confidence: AttributionSource::Trailer.confidence(),
            ..declared.clone()
        };
        from_commit.flag(flags::HUMAN_CO_AUTHOR);
        declared.combine(from_commit);
        assert_eq!(declared.source, AttributionSource::Declared, "the stronger claim stays");
        assert!(declared.is_human_co_authored());
        assert!(!declared.has_flag(flags::SOURCE_CONFLICT));
    }

    #[test]
    fn a_mixed_line_counts_as_human_co_authored() {
        let a = Attribution { contributor: Contributor::Mixed, ..Attribution::unknown() };
        assert!(a.is_human_co_authored());
        assert!(!Attribution::unknown().is_human_co_authored());
    }

    #[test]
    fn a_line_without_declarations_is_unknown_with_zero_confidence() {
        let a = resolve_attribution(&line(None));
        assert_eq!(a.contributor, Contributor::Unknown);
        assert_eq!(a.source, AttributionSource::None);
        assert_eq!(a.confidence, 0.0);
    }

    #[test]
    fn contributors_and_sources_parse_their_wire_names_only() {
        for c in Contributor::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(Contributor::parse(c.as_str()), Some(c));
        }
        for s in AttributionSource::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(AttributionSource::parse(s.as_str()), Some(s));
        }
        assert_eq!(Contributor::parse("robot"), None);
        assert_eq!(AttributionSource::parse("Declared"), None);
    }
}
