//! Provenance's protobuf contract, generated from `proto/provenance/v1` at build time.

pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/provenance.v1.rs"));
}

pub use prost::Message;

impl v1::AnalysisJob {
    /// A job that runs the pipeline over `analysis_id`; `job_id` keys idempotent handling.
    pub fn for_analysis(job_id: &str, tenant_id: &str, analysis_id: &str, enqueued_at_unix_ms: i64) -> Self {
        Self {
            job_id: job_id.to_string(),
            tenant_id: tenant_id.to_string(),
            analysis_id: analysis_id.to_string(),
            traceparent: String::new(),
            enqueued_at_unix_ms,
        }
    }
}
