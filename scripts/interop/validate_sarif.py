#!/usr/bin/env python3
"""Validate SARIF reports against the official SARIF 2.1.0 JSON schema with Python's
`jsonschema` (run by scripts/check-interop.sh):

    validate_sarif.py SCHEMA report.sarif [report.sarif …]

The validator is the one the schema declares (`$schema`: draft-04 for SARIF 2.1.0), with
format checking on (`uri` and `date-time` are checked when `rfc3986-validator` and
`rfc3339-validator` are installed, as the interop venv has them). Draft-04 has no
`uri-reference` format, so artifact location URIs are checked with draft 7's. Prints every
error with where it is and exits 1 if any report has one. A broken copy of the first report
must be refused at each place it was broken (so a vacuous pass cannot hide).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import jsonschema
from jsonschema.validators import Draft7Validator, validator_for


def path_of(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path)


def errors_of(validator, uri_reference, log: dict) -> list[str]:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(map(str, e.absolute_path)))
    messages = [f"{path_of(e)}: {e.message} (schema {'/'.join(map(str, e.absolute_schema_path))})" for e in errors]
    for r, run in enumerate(log.get("runs", [])):
        for i, result in enumerate(run.get("results") or []):
            for j, loc in enumerate(result.get("locations") or []):
                uri = loc.get("physicalLocation", {}).get("artifactLocation", {}).get("uri")
                if uri is not None and not uri_reference.is_valid(uri):
                    messages.append(f"/runs/{r}/results/{i}/locations/{j}/physicalLocation/artifactLocation/uri:"
                                    f" {uri!r} is not a uri-reference")
    return messages


def negative_control(validator, uri_reference, log: dict) -> list[str]:
    """Break a copy of a valid report in known places; return the places not reported."""
    broken = copy.deepcopy(log)
    run = broken["runs"][0]
    broken_at = {"/runs/0/tool/driver/informationUri": None}  # format: uri
    run["tool"]["driver"]["informationUri"] = "not a uri"
    if run.get("invocations"):
        run["invocations"][0]["endTimeUtc"] = "yesterday"  # format: date-time
        broken_at["/runs/0/invocations/0/endTimeUtc"] = None
    if run.get("results"):
        result = run["results"][0]
        result["level"] = "critical"  # not a SARIF level
        broken_at["/runs/0/results/0/level"] = None
        loc = result["locations"][0]["physicalLocation"]
        loc["region"]["startLine"] = 0  # minimum 1
        broken_at["/runs/0/results/0/locations/0/physicalLocation/region/startLine"] = None
        loc["artifactLocation"]["uri"] = "app/a b|c.py"  # not a uri-reference
        broken_at["/runs/0/results/0/locations/0/physicalLocation/artifactLocation/uri"] = None
    found = errors_of(validator, uri_reference, broken)
    return [p for p in broken_at if not any(m.startswith(p + ":") for m in found)]


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    schema = json.loads(Path(sys.argv[1]).read_text())
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    checked_formats = sorted(f for f in ("uri", "date-time") if f in cls.FORMAT_CHECKER.checkers)
    uri_reference = Draft7Validator({"type": "string", "format": "uri-reference"},
                                    format_checker=Draft7Validator.FORMAT_CHECKER)
    if "uri-reference" not in Draft7Validator.FORMAT_CHECKER.checkers:
        print("uri-reference cannot be checked: install rfc3986-validator", file=sys.stderr)
        return 2

    bad = 0
    for name in sys.argv[2:]:
        log = json.loads(Path(name).read_bytes())
        messages = errors_of(validator, uri_reference, log)
        runs = log.get("runs", [])
        results = sum(len(run.get("results") or []) for run in runs)
        rules = sum(len(run.get("tool", {}).get("driver", {}).get("rules") or []) for run in runs)
        if messages:
            bad += 1
            print(f"  FAIL {name}: {len(messages)} error(s) against {schema.get('id', schema.get('$id'))}:")
            for m in messages:
                print(f"       {m}")
        else:
            print(f"  ok   {Path(name).name}: valid SARIF {log.get('version')} ({cls.__name__},"
                  f" formats {', '.join(checked_formats)}, uri-reference), {len(runs)} run(s), {results} result(s), {rules} rule(s)")
    first = json.loads(Path(sys.argv[2]).read_bytes())
    missed = negative_control(validator, uri_reference, first)
    if missed:
        bad += 1
        print(f"  FAIL negative control: a broken copy of {Path(sys.argv[2]).name} was not refused at {', '.join(missed)}")
    else:
        print(f"  ok   negative control: a broken copy of {Path(sys.argv[2]).name} is refused at each broken place")
    if bad:
        print(f"SARIF schema validation FAILED for {bad} report(s)", file=sys.stderr)
        return 1
    print(f"sarif: ok — {len(sys.argv) - 2} report(s) valid against the official SARIF 2.1.0 schema (jsonschema {jsonschema_version()})")
    return 0


def jsonschema_version() -> str:
    from importlib.metadata import version

    return version("jsonschema")


if __name__ == "__main__":
    sys.exit(main())
