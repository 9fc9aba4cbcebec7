#!/usr/bin/env bash
# Static checks of every deploy artifact (no container runtime or cluster here): runs each
# `scripts/deploy-checks/*.sh` (images and compose files, monitoring and k6, the Helm chart,
# Terraform, the workflows and the Action, Railway). Each script can also run alone.
set -euo pipefail
cd "$(dirname "$0")/.."

# Install (or confirm) the checkers once, before the scripts that source this too.
source scripts/deploy-tools.sh

failed=()
for check in scripts/deploy-checks/*.sh; do
  printf '\n--- %s\n' "$check"
  start=$SECONDS
  if bash "$check"; then
    echo "--- $check: ok ($((SECONDS - start)) s)"
  else
    echo "--- $check: FAILED" >&2
    failed+=("$check")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "deploy checks failed: ${failed[*]}" >&2
  exit 1
fi
