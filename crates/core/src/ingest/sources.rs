//! `attribution_sources[]`: the documents that say who wrote a change — commits, git-ai notes,
//! Agent Trace records — validated, then folded into each line's attribution by tier (SPEC §3).
//! Signatures need the tenant's key registry and are resolved later, by the worker.

use std::collections::{BTreeMap, HashMap};

use crate::attribution::Attribution;
use crate::authorship::{LineClaim, agent_trace, git_ai};
use crate::identity::{AgentIdentity, CommitInfo, IdentityTable, commit_attribution};
use crate::line::ChangedLine;
use crate::names::CommitSha;
use crate::validation::ValidationErrors;

use super::WireAttributionSource;

/// The most `attribution_sources` one submission may carry.
const MAX_ATTRIBUTION_SOURCES: usize = 1_000;

/// A document's claims, and the commit whose files its line numbers count in (`None`: head).
#[derive(Debug)]
pub(super) struct Document {
    commit: Option<String>,
    claims: Vec<LineClaim>,
}

/// Everything the sources of one submission say, validated.
#[derive(Debug, Default)]
pub(super) struct Sources {
    commits: Vec<CommitInfo>,
    documents: Vec<Document>,
}

pub(super) fn validate_sources(errors: &mut ValidationErrors, sources: &[WireAttributionSource]) -> Sources {
    let mut out = Sources::default();
    if sources.len() > MAX_ATTRIBUTION_SOURCES {
        errors.push("/attribution_sources", format!("more than {MAX_ATTRIBUTION_SOURCES} entries"));
        return out;
    }
    for (i, source) in sources.iter().enumerate() {
        let at = format!("/attribution_sources/{i}");
        match source {
            WireAttributionSource::Commit { sha, author_name, author_email, message } => {
                let Some(sha) = commit_sha(errors, &format!("{at}/sha"), sha) else { continue };
                if message.len() > 64 * 1024 {
                    errors.push(format!("{at}/message"), "must be at most 64 KiB");
                    continue;
                }
                out.commits.push(CommitInfo {
                    sha,
                    author_name: author_name.clone(),
                    author_email: author_email.clone(),
                    message: message.clone(),
                });
            }
            WireAttributionSource::GitAiNote { commit_sha: sha, note } => {
                let commit = match sha {
                    Some(sha) => match commit_sha(errors, &format!("{at}/commit_sha"), sha) {
                        Some(sha) => Some(sha),
                        None => continue,
                    },
                    None => None,
                };
                match git_ai::parse_note(note) {
                    Ok(claims) => out.documents.push(Document { commit, claims }),
                    Err(e) => errors.push(format!("{at}/note"), format!("not a git-ai authorship note: {e}")),
                }
            }
            WireAttributionSource::AgentTrace { record } => match agent_trace::parse_record(record) {
                Ok(claims) => out.documents.push(Document { commit: trace_revision(record), claims }),
                Err(e) => {
                    let pointer = if e.pointer == "/" { String::new() } else { e.pointer };
                    errors.push(format!("{at}/record{pointer}"), format!("not an Agent Trace record: {}", e.message));
                }
            },
        }
    }
    out
}

fn commit_sha(errors: &mut ValidationErrors, at: &str, sha: &str) -> Option<String> {
    match CommitSha::parse(sha) {
        Ok(sha) => Some(sha.as_str().to_string()),
        Err(_) => {
            errors.push(at, "must be a commit sha (4 to 64 hex characters)");
            None
        }
    }
}

/// The git revision an Agent Trace record was made at, if it names one.
fn trace_revision(record: &serde_json::Value) -> Option<String> {
    let vcs = record.get("vcs")?;
    (vcs.get("type")?.as_str()? == "git").then_some(())?;
    CommitSha::parse(vcs.get("revision")?.as_str()?).ok().map(|s| s.as_str().to_string())
}

/// Whether two spellings of a commit (full or abbreviated) name the same commit.
fn same_commit(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Fold every source into the lines' attributions, strongest first: documents (tier 2), then
/// commit metadata (tiers 3–4). A disagreement is kept as `source_conflict` on the line.
pub(super) fn attribute(lines: &mut [ChangedLine], sources: &Sources, head_sha: &str, identities: &[AgentIdentity]) {
    for document in &sources.documents {
        for (index, claim) in document_claims(lines, document, head_sha) {
            lines[index].attribution.combine(claim);
        }
    }
    attribute_from_commits(lines, &sources.commits, identities);
}

/// The claim a document makes about each line it covers (its last word per line), by line index.
fn document_claims(lines: &[ChangedLine], document: &Document, head_sha: &str) -> HashMap<usize, Attribution> {
    let at_head = document.commit.as_deref().is_none_or(|c| same_commit(c, head_sha));
    // (path, line number in the document's coordinates) → line index.
    let mut index: BTreeMap<(&str, u32), usize> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate().filter(|(_, l)| l.change_type.is_at_head()) {
        let position = if at_head {
            Some(line.line_number)
        } else {
            let declared = line.declared.as_ref();
            let named = declared.and_then(|d| d.commit_sha.as_deref());
            match (named, document.commit.as_deref()) {
                (Some(named), Some(commit)) if same_commit(&named.to_ascii_lowercase(), commit) => {
                    declared.and_then(|d| d.commit_line)
                }
                _ => None,
            }
        };
        if let Some(n) = position {
            index.insert((line.file_path.as_str(), n), i);
        }
    }
    let mut claims = HashMap::new();
    for claim in &document.claims {
        let range = (claim.path.as_str(), claim.first_line)..=(claim.path.as_str(), claim.last_line);
        for (_, &i) in index.range(range) {
            claims.insert(i, claim.attribution.clone());
        }
    }
    claims
}

/// Give each line the attribution its commit's metadata implies: the commit the line names
/// (`attribution.commit_sha`, any unambiguous prefix), or the only commit when there is one.
fn attribute_from_commits(lines: &mut [ChangedLine], commits: &[CommitInfo], identities: &[AgentIdentity]) {
    if commits.is_empty() {
        return;
    }
    let table = IdentityTable::with_tenant(identities);
    let resolved: Vec<(&str, Option<Attribution>)> =
        commits.iter().map(|c| (c.sha.as_str(), commit_attribution(c, &table))).collect();
    for line in lines.iter_mut() {
        let named = line.declared.as_ref().and_then(|d| d.commit_sha.as_deref()).map(str::to_ascii_lowercase);
        let from_commit = match named {
            Some(sha) => {
                let mut matching = resolved.iter().filter(|(c, _)| same_commit(c, &sha));
                match (matching.next(), matching.next()) {
                    (Some((_, a)), None) => a.clone(),
                    _ => None,
                }
            }
            None if resolved.len() == 1 => resolved[0].1.clone(),
            None => None,
        };
        if let Some(a) = from_commit {
            line.attribution.combine(a);
        }
    }
}
