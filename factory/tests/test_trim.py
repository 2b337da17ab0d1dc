"""The steering trim's search and bookkeeping, on a stand-in for the laps: a model whose mean
lateral offset is linear in the trim (as the networks' are near the line) reaches its zero
from any start, stops once within the tolerance, keeps the best measurement, and the variants
of a catalogue are trimmed through their own descriptions (one trim per shared description)
with their manifest entries rewritten."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pilotnet_factory import trim as T
from pilotnet_factory.export import description_yaml

W_MIN = -4.5


def write_description(path: Path, offset: float = W_MIN) -> None:
    path.write_text(description_yaml("test", 200, 66, (8.0, 5.0), (9.0, offset)))


def linear_laps(monkeypatch, zero_at: dict[str, float], slope: float = 0.35) -> list:
    """Replaces the laps: the offset of `model` is slope * (trim - zero_at[model.stem]) m,
    the trim read back from the model's description. Returns the list of calls."""
    calls = []

    def laps(binary, model, circuits, jobs=T.LAP_JOBS, lap_timeout=None):
        t = T.w_offset(model.with_suffix(".yaml")) - W_MIN
        calls.append((model.name, round(t, 6)))
        if model.stem not in zero_at:
            raise RuntimeError(f"{model}: this binary has no engine for it")
        return slope * (t - zero_at[model.stem]), [{"circuit": "stand-in"}]

    monkeypatch.setattr(T, "lateral_offset", laps)
    return calls


def test_set_w_offset_rewrites_only_the_w_offset(tmp_path):
    d = tmp_path / "m.yaml"
    write_description(d)
    before = yaml.safe_load(d.read_text())
    T.set_w_offset(d, -4.4)
    after = yaml.safe_load(d.read_text())
    assert after["output"]["w"] == {**before["output"]["w"], "offset": -4.4}
    assert after["output"]["v"] == before["output"]["v"] and after["input"] == before["input"]
    assert T.w_offset(d) == -4.4
    d.write_text("input: {}\n")
    with pytest.raises(ValueError, match="no 'w:' output mapping line"):
        T.set_w_offset(d, 0.0)


def test_trim_model_reaches_the_zero_and_stops_within_the_tolerance(tmp_path, monkeypatch):
    write_description(tmp_path / "net.yaml")
    (tmp_path / "net.onnx").write_bytes(b"")
    # The labels' gain is off by 40 % (0.35 m per rad/s against 1 / 2.0): the secant mends it.
    calls = linear_laps(monkeypatch, {"net": 0.15})
    record = T.trim_model(tmp_path / "net.onnx", tmp_path / "net.yaml", W_MIN, -2.0, ["c"],
                          Path("bin"), rounds=5, start=0.02, tolerance_m=0.002)
    offsets = [r["mean_lateral_m"] for r in record["rounds"]]
    assert abs(offsets[-1]) <= 0.002 and all(abs(o) > 0.002 for o in offsets[:-1])
    assert len(calls) == len(offsets) < 5
    assert record["trim_rad_s"] == pytest.approx(0.15, abs=0.002 / 0.35)
    assert T.w_offset(tmp_path / "net.yaml") == pytest.approx(W_MIN + record["trim_rad_s"])


def test_trim_model_keeps_the_best_round_when_rounds_run_out(tmp_path, monkeypatch):
    write_description(tmp_path / "net.yaml")
    linear_laps(monkeypatch, {"net": 0.15}, slope=0.35)
    # A gain far too large overshoots: one round later the first measurement may be the best.
    record = T.trim_model(tmp_path / "net.onnx", tmp_path / "net.yaml", W_MIN, -40.0, ["c"],
                          Path("bin"), rounds=2, start=0.14, tolerance_m=0.0)
    offsets = [abs(r["mean_lateral_m"]) for r in record["rounds"]]
    best = record["rounds"][offsets.index(min(offsets))]["trim_rad_s"]
    assert record["trim_rad_s"] == pytest.approx(best, abs=1e-5)
    assert T.w_offset(tmp_path / "net.yaml") == pytest.approx(W_MIN + record["trim_rad_s"])


def test_trim_variants_shares_a_description_and_names_what_it_could_not_drive(tmp_path,
                                                                                monkeypatch):
    for stem in ("a", "b"):
        write_description(tmp_path / f"{stem}.yaml", W_MIN + 0.02)
    entries = [{"name": "a", "file": "a.onnx", "description": "a.yaml"},
               {"name": "ts_a", "file": "a.pt", "description": "a.yaml"},
               {"name": "b", "file": "b.onnx", "description": "b.yaml"}]
    calls = linear_laps(monkeypatch, {"a": 0.1})
    trims = T.trim_variants(tmp_path, entries, W_MIN, -2.0, ["c"], Path("bin"), rounds=4,
                            tolerate_errors=True)
    assert trims["a"]["steering_trim_rad_s"] == pytest.approx(0.1, abs=0.002 / 0.35)
    assert trims["ts_a"]["steering_trim_rad_s"] == trims["a"]["steering_trim_rad_s"]
    assert trims["ts_a"]["steering_trim"]["shared_with"] == "a"
    assert "no engine" in trims["b"]["steering_trim"]["not_trimmed"]
    assert "steering_trim_rad_s" not in trims["b"]
    assert T.w_offset(tmp_path / "b.yaml") == W_MIN + 0.02  # left as it was
    assert not any(name == "a.pt" for name, _ in calls)
    assert calls[0] == ("a.onnx", 0.02)  # from the trim its description had
    with pytest.raises(RuntimeError, match="no engine"):
        T.trim_variants(tmp_path, entries, W_MIN, -2.0, ["c"], Path("bin"), names={"b"})


def test_trim_catalogue_rewrites_the_trimmed_entries(tmp_path, monkeypatch):
    for stem in ("fp32", "static_int8"):
        write_description(tmp_path / f"{stem}.yaml", W_MIN + 0.02)
        (tmp_path / f"{stem}.onnx").write_bytes(stem.encode())
    manifest = {
        "training": {"label_range": {"v_min": 5.0, "v_max": 13.0, "w_min": W_MIN, "w_max": 4.5},
                     "steering_trim_rad_s": 0.02,
                     "steering_trim": {"label_gain_rad_s_per_m": -2.0, "circuits": ["lakeside"]}},
        "variants": [{"name": n, "file": f"{n}.onnx", "description": f"{n}.yaml",
                      "description_sha256": "old", "test_mse": 1.0, "inference_ms_mean": 1.0}
                     for n in ("fp32", "static_int8", "not_built")],
    }
    (tmp_path / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    calls = linear_laps(monkeypatch, {"static_int8": 0.12})
    monkeypatch.setattr(T, "bench", lambda binary, model, dataset, frames=200: {
        "mse": 0.5, "inference_ms_mean": 0.25})
    trims = T.trim_catalogue(tmp_path, tmp_path / "test", Path("bin"))
    assert set(trims) == {"static_int8"} and {n for n, _ in calls} == {"static_int8.onnx"}
    written = {e["name"]: e for e in yaml.safe_load((tmp_path / "manifest.yaml").read_text())
               ["variants"]}
    s = written["static_int8"]
    assert s["steering_trim_rad_s"] == trims["static_int8"]["steering_trim_rad_s"]
    assert s["description_sha256"] == T.sha256(tmp_path / "static_int8.yaml")
    assert (s["test_mse"], s["inference_ms_mean"]) == (0.5, 0.25)
    # The untrimmed fp32 is measured again by the same binary, its description left alone.
    assert "steering_trim" not in written["fp32"] and written["fp32"]["test_mse"] == 0.5
    assert T.w_offset(tmp_path / "fp32.yaml") == W_MIN + 0.02
    with pytest.raises(ValueError, match="not_built"):
        T.trim_catalogue(tmp_path, tmp_path / "test", Path("bin"), names={"not_built"})


def test_next_trim_stays_inside_a_bracket():
    # A secant through the last two would leave the bracket [-0.24, -0.09] the laps showed.
    trims, offsets = [0.023, -0.091, -0.239], [0.0404, 0.0228, -0.0677]
    t = T.next_trim(trims, offsets, gain=-2.8)
    assert -0.239 < t < -0.091
    # No sign change yet: secant on the last two, else the labels' gain.
    assert T.next_trim([0.0, 0.1], [-0.02, -0.01], -2.8) == pytest.approx(0.2)
    assert T.next_trim([0.0], [-0.02], -2.8) == pytest.approx(0.056)
