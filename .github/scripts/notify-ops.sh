#!/usr/bin/env bash
# POST a JSON alert to the ops webhook (OPS_ALERT_WEBHOOK_URL); does nothing when it is empty.
#
#   notify-ops.sh TITLE [DETAILS]
#
# The body carries `text` (what Slack, Mattermost and most chat webhooks display) and the same
# facts as fields, for receivers that route on them. A failed delivery is reported as a warning
# and does not fail the job (the job has already failed: that is why it alerts).
set -euo pipefail

title="${1:?usage: notify-ops.sh TITLE [DETAILS]}"
details="${2:-}"
if [[ -z "${OPS_ALERT_WEBHOOK_URL:-}" ]]; then
  echo "OPS_ALERT_WEBHOOK_URL is not set: no alert sent"
  exit 0
fi

run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID:-}"
body="$(jq -n \
  --arg title "$title" \
  --arg details "$details" \
  --arg repository "${GITHUB_REPOSITORY:-}" \
  --arg workflow "${GITHUB_WORKFLOW:-}" \
  --arg ref "${GITHUB_REF_NAME:-}" \
  --arg actor "${GITHUB_ACTOR:-}" \
  --arg run_url "$run_url" \
  '{
     text: ("[\($repository)] \($title)" + (if $details == "" then "" else "\n\($details)" end) + "\n\($run_url)"),
     title: $title, details: $details, status: "failure",
     repository: $repository, workflow: $workflow, ref: $ref, actor: $actor, run_url: $run_url
   }')"

if curl --fail --silent --show-error --retry 3 --retry-all-errors --max-time 20 \
  -H 'Content-Type: application/json' --data "$body" "$OPS_ALERT_WEBHOOK_URL" >/dev/null; then
  echo "alert sent"
else
  echo "::warning::the ops alert webhook did not accept the alert"
fi
