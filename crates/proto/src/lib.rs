//! Provenance's protobuf contract, generated from `proto/provenance/v1` at build time: the queue
//! messages, and the gRPC services (`AnalysisService`, `DetectorService`, `WebhookService`) with
//! their clients and servers; and the conversions between the messages and the domain types of
//! `provenance-core` (`convert`).

pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/provenance.v1.rs"));
}

/// The encoded file descriptor set of every `provenance.v1` file, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/provenance_descriptor.bin"));

pub mod convert;
pub mod status;

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
