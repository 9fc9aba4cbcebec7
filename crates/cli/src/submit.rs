//! `provenance submit`: send a change set (from `git diff base...head`, or a JSON payload file),
//! wait for the decision, print it, write the SARIF report and the signed bundle, and exit
//! non-zero when the decision fails the build.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::client::{Client, expect_status, resolve_api_key};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Never,
    Block,
    Warn,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Server base URL.
    #[arg(long, env = "PROVENANCE_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// API key (default: the admin key in --data-dir).
    #[arg(long, env = "PROVENANCE_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Data dir of a local `provenance serve`, to find its admin key.
    #[arg(long, env = "PROVENANCE_DATA_DIR", default_value = "./provenance-data")]
    pub data_dir: PathBuf,
    /// Submit this JSON document as-is instead of reading git.
    #[arg(long, conflicts_with_all = ["base", "head", "repo", "pr"])]
    pub payload: Option<PathBuf>,
    /// Git repository to diff.
    #[arg(long, default_value = ".")]
    pub repo_dir: PathBuf,
    /// Base revision (the PR's target, e.g. `origin/main`).
    #[arg(long)]
    pub base: Option<String>,
    /// Head revision.
    #[arg(long, default_value = "HEAD")]
    pub head: Option<String>,
    /// Repository name `owner/name` (default: from the `origin` remote).
    #[arg(long)]
    pub repo: Option<String>,
    /// Pull request number.
    #[arg(long, env = "PROVENANCE_PR")]
    pub pr: Option<u64>,
    /// Where to write `provenance.sarif` and `provenance-bundle.json`.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
    /// Give up waiting after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_seconds: u64,
    /// Exit with status 2 when the outcome is at least this.
    #[arg(long, value_enum, default_value_t = FailOn::Block)]
    pub fail_on: FailOn,
}

/// Exit status of `submit`: 0 passes, 2 when the outcome reached `--fail-on`.
pub async fn run(args: SubmitArgs) -> anyhow::Result<i32> {
    let payload = match &args.payload {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?
        }
        None => git_payload(&args)?,
    };
    let client = Client::new(&args.server, resolve_api_key(args.api_key.as_deref(), &args.data_dir))?;
    let (status, accepted) = client.post_json("/v1/analysis", &payload).await?;
    expect_status(status, &[StatusCode::ACCEPTED, StatusCode::OK], &accepted)?;
    let id = accepted["analysis_id"].as_str().context("the response has no analysis_id")?.to_string();
    eprintln!(
        "submitted {id}{}",
        if accepted["deduplicated"] == true { " (identical analysis already existed)" } else { "" }
    );

    let analysis = wait_for_terminal(&client, &id, Duration::from_secs(args.timeout_seconds)).await?;
    if analysis["status"] == "failed" {
        bail!("analysis {id} failed: {}", analysis["error"]);
    }
    let decision = client.get_json(&format!("/v1/analysis/{id}/decision")).await?;
    print_decision(&id, &decision);

    std::fs::create_dir_all(&args.out_dir)?;
    let sarif = client.get_bytes(&format!("/v1/analysis/{id}/sarif")).await?;
    let sarif_path = args.out_dir.join("provenance.sarif");
    std::fs::write(&sarif_path, sarif)?;
    let bundle = client.get_json(&format!("/v1/analysis/{id}/bundle")).await?;
    let bundle_path = args.out_dir.join("provenance-bundle.json");
    std::fs::write(&bundle_path, serde_json::to_vec_pretty(&bundle)?)?;
    eprintln!("wrote {} and {}", sarif_path.display(), bundle_path.display());

    // A signed override turns a block into an allowed merge.
    let overridden = &analysis["decision"]["override"];
    if overridden.is_object() {
        let bundle = client.get_json(&format!("/v1/analysis/{id}/override")).await?["bundle"].clone();
        let path = args.out_dir.join("provenance-override-bundle.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&bundle)?)?;
        eprintln!(
            "the block was overridden by {} ({}): {}; wrote {}",
            overridden["overridden_by"].as_str().unwrap_or("?"),
            overridden["created_at"].as_str().unwrap_or("?"),
            overridden["reason"].as_str().unwrap_or("?"),
            path.display()
        );
    }
    let outcome = analysis["decision"]["effective_outcome"].as_str().or(decision["outcome"].as_str());
    let fails =
        matches!((args.fail_on, outcome), (FailOn::Block, Some("block")) | (FailOn::Warn, Some("block" | "warn")));
    Ok(if fails { 2 } else { 0 })
}

async fn wait_for_terminal(client: &Client, id: &str, timeout: Duration) -> anyhow::Result<Value> {
    let started = Instant::now();
    loop {
        // The server holds each request until the analysis settles or 25 s pass.
        let analysis = client.get_json(&format!("/v1/analysis/{id}?wait=25")).await?;
        if matches!(analysis["status"].as_str(), Some("completed" | "failed")) {
            return Ok(analysis);
        }
        if started.elapsed() > timeout {
            bail!("analysis {id} is still {} after {timeout:?}", analysis["status"]);
        }
    }
}

fn print_decision(id: &str, decision: &Value) {
    let outcome = decision["outcome"].as_str().unwrap_or("?").to_uppercase();
    println!("{id}: {outcome}");
    let risk = &decision["risk_summary"];
    println!(
        "  findings: {} open ({}), coverage: {}% of {} changed lines attributed",
        risk["findings_total"],
        serde_json::to_string(&risk["by_severity"]).unwrap_or_default(),
        decision["coverage"]["percent"],
        decision["coverage"]["lines_total"],
    );
    for rule in decision["fired_rules"].as_array().into_iter().flatten() {
        println!(
            "  [{}] {}: {}",
            rule["outcome"].as_str().unwrap_or("?"),
            rule["rule"].as_str().unwrap_or("?"),
            rule["reason"].as_str().unwrap_or("")
        );
        for line in rule["lines"].as_array().into_iter().flatten().take(10) {
            println!("      at {}:{}", line["file_path"].as_str().unwrap_or("?"), line["line_number"]);
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().context("running git")?;
    if !out.status.success() {
        bail!("git {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    String::from_utf8(out.stdout).context("git printed non-UTF-8")
}

/// `owner/name` from a GitHub-style remote URL (`git@github.com:o/n.git`, `https://…/o/n`).
pub fn repo_from_remote(url: &str) -> Option<String> {
    let trimmed = url.trim().trim_end_matches('/').trim_end_matches(".git");
    let mut parts = trimmed.rsplit(['/', ':']);
    let name = parts.next()?;
    let owner = parts.next()?;
    (!owner.is_empty() && !name.is_empty()).then(|| format!("{owner}/{name}"))
}

fn git_payload(args: &SubmitArgs) -> anyhow::Result<Value> {
    let base = args.base.as_deref().context("--base is required (e.g. --base origin/main), or use --payload")?;
    let head = args.head.as_deref().unwrap_or("HEAD");
    let dir = &args.repo_dir;
    let base_sha = git(dir, &["rev-parse", "--verify", &format!("{base}^{{commit}}")])?.trim().to_string();
    let head_sha = git(dir, &["rev-parse", "--verify", &format!("{head}^{{commit}}")])?.trim().to_string();
    let repo = match &args.repo {
        Some(r) => r.clone(),
        None => {
            let url = git(dir, &["remote", "get-url", "origin"]).context("no --repo given and no `origin` remote")?;
            repo_from_remote(&url)
                .with_context(|| format!("cannot read owner/name from remote {url:?}; pass --repo"))?
        }
    };
    let pr = args.pr.context("--pr is required (or set PROVENANCE_PR)")?;
    let diff = git(dir, &["diff", "--no-color", "--no-ext-diff", &format!("{base_sha}...{head_sha}")])?;
    let mut payload = json!({
        "repo": repo, "pr_number": pr, "base_sha": base_sha, "head_sha": head_sha, "diff": diff,
    });

    // Everything the repository knows about who wrote the change: its commits (trailers, bot
    // authors, tool footers) and their git-ai notes.
    let commits = commits_between(dir, &base_sha, &head_sha)?;
    let notes = ai_notes(dir, &commits)?;
    let mut sources: Vec<Value> = commits
        .iter()
        .map(|c| {
            json!({"type": "commit", "sha": c.sha, "author_name": c.author_name, "author_email": c.author_email,
                        "message": c.message})
        })
        .collect();
    sources.extend(notes.iter().map(|(sha, note)| json!({"type": "git_ai_note", "commit_sha": sha, "note": note})));
    // With several commits, each line needs to say which commit wrote it and where it was then,
    // for that commit's metadata and notes to find it: `git blame` knows.
    if commits.len() > 1 {
        let merge_base = git(dir, &["merge-base", &base_sha, &head_sha])?.trim().to_string();
        let lines = blamed_lines(dir, &diff, &merge_base, &head_sha)?;
        if !lines.is_empty() {
            payload["provenance_data"] = json!({"changed_lines": lines});
        }
    }
    if !sources.is_empty() {
        eprintln!("{} commit(s), {} git-ai note(s)", commits.len(), notes.len());
        payload["attribution_sources"] = Value::Array(sources);
    }
    Ok(payload)
}

/// The most commits whose metadata a submission carries (the newest ones).
const MAX_COMMITS: usize = 500;

struct Commit {
    sha: String,
    author_name: String,
    author_email: String,
    message: String,
}

/// The commits of `base..head`, newest first.
fn commits_between(dir: &Path, base: &str, head: &str) -> anyhow::Result<Vec<Commit>> {
    let log = git(dir, &["log", "--no-color", "--format=%H%x00%an%x00%ae%x00%B%x1e", &format!("{base}..{head}")])?;
    let mut commits: Vec<Commit> = log
        .split('\x1e')
        .filter_map(|record| {
            let mut fields = record.trim_start_matches('\n').splitn(4, '\0');
            let sha = fields.next().filter(|s| !s.is_empty())?.to_string();
            Some(Commit {
                sha,
                author_name: fields.next()?.to_string(),
                author_email: fields.next()?.to_string(),
                message: fields.next()?.trim_end().to_string(),
            })
        })
        .collect();
    if commits.len() > MAX_COMMITS {
        eprintln!("warning: {} commits; sending the metadata of the newest {MAX_COMMITS}", commits.len());
        commits.truncate(MAX_COMMITS);
    }
    Ok(commits)
}

/// The git-ai authorship notes (`refs/notes/ai`) of `commits`, as (commit, note text).
fn ai_notes(dir: &Path, commits: &[Commit]) -> anyhow::Result<Vec<(String, String)>> {
    // No notes ref (not fetched, or git-ai not used) is not an error: there are no notes.
    let Ok(list) = git(dir, &["notes", "--ref=ai", "list"]) else { return Ok(Vec::new()) };
    let wanted: std::collections::HashSet<&str> = commits.iter().map(|c| c.sha.as_str()).collect();
    let mut notes = Vec::new();
    for line in list.lines() {
        let Some((blob, commit)) = line.split_once(' ') else { continue };
        if wanted.contains(commit) {
            notes.push((commit.to_string(), git(dir, &["cat-file", "blob", blob])?));
        }
    }
    Ok(notes)
}

/// The added and modified lines of `diff`, each with the commit that wrote it and its line
/// number in that commit (`git blame --porcelain base..head`).
fn blamed_lines(dir: &Path, diff: &str, base: &str, head: &str) -> anyhow::Result<Vec<Value>> {
    let files = provenance_core::diff::parse_unified_diff(diff)
        .map_err(|e| anyhow::anyhow!("git diff printed what we cannot parse (line {}): {}", e.line, e.message))?;
    let changed: Vec<_> =
        provenance_core::diff::changed_lines(&files).into_iter().filter(|l| l.change_type.is_at_head()).collect();
    let mut origins = std::collections::HashMap::new();
    let mut paths: Vec<&str> = changed.iter().map(|l| l.path.as_str()).collect();
    paths.dedup();
    for path in paths {
        let blame = git(dir, &["blame", "--porcelain", &format!("{base}..{head}"), "--", path])?;
        for (sha, origin, line) in parse_blame_porcelain(&blame) {
            origins.insert((path.to_string(), line), (sha, origin));
        }
    }
    Ok(changed
        .into_iter()
        .map(|l| {
            let mut line = json!({"file_path": l.path, "line_number": l.line_number,
                                  "change_type": l.change_type.as_str(), "content": l.content});
            if let Some((sha, origin)) = origins.get(&(l.path.clone(), l.line_number)) {
                line["attribution"] = json!({"commit_sha": sha, "commit_line": origin});
            }
            line
        })
        .collect())
}

/// (commit, line in that commit, line at the blamed revision) of each line of porcelain blame.
fn parse_blame_porcelain(text: &str) -> Vec<(String, u32, u32)> {
    text.lines()
        .filter(|l| !l.starts_with('\t'))
        .filter_map(|l| {
            let mut parts = l.split(' ');
            let sha = parts.next()?;
            if !(sha.len() == 40 || sha.len() == 64) || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let origin = parts.next()?.parse().ok()?;
            let line = parts.next()?.parse().ok()?;
            Some((sha.to_string(), origin, line))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_blame_gives_each_lines_commit_and_original_position() {
        let sha_a = "a".repeat(40);
        let sha_b = "b".repeat(40);
        let text = format!(
            "{sha_a} 3 1 2\nauthor Ada\nsummary x\nfilename f.py\n\tone\n{sha_a} 4 2\n\ttwo\n{sha_b} 1 3 1\nboundary\n\t{sha_a} 9 9\n"
        );
        assert_eq!(
            parse_blame_porcelain(&text),
            vec![(sha_a.clone(), 3, 1), (sha_a, 4, 2), (sha_b, 1, 3)],
            "content lines are never headers, even when they look like one"
        );
    }

    #[test]
    fn repo_names_are_read_from_common_remote_urls() {
        assert_eq!(repo_from_remote("git@github.com:acme/shop.git").as_deref(), Some("acme/shop"));
        assert_eq!(repo_from_remote("https://github.com/acme/shop").as_deref(), Some("acme/shop"));
        assert_eq!(repo_from_remote("https://github.com/acme/shop.git\n").as_deref(), Some("acme/shop"));
    }
}
