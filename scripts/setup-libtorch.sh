#!/usr/bin/env bash
# Installs CPU libtorch 2.13.0 (the version tch 0.26 binds) into .runtimes/libtorch
# (git-ignored), cut from the PyPI torch wheel: headers, libtorch, libtorch_cpu, libc10, libgomp
# and the two CUDA stubs libtorch_cpu links (cudart, cupti). About 540 MB to download (pip caches
# it), 490 MB on disk. .cargo/config.toml points LIBTORCH here; build.rs adds the rpath.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.runtimes/libtorch"
if [[ -f "$dest/lib/libtorch_cpu.so" && -f "$dest/include/torch/script.h" ]]; then
    echo "setup-libtorch: $dest is present"
    exit 0
fi
wheels="$root/.runtimes/wheels"
mkdir -p "$wheels"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    torch==2.13.0 'nvidia-cuda-runtime==13.0.96.*' 'nvidia-cuda-cupti==13.0.85.*' -d "$wheels"
tmp="$dest.partial"
rm -rf "$tmp" && mkdir -p "$tmp/lib"
python3 - "$wheels" "$tmp" <<'PY'
import glob, os, shutil, sys, zipfile
wheels, out = sys.argv[1], sys.argv[2]
def one(pattern):
    found = sorted(glob.glob(os.path.join(wheels, pattern)))
    if not found:
        sys.exit(f"setup-libtorch: no wheel matches {pattern} in {wheels}")
    return found[-1]
keep = {"libtorch_cpu.so", "libtorch.so", "libc10.so", "libgomp.so.1"}
with zipfile.ZipFile(one("torch-2.13.0-*.whl")) as z:
    for info in z.infolist():
        name = info.filename
        if name.startswith("torch/include/") and not name.endswith("/"):
            target = os.path.join(out, "include", name[len("torch/include/"):])
        elif name.startswith("torch/lib/") and os.path.basename(name) in keep:
            target = os.path.join(out, "lib", os.path.basename(name))
        else:
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
for pattern, lib in (("nvidia_cuda_runtime-*.whl", "libcudart.so.13"),
                     ("nvidia_cuda_cupti-*.whl", "libcupti.so.13")):
    with zipfile.ZipFile(one(pattern)) as z:
        member = next((n for n in z.namelist() if n.endswith("/" + lib)), None)
        if member is None:
            sys.exit(f"setup-libtorch: {lib} missing from {pattern}")
        with z.open(member) as src, open(os.path.join(out, "lib", lib), "wb") as dst:
            shutil.copyfileobj(src, dst)
PY
rm -rf "$dest" && mv "$tmp" "$dest"
echo "setup-libtorch: installed $dest"
