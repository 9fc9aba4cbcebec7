//! Webhook delivery (SPEC §6): consumes delivery jobs (`{message_id}:{endpoint_id}`) from a
//! [`JobQueue`] — the database outbox in embedded mode, RabbitMQ with its delay queues in
//! distributed mode — signs each attempt per Standard Webhooks, posts it through one pooled
//! client whose resolver refuses private addresses (checked on the address it connects to),
//! records the attempt, and schedules the next one through the queue: nothing waits in memory.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use provenance_core::webhooks::events::{endpoint_disabled_message, exhausted_message};
use provenance_core::webhooks::ssrf::AllowList;
use provenance_core::webhooks::{
    AttemptOutcome, MAX_RESPONSE_BYTES, RetrySchedule, WebhookSecret, classify, next_delay, should_disable,
    sign_headers, truncate_response,
};
use provenance_core::{MessageId, WebhookEndpointId};
use provenance_store::queue::{Delivery, JobQueue};
use provenance_store::trace_context;
use provenance_store::{AttemptEffect, DeliveryClaim, DeliveryStatus, DeliveryTarget, Store, WebhookAttemptRecord};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// A receiver has this long to answer (SPEC §6).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// How the deliverer runs.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Deliveries in flight at once, across endpoints.
    pub concurrency: usize,
    /// Hosts and networks exempt from the SSRF guard (`PROVENANCE_WEBHOOK_ALLOW_HOSTS`).
    pub allow: AllowList,
    /// Each receiver's time to answer.
    pub timeout: Duration,
    /// Deliveries in flight at once to one endpoint; the endpoint's further jobs wait in the
    /// queue (retried shortly, without counting as an attempt).
    pub per_endpoint: usize,
}

/// The deliverer's settings from the service settings.
pub fn delivery_settings(settings: &provenance_store::config::Settings) -> anyhow::Result<DeliverySettings> {
    let allow = AllowList::parse(&settings.webhook_allow_hosts)
        .map_err(|why| anyhow::anyhow!("PROVENANCE_WEBHOOK_ALLOW_HOSTS: {why}"))?;
    Ok(DeliverySettings {
        concurrency: settings.webhooks.concurrency.max(1),
        per_endpoint: settings.webhooks.per_endpoint_concurrency.max(1),
        allow,
        timeout: ATTEMPT_TIMEOUT,
    })
}

/// How long a delivery waits for a slot of its endpoint before going back to the queue.
const ENDPOINT_SLOT_WAIT: Duration = Duration::from_secs(2);

/// How far a delivery job may run ahead of its due time (clocks of different hosts).
const DUE_TOLERANCE: Duration = Duration::from_secs(1);

pub struct Deliverer {
    store: Arc<dyn Store>,
    queue: Arc<dyn JobQueue>,
    client: reqwest::Client,
    allow: Arc<AllowList>,
    permits: Arc<Semaphore>,
    endpoints: EndpointLimits,
    /// How long an attempt holds its delivery (longer than any attempt can take).
    claim: Duration,
}

impl Deliverer {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn JobQueue>, settings: DeliverySettings) -> anyhow::Result<Self> {
        let allow = Arc::new(settings.allow);
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            // A redirect is a failed attempt (SPEC §6), never followed.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Provenance-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver { allow: Arc::clone(&allow) }))
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(Self {
            store,
            queue,
            client,
            allow,
            permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            endpoints: EndpointLimits::new(settings.per_endpoint),
            claim: settings.timeout + Duration::from_secs(5),
        })
    }

    /// Deliver until `shutdown`; attempts in flight finish (each is bounded by the timeout).
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let mut in_flight = JoinSet::new();
        loop {
            let permit = tokio::select! {
                () = shutdown.cancelled() => break,
                p = Arc::clone(&this.permits).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            let delivery = tokio::select! {
                () = shutdown.cancelled() => break,
                d = this.queue.receive() => d,
            };
            match delivery {
                Ok(delivery) => {
                    let this = Arc::clone(&this);
                    metrics::gauge!("provenance_webhook_deliveries_in_flight").increment(1.0);
                    let span = tracing::info_span!(
                        "webhook.delivery",
                        key = %delivery.key,
                        attempt = delivery.attempts,
                        trace_id = tracing::field::Empty,
                    );
                    let span = crate::consumer::job_span(span, &delivery);
                    in_flight.spawn(async move {
                        this.handle(delivery).instrument(span).await;
                        drop(permit);
                        metrics::gauge!("provenance_webhook_deliveries_in_flight").decrement(1.0);
                    });
                }
                Err(e) => {
                    tracing::error!(error = %e, "receiving a webhook delivery failed; retrying shortly");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            while in_flight.try_join_next().is_some() {}
        }
        while in_flight.join_next().await.is_some() {}
    }

    async fn handle(&self, delivery: Delivery) {
        // The payload names the delivery (the key may carry a replay suffix).
        let result = match parse_target(&delivery.payload) {
            Some((message, endpoint)) => self.attempt(&delivery, &message, &endpoint).await,
            None => {
                tracing::error!(key = %delivery.key, "a webhook delivery job with a malformed payload; dropped");
                self.queue.ack(&delivery).await.map_err(anyhow::Error::from)
            }
        };
        if let Err(e) = result {
            // The attempt could not be recorded (database down): try again shortly; the
            // receiver may see the message twice, with the same `webhook-id`.
            tracing::warn!(key = %delivery.key, error = %e, "webhook delivery step failed; retrying");
            if let Err(e) = self.queue.retry(&delivery, Duration::from_secs(5), &e.to_string()).await {
                tracing::error!(key = %delivery.key, error = %e, "could not reschedule a webhook delivery");
            }
        }
    }

    async fn attempt(
        &self,
        delivery: &Delivery,
        message: &MessageId,
        endpoint: &WebhookEndpointId,
    ) -> anyhow::Result<()> {
        // One endpoint gets at most `per_endpoint` deliveries at once. A job waits a moment for
        // a slot, then goes back to the queue for a while, so one slow receiver cannot hold
        // every slot of the process.
        let Some(_slot) = self.endpoints.acquire(endpoint, ENDPOINT_SLOT_WAIT).await else {
            metrics::counter!("provenance_webhook_deferred_total", "reason" => "endpoint_busy").increment(1);
            let wait = Duration::from_millis(200 + rand::random::<u64>() % 800);
            return Ok(self.queue.retry(delivery, wait, "the endpoint has its deliveries in flight").await?);
        };
        let now = Utc::now();
        let claim = self
            .store
            .claim_delivery(message, endpoint, now, now + to_chrono(DUE_TOLERANCE), now + to_chrono(self.claim))
            .await?;
        let target = match claim {
            DeliveryClaim::Claimed(target) => target,
            // Gone (the endpoint or message was deleted) or settled: nothing to send.
            DeliveryClaim::Gone | DeliveryClaim::Settled(_) => return Ok(self.queue.ack(delivery).await?),
            // A second copy of the job (a redelivery after a crash, the retry pump): come back
            // when the other attempt is over, or when the delivery is due.
            DeliveryClaim::Busy { until: at } | DeliveryClaim::NotDue { at } => {
                metrics::counter!("provenance_webhook_deferred_total", "reason" => "not_due").increment(1);
                let wait = (at - now).to_std().unwrap_or_default().max(Duration::from_secs(1));
                return Ok(self.queue.retry(delivery, wait, "another attempt holds the delivery").await?);
            }
        };
        if !target.endpoint.enabled {
            let skipped = AttemptEffect {
                status: DeliveryStatus::Skipped,
                next_attempt_at: None,
                endpoint_succeeded: false,
                disable_endpoint: None,
                events: Vec::new(),
            };
            self.store.record_attempt(&refused(&target, "the endpoint is disabled"), &skipped).await?;
            return Ok(self.queue.ack(delivery).await?);
        }

        let now = Utc::now();
        let number = target.attempts + 1;
        let sent = Instant::now();
        let answer = self.post(&target, now).await;
        let latency_ms = u64::try_from(sent.elapsed().as_millis()).unwrap_or(u64::MAX);
        let target = *target;
        let (status_code, retry_after, response, error) = match answer {
            Ok(a) => (Some(a.status), a.retry_after, Some(a.body), None),
            Err(e) => (None, None, None, Some(e)),
        };
        let outcome = classify(status_code, retry_after.as_deref(), now);
        let schedule = target
            .endpoint
            .retry_schedule
            .as_deref()
            .and_then(|s| RetrySchedule::parse_seconds(s).ok())
            .unwrap_or_default();
        let delay = next_delay(&schedule, number, &outcome, rand::random::<f64>());
        let succeeded = outcome == AttemptOutcome::Delivered;
        let failing_since = if succeeded { None } else { target.endpoint.failing_since.or(Some(now)) };
        let mut effect = AttemptEffect {
            status: match (&outcome, delay) {
                (AttemptOutcome::Delivered, _) => DeliveryStatus::Delivered,
                (AttemptOutcome::Gone, _) => DeliveryStatus::Failed,
                (_, Some(_)) => DeliveryStatus::Pending,
                (_, None) => DeliveryStatus::Exhausted,
            },
            next_attempt_at: delay.and_then(|d| chrono::Duration::from_std(d).ok()).map(|d| now + d),
            endpoint_succeeded: succeeded,
            disable_endpoint: match outcome {
                AttemptOutcome::Gone => Some("the endpoint answered 410 Gone".into()),
                _ if should_disable(failing_since, now) => Some("the endpoint failed for 5 days".into()),
                _ => None,
            },
            events: Vec::new(),
        };
        // Announced to the tenant's other endpoints that subscribe (the disabled one gets none).
        if let Some(reason) = &effect.disable_endpoint {
            let e = &target.endpoint;
            effect.events.push(endpoint_disabled_message(e.id.as_str(), &e.url, reason, now).into());
        }
        if effect.status == DeliveryStatus::Exhausted {
            let (m, e) = (target.message_id.as_str(), target.endpoint.id.as_str());
            effect.events.push(exhausted_message(m, e, &target.event_type, number, now).into());
        }
        let record = WebhookAttemptRecord {
            id: 0,
            message_id: target.message_id.clone(),
            endpoint_id: target.endpoint.id.clone(),
            attempt: number,
            attempted_at: now,
            status_code,
            latency_ms,
            outcome: outcome_name(&outcome, error.as_deref()).into(),
            response,
            error: error.clone(),
        };
        self.store.record_attempt(&record, &effect).await?;
        metrics::counter!("provenance_webhook_attempts_total", "result" => record.outcome.clone()).increment(1);
        metrics::histogram!("provenance_webhook_attempt_duration_seconds").record(latency_ms as f64 / 1000.0);
        if effect.status == DeliveryStatus::Delivered {
            // From the event to its delivery, retries included.
            let seconds = (Utc::now() - target.created_at).num_milliseconds() as f64 / 1000.0;
            metrics::histogram!("provenance_webhook_event_to_delivery_seconds").record(seconds.max(0.0));
        }
        if effect.disable_endpoint.is_some() {
            metrics::counter!("provenance_webhook_endpoints_disabled_total", "reason" => outcome_name(&outcome, None))
                .increment(1);
        }
        match (effect.status, delay) {
            (DeliveryStatus::Pending, Some(delay)) => {
                let why = error.unwrap_or_else(|| format!("HTTP {}", status_code.unwrap_or_default()));
                self.queue.retry(delivery, delay, &why).await?;
            }
            (DeliveryStatus::Exhausted, _) => {
                tracing::warn!(message = %target.message_id, endpoint = %target.endpoint.id, attempts = number,
                    "webhook delivery exhausted its retry schedule");
                metrics::counter!("provenance_webhook_exhausted_total").increment(1);
                self.queue.dead_letter(delivery, "message.attempt.exhausted").await?;
            }
            _ => self.queue.ack(delivery).await?,
        }
        Ok(())
    }

    /// One signed POST; `Err` when no HTTP answer came (refused, timeout, connection error).
    async fn post(&self, target: &DeliveryTarget, now: DateTime<Utc>) -> Result<Answer, String> {
        let url = reqwest::Url::parse(&target.endpoint.url).map_err(|e| format!("invalid endpoint URL: {e}"))?;
        // A literal IP never reaches the resolver: check it here.
        if let Some(host) = url.host_str() {
            let literal = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = literal.parse::<IpAddr>() {
                provenance_core::webhooks::ssrf::check(host, ip, &self.allow).map_err(|e| format!("{REFUSED}: {e}"))?;
            }
        }
        let mut secrets = Vec::with_capacity(2);
        secrets.push(WebhookSecret::parse(&target.endpoint.secret).map_err(|e| format!("endpoint secret: {e}"))?);
        if let (Some(previous), Some(until)) =
            (&target.endpoint.previous_secret, target.endpoint.previous_secret_expires_at)
            && until > now
            && let Ok(previous) = WebhookSecret::parse(previous)
        {
            secrets.push(previous);
        }
        let body = target.payload.as_bytes();
        let signed =
            sign_headers(target.message_id.as_str(), now.timestamp(), body, &secrets.iter().collect::<Vec<_>>(), None);
        let mut request = self.client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in &target.endpoint.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        for (name, value) in signed.pairs() {
            request = request.header(name, value);
        }
        // The receiver may continue our trace (unknown headers are ignored by Standard Webhooks
        // receivers); it names this delivery's span.
        let mut trace = reqwest::header::HeaderMap::new();
        trace_context::inject_headers(&tracing::Span::current(), &mut trace);
        request = request.headers(trace);
        let response = request.body(target.payload.clone()).send().await.map_err(describe)?;
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = read_at_most(response, MAX_RESPONSE_BYTES).await;
        Ok(Answer { status, retry_after, body: truncate_response(&bytes, MAX_RESPONSE_BYTES) })
    }
}

struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

/// The first `max` bytes of a response body (the rest is not read).
async fn read_at_most(mut response: reqwest::Response, max: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < max {
        match response.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk),
            _ => break,
        }
    }
    out.truncate(max);
    out
}

/// A transport error in words, with the SSRF guard's refusal kept whole.
fn describe(e: reqwest::Error) -> String {
    use std::error::Error as _;
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    if e.is_timeout() { format!("timed out after {}s: {message}", ATTEMPT_TIMEOUT.as_secs()) } else { message }
}

fn outcome_name(outcome: &AttemptOutcome, error: Option<&str>) -> &'static str {
    match outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::Gone => "gone",
        AttemptOutcome::RetryAfter(_) => "retry_after",
        AttemptOutcome::Failed if error.is_some_and(|e| e.contains(REFUSED)) => "refused",
        AttemptOutcome::Failed => "failed",
    }
}

/// An attempt that was not made.
fn refused(target: &DeliveryTarget, why: &str) -> WebhookAttemptRecord {
    WebhookAttemptRecord {
        id: 0,
        message_id: target.message_id.clone(),
        endpoint_id: target.endpoint.id.clone(),
        attempt: target.attempts + 1,
        attempted_at: Utc::now(),
        status_code: None,
        latency_ms: 0,
        outcome: "skipped".into(),
        response: None,
        error: Some(why.into()),
    }
}

fn parse_target(payload: &[u8]) -> Option<(MessageId, WebhookEndpointId)> {
    let (message, endpoint) = std::str::from_utf8(payload).ok()?.split_once(':')?;
    Some((message.parse().ok()?, endpoint.parse().ok()?))
}

/// Marks the SSRF guard's refusals in transport errors.
const REFUSED: &str = "refused by the SSRF guard";

/// Resolves names and keeps only addresses the SSRF guard allows: the client connects to what
/// this returns, so a name that resolves (or re-resolves) to a private address is refused at
/// connect time.
struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = Arc::clone(&self.allow);
        Box::pin(async move {
            let host = name.as_str().to_string();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refusals = Vec::new();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match provenance_core::webhooks::ssrf::check(&host, addr.ip(), &allow) {
                    Ok(()) => true,
                    Err(why) => {
                        refusals.push(why.to_string());
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refusals.first().cloned().unwrap_or_else(|| format!("{host} has no address"));
                return Err(format!("{REFUSED}: {why}").into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Per-endpoint limits on deliveries in flight: a semaphore per endpoint, made on first use and
/// dropped when idle.
struct EndpointLimits {
    per_endpoint: usize,
    slots: std::sync::Mutex<std::collections::HashMap<WebhookEndpointId, Arc<Semaphore>>>,
}

impl EndpointLimits {
    fn new(per_endpoint: usize) -> Self {
        Self { per_endpoint: per_endpoint.max(1), slots: std::sync::Mutex::default() }
    }

    /// A slot for one delivery to `endpoint`, waiting at most `wait` for one; `None` when its
    /// deliveries in flight stayed at the limit.
    async fn acquire(&self, endpoint: &WebhookEndpointId, wait: Duration) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let semaphore = {
            let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if slots.len() > 4096 {
                // Forget idle endpoints (all permits back) so the map does not grow without bound.
                let full = self.per_endpoint;
                slots.retain(|_, s| s.available_permits() < full);
            }
            Arc::clone(slots.entry(endpoint.clone()).or_insert_with(|| Arc::new(Semaphore::new(self.per_endpoint))))
        };
        match Arc::clone(&semaphore).try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => tokio::time::timeout(wait, semaphore.acquire_owned()).await.ok()?.ok(),
        }
    }
}
