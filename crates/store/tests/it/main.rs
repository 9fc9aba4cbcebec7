//! Integration tests of provenance-store: the repositories on both backends, the embedded queue
//! and the keyring. One binary, one module per area; every test has its own database.
//!
//! Each repository test is an `async fn(TestStore)` run twice by `both_backends!`: as
//! `<name>::sqlite` (a temporary SQLite file, always) and `<name>::postgres` (a database of its
//! own on the server of `PROVENANCE_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; ignored unless run with `--include-ignored`).

// Fixtures and helpers unwrap too: a panic in a test is a failed assertion with a line number.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod support;

mod access;
mod governance;
mod keyring;
mod maintenance;
mod outbox;
mod pipeline;
mod postgres;
mod queue;
mod reads;
mod recovery;
mod scheduler;
mod submission;
mod trace;
mod upgrades;
mod webhooks;
