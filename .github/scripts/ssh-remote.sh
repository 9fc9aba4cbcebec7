#!/usr/bin/env bash
# Runs ON THE DEPLOY HOST, piped over ssh by .github/workflows/deploy-ssh.yml:
#
#   ssh HOST bash -s -- deploy   DIR < ssh-remote.sh   # .env.images.next becomes the release
#   ssh HOST bash -s -- rollback DIR < ssh-remote.sh   # back to .env.images.previous
#   ssh HOST bash -s -- show     DIR < ssh-remote.sh   # print the running .env.images
#
# DIR holds the compose bundle (deploy/compose/ssh/), the host's own .env (settings and secrets,
# never copied by the workflow) and .env.images (PROVENANCE_API_IMAGE / PROVENANCE_WORKER_IMAGE
# pinned by digest). Needs Docker with the Compose v2 plugin (2.20 or later for --wait-timeout
# with one-shot services). Exits non-zero, after printing the services' state and recent logs,
# when the release does not come up ready.
set -euo pipefail

action="${1:?usage: ssh-remote.sh deploy|rollback|show DIR}"
dir="${2:?usage: ssh-remote.sh deploy|rollback|show DIR}"
api_service="${PROVENANCE_API_SERVICE:-api}"
wait_seconds="${PROVENANCE_WAIT_SECONDS:-600}"

cd "$dir"

compose() { docker compose --env-file .env --env-file .env.images "$@"; }

diagnose() {
  echo "--- docker compose ps" >&2
  compose ps --all >&2 || true
  echo "--- last 100 log lines per service" >&2
  compose logs --no-color --tail 100 >&2 || true
}

# /health/ready (database and broker) as the API itself sees it: its `healthcheck` subcommand,
# run inside the running container (no shell or curl needed on the host or in the image).
wait_ready() {
  local deadline=$((SECONDS + 180))
  until compose exec -T "$api_service" /usr/local/bin/provenance-api healthcheck >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      echo "the API did not report ready (/health/ready) within 180 s" >&2
      return 1
    fi
    sleep 3
  done
  echo "the API reports ready (/health/ready)"
}

roll_out() {
  compose config --quiet
  compose pull --quiet
  if ! compose up --detach --wait --wait-timeout "$wait_seconds" --remove-orphans; then
    diagnose
    return 1
  fi
  if ! wait_ready; then
    diagnose
    return 1
  fi
  echo "running:"
  sed 's/^/  /' .env.images
}

case "$action" in
  deploy)
    [[ -f .env ]] || { echo "no $dir/.env: create it on the host first (see deploy/compose/ssh/)" >&2; exit 1; }
    [[ -f .env.images.next ]] || { echo "no $dir/.env.images.next: nothing to deploy" >&2; exit 1; }
    # What runs now is what a rollback returns to.
    if [[ -f .env.images ]]; then
      cp -p .env.images .env.images.previous
    else
      rm -f .env.images.previous
    fi
    mv -f .env.images.next .env.images
    roll_out
    ;;
  rollback)
    [[ -f .env.images.previous ]] || { echo "no previous release recorded in $dir: nothing to roll back to" >&2; exit 1; }
    cp -p .env.images .env.images.failed
    cp -p .env.images.previous .env.images
    echo "rolling back to:"
    sed 's/^/  /' .env.images
    roll_out
    ;;
  show)
    cat .env.images 2>/dev/null || true
    ;;
  *)
    echo "unknown action: $action" >&2
    exit 2
    ;;
esac
