#!/usr/bin/env bash
# Resolve a release to one immutable image reference (repository@sha256:…) per component, and
# optionally check each one's keyless cosign signature from this repository's
# publish-images.yml. Used by deploy-ssh.yml and deploy-runtime.yml.
#
#   resolve-images.sh VERSION
#
# VERSION is either
#   - a tag applied to every component: `v1.4.2` or `1.4.2` (release tags are published without
#     the leading v), `sha-<commit>` (every build of main), `main`, `latest`;
#   - or one digest per component: `api=sha256:…,worker=sha256:…,cli=sha256:…`.
#
# Environment:
#   IMAGE_PREFIX  e.g. ghcr.io/acme/provenance (the images are IMAGE_PREFIX-api, -worker, -cli)
#   COMPONENTS    default "api worker cli"
#   VERIFY        "true" to run `cosign verify` on every digest (cosign must be on PATH)
#   SIGNER_REPO   owner/name whose publish-images.yml must have signed them (default
#                 $GITHUB_REPOSITORY)
# Writes `<component>-image` and `<component>-digest` to $GITHUB_OUTPUT when it is set, and a
# table to stdout.
set -euo pipefail

version="${1:?usage: resolve-images.sh VERSION}"
prefix="${IMAGE_PREFIX:?IMAGE_PREFIX is not set}"
read -r -a components <<<"${COMPONENTS:-api worker cli}"
out="${GITHUB_OUTPUT:-/dev/null}"

die() { echo "::error::$*" >&2; exit 1; }

version="$(printf '%s' "$version" | tr -d '[:space:]')"
declare -A digest_of=()
if [[ "$version" == *=* ]]; then
  IFS=',' read -r -a pairs <<<"$version"
  for pair in "${pairs[@]}"; do
    name="${pair%%=*}" value="${pair#*=}"
    [[ "$value" =~ ^sha256:[0-9a-f]{64}$ ]] || die "not a digest for $name: '$value' (expected sha256:<64 hex>)"
    digest_of[$name]="$value"
  done
  for c in "${components[@]}"; do
    [[ -n "${digest_of[$c]:-}" ]] || die "no digest given for '$c' (give $(printf '%s=sha256:…,' "${components[@]}" | sed 's/,$//'))"
  done
elif [[ "$version" == sha256:* ]]; then
  die "a bare digest names one image only: give one per component ($(printf '%s=sha256:…,' "${components[@]}" | sed 's/,$//'))"
else
  [[ "$version" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "not a valid image tag: '$version'"
  # Release tags are published as 1.4.2, 1.4 and 1 (docker/metadata-action semver patterns).
  [[ "$version" =~ ^v[0-9] ]] && version="${version#v}"
fi

# The signer: this repository's image workflow, run for main or a release tag (not a branch).
signer_repo="${SIGNER_REPO:-${GITHUB_REPOSITORY:-}}"
if [[ "${VERIFY:-false}" == true ]]; then
  [[ -n "$signer_repo" ]] || die "SIGNER_REPO (or GITHUB_REPOSITORY) is needed to verify signatures"
  command -v cosign >/dev/null || die "cosign is not on PATH"
  # shellcheck disable=SC2016 # a sed bracket expression of regex metacharacters, not an expansion
  repo_re="$(printf '%s' "$signer_repo" | sed 's/[.[\*^$()+?{}|]/\\&/g')"
  identity_re="^https://github\\.com/${repo_re}/\\.github/workflows/publish-images\\.yml@refs/(heads/main|tags/v[0-9].*)\$"
fi

printf '%-8s %s\n' component image
for c in "${components[@]}"; do
  repo="${prefix}-${c}"
  if [[ -n "${digest_of[$c]:-}" ]]; then
    source_ref="${repo}@${digest_of[$c]}"
  else
    source_ref="${repo}:${version}"
  fi
  # The digest of what the reference names (the multi-platform index), as the registry has it.
  digest="$(docker buildx imagetools inspect "$source_ref" --format '{{json .Manifest}}' | jq -r '.digest')" \
    || die "cannot resolve $source_ref (does the tag exist, and can this job read the package?)"
  [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "unexpected digest for $source_ref: '$digest'"
  ref="${repo}@${digest}"
  if [[ "${VERIFY:-false}" == true ]]; then
    cosign verify \
      --certificate-identity-regexp "$identity_re" \
      --certificate-oidc-issuer https://token.actions.githubusercontent.com \
      "$ref" >/dev/null || die "signature check failed for $ref (not signed by ${signer_repo}'s publish-images.yml on main or a v* tag)"
  fi
  printf '%-8s %s\n' "$c" "$ref"
  {
    echo "${c}-image=${ref}"
    echo "${c}-digest=${digest}"
  } >>"$out"
done
if [[ "${VERIFY:-false}" == true ]]; then
  echo "signatures: every digest verified (issuer token.actions.githubusercontent.com, identity ${identity_re})"
fi
