//! The repository interface. SQLite implements it for embedded mode, Postgres for distributed
//! mode; the domain code never knows which one it talks to. Every read that serves an API call
//! is scoped by tenant: another tenant's id reads as `None` (a 404), never as a 403.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::access::{Scope, Tier};
use provenance_core::decision::Decision;
use provenance_core::identity::AgentIdentity;
use provenance_core::policy::Policy;
use provenance_core::suppression::FingerprintSuppression;
use provenance_core::{
    AgentId, AgentKeyId, Analysis, AnalysisError, AnalysisId, AnalysisStatus, ApiKeyId, ChangedLine, FileContent,
    Finding, FindingId, MessageId, NewAnalysis, OverrideId, RepoName, SuppressionId, TenantId, WebhookEndpointId,
};
use std::collections::BTreeMap;

use crate::error::StoreResult;
use crate::outbox::{OutboxMessage, OutboxRow};
use crate::page::{Page, PageRequest};

/// The whole store: every repository, one object.
pub trait Store:
    AnalysisRepository
    + PipelineRepository
    + OutboxRepository
    + AccessRepository
    + AgentKeyRepository
    + GovernanceRepository
    + WebhookRepository
    + SchedulerRepository
    + MaintenanceRepository
    + Send
    + Sync
{
}
impl<T> Store for T where
    T: AnalysisRepository
        + PipelineRepository
        + OutboxRepository
        + AccessRepository
        + AgentKeyRepository
        + GovernanceRepository
        + WebhookRepository
        + SchedulerRepository
        + MaintenanceRepository
        + Send
        + Sync
{
}

/// An `Idempotency-Key` header and the digest of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub key: String,
    pub request_sha256: String,
}

/// What became of a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Stored with its job; answer 202.
    Created(Analysis),
    /// The same `(tenant, repo, pr, head_sha, inputs_sha256)` already exists; answer 200 with it.
    Deduplicated(Analysis),
    /// The same `Idempotency-Key` was seen within 24 h with the same request; answer as the
    /// first time (202 with that analysis).
    Replayed(Analysis),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalysisFilter {
    pub repo: Option<RepoName>,
    pub pr_number: Option<u64>,
    pub status: Option<AnalysisStatus>,
}

#[async_trait]
pub trait AnalysisRepository {
    /// In one transaction: honour the idempotency key (same key + same request → `Replayed`, same
    /// key + other request → `StoreError::IdempotencyMismatch`; keys older than 24 h are
    /// forgotten), de-duplicate on `(tenant, repo, pr_number, head_sha, inputs_sha256)`, else
    /// insert the analysis (status `queued`), its lines and files, the idempotency key, and the
    /// outbox `job`, then wake the embedded queue after commit.
    async fn submit_analysis(
        &self,
        new: &NewAnalysis,
        idempotency: Option<&IdempotencyKey>,
        job: &OutboxMessage,
    ) -> StoreResult<Submitted>;

    async fn get_analysis(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<Analysis>>;

    /// Newest first.
    async fn list_analyses(
        &self,
        tenant: &TenantId,
        filter: &AnalysisFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Analysis>>;

    /// The analysis' changed lines with their resolved attribution, in submission order.
    /// `None` when the analysis is not the tenant's.
    async fn list_lines(
        &self,
        tenant: &TenantId,
        id: &AnalysisId,
        page: &PageRequest,
    ) -> StoreResult<Option<Page<ChangedLine>>>;

    /// Findings in the order the worker stored them (file, line). `None` when the analysis is not the tenant's.
    async fn list_findings(
        &self,
        tenant: &TenantId,
        id: &AnalysisId,
        page: &PageRequest,
    ) -> StoreResult<Option<Page<Finding>>>;

    async fn get_decision(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<Decision>>;

    /// The analysis and, once it is completed, its decision, as one snapshot. The default makes
    /// the two calls; a store may read both in one round trip.
    async fn get_analysis_with_decision(
        &self,
        tenant: &TenantId,
        id: &AnalysisId,
    ) -> StoreResult<Option<(Analysis, Option<Decision>)>> {
        let Some(analysis) = self.get_analysis(tenant, id).await? else { return Ok(None) };
        let decision = match analysis.status {
            AnalysisStatus::Completed => self.get_decision(tenant, id).await?,
            _ => None,
        };
        Ok(Some((analysis, decision)))
    }

    /// The DSSE envelope (JSON) over the decision statement.
    async fn get_bundle(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<serde_json::Value>>;

    /// The SARIF 2.1.0 log (JSON).
    async fn get_sarif(&self, tenant: &TenantId, id: &AnalysisId) -> StoreResult<Option<serde_json::Value>>;

    /// Number of analyses per status (for metrics).
    async fn count_by_status(&self) -> StoreResult<Vec<(AnalysisStatus, u64)>>;

    /// Ids of analyses that become `completed` or `failed` from now on — committed by any process
    /// (Postgres `LISTEN/NOTIFY`) or by this one (SQLite). Best effort: an id can be missed (a
    /// listener reconnecting, a lagging receiver), so a waiter re-reads the analysis when it
    /// wakes or times out.
    fn settled_analyses(&self) -> tokio::sync::broadcast::Receiver<AnalysisId>;
}

/// What the worker needs to process one analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInput {
    pub analysis: Analysis,
    pub lines: Vec<ChangedLine>,
    pub files: Vec<FileContent>,
}

/// The analysis as `mark_running(at)` leaves it stored (times at the stores' millisecond
/// precision).
pub(crate) fn mark_started(analysis: &mut Analysis, at: DateTime<Utc>) {
    let at = chrono::SubsecRound::trunc_subsecs(at, 3);
    analysis.status = AnalysisStatus::Running;
    analysis.started_at = Some(at);
    analysis.updated_at = at;
}

/// What [`PipelineRepository::start_job`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum JobStart {
    /// No such analysis (deleted since the job was queued).
    Missing,
    /// Already completed or failed: nothing to run (a redelivered job).
    Settled,
    /// Now `running`; the input to run it on.
    Started(Box<JobInput>),
}

/// What the worker commits for one analysis, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisResult {
    pub analysis_id: AnalysisId,
    /// The analysis' lines with resolved attribution (same order and count as loaded).
    pub lines: Vec<ChangedLine>,
    pub findings: Vec<Finding>,
    pub decision: Decision,
    pub bundle: serde_json::Value,
    pub sarif: serde_json::Value,
    pub completed_at: DateTime<Utc>,
    /// Webhook events of the completion (`analysis.completed`, `decision.<outcome>`), queued for
    /// the tenant's subscribed endpoints in the same transaction.
    pub events: Vec<WebhookEvent>,
}

#[async_trait]
pub trait PipelineRepository {
    /// Everything stored for the analysis (not tenant-scoped: the worker acts for every tenant).
    async fn load_job_input(&self, id: &AnalysisId) -> StoreResult<Option<JobInput>>;

    /// `queued|running → running` (a redelivered job may restart a `running` one), setting
    /// `heartbeat_at = at`. Returns `false` when the analysis is already terminal (or missing), so
    /// the job is skipped.
    async fn mark_running(&self, id: &AnalysisId, at: DateTime<Utc>) -> StoreResult<bool>;

    /// A worker takes up the analysis' job: [`mark_running`](Self::mark_running), and the input
    /// to run it on. The default makes the two calls; a store may do both in one round trip.
    async fn start_job(&self, id: &AnalysisId, at: DateTime<Utc>) -> StoreResult<JobStart> {
        let Some(mut input) = self.load_job_input(id).await? else { return Ok(JobStart::Missing) };
        if input.analysis.status.is_terminal() || !self.mark_running(id, at).await? {
            return Ok(JobStart::Settled);
        }
        mark_started(&mut input.analysis, at);
        Ok(JobStart::Started(Box::new(input)))
    }

    /// A running job is still alive: set `heartbeat_at = at` (no-op unless `running`).
    async fn heartbeat(&self, id: &AnalysisId, at: DateTime<Utc>) -> StoreResult<()>;

    /// Stale-job recovery (SPEC §9): every analysis `running` with `heartbeat_at < stale_before`
    /// (at most `limit`) goes back to `queued` and gets a fresh outbox job built by `job`, each in
    /// its own transaction. Returns the requeued ids.
    async fn requeue_stale(
        &self,
        stale_before: DateTime<Utc>,
        limit: u32,
        job: &(dyn for<'a> Fn(&'a AnalysisId, &'a TenantId) -> OutboxMessage + Send + Sync),
    ) -> StoreResult<Vec<AnalysisId>>;

    /// Store attributions, findings, decision, bundle and SARIF and set `completed`, in one
    /// transaction. A second call for an already-terminal analysis changes nothing (idempotent).
    async fn complete_analysis(&self, result: &AnalysisResult) -> StoreResult<()>;

    /// Set `failed` with the error, and queue its webhook `events` in the same transaction (no-op
    /// when already terminal).
    async fn fail_analysis(
        &self,
        id: &AnalysisId,
        error: &AnalysisError,
        at: DateTime<Utc>,
        events: &[WebhookEvent],
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait OutboxRepository {
    /// Claim the oldest available row of `topic`: unclaimed or with an expired lease, and due.
    /// Sets a lease of `lease` and increments `attempts`.
    async fn claim_outbox(&self, topic: &str, lease: Duration) -> StoreResult<Option<OutboxRow>>;

    /// Claim up to `limit` available rows of `topic` at once, oldest first, each as
    /// [`claim_outbox`](Self::claim_outbox) would. The default claims them one by one.
    async fn claim_outbox_batch(&self, topic: &str, lease: Duration, limit: u32) -> StoreResult<Vec<OutboxRow>> {
        let mut rows = Vec::new();
        while rows.len() < limit as usize
            && let Some(row) = self.claim_outbox(topic, lease).await?
        {
            rows.push(row);
        }
        Ok(rows)
    }

    /// Keep a claimed row leased while its job runs.
    async fn extend_lease(&self, id: i64, lease: Duration) -> StoreResult<()>;

    /// The row's message is done with (processed, or confirmed by the broker): delete it.
    async fn complete_outbox(&self, id: i64) -> StoreResult<()>;

    /// [`complete_outbox`](Self::complete_outbox) for several rows. The default deletes them
    /// one by one.
    async fn complete_outbox_batch(&self, ids: &[i64]) -> StoreResult<()> {
        for id in ids {
            self.complete_outbox(*id).await?;
        }
        Ok(())
    }

    /// Release the claim and make the row due again at `at`, recording the error.
    async fn retry_outbox(&self, id: i64, at: DateTime<Utc>, error: &str) -> StoreResult<()>;

    /// Rows of `topic` not yet completed (for metrics and readiness).
    async fn outbox_depth(&self, topic: &str) -> StoreResult<u64>;

    /// Resolves when a row may have become available (notified on commit). Callers also poll, so
    /// a missed notification only delays, never loses, a job.
    async fn outbox_notified(&self);
}

/// A stored API key (the secret only as its sha256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub secret_sha256: String,
    pub scopes: Vec<Scope>,
    pub tier: Tier,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait AccessRepository {
    /// Create the tenant if it does not exist.
    async fn ensure_tenant(&self, id: &TenantId, name: &str) -> StoreResult<()>;
    async fn insert_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()>;
    async fn find_api_key(&self, id: &ApiKeyId) -> StoreResult<Option<ApiKeyRecord>>;
    async fn touch_api_key(&self, id: &ApiKeyId, at: DateTime<Utc>) -> StoreResult<()>;
    async fn list_api_keys(&self, tenant: &TenantId) -> StoreResult<Vec<ApiKeyRecord>>;
    /// `false` when there is no such key for the tenant.
    async fn revoke_api_key(&self, tenant: &TenantId, id: &ApiKeyId, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Whether the database answers (readiness).
    async fn ping(&self) -> StoreResult<()>;
}

/// A public key registered for an agent, to verify the line attestations it signs (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentKeyRecord {
    pub id: AgentKeyId,
    pub tenant_id: TenantId,
    pub agent_id: AgentId,
    /// Base64 of the raw 32-byte Ed25519 key.
    pub public_key: String,
    /// Lower-case hex sha256 of the raw key.
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The agent registry of a tenant: attestation keys and the tenant's own agent identities.
#[async_trait]
pub trait AgentKeyRepository {
    /// Create or replace the tenant's identity for `identity.agent_id`.
    async fn put_agent_identity(
        &self,
        tenant: &TenantId,
        identity: &AgentIdentity,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The tenant's identities, by agent id.
    async fn list_agent_identities(&self, tenant: &TenantId) -> StoreResult<Vec<AgentIdentity>>;
    /// `false` when the tenant has none for `agent`.
    async fn delete_agent_identity(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool>;

    /// `false` (and nothing written) when the same key is already active for the tenant.
    async fn insert_agent_key(&self, key: &AgentKeyRecord) -> StoreResult<bool>;
    /// The tenant's keys, revoked ones too, oldest first; only `agent`'s when given.
    async fn list_agent_keys(&self, tenant: &TenantId, agent: Option<&AgentId>) -> StoreResult<Vec<AgentKeyRecord>>;
    /// `false` when the tenant has no such key for that agent. Revoking twice keeps the first time.
    async fn revoke_agent_key(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        id: &AgentKeyId,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// One stored version of a tenant's policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRecord {
    /// The parsed policy, with its id and the version the store gave it.
    pub policy: Policy,
    /// The document as submitted (YAML or JSON), comments and all.
    pub source: String,
    pub created_at: DateTime<Utc>,
    /// The API key that stored it.
    pub created_by: String,
}

/// A signed override of an analysis' `block` decision.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideRecord {
    pub id: OverrideId,
    pub analysis_id: AnalysisId,
    pub reason: String,
    pub overridden_by: String,
    pub created_at: DateTime<Utc>,
    /// The DSSE envelope of the override statement.
    pub bundle: serde_json::Value,
}

/// Policies, suppressions and overrides of a tenant (SPEC §5).
#[async_trait]
pub trait GovernanceRepository {
    /// Store `policy` as the next version of the tenant's policy `policy.id` (1 for a new id, one
    /// more than the last stored version otherwise, whatever `policy.version` says) and make it
    /// the active one. Concurrent puts of the same id get distinct versions.
    async fn put_policy(
        &self,
        tenant: &TenantId,
        policy: &Policy,
        source: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<PolicyRecord>;
    /// The tenant's active policies, by id.
    async fn list_policies(&self, tenant: &TenantId) -> StoreResult<Vec<PolicyRecord>>;
    /// The active version of a policy, or a given stored version (also of a deleted policy).
    async fn get_policy(
        &self,
        tenant: &TenantId,
        policy_id: &str,
        version: Option<u32>,
    ) -> StoreResult<Option<PolicyRecord>>;
    /// Deactivate a policy (its versions stay readable); `false` when it is not active.
    async fn delete_policy(&self, tenant: &TenantId, policy_id: &str) -> StoreResult<bool>;

    /// A finding of one of the tenant's analyses, with that analysis' id.
    async fn get_finding(&self, tenant: &TenantId, id: &FindingId) -> StoreResult<Option<(AnalysisId, Finding)>>;
    /// Record a suppression, with its webhook `events` queued in the same transaction. An
    /// unrevoked one for the same fingerprint that has expired by `suppression.created_at` is
    /// revoked first; one still in force is returned instead, and nothing is written.
    async fn insert_suppression(
        &self,
        tenant: &TenantId,
        suppression: &FingerprintSuppression,
        events: &[WebhookEvent],
    ) -> StoreResult<Option<FingerprintSuppression>>;
    /// The tenant's suppressions, newest first; revoked ones only when asked.
    async fn list_suppressions(
        &self,
        tenant: &TenantId,
        include_revoked: bool,
        page: &PageRequest,
    ) -> StoreResult<Page<FingerprintSuppression>>;
    /// Un-suppress; `false` when the tenant has no such unrevoked suppression.
    async fn revoke_suppression(
        &self,
        tenant: &TenantId,
        id: &SuppressionId,
        by: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// The suppressions in force at `at` for any of `fingerprints`.
    async fn active_suppressions(
        &self,
        tenant: &TenantId,
        fingerprints: &[&str],
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<FingerprintSuppression>>;

    /// `false` (and nothing written) when the analysis already has an override.
    async fn insert_override(&self, record: &OverrideRecord) -> StoreResult<bool>;
    /// The override of one of the tenant's analyses.
    async fn get_override(&self, tenant: &TenantId, analysis: &AnalysisId) -> StoreResult<Option<OverrideRecord>>;
}

/// A tenant's webhook endpoint (SPEC §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpointRecord {
    pub id: WebhookEndpointId,
    pub tenant_id: TenantId,
    pub url: String,
    pub description: String,
    /// Event types it receives; empty = every event.
    pub event_types: Vec<String>,
    /// Custom headers sent with every delivery.
    pub headers: BTreeMap<String, String>,
    pub enabled: bool,
    /// `whsec_…`.
    pub secret: String,
    /// The secret before the last rotation, also signed with until `previous_secret_expires_at`.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Delays in seconds after each failed attempt; `None` = the default schedule.
    pub retry_schedule: Option<Vec<u64>>,
    pub disabled_reason: Option<String>,
    /// First failure since the last success.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An event to turn into a message for every enabled endpoint that subscribes to its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    pub message_id: MessageId,
    pub event_type: String,
    /// The exact body every attempt sends (`{type, timestamp, data}`).
    pub payload: String,
}

impl From<provenance_core::webhooks::events::EventMessage> for WebhookEvent {
    fn from(m: provenance_core::webhooks::events::EventMessage) -> Self {
        Self { message_id: MessageId::generate(), event_type: m.event.as_str().to_string(), payload: m.body }
    }
}

/// Which deliveries to replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayFilter {
    pub message: Option<MessageId>,
    pub endpoint: Option<WebhookEndpointId>,
    /// Only messages created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only deliveries that failed or were exhausted (not delivered or skipped ones).
    pub only_failed: bool,
}

/// A message and its deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub id: MessageId,
    pub event_type: String,
    pub payload: String,
    pub created_at: DateTime<Utc>,
    /// (endpoint, status, attempts), by endpoint id.
    pub deliveries: Vec<(WebhookEndpointId, DeliveryStatus, u32)>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// The endpoint refused it for good (410) or was disabled.
    Failed,
    /// Every attempt of the schedule failed (dead-lettered).
    Exhausted,
    /// Not attempted: the endpoint was disabled or deleted meanwhile.
    Skipped,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Exhausted => "exhausted",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed, Self::Exhausted, Self::Skipped]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A delivery the worker is about to attempt: the message, the endpoint, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryTarget {
    pub message_id: MessageId,
    pub event_type: String,
    pub payload: String,
    pub endpoint: WebhookEndpointRecord,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// When a pending delivery is due.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the message was created (the event happened).
    pub created_at: DateTime<Utc>,
}

/// What [`WebhookRepository::claim_delivery`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryClaim {
    /// Claimed for this attempt until the given time (or until the attempt is recorded).
    Claimed(Box<DeliveryTarget>),
    /// Another attempt holds it until then (a second copy of the job).
    Busy { until: DateTime<Utc> },
    /// Pending but not due until then (a copy of a job whose attempt was made meanwhile).
    NotDue { at: DateTime<Utc> },
    /// Not pending any more: nothing to send.
    Settled(DeliveryStatus),
    /// The message or the endpoint is gone.
    Gone,
}

/// One attempt at delivering a message to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttemptRecord {
    /// Assigned by the store.
    pub id: i64,
    pub message_id: MessageId,
    pub endpoint_id: WebhookEndpointId,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub attempted_at: DateTime<Utc>,
    /// `None`: no HTTP answer (refused by the SSRF guard, timeout, connection error).
    pub status_code: Option<u16>,
    pub latency_ms: u64,
    /// `delivered`, `failed`, `gone`, `retry_after`, `refused`.
    pub outcome: String,
    pub response: Option<String>,
    pub error: Option<String>,
}

/// What an attempt does to its delivery and endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptEffect {
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint answered well (clears `failing_since`) or not (sets it if unset).
    pub endpoint_succeeded: bool,
    /// Disable the endpoint with this reason (410 Gone, failing too long).
    pub disable_endpoint: Option<String>,
    /// Events of the endpoint's tenant to queue with the attempt (`endpoint.disabled`,
    /// `message.attempt.exhausted`), after the endpoint change (a disabled endpoint gets none).
    pub events: Vec<WebhookEvent>,
}

/// Webhook endpoints, messages, deliveries and attempts (SPEC §6).
#[async_trait]
pub trait WebhookRepository {
    async fn insert_endpoint(&self, endpoint: &WebhookEndpointRecord) -> StoreResult<()>;
    /// The tenant's endpoints, oldest first.
    async fn list_endpoints(&self, tenant: &TenantId) -> StoreResult<Vec<WebhookEndpointRecord>>;
    async fn get_endpoint(
        &self,
        tenant: &TenantId,
        id: &WebhookEndpointId,
    ) -> StoreResult<Option<WebhookEndpointRecord>>;
    /// Replace the endpoint's fields (by tenant and id); `false` when there is no such endpoint.
    async fn update_endpoint(&self, endpoint: &WebhookEndpointRecord) -> StoreResult<bool>;
    async fn delete_endpoint(&self, tenant: &TenantId, id: &WebhookEndpointId) -> StoreResult<bool>;

    /// In one transaction: store each event that an enabled endpoint of the tenant subscribes to
    /// as a message, with one pending delivery and one outbox row per subscribed endpoint.
    /// Returns how many deliveries were queued.
    async fn emit_events(&self, tenant: &TenantId, events: &[WebhookEvent], at: DateTime<Utc>) -> StoreResult<usize>;
    /// Queue `event` for one endpoint of the tenant only, whatever its event filter (a test
    /// event); `false` when the tenant has no such enabled endpoint.
    async fn emit_to_endpoint(
        &self,
        tenant: &TenantId,
        endpoint: &WebhookEndpointId,
        event: &WebhookEvent,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Deliver again: every delivery of the tenant's messages that matches `filter`, is not
    /// pending (a pending one is already on its way) and whose endpoint is enabled, starts over
    /// (pending, attempt count reset; earlier attempts stay in the log). Returns how many.
    async fn replay_deliveries(
        &self,
        tenant: &TenantId,
        filter: &ReplayFilter,
        at: DateTime<Utc>,
    ) -> StoreResult<usize>;
    /// The tenant's messages, newest first, with where each delivery stands.
    async fn list_messages(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<MessageRecord>>;
    /// The message, endpoint and state of a queued delivery (not tenant-scoped: the worker acts
    /// for every tenant); `None` when the message or the endpoint is gone.
    async fn load_delivery(
        &self,
        message: &MessageId,
        endpoint: &WebhookEndpointId,
    ) -> StoreResult<Option<DeliveryTarget>>;
    /// Claim a pending, due (by `due_by`: the caller's clock plus a tolerance) delivery for an
    /// attempt until `claim_until`, unless another attempt holds it; says what it found.
    async fn claim_delivery(
        &self,
        message: &MessageId,
        endpoint: &WebhookEndpointId,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<DeliveryClaim>;
    /// The retry pump: queue a new delivery job (through the outbox) for up to `limit` pending
    /// deliveries due before `overdue_before` that no attempt holds and no outbox row carries —
    /// their job was lost (a broker that lost a delay queue, a retry that could not be
    /// published) — and mark them due `now`. Returns how many.
    async fn pump_overdue_deliveries(
        &self,
        overdue_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<usize>;
    /// Enabled endpoints (of every tenant) failing without a success since before `before`.
    async fn failing_endpoints(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WebhookEndpointRecord>>;
    /// Disable an enabled endpoint with `reason` and queue `events` for its tenant in the same
    /// transaction (the disabled endpoint gets none); `false` when it was not enabled.
    async fn disable_endpoint(
        &self,
        endpoint: &WebhookEndpointId,
        reason: &str,
        at: DateTime<Utc>,
        events: &[WebhookEvent],
    ) -> StoreResult<bool>;
    /// Record an attempt and what it does to the delivery and the endpoint, in one transaction
    /// (the delivery's claim ends).
    async fn record_attempt(&self, attempt: &WebhookAttemptRecord, effect: &AttemptEffect) -> StoreResult<()>;
    /// Attempts to one of the tenant's endpoints, newest first.
    async fn list_attempts(
        &self,
        tenant: &TenantId,
        endpoint: &WebhookEndpointId,
        page: &PageRequest,
    ) -> StoreResult<Page<WebhookAttemptRecord>>;
}

/// Held while a singleton duty runs; dropping it releases the lock (for Postgres: a transaction
/// holding `pg_try_advisory_xact_lock`, rolled back on drop).
pub struct SingletonLock {
    _guard: Box<dyn std::any::Any + Send>,
}

impl SingletonLock {
    pub fn new(guard: impl std::any::Any + Send) -> Self {
        Self { _guard: Box::new(guard) }
    }
}

impl std::fmt::Debug for SingletonLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SingletonLock")
    }
}

/// The last run of a scheduler duty, as any worker recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerRun {
    pub job: String,
    /// How often the duty is meant to run.
    pub every_seconds: u64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// `Ok(items done)` or `Err(what went wrong)`.
    pub result: Result<u64, String>,
    /// Which worker ran it (`host:pid`).
    pub runner: String,
}

/// A duty's record: its last run and totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerRecord {
    pub last: SchedulerRun,
    pub runs: u64,
    pub failures: u64,
    pub last_success_at: Option<DateTime<Utc>>,
}

/// How long data is kept (SPEC §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionRules {
    /// Days an analysis keeps its lines, files, findings and SARIF, and webhook attempts and
    /// settled messages are kept, for tenants that set none.
    pub default_days: u32,
    /// Days an analysis with its decision and bundle is kept at least (longer if the tenant's
    /// retention is longer).
    pub record_days: u32,
}

impl Default for RetentionRules {
    fn default() -> Self {
        Self { default_days: 90, record_days: 365 }
    }
}

/// What a retention run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Analyses whose lines, files, findings and SARIF were removed.
    pub analyses_purged: u64,
    /// Analyses removed with their decision and bundle.
    pub analyses_deleted: u64,
    pub attempts_deleted: u64,
    pub messages_deleted: u64,
}

impl PurgeReport {
    pub fn total(&self) -> u64 {
        self.analyses_purged + self.analyses_deleted + self.attempts_deleted + self.messages_deleted
    }
}

/// The scheduler's record and retention (SPEC §9).
#[async_trait]
pub trait SchedulerRepository {
    /// Record a duty's run (replacing its last run, adding to its totals).
    async fn record_scheduler_run(&self, run: &SchedulerRun) -> StoreResult<()>;
    /// Every duty that has run, by name.
    async fn list_scheduler_runs(&self) -> StoreResult<Vec<SchedulerRecord>>;
    /// The tenant's retention in days; `None` = the operator's default.
    async fn tenant_retention(&self, tenant: &TenantId) -> StoreResult<Option<u32>>;
    async fn set_tenant_retention(&self, tenant: &TenantId, days: Option<u32>) -> StoreResult<()>;
    /// Remove what retention says is due at `now`, at most `limit` rows of each kind (call again
    /// while it removes anything).
    async fn purge_expired(&self, rules: &RetentionRules, now: DateTime<Utc>, limit: u32) -> StoreResult<PurgeReport>;
}

#[async_trait]
pub trait MaintenanceRepository {
    /// Names (`<version>_<description>`) of migrations not yet applied to the database.
    async fn pending_migrations(&self) -> StoreResult<Vec<String>>;

    /// Apply every pending migration; returns what was applied.
    async fn apply_migrations(&self) -> StoreResult<Vec<String>>;

    /// Take the lock of a singleton duty (scheduler job) named `name` if no other process holds
    /// it; `None` when another holds it. SQLite (one process) always grants it.
    async fn try_singleton(&self, name: &str) -> StoreResult<Option<SingletonLock>>;

    /// `"sqlite"` or `"postgres"`, for logs and health reports.
    fn backend(&self) -> &'static str;
}
