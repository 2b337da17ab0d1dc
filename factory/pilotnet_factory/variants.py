"""The optimized variants of the reference study, made from a trained PilotNet.

ONNX (run by ONNX Runtime): fp32, fp16, dynamic-range int8, static int8 (QDQ, calibrated),
local and global L1 pruning, pruning + static int8, and the TensorRT calibration table.
TorchScript (run by libtorch): fp32, dynamic int8, static int8 (fbgemm, fused conv+ReLU),
local and global pruning. Quantization-aware training lives in `qat.py`.

Pruned models are made sparse for real: the masks are folded into the weights
(`prune.remove`), and the factory reports each one's sparsity.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn.utils import prune

from .export import example_input, export_onnx, export_torchscript
from .model import INPUT_SHAPE, PilotNet, QuantPilotNet


def calibration_batches(images: np.ndarray, count: int = 256, seed: int = 0) -> list[np.ndarray]:
    """`count` single-image NCHW float batches drawn from `images` (uint8 NHWC)."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(images), size=min(count, len(images)), replace=False)
    return [images[i:i + 1].transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
            for i in sorted(picks)]


def sparsity(model: nn.Module) -> float:
    """Fraction of zero weights over all conv and linear layers."""
    zeros = total = 0
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            zeros += int((m.weight == 0).sum())
            total += m.weight.numel()
    return zeros / total


def prune_local(model: PilotNet, conv: float = 0.3, linear: float = 0.5) -> PilotNet:
    """L1 unstructured pruning per layer (conv 30 %, linear 50 %), masks removed."""
    pruned = copy.deepcopy(model)
    for m in pruned.modules():
        if isinstance(m, nn.Conv2d):
            prune.l1_unstructured(m, "weight", amount=conv)
            prune.remove(m, "weight")
        elif isinstance(m, nn.Linear):
            prune.l1_unstructured(m, "weight", amount=linear)
            prune.remove(m, "weight")
    return pruned


def prune_global(model: PilotNet, amount: float = 0.3) -> PilotNet:
    """Global L1 unstructured pruning over all conv and linear weights, masks removed."""
    pruned = copy.deepcopy(model)
    params = [(m, "weight") for m in pruned.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=amount)
    for m, name in params:
        prune.remove(m, name)
    return pruned


def onnx_fp16(src: Path, dst: Path) -> None:
    """Weights and arithmetic in float16, float32 input and output kept."""
    from onnxruntime.transformers import float16

    model = float16.convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))


def onnx_dynamic_int8(src: Path, dst: Path) -> None:
    """Dynamic-range int8 on the fully connected layers (weights int8, activations quantized
    on the fly). Convolutions stay float: ConvInteger is slower than float on CPU."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul", "Gemm"])


class _Reader:
    """Calibration data for ONNX Runtime's static quantization."""

    def __init__(self, batches: list[np.ndarray], name: str = "image") -> None:
        self.items = iter([{name: b} for b in batches])

    def get_next(self):
        return next(self.items, None)


def onnx_static_int8(src: Path, dst: Path, batches: list[np.ndarray], work: Path,
                     op_types: list[str] | None = None) -> None:
    """Static int8, QDQ format, per-channel weights, calibrated on training images. With
    `op_types` only those operators are quantised and every other one stays float (the float
    fallback variant: `["Conv", "Gemm"]`, the input normalisation and the rest in float)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    work.mkdir(parents=True, exist_ok=True)
    pre = work / (src.stem + ".pre.onnx")
    quant_pre_process(str(src), str(pre))
    quantize_static(str(pre), str(dst), _Reader(batches), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8, op_types_to_quantize=op_types)


def tensorrt_calibration_table(src: Path, out_dir: Path, batches: list[np.ndarray]) -> list[Path]:
    """INT8 calibration table for ONNX Runtime's TensorRT provider (`calibration.flatbuffers`,
    `calibration.cache`, `calibration.json` in `out_dir`), from the fp32 model's activation
    ranges on training images."""
    from onnxruntime.quantization import CalibrationMethod, create_calibrator, write_calibration_table

    out_dir.mkdir(parents=True, exist_ok=True)
    calibrator = create_calibrator(str(src), [], augmented_model_path=str(out_dir / "augmented.onnx"),
                                   calibrate_method=CalibrationMethod.MinMax)
    calibrator.set_execution_providers(["CPUExecutionProvider"])
    calibrator.collect_data(_Reader(batches))
    write_calibration_table(calibrator.compute_data(), dir=str(out_dir))
    (out_dir / "augmented.onnx").unlink(missing_ok=True)
    return sorted(p for p in out_dir.iterdir() if p.name.startswith("calibration"))


def torchscript_dynamic_int8(model: nn.Module, dst: Path,
                             shape: tuple[int, int, int] = INPUT_SHAPE) -> None:
    """Dynamic int8 quantization of the linear layers (eager), traced to TorchScript on an
    input of `shape`."""
    q = torch.ao.quantization.quantize_dynamic(copy.deepcopy(model).eval(), {nn.Linear},
                                               dtype=torch.qint8)
    export_torchscript(q, dst, shape=shape)


def torchscript_static_int8(model: PilotNet, dst: Path, batches: list[np.ndarray]) -> nn.Module:
    """Static int8 (fbgemm): conv+ReLU and linear+ReLU fused, calibrated on training images,
    converted, traced to TorchScript. Returns the quantized module."""
    from torch.ao import quantization as tq

    torch.backends.quantized.engine = "fbgemm"
    q = QuantPilotNet()
    q.load_state_dict(model.state_dict())
    q.eval()
    q = tq.fuse_modules(q, QuantPilotNet.FUSE)
    q.qconfig = tq.get_default_qconfig("fbgemm")
    q.ln_1.qconfig = None
    tq.prepare(q, inplace=True)
    with torch.no_grad():
        for b in batches:
            q(torch.from_numpy(b))
    tq.convert(q, inplace=True)
    export_torchscript(q, dst)
    return q


def export_fp32_pair(model: PilotNet, out: Path, stem: str) -> tuple[Path, Path]:
    """fp32 ONNX and TorchScript of `model`."""
    onnx_path, ts_path = out / f"{stem}.onnx", out / f"{stem}.pt"
    export_onnx(model, onnx_path)
    export_torchscript(model, ts_path)
    return onnx_path, ts_path


__all__ = [
    "calibration_batches", "sparsity", "prune_local", "prune_global", "onnx_fp16",
    "onnx_dynamic_int8", "onnx_static_int8", "tensorrt_calibration_table",
    "torchscript_dynamic_int8", "torchscript_static_int8", "export_fp32_pair", "example_input",
]
