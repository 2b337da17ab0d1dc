"""Times the Python preprocessing path Behavior Metrics-style brains run per frame.

    python -m pilotnet_factory.bench_preprocess --frames 2000 [--image frame.png]

Per frame: crop rows 240-480 of a 640x480 RGB frame, `cv2.resize` to 200x66 (INTER_LINEAR),
scale to [0, 1] float32 and lay out as a contiguous NCHW array: the same work as the Rust
preprocessing. One thread (cv2.setNumThreads(1)). Prints JSON: p50, p99 and mean in ms.

`--path numpy` (default) scales with NumPy, the fastest Python spelling; `--path torch` does
what Behavior Metrics' PyTorch brain does after the resize (torchvision's `ToTensor`: a
uint8 tensor permuted to CHW, converted to float and divided by 255, then `unsqueeze(0)`).

`--jpeg FILE` times a compressed camera frame instead: `cv2.imdecode` of the file's bytes
(BGR, as cv_bridge decodes a CompressedImage), BGR → RGB, then the preprocessing above;
`--reduced` decodes at half scale (`IMREAD_REDUCED_COLOR_2`) and crops the half-size rows.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from .testnet import synthetic_image


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """Crop, resize, scale, transpose: a (1, 3, 66, 200) float32 array in [0, 1]."""
    crop = rgb[240:480, 0:640]
    small = cv2.resize(crop, (200, 66), interpolation=cv2.INTER_LINEAR)
    scaled = small.astype(np.float32) / 255.0
    return np.ascontiguousarray(scaled.transpose(2, 0, 1))[np.newaxis]


def preprocess_torch(rgb: np.ndarray):
    """Crop and resize as above, then ToTensor's conversion in PyTorch."""
    import torch

    crop = rgb[240:480, 0:640]
    small = cv2.resize(crop, (200, 66), interpolation=cv2.INTER_LINEAR)
    return torch.from_numpy(small).permute(2, 0, 1).float().div(255).unsqueeze(0).contiguous()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--image", type=Path, help="640x480 image (default: the test image)")
    parser.add_argument("--path", choices=["numpy", "torch"], default="numpy")
    parser.add_argument("--jpeg", type=Path, help="time decoding this JPEG file as well")
    parser.add_argument("--reduced", action="store_true", help="with --jpeg: decode at half scale")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    run = preprocess
    if args.path == "torch":
        import torch

        torch.set_num_threads(1)
        run = preprocess_torch
    if args.image:
        bgr = cv2.imread(str(args.image), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"bench_preprocess: cannot read image {args.image}")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    else:
        rgb = synthetic_image()
    if args.jpeg:
        data = np.frombuffer(args.jpeg.read_bytes(), dtype=np.uint8)
        flag = cv2.IMREAD_REDUCED_COLOR_2 if args.reduced else cv2.IMREAD_COLOR
        rows = (120, 240) if args.reduced else (240, 480)

        def decoded(_: np.ndarray) -> np.ndarray:
            bgr = cv2.imdecode(data, flag)
            if bgr is None:
                raise SystemExit(f"bench_preprocess: cannot decode {args.jpeg}")
            crop = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)[rows[0]:rows[1]]
            small = cv2.resize(crop, (200, 66), interpolation=cv2.INTER_LINEAR)
            scaled = small.astype(np.float32) / 255.0
            return np.ascontiguousarray(scaled.transpose(2, 0, 1))[np.newaxis]

        run = decoded
    for _ in range(args.warmup):
        run(rgb)
    times = np.empty(args.frames)
    for i in range(args.frames):
        start = time.perf_counter_ns()
        out = run(rgb)
        times[i] = (time.perf_counter_ns() - start) / 1e6
    assert tuple(out.shape) == (1, 3, 66, 200)
    print(json.dumps({
        "path": f"python-opencv-{args.path}" + ("-jpeg" if args.jpeg else "") + ("-reduced" if args.reduced else ""),
        "opencv": cv2.__version__,
        "frames": args.frames,
        "preprocess_ms_p50": float(np.percentile(times, 50)),
        "preprocess_ms_p99": float(np.percentile(times, 99)),
        "preprocess_ms_mean": float(times.mean()),
    }))


if __name__ == "__main__":
    main()
