"""Labelled frame datasets, in two layouts:

- `pilotnet-brain dataset`'s: labels.csv plus 200x66 PNG images, already cut by the Rust
  preprocessing the pilot uses, so training sees exactly the 8-bit pixels the network sees
  while driving;
- DeepLearningStudio's, as its Gazebo recordings come: numbered whole 640x480 frames (`0.png`,
  `1.png`, ...) and `data.csv` with `v` and `w` columns, the n-th row labelling the n-th image
  in numeric order. Whole frames are cut as Behavior Metrics' brains cut them (rows 240-480,
  `cv2.resize` to the network input, bilinear).

Images become tensors in [0, 1] (a division by 255, as torchvision's ToTensor and the Rust side
do). A dataset that is empty, lacks an image, has an unreadable image or a label that is not a
finite number raises `DatasetError` naming the file and the row.
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


class DatasetError(ValueError):
    """A dataset that cannot be used, naming the file (and row) and the fault."""


#: Behavior Metrics' crop of a 640x480 frame (rows 240-480, every column) and PilotNet's input.
CROP = (240, 480, 0, 640)
INPUT_SIZE = (200, 66)


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
            header = rows[0].keys() if rows else []
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"cannot read {path}: {e}") from e
    if not rows:
        raise DatasetError(f"{path} has no samples")
    for key in required:
        if key not in header:
            raise DatasetError(f"{path} has no '{key}' column (header: {list(header)})")
    return rows


def _number(path: Path, line: int, name: str, text: str | None) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value):
        raise DatasetError(f"{path} line {line}: {name} '{text}' is not a finite number")
    return value


def _numbered_images(folder: Path) -> list[tuple[int, Path]]:
    found = []
    for p in folder.iterdir():
        if p.suffix.lower() == ".png" and p.stem.isdigit():
            found.append((int(p.stem), p))
    return sorted(found)


def read_labels(folder: Path) -> dict[str, np.ndarray]:
    """A dataset folder in either layout as columns: `image` (absolute paths), `v`, `w`
    (float64), and `circuit`/`direction` where the labels carry them."""
    folder = Path(folder)
    if (folder / "labels.csv").exists():
        path = folder / "labels.csv"
        rows = _rows(path, ("image", "v", "w"))
        images = []
        for line, r in enumerate(rows, start=2):
            image = folder / (r["image"] or "").strip()
            if not (r["image"] or "").strip() or not image.is_file():
                raise DatasetError(f"{path} line {line}: no image {image}")
            images.append(str(image))
    elif (folder / "data.csv").exists():
        path = folder / "data.csv"
        rows = _rows(path, ("v", "w"))
        numbered = _numbered_images(folder)
        first = numbered[0][0] if numbered else 0
        for k, (n, _) in enumerate(numbered[:len(rows)]):
            if n != first + k:
                raise DatasetError(f"{path} line {k + 2}: no image {first + k}.png in {folder} "
                                   f"for this row (the numbered images jump to {n})")
        if len(numbered) < len(rows):
            raise DatasetError(f"{path}: {len(rows)} rows but {len(numbered)} numbered images in "
                               f"{folder}; the first missing is {first + len(numbered)}.png")
        if len(numbered) > len(rows):
            raise DatasetError(f"{path}: {len(rows)} rows but {len(numbered)} numbered images in "
                               f"{folder}: {numbered[len(rows)][1]} has no label")
        images = [str(p) for _, p in numbered]
    else:
        raise DatasetError(f"{folder}: neither labels.csv (pilotnet-brain dataset) nor data.csv "
                           "with numbered PNG frames (DeepLearningStudio)")
    columns: dict[str, np.ndarray] = {
        "image": np.array(images),
        "v": np.array([_number(path, i, "v", r["v"]) for i, r in enumerate(rows, start=2)]),
        "w": np.array([_number(path, i, "w", r["w"]) for i, r in enumerate(rows, start=2)]),
    }
    for key in ("circuit", "direction"):
        if key in rows[0]:
            columns[key] = np.array([r[key] for r in rows])
    return columns


def load_images(paths: np.ndarray, size: tuple[int, int] = INPUT_SIZE,
                crop: tuple[int, int, int, int] = CROP) -> np.ndarray:
    """(n, height, width, 3) uint8 RGB array of the images at the network input `size`
    (width, height), in memory (a 20k-frame set is 0.8 GB). Images of another size are whole
    frames: cut to `crop` (top, bottom, left, right) and resized bilinearly."""
    width, height = size
    out = np.empty((len(paths), height, width, 3), np.uint8)
    shape = None
    for i, p in enumerate(paths):
        bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DatasetError(f"cannot read image {p} (not a PNG, or damaged)")
        if shape is not None and bgr.shape != shape:
            raise DatasetError(f"image {p} is {bgr.shape[1]}x{bgr.shape[0]}, the dataset's "
                               f"first image {shape[1]}x{shape[0]}")
        shape = bgr.shape
        if bgr.shape[:2] != (height, width):
            top, bottom, left, right = crop
            if bgr.shape[0] < bottom or bgr.shape[1] < right:
                raise DatasetError(f"image {p} is {bgr.shape[1]}x{bgr.shape[0]}: neither the "
                                   f"network input {width}x{height} nor a whole frame to cut "
                                   f"rows {top}-{bottom} from")
            bgr = cv2.resize(bgr[top:bottom, left:right], (width, height),
                             interpolation=cv2.INTER_LINEAR)
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
