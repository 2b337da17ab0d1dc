#!/usr/bin/env bash
# The README's test command: set up (scripts/setup.sh, scripts/setup-browser.sh), then run
# the Rust tests with both inference backends compiled in, the model factory's Python tests, its smoke run, and the
# ROS 2 integration tests (tests/ros/run.sh: rclpy peers, private network namespace).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
# Chromium, for the test that opens the experiment report's page headless.
bash scripts/setup-browser.sh
cargo test --locked --features tch
.venv/bin/python -m pytest -q factory/tests
# The model factory end to end on a tiny dataset, one epoch: every export path, each variant
# loaded and measured by the release binary through its backend.
cargo build --release --locked --features tch
.venv/bin/python -m pilotnet_factory.build --smoke --out generated/factory-smoke
bash tests/ros/run.sh
