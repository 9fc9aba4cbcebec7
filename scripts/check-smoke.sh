#!/usr/bin/env bash
# `provenance smoke` against a live `provenance serve` (embedded mode, fresh data dir, free
# port): it must pass, and against a URL where nothing listens it must fail with the
# `service_unreachable` hint. Uses the debug binary that `cargo test` built (or builds it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/provenance-target}"

cargo build -q --locked -p provenance
bin="$CARGO_TARGET_DIR/debug/provenance"
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
"$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then cat "$work/serve.log" >&2; exit 1; fi
  sleep 0.2
done

echo "smoke against provenance serve on 127.0.0.1:$port"
"$bin" smoke --base-url "http://127.0.0.1:$port" --data-dir "$work/data" --output "$work/report.json" >/dev/null
python3 - "$work/report.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["passed"] is True and report["hint"] is None, report
for check in report["checks"]:
    assert check["status"] == "passed", check
    print(f"  {check['name']:<9} {check['latency_ms']:>5} ms  {check['detail']}")
print(f"passed in {report['duration_ms']} ms")
PY

echo "smoke against a port where nothing listens"
dead=$(free_port)
if "$bin" smoke --base-url "http://127.0.0.1:$dead" --api-key pvn_x_y --output "$work/dead.json" >/dev/null 2>&1; then
  echo "smoke passed against nothing" >&2
  exit 1
fi
python3 - "$work/dead.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
assert report["passed"] is False and report["hint"] == "service_unreachable", report
print(f"failed as it should, hint {report['hint']}: {report['explanation']}")
PY
