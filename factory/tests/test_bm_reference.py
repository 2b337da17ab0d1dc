"""Behavior Metrics' scores restated with SciPy (`pilotnet_factory.bm_reference`), on cases
computed by hand: a path offset by d from a straight reference scores 1000^d, and completion
counts reference points within 5 m of the positions in order."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pilotnet_factory.bm_reference import (completion, main, percentage_completed, position_deviation,
                                           position_deviation_by_lap)


@pytest.mark.parametrize("d", [0.0, 0.1, 0.25, 0.4])
def test_a_path_offset_by_d_scores_1000_to_the_d(d):
    reference = np.stack([np.arange(51.0), np.zeros(51)], axis=1)
    path = np.stack([np.arange(101) * 0.5, np.full(101, d)], axis=1)
    mae, total = position_deviation(reference, path, seed=0)
    assert mae == pytest.approx(1000.0 ** d, rel=1e-3)
    assert total == pytest.approx(50 * 1000.0 ** d, rel=1e-3)


def test_completion_counts_points_within_five_metres():
    reference = np.stack([np.arange(100.0), np.zeros(100)], axis=1)
    path = np.stack([np.arange(81) * 0.5, np.ones(81)], axis=1)
    # From the last position (40, 1) the points up to x = 44 lie within 5 m: 45 of 100.
    assert percentage_completed(reference, path) == pytest.approx(45.0)


def test_command_line_reads_csvs_and_refuses_a_bad_one(tmp_path, capsys):
    ref = tmp_path / "ref.csv"
    ref.write_text("x,y\n" + "".join(f"{i},0\n" for i in range(51)))
    traj = tmp_path / "traj.csv"
    traj.write_text("t,x,y\n" + "".join(f"{i * 0.05},{i * 0.5},0.2\n" for i in range(101)))
    assert main(["--trajectory", str(traj), "--reference", str(ref)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["position_deviation_mae"] == pytest.approx(1000.0 ** 0.2, rel=1e-3)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["--trajectory", str(traj), "--reference", str(bad)]) == 2
    assert "no x,y" in capsys.readouterr().err


def test_laps_scored_one_by_one_average_their_terms_and_the_lap_is_found():
    # A circle of 200 reference points; the path goes round twice, 0.25 m outside it.
    a = np.linspace(0.0, 2 * np.pi, 200, endpoint=False)
    reference = np.stack([30 * np.cos(a), 30 * np.sin(a)], axis=1)
    b = np.linspace(0.0, 4 * np.pi, 801)
    path = np.stack([30.25 * np.cos(b), 30.25 * np.sin(b)], axis=1)
    mae, total = position_deviation_by_lap(reference, path, [400], seed=0)
    assert mae == pytest.approx(1000.0 ** 0.25, rel=1e-3)
    # Each lap (sharing the position at 400) is scored as its own path; the terms are summed.
    first = position_deviation(reference, path[:401], seed=0)[1]
    second = position_deviation(reference, path[400:], seed=0)[1]
    assert total == pytest.approx(first + second, rel=1e-9)
    percentage, lap = completion(reference, path)
    assert percentage > 200.0 and lap is not None
    # The walk has reached every point within 5 m of a position before the path closes a lap.
    assert lap < 400
