#!/usr/bin/env bash
# Round-trip benchmark of distributed mode on this machine's PostgreSQL, RabbitMQ and Redis:
# one provenance-api and one provenance-worker (release builds), a fresh database and queue
# prefix, then closed-loop load at concurrency 1 and 8 with 200-changed-line PRs (10 files).
# Prints one JSON line per run; `just bench-roundtrip` runs it. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/provenance-target}"
DURATION="${DURATION:-20}"
CONCURRENCY="${CONCURRENCY:-1 8}"
# Runs per concurrency: on a shared host one run can be off by a fifth either way; report the median.
REPEAT="${REPEAT:-1}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
# The services reach PostgreSQL over loopback here, where TLS protects nothing and costs CPU on
# both ends; set PG_OPTIONS=sslmode=prefer (sqlx's default) to measure with it.
PG_OPTIONS="${PG_OPTIONS:-sslmode=disable}"

cargo build --release --locked -q -p provenance -p provenance-api -p provenance-worker -p provenance-bench
bin="$CARGO_TARGET_DIR/release"

run_id="$(date +%s)_$$"
db="provenance_bench_$run_id"
prefix="bench$run_id."
data_dir="$(mktemp -d)"
psql "$PG/postgres" -qc "CREATE DATABASE $db" >/dev/null

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rabbitmqctl -q list_queues name 2>/dev/null | grep "^$prefix" | while read -r q; do
    rabbitmqctl -q delete_queue "$q" </dev/null >/dev/null 2>&1 || true  # it reads stdin: keep it off the list
  done
  rm -rf "$data_dir"
}
trap cleanup EXIT

export PROVENANCE_DATABASE_URL="$PG/$db?$PG_OPTIONS"
export PROVENANCE_AMQP_URL="amqp://guest:guest@127.0.0.1:5672/%2f"
export PROVENANCE_AMQP_PREFIX="$prefix"
export PROVENANCE_REDIS_URL="redis://127.0.0.1:6379/"
export PROVENANCE_DATA_DIR="$data_dir"
export PROVENANCE_HTTP_LISTEN="127.0.0.1:18080"
export PROVENANCE_WORKER__HEALTH_LISTEN="127.0.0.1:19090"
export PROVENANCE_LOG_FORMAT=json
export RUST_LOG="${RUST_LOG:-warn}"
PROVENANCE_API_KEY="$("$bin/provenance" api-keys mint)"
export PROVENANCE_API_KEY PROVENANCE_BOOTSTRAP_ADMIN_KEY="$PROVENANCE_API_KEY"

"$bin/provenance" migrate
"$bin/provenance-api" 2>"$data_dir/api.log" &
pids+=($!); api=$!
"$bin/provenance-worker" 2>"$data_dir/worker.log" &
pids+=($!); worker=$!
for _ in $(seq 100); do
  curl -fs http://127.0.0.1:18080/health/ready >/dev/null && curl -fs http://127.0.0.1:19090/health/ready >/dev/null && break
  sleep 0.2
done

echo "# $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); api pid $api, worker pid $worker" >&2
for round in $(seq "$REPEAT"); do
for c in $CONCURRENCY; do
  "$bin/provenance-bench" roundtrip --api-url http://127.0.0.1:18080 --concurrency "$c" \
    --duration-seconds "$DURATION" --files 10 --lines-per-file 20 --poll-ms "${POLL_MS:-5}" \
    --pid "api=$api" --pid "worker=$worker" --label "distributed c=$c run $round"
done
done
