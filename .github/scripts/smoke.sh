#!/usr/bin/env bash
# Run `provenance smoke` from the CLI image against a deployment and keep its JSON report.
#
#   smoke.sh CLI_IMAGE BASE_URL OUT_DIR
#
# CLI_IMAGE is ghcr.io/…/provenance-cli@sha256:… (or a tag), BASE_URL the deployment's external
# URL, PROVENANCE_SMOKE_API_KEY the API key it uses (an admin key after a deploy, a dedicated key
# for the scheduled check). Writes OUT_DIR/smoke.json, adds the verdict to the job summary, and
# exits with the CLI's status (0 only when every check passed).
set -euo pipefail

image="${1:?usage: smoke.sh CLI_IMAGE BASE_URL OUT_DIR}"
base_url="${2:?usage: smoke.sh CLI_IMAGE BASE_URL OUT_DIR}"
out_dir="${3:?usage: smoke.sh CLI_IMAGE BASE_URL OUT_DIR}"
[[ -n "${PROVENANCE_SMOKE_API_KEY:-}" ]] || { echo "::error::no API key for the smoke test" >&2; exit 1; }

mkdir -p "$out_dir"
status=0
# The image's user (65532) could not write a directory the runner owns: run as the runner's user
# (the CLI is a static binary and does not care who it runs as).
# The key goes in through the environment (PROVENANCE_API_KEY), not the command line.
PROVENANCE_API_KEY="$PROVENANCE_SMOKE_API_KEY" \
  docker run --rm --user "$(id -u):$(id -g)" -e PROVENANCE_API_KEY -v "$out_dir:/out" -w /out "$image" \
  smoke --base-url "$base_url" --output /out/smoke.json || status=$?

summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
if [[ -s "$out_dir/smoke.json" ]]; then
  hint="$(jq -r '.hint // empty' "$out_dir/smoke.json" 2>/dev/null || true)"
  explanation="$(jq -r '.explanation // empty' "$out_dir/smoke.json" 2>/dev/null || true)"
  failed="$(jq -r '[(.checks // [])[] | select(.status == "failed") | .name] | join(", ")' "$out_dir/smoke.json" 2>/dev/null || true)"
else
  hint="" explanation="no report: the CLI could not run" failed=""
fi
if ((status == 0)); then
  echo "smoke test against $base_url: passed"
  echo "- Smoke test against \`$base_url\`: **passed**" >>"$summary"
else
  echo "::error::smoke test against $base_url failed (exit $status)${failed:+; failed checks: $failed}${hint:+; hint: $hint}${explanation:+ ($explanation)}"
  echo "- Smoke test against \`$base_url\`: **failed** (exit $status)${failed:+, failed checks: $failed}${hint:+, hint \`$hint\`}${explanation:+: $explanation}" >>"$summary"
fi
exit "$status"
