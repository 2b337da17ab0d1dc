"""retune: a catalogue's QAT variants fine-tuned again from the weights of its fp32 ONNX file,
their files and manifest entries replaced, their descriptions reset to the network's (the
trim that follows starts from the network's), every other entry left as it was."""

from __future__ import annotations

import copy

import onnxruntime as ort
import pytest
import torch
import yaml

from pilotnet_factory import retune as R
from pilotnet_factory import variants as V
from pilotnet_factory.binary import sha256
from pilotnet_factory.export import description
from pilotnet_factory.model import PilotNet

from test_data import write_dls


def test_retune_replaces_the_qat_variants_and_their_entries(tmp_path):
    torch.manual_seed(0)
    models = tmp_path / "models"
    models.mkdir()
    net = PilotNet().eval()
    with torch.no_grad():  # a trained network's statistics (the exporter folds trivial ones)
        net.ln_1.running_mean.uniform_(0.2, 0.8)
        net.ln_1.running_var.uniform_(0.5, 1.5)
    V.export_fp32_pair(net, models, "pilotnet_fp32")
    network = description("pilotnet", {"v": (5.0, 13.0), "w": (-4.5, 4.5)})
    (models / "pilotnet_fp32.yaml").write_text(network)
    entries = [{"name": "fp32", "file": "pilotnet_fp32.onnx", "description": "pilotnet_fp32.yaml",
                "sha256": "fp32-sha", "test_mse": 0.1}]
    for name, file in (("qat", "pilotnet_qat.onnx"), ("ts_qat", "pilotnet_ts_qat.pt"),
                       ("ts_prune_qat", "pilotnet_ts_prune_qat.pt")):
        (models / file).write_bytes(b"old")
        (models / file).with_suffix(".yaml").write_text(network.replace("4.5}", "4.4}"))
        entries.append({"name": name, "file": file, "description": file.rsplit(".", 1)[0] + ".yaml",
                        "sha256": "old", "steering_trim_rad_s": 0.1, "steering_trim": {}})
    manifest = {"training": {"label_range": {"v_min": 5.0, "v_max": 13.0, "w_min": -4.5,
                                             "w_max": 4.5}}, "variants": entries}
    (models / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    before = copy.deepcopy(manifest)

    names = R.retune(models, write_dls(tmp_path / "train", 8), epochs=1, seed=0)

    assert names == ["qat", "ts_qat", "ts_prune_qat"]
    written = {e["name"]: e for e in yaml.safe_load((models / "manifest.yaml").read_text())
               ["variants"]}
    assert written["fp32"] == before["variants"][0]
    for name in names:
        e = written[name]
        assert e["sha256"] == sha256(models / e["file"]) != "old"
        assert e["size_bytes"] == (models / e["file"]).stat().st_size and e["qat_epochs"] == 1
        assert (models / e["description"]).read_text() == network
        assert e["description_sha256"] == sha256(models / e["description"])
        assert "steering_trim_rad_s" not in e and "steering_trim" not in e
    assert 0.3 < written["ts_prune_qat"]["sparsity"] < 0.6
    # The files are the networks: the ONNX QAT model runs on a frame.
    session = ort.InferenceSession(str(models / "pilotnet_qat.onnx"))
    out = session.run(None, {session.get_inputs()[0].name: torch.rand(1, 3, 66, 200).numpy()})
    assert out[0].shape == (1, 2)
    assert torch.jit.load(str(models / "pilotnet_ts_qat.pt"))(torch.rand(1, 3, 66, 200)).shape == (1, 2)


def test_retune_names_missing_entries(tmp_path):
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump({
        "training": {"label_range": {"v_min": 5.0, "v_max": 13.0, "w_min": -4.5, "w_max": 4.5}},
        "variants": [{"name": "fp32"}]}))
    with pytest.raises(ValueError, match=r"no entries for \['qat', 'ts_qat', 'ts_prune_qat'\]"):
        R.retune(tmp_path, tmp_path, epochs=1, seed=0)
