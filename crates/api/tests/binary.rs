//! The `provenance-api` binary's one-shot commands, as a container runs them: `migrate` before the
//! services start, `healthcheck` as the image's health check (the images have no shell or curl).
//! On SQLite, so no service is needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_provenance-api");

fn api(data_dir: &Path, listen: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PROVENANCE_DATA_DIR", data_dir)
        .env("PROVENANCE_DATABASE_URL", format!("sqlite://{}", data_dir.join("provenance.db").display()))
        .env("PROVENANCE_HTTP_LISTEN", listen)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn migrate_prepares_the_schema_the_service_then_starts_on() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());

    // Without migrations the service refuses to start and says what to do.
    let refused = run(api(dir.path(), &listen).arg("--listen").arg(&listen));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("migrate"), "{refused:?}");

    for _ in 0..2 {
        let out = run(api(dir.path(), &listen).arg("migrate"));
        assert!(out.status.success(), "{out:?}");
    }

    let mut server = api(dir.path(), &listen).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let started = Instant::now();
    let healthy = loop {
        if run(api(dir.path(), &listen).arg("healthcheck")).status.success() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(20) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(healthy, "the started service never passed its health check");
}

#[test]
fn the_health_check_fails_when_nothing_answers() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("0.0.0.0:{}", free_port());
    let out = run(api(dir.path(), &listen).arg("healthcheck"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not ready") && stderr.contains("127.0.0.1:"), "probes loopback for 0.0.0.0: {stderr}");
}
