#!/usr/bin/env bash
# Fuzz the unified diff parser (fuzz/fuzz_targets/diff_parse.rs) for SECONDS (default 600):
# it must never panic, and whatever it accepts must render and parse back to the same files.
# Needs a nightly toolchain and cargo-fuzz (installed here from crates.io when missing). Builds
# in its own target directory (sanitizer flags would otherwise invalidate the main build).
# `BUILD_ONLY=1` only builds the target (what CI checks before its short run).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECONDS_TO_RUN="${1:-600}"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/provenance-fuzz-target}"

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo +nightly fuzz build diff_parse
if [[ "${BUILD_ONLY:-0}" == 1 ]]; then exit 0; fi
# New inputs go to corpus/ (not committed); the committed seeds are read too.
mkdir -p corpus/diff_parse
cargo +nightly fuzz run diff_parse corpus/diff_parse seeds/diff_parse -- -max_total_time="$SECONDS_TO_RUN"
