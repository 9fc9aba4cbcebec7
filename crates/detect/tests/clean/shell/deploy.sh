#!/usr/bin/env bash
# Deploy a release of the storefront to the target host.
set -euo pipefail

readonly VERSION="${1:?usage: deploy.sh VERSION HOST}"
readonly HOST="${2:?usage: deploy.sh VERSION HOST}"
readonly RELEASE_URL="https://releases.example.com/storefront/${VERSION}/storefront.tar.gz"
readonly CHECKSUM_URL="${RELEASE_URL}.sha256"

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

log() {
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}

download() {
  log "downloading ${VERSION}"
  curl -fsSL -o "$workdir/storefront.tar.gz" "$RELEASE_URL"
  curl -fsSL -o "$workdir/storefront.tar.gz.sha256" "$CHECKSUM_URL"
}

verify() {
  log "verifying checksum"
  local expected
  expected="$(cut -d ' ' -f 1 "$workdir/storefront.tar.gz.sha256")"
  echo "${expected}  $workdir/storefront.tar.gz" | sha256sum --check --status
}

upload() {
  log "uploading to ${HOST}"
  scp -q "$workdir/storefront.tar.gz" "deploy@${HOST}:/tmp/storefront-${VERSION}.tar.gz"
  ssh "deploy@${HOST}" -- sudo /usr/local/bin/install-release "storefront-${VERSION}"
}

main() {
  if [[ ! "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    log "invalid version: ${VERSION}"
    exit 2
  fi
  download
  verify
  upload
  log "deployed ${VERSION} to ${HOST}"
}

main "$@"
