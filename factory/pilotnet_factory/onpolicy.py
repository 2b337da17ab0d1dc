"""On-policy refinement (DAgger): the trained network drives, the expert labels, and the network
is trained further on its own laps beside the expert's.

    python -m pilotnet_factory.onpolicy --training DIR --train-data DIR --out DIR \
        [--frames 15000] [--epochs 3] [--learning-rate 3e-4] [--seed 21] [--binary PATH] \
        [--previous DIR ...] [--looks-ambient LO,HI] [--looks-texture LO,HI]

A network trained on the expert's laps alone sees only where the expert goes. In closed loop
its small errors add up: it holds a few centimetres of offset through every bend and never
learns how to come back from it, because no label shows it. `pilotnet-brain dataset --driver`
records where the network itself goes (in the same looks and on the same training circuits),
with the expert's answer to each frame as its label; the network then continues its training
on both sets, in its own label range, from its own weights. The result replaces the training
folder's weights, exports and description (the steering trim is measured afterwards, as for a
fresh network), and `training.json`'s `onpolicy` list gains the round: the data, the
settings, and the test MSE before and after. Rounds repeat: each records with the network the
one before left and trains on every set so far (DAgger's aggregation).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

from .binary import ROOT, TRAIN_CIRCUITS, circuit_specs, run_binary
from .data import FrameDataset, LabelRange, load_images, read_labels, turn_weights
from .export import export_both
from .model import PilotNet
from .train import cosine_schedule, evaluate


def record(binary: Path, driver: Path, circuits: list[str], frames: int, out: Path, seed: int,
           looks: bool, look_every: float = 5.0, ambient: str | None = None,
           texture: str | None = None) -> dict:
    """Records `frames` on-policy frames into `out` with `driver` at the wheel; the summary.
    `ambient` and `texture` (`LO,HI`) narrow the drawn looks' light (`dataset
    --looks-ambient/--looks-texture`), to record where the network drives worst."""
    if not looks and (ambient or texture):
        raise ValueError("a narrowed light (ambient, texture) needs the drawn looks (looks=True)")
    shutil.rmtree(out, ignore_errors=True)
    extra = ["--looks", "--look-every", str(look_every)] if looks else []
    if ambient:
        extra += ["--looks-ambient", ambient]
    if texture:
        extra += ["--looks-texture", texture]
    return json.loads(run_binary(
        binary, "dataset", "--circuits", ",".join(circuits), "--frames", str(frames),
        "--out", str(out), "--seed", str(seed), "--driver", str(driver), *extra))


def refine(training: Path, datasets: list[Path], test_dir: Path, epochs: int,
           learning_rate: float, seed: int, threads: int = 2) -> dict:
    """Continues the training in `training` on `datasets` together (cosine decay from
    `learning_rate`, mirrored half of the samples, strong turns oversampled, as in training),
    overwrites its weights and exports, and returns the record."""
    started = time.time()
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    record_path = training / "training.json"
    trained = json.loads(record_path.read_text())
    label_range = LabelRange(**trained["label_range"])
    columns = [read_labels(d) for d in datasets]
    images = np.concatenate([load_images(c["image"]) for c in columns])
    w = np.concatenate([c["w"] for c in columns])
    labels = label_range.normalise(np.concatenate([c["v"] for c in columns]), w)
    test_cols = read_labels(test_dir)
    test_x = load_images(test_cols["image"])
    test_y = label_range.normalise(test_cols["v"], test_cols["w"])

    model = PilotNet()
    model.load_state_dict(torch.load(training / "pilotnet.pt.state"))
    mse_before = evaluate(model, test_x, test_y)
    generator = torch.Generator().manual_seed(seed)
    weights = torch.from_numpy(turn_weights(np.clip(w, label_range.w_min, label_range.w_max)))
    sampler = WeightedRandomSampler(weights, len(images), replacement=True, generator=generator)
    loader = DataLoader(FrameDataset(images, labels, label_range, flip=True, seed=seed),
                        batch_size=64, sampler=sampler)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    steps = max(1, epochs * len(loader))
    schedule = cosine_schedule(optimiser, steps)
    history = []
    for epoch in range(epochs):
        model.train()
        start, running, batches = time.time(), 0.0, 0
        for x, y in loader:
            optimiser.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimiser.step()
            schedule.step()
            running += loss.item()
            batches += 1
        entry = {"epoch": epoch + 1, "train_loss": running / max(batches, 1),
                 "test_mse": evaluate(model, test_x, test_y), "seconds": time.time() - start}
        history.append(entry)
        print(json.dumps(entry), flush=True)
    model.eval()
    torch.save(model.state_dict(), training / "pilotnet.pt.state")
    ranges = {"v": (label_range.v_min, label_range.v_max),
              "w": (label_range.w_min, label_range.w_max)}
    export_both(model, training, "pilotnet", ranges=ranges)
    result = {"datasets": [str(d) for d in datasets], "samples": int(len(images)),
              "epochs": epochs, "learning_rate": learning_rate, "seed": seed,
              "test_mse_before": mse_before, "test_mse": history[-1]["test_mse"] if history
              else mse_before, "history": history, "seconds": round(time.time() - started, 1)}
    trained.setdefault("onpolicy", []).append(result)
    trained["test_mse"] = result["test_mse"]
    # The trim of the network before no longer applies: the new one is measured afresh.
    trained.pop("steering_trim", None)
    record_path.write_text(json.dumps(trained, indent=2) + "\n")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training", type=Path, required=True,
                        help="training folder (pilotnet.pt.state, training.json, pilotnet.yaml)")
    parser.add_argument("--train-data", type=Path, required=True)
    parser.add_argument("--test-data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="where the on-policy data goes")
    parser.add_argument("--frames", type=int, default=15000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--no-looks", action="store_true")
    parser.add_argument("--looks-ambient", metavar="LO,HI",
                        help="record only in looks with this ambient light (0: the sun alone)")
    parser.add_argument("--looks-texture", metavar="LO,HI",
                        help="record only in looks with textures lit this much (1: Gazebo's own)")
    parser.add_argument("--previous", type=Path, nargs="*", default=[],
                        help="on-policy sets of earlier rounds, trained on too")
    parser.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "pilotnet-brain")
    args = parser.parse_args()
    if not args.out.exists() or not (args.out / "labels.csv").exists():
        summary = record(args.binary, args.training / "pilotnet.onnx",
                         circuit_specs(TRAIN_CIRCUITS), args.frames, args.out, args.seed,
                         looks=not args.no_looks, ambient=args.looks_ambient,
                         texture=args.looks_texture)
        print(f"onpolicy: recorded {json.dumps(summary)}", flush=True)
    result = refine(args.training, [args.train_data, *args.previous, args.out], args.test_data,
                    args.epochs, args.learning_rate, args.seed)
    print(json.dumps({k: result[k] for k in ("samples", "test_mse_before", "test_mse")}))


if __name__ == "__main__":
    main()
