"""Imports a trained PyTorch driving network: its checkpoint (a `state_dict`) loaded into the
factory's own implementation of its architecture, exported to ONNX and TorchScript with the
description pilotnet_brain reads, and both exports checked against the checkpoint's PyTorch
outputs.

    python -m pilotnet_factory.import_model --arch deepest-lstm-tiny-pilotnet \\
        --checkpoint ../shared/behavior-metrics/models/model_lstm_pilotnet_torch.ckpt \\
        --out generated/bm_lstm --name bm_lstm

Architectures and the preprocessing and label mapping their Behavior Metrics brains use:

- `deepest-lstm-tiny-pilotnet`: Behavior Metrics' `brain_f1_torch-lstm.py`: rows 240-480,
  resized to 100x50, RGB x/255; v = p0 * 6 m/s, w = (p1 - 0.5) * 6 rad/s.
- `pilotnet`: DeepLearningStudio's PilotNet with Behavior Metrics' PyTorch brain: rows 240-480,
  resized to 200x66, RGB x/255; v = p0 * 17.5 + 6.5, w = p1 * 14.2 - 7.1.

Prints one JSON line: the files written and the largest difference of each export from
PyTorch over the check inputs. Exits with status 2, naming the problem, when the checkpoint
cannot be read, does not fit the architecture, or an export disagrees.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .export import description_yaml, example_input, export_onnx, export_torchscript
from .lstm import DeepestLSTMTinyPilotNet
from .lstm import INPUT_SHAPE as LSTM_INPUT
from .model import INPUT_SHAPE as PILOTNET_INPUT
from .model import PilotNet

#: Largest difference allowed between an export and PyTorch, on outputs of order 1.
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Architecture:
    """A network the factory implements, with its Behavior Metrics brain's conventions."""
    build: type
    shape: tuple[int, int, int]
    v: tuple[float, float]  # scale, offset: v = p0 * scale + offset
    w: tuple[float, float]


ARCHITECTURES = {
    "deepest-lstm-tiny-pilotnet": Architecture(DeepestLSTMTinyPilotNet, LSTM_INPUT, (6.0, 0.0), (6.0, -3.0)),
    "pilotnet": Architecture(PilotNet, PILOTNET_INPUT, (17.5, 6.5), (14.2, -7.1)),
}

class ImportError_(Exception):
    """A checkpoint that cannot be imported, with the reason."""


def load(arch: str, checkpoint: Path) -> torch.nn.Module:
    """The network of `arch` with the weights of `checkpoint` (strict: every tensor of the
    architecture, no other), in eval mode."""
    spec = ARCHITECTURES[arch]
    try:
        state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)
    except FileNotFoundError as e:
        raise ImportError_(f"{checkpoint}: no such file") from e
    except Exception as e:  # torch raises many kinds for a file that is not a checkpoint
        raise ImportError_(f"{checkpoint}: not a PyTorch checkpoint: {e}") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ImportError_(f"{checkpoint}: holds a {type(state).__name__}, not a state_dict")
    model = spec.build()
    mine = model.state_dict()
    missing = sorted(set(mine) - set(state))
    unexpected = sorted(set(state) - set(mine))
    if missing or unexpected:
        raise ImportError_(
            f"{checkpoint} does not fit {arch}: missing {missing or 'nothing'}, "
            f"unexpected {unexpected or 'nothing'}")
    wrong = [f"{k}: {tuple(state[k].shape)} for {tuple(v.shape)}" for k, v in mine.items()
             if tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        raise ImportError_(f"{checkpoint} does not fit {arch}: shapes {'; '.join(wrong)}")
    model.load_state_dict(state, strict=True)
    return model.eval()


def check_inputs(shape: tuple[int, int, int], count: int = 8) -> torch.Tensor:
    """Inputs to compare exports on: seeded uniform noise and smooth ramps, in [0, 1]."""
    generator = torch.Generator().manual_seed(12)
    noise = torch.rand((count // 2, *shape), generator=generator)
    c, h, w = shape
    ramp = torch.linspace(0, 1, w).expand(c, h, w)
    ramps = torch.stack([ramp * (k + 1) / (count // 2) for k in range(count - count // 2)])
    return torch.cat([noise, ramps])


def import_model(arch: str, checkpoint: Path, out: Path, name: str) -> dict:
    """Writes `name`.onnx, `name`.pt and `name`.yaml into `out`; returns the summary."""
    spec = ARCHITECTURES[arch]
    model = load(arch, checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path, ts_path, yaml_path = (out / f"{name}{ext}" for ext in (".onnx", ".pt", ".yaml"))
    export_onnx(model, onnx_path, shape=spec.shape)
    export_torchscript(model, ts_path, shape=spec.shape)
    _, height, width = spec.shape
    yaml_path.write_text(description_yaml(
        f"What {name} expects and returns (pilotnet_brain model description).\n"
        f"Written by pilotnet_factory.import_model from {checkpoint.name}\n"
        f"({arch}, with its Behavior Metrics brain's crop, resize and label mapping).",
        width, height, spec.v, spec.w))
    x = torch.cat([example_input(shape=spec.shape), check_inputs(spec.shape)])
    with torch.no_grad():
        want = np.stack([model(x[i:i + 1])[0].numpy() for i in range(len(x))])
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    got_onnx = np.stack([session.run(None, {input_name: x[i:i + 1].numpy()})[0][0]
                         for i in range(len(x))])
    scripted = torch.jit.load(str(ts_path))
    with torch.no_grad():
        got_ts = np.stack([scripted(x[i:i + 1])[0].numpy() for i in range(len(x))])
    diff_onnx = float(np.abs(got_onnx - want).max())
    diff_ts = float(np.abs(got_ts - want).max())
    for label, diff in (("ONNX", diff_onnx), ("TorchScript", diff_ts)):
        if not diff <= TOLERANCE:
            raise ImportError_(f"the {label} export differs from PyTorch by {diff:.3g} "
                               f"(more than {TOLERANCE:g})")
    return {"arch": arch, "checkpoint": str(checkpoint), "onnx": str(onnx_path),
            "torchscript": str(ts_path), "description": str(yaml_path),
            "inputs_checked": len(x), "max_diff_onnx": diff_onnx, "max_diff_torchscript": diff_ts,
            "pytorch_outputs": want[:2].round(6).tolist()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES))
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--name", default=None, help="file stem [default: the checkpoint's]")
    a = p.parse_args(argv)
    try:
        summary = import_model(a.arch, a.checkpoint, a.out, a.name or a.checkpoint.stem)
    except ImportError_ as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
