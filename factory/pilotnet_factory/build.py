"""The model factory in one command: dataset, training, every variant, measurements, manifest.

    python -m pilotnet_factory.build --out generated/factory [--smoke]

1. Records a training set (the project's three circuits plus SimpleCircuit and Montmeló) and
   a test set of whole held-out circuits (Montreal, Nürburgring) with `pilotnet-brain dataset`,
   both drawn across the range of looks Gazebo's real frames span (`dataset --looks`: light,
   line and wall colours, sky, ground, camera height, pitch and roll, exposure, noise, JPEG;
   `--no-looks` records Behavior Metrics' calibrated look alone, as the models before did).
   Behavior Metrics' circuits are read from `../shared/circuits` (never copied).
2. Trains the DeepLearningStudio PilotNet (`train.py`) and trims its steering on the training
   circuits (`trim.py`); then lets it drive the training circuits while the expert labels
   (`onpolicy.py`, the DAgger scheme), trains it further on both sets and trims it again;
   two rounds across the whole range of looks, then one in the sun's light alone.
3. Makes the study's variants (`variants.py`, `qat.py`) and trims each on the same circuits,
   from the network's trim (a quantised network carries a steering bias of its own).
4. Measures each with `pilotnet-brain bench` on the test set (size, inference time, MSE) and
   writes `manifest.yaml`: name, file, backend, precision, sha256, size, test MSE, sparsity,
   and the dataset and training settings.

`--smoke` runs the same steps on a tiny dataset for one epoch (CI). `--ship DIR` copies the
shipped variants (`SHIPPED`), their descriptions, the TensorRT calibration table and the
manifest into DIR (the repository's `models/`), and writes the training recipe beside them
(`RECIPE.md`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import yaml

from . import onpolicy, qat
from . import variants as V
from .binary import ROOT, TEST_CIRCUITS, TRAIN_CIRCUITS, bench, circuit_specs, run_binary, sha256
from .data import LabelRange, load_images, read_labels
from .model import PilotNet
from .recipe import recipe
from .train import TrainConfig, fine_tune, train, weight_masks
from .trim import trim, trim_variants

#: name -> (file, backend, precision, method as in the study's tables)
VARIANTS = {
    "fp32": ("pilotnet_fp32.onnx", "ort", "fp32", "Baseline"),
    "fp16": ("pilotnet_fp16.onnx", "ort", "fp16", "Float16 quantization"),
    "dynamic_int8": ("pilotnet_dynamic_int8.onnx", "ort", "int8 (dynamic range)", "Dynamic range quantization"),
    "static_int8": ("pilotnet_static_int8.onnx", "ort", "int8 (QDQ)", "Integer (static) quantization"),
    "local_prune": ("pilotnet_local_prune.onnx", "ort", "fp32", "Local pruning"),
    "global_prune": ("pilotnet_global_prune.onnx", "ort", "fp32", "Global pruning"),
    "prune_static_int8": ("pilotnet_prune_static_int8.onnx", "ort", "int8 (QDQ)", "Prune + quantization"),
    "ts_fp32": ("pilotnet_fp32.pt", "tch", "fp32", "Baseline"),
    "ts_dynamic_int8": ("pilotnet_ts_dynamic_int8.pt", "tch", "int8 (dynamic)", "Dynamic quantization"),
    "ts_static_int8": ("pilotnet_ts_static_int8.pt", "tch", "int8 (fbgemm)", "Static quantization"),
    "ts_local_prune": ("pilotnet_local_prune.pt", "tch", "fp32", "Local pruning"),
    "ts_global_prune": ("pilotnet_global_prune.pt", "tch", "fp32", "Global pruning"),
    "qat": ("pilotnet_qat.onnx", "ort", "int8 (QDQ, QAT)", "Quantization aware training"),
    "ts_qat": ("pilotnet_ts_qat.pt", "tch", "int8 (fbgemm, QAT)", "Quantization aware training"),
    "ts_prune_qat": ("pilotnet_ts_prune_qat.pt", "tch", "int8 (fbgemm, QAT)", "Prune + QAT"),
}


#: Variants committed in the repository's models/ (about 30 MB together); the fp32-sized pruned
#: files (6.4 MB each, sparse but stored dense) are left to the factory.
SHIPPED = {"fp32", "fp16", "dynamic_int8", "static_int8", "prune_static_int8", "qat", "ts_fp32",
           "ts_dynamic_int8", "ts_static_int8", "ts_qat", "ts_prune_qat"}


#: The light of the last on-policy round (`dataset --looks-ambient/--looks-texture`): the sun
#: alone, as `sim --light sun` draws it. After two rounds across the whole range the network
#: held a steady 1.4-3.9 cm offset there that the first-look trim could not see; one round of
#: 10,000 frames in it took the sun's median MAE from 4.7 to 2.7 cm (docs/factory.md).
SUN_AMBIENT, SUN_TEXTURE = "0,0.1", "0.9,1"


class TrainingSet:
    """The training images and normalised labels, loaded once for calibration and fine-tuning."""

    def __init__(self, folders: list[Path], label_range: LabelRange) -> None:
        cols = [read_labels(folder) for folder in folders]
        self.images = np.concatenate([load_images(c["image"]) for c in cols])
        self.labels = label_range.normalise(np.concatenate([c["v"] for c in cols]),
                                            np.concatenate([c["w"] for c in cols]))
        self.label_range = label_range


def pruned(model: PilotNet, prune, data: TrainingSet, epochs: int, seed: int) -> PilotNet:
    """L1-pruned copy of `model`, fine-tuned for `epochs` with its masks held (0: as pruned)."""
    p = prune(model)
    if epochs > 0:
        fine_tune(p, data.images, data.labels, data.label_range, epochs, learning_rate=1e-4,
                  seed=seed, masks=weight_masks(p))
    return p


def make_variants(model: PilotNet, out: Path, data: TrainingSet, calibration: list, work: Path,
                  prune_epochs: int, seed: int) -> dict[str, dict]:
    """Every variant file in `out`; returns per-variant extras (sparsity)."""
    extras: dict[str, dict] = {}
    V.export_fp32_pair(model, out, "pilotnet_fp32")
    fp32 = out / "pilotnet_fp32.onnx"
    V.onnx_fp16(fp32, out / "pilotnet_fp16.onnx")
    V.onnx_dynamic_int8(fp32, out / "pilotnet_dynamic_int8.onnx")
    V.onnx_static_int8(fp32, out / "pilotnet_static_int8.onnx", calibration, work)
    local = pruned(model, V.prune_local, data, prune_epochs, seed)
    glob = pruned(model, V.prune_global, data, prune_epochs, seed)
    V.export_fp32_pair(local, out, "pilotnet_local_prune")
    V.export_fp32_pair(glob, out, "pilotnet_global_prune")
    V.onnx_static_int8(out / "pilotnet_local_prune.onnx", out / "pilotnet_prune_static_int8.onnx",
                       calibration, work)
    for name, m in (("local_prune", local), ("global_prune", glob),
                    ("prune_static_int8", local)):
        extras[name] = {"sparsity": round(V.sparsity(m), 4)}
        if name != "prune_static_int8":
            extras["ts_" + name] = {"sparsity": round(V.sparsity(m), 4)}
    V.torchscript_dynamic_int8(model, out / "pilotnet_ts_dynamic_int8.pt")
    V.torchscript_static_int8(model, out / "pilotnet_ts_static_int8.pt", calibration)
    V.tensorrt_calibration_table(fp32, out / "tensorrt", calibration)
    return extras


def make_qat_variants(model: PilotNet, out: Path, data: TrainingSet, epochs: int,
                      seed: int) -> dict[str, dict]:
    """QAT fine-tuning on the training set: ONNX QDQ, TorchScript int8, and prune + QAT."""
    args = (data.images, data.labels, data.label_range)
    qat.qat_onnx_qdq(model, out / "pilotnet_qat.onnx", *args, epochs=epochs, seed=seed)
    qat.qat_torchscript(model, out / "pilotnet_ts_qat.pt", *args, epochs=epochs, seed=seed)
    local = V.prune_local(model)
    masks = weight_masks(local)
    qat.qat_torchscript(local, out / "pilotnet_ts_prune_qat.pt", *args, epochs=epochs, seed=seed,
                        masks=masks)
    kept = sum(float(m.sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    return {"qat": {"qat_epochs": epochs}, "ts_qat": {"qat_epochs": epochs},
            "ts_prune_qat": {"sparsity": round(1 - kept / total, 4), "qat_epochs": epochs}}


def ship(models: Path, dst: Path, manifest: dict) -> None:
    """Copies the shipped variants, their descriptions, the TensorRT calibration table and the
    manifest into `dst`, removing model files of an earlier build that are no longer shipped."""
    dst.mkdir(parents=True, exist_ok=True)
    for old in dst.iterdir():
        if old.suffix in (".onnx", ".pt", ".yaml"):
            old.unlink()
    for entry in manifest["variants"]:
        if entry["shipped"]:
            for name in (entry["file"], entry["description"]):
                shutil.copy2(models / name, dst / name)
    shutil.rmtree(dst / "tensorrt", ignore_errors=True)
    shutil.copytree(models / "tensorrt", dst / "tensorrt")
    shutil.copy2(models / "manifest.yaml", dst / "manifest.yaml")
    (dst / "RECIPE.md").write_text(recipe(manifest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "generated" / "factory")
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "pilotnet-brain")
    parser.add_argument("--smoke", action="store_true", help="tiny dataset, one epoch (CI)")
    parser.add_argument("--train-frames", type=int, default=30000)
    parser.add_argument("--test-frames", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--qat-epochs", type=int, default=3,
                        help="QAT fine-tuning epochs (one left the ONNX QAT network 1.5x fp32's "
                             "MAE on the Montreal world; docs/factory.md)")
    parser.add_argument("--prune-epochs", type=int, default=1,
                        help="fine-tuning of the pruned models with their masks held (0: none)")
    parser.add_argument("--ship", type=Path,
                        help="copy the shipped variants and the manifest into this folder (models/)")
    parser.add_argument("--looks", action=argparse.BooleanOptionalAction, default=True,
                        help="record the datasets across Gazebo's looks (dataset --looks)")
    parser.add_argument("--look-every", type=float, default=5.0,
                        help="simulated seconds between drawn looks")
    parser.add_argument("--reuse-data", action="store_true",
                        help="keep OUT/data from an earlier run instead of recording it again")
    parser.add_argument("--reuse-training", action="store_true",
                        help="keep OUT/training from an earlier run instead of training again")
    parser.add_argument("--onpolicy-frames", type=int, default=15000,
                        help="frames the trained network drives while the expert labels, for its "
                             "on-policy refinement (0: none)")
    parser.add_argument("--onpolicy-rounds", type=int, default=2,
                        help="on-policy rounds, each recorded with the network the one before "
                             "left")
    parser.add_argument("--onpolicy-epochs", type=int, default=3,
                        help="epochs of the refinement on the training and on-policy sets")
    parser.add_argument("--sun-round-frames", type=int, default=10000,
                        help="frames of one more on-policy round recorded in the sun's light "
                             "alone (ambient 0-0.1, textures lit 0.9-1), where two rounds in "
                             "the whole range left the network 4.7 cm off (0: none; needs "
                             "--looks)")
    args = parser.parse_args()
    started = time.time()
    if args.smoke:
        args.train_frames, args.test_frames, args.epochs, args.qat_epochs = 200, 80, 1, 1
        args.onpolicy_frames, args.onpolicy_epochs = min(args.onpolicy_frames, 100), 1
        args.onpolicy_rounds = min(args.onpolicy_rounds, 1)
        args.sun_round_frames = min(args.sun_round_frames, 100)
    out: Path = args.out
    data, models = out / "data", out / "models"
    shutil.rmtree(models, ignore_errors=True)
    models.mkdir(parents=True)

    datasets = {}
    for split, names, frames, seed in (("train", TRAIN_CIRCUITS, args.train_frames, args.seed),
                                       ("test", TEST_CIRCUITS, args.test_frames, args.seed + 1)):
        if args.reuse_data:
            recorded = json.loads((data / split / "collect.json").read_text())
            summary, seed = recorded["summary"], recorded["seed"]
        else:
            shutil.rmtree(data / split, ignore_errors=True)
            looks = ["--looks", "--look-every", str(args.look_every)] if args.looks else []
            summary = json.loads(run_binary(
                args.binary, "dataset", "--circuits", ",".join(circuit_specs(names)),
                "--frames", str(frames), "--out", str(data / split), "--seed", str(seed), *looks))
        recorded = json.loads((data / split / "collect.json").read_text())
        datasets[split] = {"circuits": list(names), "frames": summary["frames"], "seed": seed,
                           "looks": recorded.get("looks"),
                           "look_every_s": recorded.get("look_every_s"),
                           "summary": summary}
        print(f"build: {split} set {json.dumps(summary)}", flush=True)

    config = TrainConfig(epochs=args.epochs, seed=args.seed)
    if args.smoke:
        config.batch_size = 16
    if args.reuse_training:
        record = json.loads((out / "training" / "training.json").read_text())
        config = TrainConfig(**record["config"])
    else:
        record = train(data / "train", data / "test", out / "training", config)
    # The smoke network cannot drive: one circuit, one correction, only to exercise the path.
    trim_names = TRAIN_CIRCUITS[:1] if args.smoke else TRAIN_CIRCUITS
    trim_circuits = circuit_specs(trim_names)
    trim_rounds, trim_gain = (2, -1.0) if args.smoke else (3, None)
    training = out / "training"
    if not args.reuse_training or "steering_trim" not in record:
        trim(training, data / "train", trim_circuits, args.binary, rounds=trim_rounds,
             gain=trim_gain)
    # On-policy rounds: each drives the network as refined (and trimmed) by the rounds before.
    # The rounds across the whole range of looks, then the round in the sun's light alone.
    rounds = [(args.onpolicy_frames, None, None)] * (
        args.onpolicy_rounds if args.onpolicy_frames > 0 else 0)
    if args.sun_round_frames > 0 and args.looks:
        rounds.append((args.sun_round_frames, SUN_AMBIENT, SUN_TEXTURE))
    sets = [data / "train"]
    for k, (frames, ambient, texture) in enumerate(rounds):
        sets.append(data / f"onpolicy{k + 1}")
        if k < len(record.get("onpolicy", [])):
            continue
        summary = onpolicy.record(args.binary, training / "pilotnet.onnx",
                                  circuit_specs(TRAIN_CIRCUITS), frames, sets[-1],
                                  args.seed + 20 + k, looks=args.looks,
                                  look_every=args.look_every, ambient=ambient, texture=texture)
        print(f"build: on-policy set {k + 1} {json.dumps(summary)}", flush=True)
        refined = onpolicy.refine(training, sets, data / "test", args.onpolicy_epochs, 3e-4,
                                  args.seed + 20 + k, threads=config.threads)
        trim(training, data / "train", trim_circuits, args.binary, rounds=trim_rounds,
             gain=trim_gain)
        record = json.loads((training / "training.json").read_text())
        print(f"build: refined on-policy, test MSE {refined['test_mse_before']:.5f} -> "
              f"{refined['test_mse']:.5f}", flush=True)
    record = json.loads((training / "training.json").read_text())
    steering = record["steering_trim"]
    for k, folder in enumerate(sets[1:]):
        recorded = json.loads((folder / "collect.json").read_text())
        datasets[folder.name] = {
            "circuits": list(TRAIN_CIRCUITS), "frames": recorded["summary"]["frames"],
            "seed": recorded["seed"], "looks": recorded.get("looks"),
            "look_every_s": recorded.get("look_every_s"),
            "driver": ("the trained network, trimmed" if k == 0 else
                       f"the network after on-policy round {k}, trimmed")
                      + (", in the sun's light" if rounds[k][1] else ""),
            "summary": recorded["summary"]}
    model = PilotNet()
    model.load_state_dict(torch.load(out / "training" / "pilotnet.pt.state"))
    model.eval()
    description = (out / "training" / "pilotnet.yaml").read_text()

    # The variants are calibrated and fine-tuned on everything the network was trained on.
    data_set = TrainingSet(sets, LabelRange(**record["label_range"]))
    calibration = V.calibration_batches(
        data_set.images[:: max(1, len(data_set.images) // 512)], 256, seed=args.seed)
    torch.set_num_threads(config.threads)
    # Quantized kernels have no "deterministic" flag (they are deterministic on the CPU anyway).
    torch.use_deterministic_algorithms(False)
    extras = make_variants(model, models, data_set, calibration, out / "work",
                           prune_epochs=args.prune_epochs, seed=args.seed)
    extras.update(make_qat_variants(model, models, data_set, epochs=args.qat_epochs,
                                    seed=args.seed))

    entries = []
    for name, (file, _, _, _) in VARIANTS.items():
        (models / file).with_suffix(".yaml").write_text(description)
    # Each variant's own trim, from the network's; the ONNX and TorchScript exports of one
    # network share a description and so a trim. The smoke run trims two, to exercise it.
    trimmed = trim_variants(
        models, [{"name": n, "file": f, "description": Path(f).with_suffix(".yaml").name}
                 for n, (f, _, _, _) in VARIANTS.items()],
        record["label_range"]["w_min"], steering["label_gain_rad_s_per_m"], trim_circuits,
        args.binary,
        rounds=2 if args.smoke else 5,
        names={"static_int8", "ts_static_int8"} if args.smoke
        else set(VARIANTS) - {"fp32", "ts_fp32"})
    for name, (file, backend, precision, method) in VARIANTS.items():
        path = models / file
        yaml_path = path.with_suffix(".yaml")
        measured = bench(args.binary, path, data / "test")
        entry = {
            "name": name, "file": file, "backend": backend, "precision": precision,
            "method": method, "shipped": name in SHIPPED, "sha256": sha256(path),
            "size_bytes": path.stat().st_size, "size_mb": round(path.stat().st_size / 1e6, 3),
            "description": yaml_path.name, "description_sha256": sha256(yaml_path),
            "test_mse": measured["mse"],
            "inference_ms_mean": measured["inference_ms_mean"], **extras.get(name, {}),
            **trimmed.get(name, {}),
        }
        entries.append(entry)
        print(f"build: {name} {json.dumps(entry)}", flush=True)
    manifest = {
        "dataset": datasets,
        "training": {"config": asdict(config), "label_range": record["label_range"],
                     "test_mse": record["test_mse"], "seconds": record.get("seconds"),
                     "onpolicy": [{k: r[k] for k in ("samples", "epochs", "learning_rate", "seed",
                                                      "test_mse_before", "test_mse", "seconds")}
                                  for r in record.get("onpolicy", [])],
                     "steering_trim_rad_s": steering["trim_rad_s"],
                     "steering_trim": {
                         "label_gain_rad_s_per_m": steering["label_gain_rad_s_per_m"],
                         "circuits": trim_names,
                         "rounds": [{k: r[k] for k in ("trim_rad_s", "mean_lateral_m")}
                                    for r in steering["rounds"]]}},
        "tensorrt": {"calibration_table": "tensorrt/calibration.flatbuffers",
                     "note": "fp32/fp16/int8 are settings of the fp32 ONNX model: --device tensorrt --trt-precision P [--trt-calibration-table tensorrt/calibration.flatbuffers]"},
        "variants": entries,
    }
    (models / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    print(f"build: wrote {models / 'manifest.yaml'} in {time.time() - started:.0f} s", flush=True)
    if args.ship:
        ship(models, args.ship, manifest)
        print(f"build: shipped {sorted(SHIPPED)} to {args.ship}")


if __name__ == "__main__":
    main()
