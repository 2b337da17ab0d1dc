"""Steering trim: the closed-loop correction of a network's steady lateral offset.

Every network trained here held the car a centimetre or two to the right of the line in
closed loop, on every circuit, although its mean error on on-line training frames is a
thousandth of a rad/s (docs/factory.md has the measurements); and a quantised or pruned
variant of it carries a bias of its own on top (static int8 drove 1.5-2x fp32's MAE with
fp32's trim). Like a wheel alignment, the trim measures that offset by driving the model in
the simulator on the *training* circuits only, both ways, and shifts the w output by
`t = gain * offset`, where `gain` is the expert's own lateral gain (the slope of its labels'
w against the car's lateral offset); further steps (secant, then false position once the
offset has changed sign) correct what is left, and the trim with the smallest measured offset
is kept. The trim goes into the model's own description (its w offset) and is recorded in
training.json (the trained network) or in the manifest entry of each variant; the held-out
circuits play no part in it.

    python -m pilotnet_factory.trim --training DIR --train-data DIR [--binary PATH]
    python -m pilotnet_factory.trim --models DIR --test-data DIR [--variants a,b] [--binary PATH]

The second form trims every variant of a catalogue (`manifest.yaml`) in its folder, each from
the trim its description has, re-measures every variant's test MSE with `pilotnet-brain bench`
(the MSE is taken on the mapped outputs, so it moves with the trim) and rewrites the
manifest's entries.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import yaml

from .binary import ROOT, TRAIN_CIRCUITS, bench, circuit_specs, run_binary, sha256
from .data import read_labels

#: Samples of a lap's start skipped (the car starts on the line, standing).
SKIP_SECONDS = 2.0

#: A variant's trim stops once its mean lateral offset is within this (m).
TOLERANCE_M = 0.002

#: Laps driven at once (each runs its engine on one thread).
LAP_JOBS = 2


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


def lateral_offset(binary: Path, model: Path, circuits: list[str], jobs: int = LAP_JOBS,
                   lap_timeout: float | None = None) -> tuple[float, list[dict]]:
    """Mean signed lateral offset (m) of the model's laps over `circuits`, both ways; `jobs`
    laps run at once (lockstep laps: the result does not depend on it); `lap_timeout`
    simulated seconds per lap at most (default: the simulator's)."""
    laps = [(spec, reverse) for spec in circuits for reverse in (False, True)]
    with tempfile.TemporaryDirectory() as tmp:
        def drive(i: int) -> tuple[list[float], dict]:
            spec, reverse = laps[i]
            out = Path(tmp) / f"run{i}"
            args = ["sim", "--model", str(model), "--circuit", spec, "--out", str(out), "--json",
                    *([] if lap_timeout is None else ["--timeout", str(lap_timeout)])]
            stats = json.loads(run_binary(binary, *args, *(["--reverse"] if reverse else [])))
            with (out / "trajectory.csv").open() as f:
                rows = [(float(r["t"]), float(r["lateral_m"])) for r in csv.DictReader(f)]
            lat = [x for t, x in rows if t >= SKIP_SECONDS] or [x for _, x in rows]
            return lat, {"circuit": stats["circuit"], "reverse": reverse,
                         "end_reason": stats["end_reason"],
                         "mean_lateral_m": round(float(np.mean(lat)), 5),
                         "mae_m": round(stats["position_deviation_mae_m"], 5)}

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            done = list(pool.map(drive, range(len(laps))))
    offsets = [x for lat, _ in done for x in lat]
    return float(np.mean(offsets)), [run for _, run in done]


def w_offset(description: Path) -> float:
    """The w mapping's offset of a description."""
    return float(yaml.safe_load(description.read_text())["output"]["w"]["offset"])


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


def next_trim(trims: list[float], offsets: list[float], gain: float) -> float:
    """The next trim to measure: inside the tightest bracket once the offsets have changed sign
    (false position), else a secant step on the last two, else a step from the labels' gain.
    The offset grows with the trim, but not linearly far from the line, so a secant step can
    overshoot; the bracket keeps the search where the zero is."""
    above = [(t, o) for t, o in zip(trims, offsets) if o > 0]
    below = [(t, o) for t, o in zip(trims, offsets) if o < 0]
    if above and below:
        (t1, o1), (t2, o2) = min(above, key=lambda p: p[1]), max(below, key=lambda p: p[1])
        return t1 - o1 * (t2 - t1) / (o2 - o1)
    t, offset = trims[-1], offsets[-1]
    if len(trims) > 1 and trims[-1] != trims[-2]:
        slope = (offsets[-1] - offsets[-2]) / (trims[-1] - trims[-2])
        if slope > 0:
            return t - offset / slope
    return t + gain * offset


def trim_model(model: Path, description: Path, w_min: float, gain: float, circuits: list[str],
               binary: Path, rounds: int = 3, start: float = 0.0,
               tolerance_m: float = TOLERANCE_M, label: str = "trim",
               lap_timeout: float | None = None) -> dict:
    """Trims `model` through its `description` (w offset = `w_min` + trim), from `start`
    rad/s: at most `rounds` measurements, stopping early once the mean lateral offset is within
    `tolerance_m`. Leaves the best trim in the description; returns the record."""
    trims, offsets, history = [], [], []
    t = start
    for i in range(rounds):
        set_w_offset(description, w_min + t)
        offset, runs = lateral_offset(binary, model, circuits, lap_timeout=lap_timeout)
        trims.append(t)
        offsets.append(offset)
        history.append({"trim_rad_s": round(t, 5), "mean_lateral_m": round(offset, 5),
                        "runs": runs})
        print(f"{label}: at {t:+.4f} rad/s the mean lateral offset is {offset * 100:+.2f} cm",
              flush=True)
        if i == rounds - 1 or abs(offset) <= tolerance_m:
            break
        t = next_trim(trims, offsets, gain)
    t = trims[int(np.argmin(np.abs(offsets)))]
    set_w_offset(description, w_min + t)
    return {"trim_rad_s": t, "label_gain_rad_s_per_m": gain, "circuits": circuits,
            "rounds": history}


def trim(training: Path, train_dir: Path, circuits: list[str], binary: Path,
         rounds: int = 3, gain: float | None = None) -> dict:
    """Measures and applies the trim to `training`/pilotnet.yaml; returns the record (also
    written into training.json as `steering_trim`). `gain` defaults to the labels' own."""
    record_path = training / "training.json"
    record = json.loads(record_path.read_text())
    gain = label_gain(train_dir) if gain is None else gain
    # Rounds run to the end: the trained network's trim is the start of every variant's.
    result = trim_model(training / "pilotnet.onnx", training / "pilotnet.yaml",
                        record["label_range"]["w_min"], gain, circuits, binary, rounds=rounds,
                        tolerance_m=0.0)
    record["steering_trim"] = result
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return result


def trim_variants(models: Path, entries: list[dict], w_min: float, gain: float,
                  circuits: list[str], binary: Path, rounds: int = 5,
                  names: set[str] | None = None, tolerate_errors: bool = False,
                  lap_timeout: float | None = None) -> dict[str, dict]:
    """Trims each variant of `entries` (manifest entries) in `models` through its own
    description, from the trim that description has (the network's, as the factory writes
    it; the variant's own, when trimmed before); a description shared by two files (the ONNX
    and TorchScript exports of one network) is trimmed once, on the first. Returns name
    -> the manifest fields to set (`steering_trim_rad_s`, `steering_trim`). With
    `tolerate_errors`, a variant the binary cannot drive keeps its description and its record
    says why (`steering_trim: {not_trimmed: ...}`)."""
    trimmed: dict[str, dict] = {}
    by_description: dict[str, str] = {}
    for entry in entries:
        name = entry["name"]
        if names is not None and name not in names:
            continue
        first = by_description.setdefault(entry["description"], name)
        if first != name:
            trimmed[name] = {**trimmed[first], "steering_trim": {
                **trimmed[first]["steering_trim"], "shared_with": first}}
            continue
        description = models / entry["description"]
        before = description.read_text()
        try:
            record = trim_model(models / entry["file"], description, w_min, gain, circuits,
                                binary, rounds=rounds, start=w_offset(description) - w_min,
                                label=f"trim {name}", lap_timeout=lap_timeout)
        except RuntimeError as e:  # an engine this binary lacks, or one refusing the file
            if not tolerate_errors:
                raise
            description.write_text(before)
            trimmed[name] = {"steering_trim": {
                "not_trimmed": str(e).strip().splitlines()[-1]}}
            continue
        trimmed[name] = {"steering_trim_rad_s": record["trim_rad_s"], "steering_trim": {
            "rounds": [{k: r[k] for k in ("trim_rad_s", "mean_lateral_m")}
                       for r in record["rounds"]]}}
    return trimmed


def trim_catalogue(models: Path, test_dir: Path, binary: Path, rounds: int = 5,
                   names: set[str] | None = None) -> dict[str, dict]:
    """Trims the variants of the catalogue in `models` (all present ones but the trained
    network's own description, or `names`), with the gain and circuits the network's trim
    recorded; re-benches every present variant on `test_dir` (one binary measures them all)
    and rewrites `manifest.yaml`."""
    path = models / "manifest.yaml"
    manifest = yaml.safe_load(path.read_text())
    training = manifest["training"]
    recorded = training.get("steering_trim") or {}
    if "label_gain_rad_s_per_m" not in recorded:
        raise ValueError(f"{path}: training.steering_trim records no label gain; trim the "
                         "trained network first (--training)")
    entries = [e for e in manifest["variants"] if (models / e["file"]).exists()]
    fp32 = next((e for e in entries if e["name"] == "fp32"), None)
    if names is None:
        names = {e["name"] for e in entries
                 if fp32 is None or e["description"] != fp32["description"]}
    unknown = names - {e["name"] for e in entries}
    if unknown:
        raise ValueError(f"{path}: no variant file present for {sorted(unknown)}")
    trimmed = trim_variants(models, entries, training["label_range"]["w_min"],
                            recorded["label_gain_rad_s_per_m"],
                            circuit_specs(recorded.get("circuits") or TRAIN_CIRCUITS), binary,
                            rounds=rounds, names=names)
    for entry in entries:
        measured = bench(binary, models / entry["file"], test_dir)
        entry.update(trimmed.get(entry["name"], {}))
        entry["description_sha256"] = sha256(models / entry["description"])
        entry["test_mse"] = measured["mse"]
        entry["inference_ms_mean"] = measured["inference_ms_mean"]
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return trimmed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--training", type=Path, help="folder train.py wrote")
    which.add_argument("--models", type=Path,
                       help="a catalogue's folder (manifest.yaml): trim each variant")
    parser.add_argument("--train-data", type=Path, help="the training set (with --training)")
    parser.add_argument("--test-data", type=Path,
                        help="the held-out test set the variants are re-benched on (with --models)")
    parser.add_argument("--variants", help="comma-separated names (with --models; default: all "
                                           "but the trained network's own description)")
    parser.add_argument("--rounds", type=int,
                        help="most measurements per model [default: 3 for --training, 5 for "
                             "--models; a variant stops once within 2 mm]")
    parser.add_argument("--circuits", default=",".join(TRAIN_CIRCUITS))
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "pilotnet-brain")
    args = parser.parse_args()
    if args.training is not None:
        if args.train_data is None:
            parser.error("--training needs --train-data (the labels' lateral gain)")
        result = trim(args.training, args.train_data, circuit_specs(args.circuits.split(",")),
                      args.binary, rounds=args.rounds or 3)
        print(json.dumps({k: v for k, v in result.items() if k != "rounds"}))
        return
    if args.test_data is None:
        parser.error("--models needs --test-data (each trimmed variant's MSE is measured again)")
    names = set(args.variants.split(",")) if args.variants else None
    trimmed = trim_catalogue(args.models, args.test_data, args.binary, args.rounds or 5, names)
    print(json.dumps({k: v["steering_trim_rad_s"] for k, v in trimmed.items()}))


if __name__ == "__main__":
    main()
