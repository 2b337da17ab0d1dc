"""Steering trim: the closed-loop correction of a trained network's steady lateral offset.

Every network trained here held the car a centimetre or two to the right of the line in
closed loop, on every circuit, although its mean error on on-line training frames is a
thousandth of a rad/s (docs/factory.md has the measurements). Like a wheel alignment, the
trim measures that offset by driving the network in the simulator on the *training* circuits
only, both ways, and shifts the w output by `t = gain * offset`, where `gain` is the expert's
own lateral gain (the slope of its labels' w against the car's lateral offset); a second
step (secant on the two measurements) corrects what is left, and the trim with the smallest
measured offset is kept. The trim goes into the description's w
offset (every variant shares it) and is recorded in training.json and the manifest; the
held-out circuits play no part in it.

    python -m pilotnet_factory.trim --training DIR --train-data DIR [--binary PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

import numpy as np
import yaml

from .binary import ROOT, TRAIN_CIRCUITS, circuit_specs, run_binary
from .data import read_labels

#: Samples of a lap's start skipped (the car starts on the line, standing).
SKIP_SECONDS = 2.0


def label_gain(train_dir: Path) -> float:
    """Slope of the labels' w (rad/s) against the lateral offset (m, left positive), fitted on
    undisturbed frames within 0.3 m of the line."""
    cols = read_labels(train_dir)
    if not (train_dir / "labels.csv").exists():
        raise ValueError(f"{train_dir}: the labels' lateral gain needs the offsets from the line "
                         "that `pilotnet-brain dataset` records (labels.csv, lateral_m); a "
                         "DeepLearningStudio dataset has none")
    rows = list(csv.DictReader((train_dir / "labels.csv").open()))
    lateral = np.array([float(r["lateral_m"]) for r in rows])
    undisturbed = np.array([r.get("perturbed", "0") == "0" for r in rows])
    near = undisturbed & (np.abs(lateral) < 0.3)
    gain = float(np.polyfit(lateral[near], cols["w"][near], 1)[0]) if near.sum() >= 50 else np.nan
    if not np.isfinite(gain) or gain >= 0:
        raise ValueError(f"{train_dir}: no usable lateral gain in the labels ({near.sum()} "
                         f"undisturbed frames near the line, slope {gain}); record more data")
    return gain


def lateral_offset(binary: Path, model: Path, circuits: list[str]) -> tuple[float, list[dict]]:
    """Mean signed lateral offset (m) of the network's laps over `circuits`, both ways."""
    runs, offsets = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in circuits:
            for reverse in (False, True):
                out = Path(tmp) / f"run{len(runs)}"
                args = ["sim", "--model", str(model), "--circuit", spec, "--out", str(out), "--json"]
                stats = json.loads(run_binary(binary, *args, *(["--reverse"] if reverse else [])))
                with (out / "trajectory.csv").open() as f:
                    rows = [(float(r["t"]), float(r["lateral_m"])) for r in csv.DictReader(f)]
                lat = [x for t, x in rows if t >= SKIP_SECONDS] or [x for _, x in rows]
                offsets.extend(lat)
                runs.append({"circuit": stats["circuit"], "reverse": reverse,
                             "end_reason": stats["end_reason"],
                             "mean_lateral_m": round(float(np.mean(lat)), 5),
                             "mae_m": round(stats["position_deviation_mae_m"], 5)})
    return float(np.mean(offsets)), runs


def set_w_offset(description: Path, offset: float) -> None:
    """Rewrites the w mapping's offset in a description written by export.py."""
    lines = description.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("  w: {"):
            w = yaml.safe_load(line.strip()[3:])
            lines[i] = f"  w: {{index: {w['index']}, scale: {w['scale']!r}, offset: {offset!r}}}\n"
            break
    else:
        raise ValueError(f"{description}: no 'w:' output mapping line")
    description.write_text("".join(lines))


def trim(training: Path, train_dir: Path, circuits: list[str], binary: Path,
         rounds: int = 3, gain: float | None = None) -> dict:
    """Measures and applies the trim to `training`/pilotnet.yaml; returns the record (also
    written into training.json as `steering_trim`). `gain` defaults to the labels' own."""
    record_path = training / "training.json"
    record = json.loads(record_path.read_text())
    w_min = record["label_range"]["w_min"]
    description = training / "pilotnet.yaml"
    gain = label_gain(train_dir) if gain is None else gain
    trims, offsets, history = [], [], []
    t = 0.0
    for i in range(rounds):
        set_w_offset(description, w_min + t)
        offset, runs = lateral_offset(binary, training / "pilotnet.onnx", circuits)
        trims.append(t)
        offsets.append(offset)
        history.append({"trim_rad_s": round(t, 5), "mean_lateral_m": round(offset, 5),
                        "runs": runs})
        print(f"trim: at {t:+.4f} rad/s the mean lateral offset is {offset * 100:+.2f} cm",
              flush=True)
        if i == rounds - 1:
            break
        # First step from the labels' gain, then secant steps on what the laps showed.
        slope = (offsets[-1] - offsets[-2]) / (trims[-1] - trims[-2]) if i > 0 else 0.0
        t = t - offset / slope if slope > 0 else t + gain * offset
    t = trims[int(np.argmin(np.abs(offsets)))]
    set_w_offset(description, w_min + t)
    result = {"trim_rad_s": t, "label_gain_rad_s_per_m": gain, "circuits": circuits,
              "rounds": history}
    record["steering_trim"] = result
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training", type=Path, required=True, help="folder train.py wrote")
    parser.add_argument("--train-data", type=Path, required=True)
    parser.add_argument("--circuits", default=",".join(TRAIN_CIRCUITS))
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "pilotnet-brain")
    args = parser.parse_args()
    result = trim(args.training, args.train_data, circuit_specs(args.circuits.split(",")),
                  args.binary)
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}))


if __name__ == "__main__":
    main()
