//! `submit_analysis`: idempotency key, de-duplication, and the analysis with its lines, files and
//! outbox job, all in one write transaction.

use chrono::{DateTime, Utc};
use provenance_core::{Analysis, AnalysisId, AnalysisStatus, ChangedLine, NewAnalysis, TenantId};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::SqliteStore;
use super::rows::{ANALYSIS_COLUMNS, AnalysisRow, parse_id, to_i64, to_json};
use super::timestamps::{from_text, to_text};
use crate::error::{StoreError, StoreResult};
use crate::line_chunks;
use crate::outbox::OutboxMessage;
use crate::repository::{IdempotencyKey, Submitted};
use crate::trace_context::current_traceparent;

/// How long an `Idempotency-Key` is remembered.
const IDEMPOTENCY_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// SQLite allows 32 766 bound parameters per statement; stay well below it.
const MAX_BINDS_PER_STATEMENT: usize = 30_000;
const FILE_BINDS: usize = 4;

pub(super) async fn submit(
    store: &SqliteStore,
    new: &NewAnalysis,
    idempotency: Option<&IdempotencyKey>,
    job: &OutboxMessage,
) -> StoreResult<Submitted> {
    let now = Utc::now();
    let mut tx = store.begin_write().await?;

    if let Some(key) = idempotency
        && let Some(first) = earlier_use(&mut tx, &new.tenant_id, &key.key, now).await?
    {
        if first.request_sha256 != key.request_sha256 {
            tx.rollback().await?;
            return Err(StoreError::IdempotencyMismatch);
        }
        // The analysis may have been deleted by retention since; then the key is forgotten.
        if let Some(analysis) = fetch_analysis(&mut tx, &new.tenant_id, &first.analysis_id).await? {
            tx.commit().await?;
            // Answer as the first time: a key first answered "deduplicated" still is.
            return Ok(if first.deduplicated {
                Submitted::Deduplicated(analysis)
            } else {
                Submitted::Replayed(analysis)
            });
        }
    }

    if let Some(existing) = find_duplicate(&mut tx, new).await? {
        if let Some(key) = idempotency {
            remember_key(&mut tx, &new.tenant_id, key, &existing.id, true, now).await?;
        }
        tx.commit().await?;
        return Ok(Submitted::Deduplicated(existing));
    }

    insert_analysis(&mut tx, new).await?;
    insert_lines(&mut tx, &new.id, &new.lines).await?;
    insert_files(&mut tx, new).await?;
    if let Some(key) = idempotency {
        remember_key(&mut tx, &new.tenant_id, key, &new.id, false, now).await?;
    }
    insert_outbox(&mut tx, job, now).await?;
    let created = fetch_analysis(&mut tx, &new.tenant_id, &new.id)
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("analysis {} vanished while being inserted", new.id)))?;
    tx.commit().await?;
    store.notify_outbox();
    Ok(Submitted::Created(created))
}

/// The analysis, if it is the tenant's.
pub(super) async fn fetch_analysis(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    id: &AnalysisId,
) -> StoreResult<Option<Analysis>> {
    let sql = format!("SELECT {ANALYSIS_COLUMNS} FROM analyses WHERE id = ? AND tenant_id = ?");
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
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    key: &str,
    now: DateTime<Utc>,
) -> StoreResult<Option<EarlierUse>> {
    let row: Option<(String, String, bool, String)> = sqlx::query_as(
        "SELECT request_sha256, analysis_id, deduplicated, created_at FROM idempotency_keys \
         WHERE tenant_id = ? AND key = ?",
    )
    .bind(tenant.as_str())
    .bind(key)
    .fetch_optional(conn)
    .await?;
    let Some((request_sha256, analysis_id, deduplicated, created_at)) = row else { return Ok(None) };
    if from_text(&created_at)? + IDEMPOTENCY_WINDOW <= now {
        return Ok(None);
    }
    Ok(Some(EarlierUse { request_sha256, analysis_id: parse_id("analysis id", &analysis_id)?, deduplicated }))
}

/// Record (or, past its window, overwrite) the key's first use.
async fn remember_key(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    key: &IdempotencyKey,
    analysis: &AnalysisId,
    deduplicated: bool,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, request_sha256, analysis_id, deduplicated, created_at) \
         VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (tenant_id, key) DO UPDATE SET request_sha256 = excluded.request_sha256, \
         analysis_id = excluded.analysis_id, deduplicated = excluded.deduplicated, created_at = excluded.created_at",
    )
    .bind(tenant.as_str())
    .bind(&key.key)
    .bind(&key.request_sha256)
    .bind(analysis.as_str())
    .bind(deduplicated)
    .bind(to_text(now))
    .execute(conn)
    .await?;
    Ok(())
}

async fn find_duplicate(conn: &mut SqliteConnection, new: &NewAnalysis) -> StoreResult<Option<Analysis>> {
    let sql = format!(
        "SELECT {ANALYSIS_COLUMNS} FROM analyses \
         WHERE tenant_id = ? AND repo = ? AND pr_number = ? AND head_sha = ? AND inputs_sha256 = ?"
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

async fn insert_analysis(conn: &mut SqliteConnection, new: &NewAnalysis) -> StoreResult<()> {
    let created_at = to_text(new.created_at);
    sqlx::query(
        "INSERT INTO analyses (id, tenant_id, repo, pr_number, base_sha, head_sha, branch, status, report_mode, \
         metadata, inputs_sha256, lines_total, findings_total, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
    )
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
    .bind(&created_at)
    .bind(&created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The lines as chunks (see `line_chunks`).
async fn insert_lines(conn: &mut SqliteConnection, id: &AnalysisId, lines: &[ChangedLine]) -> StoreResult<()> {
    for (chunk, text) in line_chunks::encode(lines)? {
        sqlx::query("INSERT INTO analysis_line_chunks (analysis_id, chunk, lines) VALUES (?, ?, ?)")
            .bind(id.as_str())
            .bind(chunk)
            .bind(text)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn insert_files(conn: &mut SqliteConnection, new: &NewAnalysis) -> StoreResult<()> {
    let rows_per_statement = MAX_BINDS_PER_STATEMENT / FILE_BINDS;
    for (chunk_no, chunk) in new.files.chunks(rows_per_statement).enumerate() {
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO analysis_files (analysis_id, seq, path, content) ");
        q.push_values(chunk.iter().enumerate(), |mut b, (i, file)| {
            b.push_bind(new.id.as_str())
                .push_bind((chunk_no * rows_per_statement + i) as i64)
                .push_bind(file.path.as_str())
                .push_bind(file.content.as_str());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The job's outbox row, due now, with the `traceparent` of the current span. A second message
/// with the same `(topic, key)` is the same message and is dropped.
pub(super) async fn insert_outbox(
    conn: &mut SqliteConnection,
    job: &OutboxMessage,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let now = to_text(now);
    sqlx::query(
        "INSERT INTO outbox (topic, key, payload, attempts, available_at, created_at, traceparent) \
         VALUES (?, ?, ?, 0, ?, ?, ?) ON CONFLICT (topic, key) DO NOTHING",
    )
    .bind(&job.topic)
    .bind(&job.key)
    .bind(job.payload.as_slice())
    .bind(&now)
    .bind(&now)
    .bind(current_traceparent())
    .execute(conn)
    .await?;
    Ok(())
}
