"""The judge's probe of a network (`pilotnet_factory.judge`), on a network whose answer is known:
w is the red channel's right half minus its left half, so it steers towards the line. Its fit
against the lateral offset, its picture edits and its errors on bad inputs are checked."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from pilotnet_factory.export import export_onnx
from pilotnet_factory.judge import JudgeError, Network, judge, load_frames, main, markdown

SHAPE = (3, 50, 100)
DESCRIPTION = """\
input:
  frame: {width: 640, height: 480}
  crop: {top: 240, bottom: 480, left: 0, right: 640}
  size: {width: 100, height: 50}
  color: rgb
  scaling: unit
  layout: nchw
output:
  count: 2
  v: {index: 0, scale: 6.0, offset: 0.0}
  w: {index: 1, scale: 6.0, offset: -3.0}
"""


class TowardsTheRed(torch.nn.Module):
    """p0 = mean brightness; p1 = 0.5 + red(right half) - red(left half)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = x[:, 0]
        half = r.shape[-1] // 2
        p1 = 0.5 + r[..., half:].mean(dim=(1, 2)) - r[..., :half].mean(dim=(1, 2))
        return torch.stack([x.mean(dim=(1, 2, 3)), p1], dim=1)


def frame(line_col: int) -> np.ndarray:
    """A dark road with a red band 40 px wide centred on `line_col`, as RGB."""
    im = np.full((480, 640, 3), 30, np.uint8)
    im[:240] = [150, 170, 210]
    im[240:, max(line_col - 20, 0):line_col + 20] = [177, 0, 0]
    return im


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "towards.onnx"
    export_onnx(TowardsTheRed(), path, shape=SHAPE)
    path.with_suffix(".yaml").write_text(DESCRIPTION)
    return path


def write_dataset(dir: Path, laterals: list[float]) -> Path:
    """Frames as the expert would see them: left of the line (lateral > 0) puts it right. The
    expert's commands alternate between bends, independent of the offset."""
    (dir / "full").mkdir(parents=True)
    with (dir / "labels.csv").open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["image", "v", "w", "lateral_m", "perturbed"])
        for i, lat in enumerate(laterals):
            name = f"{i:07d}.png"
            cv2.imwrite(str(dir / "full" / name), frame(int(320 + 400 * lat))[:, :, ::-1])
            out.writerow([f"images/{name}", 10.0, 0.05 * (-1) ** i, lat, 0])
    return dir


def test_the_network_runs_as_its_description_says(model):
    net = Network.open(model)
    v, w = net.predict(frame(320))
    assert abs(w) < 0.05
    _, w_right = net.predict(frame(480))
    # 40 of the right half's 320 columns red at 177 instead of 30: w = 6 * 147/255 * 40/320.
    assert w_right == pytest.approx(6 * 147 / 255 * 40 / 320, abs=0.03)
    assert v > 0


def test_the_fit_and_the_edits_show_what_moves_the_network(model, tmp_path):
    laterals = [x / 100 for x in range(-20, 21, 2)]
    report = judge(model, write_dataset(tmp_path / "data", laterals))
    lap = report["along_the_lap"]
    assert lap["frames"] == len(laterals)
    # The network steers towards the line: w grows as the car sits further left of it.
    assert lap["fit"]["b_per_m"] > 1.0
    assert abs(lap["fit"]["holds_at_lateral_m"]) < 0.01
    rows = {r["edit"]: r["straight"] for r in report["edits"]["rows"]}
    # The straight, on-line frames (|lateral| < 0.03 m): three of them; the expert never bends.
    assert report["edits"]["frames"] == {"straight": 3, "left bends": 0, "right bends": 0}
    assert all(r["left bends"] is None for r in report["edits"]["rows"])
    assert rows["picture shifted +40 px"] > rows["as rendered"] + 0.3
    assert rows["picture shifted -40 px"] < rows["as rendered"] - 0.3
    assert rows["line colour (255, 0, 0)"] == pytest.approx(rows["as rendered"], abs=0.05)
    assert rows["no line (painted over with the ground's colour)"] == pytest.approx(0.0, abs=0.01)
    text = markdown(report)
    assert "holds the car at lateral" in text and "straight (3) | left bends (0)" in text


def test_bad_inputs_are_refused_naming_them(model, tmp_path, capsys):
    with pytest.raises(JudgeError, match="no description nodesc.yaml"):
        bare = tmp_path / "nodesc.onnx"
        bare.write_bytes(model.read_bytes())
        Network.open(bare)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    broken.with_suffix(".yaml").write_text(DESCRIPTION)
    with pytest.raises(JudgeError, match="broken.onnx: ONNX Runtime cannot load it"):
        Network.open(broken)
    empty = write_dataset(tmp_path / "empty", [])
    with pytest.raises(JudgeError, match="no whole frames in full/"):
        load_frames(empty)
    with pytest.raises(JudgeError, match="no labels.csv"):
        load_frames(tmp_path)
    assert main(["--model", str(tmp_path / "none.onnx"), "--dataset", str(empty)]) == 2
    assert "none.onnx: no such file" in capsys.readouterr().err
