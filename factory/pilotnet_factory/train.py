"""Trains the DeepLearningStudio PilotNet on a dataset from `pilotnet-brain dataset`.

    python -m pilotnet_factory.train --train DIR --test DIR --out DIR [--epochs N] ...

Labels are min-max normalised over the training set (Behavior Metrics' convention) with w
limited to ±`w_limit`, half the samples are mirrored with w negated, strong turns are
oversampled, and the loss is the MSE of the two normalised outputs (DeepLearningStudio's).
Weights start from He initialisation (`model.he_init`). `mirror_pairs` with
`mirror_consistency` trains each image beside its mirror with a penalty on the part of the
output that is not mirror-symmetric (an experiment, off by default: docs/factory.md). The model
kept is the one after the last epoch (the test set is measured each epoch, not used to choose).
Seeded and single-process, so a run is repeatable on the same machine. Writes
`pilotnet.pt.state` (the trained weights), `training.json` (settings, label range, per-epoch
losses) and the fp32 exports (`pilotnet.onnx`, `pilotnet.pt`) with their description.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

from .data import FrameDataset, LabelRange, MirrorPairs, load_images, read_labels, turn_weights
from .export import export_both
from .model import PilotNet, he_init


@dataclass
class TrainConfig:
    """Training settings (recorded in training.json and the manifest)."""

    epochs: int = 12
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    threads: int = 2
    #: Largest |w| of the label range, rad/s (0.6 % of the recorded labels, strong recovery
    #: commands, go up to ±9 rad/s; min-max over them would squeeze every ordinary steering
    #: command into a sliver of the output and let those few dominate the loss). Labels
    #: beyond it are clipped. 0: the full range.
    w_limit: float = 4.5
    flip: bool = True
    #: Train on (image, mirror) pairs; `batch_size` counts images, half of them mirrors, and
    #: an epoch draws as many images as the training set holds.
    mirror_pairs: bool = False
    #: Weight of the mirror-consistency term (pairs only); 0 turns it off.
    mirror_consistency: float = 0.0
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


def mirror_w(label_range: LabelRange) -> float:
    """The normalised w of a mirror image is `mirror_w - p` (LabelRange.flipped_w)."""
    return float(-2.0 * label_range.w_min / (label_range.w_max - label_range.w_min))


def pair_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, mirror: float,
              consistency: float) -> tuple[torch.Tensor, float]:
    """MSE over a batch of (image, mirror) pairs plus `consistency` times the mean squared
    mirror asymmetry (v(mirror) - v(image), w(mirror) + w(image) - mirror); returns the loss
    and the asymmetry."""
    pred = model(x.flatten(0, 1)).view(y.shape)
    asymmetry = ((pred[:, 0, 0] - pred[:, 1, 0]) ** 2
                 + (pred[:, 0, 1] + pred[:, 1, 1] - mirror) ** 2).mean()
    return nn.functional.mse_loss(pred, y) + consistency * asymmetry, asymmetry.item()


def weight_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Non-zero masks of every conv/linear weight, by parameter name."""
    return {name: (p != 0).float() for name, p in model.named_parameters()
            if name.endswith("weight") and p.dim() > 1}


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Multiplies weights by their pruning masks (keeps a pruned model sparse while it trains).
    Fusion renames `cn_1.weight` to `cn_1.0.weight`: both spellings are matched."""
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name, mask in masks.items():
            target = params.get(name)
            if target is None:
                target = params.get(name.replace(".weight", ".0.weight"))
            if target is None:
                raise KeyError(f"pruned weight {name} not found in the model")
            target.mul_(mask)


def fine_tune(model: nn.Module, images: np.ndarray, labels: np.ndarray, label_range: LabelRange,
              epochs: int, learning_rate: float, seed: int,
              masks: dict[str, torch.Tensor] | None = None, batch_size: int = 64,
              constrain: Callable[[nn.Module], None] | None = None) -> None:
    """A few epochs of the training recipe (mirrored half of the samples, constant learning
    rate) on a trained model: QAT with fake quantization in place, a pruned model with its
    masks held, and `constrain` (weight sharing of a clustered model) re-imposed after every
    step."""
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(FrameDataset(images, labels, label_range, flip=True, seed=seed),
                        batch_size=batch_size, shuffle=True, generator=generator)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            optimiser.zero_grad()
            nn.functional.mse_loss(model(x), y).backward()
            optimiser.step()
            if masks:
                apply_masks(model, masks)
            if constrain is not None:
                constrain(model)
    model.eval()


def cosine_schedule(optimiser: torch.optim.Optimizer, steps: int):
    """Cosine decay of the learning rate to 1 % of its start over `steps` steps."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * min(step / steps, 1.0))))


def train(train_dir: Path, test_dir: Path, out: Path, config: TrainConfig) -> dict:
    """Trains, exports fp32 ONNX + TorchScript + description, returns the training record."""
    started = time.time()
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(True)

    train_cols, test_cols = read_labels(train_dir), read_labels(test_dir)
    label_range = LabelRange.from_labels(train_cols["v"], train_cols["w"], config.w_limit or None)
    train_x = load_images(train_cols["image"])
    test_x = load_images(test_cols["image"])
    train_y = label_range.normalise(train_cols["v"], train_cols["w"])
    test_y = label_range.normalise(test_cols["v"], test_cols["w"])

    pairs = config.flip and config.mirror_pairs
    if pairs:
        dataset = MirrorPairs(train_x, train_y, label_range)
        batch, draws = max(1, config.batch_size // 2), max(1, len(train_x) // 2)
    else:
        dataset = FrameDataset(train_x, train_y, label_range, flip=config.flip, seed=config.seed)
        batch, draws = config.batch_size, len(train_x)
    generator = torch.Generator().manual_seed(config.seed)
    if config.oversample_turns:
        clipped = np.clip(train_cols["w"], label_range.w_min, label_range.w_max)
        weights = torch.from_numpy(turn_weights(clipped))
        sampler = WeightedRandomSampler(weights, draws, replacement=True, generator=generator)
        loader = DataLoader(dataset, batch_size=batch, sampler=sampler)
    else:
        loader = DataLoader(dataset, batch_size=batch, shuffle=True, generator=generator)
    mirror = mirror_w(label_range)

    model = he_init(PilotNet())
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                 weight_decay=config.weight_decay)
    loss_fn = nn.MSELoss()
    steps = config.epochs * len(loader)
    schedule = cosine_schedule(optimiser, steps) if config.cosine else \
        torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1.0)
    history = []
    for epoch in range(config.epochs):
        model.train()
        start, running, asymmetry, batches = time.time(), 0.0, 0.0, 0
        for x, y in loader:
            optimiser.zero_grad()
            if pairs:
                loss, sym = pair_loss(model, x, y, mirror, config.mirror_consistency)
                asymmetry += sym
            else:
                loss = loss_fn(model(x), y)
            loss.backward()
            optimiser.step()
            schedule.step()
            running += loss.item()
            batches += 1
        test_mse = evaluate(model, test_x, test_y)
        record = {"epoch": epoch + 1, "train_loss": running / max(batches, 1),
                  "mirror_asymmetry": asymmetry / max(batches, 1),
                  "test_mse": test_mse, "seconds": time.time() - start}
        history.append(record)
        print(json.dumps(record), flush=True)
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
        "test_mse": history[-1]["test_mse"],
        "seconds": round(time.time() - started, 1),
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
    print(json.dumps({"test_mse": record["test_mse"], "out": str(args.out)}))


if __name__ == "__main__":
    main()
