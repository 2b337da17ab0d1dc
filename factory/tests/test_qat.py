"""QAT export: the int8-weight rewrite keeps the model's arithmetic and shrinks the file."""

from __future__ import annotations

import shutil

import numpy as np
import onnxruntime as ort
import torch

from pilotnet_factory import qat
from pilotnet_factory.data import LabelRange
from pilotnet_factory.export import export_onnx
from pilotnet_factory.model import PilotNet, he_init
from pilotnet_factory.train import fine_tune


def test_int8_weights_give_identical_outputs(tmp_path):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(16, 66, 200, 3), dtype=np.uint8)
    labels = rng.uniform(0, 1, size=(16, 2)).astype(np.float32)
    q = qat._prepared(he_init(PilotNet()), qat.qdq_qconfig(), fuse=False)
    fine_tune(q, images, labels, LabelRange(3.0, 13.0, -3.0, 3.0), epochs=1,
              learning_rate=1e-4, seed=0, batch_size=8)
    q.apply(torch.ao.quantization.disable_observer)
    float_file, int8_file = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    export_onnx(q.eval(), float_file, opset=17)
    shutil.copy(float_file, int8_file)
    assert qat.store_int8_weights(int8_file) == 10  # 5 conv + 5 linear weights
    x = rng.random((1, 3, 66, 200), dtype=np.float32)
    a = ort.InferenceSession(str(float_file)).run(None, {"image": x})[0]
    b = ort.InferenceSession(str(int8_file)).run(None, {"image": x})[0]
    np.testing.assert_array_equal(a, b)
    assert int8_file.stat().st_size < float_file.stat().st_size / 3.5
