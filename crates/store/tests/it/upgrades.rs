//! Upgrades of databases written by earlier releases: each starts from the schema as it was
//! (the first migrations only), writes rows the way that release did, applies the rest, and reads
//! them back through today's repositories.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use provenance_core::{AnalysisId, AnalysisStatus, ChangeType, ChangedLine, TenantId};
use provenance_store::{OutboxMessage, PageRequest, Store, topics};

use crate::support::*;

both_backends_fresh!(lines_stored_one_per_row_read_back_the_same_after_the_move_to_chunks);

/// The store on `db` with only its backend's first `count` migrations applied.
async fn at_schema(db: &FreshDb, count: usize) -> (Arc<dyn Store>, RawPool) {
    let dir = tempfile::tempdir().unwrap();
    let backend_dir = match db.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(backend_dir);
    let mut names: Vec<_> = std::fs::read_dir(&source).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert!(names.len() > count, "{backend_dir} has only {} migrations", names.len());
    for name in &names[..count] {
        std::fs::copy(source.join(name), dir.path().join(name)).unwrap();
    }
    let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
    let (store, raw) = db.connect(&test_options(4)).await;
    match &raw {
        RawPool::Sqlite(pool) => migrator.run(pool).await.unwrap(),
        RawPool::Postgres(pool) => migrator.run(pool).await.unwrap(),
    }
    (store, raw)
}

async fn execute(raw: &RawPool, sql: &str) {
    match raw {
        RawPool::Sqlite(pool) => drop(sqlx::query(sql).execute(pool).await.unwrap()),
        RawPool::Postgres(pool) => drop(sqlx::query(sql).execute(pool).await.unwrap()),
    }
}

/// A SQL string literal (both backends double single quotes; `NULL` for none).
fn literal(text: Option<&str>) -> String {
    text.map_or_else(|| "NULL".to_string(), |t| format!("'{}'", t.replace('\'', "''")))
}

/// A JSON document as a SQL string literal.
fn json_literal(value: &impl serde::Serialize) -> String {
    literal(Some(&serde_json::to_string(value).unwrap()))
}

/// An analysis row as the first release wrote it (its columns exist in every later schema).
async fn insert_analysis(raw: &RawPool, tenant: &TenantId, status: &str, lines_total: usize) -> AnalysisId {
    let id = AnalysisId::generate();
    execute(
        raw,
        &format!(
            "INSERT INTO analyses (id, tenant_id, repo, pr_number, base_sha, head_sha, branch, status, report_mode, \
             metadata, inputs_sha256, lines_total, findings_total, created_at, updated_at, started_at) \
             VALUES ('{id}', '{tenant}', 'acme/shop', 7, 'abc123', 'def456', NULL, '{status}', 'added', '{{}}', \
             '{id}', {lines_total}, 0, '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', \
             '2020-01-01T00:00:00.000Z')"
        ),
    )
    .await;
    id
}

/// An SQLite database created before heartbeats existed (PostgreSQL had them from its first
/// migration): 0002 adds the column, and an analysis that was running during the upgrade counts
/// its start as its last heartbeat, so it is recovered too.
#[tokio::test]
async fn an_sqlite_analysis_running_during_the_heartbeat_upgrade_is_recovered() {
    let db = FreshDb::create(Backend::Sqlite).await;
    let (store, raw) = at_schema(&db, 1).await;
    assert_eq!(
        store.pending_migrations().await.unwrap(),
        vec![
            "0002_heartbeat",
            "0003_line_chunks",
            "0004_agent_registry",
            "0005_governance",
            "0006_webhooks",
            "0007_scheduler",
            "0008_outbox_trace"
        ]
    );
    let t = tenant(&*store).await;
    let running = insert_analysis(&raw, &t, "running", 0).await;

    assert_eq!(
        store.apply_migrations().await.unwrap(),
        vec![
            "0002_heartbeat",
            "0003_line_chunks",
            "0004_agent_registry",
            "0005_governance",
            "0006_webhooks",
            "0007_scheduler",
            "0008_outbox_trace"
        ]
    );
    let job = |id: &AnalysisId, _: &TenantId| OutboxMessage {
        topic: topics::ANALYSIS_JOBS.into(),
        key: format!("{id}:requeued"),
        payload: Vec::new(),
    };
    assert_eq!(store.requeue_stale(Utc::now(), 10, &job).await.unwrap(), vec![running.clone()]);
    assert_eq!(store.get_analysis(&t, &running).await.unwrap().unwrap().status, AnalysisStatus::Queued);
}

/// Lines of every shape (deleted without content, with and without declared attribution,
/// resolved, signed), more than one chunk's worth, one row each as releases before 0003 stored
/// them: after the upgrade the API pages and the worker's input are exactly those lines, in order.
async fn lines_stored_one_per_row_read_back_the_same_after_the_move_to_chunks(db: FreshDb) {
    let (store, raw) = at_schema(&db, 2).await;
    let t = tenant(&*store).await;
    let lines: Vec<ChangedLine> = (0..1_234u32)
        .map(|i| {
            let mut l = line(&format!("src/m{}/it's.py", i % 5), i + 1);
            match i % 4 {
                0 => {
                    l.change_type = ChangeType::Deleted;
                    l.content = None;
                    l.declared = None;
                    l.language = None;
                }
                1 => l.attribution = ai_attribution(),
                2 => {
                    l.content_sha256 = Some(format!("{i:064x}"));
                    l.attestation_signature = Some("c2lnbmF0dXJl".into());
                    l.author_identity = None;
                }
                _ => l.content = Some(format!("q = \"it's {i}\" + '\\n' -- ünïcode")),
            }
            l
        })
        .collect();
    let id = insert_analysis(&raw, &t, "completed", lines.len()).await;
    for (batch_no, batch) in lines.chunks(500).enumerate() {
        let values: Vec<String> = batch
            .iter()
            .enumerate()
            .map(|(i, l)| {
                format!(
                    "('{id}', {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                    batch_no * 500 + i,
                    literal(Some(l.file_path.as_str())),
                    l.line_number,
                    literal(Some(l.change_type.as_str())),
                    literal(l.content.as_deref()),
                    literal(l.language.as_deref()),
                    literal(l.author_identity.as_deref()),
                    l.declared.as_ref().map_or_else(|| "NULL".to_string(), json_literal),
                    literal(l.content_sha256.as_deref()),
                    literal(l.attestation_signature.as_deref()),
                    json_literal(&l.attribution),
                )
            })
            .collect();
        execute(
            &raw,
            &format!(
                "INSERT INTO analysis_lines (analysis_id, seq, file_path, line_number, change_type, content, language, \
                 author_identity, declared, content_sha256, attestation_signature, attribution) VALUES {}",
                values.join(", ")
            ),
        )
        .await;
    }

    assert_eq!(
        store.apply_migrations().await.unwrap(),
        vec![
            "0003_line_chunks",
            "0004_agent_registry",
            "0005_governance",
            "0006_webhooks",
            "0007_scheduler",
            "0008_outbox_trace"
        ]
    );

    let mut paged = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let p = store.list_lines(&t, &id, &page).await.unwrap().unwrap();
        paged.extend(p.items);
        let Some(cursor) = p.next_cursor else { break };
        page = PageRequest::from_query(Some(500), Some(&cursor)).unwrap();
    }
    assert_eq!(paged.len(), lines.len());
    for (got, want) in paged.iter().zip(&lines) {
        assert_eq!(got, want);
    }
    let input = store.load_job_input(&id).await.unwrap().unwrap();
    assert_eq!(input.lines, lines);
}
