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
# (rabbitmq, or outbox: api and worker run without PROVENANCE_AMQP_URL; the worker consumes
# the database outbox), LABEL (added to the label),
# PG_OPTIONS, and any PROVENANCE_* setting, e.g. PROVENANCE_WORKER__PREFETCH=64.
set -euo pipefail
cd "$(dirname "$0")/.."

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

# The receiver listens on loopback, which the SSRF guard refuses unless exempt.
export PROVENANCE_WEBHOOK_ALLOW_HOSTS="127.0.0.1"
# QUEUE=outbox: the services run without RabbitMQ; the worker consumes the database outbox.
if [ "$QUEUE" = outbox ]; then NO_AMQP=1; fi
# shellcheck source=scripts/bench-services.sh
source scripts/bench-services.sh # the working directory is the repository root

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
