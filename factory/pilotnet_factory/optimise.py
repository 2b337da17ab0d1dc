"""Every optimised variant of the study from a user's trained network, in one command, with the
study's offline table and the closed-loop table measured by the Rust binary.

    python -m pilotnet_factory.optimise --model NET --train-data DIR --test-data DIR \\
        --out DIR [--arch pilotnet] [--epochs 1] [--clusters 16] [--laps]

`--model` is a PyTorch checkpoint (`state_dict`, with `--arch`) or an fp32 ONNX file whose
initializers carry the architecture's parameter names (what PyTorch's exporter writes, e.g. the
shipped `models/pilotnet_fp32.onnx`). Its description (`NET.yaml` beside it, else the
architecture's Behavior Metrics preset) gives the preprocessing and the label mapping, which
the fine-tuning normalises the datasets' labels with (for a network of a catalogue, the
catalogue's training label range: its description's mapping carries the steering trim). The datasets are in either layout
(`data.py`): a `pilotnet-brain dataset` folder or DeepLearningStudio's `data.csv` + frames.

Variants (ONNX unless named `ts_`): fp32, ts_fp32, fp16, dynamic_int8, static_int8,
float_fallback (only Conv/Gemm in int8), integer_only (8-bit pixels in, int8 codes out),
local_prune, global_prune, prune_static_int8, cluster (k-means weight sharing), and for
PilotNet also qat, pqat (prune + QAT), cqat (cluster + QAT), pcqat (prune + cluster + QAT),
ts_dynamic_int8 and ts_static_int8. A variant that cannot be made for a network (QAT for an
architecture without an eager-quantisation form) is listed with the reason, never dropped
silently.

Writes into `--out`: the variant files and their descriptions, `manifest.yaml` (the catalogue
`pilotnet_factory.table` and `pilotnet-brain models --dir` read), `optimise.json` (every
figure, per-step seconds, what could not be made and why) and `tables.md` (the offline table;
with `--laps` also the closed-loop tables on Behavior Metrics' SimpleCircuit and Montreal
worlds). Progress goes to stderr as each step ends, with its time.

`--trim` trims each variant's steering (`trim.py`) on the project's training circuits before
it is measured, from the source description's w offset; the labels' lateral gain is fitted on
`--train-data` (the project's layout records the offsets) or given with `--trim-gain`.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from . import integer_only, qat, table
from . import variants as V
from .binary import ROOT, TRAIN_CIRCUITS, bench, circuit_specs, sha256
from .cluster import CLUSTERS, Clusters
from .data import DatasetError, LabelRange, load_images, read_labels
from .export import (Preprocessing, description_yaml, export_onnx, export_torchscript,
                     read_description)
from .import_model import ARCHITECTURES, PRESETS, ImportError_, load, load_onnx
from .model import PilotNet
from .train import fine_tune, weight_masks
from .trim import label_gain, trim_variants

#: name -> (file, backend, precision, method as in the study's tables)
VARIANTS = {
    "fp32": ("fp32.onnx", "ort", "fp32", "Baseline"),
    "ts_fp32": ("fp32.pt", "tch", "fp32", "Baseline"),
    "fp16": ("fp16.onnx", "ort", "fp16", "Float16 quantization"),
    "dynamic_int8": ("dynamic_int8.onnx", "ort", "int8 (dynamic range)",
                     "Dynamic range quantization"),
    "static_int8": ("static_int8.onnx", "ort", "int8 (QDQ)", "Integer (static) quantization"),
    "float_fallback": ("float_fallback.onnx", "ort", "int8 Conv/Gemm, rest fp32",
                       "Integer (float fallback) quantization"),
    "integer_only": ("integer_only.onnx", "ort", "int8, uint8 input, int8 output",
                     "Integer only quantization"),
    "local_prune": ("local_prune.onnx", "ort", "fp32", "Local pruning"),
    "global_prune": ("global_prune.onnx", "ort", "fp32", "Global pruning"),
    "prune_static_int8": ("prune_static_int8.onnx", "ort", "int8 (QDQ)", "Prune + quantization"),
    "cluster": ("cluster.onnx", "ort", f"fp32, {CLUSTERS} values per layer", "Weight clustering"),
    "qat": ("qat.onnx", "ort", "int8 (QDQ, QAT)", "Quantization aware training"),
    "pqat": ("pqat.onnx", "ort", "int8 (QDQ, QAT), pruned", "Prune + QAT (PQAT)"),
    "cqat": ("cqat.onnx", "ort", "int8 (QDQ, QAT), clustered", "Cluster + QAT (CQAT)"),
    "pcqat": ("pcqat.onnx", "ort", "int8 (QDQ, QAT), pruned + clustered",
              "Prune + cluster + QAT (PCQAT)"),
    "ts_dynamic_int8": ("ts_dynamic_int8.pt", "tch", "int8 (dynamic)",
                        "Dynamic range quantization"),
    "ts_static_int8": ("ts_static_int8.pt", "tch", "int8 (fbgemm)", "Static quantization"),
}

#: Variants that need PilotNet's eager-quantisation form (`model.QuantPilotNet`).
NEEDS_QUANT_PILOTNET = {"qat", "pqat", "cqat", "pcqat", "ts_static_int8"}


class Step:
    """Times the steps and reports each as it ends."""

    def __init__(self) -> None:
        self.started = time.time()
        self.seconds: dict[str, float] = {}

    def done(self, name: str, since: float, note: str = "") -> None:
        self.seconds[name] = round(time.time() - since, 1)
        print(f"optimise: {name} in {self.seconds[name]:.1f} s (total "
              f"{time.time() - self.started:.0f} s){note}", file=sys.stderr, flush=True)


def source_model(path: Path, arch: str) -> torch.nn.Module:
    if path.suffix == ".onnx":
        return load_onnx(arch, path)
    return load(arch, path)


def source_description(path: Path, arch: str) -> str:
    """The description beside the source, else the architecture's preset."""
    beside = path.with_suffix(".yaml")
    if beside.exists():
        return beside.read_text()
    preset = PRESETS[ARCHITECTURES[arch].preset]
    return description_yaml(f"Behavior Metrics' {ARCHITECTURES[arch].preset} preset, for "
                            f"{path.name}.", *preset.size, preset.v, preset.w)


def label_range_of(description: str) -> tuple[LabelRange, Preprocessing]:
    """The normalisation the network's outputs are in (from its (v, w) mapping), and its
    input. The calibration and fine-tuning feed RGB x/255 in NCHW, as the factory's own
    training does: a network described otherwise is refused rather than tuned on inputs it
    was not trained with."""
    r, pre, _ = read_description(description)
    given = {"color": pre.color, "scaling": pre.scaling, "layout": pre.layout}
    if given != {"color": "rgb", "scaling": "unit", "layout": "nchw"}:
        raise ImportError_(f"the network's description asks for {given}; optimise calibrates "
                           "and fine-tunes with color rgb, scaling unit, layout nchw only")
    return r, pre


def trimmed_variants(args: argparse.Namespace, out: Path, present: list[str],
                     label_range: LabelRange, steps: Step) -> dict[str, dict]:
    """With `--trim`, each variant's steering trim on the training circuits (`trim.py`), from
    the source description's; name -> the manifest fields it sets."""
    if not args.trim:
        return {}
    t = time.time()
    gain = args.trim_gain if args.trim_gain is not None else label_gain(args.train_data)
    listed = [{"name": n, "file": VARIANTS[n][0],
               "description": Path(VARIANTS[n][0]).with_suffix(".yaml").name} for n in present]
    trims = trim_variants(out, listed, label_range.w_min, gain,
                          circuit_specs(args.trim_circuits.split(",")), args.binary,
                          rounds=args.trim_rounds, tolerate_errors=True,
                          lap_timeout=args.lap_timeout)
    steps.done("trim", t, ": " + ", ".join(
        f"{n} {v['steering_trim_rad_s']:+.4f}" if "steering_trim_rad_s" in v else f"{n} not trimmed"
        for n, v in trims.items()))
    return trims


def optimise(args: argparse.Namespace) -> dict:
    steps = Step()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    t = time.time()
    model = source_model(args.model, args.arch)
    description = source_description(args.model, args.arch)
    label_range, pre = label_range_of(description)
    catalogue = args.model.parent / "manifest.yaml"
    if catalogue.exists():  # a catalogue's network: its training range, not the trimmed mapping
        recorded = yaml.safe_load(catalogue.read_text())
        if any(v.get("file") == args.model.name for v in recorded.get("variants", [])):
            label_range = LabelRange(**recorded["training"]["label_range"])
    shape = ARCHITECTURES[args.arch].shape
    train_cols = read_labels(args.train_data)
    keep = slice(None, None, max(1, -(-len(train_cols["v"]) // args.train_limit)))
    images = load_images(train_cols["image"][keep], size=(pre.width, pre.height), crop=pre.crop)
    labels = label_range.normalise(train_cols["v"][keep], train_cols["w"][keep])
    test_cols = read_labels(args.test_data)
    calibration = V.calibration_batches(images, args.calibration, seed=args.seed)
    steps.done("load", t, f": {len(images)} training frames, {len(test_cols['v'])} test frames")

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(False)
    tune = dict(label_range=label_range, epochs=args.epochs, seed=args.seed)
    made: dict[str, dict] = {}
    skipped: dict[str, str] = {}

    def onnx(m, name):
        export_onnx(m, out / VARIANTS[name][0], shape=shape)

    def ft(m, masks=None, constrain=None):
        if args.epochs > 0:
            fine_tune(m, images, labels, learning_rate=1e-4, masks=masks, constrain=constrain,
                      **tune)
        return m

    def local():
        return V.prune_local(model)

    def pruned(prune, name):
        p = prune(model)
        onnx(ft(p, masks=weight_masks(p)), name)

    def integer():
        made["integer_only_quant"] = integer_only.rewrite(out / "static_int8.onnx",
                                                          out / "integer_only.onnx")

    def cluster():
        c = copy.deepcopy(model)
        clusters = Clusters.of(c, args.clusters)
        onnx(ft(c, constrain=clusters.apply), "cluster")

    def pqat():
        p = local()
        masks = weight_masks(p)
        qat.qat_onnx_qdq(p, out / "pqat.onnx", images, labels, masks=masks, **tune)

    def cqat():
        c = copy.deepcopy(model)
        clusters = Clusters.of(c, args.clusters)
        qat.qat_onnx_qdq(c, out / "cqat.onnx", images, labels, constrain=clusters.apply, **tune)

    def pcqat():
        p = local()
        masks = weight_masks(p)
        clusters = Clusters.of(p, args.clusters, keep_zeros=True)
        qat.qat_onnx_qdq(p, out / "pcqat.onnx", images, labels, masks=masks,
                         constrain=clusters.apply, **tune)

    builders = {
        "fp32": lambda: onnx(model, "fp32"),
        "ts_fp32": lambda: export_torchscript(model, out / VARIANTS["ts_fp32"][0], shape=shape),
        "fp16": lambda: V.onnx_fp16(out / "fp32.onnx", out / "fp16.onnx"),
        "dynamic_int8": lambda: V.onnx_dynamic_int8(out / "fp32.onnx", out / "dynamic_int8.onnx"),
        "static_int8": lambda: V.onnx_static_int8(out / "fp32.onnx", out / "static_int8.onnx",
                                                  calibration, work),
        "float_fallback": lambda: V.onnx_static_int8(
            out / "fp32.onnx", out / "float_fallback.onnx", calibration, work,
            op_types=["Conv", "Gemm"]),
        "integer_only": integer,
        "local_prune": lambda: pruned(V.prune_local, "local_prune"),
        "global_prune": lambda: pruned(V.prune_global, "global_prune"),
        "prune_static_int8": lambda: V.onnx_static_int8(
            out / "local_prune.onnx", out / "prune_static_int8.onnx", calibration, work),
        "cluster": cluster,
        "qat": lambda: qat.qat_onnx_qdq(model, out / "qat.onnx", images, labels, **tune),
        "pqat": pqat,
        "cqat": cqat,
        "pcqat": pcqat,
        "ts_dynamic_int8": lambda: V.torchscript_dynamic_int8(model, out / "ts_dynamic_int8.pt",
                                                              shape),
        "ts_static_int8": lambda: V.torchscript_static_int8(model, out / "ts_static_int8.pt",
                                                            calibration),
    }

    for name in VARIANTS:
        if name in NEEDS_QUANT_PILOTNET and not isinstance(model, PilotNet):
            skipped[name] = (f"needs an eager-quantisation form of the network; the factory has "
                             f"one for pilotnet, not {args.arch}")
            continue
        t = time.time()
        try:
            builders[name]()
        except Exception as e:  # a quantiser or exporter refusing this network
            skipped[name] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            steps.done(name, t, f": not made ({skipped[name]})")
            continue
        steps.done(name, t)

    entries, figures, benches = [], {}, {}
    quant = made.get("integer_only_quant")
    present = [name for name, (file, _, _, _) in VARIANTS.items()
               if name not in skipped and (out / file).exists()]
    for name in present:
        yaml_path = (out / VARIANTS[name][0]).with_suffix(".yaml")
        yaml_path.write_text(integer_only.description(description, *quant)
                             if name == "integer_only" else description)
    trims = trimmed_variants(args, out, present, label_range, steps)
    for name, (file, backend, precision, method) in VARIANTS.items():
        path = out / file
        if name not in present:
            continue
        yaml_path = path.with_suffix(".yaml")
        t = time.time()
        try:
            measured = bench(args.binary, path, args.test_data, args.frames)
        except RuntimeError as e:  # an engine this binary lacks, or one refusing the file
            reason = str(e).strip().splitlines()[-1]
            skipped[name] = f"made, but the binary cannot run it: {reason}"
            steps.done(f"bench {name}", t, f": {skipped[name]}")
            continue
        steps.done(f"bench {name}", t)
        benches[name] = measured
        size = path.stat().st_size
        entries.append({
            "name": name, "file": file, "backend": backend, "precision": precision,
            "method": method, "shipped": False, "sha256": sha256(path), "size_bytes": size,
            "size_mb": round(size / 1e6, 3), "description": yaml_path.name,
            "description_sha256": sha256(yaml_path), "test_mse": measured["mse"],
            "inference_ms_mean": measured["inference_ms_mean"], **trims.get(name, {})})
        figures[name] = {"zipped_mb": round(len(gzip.compress(path.read_bytes(), 6)) / 1e6, 3),
                         "engine": measured["backend"]}
    if quant is not None and "integer_only" in figures:
        t = time.time()
        test_keep = slice(None, None, max(1, len(test_cols["v"]) // 500))
        test_images = load_images(test_cols["image"][test_keep], size=(pre.width, pre.height),
                                  crop=pre.crop)
        test_labels = label_range.normalise(test_cols["v"][test_keep], test_cols["w"][test_keep])
        figures["integer_only"].update({
            "output_scale": quant[0], "output_zero_point": quant[1],
            "mse_without_dequantisation": integer_only.raw_mse(
                out / "integer_only.onnx", test_images, test_labels, quant[1])})
        steps.done("integer_only without dequantisation", t)
    manifest = {
        "dataset": {"train": str(args.train_data), "test": str(args.test_data)},
        "training": {"config": {"source": str(args.model), "arch": args.arch,
                                "epochs": args.epochs, "clusters": args.clusters},
                     "label_range": {"v_min": label_range.v_min, "v_max": label_range.v_max,
                                     "w_min": label_range.w_min, "w_max": label_range.w_max},
                     "test_mse": next((e["test_mse"] for e in entries if e["name"] == "fp32"),
                                      float("nan"))},
        "variants": entries,
    }
    (out / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    t = time.time()
    tables = ["### Offline, held-out test set\n",
              table.offline(args.binary, out, args.test_data, args.frames, benches)]
    if args.laps:
        for circuit in ("world:simple_circuit", "world:montreal_line"):
            tables += [f"\n### Closed loop, {circuit}\n",
                       table.closed_loop(args.binary, out, circuit, args.lap_timeout)]
    if skipped:
        tables += ["\n### Not made\n"] + [f"- {k}: {v}" for k, v in skipped.items()]
    (out / "tables.md").write_text("\n".join(tables) + "\n")
    steps.done("tables", t)
    report = {"source": str(args.model), "arch": args.arch, "variants": figures,
              "not_made": skipped, "seconds": steps.seconds,
              "total_seconds": round(time.time() - steps.started, 1)}
    (out / "optimise.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="pilotnet")
    p.add_argument("--train-data", required=True, type=Path,
                   help="calibration and fine-tuning dataset")
    p.add_argument("--test-data", required=True, type=Path, help="held-out test dataset")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs (0: none)")
    p.add_argument("--clusters", type=int, default=CLUSTERS, help="shared values per layer")
    p.add_argument("--calibration", type=int, default=256, help="calibration images")
    p.add_argument("--train-limit", type=int, default=8000,
                   help="at most this many training frames (evenly spaced) for fine-tuning")
    p.add_argument("--frames", type=int, default=300, help="timed inferences per variant")
    p.add_argument("--laps", action="store_true", help="also the closed-loop tables")
    p.add_argument("--lap-timeout", type=float, default=None,
                   help="simulated seconds per lap at most [default: the simulator's]")
    p.add_argument("--trim", action="store_true",
                   help="trim each variant's steering on the training circuits (trim.py)")
    p.add_argument("--trim-gain", type=float,
                   help="the labels' lateral gain, rad/s per m [default: fitted on --train-data, "
                        "which needs the project's layout]")
    p.add_argument("--trim-circuits", default=",".join(TRAIN_CIRCUITS))
    p.add_argument("--trim-rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "pilotnet-brain")
    a = p.parse_args(argv)
    if a.clusters < 2 or a.epochs < 0 or a.train_limit < 1 or a.calibration < 1:
        print("error: --clusters must be at least 2, --epochs at least 0, --train-limit and "
              "--calibration at least 1", file=sys.stderr)
        return 2
    try:
        report = optimise(a)
    except (ImportError_, DatasetError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (KeyError, TypeError) as e:  # a description missing or mangling a field
        print(f"error: the description of {a.model} is malformed: {type(e).__name__} {e}",
              file=sys.stderr)
        return 2
    print(json.dumps({k: report[k] for k in ("source", "not_made", "total_seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
