//! The `provenance` binary's settings live in `provenance_store::config`, shared with
//! `provenance-api` and `provenance-worker` so every `PROVENANCE_*` name means the same
//! everywhere.

pub use provenance_store::config::{LogFormat, Overrides, Settings, WorkerSettings, redact_url};
