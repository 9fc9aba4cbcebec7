//! TLS to the data services, as managed offerings require it (`rediss://` for ElastiCache,
//! `amqps://` for Amazon MQ): a TLS Redis started here with a certificate of our own CA is reached
//! when SSL_CERT_FILE trusts that CA, and refused — by certificate verification — when it does
//! not. A build without TLS support would fail both ways differently ("TLS not enabled").
//!
//! The trusted case runs in a copy of this test with SSL_CERT_FILE set, as an operator would set
//! it for a private CA; the process's own environment stays untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, and a certificate for 127.0.0.1 and localhost that it signed.
fn make_certificates(dir: &Path) {
    let p = |name: &str| dir.join(name);
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-nodes", "-days", "1", "-subj", "/CN=provenance test CA", "-keyout"])
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    run(Command::new("openssl")
        .args(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(p("server.key"))
        .arg("-out")
        .arg(p("server.csr")));
    std::fs::write(p("ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "1", "-in"])
        .arg(p("server.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-CAcreateserial")
        .arg("-extfile")
        .arg(p("ext.cnf"))
        .arg("-out")
        .arg(p("server.pem")));
}

fn start_tls_redis(dir: &Path) -> (Server, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("redis-server")
        .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1", "--tls-auth-clients", "no"])
        .arg("--tls-cert-file")
        .arg(dir.join("server.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("server.key"))
        .arg("--tls-ca-cert-file")
        .arg(dir.join("ca.pem"))
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let server = Server(child);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "the TLS Redis did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

async fn redis_ping(url: &str) -> Result<String, String> {
    let client = deadpool_redis::redis::Client::open(url).map_err(|e| format!("open: {e}"))?;
    let mut conn = client.get_multiplexed_async_connection().await.map_err(|e| format!("connect: {e}"))?;
    deadpool_redis::redis::cmd("PING").query_async::<String>(&mut conn).await.map_err(|e| format!("ping: {e}"))
}

async fn amqp_connect(url: &str) -> Result<(), String> {
    lapin::Connection::connect(url, lapin::ConnectionProperties::default())
        .await
        .map(|_| ())
        .map_err(|e| format!("{e}"))
}

/// Set in the copy of this test that runs with SSL_CERT_FILE trusting the test CA.
const CHILD_URL: &str = "PROVENANCE_TLS_TEST_REDIS_URL";

#[tokio::test]
#[ignore = "needs redis-server (with TLS) and openssl, as on the CI machine"]
async fn rediss_and_amqps_connect_with_verified_certificates_only() {
    // The copy run with our CA trusted (the environment is read-only in-process: unsafe).
    if let Ok(url) = std::env::var(CHILD_URL) {
        assert_eq!(redis_ping(&url).await.as_deref(), Ok("PONG"), "rediss:// with the CA trusted");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let (_server, port) = start_tls_redis(dir.path());
    let rediss = format!("rediss://127.0.0.1:{port}/");

    // Trusted through SSL_CERT_FILE, the server answers.
    let trusted = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "rediss_and_amqps_connect_with_verified_certificates_only", "--include-ignored"])
        .env("SSL_CERT_FILE", dir.path().join("ca.pem"))
        .env(CHILD_URL, &rediss)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&trusted.stdout);
    assert!(trusted.status.success() && report.contains("1 passed"), "{report}");

    // Without our CA among the trusted roots the same server is refused, by verification.
    let refused = redis_ping(&rediss).await.unwrap_err();
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");

    // amqps:// goes through TLS with the same trust: the handshake with this TLS server fails on
    // its certificate (an AMQP broker is not needed to tell a verifying TLS client from none).
    let amqps = amqp_connect(&format!("amqps://guest:guest@localhost:{port}/%2f")).await.unwrap_err();
    assert!(amqps.to_lowercase().contains("certificate") || amqps.contains("UnknownIssuer"), "{amqps}");
}
