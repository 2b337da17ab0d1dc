"""Imports a trained driving network with the preprocessing and label mapping it was trained
with, and writes what pilotnet_brain drives: the ONNX file (and TorchScript where the source
allows), each with its description, checked against the source framework's outputs.

    python -m pilotnet_factory.import_model --arch deepest-lstm-tiny-pilotnet \\
        --checkpoint ../shared/behavior-metrics/models/model_lstm_pilotnet_torch.ckpt \\
        --out generated/bm_lstm --name bm_lstm
    python -m pilotnet_factory.import_model --model my_net.onnx --preset bm-pilotnet \\
        --labels raw --out generated/mine

Sources:

- `--arch A --checkpoint C`: a PyTorch `state_dict` (`.ckpt`/`.pth`, or a dict holding one
  under `state_dict`) of DeepLearningStudio's PilotNet or DeepestLSTMTinyPilotNet, loaded
  strictly into the factory's implementation; ONNX and TorchScript exports, both compared with
  PyTorch.
- `--model FILE.pt`: a TorchScript module; exported to ONNX, which is compared with it.
- `--model FILE.onnx`: an ONNX model; copied, run by ONNX Runtime on the check inputs. There
  is no TorchScript from ONNX (the network's PyTorch code is not in the file): import the
  checkpoint for that.

Preprocessing and label mapping come from a preset of a Behavior Metrics brain, then any flag
overrides its part:

- `bm-pilotnet` (DeepLearningStudio's PilotNet with Behavior Metrics' PyTorch brain): rows
  240-480, 200x66, RGB x/255, NCHW; labels min-max normalised over v [6.5, 24] m/s and w
  [-7.1, 7.1] rad/s, so v = p0 * 17.5 + 6.5, w = p1 * 14.2 - 7.1.
- `bm-lstm` (`brain_f1_torch-lstm.py`): rows 240-480, 100x50, RGB x/255, NCHW;
  v = p0 * 6, w = (p1 - 0.5) * 6.

`--crop T,B,L,R`, `--frame WxH`, `--size WxH`, `--color rgb|bgr`, `--scaling unit|raw|imagenet`
(or `--mean R,G,B --std R,G,B`), `--layout nchw|nhwc`; `--labels raw` (the network gives m/s
and rad/s) or `--labels normalised` with `--v-range LO,HI --w-range=LO,HI` (a negative range
needs the `=`).

Prints one JSON line: the files written and the largest difference of each export from the
source over the check inputs. Exits with status 2, naming the file and the fault, when the
source cannot be read, does not fit the architecture or the input, or an export disagrees.
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

from .export import (Preprocessing, description_yaml, example_input, export_onnx,
                     export_torchscript)
from .lstm import DeepestLSTMTinyPilotNet
from .lstm import INPUT_SHAPE as LSTM_INPUT
from .model import INPUT_SHAPE as PILOTNET_INPUT
from .model import PilotNet

#: Largest difference allowed between an export and its source, on outputs of order 1.
TOLERANCE = 1e-5

#: torchvision's ImageNet statistics, the usual `Normalize` of a pretrained backbone.
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class Preset:
    """A Behavior Metrics brain's conventions: input size and label mapping."""
    size: tuple[int, int]  # width, height
    v: tuple[float, float]  # scale, offset: v = p0 * scale + offset
    w: tuple[float, float]


PRESETS = {
    "bm-pilotnet": Preset((200, 66), (17.5, 6.5), (14.2, -7.1)),
    "bm-lstm": Preset((100, 50), (6.0, 0.0), (6.0, -3.0)),
}


@dataclass(frozen=True)
class Architecture:
    """A network the factory implements, and the preset of the brain that drives it."""
    build: type
    shape: tuple[int, int, int]
    preset: str
    #: Other input sizes (width, height) its weights fit.
    also: tuple[tuple[int, int], ...] = ()


ARCHITECTURES = {
    # 50x100 (width x height) too: DeepLearningStudio's training code of 2022 resized with
    # cv2.resize(img, (img_shape[1], img_shape[0])) and --img_shape "100,50,3", i.e. 100 rows
    # by 50 columns, where Behavior Metrics' brain makes 50 rows by 100 columns. The three
    # strided convolutions leave 8x11x5 = 440 features either way, so the weights fit both.
    "deepest-lstm-tiny-pilotnet": Architecture(DeepestLSTMTinyPilotNet, LSTM_INPUT, "bm-lstm",
                                               also=((50, 100),)),
    "pilotnet": Architecture(PilotNet, PILOTNET_INPUT, "bm-pilotnet"),
}


class ImportError_(Exception):
    """A network that cannot be imported, with the reason."""


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


def load_onnx(arch: str, path: Path) -> torch.nn.Module:
    """The network of `arch` with the weights of ONNX file `path`, whose initializers carry
    the architecture's parameter names (as PyTorch's exporter writes them); for optimising a
    network that arrives only as ONNX."""
    import onnx
    from onnx import numpy_helper

    try:
        graph = onnx.load(str(path)).graph
    except FileNotFoundError as e:
        raise ImportError_(f"{path}: no such file") from e
    except Exception as e:  # onnx raises DecodeError and others for a damaged file
        raise ImportError_(f"{path}: not an ONNX model: {e}") from e
    found = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    model = ARCHITECTURES[arch].build()
    state = model.state_dict()
    names = [k for k in state if not k.endswith("num_batches_tracked")]
    missing = [k for k in names if k not in found]
    if missing:
        raise ImportError_(f"{path} does not hold {arch}'s weights by name: missing {missing}")
    wrong = [f"{k}: {tuple(found[k].shape)} for {tuple(state[k].shape)}" for k in names
             if tuple(found[k].shape) != tuple(state[k].shape)]
    if wrong:
        raise ImportError_(f"{path} does not fit {arch}: shapes {'; '.join(wrong)}")
    for k in names:
        if found[k].dtype != torch.float32:
            raise ImportError_(f"{path}: weight {k} is {found[k].dtype}; a float32 model is "
                               "needed to optimise from")
        state[k] = found[k]
    model.load_state_dict(state)
    return model.eval()


def check_inputs(shape: tuple[int, ...], count: int = 8) -> torch.Tensor:
    """Inputs to compare exports on, batch first: seeded uniform noise and smooth ramps along
    the last axis, in [0, 1]."""
    generator = torch.Generator().manual_seed(12)
    noise = torch.rand((count // 2, *shape), generator=generator)
    ramp = torch.linspace(0, 1, shape[-1]).expand(*shape)
    ramps = torch.stack([ramp * (k + 1) / (count // 2) for k in range(count - count // 2)])
    return torch.cat([noise, ramps])


def tensor_shape(pre: Preprocessing) -> tuple[int, int, int]:
    """The input tensor's shape without the batch: (3, H, W) or (H, W, 3)."""
    if pre.layout == "nhwc":
        return (pre.height, pre.width, 3)
    return (3, pre.height, pre.width)


def onnx_input_size(path: Path, layout: str) -> tuple[int, int] | None:
    """(width, height) of an ONNX model's fixed image input, or None where it is symbolic."""
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types
        raise ImportError_(f"{path}: ONNX Runtime cannot load it: {e}") from e
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ImportError_(f"{path}: {len(inputs)} inputs; one image input is expected")
    dims = inputs[0].shape
    if len(dims) != 4:
        raise ImportError_(f"{path}: input {inputs[0].name} has shape {dims}, not 4-D")
    h, w = (dims[1], dims[2]) if layout == "nhwc" else (dims[2], dims[3])
    return (w, h) if isinstance(w, int) and isinstance(h, int) else None


def run_onnx(path: Path, x: torch.Tensor) -> np.ndarray:
    """ONNX Runtime's outputs (first output, flattened per sample) for each sample of `x`."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    try:
        return np.stack([np.asarray(session.run(None, {name: x[i:i + 1].numpy()})[0]).reshape(-1)
                         for i in range(len(x))])
    except Exception as e:  # onnxruntime raises its own exception types
        raise ImportError_(f"{path}: does not run on inputs of shape {tuple(x.shape[1:])} "
                           f"(check --size/--layout): {e}") from e


def run_torch(module, x: torch.Tensor, source: Path) -> np.ndarray:
    """A PyTorch or TorchScript module's outputs (flattened per sample) for each sample."""
    try:
        with torch.no_grad():
            return np.stack([module(x[i:i + 1]).reshape(-1).numpy() for i in range(len(x))])
    except Exception as e:  # TorchScript raises RuntimeError with the graph's trace
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ImportError_(f"{source}: does not run on inputs of shape {tuple(x.shape[1:])} "
                           f"(check --size/--layout): {first}") from e


def agree(label: str, got: np.ndarray, want: np.ndarray) -> float:
    diff = float(np.abs(got - want).max())
    if not diff <= TOLERANCE:
        raise ImportError_(f"the {label} export differs from its source by {diff:.3g} "
                           f"(more than {TOLERANCE:g})")
    return diff


def import_model(source: Path, out: Path, name: str, pre: Preprocessing,
                 v: tuple[float, float], w: tuple[float, float], arch: str | None = None) -> dict:
    """Writes `name`.onnx (and `name`.pt where the source allows) and `name`.yaml into `out`
    from a checkpoint of `arch`, or from a TorchScript or ONNX file; returns the summary."""
    out.mkdir(parents=True, exist_ok=True)
    onnx_path, ts_path, yaml_path = (out / f"{name}{ext}" for ext in (".onnx", ".pt", ".yaml"))
    shape = tensor_shape(pre)
    x = torch.cat([example_input(shape=shape), check_inputs(shape)])
    summary: dict = {"source": str(source), "onnx": str(onnx_path)}
    if arch is not None:
        model = load(arch, source)
        want = run_torch(model, x, source)
        export_onnx(model, onnx_path, shape=shape)
        export_torchscript(model, ts_path, shape=shape)
        summary["max_diff_onnx"] = agree("ONNX", run_onnx(onnx_path, x), want)
        summary["max_diff_torchscript"] = agree(
            "TorchScript", run_torch(torch.jit.load(str(ts_path)), x, ts_path), want)
        summary["torchscript"] = str(ts_path)
        what = f"{arch} checkpoint"
    elif source.suffix in (".pt", ".ts", ".pth"):
        try:
            scripted = torch.jit.load(str(source), map_location="cpu").eval()
        except Exception as e:  # torch.jit raises RuntimeError, ValueError, ...
            raise ImportError_(f"{source}: not a TorchScript module (a state_dict checkpoint "
                               f"needs --arch and --checkpoint): {e}") from e
        want = run_torch(scripted, x, source)
        export_onnx(scripted, onnx_path, shape=shape)
        summary["max_diff_onnx"] = agree("ONNX", run_onnx(onnx_path, x), want)
        scripted.save(str(ts_path))
        summary["torchscript"] = str(ts_path)
        what = "TorchScript module"
    elif source.suffix == ".onnx":
        if not source.is_file():
            raise ImportError_(f"{source}: no such file")
        fixed = onnx_input_size(source, pre.layout)
        if fixed is not None and fixed != (pre.width, pre.height):
            raise ImportError_(f"{source}: its input is {fixed[0]}x{fixed[1]}, the "
                               f"preprocessing gives {pre.width}x{pre.height} (set --size)")
        want = run_onnx(source, x)
        if source.resolve() != onnx_path.resolve():
            onnx_path.write_bytes(source.read_bytes())
        summary["max_diff_onnx"] = 0.0
        summary["torchscript"] = None
        what = "ONNX model"
    else:
        raise ImportError_(f"{source}: neither .onnx nor TorchScript (.pt, .ts); a checkpoint "
                           "needs --arch and --checkpoint")
    if want.shape[1] < 2:
        raise ImportError_(f"{source}: gives {want.shape[1]} output value(s); (v, w) needs 2")
    if not np.isfinite(want).all():
        raise ImportError_(f"{source}: gives non-finite outputs on the check inputs")
    yaml_path.write_text(description_yaml(
        f"What {name} expects and returns (pilotnet_brain model description).\n"
        f"Written by pilotnet_factory.import_model from {source.name} ({what}).",
        pre.width, pre.height, v, w, pre))
    summary.update({"description": str(yaml_path), "inputs_checked": len(x),
                    "outputs": int(want.shape[1]), "source_outputs": want[:2].round(6).tolist()})
    return summary


def pair(text: str, sep: str = ",", kind=float) -> tuple:
    """`text` split at `sep` into numbers of `kind` (an argparse type)."""
    try:
        return tuple(kind(p) for p in text.split(sep))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"'{text}': {e}") from e


def preprocessing(a: argparse.Namespace, preset: Preset,
                  fixed_size: tuple[int, int] | None) -> Preprocessing:
    """The preset's preprocessing with the flags' overrides."""
    size = a.size or fixed_size or preset.size
    if a.mean or a.std:
        if not (a.mean and a.std) or len(a.mean) != 3 or len(a.std) != 3 or min(a.std) <= 0:
            raise ImportError_("--mean and --std take three values each, std above 0")
        scaling = (a.mean, a.std)
    elif a.scaling == "imagenet":
        scaling = IMAGENET
    else:
        scaling = a.scaling
    crop = a.crop or (240, 480, 0, 640)
    frame = a.frame or (640, 480)
    top, bottom, left, right = crop
    if not (0 <= top < bottom <= frame[1] and 0 <= left < right <= frame[0]):
        raise ImportError_(f"--crop {crop} does not fit a {frame[0]}x{frame[1]} frame")
    if len(size) != 2 or min(size) <= 0:
        raise ImportError_(f"--size {size}: expected WIDTHxHEIGHT, both above 0")
    return Preprocessing(int(size[0]), int(size[1]), frame=(int(frame[0]), int(frame[1])),
                         crop=tuple(int(c) for c in crop), color=a.color, scaling=scaling,
                         layout=a.layout)


def label_mapping(a: argparse.Namespace, preset: Preset) -> tuple[tuple, tuple]:
    """(v, w) as (scale, offset) each: the preset's, raw, or min-max ranges."""
    if a.labels == "raw":
        return (1.0, 0.0), (1.0, 0.0)
    if a.labels == "normalised":
        if not (a.v_range and a.w_range):
            raise ImportError_("--labels normalised needs --v-range LO,HI and --w-range LO,HI")
        ranges = []
        for flag, (lo, hi) in (("--v-range", a.v_range), ("--w-range", a.w_range)):
            if not hi > lo:
                raise ImportError_(f"{flag} {lo},{hi}: HI must be above LO")
            ranges.append((hi - lo, lo))
        return ranges[0], ranges[1]
    return preset.v, preset.w


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="a state_dict, with --arch")
    source.add_argument("--model", type=Path, help="an ONNX or TorchScript file")
    p.add_argument("--arch", choices=sorted(ARCHITECTURES))
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--name", default=None, help="file stem [default: the source's]")
    p.add_argument("--preset", choices=sorted(PRESETS),
                   help="[default: the architecture's; bm-pilotnet for --model]")
    p.add_argument("--crop", type=lambda t: pair(t, kind=int), help="TOP,BOTTOM,LEFT,RIGHT")
    p.add_argument("--frame", type=lambda t: pair(t, "x", int), help="WIDTHxHEIGHT")
    p.add_argument("--size", type=lambda t: pair(t, "x", int), help="network input WIDTHxHEIGHT")
    p.add_argument("--color", choices=["rgb", "bgr"], default="rgb")
    p.add_argument("--scaling", choices=["unit", "raw", "imagenet"], default="unit")
    p.add_argument("--mean", type=pair, help="R,G,B of x/255 (with --std)")
    p.add_argument("--std", type=pair, help="R,G,B")
    p.add_argument("--layout", choices=["nchw", "nhwc"], default="nchw")
    p.add_argument("--labels", choices=["preset", "raw", "normalised"], default="preset")
    p.add_argument("--v-range", type=pair, help="LO,HI m/s of the normalised v label")
    p.add_argument("--w-range", type=pair, help="LO,HI rad/s of the normalised w label")
    a = p.parse_args(argv)
    try:
        if a.checkpoint is not None and a.arch is None:
            raise ImportError_("--checkpoint needs --arch (" + ", ".join(sorted(ARCHITECTURES)) + ")")
        src = a.checkpoint or a.model
        arch = ARCHITECTURES[a.arch] if a.checkpoint is not None else None
        preset = PRESETS[a.preset or (arch.preset if arch else "bm-pilotnet")]
        fixed = None
        if arch is not None:
            _, h, w = arch.shape
            fixed = (w, h)
            if a.size and tuple(a.size) in arch.also:
                fixed = tuple(a.size)
            elif a.size and tuple(a.size) != fixed:
                sizes = " or ".join(f"{x}x{y}" for x, y in ((w, h), *arch.also))
                raise ImportError_(f"--size {a.size[0]}x{a.size[1]}: {a.arch} takes {sizes}")
            if a.layout != "nchw":
                raise ImportError_(f"--layout {a.layout}: {a.arch} takes NCHW")
        elif src.suffix == ".onnx" and src.is_file():
            fixed = onnx_input_size(src, a.layout)
        pre = preprocessing(a, preset, fixed)
        v, w = label_mapping(a, preset)
        summary = import_model(src, a.out, a.name or src.stem, pre, v, w,
                               arch=a.arch if arch else None)
    except ImportError_ as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
