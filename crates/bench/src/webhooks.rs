//! `provenance-bench webhooks`: webhook delivery throughput and latency against a running
//! `provenance-api` and `provenance-worker` (distributed mode).
//!
//! The benchmark runs its own receiver (an axum server on `127.0.0.1:0` that answers 200 at
//! once), creates `--endpoints` endpoints pointing at it through the REST API, and produces
//! events by calling [`WebhookRepository::emit_events`] on the same database, as the services do
//! when an analysis completes. Each event's `data.bench` carries its phase and the time it was
//! emitted, so the receiver measures event → delivery latency from the body alone. Phases:
//!
//! - `drain`: a backlog of `--backlog` deliveries emitted as fast as the database takes them;
//!   deliveries/s from the first emit to the last first-time receipt, and a check that every
//!   (message, endpoint) pair arrived exactly once.
//! - `steady`: `--rate` deliveries/s (events/s × endpoints) for `--duration-seconds` after
//!   `--warmup-seconds`; event → delivery latency percentiles and the rates achieved.
//!
//! One JSON line per phase. The services' relays publish the delivery jobs, as in production.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chrono::Utc;
use clap::Args;
use provenance_core::webhooks::{EventType, message_body};
use provenance_core::{MessageId, TenantId};
use provenance_store::amqp::{AmqpConnection, AmqpSettings, Topology};
use provenance_store::{ConnectOptions, Migrations, Store, WebhookEvent, topics};
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{memory_mib, percentile};

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api_url: String,
    #[arg(long, env = "PROVENANCE_API_KEY", hide_env_values = true)]
    api_key: String,
    /// The services' database, where the benchmark emits its events.
    #[arg(long, env = "PROVENANCE_DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// The tenant of `--api-key` (the default is the bootstrap admin key's).
    #[arg(long, default_value = "tn_00000000000000000000000000")]
    tenant: String,
    /// Endpoints subscribed to the benchmark's event type; each event is one delivery per endpoint.
    #[arg(long, default_value_t = 4)]
    endpoints: usize,
    /// Phases to run, in order (`drain`, `steady`).
    #[arg(long, value_delimiter = ',', default_value = "drain,steady")]
    phases: Vec<String>,
    /// `drain`: deliveries in the backlog (rounded up to a whole number of events).
    #[arg(long, default_value_t = 20_000)]
    backlog: usize,
    /// `drain`: events stored per `emit_events` call (one transaction each).
    #[arg(long, default_value_t = 250)]
    batch: usize,
    /// `steady`: deliveries per second (events/s × endpoints).
    #[arg(long, default_value_t = 500)]
    rate: u64,
    /// `steady`: measured duration (after the warm-up).
    #[arg(long, default_value_t = 20)]
    duration_seconds: u64,
    /// `steady`: seconds at the rate before the measured window (not counted).
    #[arg(long, default_value_t = 3)]
    warmup_seconds: u64,
    /// `steady`: events due are emitted every this many milliseconds, in one call.
    #[arg(long, default_value_t = 10)]
    tick_ms: u64,
    /// A phase ends when every delivery arrived, or when none arrived for this long.
    #[arg(long, default_value_t = 30)]
    settle_seconds: u64,
    /// Verify the Standard Webhooks signature of every n-th delivery received (0: none).
    #[arg(long, default_value_t = 20)]
    verify_every: u64,
    /// The services' broker: its `webhook.deliveries` queue depth is sampled.
    #[arg(long, env = "PROVENANCE_AMQP_URL", hide_env_values = true)]
    amqp_url: Option<String>,
    /// The services' queue prefix (`PROVENANCE_AMQP_PREFIX`).
    #[arg(long, env = "PROVENANCE_AMQP_PREFIX", default_value = "")]
    amqp_prefix: String,
    /// Print the outbox and queue depths and the deliveries so far to stderr, every second.
    #[arg(long)]
    progress: bool,
    /// `name=pid` of a process whose memory and CPU time to report (repeatable).
    #[arg(long = "pid")]
    pids: Vec<String>,
    /// A label printed with the results.
    #[arg(long, default_value = "")]
    label: String,
}

/// The event type the endpoints subscribe to and the benchmark emits.
const EVENT: EventType = EventType::AnalysisCompleted;

/// Phase tags carried in `data.bench.phase`.
const DRAIN: u8 = 0;
const STEADY_WARMUP: u8 = 1;
const STEADY: u8 = 2;
const PHASES: usize = 3;

/// One request the receiver answered.
struct Receipt {
    message_id: String,
    endpoint: usize,
    sent_us: u64,
    received_us: u64,
}

/// The receiver's state: receipts by phase, and the secrets to check signatures with.
struct Receiver {
    epoch: Instant,
    receipts: [Mutex<Vec<Receipt>>; PHASES],
    counts: [AtomicU64; PHASES],
    verifiers: OnceLock<Vec<standardwebhooks::Webhook>>,
    verify_every: u64,
    seen: AtomicU64,
    verified: AtomicU64,
    bad_signatures: AtomicU64,
    /// Requests the receiver could not attribute (no `webhook-id`, unknown endpoint or body).
    malformed: AtomicU64,
}

impl Receiver {
    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }
}

/// The part of a delivered body the receiver reads.
#[derive(Deserialize)]
struct Body {
    data: BodyData,
}

#[derive(Deserialize)]
struct BodyData {
    bench: Stamp,
}

#[derive(Deserialize)]
struct Stamp {
    phase: u8,
    sent_us: u64,
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    UrlPath(endpoint): UrlPath<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let received_us = r.now_us();
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok());
    let stamp = serde_json::from_slice::<Body>(&body).ok().map(|b| b.data.bench);
    let (Some(id), Some(stamp)) = (id, stamp) else {
        r.malformed.fetch_add(1, Ordering::Relaxed);
        return StatusCode::OK; // answered all the same: a retry would not make it readable
    };
    let phase = usize::from(stamp.phase);
    if phase >= PHASES {
        r.malformed.fetch_add(1, Ordering::Relaxed);
        return StatusCode::OK;
    }
    let n = r.seen.fetch_add(1, Ordering::Relaxed);
    if r.verify_every > 0
        && n.is_multiple_of(r.verify_every)
        && let Some(verifier) = r.verifiers.get().and_then(|v| v.get(endpoint))
    {
        match verifier.verify(&body, &headers) {
            Ok(()) => r.verified.fetch_add(1, Ordering::Relaxed),
            Err(_) => r.bad_signatures.fetch_add(1, Ordering::Relaxed),
        };
    }
    let receipt = Receipt { message_id: id.to_string(), endpoint, sent_us: stamp.sent_us, received_us };
    r.receipts[phase].lock().unwrap_or_else(|p| p.into_inner()).push(receipt);
    r.counts[phase].fetch_add(1, Ordering::Relaxed);
    StatusCode::OK
}

/// The part of the endpoint-creation answer the benchmark reads.
#[derive(Deserialize)]
struct CreatedEndpoint {
    id: String,
    secret: String,
}

/// CPU time (user + system) of the processes the benchmark watches, and of the machine.
struct CpuSnapshot {
    at: Instant,
    /// Clock ticks by name: each `--pid`, this process, every `postgres` process, RabbitMQ.
    processes: Vec<(String, u64)>,
    /// (busy, total) ticks of all CPUs from `/proc/stat`.
    machine: (u64, u64),
}

/// Clock ticks per second of `/proc/*/stat` (USER_HZ, 100 on every Linux we run on).
const TICKS_PER_SECOND: f64 = 100.0;

/// utime + stime of a process, in clock ticks.
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11); // state is field 3; utime is field 14
    Some(fields.next()?.parse::<u64>().ok()? + fields.next()?.parse::<u64>().ok()?)
}

/// Summed ticks of every process whose command name is `comm`.
fn ticks_by_comm(comm: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end() == comm))
        .filter_map(|e| process_ticks(e.file_name().to_str()?))
        .sum()
}

fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else { return (0, 0) };
    let values: Vec<u64> = cpu.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

impl CpuSnapshot {
    fn take(pids: &[String]) -> Self {
        let mut processes: Vec<(String, u64)> = pids
            .iter()
            .filter_map(|p| {
                let (name, pid) = p.split_once('=')?;
                Some((name.to_string(), process_ticks(pid)?))
            })
            .collect();
        processes.push(("bench".into(), process_ticks("self").unwrap_or(0)));
        processes.push(("postgres".into(), ticks_by_comm("postgres")));
        processes.push(("rabbitmq".into(), ticks_by_comm("beam.smp")));
        Self { at: Instant::now(), processes, machine: machine_ticks() }
    }

    /// CPU time per process since `self` as a share of one core, and the machine's busy share
    /// of all its cores, in percent.
    fn since(&self, pids: &[String]) -> serde_json::Value {
        let now = Self::take(pids);
        let seconds = now.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let per_process: serde_json::Map<_, _> = now
            .processes
            .iter()
            .filter_map(|(name, ticks)| {
                let (_, before) = self.processes.iter().find(|(n, _)| n == name)?;
                let cpu = ticks.saturating_sub(*before) as f64 / TICKS_PER_SECOND;
                Some((name.clone(), json!(round1(cpu / seconds * 100.0))))
            })
            .collect();
        let busy = now.machine.0.saturating_sub(self.machine.0) as f64;
        let total = now.machine.1.saturating_sub(self.machine.1) as f64;
        let known: u64 = now
            .processes
            .iter()
            .filter_map(|(name, ticks)| {
                let (_, before) = self.processes.iter().find(|(n, _)| n == name)?;
                Some(ticks.saturating_sub(*before))
            })
            .sum();
        // Everything else that ran meanwhile (other processes on a shared host, the kernel).
        let others = (busy - known as f64).max(0.0) / TICKS_PER_SECOND;
        json!({
            "cpu_pct_of_one_core": per_process,
            "others_pct_of_one_core": round1(others / seconds * 100.0),
            "machine_busy_pct": if total > 0.0 { round1(busy / total * 100.0) } else { f64::NAN },
        })
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn memory(pids: &[String]) -> serde_json::Value {
    pids.iter()
        .filter_map(|p| {
            let (name, pid) = p.split_once('=')?;
            let (rss, peak) = memory_mib(pid)?;
            Some((name.to_string(), json!({"rss": round1(rss), "peak": round1(peak)})))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Builds the benchmark's events: realistic `analysis.completed` bodies with a stamp.
struct Events {
    epoch: Instant,
    seq: u64,
}

impl Events {
    fn make(&mut self, n: usize, phase: u8) -> Vec<WebhookEvent> {
        let sent_us = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        let at = Utc::now();
        (0..n)
            .map(|_| {
                self.seq += 1;
                let seq = self.seq;
                let data = json!({
                    "analysis_id": format!("an_bench{seq:020}"), "repo": "acme/shop", "pr_number": seq % 10_000 + 1,
                    "base_sha": "abc1230000000000000000000000000000000000", "head_sha": format!("{seq:040x}"),
                    "status": "completed", "decision_id": format!("dc_bench{seq:020}"), "outcome": "warn",
                    "findings_total": 2,
                    "fired_rules": [{"rule": "sql-injection", "outcome": "warn", "reason": "1 finding at or above high"}],
                    "bench": {"phase": phase, "sent_us": sent_us, "seq": seq},
                });
                let payload = String::from_utf8_lossy(&message_body(EVENT, at, &data)).into_owned();
                WebhookEvent { message_id: MessageId::generate(), event_type: EVENT.as_str().to_string(), payload }
            })
            .collect()
    }
}

/// The benchmark's running parts.
struct Bench {
    args: WebhooksArgs,
    store: Arc<dyn Store>,
    tenant: TenantId,
    receiver: Arc<Receiver>,
    events: Events,
    /// The machine's busy share in the second before the first phase.
    busy_before: serde_json::Value,
    broker: Option<AmqpConnection>,
}

/// Where the deliveries of a phase wait, sampled every 250 ms: rows in the outbox (not yet
/// published) and ready messages in the RabbitMQ queue (published, not yet taken by the worker).
struct Sampler {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<serde_json::Value>,
}

impl Sampler {
    fn start(bench: &Bench, phase: u8) -> Self {
        let stop = CancellationToken::new();
        let (store, broker, receiver) = (Arc::clone(&bench.store), bench.broker.clone(), Arc::clone(&bench.receiver));
        let (progress, token) = (bench.args.progress, stop.clone());
        let task = tokio::spawn(async move {
            let mut outbox = Vec::new();
            let mut queue = Vec::new();
            let begin = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut n = 0u64;
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let o = store.outbox_depth(topics::WEBHOOK_DELIVERIES).await.ok();
                let q = match &broker {
                    Some(b) => b.queue_depth(topics::WEBHOOK_DELIVERIES).await.ok(),
                    None => None,
                };
                outbox.extend(o);
                queue.extend(q);
                n += 1;
                if progress && n.is_multiple_of(4) {
                    let delivered = receiver.counts[usize::from(phase)].load(Ordering::Relaxed);
                    eprintln!(
                        "# {:5.1} s  outbox {:>6}  queue {:>6}  delivered {delivered:>6}",
                        begin.elapsed().as_secs_f64(),
                        o.map_or("-".into(), |v| v.to_string()),
                        q.map_or("-".into(), |v| v.to_string()),
                    );
                }
            }
            let stats = |v: &[u64]| {
                if v.is_empty() {
                    return serde_json::Value::Null;
                }
                let mean = v.iter().sum::<u64>() as f64 / v.len() as f64;
                json!({"mean": round1(mean), "max": v.iter().max()})
            };
            json!({"outbox_rows": stats(&outbox), "queue_ready": stats(&queue)})
        });
        Self { stop, task }
    }

    async fn finish(self) -> serde_json::Value {
        self.stop.cancel();
        self.task.await.unwrap_or_default()
    }
}

/// What a phase found among the receipts of one phase tag.
struct Tally {
    delivered: usize,
    duplicates: usize,
    /// Event → first delivery, sorted.
    latencies: Vec<Duration>,
    /// The last first-time receipt (µs since the epoch).
    last_us: u64,
}

impl Bench {
    /// Wait until `expected` receipts of `phase` arrived, or none arrived for `--settle-seconds`.
    async fn settle(&self, phase: u8, expected: u64) {
        let counter = &self.receiver.counts[usize::from(phase)];
        let mut last = counter.load(Ordering::Relaxed);
        let mut quiet_since = Instant::now();
        loop {
            let now = counter.load(Ordering::Relaxed);
            if now >= expected {
                // Leave a moment for duplicates to show.
                tokio::time::sleep(Duration::from_millis(500)).await;
                return;
            }
            if now != last {
                last = now;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= Duration::from_secs(self.args.settle_seconds) {
                eprintln!(
                    "# phase {phase}: {now} of {expected} deliveries after {} s without progress; giving up",
                    self.args.settle_seconds
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn tally(&self, phase: u8) -> Tally {
        let receipts =
            std::mem::take(&mut *self.receiver.receipts[usize::from(phase)].lock().unwrap_or_else(|p| p.into_inner()));
        let mut seen = HashSet::with_capacity(receipts.len());
        let mut latencies = Vec::with_capacity(receipts.len());
        let mut last_us = 0;
        let mut duplicates = 0;
        for r in &receipts {
            if seen.insert((r.message_id.as_str(), r.endpoint)) {
                latencies.push(Duration::from_micros(r.received_us.saturating_sub(r.sent_us)));
                last_us = last_us.max(r.received_us);
            } else {
                duplicates += 1;
            }
        }
        latencies.sort();
        Tally { delivered: seen.len(), duplicates, latencies, last_us }
    }

    fn now_us(&self) -> u64 {
        self.receiver.now_us()
    }

    async fn outbox_left(&self) -> serde_json::Value {
        match self.store.outbox_depth(topics::WEBHOOK_DELIVERIES).await {
            Ok(n) => json!(n),
            Err(_) => serde_json::Value::Null,
        }
    }

    fn signatures(&self) -> serde_json::Value {
        let r = &self.receiver;
        json!({
            "verified": r.verified.swap(0, Ordering::Relaxed),
            "failed": r.bad_signatures.swap(0, Ordering::Relaxed),
            "malformed_requests": r.malformed.swap(0, Ordering::Relaxed),
        })
    }

    /// The backlog: emitted as fast as the database takes it, then drained.
    async fn drain(&mut self) -> anyhow::Result<()> {
        let endpoints = self.args.endpoints;
        let events = self.args.backlog.div_ceil(endpoints);
        let cpu = CpuSnapshot::take(&self.args.pids);
        let sampler = Sampler::start(self, DRAIN);
        let start_us = self.now_us();
        let mut queued = 0usize;
        let mut left = events;
        while left > 0 {
            let n = left.min(self.args.batch.max(1));
            let batch = self.events.make(n, DRAIN);
            queued += self.store.emit_events(&self.tenant, &batch, Utc::now()).await?;
            left -= n;
        }
        let emitted_us = self.now_us();
        if queued != events * endpoints {
            bail!("emit_events queued {queued} deliveries for {events} events × {endpoints} endpoints");
        }
        self.settle(DRAIN, queued as u64).await;
        let cpu = cpu.since(&self.args.pids);
        let waiting = sampler.finish().await;
        let t = self.tally(DRAIN);
        let seconds = t.last_us.saturating_sub(start_us) as f64 / 1e6;
        let result = json!({
            "label": self.args.label,
            "phase": "drain",
            "endpoints": endpoints,
            "events": events,
            "deliveries_expected": queued,
            "delivered": t.delivered,
            "missing": queued.saturating_sub(t.delivered),
            "duplicates": t.duplicates,
            "emit_seconds": round3((emitted_us - start_us) as f64 / 1e6),
            "seconds": round3(seconds),
            "deliveries_per_second": if seconds > 0.0 { round1(t.delivered as f64 / seconds) } else { 0.0 },
            "event_to_delivery_ms": {"p50": percentile(&t.latencies, 50.0), "p99": percentile(&t.latencies, 99.0),
                "max": percentile(&t.latencies, 100.0)},
            "waiting": waiting,
            "signatures": self.signatures(),
            "outbox_rows_left": self.outbox_left().await,
            "cpu": cpu,
            "machine_busy_pct_before": self.busy_before,
            "memory_mib": memory(&self.args.pids),
        });
        println!("{}", serde_json::to_string(&result)?);
        Ok(())
    }

    /// Events at a fixed rate; the deliveries of the measured window give the latencies.
    async fn steady(&mut self) -> anyhow::Result<()> {
        let endpoints = self.args.endpoints as f64;
        let events_per_second = self.args.rate as f64 / endpoints;
        let warmup = Duration::from_secs(self.args.warmup_seconds);
        let total = warmup + Duration::from_secs(self.args.duration_seconds);
        let mut tick = tokio::time::interval(Duration::from_millis(self.args.tick_ms.max(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let begin = Instant::now();
        let mut emitted_events = 0u64;
        let mut queued = 0u64;
        let mut emit_calls = Vec::new();
        let mut cpu = None;
        let mut sampler = None;
        let mut window_start_us = 0;
        loop {
            tick.tick().await;
            let elapsed = begin.elapsed();
            if elapsed >= total {
                break;
            }
            let phase = if elapsed < warmup { STEADY_WARMUP } else { STEADY };
            if phase == STEADY && cpu.is_none() {
                cpu = Some(CpuSnapshot::take(&self.args.pids));
                sampler = Some(Sampler::start(self, STEADY));
                window_start_us = self.now_us();
            }
            let due = (elapsed.as_secs_f64() * events_per_second) as u64;
            let n = due.saturating_sub(emitted_events);
            if n == 0 {
                continue;
            }
            let batch = self.events.make(usize::try_from(n)?, phase);
            let called = Instant::now();
            let q = self.store.emit_events(&self.tenant, &batch, Utc::now()).await?;
            if phase == STEADY {
                emit_calls.push(called.elapsed());
                queued += q as u64;
            }
            emitted_events = due;
        }
        let window_end_us = self.now_us();
        let window = window_end_us.saturating_sub(window_start_us) as f64 / 1e6;
        let delivered_in_window = self.receiver.counts[usize::from(STEADY)].load(Ordering::Relaxed);
        let cpu = cpu.unwrap_or_else(|| CpuSnapshot::take(&self.args.pids)).since(&self.args.pids);
        let waiting = match sampler {
            Some(s) => s.finish().await,
            None => serde_json::Value::Null,
        };
        self.settle(STEADY, queued).await;
        let t = self.tally(STEADY);
        let _ = self.tally(STEADY_WARMUP);
        emit_calls.sort();
        let result = json!({
            "label": self.args.label,
            "phase": "steady",
            "endpoints": self.args.endpoints,
            "target_deliveries_per_second": self.args.rate,
            "measured_seconds": round1(window),
            "deliveries_expected": queued,
            "delivered": t.delivered,
            "missing": (queued as usize).saturating_sub(t.delivered),
            "duplicates": t.duplicates,
            "emitted_per_second": round1(queued as f64 / window.max(1e-9)),
            // Receipts during the window (of events emitted in it) per second of the window.
            "delivered_per_second_in_window": round1(delivered_in_window as f64 / window.max(1e-9)),
            "drained_seconds_after_window": round3(t.last_us.saturating_sub(window_end_us) as f64 / 1e6),
            "event_to_delivery_ms": {"p50": percentile(&t.latencies, 50.0), "p95": percentile(&t.latencies, 95.0),
                "p99": percentile(&t.latencies, 99.0), "max": percentile(&t.latencies, 100.0)},
            "emit_call_ms": {"p50": percentile(&emit_calls, 50.0), "p99": percentile(&emit_calls, 99.0)},
            "waiting": waiting,
            "signatures": self.signatures(),
            "outbox_rows_left": self.outbox_left().await,
            "cpu": cpu,
            "machine_busy_pct_before": self.busy_before,
            "memory_mib": memory(&self.args.pids),
        });
        println!("{}", serde_json::to_string(&result)?);
        Ok(())
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Start the receiver; its address.
async fn start_receiver(receiver: Arc<Receiver>, shutdown: CancellationToken) -> anyhow::Result<SocketAddr> {
    let app = axum::Router::new().route("/hook/{endpoint}", post(receive)).with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the receiver")?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await;
        if let Err(e) = served {
            eprintln!("# the receiver stopped: {e}");
        }
    });
    Ok(addr)
}

/// Create the endpoints through the REST API; their signature verifiers.
async fn create_endpoints(args: &WebhooksArgs, receiver: SocketAddr) -> anyhow::Result<Vec<standardwebhooks::Webhook>> {
    let http = reqwest::Client::new();
    let ready = http.get(format!("{}/health/ready", args.api_url)).send().await.context("the API is not reachable")?;
    if !ready.status().is_success() {
        bail!("the API is not ready: {}", ready.text().await.unwrap_or_default());
    }
    let mut verifiers = Vec::with_capacity(args.endpoints);
    for i in 0..args.endpoints {
        let body = json!({"url": format!("http://{receiver}/hook/{i}"), "description": format!("bench {i}"),
            "event_types": [EVENT.as_str()]});
        let r = http
            .post(format!("{}/v1/webhooks/endpoints", args.api_url))
            .bearer_auth(&args.api_key)
            .json(&body)
            .send()
            .await
            .context("creating an endpoint")?;
        if r.status() != reqwest::StatusCode::CREATED {
            bail!("creating an endpoint: {} {}", r.status(), r.text().await.unwrap_or_default());
        }
        let created: CreatedEndpoint = r.json().await.context("reading the created endpoint")?;
        let verifier = standardwebhooks::Webhook::new(&created.secret)
            .map_err(|e| anyhow::anyhow!("the secret of {}: {e:?}", created.id))?;
        verifiers.push(verifier);
    }
    Ok(verifiers)
}

pub async fn webhooks(args: WebhooksArgs) -> anyhow::Result<()> {
    for phase in &args.phases {
        if !matches!(phase.as_str(), "drain" | "steady") {
            bail!("unknown phase {phase:?} (drain, steady)");
        }
    }
    if args.endpoints == 0 {
        bail!("--endpoints must be at least 1");
    }
    let tenant: TenantId = args.tenant.parse().map_err(|e| anyhow::anyhow!("--tenant: {e:?}"))?;
    let shutdown = CancellationToken::new();
    let epoch = Instant::now();
    let receiver = Arc::new(Receiver {
        epoch,
        receipts: Default::default(),
        counts: Default::default(),
        verifiers: OnceLock::new(),
        verify_every: args.verify_every,
        seen: AtomicU64::new(0),
        verified: AtomicU64::new(0),
        bad_signatures: AtomicU64::new(0),
        malformed: AtomicU64::new(0),
    });
    let addr = start_receiver(Arc::clone(&receiver), shutdown.clone()).await?;
    let store = provenance_store::connect(&args.database_url, Migrations::Require, &ConnectOptions::default())
        .await
        .context("opening the database")?;
    let verifiers = create_endpoints(&args, addr).await?;
    let _ = receiver.verifiers.set(verifiers);
    let ours = store
        .list_endpoints(&tenant)
        .await?
        .into_iter()
        .filter(|e| e.url.starts_with(&format!("http://{addr}/")))
        .count();
    if ours != args.endpoints {
        bail!(
            "tenant {tenant} has {ours} of the {} endpoints just created: pass the API key's --tenant",
            args.endpoints
        );
    }
    let broker = match &args.amqp_url {
        Some(url) => {
            let connection = AmqpConnection::start(
                AmqpSettings::new(url.as_str())
                    .with_connection_name("provenance-bench")
                    .with_topology(Topology::new(&args.amqp_prefix)),
            )
            .context("configuring RabbitMQ")?;
            connection.wait_ready(Duration::from_secs(30)).await.context("connecting to RabbitMQ")?;
            Some(connection)
        }
        None => None,
    };
    // How busy the machine is without load from us: on a shared host, the figures mean little
    // when this is high.
    let idle_check = CpuSnapshot::take(&[]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy_before = idle_check.since(&[])["machine_busy_pct"].clone();
    let mut bench = Bench { events: Events { epoch, seq: 0 }, args, store, tenant, receiver, busy_before, broker };
    let phases = bench.args.phases.clone();
    for phase in phases {
        match phase.as_str() {
            "drain" => bench.drain().await?,
            _ => bench.steady().await?,
        }
    }
    // Remove this run's endpoints, so the next run (REPEAT) starts from the same state.
    let ours = format!("http://{addr}/");
    for endpoint in bench.store.list_endpoints(&bench.tenant).await? {
        if endpoint.url.starts_with(&ours) {
            bench.store.delete_endpoint(&bench.tenant, &endpoint.id).await?;
        }
    }
    shutdown.cancel();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_benchmark_event_is_an_analysis_completed_body_with_its_stamp() {
        let mut events = Events { epoch: Instant::now(), seq: 0 };
        let made = events.make(3, STEADY);
        assert_eq!(made.len(), 3);
        let body: Body = serde_json::from_str(&made[2].payload).unwrap();
        assert_eq!(body.data.bench.phase, STEADY);
        let full: serde_json::Value = serde_json::from_str(&made[2].payload).unwrap();
        assert_eq!(full["type"], "analysis.completed");
        assert_eq!(full["data"]["bench"]["seq"], 3);
        assert_eq!(made[0].event_type, "analysis.completed");
        assert_ne!(made[0].message_id, made[1].message_id);
        assert!(made[0].payload.len() > 400, "about the size of a real completion body");
    }

    #[test]
    fn process_cpu_time_is_read_past_the_command_name() {
        assert!(process_ticks("self").is_some());
        let (busy, total) = machine_ticks();
        assert!(total >= busy && total > 0);
    }
}
