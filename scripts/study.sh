#!/usr/bin/env bash
# Reproduces the optimisation study: runs experiments/study.yaml (every shipped variant, the
# four reference circuits both ways, ideal and emulated slower targets) into runs/study and
# writes its report — tables.md, results.csv, figures/, index.html — into docs/results/, then
# a screenshot of the page taken by headless Chromium. A rerun keeps the finished cells of
# runs/study (delete it to start over). Extra arguments go to `experiment` (e.g. --workers 1).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup-ort.sh
bash scripts/setup-libtorch.sh
bash scripts/setup-browser.sh
cargo build --release --locked --features tch
start=$(date +%s)
target/release/pilotnet-brain experiment experiments/study.yaml --out runs/study \
  --report docs/results "$@"
echo "study: $(( $(date +%s) - start )) s wall"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome)
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,2200 \
  --virtual-time-budget=10000 --screenshot="$root/docs/results/screenshot.png" \
  "file://$root/docs/results/index.html" 2>/dev/null
echo "screenshot: docs/results/screenshot.png"
