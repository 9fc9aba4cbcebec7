//! `submit_analysis`: idempotency key, de-duplication, and the analysis with its lines, files and
//! outbox job, all in one transaction — one statement when there is no idempotency key.
//!
//! SQLite serialises writers, so its store can read-then-write. Here concurrent submissions really
//! run side by side (READ COMMITTED), and they meet on unique constraints instead:
//! - the analysis is inserted `ON CONFLICT (tenant, repo, pr, head, inputs) DO NOTHING`: the
//!   loser waits for the winner's commit, inserts nothing, and tries again, finding the winner's
//!   analysis as a duplicate;
//! - the idempotency key is inserted `ON CONFLICT DO UPDATE … WHERE` the existing key has expired:
//!   a live key of a concurrent request makes the insert do nothing, and the submission tries again,
//!   now seeing that key (replay or mismatch).
//!
//! A lost race rolls back everything the attempt wrote.

use chrono::{DateTime, Utc};
use provenance_core::{Analysis, AnalysisId, AnalysisStatus, NewAnalysis, TenantId};
use sqlx::PgConnection;

use super::rows::{ANALYSIS_COLUMNS, AnalysisRow, parse_id, to_i64, to_json};
use super::{PostgresStore, ts};
use crate::error::{StoreError, StoreResult};
use crate::line_chunks;
use crate::outbox::OutboxMessage;
use crate::repository::{IdempotencyKey, Submitted};
use crate::trace_context::current_traceparent;

/// How long an `Idempotency-Key` is remembered.
const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Lost races tolerated before giving up (each retry sees the winner's commit, so one suffices in
/// practice; more would mean the winner's rows vanish again at once).
const ATTEMPTS: usize = 4;

pub(super) async fn submit(
    store: &PostgresStore,
    new: &NewAnalysis,
    idempotency: Option<&IdempotencyKey>,
    job: &OutboxMessage,
) -> StoreResult<Submitted> {
    for _ in 0..ATTEMPTS {
        if let Some(answer) = try_submit(store, new, idempotency, job).await? {
            return Ok(answer);
        }
    }
    Err(StoreError::Conflict(format!(
        "analysis {} kept conflicting with concurrent submissions; retry the request",
        new.id
    )))
}

/// One attempt; `None` when it lost a race with a concurrent submission and must start over.
async fn try_submit(
    store: &PostgresStore,
    new: &NewAnalysis,
    idempotency: Option<&IdempotencyKey>,
    job: &OutboxMessage,
) -> StoreResult<Option<Submitted>> {
    let now = Utc::now();
    let Some(key) = idempotency else {
        // Without a key the submission is one statement, atomic by itself.
        let mut conn = store.pool.acquire().await?;
        return match insert_submission(&mut conn, new, job).await? {
            Some(created) => {
                store.notify_outbox();
                Ok(Some(Submitted::Created(created)))
            }
            // `None` from both: the conflicting analysis vanished again (deleted since); start over.
            None => Ok(find_duplicate(&mut conn, new).await?.map(Submitted::Deduplicated)),
        };
    };

    let mut tx = store.pool.begin().await?;
    if let Some(first) = earlier_use(&mut tx, &new.tenant_id, &key.key, now).await? {
        if first.request_sha256 != key.request_sha256 {
            tx.rollback().await?;
            return Err(StoreError::IdempotencyMismatch);
        }
        // The analysis may have been deleted by retention since; then the key is forgotten.
        if let Some(analysis) = fetch_analysis(&mut tx, &new.tenant_id, &first.analysis_id).await? {
            tx.commit().await?;
            // Answer as the first time: a key first answered "deduplicated" still is.
            return Ok(Some(if first.deduplicated {
                Submitted::Deduplicated(analysis)
            } else {
                Submitted::Replayed(analysis)
            }));
        }
    }

    let (analysis, answer) = match insert_submission(&mut tx, new, job).await? {
        Some(created) => (created.id.clone(), Submitted::Created(created)),
        None => match find_duplicate(&mut tx, new).await? {
            Some(existing) => (existing.id.clone(), Submitted::Deduplicated(existing)),
            None => {
                tx.rollback().await?;
                return Ok(None);
            }
        },
    };
    let deduplicated = matches!(answer, Submitted::Deduplicated(_));
    if !remember_key(&mut tx, &new.tenant_id, key, &analysis, deduplicated, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit().await?;
    if !deduplicated {
        store.notify_outbox();
    }
    Ok(Some(answer))
}

/// The analysis, if it is the tenant's.
pub(super) async fn fetch_analysis(
    conn: &mut PgConnection,
    tenant: &TenantId,
    id: &AnalysisId,
) -> StoreResult<Option<Analysis>> {
    let sql = format!("SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE id = $1 AND tenant_id = $2");
    sqlx::query_as::<_, AnalysisRow>(&sql)
        .bind(id.as_str())
        .bind(tenant.as_str())
        .fetch_optional(conn)
        .await?
        .map(Analysis::try_from)
        .transpose()
}

struct EarlierUse {
    request_sha256: String,
    analysis_id: AnalysisId,
    deduplicated: bool,
}

/// The key's first use, if it is still within the idempotency window.
async fn earlier_use(
    conn: &mut PgConnection,
    tenant: &TenantId,
    key: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<EarlierUse>> {
    let row: Option<(String, String, bool, DateTime<Utc>)> = sqlx::query_as(
        "SELECT request_sha256, analysis_id, deduplicated, created_at FROM idempotency_keys \
         WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tenant.as_str())
    .bind(key)
    .fetch_optional(conn)
    .await?;
    let Some((request_sha256, analysis_id, deduplicated, created_at)) = row else { return Ok(None) };
    if created_at + IDEMPOTENCY_WINDOW <= now {
        return Ok(None);
    }
    Ok(Some(EarlierUse { request_sha256, analysis_id: parse_id("analysis id", &analysis_id)?, deduplicated }))
}

/// Record (or, past its window, overwrite) the key's first use. `false` when a live use of the
/// key exists after all (a concurrent request committed it since we looked).
async fn remember_key(
    conn: &mut PgConnection,
    tenant: &TenantId,
    key: &IdempotencyKey,
    analysis: &AnalysisId,
    deduplicated: bool,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, request_sha256, analysis_id, deduplicated, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, key) DO UPDATE SET request_sha256 = excluded.request_sha256, \
         analysis_id = excluded.analysis_id, deduplicated = excluded.deduplicated, created_at = excluded.created_at \
         WHERE idempotency_keys.created_at <= $7",
    )
    .bind(tenant.as_str())
    .bind(&key.key)
    .bind(&key.request_sha256)
    .bind(analysis.as_str())
    .bind(deduplicated)
    .bind(ts(now))
    .bind(now - IDEMPOTENCY_WINDOW)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn find_duplicate(conn: &mut PgConnection, new: &NewAnalysis) -> StoreResult<Option<Analysis>> {
    let sql = format!(
        "SELECT {ANALYSIS_COLUMNS} FROM analyses \
         WHERE tenant_id = $1 AND repo = $2 AND pr_number = $3 AND head_sha = $4 AND inputs_sha256 = $5"
    );
    sqlx::query_as::<_, AnalysisRow>(&sql)
        .bind(new.tenant_id.as_str())
        .bind(new.repo.as_str())
        .bind(to_i64("pr_number", new.pr_number)?)
        .bind(new.head_sha.as_str())
        .bind(&new.inputs_sha256)
        .fetch_optional(conn)
        .await?
        .map(Analysis::try_from)
        .transpose()
}

/// The analysis with its lines, files and outbox job, in one statement: the writes after the
/// analysis hang off its insert, so when an analysis of the same inputs exists (the insert does
/// nothing and answers `None`) none of them happens.
async fn insert_submission(
    conn: &mut PgConnection,
    new: &NewAnalysis,
    job: &OutboxMessage,
) -> StoreResult<Option<Analysis>> {
    let (chunk, chunk_lines): (Vec<i64>, Vec<String>) = line_chunks::encode(&new.lines)?.into_iter().unzip();
    let file_path: Vec<&str> = new.files.iter().map(|f| f.path.as_str()).collect();
    let file_content: Vec<&str> = new.files.iter().map(|f| f.content.as_str()).collect();
    let sql = format!(
        "WITH a AS ( \
             INSERT INTO analyses (id, tenant_id, repo, pr_number, base_sha, head_sha, branch, status, report_mode, \
             metadata, inputs_sha256, lines_total, findings_total, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, 0, $13, $13) \
             ON CONFLICT ON CONSTRAINT analyses_dedup DO NOTHING RETURNING * \
         ), lines AS ( \
             INSERT INTO analysis_line_chunks (analysis_id, chunk, lines) \
             SELECT a.id, u.chunk, u.lines FROM a, UNNEST($14::bigint[], $15::text[]) AS u (chunk, lines) \
         ), files AS ( \
             INSERT INTO analysis_files (analysis_id, seq, path, content) \
             SELECT a.id, u.seq - 1, u.path, u.content \
             FROM a, UNNEST($16::text[], $17::text[]) WITH ORDINALITY AS u (path, content, seq) \
         ), job AS ( \
             INSERT INTO outbox (topic, key, payload, attempts, available_at, created_at, traceparent) \
             SELECT $18, $19, $20, 0, now(), now(), $21 FROM a ON CONFLICT ON CONSTRAINT outbox_message DO NOTHING \
         ) \
         SELECT {ANALYSIS_COLUMNS} FROM a"
    );
    sqlx::query_as::<_, AnalysisRow>(&sql)
        .bind(new.id.as_str())
        .bind(new.tenant_id.as_str())
        .bind(new.repo.as_str())
        .bind(to_i64("pr_number", new.pr_number)?)
        .bind(new.base_sha.as_str())
        .bind(new.head_sha.as_str())
        .bind(new.branch.as_deref())
        .bind(AnalysisStatus::Queued.as_str())
        .bind(new.report_mode.as_str())
        .bind(to_json(&new.metadata)?)
        .bind(&new.inputs_sha256)
        .bind(to_i64("lines_total", new.lines.len() as u64)?)
        .bind(ts(new.created_at))
        .bind(chunk)
        .bind(chunk_lines)
        .bind(file_path)
        .bind(file_content)
        .bind(&job.topic)
        .bind(&job.key)
        .bind(job.payload.as_slice())
        .bind(current_traceparent())
        .fetch_optional(conn)
        .await?
        .map(Analysis::try_from)
        .transpose()
}

/// The job's outbox row, due now (by the database clock, which every lease is measured with),
/// with the `traceparent` of the current span. A second message with the same `(topic, key)` is
/// the same message and is dropped.
pub(super) async fn insert_outbox(conn: &mut PgConnection, job: &OutboxMessage) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO outbox (topic, key, payload, attempts, available_at, created_at, traceparent) \
         VALUES ($1, $2, $3, 0, now(), now(), $4) ON CONFLICT ON CONSTRAINT outbox_message DO NOTHING",
    )
    .bind(&job.topic)
    .bind(&job.key)
    .bind(job.payload.as_slice())
    .bind(current_traceparent())
    .execute(conn)
    .await?;
    Ok(())
}
