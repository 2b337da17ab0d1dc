#!/usr/bin/env bash
# A long fuzz run: every target of tests/fuzz for SECONDS each (default 300), one after the
# other, the TorchScript target included (libtorch from scripts/setup.sh). Prints a Markdown
# table of targets, inputs tried and time, for docs/reliability.md. A finding fails the run
# with proptest's smallest failing input.
#
#   bash scripts/fuzz.sh [SECONDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${1:-300}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
started=$(date +%s)
FUZZ_SECONDS="$seconds" FUZZ_LOG="$log" cargo test --locked --features tch --test fuzz -- \
    --test-threads 1
echo
echo "fuzz run of $(git rev-parse --short HEAD), ${seconds} s per target, $(( ($(date +%s) - started) / 60 )) min in all:"
echo
echo "| target | inputs | seconds | inputs/s |"
echo "|---|---:|---:|---:|"
awk -F'\t' '{ printf "| %s | %d | %.0f | %.0f |\n", $1, $3, $4, $3 / ($4 > 0 ? $4 : 1) }' "$log"
