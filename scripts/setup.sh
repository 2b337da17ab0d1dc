#!/usr/bin/env bash
# Sets up everything the tests and the network pilot need, inside this checkout (all
# git-ignored): ONNX Runtime (.runtimes/onnxruntime), CPU libtorch 2.13.0 (.runtimes/libtorch),
# the factory's Python environment (.venv), and the test network with its golden data
# (generated/testnet), exported by the project's own Python, and Behavior Metrics' own network
# imported from ../shared (generated/bm_lstm, and generated/bm_lstm_rows
# in its training orientation). Idempotent: a second run only re-exports those
# (a few seconds). First run: about 3.3 GB of downloads.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/setup-ort.sh
bash scripts/setup-libtorch.sh
bash scripts/setup-python.sh
.venv/bin/python -m pilotnet_factory.testnet --out generated/testnet
.venv/bin/python -m pilotnet_factory.import_model --arch deepest-lstm-tiny-pilotnet \
    --checkpoint ../shared/behavior-metrics/models/model_lstm_pilotnet_torch.ckpt \
    --out generated/bm_lstm --name bm_lstm >/dev/null
# The same network fed as DeepLearningStudio's training code fed it: 100 rows by 50 columns.
.venv/bin/python -m pilotnet_factory.import_model --arch deepest-lstm-tiny-pilotnet \
    --checkpoint ../shared/behavior-metrics/models/model_lstm_pilotnet_torch.ckpt \
    --size 50x100 --out generated/bm_lstm_rows --name bm_lstm_rows >/dev/null
