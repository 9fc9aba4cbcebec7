//! Fixtures: a fresh database per test on either backend (a migrated SQLite file in a temporary
//! directory, or a PostgreSQL database `pvn_test_<ulid>` created for the test and dropped after
//! it), the macros that run one test body against both, and small builders of the domain values
//! the store takes.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use provenance_core::decision::{DecisionInput, DetectorRef, decide};
use provenance_core::policy::Policy;
use provenance_core::{
    AgentId, Analysis, AnalysisId, Attribution, ChangeType, ChangedLine, CommitSha, Contributor, DeclaredAttribution,
    Detection, FileContent, Finding, Location, NewAnalysis, RepoName, RepoPath, ReportMode, Severity, TenantId,
};
use provenance_store::postgres::PostgresStore;
use provenance_store::sqlite::SqliteStore;
use provenance_store::{
    AnalysisResult, ConnectOptions, IdempotencyKey, JobInput, OutboxMessage, Store, Submitted, topics,
};
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

/// Run each named `async fn(TestStore)` against a migrated SQLite store and (ignored unless the
/// service runs) a migrated PostgreSQL store: `name::sqlite` and `name::postgres`.
macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                crate::support::run(crate::support::Backend::Sqlite, super::$case).await;
            }

            #[tokio::test]
            #[ignore = "needs services: PostgreSQL"]
            async fn postgres() {
                crate::support::run(crate::support::Backend::Postgres, super::$case).await;
            }
        }
    )*};
}

/// Like `both_backends!`, for `async fn(FreshDb)`: an empty, unmigrated database.
macro_rules! both_backends_fresh {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            async fn sqlite() {
                crate::support::run_fresh(crate::support::Backend::Sqlite, super::$case).await;
            }

            #[tokio::test]
            #[ignore = "needs services: PostgreSQL"]
            async fn postgres() {
                crate::support::run_fresh(crate::support::Backend::Postgres, super::$case).await;
            }
        }
    )*};
}

/// `async fn(TestStore)` cases that only mean something on PostgreSQL: `name::postgres`.
macro_rules! postgres_only {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            #[ignore = "needs services: PostgreSQL"]
            async fn postgres() {
                crate::support::run(crate::support::Backend::Postgres, super::$case).await;
            }
        }
    )*};
}

/// `async fn(FreshDb)` cases that only mean something on PostgreSQL.
macro_rules! postgres_only_fresh {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test]
            #[ignore = "needs services: PostgreSQL"]
            async fn postgres() {
                crate::support::run_fresh(crate::support::Backend::Postgres, super::$case).await;
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where PostgreSQL tests create their databases: `PROVENANCE_TEST_DATABASE_URL` (CI points it at
/// a fresh database), else the local service with trust auth.
pub fn postgres_base_url() -> String {
    std::env::var("PROVENANCE_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// `url` naming database `database` instead (keeps credentials, host and query parameters).
pub fn with_database(url: &str, database: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let authority_end = head[authority_start..].find('/').map_or(head.len(), |i| authority_start + i);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}/{database}{query}", &head[..authority_end])
}

/// Pool options of test stores: small (tests run in parallel against one server), patient.
pub fn test_options(max_connections: u32) -> ConnectOptions {
    ConnectOptions { max_connections, acquire_timeout: Duration::from_secs(20) }
}

/// An empty database that lives as long as the test: a file in a temporary directory, or a
/// PostgreSQL database of its own.
#[derive(Clone)]
pub struct FreshDb {
    pub backend: Backend,
    pub url: String,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<Arc<TempDir>>,
    /// The PostgreSQL database to drop at the end.
    postgres_name: Option<String>,
}

impl FreshDb {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("provenance.db").display());
                Self { backend, url, _dir: Some(Arc::new(dir)), postgres_name: None }
            }
            Backend::Postgres => {
                let base = postgres_base_url();
                let name = format!("pvn_test_{}", ulid::Ulid::new().to_string().to_lowercase());
                let mut admin = PgConnection::connect(&base)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {base} (PROVENANCE_TEST_DATABASE_URL): {e}"));
                sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut admin).await.unwrap();
                admin.close().await.unwrap();
                Self { backend, url: with_database(&base, &name), _dir: None, postgres_name: Some(name) }
            }
        }
    }

    /// Best effort: a database left behind only costs disk, and its name says what it was.
    pub async fn destroy(self) {
        let Some(name) = &self.postgres_name else { return };
        if let Ok(mut admin) = PgConnection::connect(&postgres_base_url()).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin).await;
            let _ = admin.close().await;
        }
    }

    /// The backend's store on this database, as the concrete type behind the interface, not
    /// migrated.
    pub async fn connect(&self, options: &ConnectOptions) -> (Arc<dyn Store>, RawPool) {
        match self.backend {
            Backend::Sqlite => {
                let s = SqliteStore::connect(&self.url).await.unwrap();
                let pool = s.pool().clone();
                (Arc::new(s), RawPool::Sqlite(pool))
            }
            Backend::Postgres => {
                let s = PostgresStore::connect(&self.url, options).await.unwrap();
                let pool = s.pool().clone();
                (Arc::new(s), RawPool::Postgres(pool))
            }
        }
    }
}

/// The pool under a test store, for the few assertions that look at rows directly.
#[derive(Clone)]
pub enum RawPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A bind parameter of a raw statement (written with `$1`, which both backends accept).
pub enum Arg {
    Text(String),
    Int(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(n)
    }
}

/// A migrated store on a fresh database, behind the repository interface.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub raw: RawPool,
    pub db: FreshDb,
}

impl TestStore {
    pub async fn open(db: &FreshDb) -> Self {
        let (store, raw) = db.connect(&test_options(8)).await;
        store.apply_migrations().await.unwrap();
        Self { store, raw, db: db.clone() }
    }

    pub fn as_dyn(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    pub fn backend(&self) -> Backend {
        self.db.backend
    }

    /// Run a statement without parameters; returns the rows it affected.
    pub async fn execute(&self, sql: &str) -> u64 {
        match &self.raw {
            RawPool::Sqlite(pool) => sqlx::query(sql).execute(pool).await.unwrap().rows_affected(),
            RawPool::Postgres(pool) => sqlx::query(sql).execute(pool).await.unwrap().rows_affected(),
        }
    }

    /// The first column (text) of every row of a query with one parameter.
    pub async fn texts(&self, sql: &str, arg: impl Into<Arg>) -> Vec<Option<String>> {
        macro_rules! fetch {
            ($pool:expr) => {{
                let q = sqlx::query_scalar(sql);
                let q = match arg.into() {
                    Arg::Text(s) => q.bind(s),
                    Arg::Int(n) => q.bind(n),
                };
                q.fetch_all($pool).await.unwrap()
            }};
        }
        match &self.raw {
            RawPool::Sqlite(pool) => fetch!(pool),
            RawPool::Postgres(pool) => fetch!(pool),
        }
    }
}

impl std::ops::Deref for TestStore {
    type Target = dyn Store + 'static;
    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

/// Whatever the helpers below can use as a store: a `TestStore`, a concrete store, `dyn Store`.
pub trait AsStore {
    fn as_store(&self) -> &dyn Store;
}

impl AsStore for TestStore {
    fn as_store(&self) -> &dyn Store {
        &*self.store
    }
}

impl AsStore for dyn Store {
    fn as_store(&self) -> &dyn Store {
        self
    }
}

impl AsStore for SqliteStore {
    fn as_store(&self) -> &dyn Store {
        self
    }
}

impl AsStore for PostgresStore {
    fn as_store(&self) -> &dyn Store {
        self
    }
}

/// Run `case` on a migrated store of `backend`, then drop its database, even when it panics.
pub async fn run<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(TestStore) -> Fut,
    Fut: Future<Output = ()>,
{
    run_fresh(backend, |db| async move {
        let store = TestStore::open(&db).await;
        case(store).await;
    })
    .await;
}

/// Run `case` on an empty database of `backend`, then drop it, even when it panics.
pub async fn run_fresh<F, Fut>(backend: Backend, case: F)
where
    F: FnOnce(FreshDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = FreshDb::create(backend).await;
    let outcome = AssertUnwindSafe(case(db.clone())).catch_unwind().await;
    db.destroy().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

pub async fn tenant(store: &(impl AsStore + ?Sized)) -> TenantId {
    let id = TenantId::generate();
    store.as_store().ensure_tenant(&id, "Acme").await.unwrap();
    id
}

pub fn line(path: &str, n: u32) -> ChangedLine {
    ChangedLine {
        file_path: RepoPath::parse(path).unwrap(),
        line_number: n,
        change_type: ChangeType::Added,
        content: Some(format!("x{n} = eval(input())")),
        language: Some("python".into()),
        author_identity: Some("dev@example.com".into()),
        declared: Some(DeclaredAttribution {
            agent_id: Some(AgentId::parse("claude-code").unwrap()),
            ..Default::default()
        }),
        content_sha256: None,
        attestation_signature: None,
        attribution: Attribution::unknown(),
    }
}

/// A submission of `lines` added lines of `api/orders.py` to `acme/shop` PR `pr` at `head`.
pub fn new_analysis(tenant: &TenantId, pr: u64, head: &str, lines: u32) -> NewAnalysis {
    let lines: Vec<ChangedLine> = (1..=lines).map(|n| line("api/orders.py", n)).collect();
    let inputs_sha256 = provenance_core::digest::sha256_hex(format!("{pr}{head}{}", lines.len()).as_bytes());
    NewAnalysis {
        id: AnalysisId::generate(),
        tenant_id: tenant.clone(),
        repo: RepoName::parse("acme/shop").unwrap(),
        pr_number: pr,
        base_sha: CommitSha::parse("abc123").unwrap(),
        head_sha: CommitSha::parse(head).unwrap(),
        branch: Some("feature/x".into()),
        lines,
        files: vec![FileContent { path: RepoPath::parse("api/orders.py").unwrap(), content: "import os\n".into() }],
        report_mode: ReportMode::Added,
        metadata: serde_json::json!({"ci": "github"}).as_object().unwrap().clone(),
        inputs_sha256,
        created_at: Utc::now(),
    }
}

pub fn job_for(new: &NewAnalysis) -> OutboxMessage {
    OutboxMessage { topic: topics::ANALYSIS_JOBS.into(), key: new.id.to_string(), payload: new.id.to_string().into() }
}

pub fn idempotency(key: &str, request: &str) -> IdempotencyKey {
    IdempotencyKey { key: key.into(), request_sha256: provenance_core::digest::sha256_hex(request.as_bytes()) }
}

/// Submit and expect a new analysis.
pub async fn submitted(store: &(impl AsStore + ?Sized), new: &NewAnalysis) -> Analysis {
    match store.as_store().submit_analysis(new, None, &job_for(new)).await.unwrap() {
        Submitted::Created(a) => a,
        other => panic!("expected Created, got {other:?}"),
    }
}

pub fn finding_on(line: &ChangedLine, severity: Severity) -> Finding {
    Finding::from_detection(
        Detection {
            rule_id: "python.eval".into(),
            rule_version: "1".into(),
            category: "code_execution".into(),
            severity,
            message: "eval of user input".into(),
            location: Location {
                file_path: line.file_path.clone(),
                start_line: line.line_number,
                end_line: line.line_number,
                start_column: 6,
                end_column: 19,
            },
            snippet: line.content.clone().unwrap_or_default(),
            engine: "regex".into(),
        },
        line.attribution.clone(),
    )
}

pub fn ai_attribution() -> Attribution {
    Attribution {
        contributor: Contributor::Ai,
        agent_id: Some(AgentId::parse("claude-code").unwrap()),
        model_id: None,
        session_id: None,
        source: provenance_core::AttributionSource::Declared,
        confidence: 0.9,
        flags: Vec::new(),
    }
}

/// What a worker would commit for `input`: every line attributed to an agent, one high finding
/// per line, the default policy's decision, and stand-in bundle and SARIF documents.
pub fn result_for(input: &JobInput, completed_at: DateTime<Utc>) -> AnalysisResult {
    let lines: Vec<ChangedLine> =
        input.lines.iter().cloned().map(|l| ChangedLine { attribution: ai_attribution(), ..l }).collect();
    let findings: Vec<Finding> = lines.iter().map(|l| finding_on(l, Severity::High)).collect();
    let decision = decide(DecisionInput {
        analysis_id: &input.analysis.id,
        lines: &lines,
        findings: &findings,
        policy: &Policy::default(),
        detectors: vec![DetectorRef { name: "regex".into(), version: "1".into(), rulepack_sha256: "0".repeat(64) }],
        detectors_incomplete: Vec::new(),
        timings_ms: BTreeMap::from([("detect".to_string(), 3)]),
        decided_at: completed_at,
    });
    AnalysisResult {
        analysis_id: input.analysis.id.clone(),
        lines,
        findings,
        decision,
        bundle: serde_json::json!({"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": []}),
        sarif: serde_json::json!({"version": "2.1.0", "runs": []}),
        completed_at,
        events: Vec::new(),
    }
}

/// A time truncated to what the store keeps (milliseconds).
pub fn millis(at: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(at, 3)
}

pub const SHORT_LEASE: Duration = Duration::from_millis(200);
