//! Integration tests of provenance-store: the SQLite repositories, the embedded queue and the
//! keyring. One binary, one module per area; every test has its own database file.

// Fixtures and helpers unwrap too: a panic in a test is a failed assertion with a line number.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod keyring;
mod outbox;
mod pipeline;
mod queue;
mod reads;
mod submission;
mod support;
