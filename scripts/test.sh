#!/usr/bin/env bash
# The README's test command: set up (scripts/setup.sh), then run the Rust tests with both
# inference backends compiled in, and the model factory's Python tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
cargo test --locked --features tch
.venv/bin/python -m pytest -q factory/tests
