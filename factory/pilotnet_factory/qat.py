"""Quantization-aware training: fine-tune a trained PilotNet with fake quantization.

Two products from one fine-tuning recipe:

- TorchScript int8 (fbgemm): the QAT model with fused conv/linear + ReLU, converted to real
  int8 kernels and traced.
- ONNX QDQ: the same fine-tuning with plain (not fused-observer) fake-quantize modules, which
  the legacy exporter writes as QuantizeLinear/DequantizeLinear pairs; ONNX Runtime folds them
  into int8 kernels.

`masks` (from pruning) are re-applied after every step so a pruned model stays sparse
(prune + QAT).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.ao import quantization as tq
from torch.utils.data import DataLoader

from .data import FrameDataset, LabelRange
from .export import export_onnx, export_torchscript
from .model import PilotNet, QuantPilotNet


def qdq_qconfig() -> tq.QConfig:
    """Per-tensor fake quantization the ONNX exporter can write as Q/DQ nodes."""
    activation = tq.FakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
        dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    weight = tq.FakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
        dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
    return tq.QConfig(activation=activation, weight=weight)


def weight_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Non-zero masks of every conv/linear weight, by parameter name."""
    return {name: (p != 0).float() for name, p in model.named_parameters()
            if name.endswith("weight") and p.dim() > 1}


def _apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        params = dict(model.named_parameters())
        for name, mask in masks.items():
            # Fusion renames cn_1 to cn_1.0 etc.: match by the original layer name.
            target = params.get(name)
            if target is None:
                target = params.get(name.replace(".weight", ".0.weight"))
            if target is None:
                raise KeyError(f"pruned weight {name} not found in the QAT model")
            target.mul_(mask)


def fine_tune(model: nn.Module, images: np.ndarray, labels: np.ndarray, label_range: LabelRange,
              epochs: int, learning_rate: float, seed: int,
              masks: dict[str, torch.Tensor] | None = None, batch_size: int = 64) -> None:
    """A few epochs of training with fake quantization in place."""
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(FrameDataset(images, labels, label_range, flip=True, seed=seed),
                        batch_size=batch_size, shuffle=True, generator=generator)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    loss_fn = nn.MSELoss()
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            optimiser.zero_grad()
            loss_fn(model(x), y).backward()
            optimiser.step()
            if masks:
                _apply_masks(model, masks)
    model.eval()


def _prepared(model: PilotNet, qconfig: tq.QConfig, fuse: bool) -> QuantPilotNet:
    q = QuantPilotNet()
    q.load_state_dict(model.state_dict())
    q.train()
    if fuse:
        q = tq.fuse_modules_qat(q, QuantPilotNet.FUSE)
    q.qconfig = qconfig
    q.ln_1.qconfig = None
    tq.prepare_qat(q, inplace=True)
    return q


def qat_torchscript(model: PilotNet, dst: Path, images: np.ndarray, labels: np.ndarray,
                    label_range: LabelRange, epochs: int = 1, learning_rate: float = 1e-4,
                    seed: int = 0, masks: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """QAT with fbgemm's default QAT qconfig, converted to int8 and traced."""
    torch.backends.quantized.engine = "fbgemm"
    q = _prepared(copy.deepcopy(model), tq.get_default_qat_qconfig("fbgemm"), fuse=True)
    fine_tune(q, images, labels, label_range, epochs, learning_rate, seed, masks)
    q.eval()
    converted = tq.convert(q)
    export_torchscript(converted, dst)
    return converted


def qat_onnx_qdq(model: PilotNet, dst: Path, images: np.ndarray, labels: np.ndarray,
                 label_range: LabelRange, epochs: int = 1, learning_rate: float = 1e-4,
                 seed: int = 0) -> nn.Module:
    """QAT with exportable fake-quantize modules, written as an ONNX QDQ model."""
    q = _prepared(copy.deepcopy(model), qdq_qconfig(), fuse=False)
    fine_tune(q, images, labels, label_range, epochs, learning_rate, seed)
    q.apply(tq.disable_observer)
    q.eval()
    export_onnx(q, dst, opset=17)
    return q
