#!/usr/bin/env bash
# Sets up everything the tests and the network pilot need, inside this checkout (all
# git-ignored): ONNX Runtime (.runtimes/onnxruntime), CPU libtorch 2.13.0 (.runtimes/libtorch),
# the factory's Python environment (.venv), and the test network with its golden data
# (generated/testnet), exported by the project's own Python. Idempotent: a second run only
# re-exports the test network (a few seconds). First run: about 3.3 GB of downloads.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup-ort.sh
bash scripts/setup-libtorch.sh
bash scripts/setup-python.sh
.venv/bin/python -m pilotnet_factory.testnet --out generated/testnet
