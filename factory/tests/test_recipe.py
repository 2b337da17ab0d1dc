"""The recipe written beside the shipped models says what the manifest says."""

import yaml

from pilotnet_factory.binary import ROOT
from pilotnet_factory.recipe import recipe


def shipped_manifest() -> dict:
    return yaml.safe_load((ROOT / "models" / "manifest.yaml").read_text())


def test_the_shipped_manifest_renders_its_data_training_and_trims():
    manifest = shipped_manifest()
    text = recipe(manifest)
    train = manifest["dataset"]["train"]
    assert f"{train['frames']} frames, seed {train['seed']}" in text
    assert f"{manifest['training']['config']['epochs']} epochs" in text
    for v in manifest["variants"]:
        if v.get("shipped"):
            assert f"| {v['name']} |" in text
    if train.get("looks"):
        assert "Looks (`dataset --looks`)" in text and "held out" in text
    for k, onpolicy in enumerate(manifest["training"].get("onpolicy") or [], start=1):
        assert "## On-policy refinement" in text
        assert f"- round {k}: {onpolicy['epochs']} more epochs" in text
        assert "labelled by the expert" in text
    # What is shipped is what this writes.
    assert (ROOT / "models" / "RECIPE.md").read_text() == text


def test_an_on_policy_refinement_is_stated_with_its_data():
    manifest = shipped_manifest()
    manifest["dataset"]["onpolicy1"] = {
        "circuits": ["lakeside"], "frames": 100, "seed": 21, "driver": "the trained network",
        "summary": {"perturbed_frames": 5, "max_abs_lateral_m": 0.9, "runs": 2,
                    "runs_off_road": 1}}
    manifest["training"]["onpolicy"] = [{
        "samples": 300, "epochs": 2, "learning_rate": 3e-4, "seed": 21,
        "test_mse_before": 0.005, "test_mse": 0.004, "seconds": 120.0}]
    text = recipe(manifest)
    assert "- **onpolicy1**: 100 frames, seed 21" in text
    assert "driven by the trained network, labelled by the expert." in text
    assert "round 1: 2 more epochs on 300 frames" in text
    assert "test MSE 0.00500 → 0.00400" in text


def test_the_recorders_32_bit_ranges_are_written_as_set():
    manifest = shipped_manifest()
    looks = manifest["dataset"]["train"].get("looks")
    if not looks:
        return
    looks["brightness"] = [0.800000011920929, 1.2000000476837158]
    looks["tint"] = 0.05000000074505806
    text = recipe(manifest)
    assert "exposure 0.8–1.2, white balance ±0.05" in text


def test_a_round_in_a_narrowed_light_says_so():
    manifest = shipped_manifest()
    looks = manifest["dataset"]["train"].get("looks")
    if not looks:
        return
    manifest["dataset"]["onpolicy3"] = {
        "circuits": ["lakeside"], "frames": 100, "seed": 23,
        "driver": "the network after on-policy round 2, trimmed, in the sun's light",
        "looks": {**looks, "ambient": [0.0, 0.10000000149011612],
                  "texture_diffuse": [0.8999999761581421, 1.0]},
        "summary": {"perturbed_frames": 5, "max_abs_lateral_m": 0.4, "runs": 2,
                    "runs_off_road": 0}}
    text = recipe(manifest)
    line = next(x for x in text.splitlines() if x.startswith("- **onpolicy3**"))
    assert "looks narrowed to ambient light 0–0.1 and textures lit at 0.9–1" in line
    assert "in the sun's light, labelled by the expert." in line
    assert "narrowed" not in next(x for x in text.splitlines() if x.startswith("- **train**"))
