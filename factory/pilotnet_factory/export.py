"""Exports a PilotNet to ONNX and TorchScript with the same weights, plus its description YAML.

The description is the file pilotnet_brain reads beside every model (see the README's "Model
description"): what the network expects (crop, size, colour order, scaling, layout) and how its
outputs map to (v, w).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .model import INPUT_SHAPE

#: Behavior Metrics' label ranges: v in [6.5, 24] m/s, w in [-7.1, 7.1] rad/s, min-max normalised.
V_RANGE = (6.5, 24.0)
W_RANGE = (-7.1, 7.1)

@dataclass(frozen=True)
class Preprocessing:
    """The input half of a description: which part of which frame, resized to what, in which
    channel order, scaling and layout. The defaults are Behavior Metrics' PyTorch brains': rows
    240-480 of a 640x480 frame, RGB x/255, NCHW."""

    width: int
    height: int
    frame: tuple[int, int] = (640, 480)
    crop: tuple[int, int, int, int] = (240, 480, 0, 640)  # top, bottom, left, right
    color: str = "rgb"
    #: "unit" (x/255), "raw" (x), or (mean, std) per channel of x/255.
    scaling: str | tuple[tuple[float, float, float], tuple[float, float, float]] = "unit"
    layout: str = "nchw"

    def yaml(self) -> str:
        top, bottom, left, right = self.crop
        if isinstance(self.scaling, str):
            scaling = self.scaling
        else:
            mean, std = ([float(x) for x in part] for part in self.scaling)
            scaling = f"{{normalize: {{mean: {mean}, std: {std}}}}}"
        return (f"input:\n"
                f"  frame: {{width: {self.frame[0]}, height: {self.frame[1]}}}\n"
                f"  crop: {{top: {top}, bottom: {bottom}, left: {left}, right: {right}}}\n"
                f"  size: {{width: {self.width}, height: {self.height}}}\n"
                f"  color: {self.color}\n"
                f"  scaling: {scaling}\n"
                f"  layout: {self.layout}\n")


def read_description(text: str) -> tuple["LabelRange", Preprocessing, dict]:
    """A description's output normalisation (the label range its (v, w) mapping undoes), its
    input as `Preprocessing`, and the parsed YAML."""
    import yaml

    from .data import LabelRange

    spec = yaml.safe_load(text)
    i, v, w = spec["input"], spec["output"]["v"], spec["output"]["w"]
    crop = i["crop"]
    pre = Preprocessing(i["size"]["width"], i["size"]["height"],
                        frame=(i["frame"]["width"], i["frame"]["height"]),
                        crop=(crop["top"], crop["bottom"], crop["left"], crop["right"]),
                        color=i.get("color", "rgb"), scaling=i.get("scaling", "unit"),
                        layout=i.get("layout", "nchw"))
    r = LabelRange(v["offset"], v["offset"] + v["scale"], w["offset"], w["offset"] + w["scale"])
    return r, pre, spec


def description_yaml(header: str, width: int, height: int, v: tuple[float, float],
                     w: tuple[float, float], pre: Preprocessing | None = None) -> str:
    """A description: `header` as comment lines, the input (`pre`, default Behavior Metrics'
    at `width` x `height`), and v = p0 * v[0] + v[1], w = p1 * w[0] + w[1]."""
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    pre = pre or Preprocessing(width, height)
    return (comments + pre.yaml() +
            "output:\n  count: 2\n"
            f"  v: {{index: 0, scale: {float(v[0])!r}, offset: {float(v[1])!r}}}\n"
            f"  w: {{index: 1, scale: {float(w[0])!r}, offset: {float(w[1])!r}}}\n")


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
