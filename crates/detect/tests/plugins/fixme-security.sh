#!/bin/sh
# A small external detector speaking provenance.detector/v1: reports every `FIXME(security)`
# comment in the files it is given. `capabilities` describes it; `scan` reads the request from
# stdin (its file list) and prints findings. Used by tests/external.rs.
set -eu
case "${1:-}" in
capabilities)
  printf '%s\n' '{"protocol":"provenance.detector/v1","tool":{"name":"fixme-security","version":"1.0"},"rules":[{"id":"fixme","name":"Security FIXME","severity":"low","category":"review","cwe":["CWE-1116"]}]}'
  ;;
scan)
  request=$(cat)
  # The paths from the request: every "path":"…" value.
  paths=$(printf '%s' "$request" | grep -o '"path":"[^"]*"' | sed 's/^"path":"//; s/"$//')
  printf '{"protocol":"provenance.detector/v1","findings":['
  for p in $paths; do
    grep -n 'FIXME(security)' "$p" | cut -d: -f1 | while read -r line; do
      printf '{"rule_id":"fixme","path":"%s","start_line":%s,"message":"security FIXME left in %s"}\n' "$p" "$line" "$p"
    done
  done | paste -sd, -
  printf ']}\n'
  ;;
*)
  echo "usage: $0 capabilities|scan" >&2
  exit 2
  ;;
esac
