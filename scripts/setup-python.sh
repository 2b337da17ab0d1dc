#!/usr/bin/env bash
# Creates the project-local Python environment (.venv, git-ignored) of the model factory:
# PyTorch 2.13.0 (the libtorch of tch 0.26), onnx, onnxruntime and OpenCV, pinned in
# factory/requirements.txt. About 2.7 GB to download the first time, then cached by pip.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$root/factory/requirements.txt" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "setup-python: $venv is up to date"
    exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/factory/requirements.txt"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e "$root/factory"
echo "$want" >"$stamp"
echo "setup-python: ready at $venv"
