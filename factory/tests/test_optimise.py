"""The study's missing rows: weight clustering keeps its sharing through fine-tuning (and its
zeros when asked), and the integer-only rewrite gives the static model's outputs once its
description dequantises them."""

from __future__ import annotations

import copy

import numpy as np
import onnxruntime as ort
import torch
import yaml

from pilotnet_factory import integer_only
from pilotnet_factory import variants as V
from pilotnet_factory.cluster import Clusters, distinct_values, kmeans_1d
from pilotnet_factory.data import LabelRange
from pilotnet_factory.export import description, export_onnx
from pilotnet_factory.model import PilotNet
from pilotnet_factory.train import fine_tune, weight_masks


def test_kmeans_finds_separated_groups():
    values = np.concatenate([np.full(50, -1.0), np.full(30, 0.2), np.full(20, 3.0)])
    centroids, which = kmeans_1d(values + np.random.default_rng(0).normal(0, 0.01, 100), 3)
    np.testing.assert_allclose(centroids, [-1.0, 0.2, 3.0], atol=0.01)
    assert np.bincount(which).tolist() == [50, 30, 20]


def test_clustering_shares_weights_through_fine_tuning():
    torch.manual_seed(0)
    model = PilotNet()
    clusters = Clusters.of(model, 16)
    assert set(distinct_values(model).values()) <= set(range(1, 17))
    before = copy.deepcopy(model.state_dict())
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (32, 66, 200, 3), dtype=np.uint8)
    labels = rng.uniform(0, 1, (32, 2)).astype(np.float32)
    fine_tune(model, images, labels, LabelRange(0, 1, 0, 1), epochs=1, learning_rate=1e-3,
              seed=0, batch_size=8, constrain=clusters.apply)
    assert max(distinct_values(model).values()) <= 16
    assert not torch.equal(before["fc_1.weight"], model.state_dict()["fc_1.weight"])
    # Sparsity-preserving clustering of a pruned model: the zeros stay zeros.
    pruned = V.prune_local(PilotNet())
    masks = weight_masks(pruned)
    Clusters.of(pruned, 8, keep_zeros=True)
    for name, mask in masks.items():
        weight = dict(pruned.named_parameters())[name]
        assert torch.all(weight[mask == 0] == 0)
        assert torch.unique(weight[mask == 1]).numel() <= 8


def test_integer_only_rewrite_matches_the_static_model(tmp_path):
    torch.manual_seed(1)
    model = PilotNet().eval()
    fp32 = tmp_path / "fp32.onnx"
    export_onnx(model, fp32)
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (40, 66, 200, 3), dtype=np.uint8)
    calibration = V.calibration_batches(pixels, 32)
    V.onnx_static_int8(fp32, tmp_path / "static.onnx", calibration, tmp_path / "work")
    scale, zero_point = integer_only.rewrite(tmp_path / "static.onnx", tmp_path / "int.onnx")
    text = integer_only.description(description("x"), scale, zero_point)
    spec = yaml.safe_load(text)
    assert spec["input"]["scaling"] == "raw"
    assert spec["output"]["dequantize"] == {"scale": scale, "zero_point": zero_point}
    static = ort.InferenceSession(str(tmp_path / "static.onnx"))
    integer = ort.InferenceSession(str(tmp_path / "int.onnx"))
    worst = 0.0
    for img in pixels[:8]:
        x = img.transpose(2, 0, 1)[None].astype(np.float32)
        want = static.run(None, {"image": x / np.float32(255)})[0][0]
        codes = integer.run(None, {"image": x})[0][0]
        assert np.all(codes == np.round(codes)), codes
        got = (codes - zero_point) * scale
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst <= scale + 1e-6, worst


def test_optimise_refuses_what_it_cannot_tune(tmp_path, capsys):
    import pytest

    from pilotnet_factory.import_model import ImportError_
    from pilotnet_factory.optimise import label_range_of, main

    with pytest.raises(ImportError_, match="color rgb, scaling unit, layout nchw only"):
        label_range_of(description("x").replace("color: rgb", "color: bgr"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "data.csv").write_text("v,w\n")
    wrong = tmp_path / "wrong.pth"
    torch.save({"fc_9.weight": torch.zeros(1)}, str(wrong))
    for model, expected in ((tmp_path / "none.onnx", "none.onnx: no such file"),
                            (wrong, "does not fit pilotnet: missing")):
        assert main(["--model", str(model), "--train-data", str(data), "--test-data", str(data),
                     "--out", str(tmp_path / "out")]) == 2
        assert expected in capsys.readouterr().err
    status = main(["--model", str(tmp_path / "none.onnx"), "--train-data", str(data),
                   "--test-data", str(data), "--out", str(tmp_path / "out"), "--clusters", "1"])
    assert status == 2
