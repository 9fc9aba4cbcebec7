//! Readiness probes live with the adapters they check (`provenance_store::health`).

pub use provenance_store::health::*;
