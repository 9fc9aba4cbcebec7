#!/usr/bin/env python3
"""Verify Provenance bundles with independent tooling (run by scripts/check-interop.sh).

Two analyses of one server are given, the first signed before a key rotation and the second
after it, with the keys the server published (`GET /v1/keys`) before and after the rotation:

    verify_bundles.py --repo acme/shop --keys-before keys-1.json --keys-after keys-2.json \
        --analysis request-1.json bundle-1.json report-1.sarif \
        --analysis request-2.json bundle-2.json report-2.sarif

Checks, none of them with Provenance's own code:
  * the published keys: PEM and raw base64 are the same Ed25519 key, keyid = hex sha256 of the
    raw 32 bytes, the pre-rotation key is listed as retired after the rotation;
  * DSSE with securesystemslib (`securesystemslib.dsse.Envelope`, `SSlibKey`): the first bundle
    verifies with the keys listed after the rotation (its key retired), the second with the new
    key and not with the old one, and a one-byte change of the statement or of the signature
    fails;
  * the same again with the PAE computed here and `cryptography`'s Ed25519 directly;
  * the statement: in-toto Statement v1, subjects (commit and SARIF digest = sha256 of the
    bytes served by `/sarif`), predicate type, predicate fields against the request sent, and
    that the statement, the SARIF report and `inputs_sha256` agree with an independent RFC 8785
    implementation (the `rfc8785` package).

Prints one line per check and exits 1 naming every check that failed.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
STATEMENT_LIMIT = 100 * 1024  # SPEC §5: keep a statement under 100 KB

failures: list[str] = []


def check(ok: bool, what: str, detail: str = "") -> bool:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}" + (f" — {detail}" if detail and not ok else ""))
    if not ok:
        failures.append(what + (f": {detail}" if detail else ""))
    return ok


def strict_json(data: bytes | str):
    """Parse JSON, refusing duplicate member names (an ambiguity between parsers)."""

    def pairs(items):
        obj = {}
        for k, v in items:
            if k in obj:
                raise ValueError(f"duplicate member {k!r}")
            obj[k] = v
        return obj

    return json.loads(data, object_pairs_hook=pairs)


# --- keys --------------------------------------------------------------------------------


@dataclass
class PublishedKey:
    keyid: str
    raw: bytes
    retired: bool
    sslib: SSlibKey  # built from the PEM, as a user of securesystemslib would

    def sslib_as(self, keyid: str) -> SSlibKey:
        """The same key material under another keyid (so the signature is really checked)."""
        return SSlibKey(keyid, self.sslib.keytype, self.sslib.scheme, dict(self.sslib.keyval))


def load_keys(path: Path, label: str) -> list[PublishedKey]:
    doc = strict_json(path.read_bytes())
    keys = []
    for k in doc["keys"]:
        keyid = k["keyid"]
        raw = base64.b64decode(k["public_key_base64"], validate=True)
        pem_key = load_pem_public_key(k["public_key_pem"].encode())
        check(isinstance(pem_key, Ed25519PublicKey), f"{label}: key {keyid[:12]}… PEM is an Ed25519 public key")
        pem_raw = pem_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        check(len(raw) == 32, f"{label}: key {keyid[:12]}… public_key_base64 is 32 raw bytes", f"{len(raw)} bytes")
        check(pem_raw == raw, f"{label}: key {keyid[:12]}… PEM and public_key_base64 are the same key")
        expected_id = hashlib.sha256(raw).hexdigest()
        check(keyid == expected_id, f"{label}: key {keyid[:12]}… keyid = lower-case hex sha256 of the raw key",
              f"published {keyid}, computed {expected_id}")
        check(k.get("algorithm", "").lower() == "ed25519", f"{label}: key {keyid[:12]}… algorithm is Ed25519",
              repr(k.get("algorithm")))
        sslib = SSlibKey.from_crypto(pem_key, keyid=keyid)
        from_raw = SSlibKey(keyid, "ed25519", "ed25519", {"public": raw.hex()})
        check(sslib == from_raw, f"{label}: key {keyid[:12]}… SSlibKey from PEM equals SSlibKey from raw bytes")
        keys.append(PublishedKey(keyid, raw, k.get("retired_at") is not None, sslib))
    return keys


# --- DSSE ----------------------------------------------------------------------------------


def sslib_verifies(bundle: dict, keys: list[SSlibKey]) -> tuple[bool, str]:
    """securesystemslib's own DSSE verification, threshold 1."""
    try:
        env = Envelope.from_dict(copy.deepcopy(bundle))  # from_dict rewrites the dict it is given
        accepted = env.verify(keys, 1)
        return True, ",".join(accepted)
    except (VerificationError, ValueError) as e:
        return False, f"{type(e).__name__}: {e}"


def b64decode_any(s: str) -> bytes:
    """Standard or URL-safe base64, padded or not (as DSSE verifiers must accept)."""
    s = s.strip()
    padded = s + "=" * (-len(s) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except ValueError:
        return base64.b64decode(padded, altchars=b"-_", validate=True)


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding, written from the protocol text."""
    t = payload_type.encode()
    return b"DSSEv1 " + str(len(t)).encode() + b" " + t + b" " + str(len(body)).encode() + b" " + body


def crypto_verifies(bundle: dict, raw_keys: list[bytes]) -> bool:
    """PAE computed here, Ed25519 by `cryptography`: any signature under any key."""
    body = b64decode_any(bundle["payload"])
    message = pae(bundle["payloadType"], body)
    for s in bundle["signatures"]:
        sig = b64decode_any(s["sig"])
        for raw in raw_keys:
            try:
                Ed25519PublicKey.from_public_bytes(raw).verify(sig, message)
                return True
            except InvalidSignature:
                continue
    return False


def tampered_payload(bundle: dict) -> tuple[dict, str]:
    """A copy whose decoded statement differs by one byte (in the commit sha of the subject)."""
    body = bytearray(b64decode_any(bundle["payload"]))
    marker = b'"gitCommit":"'
    i = body.find(marker)
    i = i + len(marker) if i >= 0 else len(body) // 2
    before = chr(body[i])
    body[i] = ord("1") if body[i] != ord("1") else ord("2")
    out = copy.deepcopy(bundle)
    out["payload"] = base64.b64encode(bytes(body)).decode()
    return out, f"byte {i} {before!r}→{chr(body[i])!r}"


def tampered_signature(bundle: dict) -> dict:
    out = copy.deepcopy(bundle)
    sig = bytearray(b64decode_any(out["signatures"][0]["sig"]))
    sig[len(sig) // 2] ^= 0x01
    out["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    return out


# --- statement -----------------------------------------------------------------------------


def check_statement(label: str, bundle: dict, request: dict, request_bytes: bytes, sarif_bytes: bytes,
                    repo: str) -> None:
    check(set(bundle) == {"payloadType", "payload", "signatures"},
          f"{label}: envelope has exactly payloadType, payload, signatures", f"members {sorted(bundle)}")
    check(bundle["payloadType"] == PAYLOAD_TYPE, f"{label}: payloadType is {PAYLOAD_TYPE}", repr(bundle["payloadType"]))
    check(len(bundle["signatures"]) == 1 and set(bundle["signatures"][0]) == {"keyid", "sig"},
          f"{label}: one signature {{keyid, sig}}", json.dumps(bundle["signatures"]))
    body = b64decode_any(bundle["payload"])
    env = Envelope.from_dict(copy.deepcopy(bundle))
    check(env.payload == body, f"{label}: securesystemslib decodes the same payload bytes")
    check(env.pae() == pae(bundle["payloadType"], body), f"{label}: securesystemslib's PAE equals ours")
    check(len(body) < STATEMENT_LIMIT, f"{label}: statement is under 100 KB", f"{len(body)} bytes")

    st = strict_json(body)
    check(body == rfc8785.dumps(st), f"{label}: statement payload is RFC 8785 canonical (rfc8785 package)",
          first_difference(body, rfc8785.dumps(st)))
    head = request["head_sha"]
    check(st.get("_type") == STATEMENT_TYPE, f"{label}: _type is {STATEMENT_TYPE}", repr(st.get("_type")))
    subjects = st.get("subject", [])
    commit = next((s for s in subjects if s.get("name", "").startswith("git+")), None)
    want_name = f"git+https://github.com/{repo}@{head}"
    check(commit is not None and commit["name"] == want_name and commit["digest"] == {"gitCommit": head},
          f"{label}: subject {want_name} with digest gitCommit", json.dumps(commit))
    sarif = next((s for s in subjects if s.get("name") == "sarif"), None)
    served = hashlib.sha256(sarif_bytes).hexdigest()
    check(sarif is not None and sarif.get("digest") == {"sha256": served},
          f"{label}: subject sarif sha256 = sha256 of the SARIF as served", f"statement {json.dumps(sarif)}, served {served}")
    check(len(subjects) == 2, f"{label}: exactly two subjects", json.dumps(subjects))
    sarif_doc = strict_json(sarif_bytes)
    check(sarif_bytes == rfc8785.dumps(sarif_doc), f"{label}: SARIF is served in RFC 8785 canonical form (rfc8785 package)",
          first_difference(sarif_bytes, rfc8785.dumps(sarif_doc)))
    pt = st.get("predicateType", "")
    check(pt.startswith("https://") and pt.endswith("/decision/v1"), f"{label}: predicateType {pt} ends in /decision/v1")

    p = st.get("predicate", {})
    for field in ("repo", "base_sha", "head_sha"):
        check(p.get(field) == request[field], f"{label}: predicate.{field} is the one submitted",
              f"{p.get(field)!r} != {request[field]!r}")
    check(p.get("pr_number") == int(request["pr_number"]), f"{label}: predicate.pr_number is the one submitted",
          repr(p.get("pr_number")))
    check(p.get("outcome") in ("allow", "warn", "block"), f"{label}: predicate.outcome is allow/warn/block",
          repr(p.get("outcome")))
    check(isinstance(p.get("decided_at"), str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p["decided_at"]),
          f"{label}: predicate.decided_at is RFC 3339 UTC seconds with Z", repr(p.get("decided_at")))
    inputs = hashlib.sha256(rfc8785.dumps(strict_json(request_bytes))).hexdigest()
    if not check(p.get("inputs_sha256") == inputs, f"{label}: predicate.inputs_sha256 = sha256 of RFC 8785 form of the request",
                 f"statement {p.get('inputs_sha256')}, rfc8785 package {inputs}"):
        floats: list[str] = []
        json.loads(request_bytes, parse_float=lambda t: floats.append(t) or float(t))
        print("  ·   RFC 8785 forms of the request's non-integer numbers (a parser that rounds one differently"
              " changes the digest): " + ", ".join(f"{f} → {rfc8785.dumps(float(f)).decode()}" for f in floats))
    print(f"  ·   statement: outcome {p.get('outcome')}, rules fired {[r.get('rule') for r in p.get('fired_rules', [])]},"
          f" coverage {p.get('coverage', {}).get('percent')}%, {len(body)} bytes")


def first_difference(ours: bytes, theirs: bytes) -> str:
    if ours == theirs:
        return ""
    i = next((n for n, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    return (f"first difference at byte {i} of {len(ours)}/{len(theirs)}: "
            f"served …{ours[max(0, i - 40):i + 40]!r}… vs rfc8785 …{theirs[max(0, i - 40):i + 40]!r}…")


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", required=True)
    ap.add_argument("--keys-before", type=Path, required=True, help="GET /v1/keys before the rotation")
    ap.add_argument("--keys-after", type=Path, required=True, help="GET /v1/keys after the rotation")
    ap.add_argument("--analysis", nargs=3, action="append", type=Path, required=True,
                    metavar=("REQUEST", "BUNDLE", "SARIF"),
                    help="twice: the analysis signed before the rotation, then the one after")
    ap.add_argument("--override", nargs=2, type=Path, metavar=("OVERRIDE_BUNDLE", "DECISION_BUNDLE"),
                    help="an override bundle (signed after the rotation) and the decision bundle it overrides")
    args = ap.parse_args()
    if len(args.analysis) != 2:
        ap.error("give --analysis twice: before and after the key rotation")

    print("keys")
    before = load_keys(args.keys_before, "keys before rotation")
    after = load_keys(args.keys_after, "keys after rotation")
    check(len(before) == 1 and not before[0].retired, "one current key before rotation",
          f"{[(k.keyid[:12], k.retired) for k in before]}")
    old = before[0]
    old_after = next((k for k in after if k.keyid == old.keyid), None)
    check(old_after is not None and old_after.retired, "after rotation the old key is still listed, as retired",
          f"{[(k.keyid[:12], k.retired) for k in after]}")
    current = [k for k in after if not k.retired]
    check(len(current) == 1 and current[0].keyid != old.keyid, "after rotation exactly one current key, a new one",
          f"{[(k.keyid[:12], k.retired) for k in after]}")
    if failures:
        return report()
    new = current[0]
    all_after = [k.sslib for k in after]

    bundles = []
    for n, (req_path, bundle_path, sarif_path) in enumerate(args.analysis, 1):
        label = f"bundle {n}"
        print(f"{label} ({bundle_path.name}, {'before' if n == 1 else 'after'} rotation): statement")
        request_bytes = req_path.read_bytes()
        bundle = strict_json(bundle_path.read_bytes())
        check_statement(label, bundle, strict_json(request_bytes), request_bytes, sarif_path.read_bytes(), args.repo)
        bundles.append(bundle)
    b1, b2 = bundles

    print("bundle 1 (signed before rotation): signatures")
    check(b1["signatures"][0]["keyid"] == old.keyid, "bundle 1 names the old key", b1["signatures"][0]["keyid"])
    ok, why = sslib_verifies(b1, all_after)
    check(ok and why == old.keyid, "securesystemslib: verifies with the keys listed after rotation (by the retired key)", why)
    ok, why = sslib_verifies(b1, [new.sslib_as(old.keyid)])
    check(not ok, "securesystemslib: the new key's material does not verify it", why)
    check(crypto_verifies(b1, [old.raw]), "cryptography + own PAE: verifies with the old key")
    check(not crypto_verifies(b1, [new.raw]), "cryptography + own PAE: does not verify with the new key")

    print("bundle 2 (signed after rotation): signatures")
    check(b2["signatures"][0]["keyid"] == new.keyid, "bundle 2 names the new key", b2["signatures"][0]["keyid"])
    ok, why = sslib_verifies(b2, [new.sslib])
    check(ok, "securesystemslib: verifies with the new key", why)
    ok, why = sslib_verifies(b2, all_after)
    check(ok and why == new.keyid, "securesystemslib: verifies with all published keys (by the new key)", why)
    ok, why = sslib_verifies(b2, [old.sslib])
    check(not ok, "securesystemslib: does not verify with the old key", why)
    ok, why = sslib_verifies(b2, [old.sslib_as(new.keyid)])
    check(not ok, "securesystemslib: the old key's material, under the new keyid, does not verify it", why)
    check(crypto_verifies(b2, [new.raw]), "cryptography + own PAE: verifies with the new key")
    check(not crypto_verifies(b2, [old.raw]), "cryptography + own PAE: does not verify with the old key")

    print("tampered copies")
    for n, (bundle, signer) in enumerate(((b1, old), (b2, new)), 1):
        changed, where = tampered_payload(bundle)
        ok, why = sslib_verifies(changed, all_after)
        check(not ok, f"bundle {n}, statement changed at {where}: securesystemslib rejects it", why)
        check(not crypto_verifies(changed, [k.raw for k in after]), f"bundle {n}, statement changed: cryptography rejects it")
        flipped = tampered_signature(bundle)
        ok, why = sslib_verifies(flipped, all_after)
        check(not ok, f"bundle {n}, one signature bit flipped: securesystemslib rejects it", why)
        check(not crypto_verifies(flipped, [k.raw for k in after]), f"bundle {n}, signature flipped: cryptography rejects it")
        urlsafe = copy.deepcopy(bundle)
        urlsafe["payload"] = base64.urlsafe_b64encode(b64decode_any(bundle["payload"])).decode()
        urlsafe["signatures"][0]["sig"] = base64.urlsafe_b64encode(b64decode_any(bundle["signatures"][0]["sig"])).decode()
        ok, why = sslib_verifies(urlsafe, [signer.sslib])
        check(ok, f"bundle {n} re-encoded as URL-safe base64: securesystemslib still verifies it", why)

    if args.override:
        check_override(args.override[0], args.override[1], args.repo, new, old, all_after)

    return report()


def check_override(override_path: Path, decision_path: Path, repo: str, new, old, all_after) -> None:
    """An override is its own in-toto statement, signed like a decision, naming the decision
    statement it overrides by the sha256 of that statement's bytes."""
    print(f"override ({override_path.name}): statement and signatures")
    bundle = strict_json(override_path.read_bytes())
    decision = strict_json(decision_path.read_bytes())
    ok, why = sslib_verifies(bundle, [new.sslib])
    check(ok, "securesystemslib: the override verifies with the current key", why)
    ok, why = sslib_verifies(bundle, [old.sslib])
    check(not ok, "securesystemslib: the override does not verify with the retired key", why)
    check(crypto_verifies(bundle, [new.raw]), "cryptography + own PAE: the override verifies")
    changed, where = tampered_payload(bundle)
    ok, why = sslib_verifies(changed, all_after)
    check(not ok, f"override changed at {where}: securesystemslib rejects it", why)
    check(bundle.get("payloadType") == "application/vnd.in-toto+json", "override payloadType is in-toto")
    statement = strict_json(b64decode_any(bundle["payload"]))
    check(statement.get("_type") == "https://in-toto.io/Statement/v1", "override _type is Statement v1")
    check(str(statement.get("predicateType", "")).endswith("/override/v1"), "override predicateType ends in /override/v1",
          str(statement.get("predicateType")))
    subjects = {s["name"]: s["digest"] for s in statement.get("subject", [])}
    decision_statement = b64decode_any(decision["payload"])
    check(subjects.get("decision", {}).get("sha256") == hashlib.sha256(decision_statement).hexdigest(),
          "override names the decision statement by the sha256 of its bytes", json.dumps(subjects))
    commit = [n for n in subjects if n.startswith(f"git+https://github.com/{repo}@")]
    decided = strict_json(decision_statement)
    check(len(commit) == 1 and commit[0] == decided["subject"][0]["name"], "override is about the decision's commit",
          json.dumps(subjects))
    predicate = statement.get("predicate", {})
    check(predicate.get("original_outcome") == "block" and predicate.get("outcome") == "allow",
          "override turns block into allow", json.dumps(predicate)[:200])
    check(predicate.get("decision_id") == decided["predicate"]["decision_id"], "override cites the decision id")


def report() -> int:
    if failures:
        print(f"\ninterop verification FAILED ({len(failures)}):", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print("bundles: ok — verified by securesystemslib DSSE and by cryptography Ed25519 with an independent PAE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
