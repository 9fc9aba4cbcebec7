#!/usr/bin/env bash
# gRPC clients against a real `provenance serve`: Python's grpcio, with the services and messages
# learnt by server reflection (scripts/interop/grpc_client.py), in a throwaway virtualenv with
# grpcio, grpcio-reflection, grpcio-health-checking and grpcio-status from PyPI; then the Rust
# example client (examples/grpc-client), whose saved bundle `provenance verify` must accept.
# Run by .ci/run (`just check-grpc`); needs no PostgreSQL, RabbitMQ or Redis, leaves nothing behind.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/provenance-target}"
PINS=(grpcio==1.85.1 grpcio-reflection==1.85.1 grpcio-health-checking==1.85.1 grpcio-status==1.85.1)
started=$SECONDS

if [[ -z "${BIN:-}" ]]; then
  (cd "$REPO" && cargo build --locked -q -p provenance)
  BIN="$CARGO_TARGET_DIR/debug/provenance"
fi
(cd "$REPO" && cargo build --locked -q -p provenance-grpc-client-example)
EXAMPLE="$CARGO_TARGET_DIR/debug/provenance-grpc-client-example"

# Only what this script sets.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^PROVENANCE_' || true)
export RUST_LOG="${RUST_LOG:-warn}" PYTHONDONTWRITEBYTECODE=1

work="$(mktemp -d)"
server_pid=""
cleanup() {
  local status=$?
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [[ $status -ne 0 && -f "$work/server.log" ]]; then
    echo "--- server.log (last lines)" >&2
    tail -n 20 "$work/server.log" >&2
  fi
  rm -rf "$work"
}
trap cleanup EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"

KEY="$("$BIN" api-keys mint)"
(cd "$work" && PROVENANCE_BOOTSTRAP_ADMIN_KEY="$KEY" exec "$BIN" serve --data-dir "$work/data" --listen 127.0.0.1:0) \
  2>"$work/server.log" </dev/null &
server_pid=$!
url=""
for _ in $(seq 150); do
  kill -0 "$server_pid" 2>/dev/null || { echo "check-grpc-client: serve exited at start" >&2; exit 1; }
  url="$(grep -o 'listening on http://[0-9.:]*' "$work/server.log" | head -n 1 | sed 's/^listening on //' || true)"
  [[ -n "$url" ]] && curl -fs "$url/health/ready" >/dev/null && break
  sleep 0.1
done
[[ -n "$url" ]] || { echo "check-grpc-client: serve did not become ready in 15 s" >&2; exit 1; }

failed=()
echo "== Python (grpcio), by reflection"
# gRPC is served on the REST port.
"$work/venv/bin/python" "$REPO/scripts/interop/grpc_client.py" "${url#http://}" "$KEY" "$url" || failed+=("grpc_client.py")

echo "== the Rust example client (examples/grpc-client)"
if (cd "$work" && "$EXAMPLE" "$url" "$KEY" >"$work/example.out" 2>&1); then status=0; else status=$?; fi
sed 's/^/  /' "$work/example.out"
bundle="$(grep -o 'an_[0-9A-Z]*\.bundle\.json' "$work/example.out" | head -n 1 || true)"
if [[ $status -ne 0 && $status -ne 2 ]] || ! grep -q '^decision: OUTCOME_' "$work/example.out"; then
  failed+=("the example client (exit $status)")
elif ! (cd "$work" && "$BIN" verify "$bundle" --keys-url "$url" >/dev/null 2>"$work/verify.err"); then
  echo "  FAIL provenance verify rejected the example's bundle: $(cat "$work/verify.err")"
  failed+=("provenance verify of the example's bundle")
else
  echo "  ok   the example's bundle $bundle verifies with provenance verify"
fi

if ((${#failed[@]})); then
  printf 'grpc clients: FAILED after %s s: %s\n' "$((SECONDS - started))" "$(IFS=';'; echo "${failed[*]}")" >&2
  exit 1
fi
echo "grpc clients: ok in $((SECONDS - started)) s"
