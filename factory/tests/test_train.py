"""Training on a tiny dataset: labels normalise and flip correctly, and a run writes exports."""

from __future__ import annotations

import json

import cv2
import numpy as np
import onnxruntime as ort
import torch
import yaml

from pilotnet_factory.data import LabelRange, turn_weights
from pilotnet_factory.model import PilotNet, he_init
from pilotnet_factory.train import TrainConfig, train


def write_dataset(folder, n, seed):
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    rows = ["image,v,w,circuit"]
    for i in range(n):
        img = rng.integers(0, 256, size=(66, 200, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / "images" / f"{i}.png"), img)
        rows.append(f"images/{i}.png,{rng.uniform(3, 13):.3f},{rng.uniform(-3, 3):.3f},x")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")


def test_label_range_normalises_and_flips():
    v = np.array([3.0, 8.0, 13.0])
    w = np.array([-2.0, 0.5, 4.0])
    r = LabelRange.from_labels(v, w)
    assert (r.v_min, r.v_max, r.w_min, r.w_max) == (3.0, 13.0, -4.0, 4.0)
    p = r.normalise(v, w)
    np.testing.assert_allclose(p[:, 0], [0.0, 0.5, 1.0])
    np.testing.assert_allclose([r.w_of(x) for x in p[:, 1]], w, atol=1e-6)
    np.testing.assert_allclose([r.w_of(x) for x in r.flipped_w(p[:, 1])], -w, atol=1e-6)


def test_turn_weights_favour_strong_turns():
    w = np.concatenate([np.zeros(90), np.full(10, 3.0)])
    weights = turn_weights(w)
    assert abs(weights.sum() - 1.0) < 1e-9
    assert weights[-1] > 5 * weights[0]


def test_a_tiny_training_run_writes_matching_exports(tmp_path):
    write_dataset(tmp_path / "train", 24, 1)
    write_dataset(tmp_path / "test", 8, 2)
    out = tmp_path / "out"
    record = train(tmp_path / "train", tmp_path / "test", out,
                   TrainConfig(epochs=1, batch_size=8, threads=1))
    assert len(record["history"]) == 1
    assert json.loads((out / "training.json").read_text())["train"]["samples"] == 24
    spec = yaml.safe_load((out / "pilotnet.yaml").read_text())
    lr = record["label_range"]
    assert spec["output"]["v"]["offset"] == lr["v_min"]
    assert abs(spec["output"]["v"]["scale"] - (lr["v_max"] - lr["v_min"])) < 1e-9
    x = torch.rand(1, 3, 66, 200)
    ts = torch.jit.load(str(out / "pilotnet.pt"))(x).detach().numpy()
    session = ort.InferenceSession(str(out / "pilotnet.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"image": x.numpy()})[0], ts, atol=1e-5)


def test_label_range_limits_w_and_clips():
    r = LabelRange.from_labels(np.array([3.0, 13.0]), np.array([-9.0, 1.0]), w_limit=3.0)
    assert (r.w_min, r.w_max) == (-3.0, 3.0)
    p = r.normalise(np.array([3.0, 13.0, 8.0]), np.array([-9.0, 9.0, 1.5]))
    np.testing.assert_allclose(p[:, 1], [0.0, 1.0, 0.75])


def test_he_init_leaves_no_fc4_unit_dead():
    # With PyTorch's default initialisation and seed 1, all ten fc_4 units are dead for every
    # input, and training cannot start.
    torch.manual_seed(1)
    model = he_init(PilotNet()).eval()
    seen = {}
    model.relu_fc4.register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    model(torch.rand(64, 3, 66, 200))
    alive = (seen["out"] > 0).any(dim=0)
    assert alive.all(), f"dead fc_4 units: {(~alive).nonzero().flatten().tolist()}"


def test_training_is_repeatable(tmp_path):
    write_dataset(tmp_path / "train", 24, 1)
    write_dataset(tmp_path / "test", 8, 2)
    config = TrainConfig(epochs=2, batch_size=8, threads=1, seed=3)
    for run in ("a", "b"):
        train(tmp_path / "train", tmp_path / "test", tmp_path / run, config)
    a = torch.load(tmp_path / "a" / "pilotnet.pt.state")
    b = torch.load(tmp_path / "b" / "pilotnet.pt.state")
    for name in a:
        assert torch.equal(a[name], b[name]), name
