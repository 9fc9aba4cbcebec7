#!/usr/bin/env bash
# Round-trip benchmark of distributed mode on this machine's PostgreSQL, RabbitMQ and Redis:
# one provenance-api and one provenance-worker (release builds), a fresh database and queue
# prefix, then closed-loop load at concurrency 1 and 8 with 200-changed-line PRs (10 files).
# Prints one JSON line per run; `just bench-roundtrip` runs it. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-20}"
CONCURRENCY="${CONCURRENCY:-1 8}"
# Runs per concurrency: on a shared host one run can be off by a fifth either way; report the median.
REPEAT="${REPEAT:-1}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
# The services reach PostgreSQL over loopback here, where TLS protects nothing and costs CPU on
# both ends; set PG_OPTIONS=sslmode=prefer (sqlx's default) to measure with it.
PG_OPTIONS="${PG_OPTIONS:-sslmode=disable}"

# shellcheck source=scripts/bench-services.sh
source scripts/bench-services.sh # the working directory is the repository root

echo "# $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r); api pid $api, worker pid $worker" >&2
for round in $(seq "$REPEAT"); do
for c in $CONCURRENCY; do
  "$bin/provenance-bench" roundtrip --api-url http://127.0.0.1:$API_PORT --concurrency "$c" \
    --duration-seconds "$DURATION" --files 10 --lines-per-file 20 --poll-ms "${POLL_MS:-5}" \
    --pid "api=$api" --pid "worker=$worker" --label "distributed c=$c run $round"
done
done
