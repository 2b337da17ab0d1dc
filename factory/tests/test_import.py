"""Importing trained networks: Behavior Metrics' DeepestLSTMTinyPilotNet checkpoint (read from
../shared, never copied) loads into the factory's implementation, and its ONNX and TorchScript
exports give PyTorch's outputs; checkpoints that do not fit are refused naming why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from pilotnet_factory.import_model import ImportError_, load, main
from pilotnet_factory.lstm import DeepestLSTMTinyPilotNet
from pilotnet_factory.model import PilotNet

CHECKPOINT = (Path(__file__).resolve().parents[2].parent / "shared" / "behavior-metrics" / "models"
              / "model_lstm_pilotnet_torch.ckpt")


def test_the_network_has_behavior_metrics_layers_and_shapes():
    model = DeepestLSTMTinyPilotNet()
    state = torch.load(str(CHECKPOINT), map_location="cpu", weights_only=True)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in state.items()}
    assert model(torch.zeros(2, 3, 50, 100)).shape == (2, 2)


def run(argv, capsys) -> tuple[int, dict | str]:
    """main(argv): exit status, and the summary (status 0) or the error line."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, (json.loads(captured.out) if status == 0 else captured.err)


def test_behavior_metrics_checkpoint_imports_and_exports_agree(tmp_path, capsys):
    status, s = run(["--arch", "deepest-lstm-tiny-pilotnet", "--checkpoint", CHECKPOINT,
                     "--out", tmp_path, "--name", "bm_lstm"], capsys)
    assert status == 0, s
    assert s["max_diff_onnx"] < 1e-5 and s["max_diff_torchscript"] < 1e-5
    spec = yaml.safe_load((tmp_path / "bm_lstm.yaml").read_text())
    assert spec["input"]["size"] == {"width": 100, "height": 50}
    assert spec["input"]["crop"] == {"top": 240, "bottom": 480, "left": 0, "right": 640}
    # Behavior Metrics' brain: v = p0 * 6, w = (p1 - 0.5) * 6.
    assert spec["output"]["v"] == {"index": 0, "scale": 6.0, "offset": 0.0}
    assert spec["output"]["w"] == {"index": 1, "scale": 6.0, "offset": -3.0}
    assert (tmp_path / "bm_lstm.onnx").exists() and (tmp_path / "bm_lstm.pt").exists()


def test_the_checkpoint_also_imports_in_its_training_orientation(tmp_path, capsys):
    # DeepLearningStudio's training code resized to 100 rows by 50 columns; the weights fit
    # that too (440 features either way), and other sizes are refused.
    status, s = run(["--arch", "deepest-lstm-tiny-pilotnet", "--checkpoint", CHECKPOINT,
                     "--size", "50x100", "--out", tmp_path, "--name", "rows"], capsys)
    assert status == 0, s
    assert s["max_diff_onnx"] < 1e-5 and s["max_diff_torchscript"] < 1e-5
    spec = yaml.safe_load((tmp_path / "rows.yaml").read_text())
    assert spec["input"]["size"] == {"width": 50, "height": 100}
    status, e = run(["--arch", "deepest-lstm-tiny-pilotnet", "--checkpoint", CHECKPOINT,
                     "--size", "60x100", "--out", tmp_path, "--name", "bad"], capsys)
    assert status == 2 and "takes 100x50 or 50x100" in e, e


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


def test_a_deeplearningstudio_pilotnet_checkpoint_imports(tmp_path, capsys):
    torch.manual_seed(3)
    ckpt = tmp_path / "pilotnet_model.pth"
    torch.save(PilotNet().state_dict(), str(ckpt))
    status, s = run(["--arch", "pilotnet", "--checkpoint", ckpt, "--out", tmp_path / "out"],
                    capsys)
    assert status == 0, s
    spec = yaml.safe_load((tmp_path / "out" / "pilotnet_model.yaml").read_text())
    assert spec["input"]["size"] == {"width": 200, "height": 66}
    assert spec["output"]["v"] == {"index": 0, "scale": 17.5, "offset": 6.5}
    assert s["torchscript"].endswith("pilotnet_model.pt")


def test_torchscript_and_onnx_files_import_with_the_users_preprocessing(tmp_path, capsys):
    status, s = run(["--arch", "deepest-lstm-tiny-pilotnet", "--checkpoint", CHECKPOINT,
                     "--out", tmp_path / "a", "--name", "lstm"], capsys)
    assert status == 0, s
    # TorchScript in, ONNX made and compared with it; the user's own label ranges.
    status, s = run(["--model", tmp_path / "a" / "lstm.pt", "--preset", "bm-lstm",
                     "--labels", "normalised", "--v-range", "2,12", "--w-range=-3,3",
                     "--out", tmp_path / "b"], capsys)
    assert status == 0, s
    assert s["max_diff_onnx"] < 1e-5
    spec = yaml.safe_load((tmp_path / "b" / "lstm.yaml").read_text())
    assert spec["output"]["v"] == {"index": 0, "scale": 10.0, "offset": 2.0}
    assert spec["output"]["w"] == {"index": 1, "scale": 6.0, "offset": -3.0}
    # ONNX in: the size comes from the file; BGR, ImageNet statistics, raw labels.
    status, s = run(["--model", tmp_path / "a" / "lstm.onnx", "--color", "bgr",
                     "--scaling", "imagenet", "--labels", "raw", "--crop", "200,480,0,640",
                     "--out", tmp_path / "c"], capsys)
    assert status == 0, s
    assert s["torchscript"] is None
    spec = yaml.safe_load((tmp_path / "c" / "lstm.yaml").read_text())
    assert spec["input"]["size"] == {"width": 100, "height": 50}
    assert spec["input"]["crop"] == {"top": 200, "bottom": 480, "left": 0, "right": 640}
    assert spec["input"]["color"] == "bgr"
    assert spec["input"]["scaling"]["normalize"]["mean"] == [0.485, 0.456, 0.406]
    assert spec["output"]["w"] == {"index": 1, "scale": 1.0, "offset": 0.0}
    assert (tmp_path / "c" / "lstm.onnx").read_bytes() == (tmp_path / "a" / "lstm.onnx").read_bytes()


def test_bad_sources_and_settings_are_refused_naming_the_fault(tmp_path, capsys):
    status, s = run(["--arch", "deepest-lstm-tiny-pilotnet", "--checkpoint", CHECKPOINT,
                     "--out", tmp_path / "a", "--name", "lstm"], capsys)
    assert status == 0, s
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not onnx")
    state = tmp_path / "state.pt"
    torch.save(PilotNet().state_dict(), str(state))
    cases = [
        (["--model", tmp_path / "a" / "lstm.onnx", "--size", "200x66"], "its input is 100x50"),
        (["--model", junk], "junk.onnx: ONNX Runtime cannot load it"),
        (["--model", state], "state.pt: not a TorchScript module"),
        (["--model", tmp_path / "a" / "lstm.pt", "--size", "200x66"],
         "lstm.pt: does not run on inputs of shape (3, 66, 200)"),
        (["--checkpoint", CHECKPOINT], "--checkpoint needs --arch"),
        (["--model", tmp_path / "a" / "lstm.onnx", "--crop", "240,500,0,640"],
         "does not fit a 640x480 frame"),
        (["--model", tmp_path / "a" / "lstm.onnx", "--labels", "normalised"],
         "needs --v-range"),
        (["--model", tmp_path / "a" / "lstm.onnx", "--labels", "normalised", "--v-range", "5,5",
          "--w-range=-1,1"], "HI must be above LO"),
        (["--model", tmp_path / "weights.h5"], "neither .onnx nor TorchScript"),
    ]
    for argv, expected in cases:
        status, err = run([*argv, "--out", tmp_path / "x"], capsys)
        assert status == 2 and expected in err, (argv, err)
