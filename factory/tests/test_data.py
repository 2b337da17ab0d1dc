"""Dataset layouts: this project's labels.csv and DeepLearningStudio's data.csv + N.png, the
whole-frame cut, and errors that name the file and the row."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from pilotnet_factory.data import DatasetError, load_images, read_labels


def write_dls(folder, n, size=(640, 480), seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["v,w"]
    for i in range(n):
        img = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i}.png"), img)
        rows.append(f"{6 + i},{0.1 * i - 0.5}")
    (folder / "data.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_deeplearningstudio_rows_pair_with_images_in_numeric_order(tmp_path):
    folder = write_dls(tmp_path / "d", 12)
    cols = read_labels(folder)
    assert [p.rsplit("/", 1)[1] for p in cols["image"][:3]] == ["0.png", "1.png", "2.png"]
    assert cols["image"][10].endswith("/10.png")
    np.testing.assert_allclose(cols["v"][10], 16.0)
    images = load_images(cols["image"])
    assert images.shape == (12, 66, 200, 3)
    # The cut is Behavior Metrics': rows 240-480, bilinear resize to 200x66, RGB.
    whole = cv2.imread(str(folder / "3.png"))
    cut = cv2.resize(whole[240:480, 0:640], (200, 66), interpolation=cv2.INTER_LINEAR)[:, :, ::-1]
    np.testing.assert_array_equal(images[3], cut)


def test_bad_datasets_name_the_file_and_row(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "data.csv").write_text("v,w\n")
    with pytest.raises(DatasetError, match="data.csv has no samples"):
        read_labels(empty)
    with pytest.raises(DatasetError, match="neither labels.csv"):
        read_labels(tmp_path)
    gap = write_dls(tmp_path / "gap", 5)
    (gap / "2.png").unlink()
    with pytest.raises(DatasetError, match="line 4: no image 2.png"):
        read_labels(gap)
    words = write_dls(tmp_path / "words", 3)
    (words / "data.csv").write_text("v,w\n6,0\nfast,0\n7,0\n")
    with pytest.raises(DatasetError, match="line 3: v 'fast' is not a finite number"):
        read_labels(words)
    surplus = write_dls(tmp_path / "surplus", 3)
    (surplus / "data.csv").write_text("v,w\n6,0\n7,0\n")
    with pytest.raises(DatasetError, match="2.png has no label"):
        read_labels(surplus)
    broken = write_dls(tmp_path / "broken", 3)
    (broken / "1.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="cannot read image .*1.png"):
        load_images(read_labels(broken)["image"])
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / "labels.csv").write_text("image,v,w\na.png,6,0\n")
    with pytest.raises(DatasetError, match="labels.csv line 2: no image"):
        read_labels(ours)
    small = write_dls(tmp_path / "small", 2, size=(320, 240))
    with pytest.raises(DatasetError, match="320x240"):
        load_images(read_labels(small)["image"])
