//! `provenance-bench roundtrip`: closed-loop load against a running API. Each of `--concurrency`
//! clients submits a realistic pull request (`--files` × `--lines-per-file` changed lines), polls
//! until it is decided, and starts the next. Reports throughput, submit latency, time to
//! decision and the memory of the processes named with `--pid`.
//!
//! `provenance-bench webhooks`: webhook delivery throughput and latency (see [`webhooks`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use serde_json::json;

mod webhooks;

#[derive(Debug, Parser)]
#[command(name = "provenance-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Submit and wait for the decision, in a closed loop.
    Roundtrip(RoundtripArgs),
    /// Webhook deliveries: drain a backlog, then a fixed rate; throughput and latency.
    Webhooks(webhooks::WebhooksArgs),
}

#[derive(Debug, Args)]
struct RoundtripArgs {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api_url: String,
    #[arg(long, env = "PROVENANCE_API_KEY", hide_env_values = true)]
    api_key: String,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Measured duration (after the warm-up).
    #[arg(long, default_value_t = 20)]
    duration_seconds: u64,
    #[arg(long, default_value_t = 3)]
    warmup_seconds: u64,
    #[arg(long, default_value_t = 10)]
    files: usize,
    #[arg(long, default_value_t = 20)]
    lines_per_file: usize,
    /// Poll interval while waiting for a decision (with `--wait-seconds 0`).
    #[arg(long, default_value_t = 5)]
    poll_ms: u64,
    /// Wait for the decision server-side (`GET /v1/analysis/{id}?wait=N`) instead of polling;
    /// 0 polls every `--poll-ms`.
    #[arg(long, default_value_t = 25)]
    wait_seconds: u64,
    /// `name=pid` of a process whose memory to report (repeatable).
    #[arg(long = "pid")]
    pids: Vec<String>,
    /// A label printed with the results.
    #[arg(long, default_value = "")]
    label: String,
}

/// A pull request of `files` Python files, with an SQL injection, a shell=True call and an
/// agent attribution among ordinary lines. The body is rendered once; each submission appends
/// its own `pr_number` and `head_sha` (unique per `seed`), so the load generator spends its
/// share of the machine's two cores on requests, not on building JSON.
struct PullRequestTemplate {
    /// The body's JSON without its closing brace.
    open_body: String,
}

impl PullRequestTemplate {
    fn new(files: usize, lines_per_file: usize) -> Self {
        let mut lines = Vec::with_capacity(files * lines_per_file);
        for f in 0..files {
            for n in 1..=lines_per_file {
                let content = match n % 20 {
                    7 => format!("query = f\"SELECT * FROM orders WHERE id = {{order_id_{n}}}\""),
                    13 => "subprocess.run(cmd, shell=True)".to_string(),
                    _ => format!("value_{n} = compute(item_{n}, factor={f})  # step {n}"),
                };
                lines.push(json!({
                    "file_path": format!("service/pkg_{f}/module_{f}.py"), "line_number": n * 3,
                    "change_type": if n % 4 == 0 { "modified" } else { "added" }, "content": content,
                    "language": "python", "attribution": {"agent_id": "claude-code", "model_id": "anthropic/claude-opus-4-5"}
                }));
            }
        }
        let body = json!({
            "repo": "acme/shop", "base_sha": "abc1230000000000000000000000000000000000",
            "branch": "agent/feature", "provenance_data": {"changed_lines": lines}
        })
        .to_string();
        let open_body = body.strip_suffix('}').expect("a JSON object ends with }").to_string();
        Self { open_body }
    }

    /// The body of one submission.
    fn body(&self, seed: u64) -> String {
        let head_sha = format!("{:040x}", seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) as u128 + 1);
        format!("{},\"pr_number\":{},\"head_sha\":\"{head_sha}\"}}", self.open_body, seed % 100_000 + 1)
    }
}

/// The part of the submit response the load generator reads.
#[derive(Deserialize)]
struct Accepted {
    analysis_id: String,
}

/// The part of an analysis the load generator reads.
#[derive(Deserialize)]
struct Status {
    status: String,
}

#[derive(Default)]
struct Samples {
    submit: Vec<Duration>,
    decision: Vec<Duration>,
    errors: u64,
}

async fn client(
    args: Arc<RoundtripArgs>,
    template: Arc<PullRequestTemplate>,
    http: reqwest::Client,
    seq: Arc<AtomicU64>,
    warm_until: Instant,
    stop_at: Instant,
) -> Samples {
    let mut s = Samples::default();
    let salt = std::process::id() as u64 * 1_000_000_007;
    let submit_url = format!("{}/v1/analysis", args.api_url);
    while Instant::now() < stop_at {
        let body = template.body(salt + seq.fetch_add(1, Ordering::Relaxed));
        let started = Instant::now();
        let r = http
            .post(&submit_url)
            .bearer_auth(&args.api_key)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let submit = started.elapsed();
        let id = match r {
            Ok(r) if r.status() == 202 => match r.json::<Accepted>().await {
                Ok(a) => a.analysis_id,
                Err(_) => {
                    s.errors += 1;
                    continue;
                }
            },
            _ => {
                s.errors += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let url = if args.wait_seconds > 0 {
            format!("{}/v1/analysis/{id}?wait={}", args.api_url, args.wait_seconds)
        } else {
            format!("{}/v1/analysis/{id}", args.api_url)
        };
        let decided = loop {
            if args.wait_seconds == 0 {
                tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
            }
            let r = http.get(&url).bearer_auth(&args.api_key).send().await;
            let Ok(r) = r else { continue };
            let Ok(v) = r.json::<Status>().await else { continue };
            match v.status.as_str() {
                "completed" => break Some(started.elapsed()),
                "failed" => break None,
                _ if started.elapsed() > Duration::from_secs(60) => break None,
                _ => {}
            }
        };
        if started < warm_until {
            continue; // warm-up: not counted
        }
        match decided {
            Some(d) => {
                s.submit.push(submit);
                s.decision.push(d);
            }
            None => s.errors += 1,
        }
    }
    s
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// `(VmRSS, VmHWM)` in MiB from `/proc/<pid>/status`.
fn memory_mib(pid: &str) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid).join("status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

async fn roundtrip(args: RoundtripArgs) -> anyhow::Result<()> {
    let args = Arc::new(args);
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency * 2).build()?;
    let ready = http.get(format!("{}/health/ready", args.api_url)).send().await.context("the API is not reachable")?;
    if !ready.status().is_success() {
        bail!("the API is not ready: {}", ready.text().await.unwrap_or_default());
    }
    let seq = Arc::new(AtomicU64::new(0));
    let template = Arc::new(PullRequestTemplate::new(args.files, args.lines_per_file));
    let begin = Instant::now();
    let warm_until = begin + Duration::from_secs(args.warmup_seconds);
    let stop_at = warm_until + Duration::from_secs(args.duration_seconds);
    let tasks: Vec<_> = (0..args.concurrency)
        .map(|_| {
            tokio::spawn(client(
                Arc::clone(&args),
                Arc::clone(&template),
                http.clone(),
                Arc::clone(&seq),
                warm_until,
                stop_at,
            ))
        })
        .collect();
    let mut all = Samples::default();
    for t in tasks {
        let s = t.await?;
        all.submit.extend(s.submit);
        all.decision.extend(s.decision);
        all.errors += s.errors;
    }
    // Throughput over the measured window: decisions whose round trip started after warm-up.
    let measured = Instant::now().saturating_duration_since(warm_until).as_secs_f64();
    all.submit.sort();
    all.decision.sort();
    let n = all.decision.len() as f64;
    let result = json!({
        "label": args.label,
        "concurrency": args.concurrency,
        "changed_lines_per_pr": args.files * args.lines_per_file,
        "files_per_pr": args.files,
        "measured_seconds": (measured * 10.0).round() / 10.0,
        "decisions": all.decision.len(),
        "errors": all.errors,
        "submissions_per_second": (n / measured * 10.0).round() / 10.0,
        "decisions_per_second": (n / measured * 10.0).round() / 10.0,
        "submit_ms": {"p50": percentile(&all.submit, 50.0), "p99": percentile(&all.submit, 99.0)},
        "time_to_decision_ms": {"p50": percentile(&all.decision, 50.0), "p99": percentile(&all.decision, 99.0)},
        "memory_mib": args.pids.iter().filter_map(|p| {
            let (name, pid) = p.split_once('=')?;
            let (rss, peak) = memory_mib(pid)?;
            Some((name.to_string(), json!({"rss": (rss * 10.0).round() / 10.0, "peak": (peak * 10.0).round() / 10.0})))
        }).collect::<serde_json::Map<_, _>>(),
    });
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Roundtrip(args) => roundtrip(args).await,
        Command::Webhooks(args) => webhooks::webhooks(args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_body_is_a_pull_request_of_its_own() {
        let template = PullRequestTemplate::new(10, 20);
        let a: serde_json::Value = serde_json::from_str(&template.body(1)).unwrap();
        let b: serde_json::Value = serde_json::from_str(&template.body(2)).unwrap();
        assert_eq!(a["provenance_data"]["changed_lines"].as_array().unwrap().len(), 200);
        assert_eq!(a["repo"], "acme/shop");
        assert_eq!(a["head_sha"].as_str().unwrap().len(), 40);
        assert_ne!(a["head_sha"], b["head_sha"]);
        assert_ne!(a["pr_number"], b["pr_number"]);
    }
}
