"""On-policy refinement: a round continues the training in its own label range, from its own
weights, and is recorded; rounds accumulate."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from pilotnet_factory.onpolicy import refine
from pilotnet_factory.train import TrainConfig, train

from test_train import write_dataset


def test_rounds_continue_the_training_and_are_recorded(tmp_path):
    write_dataset(tmp_path / "train", 24, 1)
    write_dataset(tmp_path / "test", 8, 2)
    write_dataset(tmp_path / "onpolicy1", 16, 3)
    out = tmp_path / "out"
    trained = train(tmp_path / "train", tmp_path / "test", out,
                    TrainConfig(epochs=1, batch_size=8, threads=1))
    record = json.loads((out / "training.json").read_text())
    record["steering_trim"] = {"trim_rad_s": 0.1}
    (out / "training.json").write_text(json.dumps(record))
    before = {k: v.clone() for k, v in torch.load(out / "pilotnet.pt.state").items()}
    description = (out / "pilotnet.yaml").read_text()

    first = refine(out, [tmp_path / "train", tmp_path / "onpolicy1"], tmp_path / "test",
                   epochs=1, learning_rate=1e-3, seed=21, threads=1)
    assert first["samples"] == 40
    assert abs(first["test_mse_before"] - trained["test_mse"]) < 1e-6
    after = torch.load(out / "pilotnet.pt.state")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    # The label range (the description's output mapping) is the trained network's.
    assert (out / "pilotnet.yaml").read_text() == description
    assert yaml.safe_load(description)["output"]["w"]["offset"] == record["label_range"]["w_min"]
    record = json.loads((out / "training.json").read_text())
    # The trim of the network before is dropped: it is measured again for the refined one.
    assert "steering_trim" not in record
    assert record["test_mse"] == first["test_mse"]
    assert len(record["onpolicy"]) == 1

    write_dataset(tmp_path / "onpolicy2", 8, 4)
    second = refine(out, [tmp_path / "train", tmp_path / "onpolicy1", tmp_path / "onpolicy2"],
                    tmp_path / "test", epochs=1, learning_rate=1e-3, seed=22, threads=1)
    assert second["samples"] == 48
    assert abs(second["test_mse_before"] - first["test_mse"]) < 1e-6
    rounds = json.loads((out / "training.json").read_text())["onpolicy"]
    assert [r["seed"] for r in rounds] == [21, 22]


def test_a_round_can_be_recorded_in_a_narrowed_light(tmp_path, monkeypatch):
    import pilotnet_factory.onpolicy as onpolicy
    calls = []
    monkeypatch.setattr(onpolicy, "run_binary",
                        lambda binary, *args: calls.append(args) or '{"frames": 10}')
    summary = onpolicy.record(tmp_path / "pilotnet-brain", tmp_path / "m.onnx", ["lakeside"], 10,
                              tmp_path / "op", 23, looks=True, ambient="0,0.1", texture="0.9,1")
    assert summary == {"frames": 10}
    args = list(calls[0])
    assert args[args.index("--driver") + 1] == str(tmp_path / "m.onnx")
    assert args[args.index("--looks-ambient") + 1] == "0,0.1"
    assert args[args.index("--looks-texture") + 1] == "0.9,1"
    # Without looks there is no light to narrow: refused before anything runs.
    with pytest.raises(ValueError, match="needs the drawn looks"):
        onpolicy.record(tmp_path / "b", tmp_path / "m.onnx", ["lakeside"], 10, tmp_path / "op",
                        23, looks=False, ambient="0,0.1")
    assert len(calls) == 1
    onpolicy.record(tmp_path / "b", tmp_path / "m.onnx", ["lakeside"], 10, tmp_path / "op", 23,
                    looks=False)
    assert "--looks-ambient" not in calls[1] and "--looks" not in calls[1]
