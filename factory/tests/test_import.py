"""Importing trained networks: Behavior Metrics' DeepestLSTMTinyPilotNet checkpoint (read from
../shared, never copied) loads into the factory's implementation, and its ONNX and TorchScript
exports give PyTorch's outputs; checkpoints that do not fit are refused naming why."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from pilotnet_factory.import_model import ImportError_, import_model, load, main
from pilotnet_factory.lstm import DeepestLSTMTinyPilotNet

CHECKPOINT = (Path(__file__).resolve().parents[2].parent / "shared" / "behavior-metrics" / "models"
              / "model_lstm_pilotnet_torch.ckpt")


def test_the_network_has_behavior_metrics_layers_and_shapes():
    model = DeepestLSTMTinyPilotNet()
    state = torch.load(str(CHECKPOINT), map_location="cpu", weights_only=True)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in state.items()}
    assert model(torch.zeros(2, 3, 50, 100)).shape == (2, 2)


def test_behavior_metrics_checkpoint_imports_and_exports_agree(tmp_path):
    s = import_model("deepest-lstm-tiny-pilotnet", CHECKPOINT, tmp_path, "bm_lstm")
    assert s["max_diff_onnx"] < 1e-5 and s["max_diff_torchscript"] < 1e-5
    spec = yaml.safe_load((tmp_path / "bm_lstm.yaml").read_text())
    assert spec["input"]["size"] == {"width": 100, "height": 50}
    assert spec["input"]["crop"] == {"top": 240, "bottom": 480, "left": 0, "right": 640}
    # Behavior Metrics' brain: v = p0 * 6, w = (p1 - 0.5) * 6.
    assert spec["output"]["v"] == {"index": 0, "scale": 6.0, "offset": 0.0}
    assert spec["output"]["w"] == {"index": 1, "scale": 6.0, "offset": -3.0}
    assert (tmp_path / "bm_lstm.onnx").exists() and (tmp_path / "bm_lstm.pt").exists()


def test_checkpoints_that_do_not_fit_are_refused(tmp_path, capsys):
    with pytest.raises(ImportError_, match="does not fit pilotnet: missing"):
        load("pilotnet", CHECKPOINT)
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ImportError_, match="not a PyTorch checkpoint"):
        load("deepest-lstm-tiny-pilotnet", bad)
    state = torch.load(str(CHECKPOINT), map_location="cpu", weights_only=True)
    state["fc_3.weight"] = torch.zeros(3, 10)
    wrong = tmp_path / "wrong.ckpt"
    torch.save(state, str(wrong))
    with pytest.raises(ImportError_, match=r"fc_3.weight: \(3, 10\) for \(2, 10\)"):
        load("deepest-lstm-tiny-pilotnet", wrong)
    assert main(["--arch", "pilotnet", "--checkpoint", str(tmp_path / "none.ckpt"),
                 "--out", str(tmp_path)]) == 2
    assert "none.ckpt: no such file" in capsys.readouterr().err
