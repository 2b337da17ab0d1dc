"""Exports a PilotNet to ONNX and TorchScript with the same weights, plus its description YAML.

The description is the file pilotnet_brain reads beside every model (see the README's "Model
description"): what the network expects (crop, size, colour order, scaling, layout) and how its
outputs map to (v, w).
"""

from __future__ import annotations

from pathlib import Path

import torch

from .model import INPUT_SHAPE

#: Behavior Metrics' label ranges: v in [6.5, 24] m/s, w in [-7.1, 7.1] rad/s, min-max normalised.
V_RANGE = (6.5, 24.0)
W_RANGE = (-7.1, 7.1)

#: The body of a model description: Behavior Metrics' crop of the 640x480 frame, RGB x/255,
#: NCHW, and the (v, w) output mapping.
DESCRIPTION_BODY = """\
input:
  frame: {{width: 640, height: 480}}
  crop: {{top: 240, bottom: 480, left: 0, right: 640}}
  size: {{width: {width}, height: {height}}}
  color: rgb
  scaling: unit
  layout: nchw
output:
  count: 2
  v: {{index: 0, scale: {v_scale}, offset: {v_offset}}}
  w: {{index: 1, scale: {w_scale}, offset: {w_offset}}}
"""


def description_yaml(header: str, width: int, height: int, v: tuple[float, float],
                     w: tuple[float, float]) -> str:
    """A description: `header` as comment lines, the input size, and v = p0 * v[0] + v[1],
    w = p1 * w[0] + w[1]."""
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    return comments + DESCRIPTION_BODY.format(
        width=width, height=height, v_scale=repr(float(v[0])), v_offset=repr(float(v[1])),
        w_scale=repr(float(w[0])), w_offset=repr(float(w[1])))


def description(name: str, ranges: dict[str, tuple[float, float]] | None = None) -> str:
    """The description YAML of a DLS PilotNet called `name` whose outputs are min-max
    normalised over `ranges` (default: Behavior Metrics' v and w ranges)."""
    _, height, width = INPUT_SHAPE
    v_lo, v_hi = (ranges or {}).get("v", V_RANGE)
    w_lo, w_hi = (ranges or {}).get("w", W_RANGE)
    header = (f"What {name} expects and returns (pilotnet_brain model description).\n"
              "Written by pilotnet_factory.export; the crop and output mapping are Behavior "
              "Metrics' PyTorch\nPilotNet brain's.")
    return description_yaml(header, width, height, (v_hi - v_lo, v_lo), (w_hi - w_lo, w_lo))


def example_input(batch: int = 1, shape: tuple[int, int, int] = INPUT_SHAPE) -> torch.Tensor:
    """A fixed input of the network's shape (PilotNet's by default), for tracing."""
    generator = torch.Generator().manual_seed(0)
    return torch.rand((batch, *shape), generator=generator)


def export_onnx(model: torch.nn.Module, path: Path, opset: int = 17,
                shape: tuple[int, int, int] = INPUT_SHAPE) -> None:
    """Writes `model` as ONNX (legacy TorchScript-based exporter, fixed 1xCxHxW input)."""
    model.eval()
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example_input(shape=shape),),
            str(path),
            input_names=["image"],
            output_names=["vw"],
            opset_version=opset,
            dynamo=False,
        )


def export_torchscript(model: torch.nn.Module, path: Path,
                       shape: tuple[int, int, int] = INPUT_SHAPE) -> None:
    """Writes `model` as traced, frozen TorchScript."""
    model.eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, (example_input(shape=shape),))
        frozen = torch.jit.freeze(traced)
    frozen.save(str(path))


def export_both(model: torch.nn.Module, out_dir: Path, stem: str,
                ranges: dict[str, tuple[float, float]] | None = None) -> dict[str, Path]:
    """ONNX, TorchScript and the shared description YAML for `model` in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "onnx": out_dir / f"{stem}.onnx",
        "torchscript": out_dir / f"{stem}.pt",
        "description": out_dir / f"{stem}.yaml",
    }
    export_onnx(model, paths["onnx"])
    export_torchscript(model, paths["torchscript"])
    paths["description"].write_text(description(stem, ranges))
    return paths
