"""Datasets written by `pilotnet-brain dataset`: labels.csv plus 200x66 PNG images.

Images are already cut by the Rust preprocessing the pilot uses, so training sees exactly the
8-bit pixels the network sees while driving; here they only become tensors in [0, 1] (a
division by 255, as torchvision's ToTensor and the Rust side do).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass(frozen=True)
class LabelRange:
    """Min-max normalisation of the labels, as Behavior Metrics does: p = (x - lo) / (hi - lo)."""

    v_min: float
    v_max: float
    w_min: float
    w_max: float

    @staticmethod
    def from_labels(v: np.ndarray, w: np.ndarray, w_limit: float | None = None) -> "LabelRange":
        """The range of a training set; w symmetric, since flipped images negate it, and at
        most ±`w_limit` when given (labels beyond it are clipped by `normalise`)."""
        w_abs = float(np.abs(w).max())
        if w_limit is not None:
            w_abs = min(w_abs, w_limit)
        return LabelRange(float(v.min()), float(v.max()), -w_abs, w_abs)

    def normalise(self, v: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(n, 2) array of normalised labels, clipped to the range."""
        pv = (np.clip(v, self.v_min, self.v_max) - self.v_min) / (self.v_max - self.v_min)
        pw = (np.clip(w, self.w_min, self.w_max) - self.w_min) / (self.w_max - self.w_min)
        return np.stack([pv, pw], axis=1).astype(np.float32)

    def w_of(self, pw: float) -> float:
        """Normalised w back to rad/s."""
        return pw * (self.w_max - self.w_min) + self.w_min

    def flipped_w(self, pw: np.ndarray) -> np.ndarray:
        """Normalised w of the mirrored image: w -> -w."""
        return -pw - 2.0 * self.w_min / (self.w_max - self.w_min)


def read_labels(folder: Path) -> dict[str, np.ndarray]:
    """labels.csv as columns (image paths made absolute; numbers as float64)."""
    path = folder / "labels.csv"
    if not path.exists():
        raise FileNotFoundError(f"no labels.csv in {folder}: write one with `pilotnet-brain dataset`")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} has no samples")
    for key in ("image", "v", "w"):
        if key not in rows[0]:
            raise ValueError(f"{path} has no '{key}' column")
    columns: dict[str, np.ndarray] = {
        "image": np.array([str(folder / r["image"]) for r in rows]),
        "v": np.array([float(r["v"]) for r in rows]),
        "w": np.array([float(r["w"]) for r in rows]),
    }
    for key in ("circuit", "direction"):
        if key in rows[0]:
            columns[key] = np.array([r[key] for r in rows])
    return columns


def load_images(paths: np.ndarray) -> np.ndarray:
    """(n, 66, 200, 3) uint8 RGB array of the images, in memory (a 20k-frame set is 0.8 GB)."""
    first = cv2.imread(str(paths[0]), cv2.IMREAD_COLOR)
    if first is None:
        raise FileNotFoundError(f"cannot read image {paths[0]}")
    out = np.empty((len(paths), *first.shape), np.uint8)
    for i, p in enumerate(paths):
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None or bgr.shape != first.shape:
            raise ValueError(f"cannot read image {p} as {first.shape[1]}x{first.shape[0]} RGB")
        out[i] = bgr[:, :, ::-1]
    return out


class FrameDataset(Dataset):
    """Images and normalised labels; `flip` mirrors half of the samples (w negated)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, labels_range: LabelRange,
                 flip: bool, seed: int = 0) -> None:
        self.images = images
        self.labels = labels
        self.range = labels_range
        self.flip = flip
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        img = self.images[i]
        label = self.labels[i].copy()
        if self.flip and self.rng.random() < 0.5:
            img = img[:, ::-1]
            label[1] = self.range.flipped_w(label[1])
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float().div(255.0)
        return x, torch.from_numpy(label)


class MirrorPairs(Dataset):
    """Each item is an image and its mirror image, stacked: (2, 3, H, W) and labels (2, 2).

    Training on pairs puts every image and its mirror in the same step, so the loss sees the
    part of the output that is not mirror-symmetric directly (see `mirror_consistency` in
    train.py) instead of only on average over an epoch."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, labels_range: LabelRange) -> None:
        self.images = images
        self.labels = labels
        self.range = labels_range

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        img = self.images[i]
        pair = np.stack([img, img[:, ::-1]])
        label = np.stack([self.labels[i], self.labels[i]])
        label[1, 1] = self.range.flipped_w(label[1, 1])
        x = torch.from_numpy(pair).permute(0, 3, 1, 2).float().div(255.0)
        return x, torch.from_numpy(label)


def turn_weights(w: np.ndarray, bins: int = 10) -> np.ndarray:
    """Sampling weights that oversample strong turns: each |w| bin gets equal total weight,
    capped so a rare bin is drawn at most 10 times as often as it occurs."""
    edges = np.linspace(0.0, np.abs(w).max() + 1e-9, bins + 1)
    which = np.clip(np.digitize(np.abs(w), edges) - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins).astype(np.float64)
    per_bin = np.where(counts > 0, len(w) / (bins * np.maximum(counts, 1)), 0.0)
    weights = np.minimum(per_bin[which], 10.0)
    return weights / weights.sum()
