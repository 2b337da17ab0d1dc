"""Trains the DeepLearningStudio PilotNet on a dataset from `pilotnet-brain dataset`.

    python -m pilotnet_factory.train --train DIR --test DIR --out DIR [--epochs N] ...

Labels are min-max normalised over the training set (Behavior Metrics' convention), half the
samples are mirrored with w negated, strong turns are oversampled, and the loss is the MSE of
the two normalised outputs (DeepLearningStudio's). Seeded and single-process, so a run is
repeatable on the same machine. Writes `pilotnet.pt` (the trained weights), `training.json`
(settings, label range, per-epoch losses) and the fp32 exports with their description.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

from .data import FrameDataset, LabelRange, load_images, read_labels, turn_weights
from .export import export_both
from .model import PilotNet


@dataclass
class TrainConfig:
    """Training settings (recorded in training.json and the manifest)."""

    epochs: int = 8
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    threads: int = 2
    flip: bool = True
    oversample_turns: bool = True
    #: Cosine decay of the learning rate to 1 % of its start over the run (else constant).
    cosine: bool = True


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray, batch: int = 256) -> float:
    """MSE of the normalised outputs over a whole set."""
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(images[i:i + batch]).permute(0, 3, 1, 2).float().div(255.0)
            y = torch.from_numpy(labels[i:i + batch])
            total += float(((model(x) - y) ** 2).sum())
            n += y.numel()
    return total / n


def train(train_dir: Path, test_dir: Path, out: Path, config: TrainConfig) -> dict:
    """Trains, exports fp32 ONNX + TorchScript + description, returns the training record."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)

    train_cols, test_cols = read_labels(train_dir), read_labels(test_dir)
    label_range = LabelRange.from_labels(train_cols["v"], train_cols["w"])
    train_x = load_images(train_cols["image"])
    test_x = load_images(test_cols["image"])
    train_y = label_range.normalise(train_cols["v"], train_cols["w"])
    test_y = label_range.normalise(test_cols["v"], test_cols["w"])

    dataset = FrameDataset(train_x, train_y, label_range, flip=config.flip, seed=config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    if config.oversample_turns:
        weights = torch.from_numpy(turn_weights(train_cols["w"]))
        sampler = WeightedRandomSampler(weights, len(dataset), replacement=True,
                                        generator=generator)
        loader = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler)
    else:
        loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True,
                            generator=generator)

    model = PilotNet()
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    loss_fn = nn.MSELoss()
    steps = config.epochs * len(loader)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        (lambda step: 0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * min(step / steps, 1.0))))
        if config.cosine else (lambda step: 1.0),
    )
    history = []
    best = (float("inf"), None)
    for epoch in range(config.epochs):
        model.train()
        start, running, batches = time.time(), 0.0, 0
        for x, y in loader:
            optimiser.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimiser.step()
            schedule.step()
            running += loss.item()
            batches += 1
        test_mse = evaluate(model, test_x, test_y)
        record = {"epoch": epoch + 1, "train_loss": running / max(batches, 1),
                  "test_mse": test_mse, "seconds": time.time() - start}
        history.append(record)
        print(json.dumps(record), flush=True)
        if test_mse < best[0]:
            best = (test_mse, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[1])
    model.eval()

    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "pilotnet.pt.state")
    ranges = {"v": (label_range.v_min, label_range.v_max), "w": (label_range.w_min, label_range.w_max)}
    export_both(model, out, "pilotnet", ranges=ranges)
    record = {
        "config": asdict(config),
        "label_range": asdict(label_range),
        "train": {"dir": str(train_dir), "samples": len(train_x)},
        "test": {"dir": str(test_dir), "samples": len(test_x)},
        "history": history,
        "best_test_mse": best[0],
    }
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    defaults = TrainConfig()
    for field, value in asdict(defaults).items():
        flag = "--" + field.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"),
                                default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    args = parser.parse_args()
    config = TrainConfig(**{k: getattr(args, k) for k in asdict(defaults)})
    record = train(args.train, args.test, args.out, config)
    print(json.dumps({"best_test_mse": record["best_test_mse"], "out": str(args.out)}))


if __name__ == "__main__":
    main()
