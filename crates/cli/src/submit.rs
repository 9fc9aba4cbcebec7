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

    let fails = matches!(
        (args.fail_on, decision["outcome"].as_str()),
        (FailOn::Block, Some("block")) | (FailOn::Warn, Some("block" | "warn"))
    );
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
    Ok(json!({
        "repo": repo, "pr_number": pr, "base_sha": base_sha, "head_sha": head_sha, "diff": diff,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_are_read_from_common_remote_urls() {
        assert_eq!(repo_from_remote("git@github.com:acme/shop.git").as_deref(), Some("acme/shop"));
        assert_eq!(repo_from_remote("https://github.com/acme/shop").as_deref(), Some("acme/shop"));
        assert_eq!(repo_from_remote("https://github.com/acme/shop.git\n").as_deref(), Some("acme/shop"));
    }
}
