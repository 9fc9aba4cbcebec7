//! The PostgreSQL store of distributed mode: the system of record shared by every API and worker
//! replica. It implements every repository of `repository.rs` with the same semantics as the
//! SQLite store (one submodule per repository), plus what only a shared database needs:
//! `FOR UPDATE SKIP LOCKED` outbox claims, advisory locks for singleton duties and migrations, and
//! `ON CONFLICT` where concurrent writers meet.
//!
//! Queries are built at run time (no compile-time checked macros, so the crate builds without a
//! database). Timestamps are `timestamptz` truncated to milliseconds like SQLite's; JSON
//! documents are text (`jsonb` only where small: scopes, metadata; see migration 0002), bound
//! and read back as text.

mod access;
mod agents;
mod analyses;
mod governance;
mod maintenance;
mod outbox;
mod pipeline;
mod rows;
mod scheduler;
mod submission;
mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use provenance_core::AnalysisId;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::Notify;

use crate::ConnectOptions;
use crate::error::{StoreError, StoreResult};

/// A pooled connection idle at least this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// The PostgreSQL implementation of [`crate::Store`]. Cheap to clone: clones share the pool and
/// the outbox notifier.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// How long a caller waits for a pooled connection (also bounds `ping`).
    acquire_timeout: Duration,
    /// Woken after every commit of this process that adds a due outbox row. Other processes'
    /// commits are seen by polling (the relay and the queues poll as a safety net anyway).
    outbox_notify: Arc<Notify>,
    /// Started on first use: forwards `NOTIFY` of settled analyses from every process.
    settled: Arc<std::sync::OnceLock<tokio::sync::broadcast::Sender<AnalysisId>>>,
}

impl PostgresStore {
    /// Connect to the database named by `url` (`postgres://user@host:port/db?…`). Fails when the
    /// database cannot be reached within `options.acquire_timeout`, so a misconfigured service
    /// stops at start instead of serving 503s. Once started, an outage makes every call fail with
    /// [`StoreError::Database`] (connection-level errors, which the API answers with 503), and the
    /// pool reconnects by itself when the database is back: a connection that fails is dropped
    /// when released, and one idle for a second or more is tested before use.
    ///
    /// Does not migrate; call [`crate::MaintenanceRepository::apply_migrations`] (or use
    /// [`crate::connect`]).
    pub async fn connect(url: &str, options: &ConnectOptions) -> StoreResult<Self> {
        let mut connect_options = PgConnectOptions::from_str(url)?;
        if connect_options.get_application_name().is_none() {
            connect_options = connect_options.application_name("provenance");
        }
        let target = describe(&connect_options);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // sqlx pings a connection when it goes back to the pool, and by default again when it
            // comes out: two extra round trips per use, a tenth of the API's CPU time in the
            // round-trip benchmark. The ping on release stays (a broken connection is dropped
            // there); on acquire, only a connection that sat idle long enough to have been cut
            // since (a database restart, a proxy's idle timeout) is pinged first.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(connect_options)
            .await
            .map_err(|e| match e {
                // The pool retried "connection refused" until the timeout: say what it tried.
                sqlx::Error::PoolTimedOut => StoreError::Database(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("cannot connect to PostgreSQL at {target} within {:?}", options.acquire_timeout),
                ))),
                other => StoreError::Database(other),
            })?;
        Ok(Self {
            pool,
            acquire_timeout: options.acquire_timeout,
            outbox_notify: Arc::new(Notify::new()),
            settled: Arc::default(),
        })
    }

    /// The underlying pool (for health checks and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Close every connection; pending operations finish first.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn notify_outbox(&self) {
        self.outbox_notify.notify_one();
    }

    /// Receivers of settled-analysis ids; the first call starts the `LISTEN` task.
    pub(crate) fn subscribe_settled(&self) -> tokio::sync::broadcast::Receiver<AnalysisId> {
        self.settled
            .get_or_init(|| {
                let (sender, _) = tokio::sync::broadcast::channel(1024);
                tokio::spawn(listen_settled(self.pool.clone(), sender.clone()));
                sender
            })
            .subscribe()
    }
}

/// The `NOTIFY` channel on which a committed completion or failure announces the analysis id.
pub(crate) const SETTLED_CHANNEL: &str = "provenance_analysis_settled";

/// Forward notifications to the broadcast channel, reconnecting for as long as anyone may listen.
async fn listen_settled(pool: PgPool, sender: tokio::sync::broadcast::Sender<AnalysisId>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(error = %e, "settled-analysis listener cannot connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(SETTLED_CHANNEL).await {
            tracing::debug!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        loop {
            match listener.recv().await {
                Ok(notification) => {
                    if let Ok(id) = notification.payload().parse::<AnalysisId>() {
                        let _ = sender.send(id);
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "settled-analysis listener lost its connection");
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `host:port/database` (never the password), for error messages.
fn describe(options: &PgConnectOptions) -> String {
    let database = options.get_database().unwrap_or(options.get_username());
    match options.get_socket() {
        Some(socket) => format!("{}/{database}", socket.display()),
        None => format!("{}:{}/{database}", options.get_host(), options.get_port()),
    }
}

/// A time as the store keeps it: truncated to the millisecond, like the SQLite store, so both
/// read back the same value.
fn ts(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(3)
}

fn opt_ts(at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    at.map(ts)
}

/// The longest lease or delay added to the database clock: far beyond any real use, well inside
/// `timestamptz`'s range.
const MAX_INTERVAL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// A duration as microseconds for `now() + $n * interval '1 microsecond'`.
fn micros(d: Duration) -> i64 {
    i64::try_from(d.min(MAX_INTERVAL).as_micros()).unwrap_or(i64::MAX)
}
