//! The store's error type: callers match on `NotFound`, `Conflict` and `IdempotencyMismatch`;
//! everything else is an infrastructure failure.

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("the Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The message broker refused or could not take the operation (transient).
    #[error("message broker: {0}")]
    Broker(String),
    /// The schema lacks migrations; run `provenance migrate` (or start with `--migrate`).
    #[error("the database schema is not up to date: {} pending migration(s) ({}); run `provenance migrate` or start with --migrate", .0.len(), .0.join(", "))]
    Unmigrated(Vec<String>),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row that no longer decodes into the domain type (a bug or manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}
