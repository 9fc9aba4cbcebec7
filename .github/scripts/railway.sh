#!/usr/bin/env bash
# Railway deploys by image digest, through Railway's public GraphQL API (the calls the `railway`
# CLI makes itself: serviceInstanceUpdate, serviceInstanceDeployV2; the CLI has no command that
# sets an image and returns the deployment it starts, which is what a gate has to wait on).
#
#   railway.sh image  SERVICE_ID                       print the service's current source image
#   railway.sh deploy SERVICE_ID IMAGE CONFIG_JSON     set the image and the `deploy` settings of
#                                                      CONFIG_JSON (deploy/railway/*.railway.json),
#                                                      start a deployment, print its id
#   railway.sh wait   DEPLOYMENT_ID [TIMEOUT_SECONDS]  until SUCCESS (0) or a failed state (1)
#
# Environment: RAILWAY_TOKEN (a project token, sent as Project-Access-Token) and
# RAILWAY_ENVIRONMENT_ID (the environment the token belongs to).

# The GraphQL documents are single-quoted on purpose: their $names are GraphQL variables.
# shellcheck disable=SC2016
set -euo pipefail

api="${RAILWAY_API_URL:-https://backboard.railway.com/graphql/v2}"
die() { echo "::error::$*" >&2; exit 1; }
[[ -n "${RAILWAY_TOKEN:-}" ]] || die "RAILWAY_TOKEN is not set"
[[ -n "${RAILWAY_ENVIRONMENT_ID:-}" ]] || die "RAILWAY_ENVIRONMENT_ID is not set"

# gql QUERY VARIABLES_JSON -> the response's .data, or exit with its errors.
gql() {
  local body response
  body="$(jq -n --arg query "$1" --argjson variables "$2" '{query: $query, variables: $variables}')"
  response="$(curl --fail-with-body --silent --show-error --retry 3 --retry-all-errors --max-time 30 \
    -H "Project-Access-Token: ${RAILWAY_TOKEN}" -H 'Content-Type: application/json' \
    --data "$body" "$api")" || die "Railway API request failed: ${response:-no answer}"
  if jq -e '(.errors // []) | length > 0' <<<"$response" >/dev/null; then
    die "Railway API: $(jq -c '[.errors[].message]' <<<"$response")"
  fi
  jq -c '.data' <<<"$response"
}

cmd="${1:-}"
case "$cmd" in
  image)
    service="${2:?usage: railway.sh image SERVICE_ID}"
    gql 'query($service: String!, $environment: String!) {
           serviceInstance(serviceId: $service, environmentId: $environment) { source { image } }
         }' \
      "$(jq -n --arg service "$service" --arg environment "$RAILWAY_ENVIRONMENT_ID" '{service: $service, environment: $environment}')" \
      | jq -r '.serviceInstance.source.image // empty'
    ;;
  deploy)
    service="${2:?usage: railway.sh deploy SERVICE_ID IMAGE CONFIG_JSON}"
    image="${3:?usage: railway.sh deploy SERVICE_ID IMAGE CONFIG_JSON}"
    config="${4:?usage: railway.sh deploy SERVICE_ID IMAGE CONFIG_JSON}"
    # railway.json's deploy keys are ServiceInstanceUpdateInput's fields (startCommand,
    # preDeployCommand, healthcheckPath, healthcheckTimeout, numReplicas, restartPolicyType,
    # restartPolicyMaxRetries, overlapSeconds, drainingSeconds): an image-sourced service has no
    # repository for Railway to read the file from, so it is applied here with the image.
    input="$(jq -c --arg image "$image" '(.deploy // {}) + {source: {image: $image}}' "$config")"
    gql 'mutation($service: String!, $environment: String!, $input: ServiceInstanceUpdateInput!) {
           serviceInstanceUpdate(serviceId: $service, environmentId: $environment, input: $input)
         }' \
      "$(jq -n --arg service "$service" --arg environment "$RAILWAY_ENVIRONMENT_ID" --argjson input "$input" \
        '{service: $service, environment: $environment, input: $input}')" >/dev/null
    gql 'mutation($service: String!, $environment: String!) {
           serviceInstanceDeployV2(serviceId: $service, environmentId: $environment)
         }' \
      "$(jq -n --arg service "$service" --arg environment "$RAILWAY_ENVIRONMENT_ID" '{service: $service, environment: $environment}')" \
      | jq -er '.serviceInstanceDeployV2'
    ;;
  wait)
    deployment="${2:?usage: railway.sh wait DEPLOYMENT_ID [TIMEOUT_SECONDS]}"
    deadline=$((SECONDS + ${3:-900}))
    last=""
    while :; do
      status="$(gql 'query($id: String!) { deployment(id: $id) { status } }' \
        "$(jq -n --arg id "$deployment" '{id: $id}')" | jq -r '.deployment.status // "UNKNOWN"')"
      [[ "$status" != "$last" ]] && echo "deployment $deployment: $status"
      last="$status"
      case "$status" in
        SUCCESS) exit 0 ;;
        FAILED | CRASHED | REMOVED | SKIPPED) die "deployment $deployment ended $status (see its logs in Railway)" ;;
      esac
      ((SECONDS < deadline)) || die "deployment $deployment still $status after ${3:-900} s"
      sleep 10
    done
    ;;
  *)
    die "usage: railway.sh image|deploy|wait …"
    ;;
esac
