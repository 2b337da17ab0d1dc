#!/usr/bin/env bash
# Preprocessing side by side: the Python path (OpenCV crop + resize + scale + NCHW, as
# Behavior Metrics-style brains run it) and pilotnet_brain's, on the same test image, one
# thread each, alternated ROUNDS times on this machine. Prints each run's JSON, the medians of
# the p50s, and the median of the per-round ratios (Rust p50 / Python p50 of runs taken one
# right after the other, which cancels this shared machine's slow drifts of speed).
# JPEG=1: each frame is the test image as a quality-80 JPEG (compressed_image_transport's
# default quality) decoded first: OpenCV's imdecode against the ROS node's decoder.
# Needs scripts/setup.sh first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
frames="${FRAMES:-2000}"
rounds="${ROUNDS:-21}"
image="generated/testnet/frame.png"
[[ -f "$image" ]] || { echo "bench-preprocess: $image missing: run scripts/setup.sh" >&2; exit 2; }
extra=()
if [[ -n "${JPEG:-}" ]]; then
    jpeg="generated/testnet/frame.jpg"
    .venv/bin/python -c 'import cv2, sys; cv2.imwrite(sys.argv[2], cv2.imread(sys.argv[1]), [cv2.IMWRITE_JPEG_QUALITY, 80])' "$image" "$jpeg"
    extra=(--jpeg "$jpeg")
    echo "JPEG frames: $jpeg, $(stat -c %s "$jpeg") bytes"
fi
cargo bench --quiet --locked --bench preprocess --no-run >/dev/null 2>&1
py=(); rs=()
for _ in $(seq "$rounds"); do
    p="$(OMP_NUM_THREADS=1 .venv/bin/python -m pilotnet_factory.bench_preprocess --frames "$frames" --image "$image" ${extra[@]+"${extra[@]}"})"
    r="$(cargo bench --quiet --locked --bench preprocess -- --frames "$frames" --image "$image" ${extra[@]+"${extra[@]}"} 2>/dev/null | tail -n1)"
    echo "$p"; echo "$r"
    py+=("$(echo "$p" | python3 -c 'import json,sys; print(json.load(sys.stdin)["preprocess_ms_p50"])')")
    rs+=("$(echo "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["preprocess_ms_p50"])')")
done
# For context: the same crop and resize followed by ToTensor's conversion in PyTorch, the way
# Behavior Metrics' PyTorch brain scales (slower than NumPy; the ratio above uses NumPy).
if [[ -n "${JPEG:-}" ]]; then
    # For context: OpenCV decoding at half scale (IMREAD_REDUCED_COLOR_2), its fastest option.
    t="$(OMP_NUM_THREADS=1 .venv/bin/python -m pilotnet_factory.bench_preprocess --frames "$frames" --image "$image" --jpeg "$jpeg" --reduced)"
else
    t="$(.venv/bin/python -m pilotnet_factory.bench_preprocess --path torch --frames "$frames" --image "$image")"
fi
echo "$t"
python3 - "${py[*]}" "${rs[*]}" "$t" <<'PY'
import json, statistics, sys
py = [float(x) for x in sys.argv[1].split()]
rs = [float(x) for x in sys.argv[2].split()]
torch_p50 = json.loads(sys.argv[3])["preprocess_ms_p50"]
p, r = statistics.median(py), statistics.median(rs)
ratios = sorted(b / a for a, b in zip(py, rs))
print(f"per-round rust/python: {' '.join(f'{x:.2f}' for x in ratios)}")
other = json.loads(sys.argv[3])["path"]
print(f"median of {len(py)} rounds: python-opencv p50 {p*1000:.1f} us, "
      f"rust p50 {r*1000:.1f} us; median per-round rust/python {statistics.median(ratios):.2f} "
      f"({other} p50 {torch_p50*1000:.1f} us, rust/that {r/torch_p50:.2f})")
PY
