#!/usr/bin/env bash
# Interoperability check: our signed bundles verify with an independent DSSE implementation and
# our SARIF validates against the official schema with an independent validator.
#
# Starts `provenance serve` (embedded mode, debug build) on a temporary data dir and a free
# port, submits an analysis, rotates the signing key, restarts, submits a second one, and then
#   - scripts/interop/verify_bundles.py: securesystemslib's DSSE (and, separately, a PAE written
#     here with `cryptography`'s Ed25519) verifies the first bundle with the keys listed after
#     the rotation and the second with the new key only; tampered copies fail; the statement's
#     subjects, predicate and canonical forms agree with the request, the served SARIF and the
#     `rfc8785` package;
#   - scripts/interop/validate_sarif.py: both SARIF reports against the official SARIF 2.1.0
#     schema (crates/core/tests/fixtures) with Python's `jsonschema`;
#   - `provenance verify --keys-url` passes on the first bundle (also re-encoded as URL-safe
#     base64) and fails for a wrong --sha;
#   - scripts/interop/receive_webhooks.py: a receiver (stdlib HTTP server on 127.0.0.1) verifies
#     every webhook delivery with the official Standard Webhooks library (`standardwebhooks`).
#     `serve` runs with PROVENANCE_WEBHOOK_ALLOW_HOSTS=127.0.0.1; on the second server an endpoint
#     is created before analyses 2 and 3, a test event is sent, the endpoint's secret rotated and
#     another test event sent. Checked: every delivery verified; the analyses'
#     `analysis.completed` and `decision.<outcome>` and both `webhook.test` arrived, nothing else;
#     the test event after the rotation carries two signatures and verifies with the new secret
#     and with the old one; the receiver's count and webhook-ids equal the deliveries
#     `GET /v1/webhooks/messages` reports delivered; a delivery with one byte changed is rejected.
# Every check runs; the script exits 1 at the end naming those that failed.
# Pinned Python packages in a virtualenv cached outside the clone. Run by .ci/run (`just
# check-interop`); needs no PostgreSQL, RabbitMQ or Redis, and leaves nothing behind.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/provenance-target}"
VENV="$HOME/.cache/provenance-tools/interop-venv"
PINS=(
  "securesystemslib[crypto]==1.6.0" # DSSE Envelope + SSlibKey (Ed25519 through cryptography)
  "cryptography==50.0.2"
  "jsonschema==4.26.0"
  "rfc3986-validator==0.1.1" # lets jsonschema check the `uri` / `uri-reference` formats
  "rfc3339-validator==0.1.4" # … and `date-time`
  "rfc8785==0.1.4"           # an independent RFC 8785 (JCS) implementation
  "standardwebhooks==1.1.0"  # the official Standard Webhooks library (webhook signatures)
)
OWNER_REPO="acme/shop"
HEAD1="9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b2d4f6e"
HEAD2="4b6d8f0a2c4e6b8d0f2a4c6e8b0d2f4a6c8e0b2d"
HEAD3="7c1e3a5b9d2f4a6c8e0b1d3f5a7c9e2b4d6f8a0c"
WRONG_SHA="0000000000000000000000000000000000000bad"
started=$SECONDS

# BIN=path/to/provenance checks that binary instead of building the debug one.
if [[ -z "${BIN:-}" ]]; then
  (cd "$REPO" && cargo build --locked -q -p provenance)
  BIN="$CARGO_TARGET_DIR/debug/provenance"
fi

if [[ "$(cat "$VENV/.pins" 2>/dev/null || true)" != "${PINS[*]}" ]] \
  || ! "$VENV/bin/python" -c 'import securesystemslib.dsse, jsonschema, rfc8785, cryptography, standardwebhooks' 2>/dev/null; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"
  echo "${PINS[*]}" >"$VENV/.pins"
fi
PY="$VENV/bin/python"

# Only what this script sets: no database URL, signing key file or listen address from the caller.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^PROVENANCE_' || true)
export RUST_LOG="${RUST_LOG:-warn}" PYTHONDONTWRITEBYTECODE=1

work="$(mktemp -d)"
data="$work/data"
server_pid=""
receiver_pid=""
show_logs=""
cleanup() {
  local status=$?
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [[ -n "$receiver_pid" ]]; then kill "$receiver_pid" 2>/dev/null || true; wait "$receiver_pid" 2>/dev/null || true; fi
  if [[ $status -ne 0 && -n "$show_logs" ]]; then
    for log in "$work"/server-*.log "$work"/receiver.log; do [[ -f "$log" ]] && { echo "--- $(basename "$log") (last lines)" >&2; tail -n 20 "$log" >&2; }; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
die() { echo "check-interop: $*" >&2; show_logs=1; exit 1; }
json_get() { "$PY" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

KEY="$("$BIN" api-keys mint)"
export PROVENANCE_BOOTSTRAP_ADMIN_KEY="$KEY"

# Start `serve` on port 0 (the kernel picks a free one) and read the address it bound. The SSRF
# guard refuses loopback webhook URLs unless allow-listed: the receiver is on 127.0.0.1.
url=""
start_server() { # log name
  local log="$work/server-$1.log"
  (cd "$work" && PROVENANCE_WEBHOOK_ALLOW_HOSTS=127.0.0.1 exec "$BIN" serve --data-dir "$data" --listen 127.0.0.1:0) \
    2>"$log" </dev/null &
  server_pid=$!
  url=""
  for _ in $(seq 150); do
    kill -0 "$server_pid" 2>/dev/null || die "serve exited at start ($1)"
    url="$(grep -o 'listening on http://[0-9.:]*' "$log" | head -n 1 | sed 's/^listening on //' || true)"
    [[ -n "$url" ]] && curl -fs "$url/health/ready" >/dev/null && return 0
    sleep 0.1
  done
  die "serve did not become ready in 15 s ($1)"
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || die "serve exited with status $? on SIGTERM"
  server_pid=""
}

# The webhook receiver (official Standard Webhooks library) on a free port; secrets are added to
# $work/webhook-secrets (`LABEL whsec_…` lines), which it reads for every request.
receiver_url=""
start_receiver() {
  "$PY" "$REPO/scripts/interop/receive_webhooks.py" serve --log "$work/deliveries.jsonl" \
    --secrets "$work/webhook-secrets" --port-file "$work/receiver.port" 2>"$work/receiver.log" </dev/null &
  receiver_pid=$!
  for _ in $(seq 100); do
    kill -0 "$receiver_pid" 2>/dev/null || die "the webhook receiver exited at start"
    [[ -s "$work/receiver.port" ]] && { receiver_url="http://127.0.0.1:$(cat "$work/receiver.port")/hook"; return 0; }
    sleep 0.1
  done
  die "the webhook receiver did not listen in 10 s"
}
webhooks() { # METHOD PATH [BODY]: a webhooks API call, answer on stdout
  curl -fsS -X "$1" "$url/v1/webhooks/$2" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data "${3:-}"
}

# Submit a request body (exact bytes), wait for the decision, save bundle and SARIF as N.
analyse() { # N
  local n=$1 id status
  id="$(curl -fsS -X POST "$url/v1/analysis" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' --data-binary @"$work/request-$n.json" | json_get analysis_id)"
  status="$(curl -fsS -H "Authorization: Bearer $KEY" "$url/v1/analysis/$id?wait=20" | json_get status)"
  [[ "$status" == completed ]] || die "analysis $n ($id) is $status after 20 s"
  echo "$id" >"$work/id-$n"
  curl -fsS -H "Authorization: Bearer $KEY" "$url/v1/analysis/$id/bundle" >"$work/bundle-$n.json"
  curl -fsS -H "Authorization: Bearer $KEY" "$url/v1/analysis/$id/sarif" >"$work/report-$n.sarif"
  echo "analysis $n: $id completed"
}

# A small PR: shell=True and SQL built by concatenation (agent lines) beside one unattributed
# line; metadata that exercises canonical JSON (member order by UTF-16, non-ASCII, escapes,
# numbers that RFC 8785 rewrites), since inputs_sha256 is over the RFC 8785 form of this body.
cat >"$work/request-1.json" <<JSON
{"repo": "$OWNER_REPO", "pr_number": "42", "base_sha": "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "head_sha": "$HEAD1",
 "provenance_data": {"changed_lines": [
  {"file_path": "app/jobs.py", "line_number": 12, "change_type": "added", "language": "python",
   "content": "    subprocess.run(cmd, shell=True)", "attribution": {"agent_id": "claude-code", "model_id": "anthropic/claude-opus-4-5"}},
  {"file_path": "app/db.py", "line_number": 30, "change_type": "added", "language": "python",
   "content": "    query = \"SELECT * FROM users WHERE name = '\" + name + \"'\"", "attribution": {"agent_id": "claude-code"}},
  {"file_path": "app/db.py", "line_number": 31, "change_type": "modified", "language": "python",
   "content": "    return db.execute(query)"}
 ]},
 "metadata": {"zeta": 1, "alpha": [1.50, 0.1, 1e21, 1E-7, -0.0, 100, 333333333.33333329], "na\u00efve": "caf\u00e9 \u2615 \ud83d\ude00",
   "\u20ac": true, "\ufb33": "dalet", "\ud83d\ude00": "grin", "\u0080": null, "ctl": "tab\there \"q\" back\\\\slash \/ \u000f"}}
JSON
cat >"$work/request-2.json" <<JSON
{"repo": "$OWNER_REPO", "pr_number": 43, "base_sha": "$HEAD1", "head_sha": "$HEAD2",
 "provenance_data": {"changed_lines": [
  {"file_path": "tools/deploy.py", "line_number": 7, "change_type": "added", "language": "python",
   "content": "subprocess.run(\"deploy \" + target, shell=True)", "attribution": {"agent_id": "cursor"}}
 ]}}
JSON

start_server 1
curl -fsS "$url/v1/keys" >"$work/keys-1.json"
analyse 1
stop_server
"$BIN" keys rotate --data-dir "$data" >/dev/null 2>&1 || die "provenance keys rotate failed"
start_server 2
curl -fsS "$url/v1/keys" >"$work/keys-2.json"
# A webhook endpoint for analyses 2 and 3's events (its secret is shown once, here).
start_receiver
webhooks POST endpoints "{\"url\": \"$receiver_url\", \"event_types\": [\"analysis.completed\", \"decision.allow\",
  \"decision.warn\", \"decision.block\"]}" >"$work/endpoint.json" || die "creating the webhook endpoint failed"
wh_id="$(json_get id <"$work/endpoint.json")"
echo "old $(json_get secret <"$work/endpoint.json")" >"$work/webhook-secrets"
analyse 2
# A blocked analysis (a hard-coded AWS key), overridden: the override is signed by the new key.
cat >"$work/request-3.json" <<JSON
{"repo": "$OWNER_REPO", "pr_number": 44, "base_sha": "$HEAD2", "head_sha": "$HEAD3",
 "provenance_data": {"changed_lines": [
  {"file_path": "app/settings.py", "line_number": 3, "change_type": "added", "language": "python",
   "content": "AWS_KEY = \"AKIA4HKX2QJ7WZ5N3TPR\"", "attribution": {"agent_id": "devin"}}
 ]}}
JSON
analyse 3
id3="$(cat "$work/id-3")"
curl -fsS -X POST "$url/v1/analysis/$id3/override" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  --data '{"reason": "canary credential, rotated at the provider"}' >"$work/override-3.json" \
  || die "overriding analysis 3 ($id3) failed: was it blocked?"
"$PY" -c 'import json, sys; json.dump(json.load(open(sys.argv[1]))["bundle"], open(sys.argv[2], "w"))' \
  "$work/override-3.json" "$work/override-bundle-3.json"
# A test event; once everything so far is delivered, rotate the secret (the old one stays valid
# for the default 24 h) and send another test event, which must verify with both.
test1="$(webhooks POST "endpoints/$wh_id/test" | json_get message_id)" || die "POST …/test failed"
INTEROP_API_KEY="$KEY" "$PY" "$REPO/scripts/interop/receive_webhooks.py" wait --api "$url" --endpoint "$wh_id" \
  --log "$work/deliveries.jsonl" || echo "check-interop: rotating anyway; the webhook checks will tell" >&2
new_secret="$(webhooks POST "endpoints/$wh_id/rotate-secret" '{}' | json_get secret)" || die "rotating the webhook secret failed"
echo "new $new_secret" >>"$work/webhook-secrets"
test2="$(webhooks POST "endpoints/$wh_id/test" | json_get message_id)" || die "POST …/test after the rotation failed"

# Every check runs, whatever failed before it; the script fails at the end naming them.
failed=()
echo "== independent DSSE verification (securesystemslib, cryptography, rfc8785)"
"$PY" "$REPO/scripts/interop/verify_bundles.py" --repo "$OWNER_REPO" \
  --keys-before "$work/keys-1.json" --keys-after "$work/keys-2.json" \
  --analysis "$work/request-1.json" "$work/bundle-1.json" "$work/report-1.sarif" \
  --analysis "$work/request-2.json" "$work/bundle-2.json" "$work/report-2.sarif" \
  --override "$work/override-bundle-3.json" "$work/bundle-3.json" || failed+=("bundles (verify_bundles.py)")

echo "== SARIF against the official 2.1.0 schema (jsonschema)"
"$PY" "$REPO/scripts/interop/validate_sarif.py" "$REPO/crates/core/tests/fixtures/sarif-schema-2.1.0.json" \
  "$work/report-1.sarif" "$work/report-2.sarif" "$work/report-3.sarif" || failed+=("SARIF schema (validate_sarif.py)")

echo "== webhook deliveries verified by the official Standard Webhooks library (standardwebhooks)"
INTEROP_API_KEY="$KEY" "$PY" "$REPO/scripts/interop/receive_webhooks.py" check --api "$url" --endpoint "$wh_id" \
  --log "$work/deliveries.jsonl" --secrets "$work/webhook-secrets" --receiver "$receiver_url" \
  --analysis "$(cat "$work/id-2")" --analysis "$id3" --test "$test1" --rotated-test "$test2" \
  || failed+=("webhooks (receive_webhooks.py)")

echo "== provenance verify --keys-url"
if (cd "$work" && "$BIN" verify override-bundle-3.json --keys-url "$url" --repo "$OWNER_REPO" --sha "$HEAD3" >/dev/null 2>"$work/verify.err"); then
  echo "  ok   the override of analysis 3 verifies with --repo $OWNER_REPO --sha $HEAD3"
else
  echo "  FAIL provenance verify rejected the override bundle: $(cat "$work/verify.err")"
  failed+=("provenance verify of the override bundle")
fi
if (cd "$work" && "$BIN" verify bundle-1.json --keys-url "$url" --repo "$OWNER_REPO" --sha "$HEAD1" >/dev/null 2>"$work/verify.err"); then
  echo "  ok   bundle 1 (retired key) verifies with --repo $OWNER_REPO --sha $HEAD1"
else
  echo "  FAIL provenance verify rejected bundle 1: $(cat "$work/verify.err")"
  failed+=("provenance verify of bundle 1")
fi
# Another tool may re-encode the envelope: DSSE verifiers must take URL-safe base64 too.
"$PY" - "$work/bundle-1.json" "$work/bundle-1-urlsafe.json" <<'PY'
import base64, json, sys
b = json.load(open(sys.argv[1]))
recode = lambda s: base64.urlsafe_b64encode(base64.b64decode(s)).decode().rstrip("=")
b["payload"] = recode(b["payload"])
for s in b["signatures"]:
    s["sig"] = recode(s["sig"])
json.dump(b, open(sys.argv[2], "w"))
PY
if (cd "$work" && "$BIN" verify bundle-1-urlsafe.json --keys-url "$url" --sha "$HEAD1" >/dev/null 2>"$work/verify.err"); then
  echo "  ok   bundle 1 re-encoded as unpadded URL-safe base64 verifies"
else
  echo "  FAIL provenance verify rejected bundle 1 in URL-safe base64: $(cat "$work/verify.err")"
  failed+=("provenance verify of URL-safe base64")
fi
if (cd "$work" && "$BIN" verify bundle-1.json --keys-url "$url" --repo "$OWNER_REPO" --sha "$WRONG_SHA" >/dev/null 2>"$work/verify.err"); then
  echo "  FAIL provenance verify accepted bundle 1 for the wrong commit $WRONG_SHA"
  failed+=("provenance verify with a wrong --sha")
elif grep -q 'verification FAILED' "$work/verify.err"; then
  echo "  ok   bundle 1 with --sha $WRONG_SHA is refused: $(grep -o 'verification FAILED.*' "$work/verify.err" | head -n 1)"
else
  echo "  FAIL wrong --sha failed without 'verification FAILED': $(cat "$work/verify.err")"
  failed+=("provenance verify with a wrong --sha")
fi

if ((${#failed[@]})); then
  printf 'interop: FAILED after %s s: %s\n' "$((SECONDS - started))" "$(IFS=';'; echo "${failed[*]}")" >&2
  exit 1
fi
echo "interop: ok in $((SECONDS - started)) s"
