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
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row that no longer decodes into the domain type (a bug or manual edit).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}
