//! The `provenance` command-line tool: embedded `serve`, `submit`, `verify`, `scan`, `api-keys`,
//! `keys`, `smoke` and `config`. `main.rs` only parses arguments and calls into these modules.

pub mod api_keys;
pub mod attest;
pub mod client;
pub mod embedded;
pub mod keys;
pub mod scan;
pub mod settings;
pub mod smoke;
pub mod submit;
pub mod verify;
