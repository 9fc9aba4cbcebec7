//! Webhook endpoints, messages, deliveries and attempts (`WebhookRepository`), as the Postgres
//! store has them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::{MessageId, TenantId, WebhookEndpointId};
use sqlx::SqliteConnection;

use super::SqliteStore;
use super::submission::insert_outbox;
use super::timestamps::{from_text, opt_from_text, opt_to_text, to_text};
use crate::error::StoreResult;
use crate::outbox::OutboxMessage;
use crate::outbox::topics::WEBHOOK_DELIVERIES;
use crate::page::{Page, PageRequest};
use crate::repository::{
    AttemptEffect, DeliveryClaim, DeliveryStatus, DeliveryTarget, MessageRecord, ReplayFilter, WebhookAttemptRecord,
    WebhookEndpointRecord, WebhookEvent, WebhookRepository,
};
use crate::row_codec::{corrupt, from_json, message_record, parse_id, to_i64, to_json, to_u32, to_u64};

const ENDPOINT_COLUMNS: &str = "e.id, e.tenant_id, e.url, e.description, e.event_types, e.headers, e.enabled, e.secret, \
     e.previous_secret, e.previous_secret_expires_at, e.retry_schedule, e.disabled_reason, e.failing_since, \
     e.created_at, e.updated_at";

/// Within a write transaction: store each event an enabled endpoint of the tenant subscribes to
/// as a message, with a pending delivery and an outbox row per subscribed endpoint.
pub(super) async fn emit_in_tx(
    conn: &mut SqliteConnection,
    tenant: &str,
    events: &[WebhookEvent],
    at: DateTime<Utc>,
) -> StoreResult<usize> {
    emit_in_tx_except(conn, tenant, events, at, None).await
}

/// [`emit_in_tx`], leaving out the endpoint `except` (the one the events are about: it is not
/// told of its own exhausted message).
pub(super) async fn emit_in_tx_except(
    conn: &mut SqliteConnection,
    tenant: &str,
    events: &[WebhookEvent],
    at: DateTime<Utc>,
    except: Option<&str>,
) -> StoreResult<usize> {
    let mut queued = 0;
    for event in events {
        let endpoints: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM webhook_endpoints WHERE tenant_id = ?1 AND enabled \
             AND (event_types = '[]' OR EXISTS (SELECT 1 FROM json_each(event_types) WHERE value = ?2)) \
             AND (?3 IS NULL OR id <> ?3) ORDER BY id",
        )
        .bind(tenant)
        .bind(&event.event_type)
        .bind(except)
        .fetch_all(&mut *conn)
        .await?;
        if !endpoints.is_empty() {
            queue_message(conn, tenant, event, &endpoints, at).await?;
            queued += endpoints.len();
        }
    }
    Ok(queued)
}

/// The message, and a pending delivery with its outbox row per endpoint.
async fn queue_message(
    conn: &mut SqliteConnection,
    tenant: &str,
    event: &WebhookEvent,
    endpoints: &[String],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_messages (id, tenant_id, event_type, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(event.message_id.as_str())
    .bind(tenant)
    .bind(&event.event_type)
    .bind(&event.payload)
    .bind(to_text(at))
    .execute(&mut *conn)
    .await?;
    for endpoint in endpoints {
        sqlx::query(
            "INSERT INTO webhook_deliveries (message_id, endpoint_id, status, attempts, next_attempt_at, created_at) \
             VALUES (?1, ?2, 'pending', 0, ?3, ?3)",
        )
        .bind(event.message_id.as_str())
        .bind(endpoint)
        .bind(to_text(at))
        .execute(&mut *conn)
        .await?;
        let key = format!("{}:{endpoint}", event.message_id);
        let job = OutboxMessage { topic: WEBHOOK_DELIVERIES.into(), payload: key.clone().into_bytes(), key };
        insert_outbox(&mut *conn, &job, at).await?;
    }
    Ok(())
}

/// A delivery with its message and endpoint, and until when it is claimed.
async fn read_delivery(
    conn: &mut SqliteConnection,
    message: &MessageId,
    endpoint: &WebhookEndpointId,
) -> StoreResult<Option<(DeliveryTarget, Option<DateTime<Utc>>)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        event_type: String,
        payload: String,
        message_created_at: String,
        status: String,
        attempts: i64,
        next_attempt_at: Option<String>,
        claimed_until: Option<String>,
        #[sqlx(flatten)]
        endpoint: EndpointRow,
    }
    let sql = format!(
        "SELECT m.event_type, m.payload, m.created_at AS message_created_at, d.status, d.attempts, d.next_attempt_at, d.claimed_until, {ENDPOINT_COLUMNS} \
         FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.message_id = ?1 AND d.endpoint_id = ?2"
    );
    let Some(row) =
        sqlx::query_as::<_, Row>(&sql).bind(message.as_str()).bind(endpoint.as_str()).fetch_optional(conn).await?
    else {
        return Ok(None);
    };
    let target = DeliveryTarget {
        message_id: message.clone(),
        event_type: row.event_type,
        payload: row.payload,
        endpoint: row.endpoint.try_into()?,
        status: DeliveryStatus::parse(&row.status).ok_or_else(|| corrupt("delivery status", &row.status))?,
        attempts: to_u32("attempts", row.attempts)?,
        next_attempt_at: opt_from_text(row.next_attempt_at.as_deref())?,
        created_at: from_text(&row.message_created_at)?,
    };
    Ok(Some((target, opt_from_text(row.claimed_until.as_deref())?)))
}

#[derive(Debug, sqlx::FromRow)]
struct EndpointRow {
    id: String,
    tenant_id: String,
    url: String,
    description: String,
    event_types: String,
    headers: String,
    enabled: bool,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_expires_at: Option<String>,
    retry_schedule: Option<String>,
    disabled_reason: Option<String>,
    failing_since: Option<String>,
    created_at: String,
    updated_at: String,
}

impl TryFrom<EndpointRow> for WebhookEndpointRecord {
    type Error = crate::error::StoreError;

    fn try_from(r: EndpointRow) -> StoreResult<Self> {
        Ok(WebhookEndpointRecord {
            id: parse_id("endpoint id", &r.id)?,
            tenant_id: parse_id("tenant id", &r.tenant_id)?,
            url: r.url,
            description: r.description,
            event_types: from_json("endpoint event types", &r.event_types)?,
            headers: from_json("endpoint headers", &r.headers)?,
            enabled: r.enabled,
            secret: r.secret,
            previous_secret: r.previous_secret,
            previous_secret_expires_at: opt_from_text(r.previous_secret_expires_at.as_deref())?,
            retry_schedule: r.retry_schedule.map(|s| from_json("retry schedule", &s)).transpose()?,
            disabled_reason: r.disabled_reason,
            failing_since: opt_from_text(r.failing_since.as_deref())?,
            created_at: from_text(&r.created_at)?,
            updated_at: from_text(&r.updated_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct AttemptRow {
    id: i64,
    message_id: String,
    endpoint_id: String,
    attempt: i64,
    attempted_at: String,
    status_code: Option<i64>,
    latency_ms: i64,
    outcome: String,
    response: Option<String>,
    error: Option<String>,
}

impl TryFrom<AttemptRow> for WebhookAttemptRecord {
    type Error = crate::error::StoreError;

    fn try_from(r: AttemptRow) -> StoreResult<Self> {
        Ok(WebhookAttemptRecord {
            id: r.id,
            message_id: parse_id("message id", &r.message_id)?,
            endpoint_id: parse_id("endpoint id", &r.endpoint_id)?,
            attempt: to_u32("attempt", r.attempt)?,
            attempted_at: from_text(&r.attempted_at)?,
            status_code: r.status_code.map(|c| u16::try_from(c).map_err(|e| corrupt("status code", e))).transpose()?,
            latency_ms: to_u64("latency_ms", r.latency_ms)?,
            outcome: r.outcome,
            response: r.response,
            error: r.error,
        })
    }
}

/// Bind an endpoint's fields as parameters 1–14: id, tenant, url, description, event types,
/// headers, enabled, secret, previous secret and its expiry, retry schedule, disabled reason,
/// failing since, updated at (insert adds created at as the 15th).
fn bind_endpoint<'q>(
    q: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    e: &'q WebhookEndpointRecord,
) -> StoreResult<sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>> {
    Ok(q.bind(e.id.as_str())
        .bind(e.tenant_id.as_str())
        .bind(&e.url)
        .bind(&e.description)
        .bind(to_json(&e.event_types)?)
        .bind(to_json(&e.headers)?)
        .bind(e.enabled)
        .bind(&e.secret)
        .bind(&e.previous_secret)
        .bind(opt_to_text(e.previous_secret_expires_at))
        .bind(e.retry_schedule.as_ref().map(to_json).transpose()?)
        .bind(&e.disabled_reason)
        .bind(opt_to_text(e.failing_since))
        .bind(to_text(e.updated_at)))
}

#[async_trait]
impl WebhookRepository for SqliteStore {
    async fn insert_endpoint(&self, e: &WebhookEndpointRecord) -> StoreResult<()> {
        let sql = "INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, headers, enabled, secret, \
             previous_secret, previous_secret_expires_at, retry_schedule, disabled_reason, failing_since, updated_at, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
        bind_endpoint(sqlx::query(sql), e)?.bind(to_text(e.created_at)).execute(&self.pool).await?;
        Ok(())
    }

    async fn list_endpoints(&self, tenant: &TenantId) -> StoreResult<Vec<WebhookEndpointRecord>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.tenant_id = ?1 ORDER BY e.id");
        sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(tenant.as_str())
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(WebhookEndpointRecord::try_from)
            .collect()
    }

    async fn get_endpoint(
        &self,
        tenant: &TenantId,
        id: &WebhookEndpointId,
    ) -> StoreResult<Option<WebhookEndpointRecord>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = ?1 AND e.tenant_id = ?2");
        let row = sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(id.as_str())
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(WebhookEndpointRecord::try_from).transpose()
    }

    async fn update_endpoint(&self, e: &WebhookEndpointRecord) -> StoreResult<bool> {
        let sql = "UPDATE webhook_endpoints SET url = ?3, description = ?4, event_types = ?5, headers = ?6, \
             enabled = ?7, secret = ?8, previous_secret = ?9, previous_secret_expires_at = ?10, \
             retry_schedule = ?11, disabled_reason = ?12, failing_since = ?13, updated_at = ?14 \
             WHERE id = ?1 AND tenant_id = ?2";
        let done = bind_endpoint(sqlx::query(sql), e)?.execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_endpoint(&self, tenant: &TenantId, id: &WebhookEndpointId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?1 AND tenant_id = ?2")
            .bind(id.as_str())
            .bind(tenant.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn emit_events(&self, tenant: &TenantId, events: &[WebhookEvent], at: DateTime<Utc>) -> StoreResult<usize> {
        if events.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let queued = emit_in_tx(&mut tx, tenant.as_str(), events, at).await?;
        tx.commit().await?;
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(queued)
    }

    async fn emit_to_endpoint(
        &self,
        tenant: &TenantId,
        endpoint: &WebhookEndpointId,
        event: &WebhookEvent,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let found: Option<String> =
            sqlx::query_scalar("SELECT id FROM webhook_endpoints WHERE id = ?1 AND tenant_id = ?2 AND enabled")
                .bind(endpoint.as_str())
                .bind(tenant.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Ok(false);
        }
        queue_message(&mut tx, tenant.as_str(), event, &[endpoint.to_string()], at).await?;
        tx.commit().await?;
        self.notify_outbox();
        Ok(true)
    }

    async fn replay_deliveries(&self, tenant: &TenantId, f: &ReplayFilter, at: DateTime<Utc>) -> StoreResult<usize> {
        let mut tx = self.begin_write().await?;
        let picked: Vec<(String, String)> = sqlx::query_as(
            "SELECT d.message_id, d.endpoint_id FROM webhook_deliveries d \
             JOIN webhook_messages m ON m.id = d.message_id JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE m.tenant_id = ?1 AND e.enabled AND d.status <> 'pending' \
             AND (?2 IS NULL OR d.message_id = ?2) AND (?3 IS NULL OR d.endpoint_id = ?3) \
             AND (?4 IS NULL OR m.created_at >= ?4) AND (NOT ?5 OR d.status IN ('failed', 'exhausted'))",
        )
        .bind(tenant.as_str())
        .bind(f.message.as_ref().map(MessageId::as_str))
        .bind(f.endpoint.as_ref().map(WebhookEndpointId::as_str))
        .bind(opt_to_text(f.since))
        .bind(f.only_failed)
        .fetch_all(&mut *tx)
        .await?;
        for (message, endpoint) in &picked {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?3, \
                 claimed_until = NULL WHERE message_id = ?1 AND endpoint_id = ?2",
            )
            .bind(message)
            .bind(endpoint)
            .bind(to_text(at))
            .execute(&mut *tx)
            .await?;
            let target = format!("{message}:{endpoint}");
            let key = format!("{target}:replay:{}", at.timestamp_millis());
            let job = OutboxMessage { topic: WEBHOOK_DELIVERIES.into(), payload: target.into_bytes(), key };
            insert_outbox(&mut tx, &job, at).await?;
        }
        tx.commit().await?;
        if !picked.is_empty() {
            self.notify_outbox();
        }
        Ok(picked.len())
    }

    async fn list_messages(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<MessageRecord>> {
        let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
            "SELECT m.id, m.event_type, m.payload, m.created_at, COALESCE(( \
                 SELECT json_group_array(json_array(d.endpoint_id, d.status, d.attempts)) \
                 FROM (SELECT * FROM webhook_deliveries WHERE message_id = m.id ORDER BY endpoint_id) d), '[]') \
             FROM webhook_messages m WHERE m.tenant_id = ?1 AND (?2 IS NULL OR m.id < ?2) \
             ORDER BY m.id DESC LIMIT ?3",
        )
        .bind(tenant.as_str())
        .bind(page.after.as_deref())
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .into_iter()
            .map(|(id, event_type, payload, created_at, deliveries)| {
                message_record(&id, event_type, payload, from_text(&created_at)?, &deliveries)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |m| m.id.to_string()))
    }

    async fn load_delivery(
        &self,
        message: &MessageId,
        endpoint: &WebhookEndpointId,
    ) -> StoreResult<Option<DeliveryTarget>> {
        let mut conn = self.pool.acquire().await?;
        Ok(read_delivery(&mut conn, message, endpoint).await?.map(|(target, _)| target))
    }

    async fn claim_delivery(
        &self,
        message: &MessageId,
        endpoint: &WebhookEndpointId,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<DeliveryClaim> {
        let mut tx = self.begin_write().await?;
        let Some((target, claimed_until)) = read_delivery(&mut tx, message, endpoint).await? else {
            return Ok(DeliveryClaim::Gone);
        };
        let claimed = sqlx::query(
            "UPDATE webhook_deliveries SET claimed_until = ?5 \
             WHERE message_id = ?1 AND endpoint_id = ?2 AND status = 'pending' \
             AND (claimed_until IS NULL OR claimed_until <= ?3) AND (next_attempt_at IS NULL OR next_attempt_at <= ?4)",
        )
        .bind(message.as_str())
        .bind(endpoint.as_str())
        .bind(to_text(now))
        .bind(to_text(due_by))
        .bind(to_text(claim_until))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        tx.commit().await?;
        Ok(crate::row_codec::delivery_claim(target, claimed, claimed_until, now))
    }

    async fn pump_overdue_deliveries(
        &self,
        overdue_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<usize> {
        let mut tx = self.begin_write().await?;
        let lost: Vec<(String, String)> = sqlx::query_as(
            "SELECT d.message_id, d.endpoint_id FROM webhook_deliveries d \
             WHERE d.status = 'pending' AND d.next_attempt_at < ?1 \
             AND (d.claimed_until IS NULL OR d.claimed_until <= ?2) \
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.topic = ?4 \
                 AND o.payload = CAST(d.message_id || ':' || d.endpoint_id AS BLOB)) \
             ORDER BY d.next_attempt_at LIMIT ?3",
        )
        .bind(to_text(overdue_before))
        .bind(to_text(now))
        .bind(i64::from(limit))
        .bind(WEBHOOK_DELIVERIES)
        .fetch_all(&mut *tx)
        .await?;
        for (message, endpoint) in &lost {
            sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = ?3 WHERE message_id = ?1 AND endpoint_id = ?2",
            )
            .bind(message)
            .bind(endpoint)
            .bind(to_text(now))
            .execute(&mut *tx)
            .await?;
            let target = format!("{message}:{endpoint}");
            let key = format!("{target}:pump:{}", now.timestamp_millis());
            let job = OutboxMessage { topic: WEBHOOK_DELIVERIES.into(), payload: target.into_bytes(), key };
            insert_outbox(&mut tx, &job, Utc::now()).await?;
        }
        tx.commit().await?;
        if !lost.is_empty() {
            self.notify_outbox();
        }
        Ok(lost.len())
    }

    async fn failing_endpoints(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WebhookEndpointRecord>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.enabled AND e.failing_since < ?1 \
             ORDER BY e.failing_since, e.id LIMIT ?2"
        );
        let rows = sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(to_text(before))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(WebhookEndpointRecord::try_from).collect()
    }

    async fn disable_endpoint(
        &self,
        endpoint: &WebhookEndpointId,
        reason: &str,
        at: DateTime<Utc>,
        events: &[WebhookEvent],
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let tenant: Option<String> = sqlx::query_scalar(
            "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?2, updated_at = ?3 \
             WHERE id = ?1 AND enabled RETURNING tenant_id",
        )
        .bind(endpoint.as_str())
        .bind(reason)
        .bind(to_text(at))
        .fetch_optional(&mut *tx)
        .await?;
        let queued = match &tenant {
            Some(tenant) => emit_in_tx_except(&mut tx, tenant, events, at, Some(endpoint.as_str())).await?,
            None => 0,
        };
        tx.commit().await?;
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(tenant.is_some())
    }

    async fn record_attempt(&self, a: &WebhookAttemptRecord, effect: &AttemptEffect) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (message_id, endpoint_id, attempt, attempted_at, status_code, latency_ms, \
             outcome, response, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .bind(a.message_id.as_str())
        .bind(a.endpoint_id.as_str())
        .bind(i64::from(a.attempt))
        .bind(to_text(a.attempted_at))
        .bind(a.status_code.map(i64::from))
        .bind(to_i64("latency_ms", a.latency_ms)?)
        .bind(&a.outcome)
        .bind(&a.response)
        .bind(&a.error)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET status = ?3, attempts = MAX(attempts, ?4), last_attempt_at = ?5, \
             next_attempt_at = ?6, claimed_until = NULL, \
             delivered_at = CASE WHEN ?3 = 'delivered' THEN ?5 ELSE delivered_at END \
             WHERE message_id = ?1 AND endpoint_id = ?2",
        )
        .bind(a.message_id.as_str())
        .bind(a.endpoint_id.as_str())
        .bind(effect.status.as_str())
        .bind(i64::from(a.attempt))
        .bind(to_text(a.attempted_at))
        .bind(opt_to_text(effect.next_attempt_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE webhook_endpoints SET \
             failing_since = CASE WHEN ?2 THEN NULL ELSE COALESCE(failing_since, ?3) END, \
             enabled = enabled AND ?4 IS NULL, \
             disabled_reason = COALESCE(?4, disabled_reason), \
             updated_at = CASE WHEN ?4 IS NULL THEN updated_at ELSE ?3 END \
             WHERE id = ?1 AND (?4 IS NOT NULL OR (failing_since IS NULL) = NOT ?2)",
        )
        .bind(a.endpoint_id.as_str())
        .bind(effect.endpoint_succeeded)
        .bind(to_text(a.attempted_at))
        .bind(&effect.disable_endpoint)
        .execute(&mut *tx)
        .await?;
        let mut queued = 0;
        if !effect.events.is_empty() {
            let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM webhook_endpoints WHERE id = ?1")
                .bind(a.endpoint_id.as_str())
                .fetch_one(&mut *tx)
                .await?;
            queued = emit_in_tx_except(&mut tx, &tenant, &effect.events, a.attempted_at, Some(a.endpoint_id.as_str()))
                .await?;
        }
        tx.commit().await?;
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(())
    }

    async fn list_attempts(
        &self,
        tenant: &TenantId,
        endpoint: &WebhookEndpointId,
        page: &PageRequest,
    ) -> StoreResult<Page<WebhookAttemptRecord>> {
        let after: Option<i64> = page.after.as_deref().and_then(|a| a.parse().ok());
        let rows = sqlx::query_as::<_, AttemptRow>(
            "SELECT a.id, a.message_id, a.endpoint_id, a.attempt, a.attempted_at, a.status_code, a.latency_ms, \
             a.outcome, a.response, a.error FROM webhook_attempts a JOIN webhook_endpoints e ON e.id = a.endpoint_id \
             WHERE a.endpoint_id = ?1 AND e.tenant_id = ?2 AND (?3 IS NULL OR a.id < ?3) \
             ORDER BY a.id DESC LIMIT ?4",
        )
        .bind(endpoint.as_str())
        .bind(tenant.as_str())
        .bind(after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.into_iter().map(WebhookAttemptRecord::try_from).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |a| a.id.to_string()))
    }
}
