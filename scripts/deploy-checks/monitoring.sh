#!/usr/bin/env bash
# Monitoring and load-test artifacts: the alert rules are well-formed Prometheus rule groups
# (every alert with an expression, a severity and a summary), the dashboard is Grafana JSON whose
# every panel queries Prometheus, and the k6 script parses as an ES module. That every metric
# they name is really exported is checked against a running system by
# `crates/worker/tests/monitoring.rs`.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/deploy-tools.sh

python - <<'PY'
import json, sys, yaml
rules = yaml.safe_load(open("deploy/monitoring/prometheus-rules.yml"))
alerts = []
for group in rules["groups"]:
    assert group.get("name") and group.get("rules"), f"group without name or rules: {group}"
    for rule in group["rules"]:
        name = rule.get("alert")
        assert name and rule.get("expr"), f"rule without alert or expr: {rule}"
        assert rule.get("labels", {}).get("severity") in ("critical", "warning", "info"), f"{name}: severity"
        assert rule.get("annotations", {}).get("summary"), f"{name}: summary"
        alerts.append(name)
assert len(alerts) == len(set(alerts)), "duplicate alert names"
dash = json.load(open("deploy/monitoring/grafana-dashboard.json"))
queries = 0
for panel in dash["panels"]:
    if panel["type"] == "row":
        continue
    assert panel["datasource"]["type"] == "prometheus", panel["title"]
    assert panel.get("targets"), f"panel {panel['title']} queries nothing"
    queries += len(panel["targets"])
print(f"rules: {len(alerts)} alerts; dashboard: {len(dash['panels'])} panels, {queries} queries")
PY

if command -v node >/dev/null; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp deploy/k6/roundtrip.js "$tmp/roundtrip.mjs"
  node --check "$tmp/roundtrip.mjs"
  echo "k6: deploy/k6/roundtrip.js parses (k6 itself is not installable here)"
else
  echo "k6: node not found; deploy/k6/roundtrip.js not parsed" >&2
  exit 1
fi
