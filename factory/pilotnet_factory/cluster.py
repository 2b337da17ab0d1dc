"""Weight clustering (weight sharing), as TensorFlow Model Optimization's `cluster_weights`
does it: every convolution and linear weight tensor keeps only `clusters` distinct values.

k-means in one dimension per tensor, centroids initialised linearly between the tensor's
smallest and largest weight (TF-MOT's default `LINEAR` initialisation). A clustered model is
fine-tuned with its assignment held: after every optimiser step each centroid becomes the mean
of the weights assigned to it and every weight is set to its centroid (`Clusters.apply`), so
the fine-tuning moves centroids, never the sharing. With `keep_zeros` (sparsity-preserving
clustering, for pruned models: PCQAT) zero weights stay zero and only the others are
clustered.

The sharing survives export: a clustered network's ONNX file holds `clusters` distinct values
per tensor (`distinct_values`), which is what makes it compress (the study reports the zipped
size); QAT on top (CQAT, PCQAT) quantises those shared values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

#: TF-MOT's usual setting in the study's tutorials.
CLUSTERS = 16


def clustered_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weights clustering applies to: every conv and linear weight, by parameter name."""
    return {name: p for name, p in model.named_parameters()
            if name.endswith("weight") and p.dim() >= 2}


def kmeans_1d(values: np.ndarray, k: int, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Centroids (k,) and the index of each value's centroid, linear initialisation."""
    lo, hi = float(values.min()), float(values.max())
    centroids = np.linspace(lo, hi, k) if hi > lo else np.full(k, lo)
    for _ in range(iterations):
        edges = (centroids[1:] + centroids[:-1]) / 2
        which = np.searchsorted(edges, values)
        sums = np.bincount(which, weights=values, minlength=k)
        counts = np.bincount(which, minlength=k)
        moved = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        if np.allclose(moved, centroids):
            break
        centroids = np.sort(moved)
    edges = (centroids[1:] + centroids[:-1]) / 2
    return centroids, np.searchsorted(edges, values)


@dataclass
class Clusters:
    """Each clustered weight's assignment (cluster index per element; -1 for kept zeros)."""

    assignment: dict[str, torch.Tensor]
    clusters: int

    @staticmethod
    def of(model: nn.Module, clusters: int = CLUSTERS, keep_zeros: bool = False) -> "Clusters":
        """Clusters `model`'s weights in place and returns the assignment."""
        assignment = {}
        with torch.no_grad():
            for name, p in clustered_weights(model).items():
                flat = p.detach().reshape(-1).numpy().astype(np.float64)
                index = np.full(flat.shape, -1, np.int64)
                live = flat != 0 if keep_zeros else np.ones(flat.shape, bool)
                if live.any():
                    _, index[live] = kmeans_1d(flat[live], clusters)
                assignment[name] = torch.from_numpy(index).reshape(p.shape)
        found = Clusters(assignment, clusters)
        found.apply(model)
        return found

    def apply(self, model: nn.Module) -> None:
        """Sets every clustered weight to the mean of its cluster (zeros kept at zero). Finds
        the weights by name in `model` or in a fused/QAT copy of it (`cn_1.weight` as
        `cn_1.0.weight`)."""
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, index in self.assignment.items():
                p = params.get(name)
                if p is None:
                    p = params.get(name.replace(".weight", ".0.weight"))
                if p is None:
                    raise KeyError(f"clustered weight {name} not found in the model")
                flat = p.reshape(-1)
                idx = index.reshape(-1)
                live = idx >= 0
                sums = torch.zeros(self.clusters, dtype=flat.dtype).index_add_(
                    0, idx[live], flat[live])
                counts = torch.bincount(idx[live], minlength=self.clusters).to(flat.dtype)
                centroids = sums / counts.clamp(min=1)
                shared = torch.zeros_like(flat)
                shared[live] = centroids[idx[live]]
                p.copy_(shared.reshape(p.shape))


def distinct_values(model: nn.Module) -> dict[str, int]:
    """Distinct values per clustered weight tensor (zero counted once)."""
    return {name: int(torch.unique(p.detach()).numel())
            for name, p in clustered_weights(model).items()}
