"""The factory's network and exports: the DLS layer list, and equal outputs in every format."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import torch
import yaml

from pilotnet_factory.bench_preprocess import preprocess
from pilotnet_factory.export import description, example_input, export_both
from pilotnet_factory.model import INPUT_SHAPE, PARAMETERS, PilotNet, parameter_count
from pilotnet_factory.testnet import opencv_preprocess, seeded_network, synthetic_image


def test_layer_list_matches_deeplearningstudio():
    model = PilotNet()
    assert parameter_count(model) == PARAMETERS == 1_595_528
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (24, 5, 2), (36, 5, 2), (48, 5, 2), (64, 3, 1), (64, 3, 1)]
    fcs = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(f.in_features, f.out_features) for f in fcs] == [
        (1152, 1164), (1164, 100), (100, 50), (50, 10), (10, 2)]
    assert model(example_input(3)).shape == (3, 2)


def test_onnx_and_torchscript_exports_give_pytorchs_outputs(tmp_path):
    model = seeded_network()
    paths = export_both(model, tmp_path, "net")
    x = example_input()
    with torch.no_grad():
        want = model(x).numpy()
    session = ort.InferenceSession(str(paths["onnx"]), providers=["CPUExecutionProvider"])
    got_onnx = session.run(None, {"image": x.numpy()})[0]
    got_ts = torch.jit.load(str(paths["torchscript"]))(x).detach().numpy()
    np.testing.assert_allclose(got_onnx, want, atol=1e-5)
    np.testing.assert_allclose(got_ts, want, atol=1e-5)
    spec = yaml.safe_load(paths["description"].read_text())
    assert spec["input"]["size"] == {"width": 200, "height": 66}
    assert spec["output"]["v"] == {"index": 0, "scale": 17.5, "offset": 6.5}
    assert spec == yaml.safe_load(description("net"))


def test_python_preprocessing_is_behavior_metrics_crop_and_resize():
    rgb = synthetic_image()
    assert rgb.shape == (480, 640, 3) and rgb.dtype == np.uint8
    small = opencv_preprocess(rgb)
    assert small.shape == (66, 200, 3)
    tensor = preprocess(rgb)
    assert tensor.shape == (1, *INPUT_SHAPE) and tensor.dtype == np.float32
    np.testing.assert_array_equal(tensor[0], small.transpose(2, 0, 1) / np.float32(255.0))
