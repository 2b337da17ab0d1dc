"""Why a network drives as it does: its outputs over frames the expert drove (on the line and
off it), fitted against the expert's command and the car's lateral offset, and how edits of
the picture move them.

    pilotnet-brain dataset --circuits ../shared/gazebo-f1/simple_circuit/model.sdf \\
        --frames 1500 --one-direction --plain --full-every 1 --seed 0 --out /tmp/judge
    python -m pilotnet_factory.judge --model generated/bm_lstm/bm_lstm.onnx --dataset /tmp/judge

The dataset is what `pilotnet-brain dataset --full-every 1` writes: `labels.csv` (the expert's
command and the signed lateral offset, left positive, of every frame) and the whole camera
frames in `full/`. The model runs as its description (`MODEL.yaml` beside it) says: crop,
resize with OpenCV's `INTER_LINEAR` (as Behavior Metrics' brains do), colour order, scaling,
layout and output mapping.

Printed (Markdown, or one JSON object with `--json`):

- along the lap: the network's v and w against the expert's, by lateral offset, and the fit
  w_net = a * w_expert + b * lateral + c, whose zero on a straight (lateral = -c / b) is where
  the network would hold the car;
- picture edits on on-line frames — straights (|w_expert| < 0.1 rad/s, |lateral| < 0.03 m),
  left and right bends (|w_expert| > 0.5 rad/s, |lateral| < 0.05 m): the mean w after each
  edit — what in the picture moves the network.

Exits with status 2, naming the input, when the model, its description or the dataset cannot
be used.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import onnxruntime as ort
import yaml

#: Frames of each on-line set (straight, left bends, right bends) the edits are measured on.
EDIT_FRAMES = 60


class JudgeError(Exception):
    """An input that cannot be used, with what is wrong."""


@dataclass
class Network:
    """An ONNX network with its description's preprocessing and output mapping."""
    session: ort.InferenceSession
    crop: tuple[int, int, int, int]  # top, bottom, left, right
    size: tuple[int, int]  # width, height
    bgr: bool
    scale: float
    nhwc: bool
    v: tuple[int, float, float]  # index, scale, offset
    w: tuple[int, float, float]

    @staticmethod
    def open(model: Path) -> "Network":
        description = model.with_suffix(".yaml")
        if not model.exists():
            raise JudgeError(f"{model}: no such file")
        if not description.exists():
            raise JudgeError(f"{model}: no description {description.name} beside it")
        try:
            spec = yaml.safe_load(description.read_text())
            i, o = spec["input"], spec["output"]
            crop = (int(i["crop"]["top"]), int(i["crop"]["bottom"]),
                    int(i["crop"]["left"]), int(i["crop"]["right"]))
            size = (int(i["size"]["width"]), int(i["size"]["height"]))
            color, scaling, layout = i.get("color", "rgb"), i.get("scaling", "unit"), i.get("layout", "nchw")
            v = (int(o["v"]["index"]), float(o["v"]["scale"]), float(o["v"]["offset"]))
            w = (int(o["w"]["index"]), float(o["w"]["scale"]), float(o["w"]["offset"]))
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as e:
            raise JudgeError(f"{description}: not a model description ({e!r})") from e
        if color not in ("rgb", "bgr"):
            raise JudgeError(f"{description}: input.color '{color}' is not rgb or bgr")
        if scaling not in ("unit", "raw"):
            raise JudgeError(f"{description}: input.scaling '{scaling}' is not unit or raw")
        if layout not in ("nchw", "nhwc"):
            raise JudgeError(f"{description}: input.layout '{layout}' is not nchw or nhwc")
        try:
            session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own, unexported, exception types
            raise JudgeError(f"{model}: ONNX Runtime cannot load it ({e})") from e
        return Network(session, crop, size, color == "bgr", 1 / 255 if scaling == "unit" else 1.0,
                       layout == "nhwc", v, w)

    def predict(self, rgb: np.ndarray) -> tuple[float, float]:
        """(v, w) for one whole RGB frame."""
        top, bottom, left, right = self.crop
        x = cv2.resize(rgb[top:bottom, left:right], self.size, interpolation=cv2.INTER_LINEAR)
        if self.bgr:
            x = x[:, :, ::-1]
        x = x.astype(np.float32) * np.float32(self.scale)
        x = x[None] if self.nhwc else x.transpose(2, 0, 1)[None]
        inp = self.session.get_inputs()[0].name
        p = self.session.run(None, {inp: np.ascontiguousarray(x)})[0].reshape(-1)
        return (float(p[self.v[0]] * self.v[1] + self.v[2]),
                float(p[self.w[0]] * self.w[1] + self.w[2]))


@dataclass
class Frame:
    rgb: np.ndarray
    v: float
    w: float
    lateral: float


def load_frames(dataset: Path) -> list[Frame]:
    """Every labelled frame that has its whole picture in `full/`."""
    labels = dataset / "labels.csv"
    if not labels.exists():
        raise JudgeError(f"{dataset}: no labels.csv (not a dataset from `pilotnet-brain dataset`)")
    frames = []
    with labels.open() as f:
        reader = csv.DictReader(f)
        missing = {"image", "v", "w", "lateral_m"} - set(reader.fieldnames or [])
        if missing:
            raise JudgeError(f"{labels}: no column {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            full = dataset / "full" / Path(row["image"]).name
            if not full.exists():
                continue
            bgr = cv2.imread(str(full), cv2.IMREAD_COLOR)
            if bgr is None:
                raise JudgeError(f"{full}: not an image")
            try:
                v, w, lateral = float(row["v"]), float(row["w"]), float(row["lateral_m"])
            except ValueError as e:
                raise JudgeError(f"{labels} line {line}: {e}") from e
            frames.append(Frame(bgr[:, :, ::-1].copy(), v, w, lateral))
    if not frames:
        raise JudgeError(f"{dataset}: no whole frames in full/ (record with --full-every 1)")
    return frames


def along_the_lap(net: Network, frames: list[Frame]) -> dict:
    """The network's outputs on every frame against the expert's command and the offset."""
    out = np.array([net.predict(f.rgb) for f in frames])
    vn, wn = out[:, 0], out[:, 1]
    we = np.array([f.w for f in frames])
    ve = np.array([f.v for f in frames])
    lat = np.array([f.lateral for f in frames])
    x = np.stack([we, lat, np.ones_like(we)], 1)
    (a, b, c), *_ = np.linalg.lstsq(x, wn, rcond=None)
    bins = []
    for lo, hi in [(-1.0, -0.2), (-0.2, -0.05), (-0.05, 0.05), (0.05, 0.2), (0.2, 1.0)]:
        m = (lat >= lo) & (lat < hi)
        if m.any():
            bins.append({"lateral_m": [lo, hi], "frames": int(m.sum()),
                         "w_net": float(wn[m].mean()), "w_expert": float(we[m].mean()),
                         "v_net": float(vn[m].mean())})

    def on_line(mask: np.ndarray) -> dict:
        return {"frames": int(mask.sum()),
                "w_net": float(wn[mask].mean()) if mask.any() else None,
                "w_expert": float(we[mask].mean()) if mask.any() else None}

    near = np.abs(lat) < 0.05
    return {
        "frames": len(frames),
        "v_net": {"mean": float(vn.mean()), "min": float(vn.min()), "max": float(vn.max())},
        "v_expert_mean": float(ve.mean()),
        "w_net_mean": float(wn.mean()),
        "w_expert_mean": float(we.mean()),
        "w_correlation": float(np.corrcoef(wn, we)[0, 1]) if wn.std() > 0 and we.std() > 0 else None,
        "fit": {"a_per_w_expert": float(a), "b_per_m": float(b), "c_rad_s": float(c),
                "holds_at_lateral_m": float(-c / b) if b != 0 else None},
        "by_lateral": bins,
        "straight_on_line": on_line((np.abs(we) < 0.1) & (np.abs(lat) < 0.03)),
        "left_bends_on_line": on_line((we > 0.5) & near),
        "right_bends_on_line": on_line((we < -0.5) & near),
    }


def red(rgb: np.ndarray) -> np.ndarray:
    """Where the red line is: Behavior Metrics' paint, R high, G low."""
    return (rgb[:, :, 0] > 100) & (rgb[:, :, 1] < 60)


def _scale_non_red(k: float) -> Callable[[np.ndarray], np.ndarray]:
    def edit(im: np.ndarray) -> np.ndarray:
        out = im.astype(np.float32)
        out[~red(im)] *= k
        return np.clip(out, 0, 255).astype(np.uint8)
    return edit


def _paint_red(value: int) -> Callable[[np.ndarray], np.ndarray]:
    def edit(im: np.ndarray) -> np.ndarray:
        out = im.copy()
        out[red(im)] = [value, 0, 0]
        return out
    return edit


def _widen_red(px: int) -> Callable[[np.ndarray], np.ndarray]:
    def edit(im: np.ndarray) -> np.ndarray:
        m = cv2.dilate(red(im).astype(np.uint8), np.ones((1, 3), np.uint8), iterations=px // 2)
        out = im.copy()
        out[m.astype(bool)] = np.median(im[red(im)], axis=0) if red(im).any() else [177, 0, 0]
        return out
    return edit


def _narrow_red(px: int) -> Callable[[np.ndarray], np.ndarray]:
    def edit(im: np.ndarray) -> np.ndarray:
        m = red(im)
        kept = cv2.erode(m.astype(np.uint8), np.ones((1, 3), np.uint8), iterations=px // 2).astype(bool)
        out = im.copy()
        if (~m).any():
            out[m & ~kept] = np.median(im[~m], axis=0)
        return out
    return edit


def _cover_bottom(rows: int, colour: tuple[int, int, int]) -> Callable[[np.ndarray], np.ndarray]:
    """Something in front of the camera's lower middle, as a car's nose would be."""
    def edit(im: np.ndarray) -> np.ndarray:
        out = im.copy()
        h, w = out.shape[:2]
        out[h - rows:, w // 3:2 * w // 3] = colour
        return out
    return edit


def _no_line(im: np.ndarray) -> np.ndarray:
    m = red(im)
    out = im.copy()
    if (~m).any():
        out[m] = np.median(im[~m], axis=0)
    return out


def _flat_ground(im: np.ndarray) -> np.ndarray:
    m = red(im)
    out = im.copy()
    if (~m).any():
        out[~m] = np.median(im[~m], axis=0).astype(np.uint8)
    return out


#: The picture edits, by what they change.
EDITS: list[tuple[str, Callable[[np.ndarray], np.ndarray]]] = [
    ("as rendered", lambda im: im),
    *[(f"everything but the line x{k}", _scale_non_red(k)) for k in (0.5, 2.0, 3.0)],
    *[(f"line colour ({v}, 0, 0)", _paint_red(v)) for v in (60, 100, 150, 220, 255)],
    *[(f"line wider by {px} px", _widen_red(px)) for px in (6, 12, 24)],
    *[(f"line narrower by {px} px", _narrow_red(px)) for px in (6, 12)],
    ("no line (painted over with the ground's colour)", _no_line),
    *[(f"picture shifted {s:+d} px", lambda im, s=s: np.roll(im, s, axis=1)) for s in (-40, -20, 20, 40)],
    ("blurred (5x5 Gaussian)", lambda im: cv2.GaussianBlur(im, (5, 5), 0)),
    ("ground and walls flat (no texture)", _flat_ground),
    *[(f"bottom {rows} rows, middle third, {name}", _cover_bottom(rows, colour))
      for rows in (40, 80) for name, colour in (("black", (0, 0, 0)), ("grey", (90, 90, 90)))],
    ("mirrored", lambda im: im[:, ::-1].copy()),
    ("red and blue swapped (BGR)", lambda im: im[:, :, ::-1].copy()),
]


#: The on-line frames the edits are measured on, by what the expert was doing.
EDIT_SETS: list[tuple[str, Callable[[Frame], bool]]] = [
    ("straight", lambda f: abs(f.w) < 0.1 and abs(f.lateral) < 0.03),
    ("left bends", lambda f: f.w > 0.5 and abs(f.lateral) < 0.05),
    ("right bends", lambda f: f.w < -0.5 and abs(f.lateral) < 0.05),
]


def edits(net: Network, frames: list[Frame]) -> dict:
    """Mean w after each edit, on up to EDIT_FRAMES on-line frames of each set."""
    sets = {name: [f for f in frames if keep(f)][:EDIT_FRAMES] for name, keep in EDIT_SETS}
    rows = []
    for label, edit in EDITS:
        row = {"edit": label}
        for name, chosen in sets.items():
            ws = np.array([net.predict(edit(f.rgb))[1] for f in chosen])
            row[name] = float(ws.mean()) if len(ws) else None
        rows.append(row)
    return {"frames": {name: len(chosen) for name, chosen in sets.items()},
            "expert_w": {name: float(np.mean([f.w for f in chosen])) if chosen else None
                         for name, chosen in sets.items()},
            "rows": rows}


def _num(x: float | None, fmt: str = "+.3f") -> str:
    return "" if x is None else format(x, fmt)


def markdown(report: dict) -> str:
    lap, ed = report["along_the_lap"], report["edits"]
    fit = lap["fit"]
    lines = [
        f"{lap['frames']} frames. Network v {lap['v_net']['mean']:.2f} m/s "
        f"[{lap['v_net']['min']:.2f}, {lap['v_net']['max']:.2f}] (expert {lap['v_expert_mean']:.2f}); "
        f"w mean {lap['w_net_mean']:+.3f} rad/s (expert {lap['w_expert_mean']:+.3f}), "
        f"correlation {_num(lap['w_correlation'], '.3f')}.",
        "",
        f"Fit: w_net = {fit['a_per_w_expert']:.3f} * w_expert {fit['b_per_m']:+.3f} * lateral "
        f"{fit['c_rad_s']:+.3f}; on a straight it holds the car at lateral "
        f"{_num(fit['holds_at_lateral_m'], '+.3f')} m (left positive).",
        "",
        "lateral (m) | frames | w network | w expert | v network",
        "--- | --- | --- | --- | ---",
        *[f"[{b['lateral_m'][0]:+.2f}, {b['lateral_m'][1]:+.2f}) | {b['frames']} | {b['w_net']:+.3f} | "
          f"{b['w_expert']:+.3f} | {b['v_net']:.2f}" for b in lap["by_lateral"]],
        "",
        "on the line (\\|lateral\\| < 0.05 m) | frames | w network | w expert",
        "--- | --- | --- | ---",
    ]
    for key, label in (("straight_on_line", "straight"), ("left_bends_on_line", "left bends"),
                       ("right_bends_on_line", "right bends")):
        r = lap[key]
        lines.append(f"{label} | {r['frames']} | {_num(r['w_net'])} | {_num(r['w_expert'])}")
    names = [name for name, _ in EDIT_SETS]
    lines += ["", "Edits of the picture, mean w (rad/s) over on-line frames:", "",
              "edit | " + " | ".join(f"{n} ({ed['frames'][n]})" for n in names),
              "--- | " + " | ".join("---" for _ in names),
              "expert's command | " + " | ".join(_num(ed["expert_w"][n]) for n in names)]
    lines += [f"{r['edit']} | " + " | ".join(_num(r[n]) for n in names) for r in ed["rows"]]
    return "\n".join(lines)


def judge(model: Path, dataset: Path) -> dict:
    net = Network.open(model)
    frames = load_frames(dataset)
    return {"model": str(model), "dataset": str(dataset),
            "along_the_lap": along_the_lap(net, frames), "edits": edits(net, frames)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, type=Path, help="ONNX model with its .yaml beside it")
    p.add_argument("--dataset", required=True, type=Path,
                   help="a `pilotnet-brain dataset --full-every 1` folder")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    try:
        report = judge(a.model, a.dataset)
    except JudgeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report) if a.json else markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
