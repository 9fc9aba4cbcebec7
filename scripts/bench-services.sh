# Sourced by the distributed-mode benchmarks (bench-roundtrip.sh, bench-webhooks.sh): release
# builds, a fresh PostgreSQL database and RabbitMQ prefix, one provenance-api and one
# provenance-worker on API_PORT / HEALTH_PORT, and a trap that stops them and removes the
# database, the queues and the data dir on exit. Expects PG and PG_OPTIONS; sets bin, data_dir,
# pids, api, worker. NO_AMQP=1 runs both without RabbitMQ (the database outbox is the queue).

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/provenance-target}"
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

API_PORT="${API_PORT:-18080}"
HEALTH_PORT="${HEALTH_PORT:-19090}"
export PROVENANCE_DATABASE_URL="$PG/$db?$PG_OPTIONS"
if [ -z "${NO_AMQP:-}" ]; then export PROVENANCE_AMQP_URL="amqp://guest:guest@127.0.0.1:5672/%2f"; fi
export PROVENANCE_AMQP_PREFIX="$prefix"
export PROVENANCE_REDIS_URL="redis://127.0.0.1:6379/"
export PROVENANCE_DATA_DIR="$data_dir"
export PROVENANCE_HTTP_LISTEN="127.0.0.1:$API_PORT"
export PROVENANCE_WORKER__HEALTH_LISTEN="127.0.0.1:$HEALTH_PORT"
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
  curl -fs "http://127.0.0.1:$API_PORT/health/ready" >/dev/null \
    && curl -fs "http://127.0.0.1:$HEALTH_PORT/health/ready" >/dev/null && break
  sleep 0.2
done
