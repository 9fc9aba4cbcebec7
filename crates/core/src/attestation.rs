//! Signed line attestations (SPEC §3, tier 1). An agent runtime signs each line it wrote with an
//! Ed25519 key registered for it in the tenant's agent key registry. The signed message binds the
//! line to its place:
//!
//! ```text
//! provenance-line-v1\n{repo}\n{head_sha}\n{file_path}\n{line_number}\n{sha256(content)}
//! ```
//!
//! so a signature replayed onto another line, file, pull request or commit does not verify. The
//! signature travels base64-encoded in the line's `attestation_signature` field.
//!
//! Signatures made the earlier service's way, over the lower-case hex SHA-256 of the content
//! alone, still verify — with less confidence and the `legacy_unbound_signature` flag — so
//! agents keep working while they upgrade.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::DecodePublicKey;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use crate::attribution::{Attribution, AttributionSource, Contributor, flags};
use crate::digest::sha256_hex;
use crate::dsse::decode_base64;
use crate::line::ChangedLine;
use crate::names::{AgentId, CommitSha, RepoName};

/// The first line of every bound message; a new scheme gets a new version.
pub const LINE_MESSAGE_VERSION: &str = "provenance-line-v1";

/// Confidence of a legacy signature: it proves the agent's key signed this content somewhere,
/// not that it wrote this line here.
pub const LEGACY_SIGNATURE_CONFIDENCE: f64 = 0.95;

/// A public key registered for an agent in a tenant's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredKey {
    pub key_id: String,
    pub agent_id: AgentId,
    pub key: VerifyingKey,
}

/// Where the lines of an analysis live: what a bound signature covers besides the line.
#[derive(Debug, Clone, Copy)]
pub struct SigningContext<'a> {
    pub repo: &'a RepoName,
    pub head_sha: &'a CommitSha,
}

/// The canonical message of one line. `content_sha256` is the lower-case hex SHA-256 of the
/// line's content (without its line ending).
pub fn line_message(repo: &str, head_sha: &str, file_path: &str, line_number: u32, content_sha256: &str) -> String {
    format!("{LINE_MESSAGE_VERSION}\n{repo}\n{head_sha}\n{file_path}\n{line_number}\n{content_sha256}")
}

/// Sign one line: the base64 signature to put in its `attestation_signature`.
pub fn sign_line(
    key: &SigningKey,
    repo: &str,
    head_sha: &str,
    file_path: &str,
    line_number: u32,
    content: &str,
) -> String {
    let message = line_message(repo, head_sha, file_path, line_number, &sha256_hex(content.as_bytes()));
    STANDARD.encode(key.sign(message.as_bytes()).to_bytes())
}

/// Read a public key given as base64 of its raw 32 bytes, or as a PEM `PUBLIC KEY` (SPKI).
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        return VerifyingKey::from_public_key_pem(text).map_err(|e| format!("is not an Ed25519 PEM public key: {e}"));
    }
    let raw = decode_base64(text).ok_or("must be base64 of the raw 32-byte key, or a PEM public key")?;
    let bytes: [u8; 32] =
        raw.try_into().map_err(|raw: Vec<u8>| format!("decodes to {} bytes; an Ed25519 key is 32", raw.len()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "is not a valid Ed25519 point".to_string())
}

/// What a line's signature proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'k> {
    /// No signature came with the line.
    Unsigned,
    /// It verifies over the bound message with this key.
    Bound(&'k RegisteredKey),
    /// It verifies only over the content digest (the earlier scheme).
    Legacy(&'k RegisteredKey),
    /// It does not verify with any registered key.
    Invalid,
}

/// Check a line's signature against the registered keys, the claimed agent's first.
pub fn verify_line<'k>(line: &ChangedLine, ctx: SigningContext<'_>, keys: &'k [RegisteredKey]) -> Verdict<'k> {
    let Some(encoded) = line.attestation_signature.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Verdict::Unsigned;
    };
    let Some(signature) = decode_base64(encoded).and_then(|raw| Signature::from_slice(&raw).ok()) else {
        return Verdict::Invalid;
    };
    let content_sha256 = match (&line.content, &line.content_sha256) {
        (Some(content), _) => sha256_hex(content.as_bytes()),
        (None, Some(digest)) => digest.clone(),
        (None, None) => sha256_hex(b""),
    };
    let bound = line_message(
        ctx.repo.as_str(),
        ctx.head_sha.as_str(),
        line.file_path.as_str(),
        line.line_number,
        &content_sha256,
    );
    let claimed = claimed_agent(line);
    let ordered = keys
        .iter()
        .filter(|k| Some(&k.agent_id) == claimed)
        .chain(keys.iter().filter(|k| Some(&k.agent_id) != claimed));
    let mut legacy = None;
    for key in ordered {
        if key.key.verify(bound.as_bytes(), &signature).is_ok() {
            return Verdict::Bound(key);
        }
        if legacy.is_none() && key.key.verify(content_sha256.as_bytes(), &signature).is_ok() {
            legacy = Some(key);
        }
    }
    legacy.map_or(Verdict::Invalid, Verdict::Legacy)
}

/// The agent a line claims, by what it resolved to or what it declared.
fn claimed_agent(line: &ChangedLine) -> Option<&AgentId> {
    line.attribution.agent_id.as_ref().or_else(|| line.declared.as_ref().and_then(|d| d.agent_id.as_ref()))
}

/// Whether the tenant's keys can change anything for `lines`: some line is signed, or claims an
/// agent (whose keys would make it `unsigned_from_keyed_agent`). Without either, the registry
/// need not be read.
pub fn needs_keys(lines: &[ChangedLine]) -> bool {
    lines.iter().any(|l| l.attestation_signature.is_some() || claimed_agent(l).is_some())
}

/// Resolve the signatures of `lines` against the tenant's registered `keys` (active keys only):
/// a valid signature makes the line its key's agent's with tier-1 confidence; an invalid one
/// leaves the attribution and flags `signature_invalid`; an unsigned line attributed to an
/// agent that has keys is flagged `unsigned_from_keyed_agent`.
pub fn apply_attestations(lines: &mut [ChangedLine], ctx: SigningContext<'_>, keys: &[RegisteredKey]) {
    for line in lines.iter_mut() {
        match verify_line(line, ctx, keys) {
            Verdict::Unsigned => {
                let keyed = claimed_agent(line).is_some_and(|agent| keys.iter().any(|k| &k.agent_id == agent));
                if keyed && line.change_type.is_at_head() && line.attribution.contributor != Contributor::Human {
                    line.attribution.flag(flags::UNSIGNED_FROM_KEYED_AGENT);
                }
            }
            Verdict::Invalid => line.attribution.flag(flags::SIGNATURE_INVALID),
            Verdict::Bound(key) => line.attribution = signed(&line.attribution, key, false),
            Verdict::Legacy(key) => line.attribution = signed(&line.attribution, key, true),
        }
    }
}

/// The attribution a verified signature gives, keeping what other sources said about the same
/// agent (model, session) and recording a disagreement with them.
fn signed(before: &Attribution, key: &RegisteredKey, legacy: bool) -> Attribution {
    let same_agent = before.agent_id.as_ref() == Some(&key.agent_id);
    let mut after = Attribution {
        contributor: if same_agent && before.contributor == Contributor::Mixed {
            Contributor::Mixed
        } else {
            Contributor::Ai
        },
        agent_id: Some(key.agent_id.clone()),
        model_id: same_agent.then(|| before.model_id.clone()).flatten(),
        session_id: same_agent.then(|| before.session_id.clone()).flatten(),
        source: AttributionSource::Signed,
        confidence: if legacy { LEGACY_SIGNATURE_CONFIDENCE } else { AttributionSource::Signed.confidence() },
        flags: before.flags.clone(),
    };
    if before.disagrees_with(&after) {
        after.flag(flags::SOURCE_CONFLICT);
    }
    if legacy {
        after.flag(flags::LEGACY_UNBOUND_SIGNATURE);
    }
    after
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

    use super::*;
    use crate::line::{ChangeType, DeclaredAttribution};
    use crate::names::RepoPath;

    const REPO: &str = "acme/shop";
    const HEAD: &str = "def4560000000000000000000000000000000000";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn registered(seed: u8, agent: &str) -> RegisteredKey {
        RegisteredKey {
            key_id: format!("agk_{seed}"),
            agent_id: AgentId::parse(agent).unwrap(),
            key: key(seed).verifying_key(),
        }
    }

    fn line(path: &str, n: u32, content: &str, agent: Option<&str>, signature: Option<String>) -> ChangedLine {
        let declared =
            agent.map(|a| DeclaredAttribution { agent_id: Some(AgentId::parse(a).unwrap()), ..Default::default() });
        let mut l = ChangedLine {
            file_path: RepoPath::parse(path).unwrap(),
            line_number: n,
            change_type: ChangeType::Added,
            content: Some(content.into()),
            language: None,
            author_identity: None,
            declared,
            content_sha256: None,
            attestation_signature: signature,
            attribution: Attribution::unknown(),
        };
        l.attribution = crate::attribution::resolve_attribution(&l);
        l
    }

    fn resolve(mut lines: Vec<ChangedLine>, keys: &[RegisteredKey]) -> Vec<Attribution> {
        let (repo, head) = (RepoName::parse(REPO).unwrap(), CommitSha::parse(HEAD).unwrap());
        apply_attestations(&mut lines, SigningContext { repo: &repo, head_sha: &head }, keys);
        lines.into_iter().map(|l| l.attribution).collect()
    }

    #[test]
    fn a_bound_signature_from_a_registered_key_scores_one() {
        let sig = sign_line(&key(1), REPO, HEAD, "app/db.py", 7, "x = run(q)");
        let got = resolve(vec![line("app/db.py", 7, "x = run(q)", None, Some(sig))], &[registered(1, "claude-code")]);
        assert_eq!(got[0].source, AttributionSource::Signed);
        assert_eq!(got[0].confidence, 1.0);
        assert_eq!(got[0].agent_id.as_ref().map(AgentId::as_str), Some("claude-code"));
        assert!(got[0].flags.is_empty(), "{:?}", got[0].flags);
    }

    #[test]
    fn a_signature_replayed_onto_another_line_file_or_commit_is_invalid() {
        let sig = sign_line(&key(1), REPO, HEAD, "app/db.py", 7, "x = run(q)");
        let other_commit = sign_line(&key(1), REPO, "0000000", "app/db.py", 7, "x = run(q)");
        let got = resolve(
            vec![
                line("app/db.py", 8, "x = run(q)", Some("claude-code"), Some(sig.clone())),
                line("app/other.py", 7, "x = run(q)", Some("claude-code"), Some(sig)),
                line("app/db.py", 7, "x = run(q)", Some("claude-code"), Some(other_commit)),
            ],
            &[registered(1, "claude-code")],
        );
        for a in got {
            assert!(a.has_flag(flags::SIGNATURE_INVALID), "{a:?}");
            assert_eq!(a.source, AttributionSource::Declared, "keeps its other attribution");
        }
    }

    #[test]
    fn a_signature_by_an_unregistered_key_or_garbage_is_invalid() {
        let sig = sign_line(&key(9), REPO, HEAD, "a.py", 1, "x");
        let got = resolve(
            vec![line("a.py", 1, "x", None, Some(sig)), line("a.py", 2, "y", None, Some("not base64!".into()))],
            &[registered(1, "claude-code")],
        );
        assert!(got.iter().all(|a| a.has_flag(flags::SIGNATURE_INVALID)));
    }

    #[test]
    fn a_legacy_signature_over_the_content_digest_verifies_with_less_confidence() {
        let legacy = STANDARD.encode(key(1).sign(sha256_hex(b"x = 1").as_bytes()).to_bytes());
        let got =
            resolve(vec![line("a.py", 1, "x = 1", Some("claude-code"), Some(legacy))], &[registered(1, "claude-code")]);
        assert_eq!(got[0].source, AttributionSource::Signed);
        assert_eq!(got[0].confidence, LEGACY_SIGNATURE_CONFIDENCE);
        assert!(got[0].has_flag(flags::LEGACY_UNBOUND_SIGNATURE));
    }

    #[test]
    fn an_unsigned_line_from_an_agent_with_keys_is_flagged() {
        let got = resolve(
            vec![line("a.py", 1, "x", Some("claude-code"), None), line("a.py", 2, "y", Some("cursor"), None)],
            &[registered(1, "claude-code")],
        );
        assert!(got[0].has_flag(flags::UNSIGNED_FROM_KEYED_AGENT));
        assert!(got[1].flags.is_empty(), "cursor has no keys");
    }

    #[test]
    fn a_line_signed_by_another_agent_than_it_declares_is_a_conflict_the_signature_wins() {
        let sig = sign_line(&key(2), REPO, HEAD, "a.py", 1, "x");
        let got = resolve(
            vec![line("a.py", 1, "x", Some("claude-code"), Some(sig))],
            &[registered(1, "claude-code"), registered(2, "cursor")],
        );
        assert_eq!(got[0].agent_id.as_ref().map(AgentId::as_str), Some("cursor"));
        assert!(got[0].has_flag(flags::SOURCE_CONFLICT));
    }

    #[test]
    fn public_keys_are_read_as_raw_base64_or_pem() {
        let vk = key(3).verifying_key();
        assert_eq!(parse_public_key(&STANDARD.encode(vk.as_bytes())).unwrap(), vk);
        let pem = vk.to_public_key_pem(LineEnding::LF).unwrap();
        assert_eq!(parse_public_key(&pem).unwrap(), vk);
        assert!(parse_public_key("AAAA").unwrap_err().contains("32"));
        assert!(parse_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----").is_err());
    }
}
