#!/usr/bin/env bash
# Webhook delivery benchmark of distributed mode on this machine's PostgreSQL, RabbitMQ and Redis:
# one provenance-api and one provenance-worker (release builds), a fresh database and queue
# prefix, and `provenance-bench webhooks`, which receives the deliveries itself (a local HTTP
# receiver), creates ENDPOINTS endpoints through the API, emits events straight into the
# database (as a completing analysis does) and measures two phases: a backlog of BACKLOG
# deliveries drained as fast as possible (deliveries/s, exactly-once check), then RATE
# deliveries/s for DURATION seconds (event → delivery latency). One JSON line per phase;
# `just bench-webhooks` runs it. Leaves nothing behind.
#
# Knobs: BACKLOG (20000), RATE (500), DURATION (20), ENDPOINTS (4), REPEAT (runs, 1), PHASES
# ("drain,steady"), PROGRESS (1: outbox and queue depths every second on stderr), QUEUE
# (rabbitmq, or outbox: the worker runs without PROVENANCE_AMQP_URL and consumes the database
# outbox), LABEL (added to the label),
# PG_OPTIONS, and any PROVENANCE_* setting, e.g. PROVENANCE_WORKER__PREFETCH=64.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/provenance-target}"
BACKLOG="${BACKLOG:-20000}"
RATE="${RATE:-500}"
DURATION="${DURATION:-20}"
ENDPOINTS="${ENDPOINTS:-4}"
REPEAT="${REPEAT:-1}"
PHASES="${PHASES:-drain,steady}"
QUEUE="${QUEUE:-rabbitmq}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
PG_OPTIONS="${PG_OPTIONS:-sslmode=disable}"
case "$QUEUE" in rabbitmq|outbox) ;; *) echo "QUEUE must be rabbitmq or outbox" >&2; exit 2 ;; esac

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

amqp="amqp://guest:guest@127.0.0.1:5672/%2f"
export PROVENANCE_DATABASE_URL="$PG/$db?$PG_OPTIONS"
export PROVENANCE_AMQP_URL="$amqp"
export PROVENANCE_AMQP_PREFIX="$prefix"
export PROVENANCE_REDIS_URL="redis://127.0.0.1:6379/"
export PROVENANCE_DATA_DIR="$data_dir"
API_PORT="${API_PORT:-18080}"
HEALTH_PORT="${HEALTH_PORT:-19090}"
export PROVENANCE_HTTP_LISTEN="127.0.0.1:$API_PORT"
export PROVENANCE_WORKER__HEALTH_LISTEN="127.0.0.1:$HEALTH_PORT"
# The receiver listens on loopback, which the SSRF guard refuses unless exempt.
export PROVENANCE_WEBHOOK_ALLOW_HOSTS="127.0.0.1"
export PROVENANCE_LOG_FORMAT=json
export RUST_LOG="${RUST_LOG:-warn}"
PROVENANCE_API_KEY="$("$bin/provenance" api-keys mint)"
export PROVENANCE_API_KEY PROVENANCE_BOOTSTRAP_ADMIN_KEY="$PROVENANCE_API_KEY"

"$bin/provenance" migrate
"$bin/provenance-api" 2>"$data_dir/api.log" &
pids+=($!); api=$!
if [ "$QUEUE" = outbox ]; then
  env -u PROVENANCE_AMQP_URL "$bin/provenance-worker" 2>"$data_dir/worker.log" &
else
  "$bin/provenance-worker" 2>"$data_dir/worker.log" &
fi
pids+=($!); worker=$!
for _ in $(seq 100); do
  curl -fs http://127.0.0.1:$API_PORT/health/ready >/dev/null && curl -fs http://127.0.0.1:$HEALTH_PORT/health/ready >/dev/null && break
  sleep 0.2
done

extra=()
if [ "${PROGRESS:-0}" = 1 ]; then
  extra+=(--progress)  # outbox and queue depths, deliveries so far, every second (stderr)
fi
settings="queue=$QUEUE webhooks.concurrency=${PROVENANCE_WEBHOOKS__CONCURRENCY:-64}${LABEL:+ $LABEL}"
echo "# $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); api pid $api, worker pid $worker; $settings" >&2
for round in $(seq "$REPEAT"); do
  "$bin/provenance-bench" webhooks --api-url http://127.0.0.1:$API_PORT --endpoints "$ENDPOINTS" --phases "$PHASES" \
    --backlog "$BACKLOG" --rate "$RATE" --duration-seconds "$DURATION" "${extra[@]}" \
    --pid "api=$api" --pid "worker=$worker" --label "$settings run $round"
done
for log in api worker; do
  if grep -qE '"level":"(WARN|ERROR)"' "$data_dir/$log.log"; then
    echo "# $log: $(grep -cE '"level":"(WARN|ERROR)"' "$data_dir/$log.log") warnings or errors, the last ones:" >&2
    grep -E '"level":"(WARN|ERROR)"' "$data_dir/$log.log" | tail -3 >&2
  fi
done
