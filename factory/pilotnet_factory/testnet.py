"""Writes the test network and preprocessing golden data the Rust tests use.

    python -m pilotnet_factory.testnet --out generated/testnet

- `pilotnet_dls.onnx`, `pilotnet_dls.pt`, `pilotnet_dls.yaml`: a seeded, untrained DLS PilotNet in
  both formats with the same weights (until the factory ships a trained one), and
  `pilotnet_dls.pth`, its `state_dict` as DeepLearningStudio saves a checkpoint.
- `frame.png`: a seeded synthetic 640x480 RGB test image (gradients, edges, noise).
- `frame_opencv.png`: what Behavior Metrics' Python path makes of it: crop rows 240-480, then
  `cv2.resize(..., (200, 66))` with INTER_LINEAR.
- `expected.json`: PyTorch's raw outputs for `frame_opencv.png` scaled to [0, 1], in NCHW.
- `nan.onnx`, `nan.pt`, `nan.yaml`: a tiny network of the same signature that outputs NaN, for
  the safety tests.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch

from torch import nn

from .export import export_both
from .model import PilotNet, parameter_count, PARAMETERS

SEED = 20261122


def seeded_network(seed: int = SEED) -> PilotNet:
    """An untrained PilotNet with seeded weights and plausible BatchNorm statistics."""
    torch.manual_seed(seed)
    model = PilotNet()
    with torch.no_grad():
        model.ln_1.running_mean.copy_(torch.tensor([0.45, 0.40, 0.38]))
        model.ln_1.running_var.copy_(torch.tensor([0.070, 0.065, 0.060]))
    model.eval()
    assert parameter_count(model) == PARAMETERS
    return model


class NanNet(nn.Module):
    """Takes a PilotNet input and returns two NaNs."""

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return img.flatten(1)[:, :2] * float("nan")


def synthetic_image(seed: int = SEED) -> np.ndarray:
    """A 480x640x3 uint8 RGB image that exercises interpolation: gradients, hard edges, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:480, 0:640].astype(np.float32)
    img = np.zeros((480, 640, 3), np.float32)
    img[..., 0] = 255.0 * x / 639.0
    img[..., 1] = 255.0 * y / 479.0
    img[..., 2] = 127.5 + 127.5 * np.sin(x / 7.0) * np.cos(y / 5.0)
    img[(x // 16 + y // 16) % 2 == 0] *= 0.6
    noisy = rng.random((480, 640)) < 0.15
    img[noisy] = rng.integers(0, 256, size=(int(noisy.sum()), 3))
    img[300:310, :, :] = (255, 0, 0)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def opencv_preprocess(rgb: np.ndarray) -> np.ndarray:
    """Behavior Metrics' crop and resize: rows 240-480, then 200x66 with INTER_LINEAR."""
    crop = rgb[240:480, 0:640]
    return cv2.resize(crop, (200, 66), interpolation=cv2.INTER_LINEAR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    model = seeded_network()
    export_both(model, out, "pilotnet_dls")
    torch.save(model.state_dict(), str(out / "pilotnet_dls.pth"))
    export_both(NanNet(), out, "nan")

    rgb = synthetic_image()
    resized = opencv_preprocess(rgb)
    cv2.imwrite(str(out / "frame.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(out / "frame_opencv.png"), cv2.cvtColor(resized, cv2.COLOR_RGB2BGR))
    tensor = torch.from_numpy(resized).permute(2, 0, 1).float().div(255.0).unsqueeze(0)
    with torch.no_grad():
        raw = model(tensor)[0].tolist()
    (out / "expected.json").write_text(
        json.dumps({"input": "frame_opencv.png", "raw_outputs": raw}, indent=2) + "\n"
    )
    print(f"testnet: wrote {out}")


if __name__ == "__main__":
    main()
