"""The recipe written beside the shipped models says what the manifest says."""

import yaml

from pilotnet_factory.binary import ROOT
from pilotnet_factory.recipe import recipe


def test_the_shipped_manifest_renders_its_data_training_and_trims():
    manifest = yaml.safe_load((ROOT / "models" / "manifest.yaml").read_text())
    text = recipe(manifest)
    train = manifest["dataset"]["train"]
    assert f"{train['frames']} frames, seed {train['seed']}" in text
    assert f"{manifest['training']['config']['epochs']} epochs" in text
    for v in manifest["variants"]:
        if v.get("shipped"):
            assert f"| {v['name']} |" in text
    if train.get("looks"):
        assert "Looks (`dataset --looks`)" in text and "held out" in text
    # What is shipped is what this writes.
    assert (ROOT / "models" / "RECIPE.md").read_text() == text
