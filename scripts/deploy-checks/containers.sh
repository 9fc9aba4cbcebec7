#!/usr/bin/env bash
# The images and the compose deployments: hadolint and checkov on every Dockerfile, and every compose file
# (the root one, the SSH host's and the observability add-on)
# against the compose specification. The add-on's Prometheus, collector and Grafana
# provisioning files must parse, and point at files that exist.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/deploy-tools.sh

mapfile -t dockerfiles < <(git ls-files --cached --others --exclude-standard '*Dockerfile*')
for f in "${dockerfiles[@]}"; do
  hadolint "$f"
  echo "hadolint: $f"
  # checkov's Dockerfile policies (non-root user, health checks, no secrets, pinned bases, …).
  if ! out=$(checkov -f "$f" --framework dockerfile --skip-download --compact --quiet); then
    echo "$out" >&2
    exit 1
  fi
  sed -n 's/^Passed checks/checkov: &/p' <<<"$out"
done

mapfile -t composes < <(git ls-files --cached --others --exclude-standard 'docker-compose.yml' 'deploy/compose/**/docker-compose.yml')
check-jsonschema --builtin-schema vendor.compose-spec "${composes[@]}"

python - "${composes[@]}" <<'PY'
import os, sys, yaml
for path in sys.argv[1:]:
    doc = yaml.safe_load(open(path))
    for name, service in (doc.get("services") or {}).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("./") and not os.path.exists(source):
                sys.exit(f"{path}: service {name} mounts {source}, which does not exist")
for path in ["deploy/compose/observability/prometheus.yml", "deploy/compose/observability/otel-collector.yaml",
             "deploy/compose/observability/grafana/provisioning/datasources/provenance.yaml",
             "deploy/compose/observability/grafana/provisioning/dashboards/provenance.yaml"]:
    yaml.safe_load(open(path))
# The SSH variant never builds: it runs exactly the images it is given.
ssh = yaml.safe_load(open("deploy/compose/ssh/docker-compose.yml"))
for name, service in ssh["services"].items():
    if "build" in service:
        sys.exit(f"deploy/compose/ssh: service {name} builds; it must run a pinned image")
print(f"compose: {len(sys.argv) - 1} file(s) valid; mounts and add-on configs present")
PY
