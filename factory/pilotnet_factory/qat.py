"""Quantization-aware training: fine-tune a trained PilotNet with fake quantization.

Two products from one fine-tuning recipe:

- TorchScript int8 (fbgemm): the QAT model with fused conv/linear + ReLU, converted to real
  int8 kernels and traced.
- ONNX QDQ: the same fine-tuning with plain (not fused-observer) fake-quantize modules, which
  the legacy exporter writes as QuantizeLinear/DequantizeLinear pairs; ONNX Runtime folds them
  into int8 kernels.

The fine-tuning is the training recipe (`train.fine_tune`). `masks` (from pruning) are
re-applied after every step so a pruned model stays sparse (prune + QAT), and `constrain`
(`cluster.Clusters.apply`) so a clustered one keeps its shared weights (CQAT, PCQAT).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torch.ao import quantization as tq

from .data import LabelRange
from .export import export_onnx, export_torchscript
from .model import PilotNet, QuantPilotNet
from .train import fine_tune


def qdq_qconfig() -> tq.QConfig:
    """Per-tensor fake quantization the ONNX exporter can write as Q/DQ nodes."""
    activation = tq.FakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
        dtype=torch.quint8, qscheme=torch.per_tensor_affine)
    weight = tq.FakeQuantize.with_args(
        observer=tq.MovingAverageMinMaxObserver, quant_min=-128, quant_max=127,
        dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
    return tq.QConfig(activation=activation, weight=weight)


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
                    seed: int = 0, masks: dict[str, torch.Tensor] | None = None,
                    constrain: Callable[[nn.Module], None] | None = None) -> nn.Module:
    """QAT with fbgemm's default QAT qconfig, converted to int8 and traced."""
    torch.backends.quantized.engine = "fbgemm"
    q = _prepared(copy.deepcopy(model), tq.get_default_qat_qconfig("fbgemm"), fuse=True)
    fine_tune(q, images, labels, label_range, epochs, learning_rate, seed, masks=masks,
              constrain=constrain)
    q.eval()
    converted = tq.convert(q)
    export_torchscript(converted, dst)
    return converted


def qat_onnx_qdq(model: PilotNet, dst: Path, images: np.ndarray, labels: np.ndarray,
                 label_range: LabelRange, epochs: int = 1, learning_rate: float = 1e-4,
                 seed: int = 0, masks: dict[str, torch.Tensor] | None = None,
                 constrain: Callable[[nn.Module], None] | None = None) -> nn.Module:
    """QAT with exportable fake-quantize modules, written as an ONNX QDQ model. `masks` keep
    a pruned model sparse (PQAT), `constrain` a clustered one shared (CQAT, PCQAT)."""
    q = _prepared(copy.deepcopy(model), qdq_qconfig(), fuse=False)
    fine_tune(q, images, labels, label_range, epochs, learning_rate, seed, masks=masks,
              constrain=constrain)
    q.apply(tq.disable_observer)
    q.eval()
    export_onnx(q, dst, opset=17)
    store_int8_weights(dst)
    return q


def store_int8_weights(path: Path) -> int:
    """Rewrites every `float weight -> QuantizeLinear -> DequantizeLinear` chain of an exported
    QAT model as `int8 weight -> DequantizeLinear`, the form ONNX Runtime's own quantizer
    writes: the file shrinks about fourfold and the dequantized weights are bit-identical
    (QuantizeLinear's round-half-to-even and saturation, done once here). Returns the number
    of weights rewritten."""
    model = onnx.load(str(path))
    graph = model.graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:  # zero points reach the Q nodes through Identity nodes
        if node.op_type == "Identity" and node.input[0] in values:
            values[node.output[0]] = values[node.input[0]]
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    rewritten, dropped = 0, set()
    for node in list(graph.node):
        if node.op_type != "QuantizeLinear" or node.input[0] not in values:
            continue
        weight, scale, zero = (values[n] for n in node.input[:3])
        if scale.size != 1 or zero.dtype != np.int8:
            continue
        q = np.clip(np.rint(weight / scale) + zero.astype(np.int32), -128, 127).astype(np.int8)
        name = node.input[0] + "_int8"
        graph.initializer.append(numpy_helper.from_array(q, name))
        for dq in consumers[node.output[0]]:
            dq.input[0] = name
        graph.node.remove(node)
        dropped.add(node.input[0])
        rewritten += 1
    still_used = {n for node in graph.node for n in node.input}
    for init in list(graph.initializer):
        if init.name in dropped and init.name not in still_used:
            graph.initializer.remove(init)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return rewritten
