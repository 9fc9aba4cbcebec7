//! Provenance's worker: consumes analysis jobs and runs the pipeline
//! detectors → attribution → policy → decision → signed statement → SARIF, committing the
//! results before acknowledging the job.

pub mod consumer;
pub mod pipeline;

pub use consumer::{Worker, WorkerSettings};
pub use pipeline::{Pipeline, PipelineError};
