# Everyday commands. `just --list` shows them all.

export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", env_var("HOME") + "/.cache/provenance-target")

# Run the whole service in one process (embedded mode, SQLite, no servers needed).
run *ARGS:
    cargo run --release -p provenance -- serve {{ARGS}}

# The README's test command: everything that needs no external service.
test *ARGS:
    cargo test --workspace {{ARGS}}

# Tests including those that need the local Postgres, RabbitMQ and Redis.
test-all:
    cargo test --workspace -- --include-ignored

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Format the code.
fmt:
    cargo fmt --all

# Exactly what CI runs.
ci:
    bash .ci/run

# Round-trip benchmark of distributed mode on the local services (see docs/PERFORMANCE.md).
bench-roundtrip:
    bash scripts/bench-roundtrip.sh

# Webhook delivery benchmark of distributed mode: backlog drain (deliveries/s), then a fixed rate (latency).
bench-webhooks:
    bash scripts/bench-webhooks.sh

# Detector benchmark: `provenance scan` vs Semgrep on a ~150k-line corpus and a PR-sized diff.
bench-detect:
    bash scripts/bench-detect.sh

# Interoperability: our bundles verified by securesystemslib, our SARIF by jsonschema (CI runs it).
check-interop:
    bash scripts/check-interop.sh

# gRPC clients against `provenance serve`: Python grpcio by reflection, and the Rust example (CI runs it).
check-grpc:
    bash scripts/check-grpc-client.sh

# Fuzz the diff parser for SECONDS (nightly + cargo-fuzz, installed if missing).
fuzz SECONDS="600":
    bash scripts/fuzz.sh {{SECONDS}}

# Static checks of every deploy artifact: images, compose, Helm, Terraform, workflows, monitoring (CI runs it).
check-deploy:
    bash scripts/check-deploy.sh

# `provenance smoke` against a deployment, e.g. `just smoke https://provenance.example.com` (PROVENANCE_API_KEY).
smoke URL="http://127.0.0.1:8080":
    cargo run -q --release -p provenance -- smoke --base-url {{URL}}
