#!/usr/bin/env python3
"""Receive Provenance's webhooks with the official Standard Webhooks library (`standardwebhooks`,
`Webhook(secret).verify(body, headers)`) and check what arrived (run by scripts/check-interop.sh):

    receive_webhooks.py serve --log deliveries.jsonl --secrets secrets.txt --port-file port
    receive_webhooks.py wait  --api URL --endpoint wh_… --log deliveries.jsonl
    receive_webhooks.py check --api URL --endpoint wh_… --log deliveries.jsonl --secrets secrets.txt \
        --receiver http://127.0.0.1:PORT/hook --analysis ID [--analysis ID …] \
        --test MSG_ID --rotated-test MSG_ID

`serve` runs a stdlib ThreadingHTTPServer on 127.0.0.1 (a free port, written to --port-file).
The secrets file has one `LABEL whsec_…` per line and is read again for every request, so a
rotated secret can be added while it runs. Every request is verified with each secret listed;
it is verified when every one of them verifies it (after a rotation deliveries carry a `v1,`
signature with the new secret and one with the old, and both must pass), answered 204 if so and
400 if not, and one JSON line is appended to --log: webhook-id, event type, per-secret outcome,
the signature count, the answer, and the exact body and `webhook-*` headers (for replays).

`wait` polls `GET /v1/webhooks/messages` (API key in $INTEROP_API_KEY) until no delivery to the
endpoint is pending and the receiver logged every delivered one.

`check` waits the same way, then checks: every delivery verified; exactly the expected events
arrived (`analysis.completed` and `decision.<outcome>` of each --analysis, with its id, and the
two `webhook.test` messages); the test message sent before the rotation verifies with the first
secret only, the one after it carries two signatures and verifies with the new secret and with
the old one; the receiver's count and webhook-ids equal the deliveries the API reports
`delivered` (one attempt each); and a captured delivery with one byte of its body changed is
rejected, by the library in-process and by the receiver (400) when re-posted to it. Prints one
line per check and exits 1 naming every check that failed.
"""

from __future__ import annotations

import argparse
import base64
import collections
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import standardwebhooks
from standardwebhooks import Webhook, WebhookVerificationError

WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", "content-type")

failures: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> bool:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}" + (f" — {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(what + (f": {detail}" if detail else ""))
    return ok


def read_secrets(path: Path) -> list[tuple[str, str]]:
    """`LABEL whsec_…` per line; blank lines and `#` comments skipped."""
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            label, secret = line.split(maxsplit=1)
            pairs.append((label, secret.strip()))
    return pairs


def verify_with(secret: str, body: bytes, headers: dict[str, str]) -> tuple[bool, str, object]:
    """The official library's verdict: (verified, why not, parsed payload)."""
    try:
        return True, "", Webhook(secret).verify(body, headers)
    except WebhookVerificationError as e:
        return False, f"WebhookVerificationError: {e}", None
    except ValueError as e:  # a malformed signature or body makes the library raise this instead
        return False, f"{type(e).__name__}: {e}", None


def v1_signatures(headers: dict[str, str]) -> int:
    return sum(1 for s in headers.get("webhook-signature", "").split() if s.startswith("v1,"))


# ---------------------------------------------------------------------------------------- serve

def serve(args) -> int:
    lock = threading.Lock()
    with open(args.log, "a", encoding="utf-8") as log:

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                secrets = read_secrets(args.secrets)
                results = {label: verify_with(secret, body, headers) for label, secret in secrets}
                verified = bool(results) and all(ok for ok, _, _ in results.values())
                payload = next((p for ok, _, p in results.values() if ok), None)
                if not isinstance(payload, dict):
                    try:
                        payload = json.loads(body)
                    except ValueError:
                        payload = {}
                status = 204 if verified else 400
                record = {
                    "webhook_id": headers.get("webhook-id"),
                    "event_type": payload.get("type") if isinstance(payload, dict) else None,
                    "verified": verified,
                    "secrets": {label: ok for label, (ok, _, _) in results.items()},
                    "errors": {label: why for label, (ok, why, _) in results.items() if not ok},
                    "v1_signatures": v1_signatures(headers),
                    "status": status,
                    "path": self.path,
                    "headers": {h: headers[h] for h in WEBHOOK_HEADERS if h in headers},
                    "body_b64": base64.b64encode(body).decode(),
                }
                # Logged before answering: once Provenance records `delivered`, the line is there.
                with lock:
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                answer = b"" if verified else json.dumps(record["errors"] or "no secret configured").encode()
                self.send_response(status)
                if answer:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format, *a):
                sys.stderr.write("receiver: " + (format % a) + "\n")

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(server.server_address[1]))
        tmp.replace(args.port_file)  # atomically: the script never reads half a port
        print(f"receiver: listening on http://127.0.0.1:{server.server_address[1]}/hook "
              f"(standardwebhooks {standardwebhooks.__version__})", file=sys.stderr, flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        return 0


# ------------------------------------------------------------------------------ wait and check

def api_get(api: str, path: str):
    req = urllib.request.Request(api.rstrip("/") + path,
                                 headers={"Authorization": f"Bearer {os.environ['INTEROP_API_KEY']}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def endpoint_messages(api: str, endpoint: str) -> list[dict]:
    """Every message with a delivery to this endpoint: {id, event_type, status, attempts}."""
    out, cursor = [], None
    while True:
        page = api_get(api, "/v1/webhooks/messages?limit=500" + (f"&cursor={cursor}" if cursor else ""))
        for m in page["items"]:
            for d in m["deliveries"]:
                if d["endpoint_id"] == endpoint:
                    out.append({"id": m["id"], "event_type": m["event_type"], "status": d["status"],
                                "attempts": d["attempts"]})
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def read_log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def settle(args, must_include: list[str]) -> tuple[bool, list[dict], list[dict]]:
    """Poll until no delivery to the endpoint is pending, the given messages exist and every
    delivered message is in the receiver's log; (settled, messages, log)."""
    deadline = time.monotonic() + args.timeout
    while True:
        messages = endpoint_messages(args.api, args.endpoint)
        log = read_log(args.log)
        logged = {r["webhook_id"] for r in log}
        ids = {m["id"] for m in messages}
        done = (all(m["status"] != "pending" for m in messages)
                and all(i in ids for i in must_include)
                and all(m["id"] in logged for m in messages if m["status"] == "delivered"))
        if done or time.monotonic() > deadline:
            return done, messages, log
        time.sleep(0.1)


def wait(args) -> int:
    ok, messages, log = settle(args, [])
    if not ok:
        states = collections.Counter(m["status"] for m in messages)
        print(f"webhooks: deliveries not settled after {args.timeout:g} s: {dict(states)}, "
              f"{len(log)} received", file=sys.stderr)
        return 1
    print(f"webhooks: {len(log)} deliveries received before the rotation")
    return 0


def tampered(body: bytes) -> tuple[bytes, str]:
    """The body with one byte changed (the first letter of the event type, case swapped), still
    valid JSON, so only the signature can tell."""
    at = body.index(b'"type":"') + len(b'"type":"')
    return body[:at] + bytes([body[at] ^ 0x20]) + body[at + 1:], f"byte {at}"


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def run_check(args) -> int:
    secrets = dict(read_secrets(args.secrets))
    labels = list(secrets)
    if len(labels) != 2:
        check(False, "the secrets file names the first secret and the rotated one", f"labels {labels}")
        return report()
    old, new = labels

    settled, messages, log = settle(args, [args.test, args.rotated_test])
    states = collections.Counter(m["status"] for m in messages)
    check(settled and states == {"delivered": len(messages)},
          f"every delivery to the endpoint settled as delivered ({len(messages)} messages)",
          f"{dict(states)} after {args.timeout:g} s, {len(log)} received")

    bad = [r for r in log if not r["verified"]]
    check(bool(log) and not bad,
          f"{len(log)} deliveries received, every one verified by standardwebhooks {standardwebhooks.__version__} "
          f"Webhook(secret).verify and answered 204",
          "; ".join(f"{r['webhook_id']} ({r['event_type']}): {r['errors']}" for r in bad) or "nothing arrived")

    by_id = {r["webhook_id"]: r for r in log}
    payloads = {}
    for r in log:
        try:
            payloads[r["webhook_id"]] = json.loads(base64.b64decode(r["body_b64"]))
        except ValueError:
            payloads[r["webhook_id"]] = {}
    expected = collections.Counter({"webhook.test": 2})
    for analysis_id in args.analysis:
        outcome = api_get(args.api, f"/v1/analysis/{analysis_id}")["decision"]["outcome"]
        want = {"analysis.completed", f"decision.{outcome}"}
        expected.update(want)
        got = {p.get("type") for p in payloads.values() if p.get("data", {}).get("analysis_id") == analysis_id}
        check(got == want, f"analysis {analysis_id}: {' and '.join(sorted(want))} arrived, naming the analysis",
              f"got {sorted(t for t in got if t)}")
    received = collections.Counter(r["event_type"] for r in log)
    check(received == expected,
          "event types received: " + ", ".join(f"{t} ×{n}" for t, n in sorted(expected.items())),
          f"got {dict(sorted(received.items()))}")

    before = by_id.get(args.test)
    check(before is not None and before["v1_signatures"] == 1 and before["secrets"] == {old: True}
          and before["event_type"] == "webhook.test",
          f"webhook.test {args.test} (before the rotation): one v1 signature, verifies with the first secret",
          json.dumps({k: before[k] for k in ("v1_signatures", "secrets", "errors")}) if before else "not received")
    if before is not None:
        body = base64.b64decode(before["body_b64"])
        ok, _, _ = verify_with(secrets[new], body, before["headers"])
        check(not ok, "… and not with the rotated secret, which did not exist yet")
    after = by_id.get(args.rotated_test)
    check(after is not None and after["v1_signatures"] == 2 and after["secrets"] == {old: True, new: True}
          and after["event_type"] == "webhook.test",
          f"webhook.test {args.rotated_test} (after the rotation): two v1 signatures, verifies with the new "
          f"secret and with the old one",
          json.dumps({k: after[k] for k in ("v1_signatures", "secrets", "errors")}) if after else "not received")

    delivered = {m["id"]: m for m in messages if m["status"] == "delivered"}
    once = all(m["attempts"] == 1 for m in delivered.values())
    logged_ids = [r["webhook_id"] for r in log]
    check(len(log) == len(delivered) and set(logged_ids) == set(delivered) and len(set(logged_ids)) == len(log)
          and once,
          f"received {len(log)} = delivered in GET /v1/webhooks/messages {len(delivered)}, same webhook-ids, "
          f"one attempt each",
          f"only received: {sorted(set(logged_ids) - set(delivered))}, only delivered: "
          f"{sorted(set(delivered) - set(logged_ids))}, attempts {[m['attempts'] for m in delivered.values()]}")

    # Negative control: one byte of a captured delivery changed.
    if after is not None:
        body, headers = base64.b64decode(after["body_b64"]), after["headers"]
        changed, where = tampered(body)
        results = {label: verify_with(secret, changed, headers) for label, secret in secrets.items()}
        check(all(not ok and why.startswith("WebhookVerificationError") for ok, why, _ in results.values())
              and all(verify_with(s, body, headers)[0] for s in secrets.values()),
              f"tampered body ({where} of {args.rotated_test} changed): Webhook.verify raises "
              f"WebhookVerificationError with both secrets; the original verifies",
              json.dumps({label: why for label, (_, why, _) in results.items()}))
        status = post(args.receiver, changed, headers)
        fresh = read_log(args.log)[len(log):]
        check(status == 400 and len(fresh) == 1 and not fresh[0]["verified"]
              and fresh[0]["webhook_id"] == args.rotated_test,
              "the tampered delivery re-posted to the receiver: answered 400 and logged unverified",
              f"answered {status}, logged {[(r['webhook_id'], r['verified']) for r in fresh]}")
        status = post(args.receiver, body, headers)
        check(status == 204, "the untouched delivery re-posted: answered 204", f"answered {status}")
    else:
        check(False, "tampered body: no delivery after the rotation to tamper with")
    return report()


def report() -> int:
    if failures:
        print(f"\nwebhook interop FAILED ({len(failures)}):", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"webhooks: ok — every delivery verified by standardwebhooks {standardwebhooks.__version__}, "
          f"with both secrets during the rotation")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the receiver")
    s.add_argument("--log", type=Path, required=True, help="JSON lines, one per request")
    s.add_argument("--secrets", type=Path, required=True, help="`LABEL whsec_…` lines, read for every request")
    s.add_argument("--port-file", type=Path, required=True, help="written with the port once listening")
    for name in ("wait", "check"):
        c = sub.add_parser(name)
        c.add_argument("--api", required=True, help="Provenance's base URL (API key in $INTEROP_API_KEY)")
        c.add_argument("--endpoint", required=True, help="the endpoint id (wh_…)")
        c.add_argument("--log", type=Path, required=True)
        c.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for deliveries to settle")
    c.add_argument("--secrets", type=Path, required=True, help="the first secret's line, then the rotated one's")
    c.add_argument("--receiver", required=True, help="the receiver's URL, for the tampered re-post")
    c.add_argument("--analysis", action="append", default=[], help="an analysis whose events must arrive")
    c.add_argument("--test", required=True, help="the webhook.test message sent before the rotation")
    c.add_argument("--rotated-test", required=True, help="the webhook.test message sent after it")
    args = ap.parse_args()
    return {"serve": serve, "wait": wait, "check": run_check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
