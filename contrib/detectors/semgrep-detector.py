#!/usr/bin/env python3
"""Semgrep as a Provenance external detector (protocol `provenance.detector/v1`).

Put a Semgrep config next to this file with the same name and `.yml` (`semgrep-detector.yml`),
make sure `semgrep` is on PATH (or installed in the virtualenv whose Python runs this file),
and configure it:

    provenance scan --external contrib/detectors/semgrep-detector.py app/

    [[detectors.external]]                 # server and workers
    name = "semgrep"
    program = "/opt/provenance/semgrep-detector.py"

Rule ids come out as `<detector name>/<Semgrep rule id>`. The detector's digest covers the
Semgrep version and the config file's sha256, so a decision records exactly what ran. Semgrep
runs offline: no metrics, no version check, only the local config. Python 3 standard library
only.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

PROTOCOL = "provenance.detector/v1"
HERE = Path(__file__).resolve()
CONFIG = HERE.with_suffix(".yml")
SEVERITY = {"ERROR": "high", "WARNING": "medium", "INFO": "low", "INVENTORY": "info", "EXPERIMENT": "info"}


def semgrep() -> str:
    beside = Path(sys.executable).with_name("semgrep")
    found = str(beside) if beside.exists() else shutil.which("semgrep")
    if not found:
        sys.exit("semgrep is not on PATH")
    return found


def run(args: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, SEMGREP_ENABLE_VERSION_CHECK="0", SEMGREP_SEND_METRICS="off")
    return subprocess.run([semgrep(), *args], env=env, capture_output=True, text=True)


def capabilities() -> dict:
    version = run(["--version"]).stdout.strip() or "unknown"
    config = hashlib.sha256(CONFIG.read_bytes()).hexdigest() if CONFIG.exists() else "missing"
    return {"protocol": PROTOCOL, "tool": {"name": "semgrep", "version": f"{version} config-sha256:{config}"}}


def rule_id(check_id: str) -> str:
    """The rule's own id: Semgrep prefixes it with the config's directory, dotted."""
    prefix = ".".join(part for part in CONFIG.parent.parts if part != "/") + "."
    return check_id[len(prefix):] if check_id.startswith(prefix) else check_id


def scan(request: dict) -> dict:
    paths = [f["path"] for f in request.get("files", [])]
    if not paths:
        return {"protocol": PROTOCOL, "findings": []}
    if not CONFIG.exists():
        sys.exit(f"no Semgrep config at {CONFIG}")
    proc = run(["scan", "--config", str(CONFIG), "--json", "--metrics=off", "--disable-version-check",
                "--no-git-ignore", "--quiet", *paths])
    if proc.returncode not in (0, 1):  # 1: findings with --error; anything else is a failure
        sys.exit(f"semgrep exited with {proc.returncode}: {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    findings = []
    for r in report.get("results", []):
        extra = r.get("extra", {})
        metadata = extra.get("metadata") or {}
        finding = {
            "rule_id": rule_id(r["check_id"]),
            "path": r["path"],
            "start_line": r["start"]["line"],
            "end_line": r["end"]["line"],
            "start_column": r["start"]["col"],
            "end_column": r["end"]["col"],
            "message": extra.get("message", ""),
        }
        if extra.get("severity") in SEVERITY:
            finding["severity"] = SEVERITY[extra["severity"]]
        if isinstance(metadata.get("category"), str) and metadata["category"].replace("_", "").isalnum():
            finding["category"] = metadata["category"].lower()
        findings.append(finding)
    return {"protocol": PROTOCOL, "findings": findings}


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "capabilities":
        reply = capabilities()
    elif command == "scan":
        reply = scan(json.load(sys.stdin))
    else:
        sys.exit(f"usage: {sys.argv[0]} capabilities|scan")
    json.dump(reply, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
