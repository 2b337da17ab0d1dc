#!/usr/bin/env bash
# Installs ONNX Runtime's C library into .runtimes/onnxruntime (git-ignored), taken from the
# PyPI onnxruntime wheel (24 MB): the ort backend loads it at run time from there.
# ORT_VERSION overrides the version (the ort crate, api-31, needs 1.31 or newer);
# ORT_PACKAGE=onnxruntime-gpu takes the CUDA build (256 MB wheel, CUDA and TensorRT providers).
# ORT_PLATFORM=manylinux_2_28_aarch64 ORT_DEST=DIR takes another machine's build (a robot's
# aarch64 computer: scripts/cross-aarch64.sh) into DIR.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${ORT_VERSION:-1.31.1}"
package="${ORT_PACKAGE:-onnxruntime}"
dest="${ORT_DEST:-$root/.runtimes/onnxruntime}"
platform=()
if [[ -n "${ORT_PLATFORM:-}" ]]; then
    platform=(--platform "$ORT_PLATFORM" --python-version 3.11)
fi
lib="$dest/libonnxruntime.so.$version"
if [[ -f "$lib" ]]; then
    echo "setup-ort: $lib is present"
    exit 0
fi
wheels="$root/.runtimes/wheels"
mkdir -p "$wheels" "$dest"
python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --only-binary=:all: ${platform[@]+"${platform[@]}"} "$package==$version" -d "$wheels"
wheel="$(ls "$wheels"/"${package//-/_}"-"$version"-*"${ORT_PLATFORM:-x86_64}"*.whl | head -n1)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith("onnxruntime/capi/libonnxruntime")]
    if not names:
        sys.exit(f"setup-ort: no libonnxruntime in {wheel}")
    for n in names:
        z.extract(n, out)
PY
mv -f "$tmp"/onnxruntime/capi/libonnxruntime* "$dest/"
ln -sf "libonnxruntime.so.$version" "$dest/libonnxruntime.so"
echo "setup-ort: installed $lib"
