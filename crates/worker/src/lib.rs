//! Provenance's worker: consumes analysis jobs and runs the pipeline
//! detectors → attribution → policy → decision → signed statement → SARIF, committing the
//! results before acknowledging the job.

pub mod consumer;
pub mod health;
pub mod internal_port;
pub mod pipeline;
pub mod scheduler;
pub mod startup;
pub mod webhooks;

pub use consumer::Worker;
pub use pipeline::{Pipeline, PipelineError};
pub use provenance_store::config::WorkerSettings;
