//! Webhook endpoints, messages, deliveries and attempts (`WebhookRepository`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use provenance_core::{MessageId, TenantId, WebhookEndpointId};

use super::{PostgresStore, opt_ts, ts};
use crate::error::StoreResult;
use crate::outbox::topics::WEBHOOK_DELIVERIES;
use crate::page::{Page, PageRequest};
use crate::repository::{
    AttemptEffect, DeliveryClaim, DeliveryStatus, DeliveryTarget, MessageRecord, ReplayFilter, WebhookAttemptRecord,
    WebhookEndpointRecord, WebhookEvent, WebhookRepository,
};
use crate::row_codec::{corrupt, from_json, message_record, parse_id, to_i64, to_json, to_u32, to_u64};
use crate::trace_context::current_traceparent;

const ENDPOINT_COLUMNS: &str = "e.id, e.tenant_id, e.url, e.description, e.event_types, e.headers, e.enabled, e.secret, \
     e.previous_secret, e.previous_secret_expires_at, e.retry_schedule, e.disabled_reason, e.failing_since, \
     e.created_at, e.updated_at";

/// The data-modifying CTEs that turn events into messages, deliveries and outbox rows, for the
/// tenant named by `tenant_sql` (an expression over the CTEs before), with the event arrays and
/// the time in parameters `$first` (types), `$first+1` (message ids), `$first+2` (payloads), `at`
/// and `traceparent` (parameter references; bind [`current_traceparent`] to the latter). Ends
/// with a CTE `queued` (one row per delivery queued).
pub(super) fn emit_events_ctes(tenant_sql: &str, first: usize, at: &str, traceparent: &str) -> String {
    emit_events_ctes_except(tenant_sql, first, at, traceparent, "NULL")
}

/// [`emit_events_ctes`], leaving out the endpoint `except_sql` names (the one an event is about:
/// it is not told of its own exhausted message).
pub(super) fn emit_events_ctes_except(
    tenant_sql: &str,
    first: usize,
    at: &str,
    traceparent: &str,
    except_sql: &str,
) -> String {
    let (types, ids, payloads) = (first, first + 1, first + 2);
    format!(
        "events AS ( \
             SELECT u.event_type, u.message_id, u.payload, {tenant_sql} AS tenant_id \
             FROM UNNEST(${types}::text[], ${ids}::text[], ${payloads}::text[]) AS u (event_type, message_id, payload) \
             WHERE {tenant_sql} IS NOT NULL \
         ), subscribers AS ( \
             SELECT ev.message_id, e.id AS endpoint_id FROM events ev \
             JOIN webhook_endpoints e ON e.tenant_id = ev.tenant_id AND e.enabled \
             AND (e.event_types = '[]' OR e.event_types::jsonb ? ev.event_type) AND e.id IS DISTINCT FROM {except_sql} \
         ), messages AS ( \
             INSERT INTO webhook_messages (id, tenant_id, event_type, payload, created_at) \
             SELECT ev.message_id, ev.tenant_id, ev.event_type, ev.payload, {at} FROM events ev \
             WHERE ev.message_id IN (SELECT message_id FROM subscribers) \
         ), deliveries AS ( \
             INSERT INTO webhook_deliveries (message_id, endpoint_id, status, attempts, next_attempt_at, created_at) \
             SELECT message_id, endpoint_id, 'pending', 0, {at}, {at} FROM subscribers \
         ), queued AS ( \
             INSERT INTO outbox (topic, key, payload, attempts, available_at, created_at, traceparent) \
             SELECT '{WEBHOOK_DELIVERIES}', s.message_id || ':' || s.endpoint_id, \
             convert_to(s.message_id || ':' || s.endpoint_id, 'UTF8'), 0, now(), now(), {traceparent}::text \
             FROM subscribers s \
             ON CONFLICT ON CONSTRAINT outbox_message DO NOTHING RETURNING 1 \
         )"
    )
}

/// Queue `events` for the tenant of `endpoint`, to its other endpoints (in the caller's
/// transaction); returns how many deliveries were queued.
async fn queue_for_endpoint_tenant(
    tx: &mut sqlx::PgConnection,
    endpoint: &WebhookEndpointId,
    events: &[WebhookEvent],
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    if events.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "WITH {} SELECT count(*) FROM queued",
        emit_events_ctes_except("(SELECT tenant_id FROM webhook_endpoints WHERE id = $1)", 2, "$5", "$6", "$1")
    );
    let (types, ids, payloads) = event_columns(events);
    Ok(sqlx::query_scalar::<_, i64>(&sql)
        .bind(endpoint.as_str())
        .bind(types)
        .bind(ids)
        .bind(payloads)
        .bind(ts(at))
        .bind(current_traceparent())
        .fetch_one(tx)
        .await?)
}

/// The columns and joins that read a delivery with its message and endpoint.
const DELIVERY_COLUMNS: &str = "m.event_type, m.payload, m.created_at AS message_created_at, d.status, d.attempts, d.next_attempt_at, d.claimed_until";
const DELIVERY_FROM: &str = "FROM webhook_deliveries d JOIN webhook_messages m ON m.id = d.message_id \
     JOIN webhook_endpoints e ON e.id = d.endpoint_id";

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    event_type: String,
    payload: String,
    message_created_at: DateTime<Utc>,
    status: String,
    attempts: i64,
    next_attempt_at: Option<DateTime<Utc>>,
    claimed_until: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    endpoint: EndpointRow,
}

impl DeliveryRow {
    fn into_target(self, message: &MessageId) -> StoreResult<DeliveryTarget> {
        Ok(DeliveryTarget {
            message_id: message.clone(),
            event_type: self.event_type,
            payload: self.payload,
            endpoint: self.endpoint.try_into()?,
            status: DeliveryStatus::parse(&self.status).ok_or_else(|| corrupt("delivery status", &self.status))?,
            attempts: to_u32("attempts", self.attempts)?,
            next_attempt_at: self.next_attempt_at,
            created_at: self.message_created_at,
        })
    }
}

/// The event arrays to bind for [`emit_events_ctes`].
pub(super) fn event_columns(events: &[WebhookEvent]) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
    (
        events.iter().map(|e| e.event_type.as_str()).collect(),
        events.iter().map(|e| e.message_id.as_str()).collect(),
        events.iter().map(|e| e.payload.as_str()).collect(),
    )
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
    previous_secret_expires_at: Option<DateTime<Utc>>,
    retry_schedule: Option<String>,
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
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
            previous_secret_expires_at: r.previous_secret_expires_at,
            retry_schedule: r.retry_schedule.map(|s| from_json("retry schedule", &s)).transpose()?,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
struct AttemptRow {
    id: i64,
    message_id: String,
    endpoint_id: String,
    attempt: i64,
    attempted_at: DateTime<Utc>,
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
            attempted_at: r.attempted_at,
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
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    e: &'q WebhookEndpointRecord,
) -> StoreResult<sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>> {
    Ok(q.bind(e.id.as_str())
        .bind(e.tenant_id.as_str())
        .bind(&e.url)
        .bind(&e.description)
        .bind(to_json(&e.event_types)?)
        .bind(to_json(&e.headers)?)
        .bind(e.enabled)
        .bind(&e.secret)
        .bind(&e.previous_secret)
        .bind(opt_ts(e.previous_secret_expires_at))
        .bind(e.retry_schedule.as_ref().map(to_json).transpose()?)
        .bind(&e.disabled_reason)
        .bind(opt_ts(e.failing_since))
        .bind(ts(e.updated_at)))
}

#[async_trait]
impl WebhookRepository for PostgresStore {
    async fn insert_endpoint(&self, e: &WebhookEndpointRecord) -> StoreResult<()> {
        let sql = "INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, headers, enabled, secret, \
             previous_secret, previous_secret_expires_at, retry_schedule, disabled_reason, failing_since, updated_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";
        bind_endpoint(sqlx::query(sql), e)?.bind(ts(e.created_at)).execute(&self.pool).await?;
        Ok(())
    }

    async fn list_endpoints(&self, tenant: &TenantId) -> StoreResult<Vec<WebhookEndpointRecord>> {
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.tenant_id = $1 ORDER BY e.id");
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
        let sql = format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = $1 AND e.tenant_id = $2");
        let row = sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(id.as_str())
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(WebhookEndpointRecord::try_from).transpose()
    }

    async fn update_endpoint(&self, e: &WebhookEndpointRecord) -> StoreResult<bool> {
        let sql = "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, headers = $6, \
             enabled = $7, secret = $8, previous_secret = $9, previous_secret_expires_at = $10, \
             retry_schedule = $11, disabled_reason = $12, failing_since = $13, updated_at = $14 \
             WHERE id = $1 AND tenant_id = $2";
        let done = bind_endpoint(sqlx::query(sql), e)?.execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_endpoint(&self, tenant: &TenantId, id: &WebhookEndpointId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2")
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
        let sql = format!("WITH {} SELECT count(*) FROM queued", emit_events_ctes("$1::text", 2, "$5", "$6"));
        let (types, ids, payloads) = event_columns(events);
        let queued: i64 = sqlx::query_scalar(&sql)
            .bind(tenant.as_str())
            .bind(types)
            .bind(ids)
            .bind(payloads)
            .bind(ts(at))
            .bind(current_traceparent())
            .fetch_one(&self.pool)
            .await?;
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(usize::try_from(queued).unwrap_or_default())
    }

    async fn emit_to_endpoint(
        &self,
        tenant: &TenantId,
        endpoint: &WebhookEndpointId,
        event: &WebhookEvent,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let queued: i64 = sqlx::query_scalar(&format!(
            "WITH target AS ( \
                 SELECT id, tenant_id FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND enabled \
             ), messages AS ( \
                 INSERT INTO webhook_messages (id, tenant_id, event_type, payload, created_at) \
                 SELECT $3, tenant_id, $4, $5, $6 FROM target \
             ), deliveries AS ( \
                 INSERT INTO webhook_deliveries (message_id, endpoint_id, status, attempts, created_at) \
                 SELECT $3, id, 'pending', 0, $6 FROM target \
             ), queued AS ( \
                 INSERT INTO outbox (topic, key, payload, attempts, available_at, created_at, traceparent) \
                 SELECT '{WEBHOOK_DELIVERIES}', $3 || ':' || id, convert_to($3 || ':' || id, 'UTF8'), 0, now(), now(), \
                 $7 FROM target RETURNING 1 \
             ) SELECT count(*) FROM queued"
        ))
        .bind(endpoint.as_str())
        .bind(tenant.as_str())
        .bind(event.message_id.as_str())
        .bind(&event.event_type)
        .bind(&event.payload)
        .bind(ts(at))
        .bind(current_traceparent())
        .fetch_one(&self.pool)
        .await?;
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(queued > 0)
    }

    async fn replay_deliveries(&self, tenant: &TenantId, f: &ReplayFilter, at: DateTime<Utc>) -> StoreResult<usize> {
        let queued: i64 = sqlx::query_scalar(&format!(
            "WITH picked AS ( \
                 SELECT d.message_id, d.endpoint_id FROM webhook_deliveries d \
                 JOIN webhook_messages m ON m.id = d.message_id JOIN webhook_endpoints e ON e.id = d.endpoint_id \
                 WHERE m.tenant_id = $1 AND e.enabled AND d.status <> 'pending' \
                 AND ($2::text IS NULL OR d.message_id = $2) AND ($3::text IS NULL OR d.endpoint_id = $3) \
                 AND ($4::timestamptz IS NULL OR m.created_at >= $4) \
                 AND (NOT $5 OR d.status IN ('failed', 'exhausted')) \
                 FOR UPDATE OF d \
             ), reset AS ( \
                 UPDATE webhook_deliveries d SET status = 'pending', attempts = 0, next_attempt_at = $7, claimed_until = NULL \
                 FROM picked p WHERE d.message_id = p.message_id AND d.endpoint_id = p.endpoint_id \
             ), queued AS ( \
                 INSERT INTO outbox (topic, key, payload, attempts, available_at, created_at, traceparent) \
                 SELECT '{WEBHOOK_DELIVERIES}', p.message_id || ':' || p.endpoint_id || ':replay:' || $6, \
                 convert_to(p.message_id || ':' || p.endpoint_id, 'UTF8'), 0, now(), now(), $8 FROM picked p \
                 ON CONFLICT ON CONSTRAINT outbox_message DO NOTHING RETURNING 1 \
             ) SELECT count(*) FROM queued"
        ))
        .bind(tenant.as_str())
        .bind(f.message.as_ref().map(MessageId::as_str))
        .bind(f.endpoint.as_ref().map(WebhookEndpointId::as_str))
        .bind(opt_ts(f.since))
        .bind(f.only_failed)
        .bind(at.timestamp_millis().to_string())
        .bind(ts(at))
        .bind(current_traceparent())
        .fetch_one(&self.pool)
        .await?;
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(usize::try_from(queued).unwrap_or_default())
    }

    async fn list_messages(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<MessageRecord>> {
        let rows: Vec<(String, String, String, DateTime<Utc>, String)> = sqlx::query_as(
            "SELECT m.id, m.event_type, m.payload, m.created_at, COALESCE(( \
                 SELECT json_agg(json_build_array(d.endpoint_id, d.status, d.attempts) ORDER BY d.endpoint_id) \
                 FROM webhook_deliveries d WHERE d.message_id = m.id), '[]')::text \
             FROM webhook_messages m WHERE m.tenant_id = $1 AND ($2::text IS NULL OR m.id < $2) \
             ORDER BY m.id DESC LIMIT $3",
        )
        .bind(tenant.as_str())
        .bind(page.after.as_deref())
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .into_iter()
            .map(|(id, event_type, payload, created_at, deliveries)| {
                message_record(&id, event_type, payload, created_at, &deliveries)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, page.limit, |m| m.id.to_string()))
    }

    async fn load_delivery(
        &self,
        message: &MessageId,
        endpoint: &WebhookEndpointId,
    ) -> StoreResult<Option<DeliveryTarget>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS}, {ENDPOINT_COLUMNS} {DELIVERY_FROM} WHERE d.message_id = $1 AND d.endpoint_id = $2"
        );
        let row = sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(message.as_str())
            .bind(endpoint.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.into_target(message)).transpose()
    }

    /// One statement: the conditional claim (a concurrent claimer waits on the row lock, then
    /// finds it claimed) and the delivery as it stood.
    async fn claim_delivery(
        &self,
        message: &MessageId,
        endpoint: &WebhookEndpointId,
        now: DateTime<Utc>,
        due_by: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<DeliveryClaim> {
        let sql = format!(
            "WITH claimed AS ( \
                 UPDATE webhook_deliveries SET claimed_until = $5 \
                 WHERE message_id = $1 AND endpoint_id = $2 AND status = 'pending' \
                 AND (claimed_until IS NULL OR claimed_until <= $3) \
                 AND (next_attempt_at IS NULL OR next_attempt_at <= $4) RETURNING 1 \
             ) SELECT {DELIVERY_COLUMNS}, {ENDPOINT_COLUMNS}, EXISTS (SELECT 1 FROM claimed) AS claimed {DELIVERY_FROM} \
             WHERE d.message_id = $1 AND d.endpoint_id = $2"
        );
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            delivery: DeliveryRow,
            claimed: bool,
        }
        let row = sqlx::query_as::<_, Row>(&sql)
            .bind(message.as_str())
            .bind(endpoint.as_str())
            .bind(ts(now))
            .bind(ts(due_by))
            .bind(ts(claim_until))
            .fetch_optional(&self.pool)
            .await?;
        let Some(Row { delivery, claimed }) = row else { return Ok(DeliveryClaim::Gone) };
        let claimed_until = delivery.claimed_until;
        let target = delivery.into_target(message)?;
        Ok(crate::row_codec::delivery_claim(target, claimed, claimed_until, now))
    }

    async fn pump_overdue_deliveries(
        &self,
        overdue_before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<usize> {
        let queued: i64 = sqlx::query_scalar(&format!(
            "WITH lost AS ( \
                 SELECT d.message_id, d.endpoint_id FROM webhook_deliveries d \
                 WHERE d.status = 'pending' AND d.next_attempt_at < $1 \
                 AND (d.claimed_until IS NULL OR d.claimed_until <= $2) \
                 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.topic = '{WEBHOOK_DELIVERIES}' \
                     AND o.payload = convert_to(d.message_id || ':' || d.endpoint_id, 'UTF8')) \
                 ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED \
             ), due AS ( \
                 UPDATE webhook_deliveries d SET next_attempt_at = $2 FROM lost l \
                 WHERE d.message_id = l.message_id AND d.endpoint_id = l.endpoint_id \
             ), queued AS ( \
                 INSERT INTO outbox (topic, key, payload, attempts, available_at, created_at, traceparent) \
                 SELECT '{WEBHOOK_DELIVERIES}', l.message_id || ':' || l.endpoint_id || ':pump:' || $4, \
                 convert_to(l.message_id || ':' || l.endpoint_id, 'UTF8'), 0, now(), now(), $5 FROM lost l \
                 ON CONFLICT ON CONSTRAINT outbox_message DO NOTHING RETURNING 1 \
             ) SELECT count(*) FROM queued"
        ))
        .bind(ts(overdue_before))
        .bind(ts(now))
        .bind(i64::from(limit))
        .bind(now.timestamp_millis().to_string())
        .bind(current_traceparent())
        .fetch_one(&self.pool)
        .await?;
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(usize::try_from(queued).unwrap_or_default())
    }

    async fn failing_endpoints(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<WebhookEndpointRecord>> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.enabled AND e.failing_since < $1 \
             ORDER BY e.failing_since, e.id LIMIT $2"
        );
        let rows = sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(ts(before))
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
        let mut tx = self.pool.begin().await?;
        let disabled = sqlx::query(
            "UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, updated_at = $3 \
             WHERE id = $1 AND enabled",
        )
        .bind(endpoint.as_str())
        .bind(reason)
        .bind(ts(at))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        let queued = if disabled { queue_for_endpoint_tenant(&mut tx, endpoint, events, at).await? } else { 0 };
        tx.commit().await?;
        if queued > 0 {
            self.notify_outbox();
        }
        Ok(disabled)
    }

    /// One statement records the attempt, settles or reschedules the delivery and, only when
    /// its state changes, the endpoint (a success on a healthy endpoint writes nothing there:
    /// concurrent deliveries to one endpoint do not queue on its row). With events to queue, a
    /// transaction adds them after it, so they see the endpoint disabled.
    async fn record_attempt(&self, a: &WebhookAttemptRecord, effect: &AttemptEffect) -> StoreResult<()> {
        let latency_ms = to_i64("latency_ms", a.latency_ms)?;
        let record = || {
            sqlx::query(
                "WITH attempt AS ( \
                     INSERT INTO webhook_attempts (message_id, endpoint_id, attempt, attempted_at, status_code, \
                     latency_ms, outcome, response, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ), delivery AS ( \
                     UPDATE webhook_deliveries SET status = $10, attempts = GREATEST(attempts, $3), last_attempt_at = $4, \
                     next_attempt_at = $11, claimed_until = NULL, \
                     delivered_at = CASE WHEN $10 = 'delivered' THEN $4 ELSE delivered_at END \
                     WHERE message_id = $1 AND endpoint_id = $2 \
                 ) UPDATE webhook_endpoints SET \
                     failing_since = CASE WHEN $12 THEN NULL ELSE COALESCE(failing_since, $4) END, \
                     enabled = enabled AND $13::text IS NULL, \
                     disabled_reason = COALESCE($13, disabled_reason), \
                     updated_at = CASE WHEN $13::text IS NULL THEN updated_at ELSE $4 END \
                 WHERE id = $2 AND ($13::text IS NOT NULL OR (failing_since IS NULL) = NOT $12)",
            )
            .bind(a.message_id.as_str())
            .bind(a.endpoint_id.as_str())
            .bind(i64::from(a.attempt))
            .bind(ts(a.attempted_at))
            .bind(a.status_code.map(i64::from))
            .bind(latency_ms)
            .bind(&a.outcome)
            .bind(&a.response)
            .bind(&a.error)
            .bind(effect.status.as_str())
            .bind(opt_ts(effect.next_attempt_at))
            .bind(effect.endpoint_succeeded)
            .bind(&effect.disable_endpoint)
        };
        if effect.events.is_empty() {
            record().execute(&self.pool).await?;
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        record().execute(&mut *tx).await?;
        let queued = queue_for_endpoint_tenant(&mut tx, &a.endpoint_id, &effect.events, a.attempted_at).await?;
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
             WHERE a.endpoint_id = $1 AND e.tenant_id = $2 AND ($3::bigint IS NULL OR a.id < $3) \
             ORDER BY a.id DESC LIMIT $4",
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
