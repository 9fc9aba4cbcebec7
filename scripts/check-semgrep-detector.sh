#!/usr/bin/env bash
# End-to-end check of contrib/detectors/semgrep-detector.py: `provenance scan --external` with
# the adapter and a real Semgrep (pinned, in a virtualenv cached outside the clone, run
# offline) must report Semgrep's finding under the adapter's name, on the right line, with our
# snippet. Run by .ci/run; needs the `provenance` binary (BIN, default the debug build).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/provenance-target}/debug/provenance}"
VENV="$HOME/.cache/provenance-tools/semgrep-venv"
SEMGREP_VERSION="1.180.0" # the version scripts/bench-detect.sh pins
export SEMGREP_ENABLE_VERSION_CHECK=0 SEMGREP_SEND_METRICS=off

if [[ "$("$VENV/bin/semgrep" --version 2>/dev/null || true)" != "$SEMGREP_VERSION" ]]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "semgrep==$SEMGREP_VERSION"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tools" "$work/project/app"
# The adapter runs under the virtualenv's Python, so it finds the semgrep beside it.
{ echo "#!$VENV/bin/python3"; tail -n +2 "$REPO/contrib/detectors/semgrep-detector.py"; } >"$work/tools/semgrep-detector.py"
chmod +x "$work/tools/semgrep-detector.py"
cat >"$work/tools/semgrep-detector.yml" <<'YAML'
rules:
  - id: team.no-md5
    languages: [python]
    severity: WARNING
    message: md5 is not for security
    metadata: {category: crypto}
    pattern: hashlib.md5(...)
YAML
cat >"$work/project/app/digest.py" <<'PY'
import hashlib


def fingerprint(data):
    return hashlib.md5(
        data
    ).hexdigest()
PY

cd "$work/project"
"$BIN" scan --external "$work/tools/semgrep-detector.py" --format json --fail-on never app >"$work/out.json"
python3 - "$work/out.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
names = [d["name"] for d in report["detectors"]]
assert names[-1] == "semgrep-detector", names
assert report["detectors_incomplete"] == [], report["detectors_incomplete"]
found = [f for f in report["findings"] if f["engine"] == "external"]
assert len(found) == 1, found
f = found[0]
assert f["rule_id"] == "semgrep-detector/team.no-md5", f["rule_id"]
assert (f["location"]["file_path"], f["location"]["start_line"], f["location"]["end_line"]) == ("app/digest.py", 5, 7), f["location"]
assert (f["severity"], f["category"]) == ("medium", "crypto"), f
assert f["snippet"].startswith("return hashlib.md5("), f["snippet"]
print("semgrep adapter: ok —", f["rule_id"], f["location"]["file_path"] + ":" + str(f["location"]["start_line"]))
PY
