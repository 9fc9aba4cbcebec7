//! A distributed Provenance for tests: a fresh Postgres database and RabbitMQ name prefix per
//! test, the API in-process on port 0, and `provenance-worker` processes that a test can kill.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use provenance_store::config::Settings;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub mod receiver;

pub fn database_admin_url() -> String {
    std::env::var("PROVENANCE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn amqp_url() -> String {
    std::env::var("PROVENANCE_TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

pub fn redis_url() -> String {
    std::env::var("PROVENANCE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a database URL ends with /<name>");
    format!("{base}/{db}")
}

pub struct System {
    pub dir: tempfile::TempDir,
    pub settings: Settings,
    pub base_url: String,
    pub admin_token: String,
    pub http: reqwest::Client,
    pub database: String,
    pub workers: Vec<Child>,
    api_shutdown: CancellationToken,
    api: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl System {
    /// A fresh database and broker prefix, migrated, with the API serving.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let suffix = ulid::Ulid::new().to_string().to_lowercase();
        let database = format!("pvn_sys_{suffix}");
        let admin = sqlx::PgPool::connect(&database_admin_url()).await.expect("PostgreSQL answers");
        sqlx::query(&format!("CREATE DATABASE {database}")).execute(&admin).await.unwrap();
        admin.close().await;

        let admin_token = provenance_core::access::mint_api_key(rand::random()).token;
        let mut settings = Settings {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(with_database(&database_admin_url(), &database)),
            amqp_url: Some(amqp_url()),
            amqp_prefix: format!("t{suffix}."),
            redis_url: Some(redis_url()),
            migrate: true,
            bootstrap_admin_key: Some(admin_token.clone().into()),
            ..Settings::default()
        };
        settings.worker.lease_seconds = 3;
        settings.worker.retry_base_ms = 100;
        configure(&mut settings);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let api_shutdown = CancellationToken::new();
        let api = tokio::spawn(provenance_api::startup::serve_on(listener, settings.clone(), api_shutdown.clone()));
        let system = Self {
            dir,
            settings,
            base_url,
            admin_token,
            // Generous: the in-process API is a debug build, and the largest submission here
            // (60 000 lines, to keep a worker busy long enough to be killed mid-job) shares two
            // cores with the workers, the services and whatever else CI runs.
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
            database,
            workers: Vec::new(),
            api_shutdown,
            api: Some(api),
        };
        system.wait_ready().await;
        system
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            if let Ok(r) = self.http.get(format!("{}/health/ready", self.base_url)).send().await
                && r.status() == 200
            {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the API did not become ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Start a `provenance-worker` process with this system's settings.
    pub fn spawn_worker(&mut self) -> usize {
        let s = &self.settings;
        // The internal port: the one a test chose (to call the worker's DetectorService), else
        // any free one.
        let health = if s.worker.health_listen == Settings::default().worker.health_listen {
            "127.0.0.1:0".to_string()
        } else {
            s.worker.health_listen.to_string()
        };
        let child = Command::new(env!("CARGO_BIN_EXE_provenance-worker"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PROVENANCE_DATA_DIR", s.data_dir.as_os_str())
            .env("PROVENANCE_DATABASE_URL", s.database_url.as_deref().unwrap())
            .env("PROVENANCE_AMQP_URL", s.amqp_url.as_deref().unwrap())
            .env("PROVENANCE_AMQP_PREFIX", &s.amqp_prefix)
            .env("PROVENANCE_WORKER__HEALTH_LISTEN", health)
            .env("PROVENANCE_WORKER__LEASE_SECONDS", s.worker.lease_seconds.to_string())
            .env("PROVENANCE_WORKER__RETRY_BASE_MS", s.worker.retry_base_ms.to_string())
            .env("PROVENANCE_WEBHOOK_ALLOW_HOSTS", &s.webhook_allow_hosts)
            .env("PROVENANCE_LOG_FORMAT", "text")
            .envs(s.otlp_endpoint.iter().flat_map(|endpoint| {
                // Spans leave in batches every 200 ms rather than 5 s, so a test sees them soon.
                [("PROVENANCE_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_BSP_SCHEDULE_DELAY", "200")]
            }))
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("provenance-worker starts");
        self.workers.push(child);
        self.workers.len() - 1
    }

    /// SIGKILL a worker process: no chance to finish or hand back its job.
    pub fn kill_worker(&mut self, index: usize) {
        let child = &mut self.workers[index];
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub async fn submit(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/analysis", self.base_url))
            .bearer_auth(&self.admin_token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base_url)).bearer_auth(&self.admin_token).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(&self.admin_token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// GET a JSON resource that must exist.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    pub async fn analysis(&self, id: &str) -> Value {
        self.get(&format!("/v1/analysis/{id}")).await.json().await.unwrap()
    }

    /// Wait until every analysis is terminal; returns them.
    pub async fn wait_all_terminal(&self, ids: &[String], timeout: Duration) -> Vec<Value> {
        let started = Instant::now();
        let mut done = Vec::new();
        for id in ids {
            loop {
                let r = self.get(&format!("/v1/analysis/{id}")).await;
                if r.status() == 200 {
                    let a: Value = r.json().await.unwrap();
                    if matches!(a["status"].as_str(), Some("completed" | "failed")) {
                        done.push(a);
                        break;
                    }
                }
                assert!(started.elapsed() < timeout, "analysis {id} not terminal after {timeout:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        done
    }

    /// Direct SQL on this test's database (for counting what the API does not expose).
    pub async fn sql_count(&self, sql: &str) -> i64 {
        let pool = sqlx::PgPool::connect(self.settings.database_url.as_deref().unwrap()).await.unwrap();
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }

    pub async fn stop(mut self) {
        for w in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
        self.api_shutdown.cancel();
        if let Some(api) = self.api.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), api).await;
        }
        // Drop removes the database and the broker objects.
    }
}

/// Remove what a test created on the shared services: its database and every queue and
/// exchange under its prefix (left behind, they pile up and slow every broker restart).
async fn clean_up(database: String, prefix: String) {
    if let Ok(admin) = sqlx::PgPool::connect(&database_admin_url()).await {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).execute(&admin).await;
        admin.close().await;
    }
    let connection = lapin::Connection::connect(&amqp_url(), lapin::ConnectionProperties::default()).await;
    if let Ok(connection) = connection
        && let Ok(channel) = connection.create_channel().await
    {
        let _ = provenance_store::amqp::Topology::new(&prefix).delete(&channel).await;
        let _ = connection.close(0, "test cleanup".into()).await;
    }
}

impl Drop for System {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
        self.api_shutdown.cancel();
        let (database, prefix) = (self.database.clone(), self.settings.amqp_prefix.clone());
        // Drop cannot await: clean up on a runtime of its own, also when the test panicked.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                rt.block_on(clean_up(database, prefix));
            }
        })
        .join();
    }
}

/// A realistic pull request: `files` files of `lines_per_file` added lines, with a few risky
/// lines among them, attributed to an agent. `seed` makes the head sha unique.
pub fn pull_request(seed: u64, files: usize, lines_per_file: usize) -> Value {
    let mut lines = Vec::new();
    for f in 0..files {
        for n in 1..=lines_per_file {
            let content = match n % 50 {
                7 => format!("query = f\"SELECT * FROM orders WHERE id = {{order_id_{n}}}\""),
                23 => "subprocess.run(cmd, shell=True)".to_string(),
                _ => format!("value_{n} = compute(item_{n}, factor={f})"),
            };
            lines.push(json!({
                "file_path": format!("service/module_{f}.py"), "line_number": n, "change_type": "added",
                "content": content, "language": "python", "attribution": {"agent_id": "claude-code"}
            }));
        }
    }
    json!({
        "repo": "acme/shop", "pr_number": (seed % 10_000) + 1, "base_sha": "abc123",
        "head_sha": format!("{:040x}", u128::from(seed) * 0x9e37_79b9_7f4a_7c15 + 1),
        "provenance_data": {"changed_lines": lines}
    })
}
